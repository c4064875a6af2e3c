//! `BitShift` on integers as multiplication or division by a power of two.
//!
//! `2^y` is gathered from a constant table `[1, 2, 4, .., 2^(w-1)]` (w = the bit width) held in
//! the operand dtype as raw two's-complement bits, so the signed table's last entry is the
//! type's minimum, and a wrapping multiply by it is still a shift by `w-1`. Then:
//! - LEFT: `x * 2^y` (the wrapping multiply drops the shifted-out bits);
//! - RIGHT, unsigned: `x / 2^y` (unsigned division truncates = shifts);
//! - RIGHT, signed: an arithmetic shift is a floor division, so the truncated quotient `q` is
//!   lowered by one where the remainder `x - q * 2^y` is negative.
//!
//! Shift amounts outside `[0, w)` follow the ONNX reference: 0, or for a signed right shift
//! the sign fill (`x < 0 ? -1 : 0`). A signed right shift by `w-1` gives that same fill, so it is
//! routed there too and the table (whose entry `w-1` is negative) is never divided by.

use super::build::{bin, cast, scalar, select};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, Tensor, ValueId};
use BinaryOp::{Div, GreaterOrEqual, Less, Mul, Or, Sub};

pub fn bitshift(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, y) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let dt = imp.ty(x).dtype;
    if !dt.is_int() || imp.ty(y).dtype != dt {
        return Err(ctx.input_err(
            1,
            format!("BitShift needs two integer inputs of one dtype, got {} and {}", dt.name(), imp.ty(y).dtype.name()),
        ));
    }
    let right = match ctx.string("direction")?.as_deref() {
        Some("LEFT") => false,
        Some("RIGHT") => true,
        Some(other) => return Err(ctx.attr_err("direction", format!("'{other}' is not 'LEFT' or 'RIGHT'"))),
        None => return Err(ctx.attr_err("direction", "is required ('LEFT' or 'RIGHT')")),
    };
    let signed_right = right && dt.is_signed_int();
    let width = dt.size() * 8;
    let limit = if signed_right { width - 1 } else { width };
    let outside = out_of_range(imp, ctx, y, limit)?;
    let power = power_of_two(imp, ctx, y, outside, width)?;
    let (shifted, fill) = if !right {
        (bin(imp, ctx, Mul, x, power, ctx.tmp("product"))?, scalar(imp, ctx, "zero", dt, 0.0))
    } else if !signed_right {
        (bin(imp, ctx, Div, x, power, ctx.tmp("quotient"))?, scalar(imp, ctx, "zero", dt, 0.0))
    } else {
        (floor_div(imp, ctx, x, power)?, sign_fill(imp, ctx, x)?)
    };
    Ok(vec![select(imp, ctx, outside, fill, shifted, ctx.out(0))?])
}

/// `y < 0 || y >= limit` (bool, the shape of `y`).
fn out_of_range(imp: &mut Importer, ctx: &NodeCtx, y: ValueId, limit: usize) -> Result<ValueId> {
    let dt = imp.ty(y).dtype;
    let (zero, lim) = (scalar(imp, ctx, "zero_shift", dt, 0.0), scalar(imp, ctx, "width", dt, limit as f64));
    let big = bin(imp, ctx, GreaterOrEqual, y, lim, ctx.tmp("shift_too_big"))?;
    let neg = bin(imp, ctx, Less, y, zero, ctx.tmp("shift_negative"))?;
    bin(imp, ctx, Or, big, neg, ctx.tmp("shift_outside"))
}

/// `2^y` in `y`'s dtype (wrapping), with out-of-range shifts replaced by 0 so the gather stays
/// in bounds (their result is overwritten by the fill).
fn power_of_two(imp: &mut Importer, ctx: &NodeCtx, y: ValueId, outside: ValueId, width: usize) -> Result<ValueId> {
    let dt = imp.ty(y).dtype;
    let zero = scalar(imp, ctx, "zero_index", dt, 0.0);
    let safe = select(imp, ctx, outside, zero, y, ctx.tmp("safe_shift"))?;
    let index = cast(imp, ctx, safe, DType::I64, ctx.tmp("shift_index"))?;
    let table = imp.constant(ctx.tmp("powers_of_two"), powers_table(ctx, dt, width)?);
    imp.emit1(ctx, Op::Gather { axis: 0 }, vec![table, index], ctx.tmp("power"))
}

/// `[2^0, .., 2^(width-1)]` as the raw little-endian bits of `dt`.
fn powers_table(ctx: &NodeCtx, dt: DType, width: usize) -> Result<Tensor> {
    let bytes: Vec<u8> = (0..width).flat_map(|i| (1u64 << i).to_le_bytes()[..dt.size()].to_vec()).collect();
    Tensor::from_le_bytes(dt, vec![width], &bytes).ok_or_else(|| ctx.err("cannot build the power-of-two table"))
}

/// `floor(x / p)` for signed `x` and positive `p`.
fn floor_div(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, p: ValueId) -> Result<ValueId> {
    let dt = imp.ty(x).dtype;
    let q = bin(imp, ctx, Div, x, p, ctx.tmp("quotient"))?;
    let qp = bin(imp, ctx, Mul, q, p, ctx.tmp("multiple"))?;
    let r = bin(imp, ctx, Sub, x, qp, ctx.tmp("remainder"))?;
    let zero = scalar(imp, ctx, "zero", dt, 0.0);
    let one = scalar(imp, ctx, "one", dt, 1.0);
    let inexact_negative = bin(imp, ctx, Less, r, zero, ctx.tmp("round_down"))?;
    let lower = bin(imp, ctx, Sub, q, one, ctx.tmp("quotient_minus_one"))?;
    select(imp, ctx, inexact_negative, lower, q, ctx.tmp("floor_quotient"))
}

/// `x < 0 ? -1 : 0`.
fn sign_fill(imp: &mut Importer, ctx: &NodeCtx, x: ValueId) -> Result<ValueId> {
    let dt = imp.ty(x).dtype;
    let (zero, minus_one) = (scalar(imp, ctx, "fill_zero", dt, 0.0), scalar(imp, ctx, "minus_one", dt, -1.0));
    let neg = bin(imp, ctx, Less, x, zero, ctx.tmp("negative"))?;
    select(imp, ctx, neg, minus_one, zero, ctx.tmp("sign_fill"))
}
