//! The time loop shared by RNN, GRU and LSTM, unrolled at import (sequence lengths are static).
//!
//! Why it is fast: the input projection `X * W^T` does not depend on the state, so it is
//! hoisted out of the loop as ONE MatMul over all time steps, batch rows and directions
//! (`[T*B, I] x [I, D*G*H]`), with the input bias and every recurrent bias that can be (all but
//! GRU's `linear_before_reset` candidate bias) added once. Each unrolled step is then a slice of
//! that product, one `[B, H] x [H, G*H]` MatMul for the state and the cell's elementwise gates.
//! Constant weights fold (transposes, slices, bias sums) at import.
//!
//! Direction: a reverse direction runs time `T-1` down to 0 and writes Y at the time it read.
//! `sequence_lens` (compile-time constant) gives each batch row its own length `L`: at steps
//! `s >= L` a row's states keep their value (a `Where` on a constant mask, which folds away
//! where it is all true) and its Y is zero; a reverse direction reads row `b` at time `L-1-s`,
//! done with one `Gather` of the projection and one of the stacked outputs through the same
//! (self-inverse) index table. Y is `[T, D, B, H]` (`[B, T, D, H]` batch-major), Y_h and Y_c
//! `[D, B, H]` (`[B, D, H]`).

use super::build::{bin, select};
use super::ctx::NodeCtx;
use super::recurrent_common::{swap01, Recurrent};
use super::subgraph::{stack, take};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, PadMode, Tensor, TensorType, ValueId};

/// A recurrent cell: the per-op part of RNN, GRU and LSTM.
pub trait Cell {
    /// Gates per step: 1, 3 or 4.
    fn gates(&self) -> usize;
    /// How many leading gates may have their recurrent bias added to the input projection.
    fn folded_gates(&self) -> usize {
        self.gates()
    }
    /// Per-direction weights the step reads, from `R_d^T` ([H, G*H]) and the unfolded
    /// recurrent bias `rec_bias` ([(G - folded) * H]) when there is one.
    fn weights(
        &self,
        imp: &mut Importer,
        ctx: &NodeCtx,
        rec: &Recurrent,
        d: usize,
        r_t: ValueId,
        rec_bias: Option<ValueId>,
    ) -> Result<Vec<ValueId>>;
    /// The states at time 0 of direction `d`, each [B, H]; the first is H.
    fn initial(&self, imp: &mut Importer, ctx: &NodeCtx, rec: &Recurrent, d: usize) -> Result<Vec<ValueId>>;
    /// One step: the new states from the projected input `xw` ([B, G*H]) and the old states.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        imp: &mut Importer,
        ctx: &NodeCtx,
        rec: &Recurrent,
        d: usize,
        weights: &[ValueId],
        xw: ValueId,
        states: &[ValueId],
    ) -> Result<Vec<ValueId>>;
}

/// Runs every direction; returns Y and the final states (Y_h, then Y_c for LSTM), in the
/// node's layout.
pub fn run(imp: &mut Importer, ctx: &NodeCtx, rec: &Recurrent, cell: &dyn Cell) -> Result<Vec<ValueId>> {
    let xw = projection(imp, ctx, rec, cell)?;
    let mut ys = Vec::new();
    let mut finals: Vec<Vec<ValueId>> = Vec::new();
    for d in 0..rec.dims.d {
        let (y, states) = direction(imp, ctx, rec, cell, xw, d)?;
        ys.push(y);
        finals.resize(states.len(), Vec::new());
        for (k, s) in states.into_iter().enumerate() {
            finals[k].push(s);
        }
    }
    let mut y = stack(imp, ctx, &ys, 1, if rec.batch_major { ctx.tmp("y_time_major") } else { ctx.out(0) })?;
    if rec.batch_major {
        y = imp.emit1(ctx, Op::Transpose { perm: vec![2, 0, 1, 3] }, vec![y], ctx.out(0))?;
    }
    let mut outs = vec![y];
    for (k, f) in finals.iter().enumerate() {
        let name = if rec.batch_major { ctx.tmp(&format!("state{k}_time_major")) } else { ctx.out(k + 1) };
        let s = stack(imp, ctx, f, 0, name)?;
        outs.push(if rec.batch_major { swap01(imp, ctx, s, &format!("state{k}"))? } else { s });
    }
    Ok(outs)
}

/// `X W^T + bias` for all steps and directions: [T, B, D*G*H].
fn projection(imp: &mut Importer, ctx: &NodeCtx, rec: &Recurrent, cell: &dyn Cell) -> Result<ValueId> {
    let dm = rec.dims;
    let gh = cell.gates() * dm.h;
    let x2 = imp.reshape(ctx, rec.x, vec![dm.t * dm.b, dm.i], ctx.tmp("x_rows"))?;
    let w2 = imp.reshape(ctx, rec.w, vec![dm.d * gh, dm.i], ctx.tmp("w_rows"))?;
    let wt = imp.emit1(ctx, Op::Transpose { perm: vec![1, 0] }, vec![w2], ctx.tmp("w_t"))?;
    let mut xw = imp.emit1(ctx, Op::MatMul, vec![x2, wt], ctx.tmp("x_w"))?;
    if let Some(b) = rec.bias {
        let wb = cols(imp, ctx, b, 0, gh, "w_bias")?;
        let folded = cell.folded_gates() * dm.h;
        let mut rb = cols(imp, ctx, b, gh, folded, "r_bias_folded")?;
        if folded < gh {
            let pads = vec![0, 0, 0, (gh - folded) as i64];
            rb = imp.emit1(
                ctx,
                Op::Pad { mode: PadMode::Constant, pads, value: 0.0.into() },
                vec![rb],
                ctx.tmp("r_bias_padded"),
            )?;
        }
        let both = bin(imp, ctx, BinaryOp::Add, wb, rb, ctx.tmp("bias"))?;
        let flat = imp.reshape(ctx, both, vec![dm.d * gh], ctx.tmp("bias_flat"))?;
        xw = bin(imp, ctx, BinaryOp::Add, xw, flat, ctx.tmp("x_w_bias"))?;
    }
    imp.reshape(ctx, xw, vec![dm.t, dm.b, dm.d * gh], ctx.tmp("x_w_steps"))
}

/// `len` elements of the last axis of `v` from `start`.
pub fn cols(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, start: usize, len: usize, suffix: &str) -> Result<ValueId> {
    let shape = imp.shape(v);
    let last = shape.len() - 1;
    let mut starts = vec![0; shape.len()];
    starts[last] = start;
    let mut lens = shape.clone();
    lens[last] = len;
    imp.emit1(ctx, Op::Slice { starts, steps: vec![1; shape.len()], lens }, vec![v], ctx.tmp(suffix))
}

/// One direction: its Y ([T, B, H]) and final states.
fn direction(
    imp: &mut Importer,
    ctx: &NodeCtx,
    rec: &Recurrent,
    cell: &dyn Cell,
    xw: ValueId,
    d: usize,
) -> Result<(ValueId, Vec<ValueId>)> {
    let dm = rec.dims;
    let gh = cell.gates() * dm.h;
    let mut xw_d = cols(imp, ctx, xw, d * gh, gh, &format!("dir{d}_x_w"))?;
    let per_row = rec.reverse[d] && rec.lens.is_some();
    if per_row {
        xw_d = gather_rows(imp, ctx, rec, xw_d, gh, &format!("dir{d}_x_w_reversed"))?;
    }
    let r_d = take(imp, ctx, rec.r, 0, d, ctx.tmp(&format!("dir{d}_r")))?;
    let r_t = imp.emit1(ctx, Op::Transpose { perm: vec![1, 0] }, vec![r_d], ctx.tmp(&format!("dir{d}_r_t")))?;
    let rec_bias = unfolded_bias(imp, ctx, rec, cell, d)?;
    let weights = cell.weights(imp, ctx, rec, d, r_t, rec_bias)?;
    let mut states = cell.initial(imp, ctx, rec, d)?;
    let mut ys = vec![None; dm.t];
    for s in 0..dm.t {
        let t = if rec.reverse[d] && !per_row { dm.t - 1 - s } else { s };
        let xw_t = take(imp, ctx, xw_d, 0, t, ctx.tmp(&format!("dir{d}_step{s}_x_w")))?;
        let next = cell.step(imp, ctx, rec, d, &weights, xw_t, &states)?;
        let (kept, y) = keep_finished_rows(imp, ctx, rec, s, &states, next)?;
        states = kept;
        ys[t] = Some(y);
    }
    let ys: Vec<ValueId> = ys.into_iter().flatten().collect();
    let mut y = stack(imp, ctx, &ys, 0, ctx.tmp(&format!("dir{d}_y")))?;
    if per_row {
        y = gather_rows(imp, ctx, rec, y, dm.h, &format!("dir{d}_y_reordered"))?;
    }
    Ok((y, states))
}

/// The recurrent bias of direction `d` that is not folded into the projection.
fn unfolded_bias(
    imp: &mut Importer,
    ctx: &NodeCtx,
    rec: &Recurrent,
    cell: &dyn Cell,
    d: usize,
) -> Result<Option<ValueId>> {
    let (g, f, h) = (cell.gates(), cell.folded_gates(), rec.dims.h);
    let Some(b) = rec.bias.filter(|_| f < g) else { return Ok(None) };
    let row = take(imp, ctx, b, 0, d, ctx.tmp(&format!("dir{d}_bias")))?;
    cols(imp, ctx, row, (g + f) * h, (g - f) * h, &format!("dir{d}_r_bias")).map(Some)
}

/// With `sequence_lens`: rows whose sequence ended before step `s` keep their states and give
/// a zero Y. Returns the states after the step and the step's Y.
fn keep_finished_rows(
    imp: &mut Importer,
    ctx: &NodeCtx,
    rec: &Recurrent,
    s: usize,
    old: &[ValueId],
    new: Vec<ValueId>,
) -> Result<(Vec<ValueId>, ValueId)> {
    let Some(lens) = &rec.lens else {
        let y = new[0];
        return Ok((new, y));
    };
    let live: Vec<bool> = lens.iter().map(|&l| s < l).collect();
    let mask = imp.constant(ctx.tmp(&format!("step{s}_live")), Tensor::from_vec(vec![rec.dims.b, 1], live));
    let zero = imp.constant(ctx.tmp("zero"), Tensor::zeros(&TensorType::new(rec.dtype, vec![])));
    let y = select(imp, ctx, mask, new[0], zero, ctx.tmp(&format!("step{s}_y")))?;
    let kept = (0..old.len())
        .map(|k| select(imp, ctx, mask, new[k], old[k], ctx.tmp(&format!("step{s}_state{k}"))))
        .collect::<Result<_>>()?;
    Ok((kept, y))
}

/// `v` ([T, B, n]) with row `b` of time `t < L_b` read from time `L_b-1-t` (other rows
/// unchanged): the per-row time reversal of a reverse direction with `sequence_lens`.
fn gather_rows(
    imp: &mut Importer,
    ctx: &NodeCtx,
    rec: &Recurrent,
    v: ValueId,
    n: usize,
    suffix: &str,
) -> Result<ValueId> {
    let (t, b) = (rec.dims.t, rec.dims.b);
    let lens = rec.lens.as_deref().unwrap_or_default();
    let index = |s: usize, row: usize| {
        let l = lens[row];
        let time = if s < l { l - 1 - s } else { s };
        (time * b + row) as i64
    };
    let idx: Vec<i64> = (0..t).flat_map(|s| (0..b).map(move |row| (s, row))).map(|(s, row)| index(s, row)).collect();
    let idx = imp.constant(ctx.tmp(&format!("{suffix}_index")), Tensor::from_vec(vec![t, b], idx));
    let flat = imp.reshape(ctx, v, vec![t * b, n], ctx.tmp(&format!("{suffix}_flat")))?;
    imp.emit1(ctx, Op::Gather { axis: 0 }, vec![flat, idx], ctx.tmp(suffix))
}

/// Row `d` of an optional [D, B, H] initial state, or zeros.
pub fn initial_row(
    imp: &mut Importer,
    ctx: &NodeCtx,
    rec: &Recurrent,
    v: Option<ValueId>,
    d: usize,
    what: &str,
) -> Result<ValueId> {
    let name = ctx.tmp(&format!("dir{d}_{what}0"));
    match v {
        Some(v) => take(imp, ctx, v, 0, d, name),
        None => Ok(imp.constant(name, Tensor::zeros(&TensorType::new(rec.dtype, vec![rec.dims.b, rec.dims.h])))),
    }
}
