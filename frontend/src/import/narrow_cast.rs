//! Cast's `saturate` and `round_mode` attributes, which only the narrow float types read.
//!
//! The IR's `Cast` has no attributes: it converts with ONNX's defaults, `saturate=1` (overflow
//! and infinities clamp to the largest finite value of an 8-bit float) and, for FLOAT8E8M0,
//! `round_mode="up"` (see `kiln_ir::minifloat`). Keeping `Op::Cast` as it is spares every
//! pass and kernel that builds or matches casts a change; the defaults are what quantized models
//! use. The other settings are rejected here by name, so a model that needs them fails at import
//! instead of computing something else. FIXME: `saturate=0` (overflow to inf/NaN) and the E8M0
//! modes "down"/"nearest" (implemented in `kiln_ir::minifloat`, not yet in the kernel).

use super::ctx::NodeCtx;
use crate::error::Result;
use kiln_ir::DType;

/// Checks that the node's `saturate` and `round_mode` are the defaults the IR Cast implements
/// (ignored, as ONNX says, for targets they do not apply to).
pub fn check_cast_options(ctx: &NodeCtx, to: DType) -> Result<()> {
    if !to.is_minifloat() || to == DType::F4E2M1 {
        return Ok(());
    }
    if ctx.int_or("saturate", 1)? == 0 {
        return Err(ctx.attr_err("saturate", format!("saturate=0 to {to} is not supported (only the default 1)")));
    }
    let mode = ctx.string_or("round_mode", "up")?;
    if to == DType::F8E8M0 && mode != "up" {
        return Err(ctx.attr_err("round_mode", format!("round_mode '{mode}' is not supported (only 'up')")));
    }
    Ok(())
}
