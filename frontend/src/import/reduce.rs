//! Reductions: every Reduce* op (axes an attribute before opset 13 for ReduceSum and before 18
//! for the others, an input after, with `noop_with_empty_axes`), and ArgMax/ArgMin.

use super::ctx::NodeCtx;
use super::shape::{axes_param, normalise_axes};
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, ReduceKind, ValueId};

pub fn reduce(imp: &mut Importer, ctx: &NodeCtx, kind: ReduceKind) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let rank = imp.shape(x).len();
    let since = if kind == ReduceKind::Sum { 13 } else { 18 };
    let axes = axes_param(imp, ctx, 1, since)?.unwrap_or_default();
    let axes = if axes.is_empty() {
        // No axes: all of them, unless noop_with_empty_axes asks for the identity (IR: empty axes).
        if ctx.bool_or("noop_with_empty_axes", false)? {
            Vec::new()
        } else {
            (0..rank).collect()
        }
    } else {
        normalise_axes(ctx, &axes, rank)?
    };
    let op = Op::Reduce { kind, axes, keepdims: ctx.bool_or("keepdims", true)? };
    Ok(vec![imp.emit1(ctx, op, vec![x], ctx.out(0))?])
}

pub fn arg(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let axis = ctx.axis("axis", ctx.int_or("axis", 0)?, imp.shape(x).len())?;
    let keepdims = ctx.bool_or("keepdims", true)?;
    let select_last_index = ctx.bool_or("select_last_index", false)?;
    let op = if ctx.op() == "ArgMax" {
        Op::ArgMax { axis, keepdims, select_last_index }
    } else {
        Op::ArgMin { axis, keepdims, select_last_index }
    };
    Ok(vec![imp.emit1(ctx, op, vec![x], ctx.out(0))?])
}
