//! Kernel family `softmax` (being built).

use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    let _ = cx;
    Err(spec.unsupported("no lowering yet"))
}
