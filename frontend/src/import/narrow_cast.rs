//! Cast's `saturate` and `round_mode` attributes, which only the narrow float types read.
//!
//! The IR's `Cast` has no attributes: it converts with ONNX's defaults, `saturate=1` (overflow
//! and infinities clamp to the largest finite value of an 8-bit float) and, for FLOAT8E8M0,
//! `round_mode="up"` (see `kiln_ir::minifloat`). Keeping `Op::Cast` as it is spares every
//! pass and kernel that builds or matches casts a change, and the defaults are what quantized
//! models use. `saturate=0` is imported as that cast plus a fix-up of the overflowing elements:
//! `Where(|x| past the rounding threshold of the largest finite value, inf or NaN code, Cast(x))`
//! (E5M2 overflows to a signed infinity, the types without infinity to NaN; NaN inputs already
//! give NaN). The threshold is the midpoint above the largest value, inclusive when the largest
//! code is odd (ties round to even, i.e. up past it), so this equals rounding first. It is
//! compared in the source's float type (half sources widened exactly to f32), so no extra
//! rounding moves an element across it. FIXME: the E8M0 modes "down"/"nearest" and its
//! `saturate=0` are implemented in `kiln_ir::minifloat` but not in the kernel; they are refused
//! here by name.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::minifloat::{decode, format_of, Format, Specials};
use kiln_ir::{BinaryOp, DType, Op, Tensor, UnaryOp, ValueId};

/// Imports `Cast(x) -> to` honouring the node's `saturate` and `round_mode`; `Ok(None)` when
/// they are the defaults (the plain IR Cast is the answer).
pub fn cast_with_options(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, to: DType) -> Result<Option<ValueId>> {
    check_round_mode(ctx, to)?;
    let Some(f) = format_of(to).filter(|f| f.specials != Specials::Finite) else { return Ok(None) };
    if ctx.int_or("saturate", 1)? != 0 {
        return Ok(None);
    }
    let from = imp.ty(x).dtype;
    let wide = match from {
        DType::F32 | DType::F64 => x,
        d if d.is_half() => imp.emit1(ctx, Op::Cast { to: DType::F32 }, vec![x], ctx.tmp("wide"))?,
        d => return Err(ctx.attr_err("saturate", format!("saturate=0 from {d} is not supported (float sources only)"))),
    };
    let saturated = imp.emit1(ctx, Op::Cast { to }, vec![x], ctx.tmp("saturated"))?;
    let over = overflows(imp, ctx, wide, f)?;
    let special = overflow_value(imp, ctx, wide, f, to)?;
    imp.emit1(ctx, Op::Where, vec![over, special, saturated], ctx.out(0)).map(Some)
}

/// Refuses the E8M0 settings the kernel does not implement (see the module docs).
pub fn check_round_mode(ctx: &NodeCtx, to: DType) -> Result<()> {
    if to != DType::F8E8M0 {
        return Ok(());
    }
    if ctx.int_or("saturate", 1)? == 0 {
        return Err(ctx.attr_err("saturate", "saturate=0 to f8e8m0 is not supported (only the default 1)"));
    }
    let mode = ctx.string_or("round_mode", "up")?;
    if mode != "up" {
        return Err(ctx.attr_err("round_mode", format!("round_mode '{mode}' is not supported (only 'up')")));
    }
    Ok(())
}

/// `|x| >= threshold` (or `>` when ties stay at the largest value): the elements whose
/// rounding passes the largest finite value. Infinities are included, NaN is not.
fn overflows(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, f: Format) -> Result<ValueId> {
    let largest = decode(f, f.max_code() as u8);
    let exp = (largest.to_bits() >> 23) as i32 - 127;
    let threshold = f64::from(largest) + 2f64.powi(exp - f.man_bits as i32 - 1);
    let dtype = imp.ty(x).dtype;
    let t = imp.constant(ctx.tmp("overflow_threshold"), Tensor::from_f64(dtype, vec![], &[threshold]));
    let abs = imp.emit1(ctx, Op::Unary(UnaryOp::Abs), vec![x], ctx.tmp("abs"))?;
    let cmp = if f.max_code() % 2 == 0 { BinaryOp::Greater } else { BinaryOp::GreaterOrEqual };
    imp.emit1(ctx, Op::Binary(cmp), vec![abs, t], ctx.tmp("overflows"))
}

/// What an overflow becomes: the signed infinity for E5M2, the NaN code otherwise.
fn overflow_value(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, f: Format, to: DType) -> Result<ValueId> {
    let code = |imp: &mut Importer, name: &str, c: u32| {
        let t = Tensor::from_le_bytes(to, Vec::<usize>::new(), &[c as u8]).expect("one byte");
        imp.constant(ctx.tmp(name), t)
    };
    if f.specials != Specials::Ieee {
        return Ok(code(imp, "nan", f.nan_code(0)));
    }
    let inf = f.max_code() + 1;
    let (pos, neg) = (code(imp, "inf", inf), code(imp, "neg_inf", inf | f.sign_bit()));
    let zero = imp.constant(ctx.tmp("zero"), Tensor::from_f64(imp.ty(x).dtype, vec![], &[0.0]));
    let negative = imp.emit1(ctx, Op::Binary(BinaryOp::Less), vec![x, zero], ctx.tmp("negative"))?;
    imp.emit1(ctx, Op::Where, vec![negative, neg, pos], ctx.tmp("signed_inf"))
}
