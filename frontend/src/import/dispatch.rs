//! The table of supported ONNX ops and the dispatch of a node to its op family.

use super::ctx::NodeCtx;
use super::{attention, elementwise, nn, reduce, resize, rotary, shape, source, tensor_ops, Importer};
use crate::error::Result;
use kiln_ir::{BinaryOp, ReduceKind, UnaryOp, ValueId};

/// Every ONNX op type (default domain) the importer handles.
pub const SUPPORTED: &[&str] = &[
    "Abs",
    "Add",
    "And",
    "ArgMax",
    "ArgMin",
    "Attention",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "CastLike",
    "Ceil",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "Cos",
    "Div",
    "Dropout",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "EyeLike",
    "Expand",
    "Flatten",
    "Floor",
    "Gather",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Greater",
    "GreaterOrEqual",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "LRN",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "MaxPool",
    "Mean",
    "Min",
    "Mul",
    "Neg",
    "Not",
    "Or",
    "PRelu",
    "Pad",
    "Pow",
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
    "RotaryEmbedding",
    "Round",
    "Selu",
    "Tile",
    "Shape",
    "Sigmoid",
    "Sign",
    "Sin",
    "Size",
    "Slice",
    "Softmax",
    "Softplus",
    "Softsign",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tanh",
    "Transpose",
    "Unsqueeze",
    "Upsample",
    "Where",
    "Xor",
];

/// Imports one node; returns the IR values of its outputs in order (possibly fewer than the
/// node declares when trailing optional outputs are unused, which the scan has checked).
pub fn import_node(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    if let Some(u) = unary(ctx.op()) {
        return elementwise::unary(imp, ctx, u);
    }
    if let Some(b) = binary(ctx.op()) {
        return elementwise::binary(imp, ctx, b);
    }
    if let Some(k) = reduce_kind(ctx.op()) {
        return reduce::reduce(imp, ctx, k);
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
        "Gemm" => nn::gemm(imp, ctx),
        "MatMul" => nn::matmul(imp, ctx),
        "BatchNormalization" => nn::batch_norm(imp, ctx),
        "MaxPool" | "AveragePool" => nn::pool(imp, ctx),
        "GlobalAveragePool" | "GlobalMaxPool" => nn::global_pool(imp, ctx),
        "LRN" => nn::lrn(imp, ctx),
        "Softmax" | "LogSoftmax" => nn::softmax(imp, ctx),
        "ArgMax" | "ArgMin" => reduce::arg(imp, ctx),
        "Reshape" => shape::reshape(imp, ctx),
        "Flatten" => shape::flatten(imp, ctx),
        "Squeeze" => shape::squeeze(imp, ctx),
        "Unsqueeze" => shape::unsqueeze(imp, ctx),
        "Transpose" => shape::transpose(imp, ctx),
        "Expand" => shape::expand(imp, ctx),
        "Tile" => shape::tile(imp, ctx),
        "Concat" => tensor_ops::concat(imp, ctx),
        "Split" => tensor_ops::split(imp, ctx),
        "Slice" => tensor_ops::slice(imp, ctx),
        "Gather" => tensor_ops::gather(imp, ctx),
        "Pad" => tensor_ops::pad(imp, ctx),
        "Resize" => resize::resize(imp, ctx),
        "Upsample" => resize::upsample(imp, ctx),
        "Attention" => attention::attention(imp, ctx),
        "RotaryEmbedding" => rotary::rotary_embedding(imp, ctx),
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
