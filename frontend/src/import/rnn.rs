//! RNN (opset 7+, layout from 14): `H = f(X W^T + H R^T + Wb + Rb)`, `f` Tanh by default,
//! unrolled over time by `super::recurrent_run` (attributes and inputs in
//! `super::recurrent_common`). Checked against `onnx/reference/ops/op_rnn.py`.

use super::ctx::NodeCtx;
use super::recurrent_common::Recurrent;
use super::recurrent_run::{initial_row, run, Cell};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, ValueId};

pub fn rnn(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let rec = Recurrent::read(imp, ctx, 1, &["Tanh"])?;
    run(imp, ctx, &rec, &RnnCell)
}

struct RnnCell;

impl Cell for RnnCell {
    fn gates(&self) -> usize {
        1
    }
    fn weights(
        &self,
        _: &mut Importer,
        _: &NodeCtx,
        _: &Recurrent,
        _: usize,
        r_t: ValueId,
        _: Option<ValueId>,
    ) -> Result<Vec<ValueId>> {
        Ok(vec![r_t])
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
        let hr = imp.emit1(ctx, Op::MatMul, vec![states[0], w[0]], ctx.tmp(&format!("dir{d}_h_r")))?;
        let pre = imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![xw, hr], ctx.tmp(&format!("dir{d}_pre")))?;
        Ok(vec![rec.gate(imp, ctx, rec.acts[d][0], pre, ctx.tmp(&format!("dir{d}_h")))?])
    }
}
