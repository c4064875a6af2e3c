//! LayerNormalization (opset 17) and RMSNormalization (opset 23) as decompositions into the IR's
//! reductions and elementwise ops, which is how exporters wrote them before the fused ops
//! existed (and how the `_expanded` ONNX tests spell them), so the graph optimizer's fusion rules
//! see the same shapes whichever form a model uses.
//!
//! Both normalise over the axes `axis..rank` (`axis` may be negative):
//! - LayerNorm: `mean = ReduceMean(x)`, `d = x - mean`, `inv = 1 / sqrt(ReduceMean(d * d) + eps)`,
//!   `y = d * inv * scale (+ bias)`; the optional outputs are `mean` and `inv` with the
//!   normalised axes kept as 1s.
//! - RMSNorm: `y = x / sqrt(ReduceMean(x * x) + eps) * scale`.
//!
//! `stash_type` asks for the statistics in float32; kiln computes in the input's own float type,
//! which is float32 or float64 here (other dtypes are rejected by the IR's type rules with an
//! error naming the node), so the attribute is checked but needs no cast.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, ReduceKind, Tensor, UnaryOp, ValueId};

pub fn layer_norm(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, scale, bias) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.opt_input(ctx, 2)?);
    let axes = normalized_axes(imp, ctx, x)?;
    let mean = reduce_mean(imp, ctx, x, &axes, ctx.out(1))?;
    let d = binary(imp, ctx, BinaryOp::Sub, x, mean, ctx.tmp("centered"))?;
    let d2 = binary(imp, ctx, BinaryOp::Mul, d, d, ctx.tmp("squared"))?;
    let inv = inverse_root(imp, ctx, d2, &axes, ctx.out(2))?;
    let normalized = binary(imp, ctx, BinaryOp::Mul, d, inv, ctx.tmp("normalized"))?;
    let y_name = if bias.is_some() { ctx.tmp("scaled") } else { ctx.out(0) };
    let mut y = binary(imp, ctx, BinaryOp::Mul, normalized, scale, y_name)?;
    if let Some(b) = bias {
        y = binary(imp, ctx, BinaryOp::Add, y, b, ctx.out(0))?;
    }
    Ok(vec![y, mean, inv])
}

pub fn rms_norm(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, scale) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let axes = normalized_axes(imp, ctx, x)?;
    let x2 = binary(imp, ctx, BinaryOp::Mul, x, x, ctx.tmp("squared"))?;
    let inv = inverse_root(imp, ctx, x2, &axes, ctx.tmp("inv_rms"))?;
    let normalized = binary(imp, ctx, BinaryOp::Mul, x, inv, ctx.tmp("normalized"))?;
    Ok(vec![binary(imp, ctx, BinaryOp::Mul, normalized, scale, ctx.out(0))?])
}

/// The axes `axis..rank` the op normalises over, after checking `axis` and `stash_type`.
fn normalized_axes(imp: &Importer, ctx: &NodeCtx, x: ValueId) -> Result<Vec<usize>> {
    let rank = imp.shape(x).len();
    if rank == 0 {
        return Err(ctx.input_err(0, "must have rank >= 1"));
    }
    let axis = ctx.axis("axis", ctx.int_or("axis", -1)?, rank)?;
    let stash = ctx.int_or("stash_type", 1)?;
    let own = crate::proto::dtype_from_onnx(stash as i32).is_ok_and(|d| d == imp.ty(x).dtype);
    if stash != 1 && !own {
        return Err(ctx.attr_err("stash_type", format!("{stash} is not float32 (1) or the input's own type")));
    }
    Ok((axis..rank).collect())
}

/// `1 / sqrt(ReduceMean(sq over axes) + epsilon)`, named `name`.
fn inverse_root(imp: &mut Importer, ctx: &NodeCtx, sq: ValueId, axes: &[usize], name: String) -> Result<ValueId> {
    let var = reduce_mean(imp, ctx, sq, axes, ctx.tmp("mean_square"))?;
    let eps = ctx.float_or("epsilon", 1e-5)?;
    let dtype = imp.ty(sq).dtype;
    if !dtype.is_float() {
        return Err(ctx.input_err(0, format!("dtype {} is not a float type", dtype.name())));
    }
    let eps = imp.constant(ctx.tmp("epsilon"), Tensor::from_f64(dtype, vec![], &[eps as f64]));
    let shifted = binary(imp, ctx, BinaryOp::Add, var, eps, ctx.tmp("shifted"))?;
    let root = imp.emit1(ctx, Op::Unary(UnaryOp::Sqrt), vec![shifted], ctx.tmp("root"))?;
    imp.emit1(ctx, Op::Unary(UnaryOp::Reciprocal), vec![root], name)
}

fn reduce_mean(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, axes: &[usize], name: String) -> Result<ValueId> {
    let op = Op::Reduce { kind: ReduceKind::Mean, axes: axes.to_vec(), keepdims: true };
    imp.emit1(ctx, op, vec![x], name)
}

fn binary(imp: &mut Importer, ctx: &NodeCtx, b: BinaryOp, x: ValueId, y: ValueId, name: String) -> Result<ValueId> {
    imp.emit1(ctx, Op::Binary(b), vec![x, y], name)
}
