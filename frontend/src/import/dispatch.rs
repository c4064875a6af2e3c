//! The table of supported ONNX ops and the dispatch of a node to its op family.
//!
//! Every node goes through [`import_node`], which computes ops on f16/bf16 inputs in f32
//! (`super::half`) around the per-family importers, so no family handles half types itself.

use super::causal_conv;
use super::ctx::NodeCtx;
use super::flex_attention;
use super::integer_linear;
use super::linear_attention;
use super::tensor_scatter;
use super::{
    activations_extra as act, attention, bitshift, bitwise, compress, conv_transpose, crop_pad, cumulative, det, dft,
    einsum, elementwise, gather_elements, half, loss, lp_norm, modulo, nd_index, nn, norm, norm_extra, one_hot,
    quantize, reduce, resize, rotary, scatter_elements, shape, source, space_depth, tensor_ops, top_k, triangular,
    trig_extra, window, Importer,
};
use super::{affine_grid, col2im, grid_sample, roi_align, unpool};
use super::{control_flow, gru, loop_op, lstm, rnn, scan_op};
use super::{nms, non_zero, reverse_sequence, unique};
use crate::error::Result;
use kiln_ir::{BinaryOp, ReduceKind, UnaryOp, ValueId};

/// Every ONNX op type (default domain) the importer handles.
pub const SUPPORTED: &[&str] = &[
    // Decompositions (triangular, cumulative, activations_extra, trig_extra, bitshift, one_hot,
    // lp_norm, space_depth, window, crop_pad, bitwise, compress, norm_extra, det).
    "Acos",
    "Acosh",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "BitCast",
    "BitShift",
    "BitwiseAnd",
    "BitwiseNot",
    "BitwiseOr",
    "BitwiseXor",
    "BlackmanWindow",
    "Celu",
    "CenterCropPad",
    "Compress",
    "NonZero",
    "NonMaxSuppression",
    "Unique",
    "Cosh",
    "CumProd",
    "CumSum",
    "DepthToSpace",
    "ReverseSequence",
    "Det",
    "Gelu",
    "GroupNormalization",
    "HammingWindow",
    "HannWindow",
    "Hardmax",
    "InstanceNormalization",
    "IsInf",
    "IsNaN",
    "LpNormalization",
    "MeanVarianceNormalization",
    "Mish",
    "OneHot",
    "Shrink",
    "Sinh",
    "SpaceToDepth",
    "SwiGLU",
    "Swish",
    "Tan",
    "ThresholdedRelu",
    "Trilu",
    "Abs",
    "Add",
    "AffineGrid",
    "And",
    "ArgMax",
    "ArgMin",
    "Attention",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "CausalConvWithState",
    "CastLike",
    "Ceil",
    "Clip",
    "Col2Im",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvTranspose",
    "Cos",
    "DequantizeLinear",
    "DFT",
    "DeformConv",
    "Div",
    "Dropout",
    "DynamicQuantizeLinear",
    "Einsum",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "EyeLike",
    "Expand",
    "Flatten",
    "Floor",
    "Gather",
    "GatherElements",
    "GatherND",
    "GridSample",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Greater",
    "GreaterOrEqual",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "LRN",
    "LayerNormalization",
    "LeakyRelu",
    "LpPool",
    "Less",
    "LessOrEqual",
    "LinearAttention",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "MaxPool",
    "MaxUnpool",
    "Mean",
    "MelWeightMatrix",
    "Min",
    "Mod",
    "Mul",
    "Neg",
    "NegativeLogLikelihoodLoss",
    "Not",
    "Or",
    "PRelu",
    "QLinearMatMul",
    "MatMulInteger",
    "ConvInteger",
    "QLinearConv",
    "QuantizeLinear",
    "Pad",
    "Pow",
    "RMSNormalization",
    "Range",
    "Reciprocal",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
    "Relu",
    "Reshape",
    "Resize",
    "RoiAlign",
    "RotaryEmbedding",
    "Round",
    "Scatter",
    "ScatterElements",
    "ScatterND",
    "Selu",
    "TfIdfVectorizer",
    "Tile",
    "TopK",
    "Shape",
    "Sigmoid",
    "Sign",
    "Sin",
    "Size",
    "Slice",
    "Softmax",
    "SoftmaxCrossEntropyLoss",
    "Softplus",
    "Softsign",
    "Split",
    "Sqrt",
    "STFT",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "TensorScatter",
    "Transpose",
    "Unsqueeze",
    "Upsample",
    "Where",
    "Xor",
    // Control flow (control_flow, loop_op, scan_op; bodies imported by subgraph).
    "If",
    "Loop",
    "Scan",
    // Recurrent (rnn, gru, lstm; unrolled by recurrent_run).
    "RNN",
    "GRU",
    "LSTM",
];

/// The ops of the `ai.onnx.preview` domain the importer handles.
pub const PREVIEW_SUPPORTED: &[&str] = &["FlexAttention"];

/// Imports one node; returns the IR values of its outputs in order (possibly fewer than the
/// node declares when trailing optional outputs are unused, which the scan has checked).
/// Half-precision inputs of compute ops are widened to f32 and the results narrowed back.
pub fn import_node(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    if CONTROL_FLOW.contains(&ctx.op()) {
        // Their body nodes are imported (and widened) one by one.
        return import_op(imp, ctx);
    }
    if ctx.opset < 6 {
        super::legacy::check_node(ctx)?;
    }
    let Some(widened) = half::widen_inputs(imp, ctx)? else {
        return import_op(imp, ctx);
    };
    let outs = import_op(imp, ctx);
    widened.restore(imp);
    widened.narrow_outputs(imp, ctx, outs?)
}

/// Ops whose half-type inputs pass to their subgraphs unchanged.
const CONTROL_FLOW: &[&str] = &["If", "Loop", "Scan"];

/// Imports one node by its op family, on the inputs as bound.
fn import_op(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    if let Some(u) = unary(ctx.op()) {
        return elementwise::unary(imp, ctx, u);
    }
    if let Some(b) = binary(ctx.op()) {
        return elementwise::binary(imp, ctx, b);
    }
    if let Some(k) = reduce_kind(ctx.op()) {
        return reduce::reduce(imp, ctx, k);
    }
    if ctx.node.domain == "ai.onnx.preview" {
        return match ctx.op() {
            "FlexAttention" => flex_attention::flex_attention(imp, ctx),
            other => Err(ctx.err(format!("op '{other}' of domain ai.onnx.preview is not supported"))),
        };
    }
    match ctx.op() {
        "LeakyRelu" | "HardSigmoid" | "Elu" => elementwise::unary_with_attrs(imp, ctx),
        "Sum" | "Max" | "Min" | "Mean" => elementwise::variadic(imp, ctx),
        "Clip" => elementwise::clip(imp, ctx),
        "Selu" => elementwise::selu(imp, ctx),
        "Where" => elementwise::where_(imp, ctx),
        "Cast" | "CastLike" => elementwise::cast(imp, ctx),
        "Identity" | "Dropout" => source::forward(imp, ctx),
        "Constant" => source::constant(imp, ctx),
        "ConstantOfShape" => source::constant_of_shape(imp, ctx),
        "Shape" => source::shape_of(imp, ctx),
        "Size" => source::size(imp, ctx),
        "Range" => source::range(imp, ctx),
        "EyeLike" => source::eye_like(imp, ctx),
        "Conv" => nn::conv(imp, ctx),
        "ConvTranspose" => conv_transpose::conv_transpose(imp, ctx),
        "Gemm" => nn::gemm(imp, ctx),
        "MatMul" => nn::matmul(imp, ctx),
        "BatchNormalization" => nn::batch_norm(imp, ctx),
        "MaxPool" | "AveragePool" => nn::pool(imp, ctx),
        "LpPool" => nn::lp_pool(imp, ctx),
        "GlobalAveragePool" | "GlobalMaxPool" => nn::global_pool(imp, ctx),
        "LRN" => nn::lrn(imp, ctx),
        "Mod" => modulo::modulo(imp, ctx),
        "NegativeLogLikelihoodLoss" => loss::negative_log_likelihood(imp, ctx),
        "SoftmaxCrossEntropyLoss" => loss::softmax_cross_entropy(imp, ctx),
        "LayerNormalization" => norm::layer_norm(imp, ctx),
        "RMSNormalization" => norm::rms_norm(imp, ctx),
        "Softmax" | "LogSoftmax" => nn::softmax(imp, ctx),
        "ArgMax" | "ArgMin" => reduce::arg(imp, ctx),
        "Reshape" => shape::reshape(imp, ctx),
        "Flatten" => shape::flatten(imp, ctx),
        "Squeeze" => shape::squeeze(imp, ctx),
        "Unsqueeze" => shape::unsqueeze(imp, ctx),
        "Transpose" => shape::transpose(imp, ctx),
        "Expand" => shape::expand(imp, ctx),
        "Tile" => shape::tile(imp, ctx),
        "TopK" => top_k::top_k(imp, ctx),
        "Concat" => tensor_ops::concat(imp, ctx),
        "Split" => tensor_ops::split(imp, ctx),
        "Slice" => tensor_ops::slice(imp, ctx),
        "Gather" => tensor_ops::gather(imp, ctx),
        "GatherElements" => gather_elements::gather_elements(imp, ctx),
        // Scatter (opsets 9-10) is ScatterElements without `reduction` under its old name.
        "Scatter" | "ScatterElements" => scatter_elements::scatter_elements(imp, ctx),
        "DequantizeLinear" => quantize::dequantize(imp, ctx),
        "QuantizeLinear" => quantize::quantize(imp, ctx),
        "DynamicQuantizeLinear" => quantize::dynamic_quantize(imp, ctx),
        "QLinearMatMul" => quantize::qlinear_matmul(imp, ctx),
        "MatMulInteger" => integer_linear::matmul_integer(imp, ctx),
        "ConvInteger" => integer_linear::conv_integer(imp, ctx),
        "QLinearConv" => integer_linear::qlinear_conv(imp, ctx),
        "GatherND" => nd_index::gather_nd(imp, ctx),
        "Einsum" => einsum::einsum(imp, ctx),
        "DFT" => dft::dft(imp, ctx),
        "STFT" => super::stft::stft(imp, ctx),
        "MelWeightMatrix" => super::mel_weight_matrix::mel_weight_matrix(imp, ctx),
        "DeformConv" => super::deform_conv::deform_conv(imp, ctx),
        "ScatterND" => nd_index::scatter_nd(imp, ctx),
        "Pad" => tensor_ops::pad(imp, ctx),
        "Resize" => resize::resize(imp, ctx),
        "Upsample" => resize::upsample(imp, ctx),
        "Attention" => attention::attention(imp, ctx),
        "RotaryEmbedding" => rotary::rotary_embedding(imp, ctx),
        "Trilu" => triangular::trilu(imp, ctx),
        "CumSum" | "CumProd" => cumulative::cumulative(imp, ctx),
        "Celu" => act::celu(imp, ctx),
        "ThresholdedRelu" => act::thresholded_relu(imp, ctx),
        "Gelu" => act::gelu(imp, ctx),
        "Shrink" => act::shrink(imp, ctx),
        "Swish" => act::swish(imp, ctx),
        "Mish" => act::mish(imp, ctx),
        "IsInf" => act::is_inf(imp, ctx),
        "IsNaN" => act::is_nan(imp, ctx),
        "BitShift" => bitshift::bitshift(imp, ctx),
        "Hardmax" => one_hot::hardmax(imp, ctx),
        "OneHot" => one_hot::one_hot(imp, ctx),
        "LpNormalization" => lp_norm::lp_normalization(imp, ctx),
        "SpaceToDepth" => space_depth::space_to_depth(imp, ctx),
        "DepthToSpace" => space_depth::depth_to_space(imp, ctx),
        "ReverseSequence" => reverse_sequence::reverse_sequence(imp, ctx),
        "SwiGLU" => act::swiglu(imp, ctx),
        "HannWindow" | "HammingWindow" | "BlackmanWindow" => window::window(imp, ctx),
        "CenterCropPad" => crop_pad::center_crop_pad(imp, ctx),
        "BitwiseNot" => bitwise::bitwise_not(imp, ctx),
        "BitwiseAnd" | "BitwiseOr" | "BitwiseXor" => bitwise::bitwise_binary(imp, ctx),
        "BitCast" => super::bitcast::bit_cast(imp, ctx),
        "TfIdfVectorizer" => super::tfidf::tfidf_vectorizer(imp, ctx),
        "Compress" => compress::compress(imp, ctx),
        "NonZero" => non_zero::non_zero(imp, ctx),
        "NonMaxSuppression" => nms::non_max_suppression(imp, ctx),
        "Unique" => unique::unique(imp, ctx),
        "Det" => det::det(imp, ctx),
        "InstanceNormalization" => norm_extra::instance_norm(imp, ctx),
        "GroupNormalization" => norm_extra::group_norm(imp, ctx),
        "MeanVarianceNormalization" => norm_extra::mean_variance_norm(imp, ctx),
        "Tan" | "Sinh" | "Cosh" | "Asinh" | "Acosh" | "Atanh" | "Atan" | "Asin" | "Acos" => trig_extra::trig(imp, ctx),
        "GridSample" => grid_sample::grid_sample(imp, ctx),
        "CausalConvWithState" => causal_conv::causal_conv_with_state(imp, ctx),
        "LinearAttention" => linear_attention::linear_attention(imp, ctx),
        "If" => control_flow::if_(imp, ctx),
        "Loop" => loop_op::loop_(imp, ctx),
        "Scan" => scan_op::scan(imp, ctx),
        "RNN" => rnn::rnn(imp, ctx),
        "GRU" => gru::gru(imp, ctx),
        "LSTM" => lstm::lstm(imp, ctx),
        "Col2Im" => col2im::col2im(imp, ctx),
        "AffineGrid" => affine_grid::affine_grid(imp, ctx),
        "TensorScatter" => tensor_scatter::tensor_scatter(imp, ctx),
        "RoiAlign" => roi_align::roi_align(imp, ctx),
        "MaxUnpool" => unpool::max_unpool(imp, ctx),
        other => Err(ctx.err(format!("op '{other}' is not supported"))),
    }
}

fn unary(op: &str) -> Option<UnaryOp> {
    use UnaryOp::*;
    Some(match op {
        "Neg" => Neg,
        "Abs" => Abs,
        "Relu" => Relu,
        "HardSwish" => HardSwish,
        "Sigmoid" => Sigmoid,
        "Tanh" => Tanh,
        "Erf" => Erf,
        "Exp" => Exp,
        "Log" => Log,
        "Sqrt" => Sqrt,
        "Reciprocal" => Reciprocal,
        "Floor" => Floor,
        "Ceil" => Ceil,
        "Round" => Round,
        "Sign" => Sign,
        "Sin" => Sin,
        "Cos" => Cos,
        "Softplus" => Softplus,
        "Softsign" => Softsign,
        "Not" => Not,
        _ => return None,
    })
}

fn binary(op: &str) -> Option<BinaryOp> {
    use BinaryOp::*;
    Some(match op {
        "Add" => Add,
        "Sub" => Sub,
        "Mul" => Mul,
        "Div" => Div,
        "Pow" => Pow,
        "PRelu" => PRelu,
        "Equal" => Equal,
        "Less" => Less,
        "LessOrEqual" => LessOrEqual,
        "Greater" => Greater,
        "GreaterOrEqual" => GreaterOrEqual,
        "And" => And,
        "Or" => Or,
        "Xor" => Xor,
        _ => return None,
    })
}

fn reduce_kind(op: &str) -> Option<ReduceKind> {
    use ReduceKind::*;
    Some(match op {
        "ReduceSum" => Sum,
        "ReduceMean" => Mean,
        "ReduceMax" => Max,
        "ReduceMin" => Min,
        "ReduceProd" => Prod,
        "ReduceL1" => L1,
        "ReduceL2" => L2,
        "ReduceLogSum" => LogSum,
        "ReduceLogSumExp" => LogSumExp,
        "ReduceSumSquare" => SumSquare,
        _ => return None,
    })
}
