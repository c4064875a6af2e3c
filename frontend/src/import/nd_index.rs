//! `GatherND` and `ScatterND` through a linear index: the index tuples of the last axis of
//! `indices` (wrapped when negative) are combined with the constant strides of the addressed
//! data axes, plus the batch offset for GatherND's `batch_dims`, so the data can be viewed as
//! `[positions, rest...]`:
//!
//! - GatherND is then one `Gather` along axis 0 of that view.
//! - ScatterND compares the linear index with `[0, positions)` (a one-hot), spreads the updates
//!   with `Where`, reduces over the update positions with the reduction's kind and combines with
//!   the data where some update landed (the `ScatterElements` scheme, see that module). The
//!   spread has `numel(updates) * positions` elements, bounded by
//!   `gather_elements::MAX_SELECTION`.
//!
//! Out-of-range indices are invalid ONNX: GatherND reports what `Gather` reports; ScatterND
//! ignores them.

use super::ctx::NodeCtx;
use super::gather_elements::MAX_SELECTION;
use super::scatter_elements::{land, reduction, Reduction};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, ValueId};

pub fn gather_nd(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (data, indices) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let (ds, is) = (imp.shape(data), imp.shape(indices));
    let b = usize::try_from(ctx.int_or("batch_dims", 0)?).map_err(|_| ctx.attr_err("batch_dims", "must be >= 0"))?;
    let m = *is.last().ok_or_else(|| ctx.input_err(1, "indices must have rank >= 1"))?;
    if b >= is.len() || b + m > ds.len() || is[..b] != ds[..b] {
        return Err(ctx.attr_err("batch_dims", format!("{b} with indices {is:?} does not fit data {ds:?}")));
    }
    let linear = linear_index(imp, ctx, indices, &ds, b)?;
    let positions: usize = ds[..b + m].iter().product();
    let view = imp.reshape(ctx, data, [vec![positions], ds[b + m..].to_vec()].concat(), ctx.tmp("positions"))?;
    Ok(vec![imp.emit1(ctx, Op::Gather { axis: 0 }, vec![view, linear], ctx.out(0))?])
}

pub fn scatter_nd(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (data, indices, updates) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.input(ctx, 2)?);
    let (ds, is, us) = (imp.shape(data), imp.shape(indices), imp.shape(updates));
    let m = *is.last().ok_or_else(|| ctx.input_err(1, "indices must have rank >= 1"))?;
    let lead = &is[..is.len() - 1];
    if m > ds.len() || us != [lead, &ds[m..]].concat() || imp.ty(updates).dtype != imp.ty(data).dtype {
        return Err(ctx.input_err(2, format!("updates {us:?} must be indices[:-1] {lead:?} + data[{m}:] of {ds:?}")));
    }
    let positions: usize = ds[..m].iter().product();
    let rest = ds[m..].to_vec();
    let spread_size = us.iter().product::<usize>().checked_mul(positions);
    if spread_size.is_none_or(|n| n > MAX_SELECTION) {
        return Err(ctx.err(format!("updates {us:?} x {positions} positions exceed {MAX_SELECTION} elements")));
    }
    let Reduction { kind, combine, identity } = reduction(ctx)?;
    let linear = linear_index(imp, ctx, indices, &ds, 0)?;
    let ones = vec![1; rest.len()];
    let col = imp.reshape(ctx, linear, [lead.to_vec(), vec![1], ones.clone()].concat(), ctx.tmp("linear_column"))?;
    let iota: Vec<f64> = (0..positions).map(|p| p as f64).collect();
    let iota_shape = [vec![1; lead.len()], vec![positions], ones].concat();
    let iota = imp.constant(ctx.tmp("iota"), Tensor::from_f64(DType::I64, iota_shape, &iota));
    let hits = imp.emit1(ctx, Op::Binary(BinaryOp::Equal), vec![col, iota], ctx.tmp("hits"))?;
    let upd = imp.reshape(ctx, updates, [lead.to_vec(), vec![1], rest.clone()].concat(), ctx.tmp("updates_spread"))?;
    let dtype = imp.ty(data).dtype;
    let ident = imp.constant(ctx.tmp("identity"), Tensor::from_f64(dtype, vec![], &[identity]));
    let spread = imp.emit1(ctx, Op::Where, vec![hits, upd, ident], ctx.tmp("spread"))?;
    let over_updates: Vec<usize> = (0..lead.len()).collect();
    let contrib = Op::Reduce { kind, axes: over_updates.clone(), keepdims: false };
    let contrib = imp.emit1(ctx, contrib, vec![spread], ctx.tmp("contrib"))?;
    let hit_counts = imp.emit1(ctx, Op::Cast { to: DType::I32 }, vec![hits], ctx.tmp("hit_counts"))?;
    let counts = Op::Reduce { kind: ReduceKind::Sum, axes: over_updates, keepdims: false };
    let counts = imp.emit1(ctx, counts, vec![hit_counts], ctx.tmp("counts"))?;
    let view = imp.reshape(ctx, data, [vec![positions], rest].concat(), ctx.tmp("positions"))?;
    let out = land(imp, ctx, view, contrib, counts, combine, ctx.tmp("scattered"))?;
    imp.reshape(ctx, out, ds, ctx.out(0)).map(|v| vec![v])
}

/// The linear position of each index tuple (the last axis of `indices`) among the data's axes
/// `[0, b + m)`, batch offset included: `[indices[..-1]]`, int64.
fn linear_index(imp: &mut Importer, ctx: &NodeCtx, indices: ValueId, ds: &[usize], b: usize) -> Result<ValueId> {
    let is = imp.shape(indices);
    if imp.ty(indices).dtype != DType::I64 {
        return Err(ctx.input_err(1, "indices must be int64"));
    }
    let m = is[is.len() - 1];
    let addressed = &ds[b..b + m];
    let tuple_shape = [vec![1; is.len() - 1], vec![m]].concat();
    let extents: Vec<f64> = addressed.iter().map(|&d| d as f64).collect();
    let strides: Vec<f64> = (0..m).map(|j| addressed[j + 1..].iter().product::<usize>() as f64).collect();
    let extents = imp.constant(ctx.tmp("extents"), Tensor::from_f64(DType::I64, tuple_shape.clone(), &extents));
    let strides = imp.constant(ctx.tmp("strides"), Tensor::from_f64(DType::I64, tuple_shape, &strides));
    let zero = imp.constant(ctx.tmp("zero"), Tensor::from_f64(DType::I64, vec![], &[0.0]));
    let negative = imp.emit1(ctx, Op::Binary(BinaryOp::Less), vec![indices, zero], ctx.tmp("negative"))?;
    let shifted = imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![indices, extents], ctx.tmp("shifted"))?;
    let wrapped = imp.emit1(ctx, Op::Where, vec![negative, shifted, indices], ctx.tmp("wrapped"))?;
    let weighted = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![wrapped, strides], ctx.tmp("weighted"))?;
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![is.len() - 1], keepdims: false };
    let linear = imp.emit1(ctx, sum, vec![weighted], ctx.tmp("linear"))?;
    if b == 0 {
        return Ok(linear);
    }
    // Batch offset: the flat batch index times the positions per batch, shaped [B..., 1...].
    let batches: usize = ds[..b].iter().product();
    let per_batch: usize = addressed.iter().product();
    let offsets: Vec<f64> = (0..batches).map(|i| (i * per_batch) as f64).collect();
    let offset_shape = [ds[..b].to_vec(), vec![1; is.len() - 1 - b]].concat();
    let offsets = imp.constant(ctx.tmp("batch_offsets"), Tensor::from_f64(DType::I64, offset_shape, &offsets));
    imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![linear, offsets], ctx.tmp("linear_batched"))
}
