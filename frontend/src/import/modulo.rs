//! `Mod` as a decomposition into the IR's division, rounding and selection (the IR has no
//! remainder op, and the backend's integer division and float rounding kernels already exist):
//!
//! - `q = trunc(a / b)`: integer `Div` truncates; for floats `trunc(x) = x < 0 ? ceil(x) : floor(x)`.
//! - `r = a - q * b`: C's `fmod` (`fmod=1`), the sign of the dividend.
//! - `fmod=0` (Python/numpy `mod`, the sign of the divisor): `r + b` where `r != 0` and the signs
//!   of `r` and `b` differ; unsigned types need no adjustment.
//!
//! For floats `a - trunc(a/b)*b` rounds where the exact `fmod` does not once the quotient
//! exceeds 2^24, and `x mod inf` gives NaN instead of `x`; integer results are exact. Integer
//! division by zero is an error of the evaluator and undefined in the kernels, as in C.

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
    let q = truncated_quotient(imp, ctx, a, b)?;
    let qb = binary(imp, ctx, BinaryOp::Mul, q, b, ctx.tmp("multiple"))?;
    let r = binary(imp, ctx, BinaryOp::Sub, a, qb, r_name)?;
    if !python {
        return Ok(vec![r]);
    }
    Ok(vec![toward_divisor_sign(imp, ctx, r, b)?])
}

/// `trunc(a / b)` in the operands' dtype.
fn truncated_quotient(imp: &mut Importer, ctx: &NodeCtx, a: ValueId, b: ValueId) -> Result<ValueId> {
    let q = binary(imp, ctx, BinaryOp::Div, a, b, ctx.tmp("quotient"))?;
    if !imp.ty(a).dtype.is_float() {
        return Ok(q);
    }
    let zero = zero_like(imp, ctx, q);
    let negative = binary(imp, ctx, BinaryOp::Less, q, zero, ctx.tmp("quotient_negative"))?;
    let up = imp.emit1(ctx, Op::Unary(UnaryOp::Ceil), vec![q], ctx.tmp("quotient_ceil"))?;
    let down = imp.emit1(ctx, Op::Unary(UnaryOp::Floor), vec![q], ctx.tmp("quotient_floor"))?;
    imp.emit1(ctx, Op::Where, vec![negative, up, down], ctx.tmp("quotient_trunc"))
}

/// `r + b` where `r != 0` and `(r < 0) != (b < 0)`, else `r` (named as the node's output).
fn toward_divisor_sign(imp: &mut Importer, ctx: &NodeCtx, r: ValueId, b: ValueId) -> Result<ValueId> {
    let zero = zero_like(imp, ctx, r);
    let r_neg = binary(imp, ctx, BinaryOp::Less, r, zero, ctx.tmp("r_negative"))?;
    let b_neg = binary(imp, ctx, BinaryOp::Less, b, zero, ctx.tmp("b_negative"))?;
    let signs_differ = binary(imp, ctx, BinaryOp::Xor, r_neg, b_neg, ctx.tmp("signs_differ"))?;
    let r_zero = binary(imp, ctx, BinaryOp::Equal, r, zero, ctx.tmp("r_zero"))?;
    let r_nonzero = imp.emit1(ctx, Op::Unary(UnaryOp::Not), vec![r_zero], ctx.tmp("r_nonzero"))?;
    let adjust = binary(imp, ctx, BinaryOp::And, signs_differ, r_nonzero, ctx.tmp("adjust"))?;
    let shifted = binary(imp, ctx, BinaryOp::Add, r, b, ctx.tmp("shifted"))?;
    imp.emit1(ctx, Op::Where, vec![adjust, shifted, r], ctx.out(0))
}

/// A scalar zero of `v`'s dtype.
fn zero_like(imp: &mut Importer, ctx: &NodeCtx, v: ValueId) -> ValueId {
    let dtype = imp.ty(v).dtype;
    imp.constant(ctx.tmp("zero"), Tensor::from_f64(dtype, vec![], &[0.0]))
}

fn binary(imp: &mut Importer, ctx: &NodeCtx, op: BinaryOp, x: ValueId, y: ValueId, name: String) -> Result<ValueId> {
    imp.emit1(ctx, Op::Binary(op), vec![x, y], name)
}
