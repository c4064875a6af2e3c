//! `LpNormalization` as `x / ReduceL{1,2}(x)` over one axis with `keepdims`, where a zero norm
//! gives 0 instead of NaN (as the ONNX reference does). Only `p` = 1 and 2 exist in ONNX.

use super::build::{bin, float_input, scalar, select};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, ReduceKind, ValueId};

pub fn lp_normalization(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let axis = ctx.axis("axis", ctx.int_or("axis", -1)?, imp.shape(x).len())?;
    let kind = match ctx.int_or("p", 2)? {
        1 => ReduceKind::L1,
        2 => ReduceKind::L2,
        p => return Err(ctx.attr_err("p", format!("{p} is not 1 or 2"))),
    };
    let norm = imp.emit1(ctx, Op::Reduce { kind, axes: vec![axis], keepdims: true }, vec![x], ctx.tmp("norm"))?;
    let zero = scalar(imp, ctx, "zero", dt, 0.0);
    let is_zero = bin(imp, ctx, BinaryOp::Equal, norm, zero, ctx.tmp("norm_is_zero"))?;
    let q = bin(imp, ctx, BinaryOp::Div, x, norm, ctx.tmp("quotient"))?;
    Ok(vec![select(imp, ctx, is_zero, zero, q, ctx.out(0))?])
}
