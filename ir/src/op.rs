//! The closed set of IR operations and their typed attributes.
//!
//! Ops are ONNX-like but normalised by the frontend so later stages see one form each:
//! - every attribute that ONNX passes as an input in some opsets (axes, pads, scales, Clip bounds,
//!   Slice starts/steps) is resolved to a typed attribute here, or the import fails;
//! - axes are non-negative and pads/strides/dilations have one entry per spatial axis;
//! - shape-only ops (Reshape, Flatten, Squeeze, Unsqueeze) are all `Reshape { shape }`;
//! - every op is self-describing: its output types follow from the op and its input types alone
//!   (`crate::infer`), which is what the verifier checks;
//! - Identity and Dropout (inference) are removed by the frontend; `Identity` remains only where a
//!   graph output must be a copy of a graph input or a constant;
//! - Shape, Size, Range, ConstantOfShape with static inputs fold to constants at import.
//!
//! Operand conventions (inputs in order, `?` optional):
//! `Unary`: x. `Binary`: a, b (numpy broadcasting, same dtype). `Where`: cond(bool), x, y.
//! `Conv`: x[N,C,spatial..], w[M,C/group,k..], bias?[M]. `Gemm`: a, b, c? (c broadcast to [M,N]).
//! `MatMul`: a[..,M,K], b[..,K,N], rank >= 2 both, batch dims broadcast.
//! `BatchNorm`: x, scale, bias, mean, var (all [C]). `Gather`: data, indices (i32/i64, negative
//! indices wrap). `Lrn`, `Pool`, `Softmax`, `Reduce`, `Transpose`, `Slice`, `Pad`, `Resize`,
//! `Reshape`, `Expand`, `Cast`, `Identity`: x. `Concat`: x0..xn. `Split`: x -> y0..yn.
//! `WinogradInput`: x[N,C,H,W] -> V[a*a,C,T]. `WinogradOutput`: m[a*a,M,T], bias?[M] -> y[N,M,OH,OW]
//! (see [`crate::winograd`]; only the graph optimizer creates these two).
//! `ChannelsLast`: the inner op's operands, the first (and the result) channels-last.
//! `Elementwise`: x0..xn (broadcast). `Fused`: the base op's inputs, then the epilogue's extra
//! operands (see [`crate::fused`]; only the graph optimizer creates these two).
//! `NonZero`: x -> indices, len. `Unique`: x -> y, indices, inverse, counts, len.
//! `NonMaxSuppression`: boxes, scores, max_per_class, iou_threshold, score_threshold ->
//! selected, len. These three have data-dependent output shapes: see [`crate::dynamic`].

use crate::dtype::DType;
pub use crate::ieee::{Ieee32, Ieee64};

/// Elementwise single-input functions. Float-only unless noted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnaryOp {
    /// Float and signed ints.
    Neg,
    /// Float and signed ints.
    Abs,
    Relu,
    LeakyRelu {
        alpha: Ieee32,
    },
    /// `max(0, min(1, alpha*x + beta))`.
    HardSigmoid {
        alpha: Ieee32,
        beta: Ieee32,
    },
    /// `x * max(0, min(1, x/6 + 1/2))`.
    HardSwish,
    /// `min(max(x, min), max)`; bounds are infinite when ONNX omits them.
    Clip {
        min: Ieee32,
        max: Ieee32,
    },
    Elu {
        alpha: Ieee32,
    },
    Sigmoid,
    Tanh,
    Erf,
    Exp,
    Log,
    Sqrt,
    Reciprocal,
    Floor,
    Ceil,
    /// Round half to even.
    Round,
    Sign,
    Sin,
    Cos,
    Softplus,
    Softsign,
    /// Bool only.
    Not,
}

/// Elementwise two-input functions with numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// Integer division truncates toward zero (C semantics, as onnxruntime).
    Div,
    Pow,
    Max,
    Min,
    /// `a < 0 ? a * b : a` (b is the slope).
    PRelu,
    /// Comparisons produce bool.
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    /// Bool (logical) and every integer dtype (bitwise, as ONNX BitwiseAnd/Or/Xor); not floats.
    And,
    Or,
    Xor,
}

impl BinaryOp {
    /// True for ops whose result is bool whatever the operand dtype.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Equal | BinaryOp::Less | BinaryOp::LessOrEqual | BinaryOp::Greater | BinaryOp::GreaterOrEqual
        )
    }
}

/// Convolution attributes, one entry per spatial axis.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConvAttrs {
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    /// Begin pads of every spatial axis, then end pads (ONNX order), already resolved from auto_pad.
    pub pads: Vec<usize>,
    pub group: usize,
}

/// Pooling flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolKind {
    Max,
    /// Average; when `count_include_pad` is false the divisor counts only in-bounds elements.
    Avg {
        count_include_pad: bool,
    },
}

/// Pooling attributes, one entry per spatial axis. With `ceil_mode` the output size is
/// `ceil((in + pads - dil*(k-1) - 1) / stride) + 1`, less one when the last window would start
/// inside the end padding (ONNX/PyTorch rule); windows running past the padded input are clipped.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolAttrs {
    pub kind: PoolKind,
    pub kernel: Vec<usize>,
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    /// Begin pads, then end pads.
    pub pads: Vec<usize>,
    pub ceil_mode: bool,
}

/// Reductions over a set of axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReduceKind {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

/// Padding modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PadMode {
    Constant,
    Reflect,
    Edge,
    Wrap,
}

/// Resize interpolation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResizeMode {
    Nearest(NearestMode),
    Linear,
    Cubic,
}

/// How a fractional source coordinate picks the nearest pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NearestMode {
    RoundPreferFloor,
    RoundPreferCeil,
    Floor,
    Ceil,
}

/// ONNX `coordinate_transformation_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoordMode {
    HalfPixel,
    HalfPixelSymmetric,
    PytorchHalfPixel,
    AlignCorners,
    Asymmetric,
    TfCropAndResize,
}

impl CoordMode {
    /// Every mode, in declaration order (for exhaustive tests).
    pub const ALL: [CoordMode; 6] = [
        CoordMode::HalfPixel,
        CoordMode::HalfPixelSymmetric,
        CoordMode::PytorchHalfPixel,
        CoordMode::AlignCorners,
        CoordMode::Asymmetric,
        CoordMode::TfCropAndResize,
    ];
}

/// Resize attributes: one `scales` and one `sizes` entry per axis; `sizes` is the output shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResizeAttrs {
    pub mode: ResizeMode,
    pub coord: CoordMode,
    /// The given f32 scales widened exactly, or out/in in f64 when ONNX gave sizes; this is
    /// what the coordinate transform uses.
    pub scales: Vec<Ieee64>,
    pub sizes: Vec<usize>,
    /// Only for `TfCropAndResize`: starts of every axis, then ends (normalised coordinates).
    pub roi: Vec<Ieee32>,
    pub cubic_coeff_a: Ieee32,
    pub exclude_outside: bool,
    pub extrapolation_value: Ieee32,
}

/// An IR operation with its attributes. See the module docs for operand conventions.
/// [`OpKind`] is the variant alone, attributes dropped ([`Op::kind`]): what the e-graph indexes
/// classes by, so a rule visits only the classes holding the kinds it rewrites. It is derived
/// (strum's `EnumDiscriminants`) so that no second list of ops is kept by hand.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, strum::EnumDiscriminants)]
#[strum_discriminants(name(OpKind), derive(Hash, PartialOrd, Ord))]
pub enum Op {
    Unary(UnaryOp),
    Binary(BinaryOp),
    Where,
    Cast {
        to: DType,
    },
    /// Reinterprets the bytes of x as dtype `to` of the same element size (ONNX BitCast): the
    /// shape is kept and no value changes, so kernels copy bytes and the evaluator re-reads them.
    BitCast {
        to: DType,
    },
    Identity,
    Conv(ConvAttrs),
    Gemm {
        alpha: Ieee32,
        beta: Ieee32,
        trans_a: bool,
        trans_b: bool,
    },
    MatMul,
    BatchNorm {
        epsilon: Ieee32,
    },
    Pool(PoolAttrs),
    Lrn {
        size: usize,
        alpha: Ieee32,
        beta: Ieee32,
        bias: Ieee32,
    },
    /// Softmax along one axis (opset-13 semantics; older opsets are rewritten by the frontend).
    Softmax {
        axis: usize,
    },
    LogSoftmax {
        axis: usize,
    },
    /// `axes` sorted, unique; empty means "no axes" (identity), never "all".
    Reduce {
        kind: ReduceKind,
        axes: Vec<usize>,
        keepdims: bool,
    },
    ArgMax {
        axis: usize,
        keepdims: bool,
        select_last_index: bool,
    },
    ArgMin {
        axis: usize,
        keepdims: bool,
        select_last_index: bool,
    },
    Concat {
        axis: usize,
    },
    Split {
        axis: usize,
        sizes: Vec<usize>,
    },
    /// Full-rank: along each axis `a`, output element `i < lens[a]` reads input
    /// `starts[a] + i * steps[a]` (steps non-zero, may be negative).
    Slice {
        starts: Vec<usize>,
        steps: Vec<i64>,
        lens: Vec<usize>,
    },
    /// Same elements, new shape (covers ONNX Reshape, Flatten, Squeeze, Unsqueeze).
    Reshape {
        shape: Vec<usize>,
    },
    Transpose {
        perm: Vec<usize>,
    },
    Gather {
        axis: usize,
    },
    /// Numpy broadcast of the input to `shape`.
    Expand {
        shape: Vec<usize>,
    },
    /// `pads`: begin of every axis then end (may be negative: cropping).
    Pad {
        mode: PadMode,
        pads: Vec<i64>,
        value: Ieee64,
    },
    Resize(ResizeAttrs),
    /// Winograd F(m x m, 3x3) input transform of a 3x3 stride-1 conv (see [`crate::winograd`]),
    /// `m = tile` (2 or 4), `a = m + 2`: x f32 [N, C, H, W] -> V f32 [a*a, C, T],
    /// `T = N * ceil(OH/m) * ceil(OW/m)`. `pads` = [top, left, bottom, right] (each <= 2),
    /// `out_hw` = the conv's [OH, OW] (= [H + top + bottom - 2, W + left + right - 2]).
    WinogradInput {
        pads: Vec<usize>,
        out_hw: [usize; 2],
        tile: usize,
    },
    /// Winograd F(m x m, 3x3) output transform, `m = tile`: m f32 [a*a, M, T] and bias? f32 [M]
    /// -> y f32 `out_shape` = [N, M, OH, OW] (each m x m tile `A^T m A + bias`, cropped at the
    /// edges).
    WinogradOutput {
        out_shape: [usize; 4],
        tile: usize,
    },
    /// Winograd F(m x m, 3x3) filter transform, `m = tile`: w f32 [M, C, 3, 3] -> U f32
    /// [a*a, M, C] (`crate::winograd::winograd_weights`). A compile-time op: the optimizer
    /// creates it only on constant weights and evaluates it after extraction
    /// ([`Op::is_compile_time`]), so the weights of candidates it does not choose are never
    /// computed. No kernel implements it.
    WinogradWeights {
        tile: usize,
    },
    /// A fused elementwise chain over the node's inputs (see [`crate::fused`]).
    Elementwise(crate::fused::Program),
    /// `inner` (a Conv or Pool) with its first input and its output channels-last,
    /// `[N, spatial.., C]` (see [`crate::layout`]; only the graph optimizer creates it).
    ChannelsLast(Box<Op>),
    /// A conv/gemm/matmul with an elementwise epilogue (see [`crate::fused`]).
    Fused {
        base: Box<Op>,
        base_inputs: usize,
        epilogue: crate::fused::Program,
    },
    /// ONNX NonZero with a bounded result (see [`crate::dynamic`]): x (any dtype, rank r) ->
    /// indices i64 `[r, numel]` (the first `len` columns are valid, the rest zero), len i64 `[]`.
    NonZero,
    /// ONNX Unique along `axis` (the frontend flattens when ONNX gives none), see
    /// [`crate::dynamic`]: x -> y (x's shape: the first `len` slices along `axis` are valid),
    /// indices i64 `[n]`, inverse i64 `[n]` (static), counts i64 `[n]`, len i64 `[]`, with
    /// `n = x.shape[axis]`. `sorted`: ascending (lexicographic for slices), else first occurrence.
    Unique {
        axis: usize,
        sorted: bool,
    },
    /// ONNX NonMaxSuppression (see [`crate::dynamic`]): boxes f32 `[B, N, 4]`, scores f32
    /// `[B, C, N]`, max_per_class i64 `[]` or `[1]`, iou_threshold f32 `[]`/`[1]`,
    /// score_threshold f32 `[]`/`[1]` (`-inf` when ONNX omits it) -> selected i64
    /// `[B*C*min(N, max_boxes), 3]` (first `len` rows valid), len i64 `[]`. `max_boxes` is a
    /// compile-time bound on boxes kept per class; the run-time `max_per_class` may lower it.
    NonMaxSuppression {
        center_point_box: bool,
        max_boxes: usize,
    },
}

impl Op {
    /// The variant, attributes dropped.
    pub fn kind(&self) -> OpKind {
        OpKind::from(self)
    }
    /// The op's name in the IR text and in diagnostics (`conv`, `add`, `relu`...).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Unary(u) => u.name(),
            Op::Binary(b) => b.name(),
            Op::Where => "where",
            Op::Cast { .. } => "cast",
            Op::BitCast { .. } => "bit_cast",
            Op::Identity => "identity",
            Op::Conv(_) => "conv",
            Op::Gemm { .. } => "gemm",
            Op::MatMul => "matmul",
            Op::BatchNorm { .. } => "batch_norm",
            Op::Pool(PoolAttrs { kind: PoolKind::Max, .. }) => "max_pool",
            Op::Pool(PoolAttrs { kind: PoolKind::Avg { .. }, .. }) => "avg_pool",
            Op::Lrn { .. } => "lrn",
            Op::Softmax { .. } => "softmax",
            Op::LogSoftmax { .. } => "log_softmax",
            Op::Reduce { kind, .. } => kind.name(),
            Op::ArgMax { .. } => "arg_max",
            Op::ArgMin { .. } => "arg_min",
            Op::Concat { .. } => "concat",
            Op::Split { .. } => "split",
            Op::Slice { .. } => "slice",
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Gather { .. } => "gather",
            Op::Expand { .. } => "expand",
            Op::Pad { .. } => "pad",
            Op::Resize(_) => "resize",
            Op::WinogradInput { .. } => "winograd_input",
            Op::WinogradOutput { .. } => "winograd_output",
            Op::WinogradWeights { .. } => "winograd_weights",
            Op::Elementwise(_) => "elementwise",
            Op::ChannelsLast(inner) => match **inner {
                Op::Conv(_) => "conv_nhwc",
                Op::WinogradInput { .. } => "winograd_input_nhwc",
                Op::WinogradOutput { .. } => "winograd_output_nhwc",
                Op::WinogradWeights { .. } => "winograd_weights_nhwc",
                Op::Pool(PoolAttrs { kind: PoolKind::Max, .. }) => "max_pool_nhwc",
                Op::Pool(PoolAttrs { kind: PoolKind::Avg { .. }, .. }) => "avg_pool_nhwc",
                _ => "channels_last",
            },
            Op::Fused { base, .. } => match &**base {
                Op::ChannelsLast(inner) if matches!(**inner, Op::Conv(_)) => "fused_conv_nhwc",
                Op::ChannelsLast(inner) if matches!(**inner, Op::WinogradOutput { .. }) => "fused_winograd_output_nhwc",
                Op::Conv(_) => "fused_conv",
                Op::Gemm { .. } => "fused_gemm",
                Op::MatMul => "fused_matmul",
                Op::WinogradOutput { .. } => "fused_winograd_output",
                _ => "fused",
            },
            Op::NonZero => "non_zero",
            Op::Unique { .. } => "unique",
            Op::NonMaxSuppression { .. } => "non_max_suppression",
        }
    }
    /// True for ops that only transform constants at compile time (no kernel implements them):
    /// graph passes evaluate them once their operands are known constants.
    pub fn is_compile_time(&self) -> bool {
        match self {
            Op::ChannelsLast(inner) => inner.is_compile_time(),
            _ => matches!(self, Op::WinogradWeights { .. }),
        }
    }
    /// Number of results the op produces given its input count.
    pub fn num_outputs(&self) -> Option<usize> {
        match self {
            Op::Split { sizes, .. } => Some(sizes.len()),
            Op::NonZero | Op::NonMaxSuppression { .. } => Some(2),
            Op::Unique { .. } => Some(5),
            _ => Some(1),
        }
    }
}

impl UnaryOp {
    pub fn name(&self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Relu => "relu",
            UnaryOp::LeakyRelu { .. } => "leaky_relu",
            UnaryOp::HardSigmoid { .. } => "hard_sigmoid",
            UnaryOp::HardSwish => "hard_swish",
            UnaryOp::Clip { .. } => "clip",
            UnaryOp::Elu { .. } => "elu",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Erf => "erf",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Reciprocal => "reciprocal",
            UnaryOp::Floor => "floor",
            UnaryOp::Ceil => "ceil",
            UnaryOp::Round => "round",
            UnaryOp::Sign => "sign",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Softplus => "softplus",
            UnaryOp::Softsign => "softsign",
            UnaryOp::Not => "not",
        }
    }
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 16] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::PRelu,
        BinaryOp::Equal,
        BinaryOp::Less,
        BinaryOp::LessOrEqual,
        BinaryOp::Greater,
        BinaryOp::GreaterOrEqual,
        BinaryOp::And,
        BinaryOp::Or,
        BinaryOp::Xor,
    ];
    pub fn name(&self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
            BinaryOp::PRelu => "prelu",
            BinaryOp::Equal => "equal",
            BinaryOp::Less => "less",
            BinaryOp::LessOrEqual => "less_or_equal",
            BinaryOp::Greater => "greater",
            BinaryOp::GreaterOrEqual => "greater_or_equal",
            BinaryOp::And => "and",
            BinaryOp::Or => "or",
            BinaryOp::Xor => "xor",
        }
    }
}

impl ReduceKind {
    pub const ALL: [ReduceKind; 10] = [
        ReduceKind::Sum,
        ReduceKind::Mean,
        ReduceKind::Max,
        ReduceKind::Min,
        ReduceKind::Prod,
        ReduceKind::L1,
        ReduceKind::L2,
        ReduceKind::LogSum,
        ReduceKind::LogSumExp,
        ReduceKind::SumSquare,
    ];
    pub fn name(&self) -> &'static str {
        match self {
            ReduceKind::Sum => "reduce_sum",
            ReduceKind::Mean => "reduce_mean",
            ReduceKind::Max => "reduce_max",
            ReduceKind::Min => "reduce_min",
            ReduceKind::Prod => "reduce_prod",
            ReduceKind::L1 => "reduce_l1",
            ReduceKind::L2 => "reduce_l2",
            ReduceKind::LogSum => "reduce_log_sum",
            ReduceKind::LogSumExp => "reduce_log_sum_exp",
            ReduceKind::SumSquare => "reduce_sum_square",
        }
    }
}
