//! ONNX `RotaryEmbedding` (opset 23) imported as a decomposition into IR ops:
//!
//! ```text
//! cos, sin = Gather(cache, position_ids) or the caches as given     [B, S, R/2]
//! x1, x2   = halves of the first R features (or even/odd features when interleaved)
//! real     = cos * x1 - sin * x2
//! imag     = sin * x1 + cos * x2
//! y        = Concat(real, imag) (or re-interleaved), then the unrotated features
//! ```
//!
//! The rotation works in the input's own layout instead of transposing to `[B, S, H, D]` as the
//! reference does: a 4-D input `[B, H, S, D]` gets cos/sin as `[B, 1, S, R/2]`, a 3-D input
//! `[B, S, H*D]` is viewed as `[B, S, H, D]` with cos/sin as `[B, S, 1, R/2]`; broadcasting does
//! the rest, so no data moves except the halves. Even/odd features are strided Slices, and the
//! interleaved result is rebuilt by concatenating `[.., R/2, 1]` pairs on a new last axis.
//! Only f32 and f64 are computed; other types are an error naming the input.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, ValueId};

/// The rotation's geometry: the rank-4 working shape and the features rotated.
struct Geometry {
    /// `[B, H, S, D]` for a 4-D input, `[B, S, H, D]` for a 3-D one.
    work: Vec<usize>,
    /// Shape of cos/sin broadcast against `work` (`R/2` features).
    table: Vec<usize>,
    /// Sequence length.
    seq: usize,
    /// Rotated features `R` (even, at most `D`).
    rot: usize,
}

pub fn rotary_embedding(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let dtype = imp.ty(x).dtype;
    if !dtype.is_float() {
        return Err(ctx.input_err(0, format!("has type {dtype}; RotaryEmbedding is computed for f32 and f64")));
    }
    let shape = imp.shape(x);
    let g = geometry(ctx, &shape)?;
    let xw = imp.reshape(ctx, x, g.work.clone(), ctx.tmp("heads"))?;
    let cos = table(imp, ctx, 1, &g)?;
    let sin = table(imp, ctx, 2, &g)?;
    let interleaved = ctx.bool_or("interleaved", false)?;
    let (x1, x2) = halves(imp, ctx, xw, &g, interleaved)?;
    let real = combine(imp, ctx, [cos, x1, sin, x2], BinaryOp::Sub, "real")?;
    let imag = combine(imp, ctx, [sin, x1, cos, x2], BinaryOp::Add, "imag")?;
    let rotated = if interleaved { interleave(imp, ctx, real, imag, &g)? } else { concat3(imp, ctx, real, imag)? };
    let d = g.work[3];
    let y = if g.rot == d {
        rotated
    } else {
        let rest = slice_last(imp, ctx, xw, g.rot, 1, d - g.rot, "unrotated")?;
        imp.emit1(ctx, Op::Concat { axis: 3 }, vec![rotated, rest], ctx.tmp("joined"))?
    };
    Ok(vec![imp.reshape(ctx, y, shape, ctx.out(0))?])
}

fn geometry(ctx: &NodeCtx, shape: &[usize]) -> Result<Geometry> {
    let work = match shape.len() {
        4 => shape.to_vec(),
        3 => {
            let heads = ctx.int_or("num_heads", 0)?;
            let h = usize::try_from(heads).ok().filter(|&h| h > 0);
            let msg = format!("{heads} is not a positive head count (required for 3-D input)");
            let h = h.ok_or_else(|| ctx.attr_err("num_heads", msg))?;
            if !shape[2].is_multiple_of(h) {
                return Err(ctx.attr_err("num_heads", format!("{h} does not divide the hidden size {}", shape[2])));
            }
            vec![shape[0], shape[1], h, shape[2] / h]
        }
        r => return Err(ctx.input_err(0, format!("has rank {r}; expected 3 or 4"))),
    };
    let d = work[3];
    let rot = match ctx.int_or("rotary_embedding_dim", 0)? {
        0 => d,
        r => usize::try_from(r).ok().filter(|&r| r <= d).ok_or_else(|| {
            ctx.attr_err("rotary_embedding_dim", format!("{r} is not a size of at most the head size {d}"))
        })?,
    };
    if rot % 2 != 0 {
        return Err(ctx.attr_err("rotary_embedding_dim", format!("rotating {rot} features: the rotation needs pairs")));
    }
    let (seq, half) = if shape.len() == 4 { (work[2], rot / 2) } else { (work[1], rot / 2) };
    let table = if shape.len() == 4 { vec![work[0], 1, seq, half] } else { vec![work[0], seq, 1, half] };
    Ok(Geometry { work, table, seq, rot })
}

/// cos or sin (input `i`) for every (batch, position), shaped to broadcast against the work shape.
fn table(imp: &mut Importer, ctx: &NodeCtx, i: usize, g: &Geometry) -> Result<ValueId> {
    let cache = imp.input(ctx, i)?;
    if imp.ty(cache).dtype != imp.ty(imp.input(ctx, 0)?).dtype {
        return Err(ctx.input_err(i, format!("has type {}, the input has another", imp.ty(cache).dtype)));
    }
    let name = if i == 1 { "cos" } else { "sin" };
    let rows = match imp.opt_input(ctx, 3)? {
        Some(ids) => imp.emit1(ctx, Op::Gather { axis: 0 }, vec![cache, ids], ctx.tmp(&format!("{name}_rows")))?,
        None => cache,
    };
    let s = imp.shape(rows);
    let (b, seq, half) = (g.work[0], g.seq, g.rot / 2);
    if s != [b, seq, half] {
        let msg = format!("gives {name} of shape {s:?}; expected [{b}, {seq}, {half}] (batch, sequence, rotary_dim/2)");
        return Err(ctx.input_err(i, msg));
    }
    imp.reshape(ctx, rows, g.table.clone(), ctx.tmp(name))
}

/// `len` features of the last axis from `start` with `step`.
fn slice_last(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    start: usize,
    step: i64,
    len: usize,
    name: &str,
) -> Result<ValueId> {
    let mut lens = imp.shape(x);
    let mut starts = vec![0; lens.len()];
    let mut steps = vec![1; lens.len()];
    let last = lens.len() - 1;
    (starts[last], steps[last], lens[last]) = (start, step, len);
    imp.emit1(ctx, Op::Slice { starts, steps, lens }, vec![x], ctx.tmp(name))
}

/// The two rotated components: first and second half, or even and odd features.
fn halves(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    g: &Geometry,
    interleaved: bool,
) -> Result<(ValueId, ValueId)> {
    let half = g.rot / 2;
    if interleaved {
        Ok((slice_last(imp, ctx, x, 0, 2, half, "x_even")?, slice_last(imp, ctx, x, 1, 2, half, "x_odd")?))
    } else {
        Ok((slice_last(imp, ctx, x, 0, 1, half, "x_lo")?, slice_last(imp, ctx, x, half, 1, half, "x_hi")?))
    }
}

/// `a * b (op) c * d`.
fn combine(imp: &mut Importer, ctx: &NodeCtx, [a, b, c, d]: [ValueId; 4], op: BinaryOp, name: &str) -> Result<ValueId> {
    let ab = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![a, b], ctx.tmp(&format!("{name}_l")))?;
    let cd = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![c, d], ctx.tmp(&format!("{name}_r")))?;
    imp.emit1(ctx, Op::Binary(op), vec![ab, cd], ctx.tmp(name))
}

fn concat3(imp: &mut Importer, ctx: &NodeCtx, real: ValueId, imag: ValueId) -> Result<ValueId> {
    imp.emit1(ctx, Op::Concat { axis: 3 }, vec![real, imag], ctx.tmp("rotated"))
}

/// `[.., R/2]` real and imaginary parts back to `[.., R]` as r0, i0, r1, i1...
fn interleave(imp: &mut Importer, ctx: &NodeCtx, real: ValueId, imag: ValueId, g: &Geometry) -> Result<ValueId> {
    let pair = |s: Vec<usize>| [s, vec![1]].concat();
    let r = imp.reshape(ctx, real, pair(imp.shape(real)), ctx.tmp("real_pair"))?;
    let i = imp.reshape(ctx, imag, pair(imp.shape(imag)), ctx.tmp("imag_pair"))?;
    let pairs = imp.emit1(ctx, Op::Concat { axis: 4 }, vec![r, i], ctx.tmp("pairs"))?;
    let mut shape = g.work.clone();
    shape[3] = g.rot;
    imp.reshape(ctx, pairs, shape, ctx.tmp("rotated"))
}
