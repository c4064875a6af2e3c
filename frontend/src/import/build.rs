//! Small node-building helpers shared by the decomposition files (triangular, cumulative,
//! activations_extra, trig_extra, bitshift, one_hot, norm_extra...): each ONNX op there becomes
//! a handful of existing IR ops, and spelling `imp.emit1(ctx, Op::Binary(..), vec![..], name)` at every step
//! would bury the formula each file implements. Every helper goes through [`Importer::emit1`],
//! so types are inferred and constant inputs fold exactly as for directly imported ops.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, Tensor, UnaryOp, ValueId};

/// Largest constant mask or index table (elements) a decomposition builds at import time;
/// larger ones are refused with an error rather than exhausting memory on huge static dims.
pub const MAX_TABLE_ELEMENTS: usize = 1 << 24;

/// `a <op> b` with numpy broadcasting.
pub fn bin(imp: &mut Importer, ctx: &NodeCtx, op: BinaryOp, a: ValueId, b: ValueId, name: String) -> Result<ValueId> {
    imp.emit1(ctx, Op::Binary(op), vec![a, b], name)
}

/// `op(x)`.
pub fn un(imp: &mut Importer, ctx: &NodeCtx, op: UnaryOp, x: ValueId, name: String) -> Result<ValueId> {
    imp.emit1(ctx, Op::Unary(op), vec![x], name)
}

/// `cond ? x : y` with broadcasting.
pub fn select(
    imp: &mut Importer,
    ctx: &NodeCtx,
    cond: ValueId,
    x: ValueId,
    y: ValueId,
    name: String,
) -> Result<ValueId> {
    imp.emit1(ctx, Op::Where, vec![cond, x, y], name)
}

/// `x` converted to `to`.
pub fn cast(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, to: DType, name: String) -> Result<ValueId> {
    imp.emit1(ctx, Op::Cast { to }, vec![x], name)
}

/// A rank-0 constant of `dtype` (the value converted as `Tensor::from_f64` does).
pub fn scalar(imp: &mut Importer, ctx: &NodeCtx, suffix: &str, dtype: DType, v: f64) -> ValueId {
    imp.constant(ctx.tmp(suffix), Tensor::from_f64(dtype, vec![], &[v]))
}

/// Input 0, which must have a float dtype (the activation formulas are float-only).
pub fn float_input(imp: &Importer, ctx: &NodeCtx) -> Result<(ValueId, DType)> {
    let x = imp.input(ctx, 0)?;
    let dtype = imp.ty(x).dtype;
    if !dtype.is_float() {
        return Err(ctx.input_err(0, format!("has dtype {}; {} needs f32 or f64", dtype.name(), ctx.op())));
    }
    Ok((x, dtype))
}

/// Errors naming the node when a table of `n` elements would be larger than
/// [`MAX_TABLE_ELEMENTS`].
pub fn check_table(ctx: &NodeCtx, what: &str, n: Option<usize>) -> Result<usize> {
    match n {
        Some(n) if n <= MAX_TABLE_ELEMENTS => Ok(n),
        _ => Err(ctx.err(format!("the constant {what} would exceed {MAX_TABLE_ELEMENTS} elements"))),
    }
}

/// `0, 1, .., n-1` of `dtype` shaped as `n` along `axis` of a rank-`rank` tensor (1 elsewhere),
/// for comparing positions along one axis against indices.
pub fn iota_along(
    imp: &mut Importer,
    ctx: &NodeCtx,
    dtype: DType,
    n: usize,
    axis: usize,
    rank: usize,
) -> Result<ValueId> {
    check_table(ctx, "index table", Some(n))?;
    let mut shape = vec![1; rank];
    shape[axis] = n;
    let vals: Vec<f64> = (0..n).map(|i| i as f64).collect();
    Ok(imp.constant(ctx.tmp("iota"), Tensor::from_f64(dtype, shape, &vals)))
}

/// Row-major multi-index of `i` in `dims`.
pub fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        idx[d] = i % dims[d];
        i /= dims[d];
    }
    idx
}
