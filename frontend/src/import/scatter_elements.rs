//! `ScatterElements` by the same one-hot as `GatherElements` (`gather_elements::one_hot`), read
//! the other way: with `K` the data's extent along `axis` and `hits[u, k] = (idx[u] == k)`,
//!
//! - `contrib[q] = reduce over u[axis] of Where(hits, updates[u], identity)`, the `K` axis moved
//!   back into `axis` and padded with `identity` to the data's shape (indices may be smaller
//!   than the data off the axis);
//! - `touched[q]` = some update lands on `q` (a count of hits, padded with 0);
//! - `out = Where(touched, combine(data, contrib), data)`, where `reduction` picks the reduce
//!   and the combine: none = the update (sum, so duplicate indices add, which ONNX leaves
//!   undefined), add = `data + sum`, mul = `data * product`, max/min = `max/min(data, max/min)`.
//!
//! The one-hot has `numel(indices) * K` elements, bounded like GatherElements'.

use super::ctx::NodeCtx;
use super::gather_elements::{one_hot, MAX_SELECTION};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, PadMode, ReduceKind, Tensor, ValueId};

/// How duplicates combine and what an untouched slot contributes (shared with ScatterND).
pub(super) struct Reduction {
    pub kind: ReduceKind,
    pub combine: Option<BinaryOp>,
    pub identity: f64,
}

pub fn scatter_elements(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (data, indices, updates) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.input(ctx, 2)?);
    let (ds, is) = (imp.shape(data), imp.shape(indices));
    check_operands(imp, ctx, data, indices, updates)?;
    let axis = ctx.axis("axis", ctx.int_or("axis", 0)?, ds.len())?;
    let red = reduction(ctx)?;
    let k = ds[axis];
    if is.iter().product::<usize>().checked_mul(k).is_none_or(|n| n > MAX_SELECTION) {
        return Err(ctx.err(format!("indices {is:?} x {k} targets exceed {MAX_SELECTION} elements")));
    }
    let dtype = imp.ty(data).dtype;
    let hits = one_hot(imp, ctx, indices, k)?;
    let column = imp.reshape(ctx, updates, [is.clone(), vec![1]].concat(), ctx.tmp("updates_column"))?;
    let identity = imp.constant(ctx.tmp("identity"), Tensor::from_f64(dtype, vec![], &[red.identity]));
    let spread = imp.emit1(ctx, Op::Where, vec![hits, column, identity], ctx.tmp("spread"))?;
    let contrib = collapse(imp, ctx, spread, red.kind, axis, "contrib")?;
    let contrib = pad_to(imp, ctx, contrib, &ds, red.identity, "contrib_full")?;
    let counts = imp.emit1(ctx, Op::Cast { to: DType::I32 }, vec![hits], ctx.tmp("hit_counts"))?;
    let counts = collapse(imp, ctx, counts, ReduceKind::Sum, axis, "counts")?;
    let counts = pad_to(imp, ctx, counts, &ds, 0.0, "counts_full")?;
    Ok(vec![land(imp, ctx, data, contrib, counts, red.combine, ctx.out(0))?])
}

/// `Where(counts > 0, combine(data, contrib), data)`: where some update landed, the data
/// combined with the reduced updates (or replaced, without `combine`); elsewhere the data.
/// `counts` (int32) and `contrib` have the data's shape. Shared with ScatterND.
pub(super) fn land(
    imp: &mut Importer,
    ctx: &NodeCtx,
    data: ValueId,
    contrib: ValueId,
    counts: ValueId,
    combine: Option<BinaryOp>,
    name: String,
) -> Result<ValueId> {
    let zero = imp.constant(ctx.tmp("no_hits"), Tensor::from_f64(DType::I32, vec![], &[0.0]));
    let touched = imp.emit1(ctx, Op::Binary(BinaryOp::Less), vec![zero, counts], ctx.tmp("touched"))?;
    let combined = match combine {
        None => contrib,
        Some(op) => imp.emit1(ctx, Op::Binary(op), vec![data, contrib], ctx.tmp("combined"))?,
    };
    imp.emit1(ctx, Op::Where, vec![touched, combined, data], name)
}

fn check_operands(imp: &Importer, ctx: &NodeCtx, data: ValueId, indices: ValueId, updates: ValueId) -> Result<()> {
    let (ds, is, us) = (imp.shape(data), imp.shape(indices), imp.shape(updates));
    if !matches!(imp.ty(indices).dtype, DType::I32 | DType::I64) {
        return Err(ctx.input_err(1, "indices must be int32 or int64"));
    }
    if ds.is_empty() || is.len() != ds.len() || is != us || is.iter().zip(&ds).any(|(i, d)| i > d) {
        return Err(ctx.input_err(1, format!("indices {is:?} and updates {us:?} must be equal and fit data {ds:?}")));
    }
    if imp.ty(updates).dtype != imp.ty(data).dtype || imp.ty(data).dtype == DType::Bool {
        return Err(ctx.input_err(2, "updates must have the data's numeric dtype"));
    }
    Ok(())
}

pub(super) fn reduction(ctx: &NodeCtx) -> Result<Reduction> {
    let r = |kind, combine, identity| Ok(Reduction { kind, combine, identity });
    match ctx.string_or("reduction", "none")?.as_str() {
        "none" => r(ReduceKind::Sum, None, 0.0),
        "add" => r(ReduceKind::Sum, Some(BinaryOp::Add), 0.0),
        "mul" => r(ReduceKind::Prod, Some(BinaryOp::Mul), 1.0),
        "max" => r(ReduceKind::Max, Some(BinaryOp::Max), f64::NEG_INFINITY),
        "min" => r(ReduceKind::Min, Some(BinaryOp::Min), f64::INFINITY),
        other => Err(ctx.attr_err("reduction", format!("unknown value '{other}' (none, add, mul, max, min)"))),
    }
}

/// Reduces `[u..., K]` over `u[axis]` and moves `K` into `axis`: the data-shaped contributions.
fn collapse(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    kind: ReduceKind,
    axis: usize,
    name: &str,
) -> Result<ValueId> {
    let reduced = Op::Reduce { kind, axes: vec![axis], keepdims: false };
    let reduced = imp.emit1(ctx, reduced, vec![x], ctx.tmp(&format!("{name}_reduced")))?;
    let rank = imp.shape(reduced).len();
    let perm: Vec<usize> = (0..axis).chain([rank - 1]).chain(axis..rank - 1).collect();
    imp.emit1(ctx, Op::Transpose { perm }, vec![reduced], ctx.tmp(name))
}

/// `x` padded at the end of each axis with `value` up to `shape`.
fn pad_to(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, shape: &[usize], value: f64, name: &str) -> Result<ValueId> {
    let xs = imp.shape(x);
    if xs == shape {
        return Ok(x);
    }
    let pads: Vec<i64> =
        vec![0; xs.len()].into_iter().chain(shape.iter().zip(&xs).map(|(d, s)| (d - s) as i64)).collect();
    imp.emit1(ctx, Op::Pad { mode: PadMode::Constant, pads, value: value.into() }, vec![x], ctx.tmp(name))
}
