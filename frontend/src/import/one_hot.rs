//! `Hardmax` and `OneHot`: both mark one position along an axis, built as `Equal(index, iota)`
//! where `iota` is a constant `0..n` laid along that axis (shapes are static, so it is known at
//! import time and broadcast against the index tensor).
//!
//! - Hardmax: the index is `ArgMax` with `keepdims` and first-index tie breaking (as numpy's
//!   argmax, which the reference uses); the bool mask is cast to `x`'s dtype. Before opset 13
//!   the input is coerced to 2-D at `axis` (default 1) and reshaped back.
//! - OneHot: negative indices in `[-depth, 0)` are wrapped by adding `depth`; other
//!   out-of-range (or fractional float) indices match no position and give `off` everywhere.
//!   `depth` must be a compile-time constant; `values = [off, on]` may be computed.

use super::build::{bin, cast, check_table, iota_along, select};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ValueId};

pub fn hardmax(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let ty = imp.ty(x);
    let rank = ty.shape.len();
    if ty.shape.iter().product::<usize>() == 0 {
        return Ok(vec![x]);
    }
    if ctx.opset >= 13 {
        let axis = ctx.axis("axis", ctx.int_or("axis", -1)?, rank)?;
        return Ok(vec![mark_max(imp, ctx, x, axis, ctx.out(0))?]);
    }
    let axis = ctx.axis("axis", ctx.int_or("axis", 1)?, rank)?;
    let rows: usize = ty.shape[..axis].iter().product();
    let flat = imp.reshape(ctx, x, vec![rows, ty.shape[axis..].iter().product()], ctx.tmp("flat"))?;
    let y = mark_max(imp, ctx, flat, 1, ctx.tmp("flat_hardmax"))?;
    Ok(vec![imp.reshape(ctx, y, ty.shape.clone(), ctx.out(0))?])
}

/// 1 at the first maximum along `axis`, 0 elsewhere, in `x`'s dtype.
fn mark_max(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, axis: usize, name: String) -> Result<ValueId> {
    let ty = imp.ty(x);
    let arg = Op::ArgMax { axis, keepdims: true, select_last_index: false };
    let index = imp.emit1(ctx, arg, vec![x], ctx.tmp("argmax"))?;
    let iota = iota_along(imp, ctx, DType::I64, ty.shape[axis], axis, ty.shape.len())?;
    let mask = bin(imp, ctx, BinaryOp::Equal, index, iota, ctx.tmp("is_max"))?;
    cast(imp, ctx, mask, ty.dtype, name)
}

pub fn one_hot(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let indices = imp.input(ctx, 0)?;
    let ity = imp.ty(indices);
    if ity.dtype == DType::Bool {
        return Err(ctx.input_err(0, "indices must be numeric, got bool"));
    }
    let depth = depth(imp, ctx)?;
    let rank = ity.shape.len() + 1;
    let axis = ctx.axis("axis", ctx.int_or("axis", -1)?, rank)?;
    check_table(ctx, "one-hot output", ity.shape.iter().product::<usize>().checked_mul(depth))?;
    let wrapped = wrap_negative(imp, ctx, indices, depth)?;
    let mut shape = ity.shape.clone();
    shape.insert(axis, 1);
    let lifted = imp.reshape(ctx, wrapped, shape, ctx.tmp("lifted"))?;
    let iota = iota_along(imp, ctx, ity.dtype, depth, axis, rank)?;
    let hit = bin(imp, ctx, BinaryOp::Equal, lifted, iota, ctx.tmp("hit"))?;
    let (off, on) = off_on(imp, ctx)?;
    Ok(vec![select(imp, ctx, hit, on, off, ctx.out(0))?])
}

/// The constant `depth` input as a positive count (floats truncated, as ONNX casts it).
fn depth(imp: &Importer, ctx: &NodeCtx) -> Result<usize> {
    let t = imp.const_input(ctx, 1)?;
    if t.numel() != 1 || t.dtype() == DType::Bool {
        return Err(
            ctx.input_err(1, format!("depth must be one number, got {} of shape {:?}", t.dtype().name(), t.shape()))
        );
    }
    let d = t.to_f64_vec()[0].trunc();
    if !(d >= 1.0 && d <= super::build::MAX_TABLE_ELEMENTS as f64) {
        return Err(ctx.input_err(1, format!("depth {d} is not in [1, {}]", super::build::MAX_TABLE_ELEMENTS)));
    }
    Ok(d as usize)
}

/// `i < 0 ? i + depth : i` (unsigned indices unchanged).
fn wrap_negative(imp: &mut Importer, ctx: &NodeCtx, i: ValueId, depth: usize) -> Result<ValueId> {
    let dt = imp.ty(i).dtype;
    if !(dt.is_float() || dt.is_signed_int()) {
        return Ok(i);
    }
    let zero = super::build::scalar(imp, ctx, "zero", dt, 0.0);
    let d = super::build::scalar(imp, ctx, "depth", dt, depth as f64);
    let neg = bin(imp, ctx, BinaryOp::Less, i, zero, ctx.tmp("negative"))?;
    let up = bin(imp, ctx, BinaryOp::Add, i, d, ctx.tmp("wrapped"))?;
    select(imp, ctx, neg, up, i, ctx.tmp("index"))
}

/// The two elements of `values` as one-element tensors `(off, on)`.
fn off_on(imp: &mut Importer, ctx: &NodeCtx) -> Result<(ValueId, ValueId)> {
    let v = imp.input(ctx, 2)?;
    if imp.shape(v).iter().product::<usize>() != 2 {
        return Err(ctx.input_err(2, format!("values must hold 2 elements [off, on], got shape {:?}", imp.shape(v))));
    }
    let flat = imp.reshape(ctx, v, vec![2], ctx.tmp("values"))?;
    let pick = |imp: &mut Importer, at: usize, name: &str| {
        imp.emit1(ctx, Op::Slice { starts: vec![at], steps: vec![1], lens: vec![1] }, vec![flat], ctx.tmp(name))
    };
    Ok((pick(imp, 0, "off")?, pick(imp, 1, "on")?))
}
