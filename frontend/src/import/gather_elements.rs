//! `GatherElements` as a one-hot selection, since the IR's `Gather` takes whole slices and has
//! no per-element form: with `K` the data's extent along `axis`,
//!
//! `out[p] = ReduceSum_k Where(idx[p] == k, data[p with axis := k], 0)`
//!
//! where the data, with `axis` moved last and a 1 put in its place, broadcasts against the
//! `[indices..., K]` comparison (negative indices are wrapped first). `Where`, not a product,
//! keeps NaN and infinity in unselected elements out of the result and works for every dtype.
//! The comparison has `numel(indices) * K` elements, bounded by [`MAX_SELECTION`] with an error
//! naming the node; an index outside `[-K, K)` (invalid ONNX) selects nothing and gives 0.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, ValueId};

/// Largest `numel(indices) * K` the one-hot selection may build.
pub const MAX_SELECTION: usize = 1 << 26;

pub fn gather_elements(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (data, indices) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let (ds, is) = (imp.shape(data), imp.shape(indices));
    let itype = imp.ty(indices).dtype;
    if !matches!(itype, DType::I32 | DType::I64) {
        return Err(ctx.input_err(1, format!("indices must be int32 or int64, not {}", itype.name())));
    }
    if ds.is_empty() || ds.len() != is.len() {
        return Err(ctx.input_err(1, format!("indices shape {is:?} must have the rank of data {ds:?} (>= 1)")));
    }
    let axis = ctx.axis("axis", ctx.int_or("axis", 0)?, ds.len())?;
    if (0..ds.len()).any(|d| d != axis && is[d] > ds[d]) {
        return Err(ctx.input_err(1, format!("indices shape {is:?} exceeds data {ds:?} off axis {axis}")));
    }
    let k = ds[axis];
    let size = is.iter().product::<usize>().checked_mul(k).filter(|&n| n <= MAX_SELECTION);
    size.ok_or_else(|| ctx.err(format!("indices {is:?} x {k} choices exceed {MAX_SELECTION} elements")))?;
    let choices = data_by_choice(imp, ctx, data, &is, axis)?;
    let hits = one_hot(imp, ctx, indices, k)?;
    let zero = imp.constant(ctx.tmp("zero"), Tensor::from_f64(imp.ty(data).dtype, vec![], &[0.0]));
    let picked = imp.emit1(ctx, Op::Where, vec![hits, choices, zero], ctx.tmp("picked"))?;
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![ds.len()], keepdims: false };
    Ok(vec![imp.emit1(ctx, sum, vec![picked], ctx.out(0))?])
}

/// `data` cropped to the indices' extent off `axis`, `axis` moved last and a 1 left in its place:
/// `[is[0], .., 1, .., is[r-1], K]`.
fn data_by_choice(imp: &mut Importer, ctx: &NodeCtx, data: ValueId, is: &[usize], axis: usize) -> Result<ValueId> {
    let ds = imp.shape(data);
    let mut lens = is.to_vec();
    lens[axis] = ds[axis];
    let cropped = if lens == ds {
        data
    } else {
        let op = Op::Slice { starts: vec![0; ds.len()], steps: vec![1; ds.len()], lens: lens.clone() };
        imp.emit1(ctx, op, vec![data], ctx.tmp("cropped"))?
    };
    let perm: Vec<usize> = (0..ds.len()).filter(|&d| d != axis).chain([axis]).collect();
    let moved = imp.emit1(ctx, Op::Transpose { perm }, vec![cropped], ctx.tmp("axis_last"))?;
    let mut shape = lens;
    shape[axis] = 1;
    shape.push(ds[axis]);
    imp.reshape(ctx, moved, shape, ctx.tmp("choices"))
}

/// `wrap(indices)[..., None] == [0, 1, .., K-1]`: bool `[indices..., K]`.
pub(super) fn one_hot(imp: &mut Importer, ctx: &NodeCtx, indices: ValueId, k: usize) -> Result<ValueId> {
    let (dtype, is) = (imp.ty(indices).dtype, imp.shape(indices));
    let scalar =
        |imp: &mut Importer, name: &str, v: f64| imp.constant(ctx.tmp(name), Tensor::from_f64(dtype, vec![], &[v]));
    let (zero, extent) = (scalar(imp, "index_zero", 0.0), scalar(imp, "extent", k as f64));
    let negative = imp.emit1(ctx, Op::Binary(BinaryOp::Less), vec![indices, zero], ctx.tmp("negative"))?;
    let shifted = imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![indices, extent], ctx.tmp("shifted"))?;
    let wrapped = imp.emit1(ctx, Op::Where, vec![negative, shifted, indices], ctx.tmp("wrapped"))?;
    let column = imp.reshape(ctx, wrapped, [is.clone(), vec![1]].concat(), ctx.tmp("column"))?;
    let iota_shape = [vec![1; is.len()], vec![k]].concat();
    let iota: Vec<f64> = (0..k).map(|v| v as f64).collect();
    let iota = imp.constant(ctx.tmp("iota"), Tensor::from_f64(dtype, iota_shape, &iota));
    imp.emit1(ctx, Op::Binary(BinaryOp::Equal), vec![column, iota], ctx.tmp("hits"))
}
