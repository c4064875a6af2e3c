//! Kernel families, one file each, dispatched by op.

use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};

/// Emits the kernel body for `spec` through its family.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    let _ = cx;
    Err(spec.unsupported("no kernel family yet"))
}
