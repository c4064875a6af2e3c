//! InstanceNormalization, GroupNormalization and MeanVarianceNormalization as reductions and
//! elementwise ops, in the same form as `norm.rs` gives LayerNorm (so the optimizer sees one
//! shape of normalisation whichever op a model uses):
//!
//! - `standardize(x, axes) = (x - mean) / sqrt(mean((x - mean)^2) + eps)`, means over `axes`
//!   with kept dims;
//! - Instance: axes `2..rank`, then `* scale[C] + bias[C]` (reshaped to `[C, 1, ..]`);
//! - Group: `x` viewed as `[N, G, C/G * spatial]` and standardized over the last axis; from
//!   opset 21 scale and bias are per channel and apply after reshaping back, before (opset 18)
//!   they are per group and apply in the grouped view;
//! - MVN: ONNX's function body, `(x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)` over `axes`
//!   (default `[0, 2, 3]`).

use super::build::{bin, float_input, scalar, un};
use super::ctx::NodeCtx;
use super::shape::normalise_axes;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, UnaryOp, ValueId};
use BinaryOp::{Add, Div, Mul, Sub};

pub fn instance_norm(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let shape = imp.shape(x);
    if shape.len() < 3 {
        return Err(ctx.input_err(0, format!("has rank {}; InstanceNormalization needs rank >= 3", shape.len())));
    }
    let y = standardize(imp, ctx, x, dt, &(2..shape.len()).collect::<Vec<_>>())?;
    let mut per_channel = vec![1; shape.len() - 1];
    per_channel[0] = shape[1];
    Ok(vec![affine(imp, ctx, y, per_channel, ctx.out(0))?])
}

pub fn group_norm(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let shape = imp.shape(x);
    let g = ctx.int("num_groups")?.ok_or_else(|| ctx.attr_err("num_groups", "is required"))?;
    if shape.len() < 2 || g < 1 || shape[1] % g as usize != 0 {
        return Err(ctx.attr_err("num_groups", format!("{g} does not divide the channels of shape {shape:?}")));
    }
    let g = g as usize;
    let rest = shape[1..].iter().product::<usize>() / g;
    let grouped = imp.reshape(ctx, x, vec![shape[0], g, rest], ctx.tmp("grouped"))?;
    let y = standardize(imp, ctx, grouped, dt, &[2])?;
    if ctx.opset < 21 {
        let y = affine(imp, ctx, y, vec![g, 1], ctx.tmp("grouped_affine"))?;
        return Ok(vec![imp.reshape(ctx, y, shape, ctx.out(0))?]);
    }
    let y = imp.reshape(ctx, y, shape.clone(), ctx.tmp("ungrouped"))?;
    let mut per_channel = vec![1; shape.len() - 1];
    per_channel[0] = shape[1];
    Ok(vec![affine(imp, ctx, y, per_channel, ctx.out(0))?])
}

pub fn mean_variance_norm(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let axes = ctx.ints("axes")?.unwrap_or_else(|| vec![0, 2, 3]);
    let axes = normalise_axes(ctx, &axes, imp.shape(x).len())?;
    let mean = reduce_mean(imp, ctx, x, &axes, "mean")?;
    let sq = bin(imp, ctx, Mul, x, x, ctx.tmp("square"))?;
    let mean_sq = reduce_mean(imp, ctx, sq, &axes, "mean_square")?;
    let sq_mean = bin(imp, ctx, Mul, mean, mean, ctx.tmp("square_mean"))?;
    let var = bin(imp, ctx, Sub, mean_sq, sq_mean, ctx.tmp("variance"))?;
    let std = un(imp, ctx, UnaryOp::Sqrt, var, ctx.tmp("std"))?;
    let eps = scalar(imp, ctx, "epsilon", dt, 1e-9);
    let denom = bin(imp, ctx, Add, std, eps, ctx.tmp("denominator"))?;
    let centered = bin(imp, ctx, Sub, x, mean, ctx.tmp("centered"))?;
    Ok(vec![bin(imp, ctx, Div, centered, denom, ctx.out(0))?])
}

/// `(x - mean) / sqrt(mean((x - mean)^2) + epsilon)` over `axes`, epsilon from the attribute.
fn standardize(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, dt: DType, axes: &[usize]) -> Result<ValueId> {
    let mean = reduce_mean(imp, ctx, x, axes, "mean")?;
    let d = bin(imp, ctx, Sub, x, mean, ctx.tmp("centered"))?;
    let sq = bin(imp, ctx, Mul, d, d, ctx.tmp("square"))?;
    let var = reduce_mean(imp, ctx, sq, axes, "variance")?;
    let eps = scalar(imp, ctx, "epsilon", dt, ctx.float_or("epsilon", 1e-5)? as f64);
    let shifted = bin(imp, ctx, Add, var, eps, ctx.tmp("shifted"))?;
    let root = un(imp, ctx, UnaryOp::Sqrt, shifted, ctx.tmp("root"))?;
    bin(imp, ctx, Div, d, root, ctx.tmp("standardized"))
}

/// `y * scale + bias` with inputs 1 and 2 (each `prod(shape)` elements) reshaped to `shape`.
fn affine(imp: &mut Importer, ctx: &NodeCtx, y: ValueId, shape: Vec<usize>, name: String) -> Result<ValueId> {
    let want: usize = shape.iter().product();
    let mut params = vec![];
    for (i, what) in [(1, "scale"), (2, "bias")] {
        let v = imp.input(ctx, i)?;
        let n: usize = imp.shape(v).iter().product();
        if n != want || imp.ty(v).dtype != imp.ty(y).dtype {
            return Err(
                ctx.input_err(i, format!("{what} must hold {want} elements of the input's dtype, got {}", imp.ty(v)))
            );
        }
        params.push(imp.reshape(ctx, v, shape.clone(), ctx.tmp(what))?);
    }
    let scaled = bin(imp, ctx, Mul, y, params[0], ctx.tmp("scaled"))?;
    bin(imp, ctx, Add, scaled, params[1], name)
}

fn reduce_mean(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, axes: &[usize], suffix: &str) -> Result<ValueId> {
    let op = Op::Reduce { kind: ReduceKind::Mean, axes: axes.to_vec(), keepdims: true };
    imp.emit1(ctx, op, vec![x], ctx.tmp(suffix))
}
