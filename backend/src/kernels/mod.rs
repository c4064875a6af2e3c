//! Kernel families, one file each, dispatched by op.

pub mod conv;
pub mod elementwise;
pub mod fused;
pub mod matmul;
pub mod movement;
pub mod nms;
pub mod non_zero;
pub mod norm;
pub mod pool;
pub mod reduce;
pub mod resize;
pub mod softmax;
pub mod unique;
pub mod winograd;

use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use kiln_ir::Op;

/// Emits the kernel body for `spec` through its family.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    match &spec.op {
        Op::Unary(_) | Op::Binary(_) | Op::Where | Op::Cast { .. } | Op::BitCast { .. } => elementwise::emit(cx, spec),
        Op::Identity
        | Op::Reshape { .. }
        | Op::Transpose { .. }
        | Op::Concat { .. }
        | Op::Split { .. }
        | Op::Slice { .. }
        | Op::Gather { .. }
        | Op::Expand { .. }
        | Op::Pad { .. } => movement::emit(cx, spec),
        Op::Resize(_) => resize::emit(cx, spec),
        Op::Conv(_) => conv::emit(cx, spec),
        Op::Gemm { .. } | Op::MatMul => matmul::emit(cx, spec),
        Op::Pool(_) => pool::emit(cx, spec),
        Op::BatchNorm { .. } | Op::Lrn { .. } => norm::emit(cx, spec),
        Op::Softmax { .. } | Op::LogSoftmax { .. } => softmax::emit(cx, spec),
        Op::Reduce { .. } | Op::ArgMax { .. } | Op::ArgMin { .. } => reduce::emit(cx, spec),
        Op::WinogradInput { .. } | Op::WinogradOutput { .. } => winograd::emit(cx, spec),
        Op::WinogradWeights { .. } => Err(spec.unsupported("a compile-time weight transform (fold it first)")),
        Op::Elementwise(_) | Op::Fused { .. } => fused::emit(cx, spec),
        Op::ChannelsLast(_) => Err(spec.unsupported("a channels-last op without a micro-kernel (legalize it first)")),
        Op::NonZero => non_zero::emit(cx, spec),
        Op::NonMaxSuppression { .. } => nms::emit(cx, spec),
        Op::Unique { .. } => unique::emit(cx, spec),
    }
}

/// The `(outer, len, inner)` decomposition of `shape` around `axis` (products of the dimensions
/// before it, its extent, products after it), or an error naming the attribute when `axis` is
/// out of range. Shared by the kernels that scan one axis per outer/inner position.
pub(crate) fn split_at_axis(spec: &KernelSpec, shape: &[usize], axis: usize) -> Result<(usize, usize, usize)> {
    if axis >= shape.len() {
        return Err(spec.unsupported(format!("attribute axis={axis} out of range for rank {}", shape.len())));
    }
    Ok((shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product()))
}
