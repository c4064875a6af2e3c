//! `Mod` as a decomposition into the IR's division, rounding and selection (the IR has no
//! remainder op, and the backend's integer division and float rounding kernels already exist),
//! following numpy's `npy_divmod`, which the ONNX reference runs (`np.fmod` / `np.mod`):
//!
//! - `q = trunc(a / b)`: integer `Div` truncates; for floats `trunc(x) = x < 0 ? ceil(x) : floor(x)`.
//! - `r = a - q * b`: C's `fmod` (`fmod=1`), the sign of the dividend. For floats `q * b` is
//!   taken as 0 where `q == 0` (so `x fmod ±inf = x` for finite `x` instead of `x - 0 * inf =
//!   NaN`), and a zero `r` gets the dividend's sign (`a * 0`, as `fmod(-4, 2) = -0`).
//! - `fmod=0` (Python/numpy `mod`, the sign of the divisor): `r + b` where `r != 0` and the signs
//!   of `r` and `b` differ (so `-3 mod inf = inf`, as numpy); for floats a zero `r` becomes a
//!   zero with the divisor's sign; unsigned types need no adjustment.
//!
//! Infinite dividends, zero divisors and NaNs give NaN through the arithmetic itself (`inf -
//! inf`, `inf * 0`, NaN propagation), as in numpy. For floats `a - trunc(a/b)*b` rounds where
//! the exact `fmod` does not once the quotient exceeds 2^24 (or when `a / b` rounds up to an
//! integer); an exact remainder needs an IR op. Integer results are exact. Integer division by
//! zero is an error of the evaluator and undefined in the kernels, as in C.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, Tensor, UnaryOp, ValueId};

pub fn modulo(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (a, b) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let dtype = imp.ty(a).dtype;
    if imp.ty(b).dtype != dtype || dtype == DType::Bool {
        return Err(ctx.input_err(1, format!("must have the numeric dtype of input 0 ({})", dtype.name())));
    }
    let fmod = ctx.int_or("fmod", 0)?;
    if fmod != 0 && fmod != 1 {
        return Err(ctx.attr_err("fmod", format!("{fmod} is not 0 or 1")));
    }
    let python = fmod == 0 && (dtype.is_float() || dtype.is_signed_int());
    let r_name = if python { ctx.tmp("remainder") } else { ctx.out(0) };
    let r = if dtype.is_float() { float_fmod(imp, ctx, a, b, r_name)? } else { int_fmod(imp, ctx, a, b, r_name)? };
    if !python {
        return Ok(vec![r]);
    }
    Ok(vec![toward_divisor_sign(imp, ctx, r, b)?])
}

/// `a - (a / b) * b` with C's truncating integer division.
fn int_fmod(imp: &mut Importer, ctx: &NodeCtx, a: ValueId, b: ValueId, name: String) -> Result<ValueId> {
    let q = binary(imp, ctx, BinaryOp::Div, a, b, ctx.tmp("quotient"))?;
    let qb = binary(imp, ctx, BinaryOp::Mul, q, b, ctx.tmp("multiple"))?;
    binary(imp, ctx, BinaryOp::Sub, a, qb, name)
}

/// C's `fmod` on floats: `a - trunc(a / b) * b`, the multiple 0 where the quotient truncates
/// to 0 (finite `a` over infinite `b` is `a`), a zero result signed like `a`.
fn float_fmod(imp: &mut Importer, ctx: &NodeCtx, a: ValueId, b: ValueId, name: String) -> Result<ValueId> {
    let q = truncated_quotient(imp, ctx, a, b)?;
    let zero = zero_like(imp, ctx, q, "zero", 0.0);
    let q_zero = binary(imp, ctx, BinaryOp::Equal, q, zero, ctx.tmp("quotient_zero"))?;
    let qb = binary(imp, ctx, BinaryOp::Mul, q, b, ctx.tmp("product"))?;
    let qb = imp.emit1(ctx, Op::Where, vec![q_zero, zero, qb], ctx.tmp("multiple"))?;
    let r = binary(imp, ctx, BinaryOp::Sub, a, qb, ctx.tmp("difference"))?;
    let r_zero = binary(imp, ctx, BinaryOp::Equal, r, zero, ctx.tmp("difference_zero"))?;
    let a_signed_zero = binary(imp, ctx, BinaryOp::Mul, a, zero, ctx.tmp("dividend_signed_zero"))?;
    imp.emit1(ctx, Op::Where, vec![r_zero, a_signed_zero, r], name)
}

/// `trunc(a / b)` for floats.
fn truncated_quotient(imp: &mut Importer, ctx: &NodeCtx, a: ValueId, b: ValueId) -> Result<ValueId> {
    let q = binary(imp, ctx, BinaryOp::Div, a, b, ctx.tmp("quotient"))?;
    let zero = zero_like(imp, ctx, q, "zero", 0.0);
    let negative = binary(imp, ctx, BinaryOp::Less, q, zero, ctx.tmp("quotient_negative"))?;
    let up = imp.emit1(ctx, Op::Unary(UnaryOp::Ceil), vec![q], ctx.tmp("quotient_ceil"))?;
    let down = imp.emit1(ctx, Op::Unary(UnaryOp::Floor), vec![q], ctx.tmp("quotient_floor"))?;
    imp.emit1(ctx, Op::Where, vec![negative, up, down], ctx.tmp("quotient_trunc"))
}

/// `r + b` where `r != 0` and `(r < 0) != (b < 0)`, else `r`; for floats a zero `r` takes the
/// sign of `b` (numpy's `copysign(0, b)`). Named as the node's output.
fn toward_divisor_sign(imp: &mut Importer, ctx: &NodeCtx, r: ValueId, b: ValueId) -> Result<ValueId> {
    let zero = zero_like(imp, ctx, r, "zero", 0.0);
    let r_neg = binary(imp, ctx, BinaryOp::Less, r, zero, ctx.tmp("r_negative"))?;
    let b_neg = binary(imp, ctx, BinaryOp::Less, b, zero, ctx.tmp("b_negative"))?;
    let signs_differ = binary(imp, ctx, BinaryOp::Xor, r_neg, b_neg, ctx.tmp("signs_differ"))?;
    let r_zero = binary(imp, ctx, BinaryOp::Equal, r, zero, ctx.tmp("r_zero"))?;
    let r_nonzero = imp.emit1(ctx, Op::Unary(UnaryOp::Not), vec![r_zero], ctx.tmp("r_nonzero"))?;
    let adjust = binary(imp, ctx, BinaryOp::And, signs_differ, r_nonzero, ctx.tmp("adjust"))?;
    let shifted = binary(imp, ctx, BinaryOp::Add, r, b, ctx.tmp("shifted"))?;
    if !imp.ty(r).dtype.is_float() {
        return imp.emit1(ctx, Op::Where, vec![adjust, shifted, r], ctx.out(0));
    }
    let adjusted = imp.emit1(ctx, Op::Where, vec![adjust, shifted, r], ctx.tmp("adjusted"))?;
    let negative_zero = zero_like(imp, ctx, r, "negative_zero", -0.0);
    let signed_zero = imp.emit1(ctx, Op::Where, vec![b_neg, negative_zero, zero], ctx.tmp("divisor_signed_zero"))?;
    imp.emit1(ctx, Op::Where, vec![r_zero, signed_zero, adjusted], ctx.out(0))
}

/// A scalar `v` of `x`'s dtype.
fn zero_like(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, suffix: &str, v: f64) -> ValueId {
    let dtype = imp.ty(x).dtype;
    imp.constant(ctx.tmp(suffix), Tensor::from_f64(dtype, vec![], &[v]))
}

fn binary(imp: &mut Importer, ctx: &NodeCtx, op: BinaryOp, x: ValueId, y: ValueId, name: String) -> Result<ValueId> {
    imp.emit1(ctx, Op::Binary(op), vec![x, y], name)
}
