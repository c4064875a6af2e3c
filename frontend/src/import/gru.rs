//! GRU (opset 7+, layout from 14), gates z, r, h in that order, unrolled over time by
//! `super::recurrent_run`:
//! `z = f(Xz + H Rz^T + bz)`, `r = f(Xr + H Rr^T + br)`, and the candidate
//! `h = g(Xh + (r * H) Rh^T + Wbh + Rbh)`, or with `linear_before_reset`
//! `h = g(Xh + r * (H Rh^T + Rbh) + Wbh)`; then `H = (1 - z) * h + z * H`, computed as
//! `h + z * (H - h)`. `f` is Sigmoid and `g` Tanh by default. Every bias but `Rbh` under
//! `linear_before_reset` is folded into the hoisted input projection; z and r share one
//! activation over their concatenated [B, 2H] pre-activation. Checked against
//! `onnx/reference/ops/op_gru.py`.

use super::build::bin;
use super::ctx::NodeCtx;
use super::recurrent_common::Recurrent;
use super::recurrent_run::{cols, initial_row, run, Cell};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, ValueId};

pub fn gru(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let rec = Recurrent::read(imp, ctx, 3, &["Sigmoid", "Tanh"])?;
    let linear_before_reset = ctx.bool_or("linear_before_reset", false)?;
    run(imp, ctx, &rec, &GruCell { linear_before_reset })
}

struct GruCell {
    linear_before_reset: bool,
}

impl Cell for GruCell {
    fn gates(&self) -> usize {
        3
    }
    fn folded_gates(&self) -> usize {
        if self.linear_before_reset {
            2
        } else {
            3
        }
    }
    /// `[R^T, Rbh?]` with `linear_before_reset`, else `[Rzr^T, Rh^T]`.
    fn weights(
        &self,
        imp: &mut Importer,
        ctx: &NodeCtx,
        rec: &Recurrent,
        d: usize,
        r_t: ValueId,
        rec_bias: Option<ValueId>,
    ) -> Result<Vec<ValueId>> {
        let h = rec.dims.h;
        if self.linear_before_reset {
            return Ok([vec![r_t], rec_bias.into_iter().collect()].concat());
        }
        let zr = cols(imp, ctx, r_t, 0, 2 * h, &format!("dir{d}_r_zr_t"))?;
        let hh = cols(imp, ctx, r_t, 2 * h, h, &format!("dir{d}_r_h_t"))?;
        Ok(vec![zr, hh])
    }
    fn initial(&self, imp: &mut Importer, ctx: &NodeCtx, rec: &Recurrent, d: usize) -> Result<Vec<ValueId>> {
        Ok(vec![initial_row(imp, ctx, rec, rec.initial_h, d, "h")?])
    }
    fn step(
        &self,
        imp: &mut Importer,
        ctx: &NodeCtx,
        rec: &Recurrent,
        d: usize,
        w: &[ValueId],
        xw: ValueId,
        states: &[ValueId],
    ) -> Result<Vec<ValueId>> {
        let (h, state) = (rec.dims.h, states[0]);
        let name = |s: &str| ctx.tmp(&format!("dir{d}_{s}"));
        let hr = imp.emit1(ctx, Op::MatMul, vec![state, w[0]], name("h_r"))?;
        let hr_zr =
            if self.linear_before_reset { cols(imp, ctx, hr, 0, 2 * h, &format!("dir{d}_h_r_zr"))? } else { hr };
        let x_zr = cols(imp, ctx, xw, 0, 2 * h, &format!("dir{d}_x_zr"))?;
        let zr_pre = bin(imp, ctx, BinaryOp::Add, x_zr, hr_zr, name("zr_pre"))?;
        let zr = rec.gate(imp, ctx, rec.acts[d][0], zr_pre, name("zr"))?;
        let z = cols(imp, ctx, zr, 0, h, &format!("dir{d}_z"))?;
        let r = cols(imp, ctx, zr, h, h, &format!("dir{d}_r"))?;
        let recurrent = if self.linear_before_reset {
            let mut hr_h = cols(imp, ctx, hr, 2 * h, h, &format!("dir{d}_h_r_h"))?;
            if let Some(&rbh) = w.get(1) {
                hr_h = bin(imp, ctx, BinaryOp::Add, hr_h, rbh, name("h_r_h_bias"))?;
            }
            bin(imp, ctx, BinaryOp::Mul, r, hr_h, name("reset_h_r"))?
        } else {
            let reset = bin(imp, ctx, BinaryOp::Mul, r, state, name("reset_h"))?;
            imp.emit1(ctx, Op::MatMul, vec![reset, w[1]], name("reset_h_r"))?
        };
        let x_h = cols(imp, ctx, xw, 2 * h, h, &format!("dir{d}_x_h"))?;
        let cand_pre = bin(imp, ctx, BinaryOp::Add, x_h, recurrent, name("cand_pre"))?;
        let cand = rec.gate(imp, ctx, rec.acts[d][1], cand_pre, name("cand"))?;
        let diff = bin(imp, ctx, BinaryOp::Sub, state, cand, name("h_minus_cand"))?;
        let kept = bin(imp, ctx, BinaryOp::Mul, z, diff, name("kept"))?;
        Ok(vec![bin(imp, ctx, BinaryOp::Add, cand, kept, name("h"))?])
    }
}
