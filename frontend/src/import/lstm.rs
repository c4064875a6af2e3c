//! LSTM (opset 7+, layout from 14), gates i, o, f, c in that order, unrolled over time by
//! `super::recurrent_run`:
//! `i = f(Xi + H Ri^T + bi + Pi * C)`, `f = f(Xf + H Rf^T + bf + Pf * C)` (or `1 - i` with
//! `input_forget`), `c = g(Xc + H Rc^T + bc)`, `C = f * C + i * c`,
//! `o = f(Xo + H Ro^T + bo + Po * C)` (the new C), `H = o * h(C)`; `f` Sigmoid, `g` and `h`
//! Tanh by default; peepholes `P` ([D, 3H], order i, o, f) optional; `initial_c` like
//! `initial_h`. Outputs Y, Y_h, Y_c. Checked against `onnx/reference/ops/op_lstm.py`.

use super::build::{bin, scalar};
use super::ctx::NodeCtx;
use super::recurrent_common::{apply, check_shape, swap01, Recurrent};
use super::recurrent_run::{cols, initial_row, run, Cell};
use super::subgraph::take;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, ValueId};

pub fn lstm(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let rec = Recurrent::read(imp, ctx, 4, &["Sigmoid", "Tanh", "Tanh"])?;
    let dm = rec.dims;
    let mut initial_c = imp.opt_input(ctx, 6)?;
    if rec.batch_major {
        initial_c = initial_c.map(|v| swap01(imp, ctx, v, "initial_c_time_major")).transpose()?;
    }
    check_shape(imp, ctx, 6, initial_c, &[dm.d, dm.b, dm.h])?;
    let peepholes = imp.opt_input(ctx, 7)?;
    check_shape(imp, ctx, 7, peepholes, &[dm.d, 3 * dm.h])?;
    let input_forget = ctx.bool_or("input_forget", false)?;
    run(imp, ctx, &rec, &LstmCell { initial_c, peepholes, input_forget })
}

struct LstmCell {
    initial_c: Option<ValueId>,
    peepholes: Option<ValueId>,
    input_forget: bool,
}

impl Cell for LstmCell {
    fn gates(&self) -> usize {
        4
    }
    /// `[R^T]`, then `[Pi, Po, Pf]` when there are peepholes.
    fn weights(
        &self,
        imp: &mut Importer,
        ctx: &NodeCtx,
        rec: &Recurrent,
        d: usize,
        r_t: ValueId,
        _: Option<ValueId>,
    ) -> Result<Vec<ValueId>> {
        let mut w = vec![r_t];
        if let Some(p) = self.peepholes {
            let row = take(imp, ctx, p, 0, d, ctx.tmp(&format!("dir{d}_p")))?;
            for (k, gate) in ["i", "o", "f"].iter().enumerate() {
                w.push(cols(imp, ctx, row, k * rec.dims.h, rec.dims.h, &format!("dir{d}_p_{gate}"))?);
            }
        }
        Ok(w)
    }
    fn initial(&self, imp: &mut Importer, ctx: &NodeCtx, rec: &Recurrent, d: usize) -> Result<Vec<ValueId>> {
        let h = initial_row(imp, ctx, rec, rec.initial_h, d, "h")?;
        Ok(vec![h, initial_row(imp, ctx, rec, self.initial_c, d, "c")?])
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
        let (h, state_h, state_c) = (rec.dims.h, states[0], states[1]);
        let acts = &rec.acts[d];
        let name = |s: &str| ctx.tmp(&format!("dir{d}_{s}"));
        let hr = imp.emit1(ctx, Op::MatMul, vec![state_h, w[0]], name("h_r"))?;
        let pre = bin(imp, ctx, BinaryOp::Add, xw, hr, name("gates_pre"))?;
        let gate_pre =
            |imp: &mut Importer, k: usize, g: &str| cols(imp, ctx, pre, k * h, h, &format!("dir{d}_{g}_pre"));
        let (i_pre, o_pre, f_pre, c_pre) =
            (gate_pre(imp, 0, "i")?, gate_pre(imp, 1, "o")?, gate_pre(imp, 2, "f")?, gate_pre(imp, 3, "c")?);
        let i_pre = self.peep(imp, ctx, w.get(1), i_pre, state_c, name("i_peep"))?;
        let i = rec.gate(imp, ctx, acts[0], i_pre, name("i"))?;
        let f = if self.input_forget {
            let one = scalar(imp, ctx, "one", rec.dtype, 1.0);
            bin(imp, ctx, BinaryOp::Sub, one, i, name("f"))?
        } else {
            let f_pre = self.peep(imp, ctx, w.get(3), f_pre, state_c, name("f_peep"))?;
            rec.gate(imp, ctx, acts[0], f_pre, name("f"))?
        };
        let c = rec.gate(imp, ctx, acts[1], c_pre, name("c"))?;
        let forget = bin(imp, ctx, BinaryOp::Mul, f, state_c, name("forget"))?;
        let input = bin(imp, ctx, BinaryOp::Mul, i, c, name("input"))?;
        let cell = bin(imp, ctx, BinaryOp::Add, forget, input, name("cell"))?;
        let o_pre = self.peep(imp, ctx, w.get(2), o_pre, cell, name("o_peep"))?;
        let o = rec.gate(imp, ctx, acts[0], o_pre, name("o"))?;
        let out = apply(imp, ctx, acts[2], cell, rec.dtype, name("cell_act"))?;
        Ok(vec![bin(imp, ctx, BinaryOp::Mul, o, out, name("h"))?, cell])
    }
}

impl LstmCell {
    /// `pre + p * c` when the peephole `p` exists.
    fn peep(
        &self,
        imp: &mut Importer,
        ctx: &NodeCtx,
        p: Option<&ValueId>,
        pre: ValueId,
        c: ValueId,
        name: String,
    ) -> Result<ValueId> {
        let Some(&p) = p else { return Ok(pre) };
        let pc = bin(imp, ctx, BinaryOp::Mul, p, c, format!("{name}_term"))?;
        bin(imp, ctx, BinaryOp::Add, pre, pc, name)
    }
}
