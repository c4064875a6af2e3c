//! Reductions: every Reduce* op (axes an attribute before opset 13 for ReduceSum and before 18
//! for the others, an input after, with `noop_with_empty_axes`), and ArgMax/ArgMin.
//!
//! ReduceMax/ReduceMin on bool (opset 20) are "any"/"all": the bools are reduced as u8 0/1 and
//! cast back, so an empty set gives u8's identities 0 (false) and 255 (true), as ONNX specifies.

use super::ctx::NodeCtx;
use super::shape::{axes_param, normalise_axes};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, UnaryOp, ValueId};

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
    let keepdims = ctx.bool_or("keepdims", true)?;
    if kind == ReduceKind::LogSumExp && imp.ty(x).dtype == DType::F64 && !axes.is_empty() {
        return Ok(vec![log_sum_exp(imp, ctx, x, axes, keepdims)?]);
    }
    let op = Op::Reduce { kind, axes, keepdims };
    if imp.ty(x).dtype == DType::Bool && matches!(kind, ReduceKind::Max | ReduceKind::Min) {
        let bytes = imp.emit1(ctx, Op::Cast { to: DType::U8 }, vec![x], ctx.tmp("u8"))?;
        let r = imp.emit1(ctx, op, vec![bytes], ctx.tmp("reduced_u8"))?;
        return Ok(vec![imp.emit1(ctx, Op::Cast { to: DType::Bool }, vec![r], ctx.out(0))?]);
    }
    Ok(vec![imp.emit1(ctx, op, vec![x], ctx.out(0))?])
}

/// `log(sum(exp(x - m))) + m` with `m` the maximum over `axes`: ReduceLogSumExp from the
/// reductions and functions the backend has for f64 (its fused log-sum-exp kernel is f32-only),
/// shifted by the maximum so large inputs do not overflow.
fn log_sum_exp(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, axes: Vec<usize>, keepdims: bool) -> Result<ValueId> {
    let reduce = |kind, keepdims| Op::Reduce { kind, axes: axes.clone(), keepdims };
    let m = imp.emit1(ctx, reduce(ReduceKind::Max, true), vec![x], ctx.tmp("max"))?;
    let shifted = imp.emit1(ctx, Op::Binary(BinaryOp::Sub), vec![x, m], ctx.tmp("shifted"))?;
    let e = imp.emit1(ctx, Op::Unary(UnaryOp::Exp), vec![shifted], ctx.tmp("exp"))?;
    let sum = imp.emit1(ctx, reduce(ReduceKind::Sum, true), vec![e], ctx.tmp("sum"))?;
    let log = imp.emit1(ctx, Op::Unary(UnaryOp::Log), vec![sum], ctx.tmp("log"))?;
    let name = if keepdims { ctx.out(0) } else { ctx.tmp("kept") };
    let lse = imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![log, m], name)?;
    if keepdims {
        return Ok(lse);
    }
    let shape: Vec<usize> =
        imp.shape(x).iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
    imp.emit1(ctx, Op::Reshape { shape }, vec![lse], ctx.out(0))
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
