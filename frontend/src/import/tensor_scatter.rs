//! ONNX `TensorScatter` (opset 24): writes `update` into a KV cache at a per-batch run-time
//! position along the sequence axis (linear or circular), imported as a one-hot selection:
//!
//! ```text
//! cache [B, P, M, Q] and update [B, P, L, Q]   (P, Q: the dims before and after the axis)
//! r[b, p]       = p - write_indices[b]            (circular: reduced mod M into 0..M)
//! hit[b, p, s]  = r[b, p] == s                    (s < L: update row s lands on cache row p)
//! gathered      = ReduceSum_s(Where(hit, update, 0))      [B, P, M, Q]
//! present       = Where(0 <= r < L, gathered, cache)
//! ```
//!
//! Why: the write positions are run-time values (`write_indices` is a graph input in decode
//! loops) and the IR has no scatter op, so the positions become comparisons. Selecting with
//! `Where` and summing zeros is exact for any values, where a one-hot MatMul would turn an
//! infinite value into NaN. Each cache row receives at most one update row (L <= M), so the sum
//! adds only zeros to it. The cost is O(B*P*M*L*Q): one pass over the cache per update row, fine
//! for decode (L = 1) and the short prefills these caches see. Without `write_indices` every
//! position is constant and the selection folds to a constant mask.

use super::build::{bin, iota_along, scalar, select};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, ValueId};

const WRITE_INDICES: usize = 2;

/// The cache and update viewed as `[B, P, len, Q]`.
struct Layout {
    batch: usize,
    before: usize,
    max_len: usize,
    len: usize,
    after: usize,
}

pub fn tensor_scatter(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let circular = match ctx.string_or("mode", "linear")?.as_str() {
        "linear" => false,
        "circular" => true,
        other => return Err(ctx.attr_err("mode", format!("'{other}' is neither 'linear' nor 'circular'"))),
    };
    let (cache, update) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let shape = imp.shape(cache);
    let l = layout(imp, ctx, &shape, update)?;
    let r = relative_rows(imp, ctx, &l, circular)?;
    let s = iota_along(imp, ctx, DType::I64, l.len, 2, 3)?;
    // r is [1, M] without write_indices: every batch writes at 0 and broadcasting does the rest.
    let r_batch = imp.shape(r)[0];
    let r3 = imp.reshape(ctx, r, vec![r_batch, l.max_len, 1], ctx.tmp("rows3"))?;
    let hit = bin(imp, ctx, BinaryOp::Equal, r3, s, ctx.tmp("hit"))?;
    let hit = imp.reshape(ctx, hit, vec![r_batch, 1, l.max_len, l.len, 1], ctx.tmp("hit5"))?;
    let upd = imp.reshape(ctx, update, vec![l.batch, l.before, 1, l.len, l.after], ctx.tmp("update5"))?;
    let zero = scalar(imp, ctx, "zero", imp.ty(update).dtype, 0.0);
    let picked = select(imp, ctx, hit, upd, zero, ctx.tmp("picked"))?;
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![3], keepdims: false };
    let gathered = imp.emit1(ctx, sum, vec![picked], ctx.tmp("gathered"))?;
    let written = written_rows(imp, ctx, &l, r)?;
    let past = imp.reshape(ctx, cache, vec![l.batch, l.before, l.max_len, l.after], ctx.tmp("cache4"))?;
    let present = select(imp, ctx, written, gathered, past, ctx.tmp("present4"))?;
    Ok(vec![imp.reshape(ctx, present, shape, ctx.out(0))?])
}

/// Checks the shapes against the axis (any but 0, default -2) and splits them around it.
fn layout(imp: &Importer, ctx: &NodeCtx, shape: &[usize], update: ValueId) -> Result<Layout> {
    let ushape = imp.shape(update);
    if shape.len() < 2 || ushape.len() != shape.len() {
        return Err(ctx.input_err(1, format!("update {ushape:?} and cache {shape:?} need one rank >= 2")));
    }
    let axis = ctx.axis("axis", ctx.int_or("axis", -2)?, shape.len())?;
    if axis == 0 {
        return Err(ctx.attr_err("axis", "must not be the batch axis 0"));
    }
    let off_axis_differs = (0..shape.len()).any(|i| i != axis && shape[i] != ushape[i]);
    if off_axis_differs || ushape[axis] > shape[axis] {
        return Err(ctx.input_err(1, format!("update {ushape:?} does not fit cache {shape:?} on axis {axis}")));
    }
    Ok(Layout {
        batch: shape[0],
        before: shape[1..axis].iter().product(),
        max_len: shape[axis],
        len: ushape[axis],
        after: shape[axis + 1..].iter().product(),
    })
}

/// `r[b, p] = p - write_indices[b]` as i64 `[B, M]`, reduced into `0..M` when circular.
fn relative_rows(imp: &mut Importer, ctx: &NodeCtx, l: &Layout, circular: bool) -> Result<ValueId> {
    let p = iota_along(imp, ctx, DType::I64, l.max_len, 1, 2)?;
    let Some(w) = imp.opt_input(ctx, WRITE_INDICES)? else { return Ok(p) };
    let ty = imp.ty(w);
    if !ty.dtype.is_int() || ty.shape != [l.batch] {
        return Err(ctx.input_err(WRITE_INDICES, format!("is {ty}, expected int64 [{}]", l.batch)));
    }
    let w = super::build::cast(imp, ctx, w, DType::I64, ctx.tmp("write_i64"))?;
    let w = imp.reshape(ctx, w, vec![l.batch, 1], ctx.tmp("write_col"))?;
    let r = bin(imp, ctx, BinaryOp::Sub, p, w, ctx.tmp("rows"))?;
    if !circular {
        return Ok(r);
    }
    // r mod M with C division (truncating), then the negative remainders lifted by M.
    let m = scalar(imp, ctx, "max_len", DType::I64, l.max_len as f64);
    let q = bin(imp, ctx, BinaryOp::Div, r, m, ctx.tmp("rows_div"))?;
    let qm = bin(imp, ctx, BinaryOp::Mul, q, m, ctx.tmp("rows_floor"))?;
    let rem = bin(imp, ctx, BinaryOp::Sub, r, qm, ctx.tmp("rows_rem"))?;
    let zero = scalar(imp, ctx, "zero_i64", DType::I64, 0.0);
    let negative = bin(imp, ctx, BinaryOp::Less, rem, zero, ctx.tmp("rows_neg"))?;
    let lifted = bin(imp, ctx, BinaryOp::Add, rem, m, ctx.tmp("rows_lifted"))?;
    select(imp, ctx, negative, lifted, rem, ctx.tmp("rows_mod"))
}

/// `0 <= r < L` as bool `[B or 1, 1, M, 1]`: the cache rows the update overwrites.
fn written_rows(imp: &mut Importer, ctx: &NodeCtx, l: &Layout, r: ValueId) -> Result<ValueId> {
    let zero = scalar(imp, ctx, "zero_row", DType::I64, 0.0);
    let len = scalar(imp, ctx, "update_len", DType::I64, l.len as f64);
    let from = bin(imp, ctx, BinaryOp::GreaterOrEqual, r, zero, ctx.tmp("from_start"))?;
    let before_end = bin(imp, ctx, BinaryOp::Less, r, len, ctx.tmp("before_end"))?;
    let written = bin(imp, ctx, BinaryOp::And, from, before_end, ctx.tmp("written"))?;
    let rows = imp.shape(written)[1];
    let batch = imp.shape(written)[0];
    imp.reshape(ctx, written, vec![batch, 1, rows, 1], ctx.tmp("written4"))
}
