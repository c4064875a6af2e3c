//! `STFT` (opset 17) as one `Gather` and one `MatMul`, following `onnx/reference/ops/op_stft.py`.
//!
//! With the signal `x` `[B, T, P]` (`P` = 1 for a real signal, 2 for a complex one), frame
//! step `s` and frame length `L` (both compile-time constants, as every shape in kiln is
//! static), frame `f` is `x[:, f s .. f s + L, :]` for `f < F = 1 + (T - L) / s`. A constant
//! `[F, L]` index table gathers every frame at once (`[B, F, L, P]`); the window multiplies the
//! frames (folded into the table below when it is a constant); and the DFT of each frame is a
//! product with a constant `[L P, K 2]` matrix whose row `j P + p` and column `k 2 + q` hold the
//! contribution of part `p` of sample `j` to part `q` of bin `k`:
//!
//! `re' += re cos t + im sin t`, `im' += im cos t - re sin t`, `t = 2 pi j k / L`.
//!
//! Flattening `[L, P]` and `[K, 2]` lets one `MatMul` do the whole transform and yields the
//! output layout `[B, F, K, 2]` by a reshape alone. `onesided` (default 1) keeps the first
//! `K = L/2 + 1` bins; like the reference, it also does so for a complex signal (the ONNX spec
//! calls that case meaningless but the reference defines it). The matrix is bounded by
//! [`dft::MAX_TABLE`], the frame index table by [`check_table`].

use super::build::{cast, check_table};
use super::ctx::NodeCtx;
use super::dft::MAX_TABLE;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, Tensor, ValueId};
use std::f64::consts::PI;

/// The framing and transform sizes of one STFT node.
struct Plan {
    step: usize,
    len: usize,
    frames: usize,
    bins: usize,
    parts: usize,
}

pub fn stft(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let (xs, dtype) = (imp.shape(x), imp.ty(x).dtype);
    if xs.len() != 3 || !(xs[2] == 1 || xs[2] == 2) || !dtype.is_float() {
        return Err(ctx.input_err(0, format!("must be float [batch, signal_length, 1 | 2], not {xs:?}")));
    }
    let window = imp.opt_input(ctx, 2)?;
    let plan = plan(imp, ctx, &xs, window)?;
    let const_window = window.and_then(|w| imp.graph.const_of(w).map(|t| t.to_f64_vec()));
    let frames = frames(imp, ctx, x, &plan)?;
    let frames = match (window, &const_window) {
        (Some(w), None) => windowed(imp, ctx, frames, w, &plan, dtype)?,
        _ => frames,
    };
    let flat = imp.reshape(ctx, frames, vec![xs[0], plan.frames, plan.len * plan.parts], ctx.tmp("frames_flat"))?;
    let table = dft_table(&plan, const_window.as_deref());
    let table =
        imp.constant(ctx.tmp("dft"), Tensor::from_f64(dtype, vec![plan.len * plan.parts, plan.bins * 2], &table));
    let spectrum = imp.emit1(ctx, Op::MatMul, vec![flat, table], ctx.tmp("spectrum"))?;
    Ok(vec![imp.reshape(ctx, spectrum, vec![xs[0], plan.frames, plan.bins, 2], ctx.out(0))?])
}

/// Checks the constant inputs and the window against the signal shape `xs`.
fn plan(imp: &Importer, ctx: &NodeCtx, xs: &[usize], window: Option<ValueId>) -> Result<Plan> {
    let step = positive_scalar(imp, ctx, 1, "frame_step")?;
    let window_len = match window {
        Some(w) => {
            let (ws, wt) = (imp.shape(w), imp.ty(w).dtype);
            if ws.len() != 1 || !wt.is_float() {
                return Err(ctx.input_err(2, format!("window must be a float vector, not {} {ws:?}", wt.name())));
            }
            Some(ws[0])
        }
        None => None,
    };
    let len = match imp.opt_input(ctx, 3)? {
        Some(_) => positive_scalar(imp, ctx, 3, "frame_length")?,
        None => window_len.unwrap_or(xs[1]),
    };
    if window_len.is_some_and(|w| w != len) {
        return Err(
            ctx.input_err(2, format!("the window has {} samples, the frame length is {len}", window_len.unwrap_or(0)))
        );
    }
    if len == 0 || len > xs[1] {
        return Err(ctx.input_err(3, format!("frame length {len} must be in 1..={} (the signal length)", xs[1])));
    }
    let frames = 1 + (xs[1] - len) / step;
    let onesided = ctx.bool_or("onesided", true)?;
    let bins = if onesided { len / 2 + 1 } else { len };
    let parts = xs[2];
    let entries = (len * parts).checked_mul(bins * 2);
    if entries.is_none_or(|n| n > MAX_TABLE) {
        return Err(ctx.err(format!("a {} x {} DFT table exceeds {MAX_TABLE} entries", len * parts, bins * 2)));
    }
    check_table(ctx, "frame index table", frames.checked_mul(len))?;
    Ok(Plan { step, len, frames, bins, parts })
}

/// The constant scalar integer input `i`, which must be positive.
fn positive_scalar(imp: &Importer, ctx: &NodeCtx, i: usize, what: &str) -> Result<usize> {
    let t = imp.const_input(ctx, i)?;
    if !t.dtype().is_int() || t.numel() != 1 {
        return Err(ctx.input_err(i, format!("{what} must be one integer, not {} {:?}", t.dtype().name(), t.shape())));
    }
    let v = t.to_i64_vec()[0];
    usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| ctx.input_err(i, format!("{what} {v} must be > 0")))
}

/// Every frame of `x` `[B, T, P]`: `[B, F, L, P]`.
fn frames(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, p: &Plan) -> Result<ValueId> {
    let idx: Vec<f64> = (0..p.frames).flat_map(|f| (0..p.len).map(move |j| (f * p.step + j) as f64)).collect();
    let idx = imp.constant(ctx.tmp("frame_index"), Tensor::from_f64(DType::I64, vec![p.frames, p.len], &idx));
    imp.emit1(ctx, Op::Gather { axis: 1 }, vec![x, idx], ctx.tmp("frames"))
}

/// `frames` `[B, F, L, P]` times a run-time window `[L]` (cast to the signal's dtype).
fn windowed(imp: &mut Importer, ctx: &NodeCtx, frames: ValueId, w: ValueId, p: &Plan, dtype: DType) -> Result<ValueId> {
    let w = if imp.ty(w).dtype == dtype { w } else { cast(imp, ctx, w, dtype, ctx.tmp("window_cast"))? };
    let column = imp.reshape(ctx, w, vec![p.len, 1], ctx.tmp("window_column"))?;
    imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![frames, column], ctx.tmp("windowed_frames"))
}

/// The `[L P, K 2]` transform matrix of the module docs, rows scaled by a constant window.
fn dft_table(p: &Plan, window: Option<&[f64]>) -> Vec<f64> {
    let cols = p.bins * 2;
    let mut t = vec![0.0; p.len * p.parts * cols];
    for j in 0..p.len {
        let w = window.map_or(1.0, |w| w[j]);
        for k in 0..p.bins {
            let angle = 2.0 * PI * ((j * k) % p.len) as f64 / p.len as f64;
            let (c, s) = (angle.cos() * w, angle.sin() * w);
            let re_row = j * p.parts * cols;
            (t[re_row + 2 * k], t[re_row + 2 * k + 1]) = (c, -s);
            if p.parts == 2 {
                let im_row = re_row + cols;
                (t[im_row + 2 * k], t[im_row + 2 * k + 1]) = (s, c);
            }
        }
    }
    t
}
