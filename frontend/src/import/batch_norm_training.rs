//! `BatchNormalization` with `training_mode=1` (opset 14+), as the ONNX reference computes it
//! (`onnx/reference/ops/op_batch_normalization.py`), from existing IR ops:
//!
//! - the batch statistics over every axis but the channel (axis 1): `current_mean = mean(x)` and
//!   the population variance `current_var = mean((x - current_mean)^2)`, both `[C]`;
//! - `Y` = the inference `BatchNorm` op fed those statistics instead of the running ones, so the
//!   normalisation kernel is the one inference already uses;
//! - `running_mean = input_mean * momentum + current_mean * (1 - momentum)`, and `running_var`
//!   likewise from `input_var` and `current_var`.
//!
//! The variance is the two-pass form (centre, then square) rather than `E[x^2] - E[x]^2`, which
//! cancels catastrophically when the mean is large against the spread.

use super::build::{bin, scalar};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, ReduceKind, ValueId};

/// `[Y, running_mean, running_var]` of a training-mode node.
pub fn batch_norm_training(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let ins = (0..5).map(|i| imp.input(ctx, i)).collect::<Result<Vec<_>>>()?;
    let (x, mean, var) = (ins[0], ins[3], ins[4]);
    let rank = imp.shape(x).len();
    if rank < 2 {
        return Err(ctx.input_err(0, format!("needs rank >= 2 (N, C, ...), has shape {:?}", imp.shape(x))));
    }
    let momentum = f64::from(ctx.float_or("momentum", 0.9)?);
    let axes: Vec<usize> = std::iter::once(0).chain(2..rank).collect();
    let (current_mean, current_var) = batch_statistics(imp, ctx, x, &axes)?;
    let op = Op::BatchNorm { epsilon: ctx.float_or("epsilon", 1e-5)?.into() };
    let y = imp.emit1(ctx, op, vec![x, ins[1], ins[2], current_mean, current_var], ctx.out(0))?;
    let running_mean = blend(imp, ctx, mean, current_mean, momentum, 1)?;
    let running_var = blend(imp, ctx, var, current_var, momentum, 2)?;
    Ok(vec![y, running_mean, running_var])
}

/// The per-channel mean and population variance of `x` over `axes`, both `[C]`.
fn batch_statistics(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, axes: &[usize]) -> Result<(ValueId, ValueId)> {
    let channels = imp.shape(x)[1];
    let mean_op = |keepdims| Op::Reduce { kind: ReduceKind::Mean, axes: axes.to_vec(), keepdims };
    let kept = imp.emit1(ctx, mean_op(true), vec![x], ctx.tmp("batch_mean_kept"))?;
    let mean = imp.reshape(ctx, kept, vec![channels], ctx.tmp("batch_mean"))?;
    let centred = bin(imp, ctx, BinaryOp::Sub, x, kept, ctx.tmp("centred"))?;
    let squared = bin(imp, ctx, BinaryOp::Mul, centred, centred, ctx.tmp("centred_squared"))?;
    let var = imp.emit1(ctx, mean_op(false), vec![squared], ctx.tmp("batch_var"))?;
    Ok((mean, var))
}

/// `running * momentum + current * (1 - momentum)`, named as output `out`.
fn blend(
    imp: &mut Importer,
    ctx: &NodeCtx,
    running: ValueId,
    current: ValueId,
    momentum: f64,
    out: usize,
) -> Result<ValueId> {
    let dtype = imp.ty(running).dtype;
    let keep = scalar(imp, ctx, &format!("momentum_{out}"), dtype, momentum);
    let take = scalar(imp, ctx, &format!("one_minus_momentum_{out}"), dtype, 1.0 - momentum);
    let kept = bin(imp, ctx, BinaryOp::Mul, running, keep, ctx.tmp(&format!("kept_{out}")))?;
    let taken = bin(imp, ctx, BinaryOp::Mul, current, take, ctx.tmp(&format!("taken_{out}")))?;
    bin(imp, ctx, BinaryOp::Add, kept, taken, ctx.out(out))
}

#[cfg(test)]
#[path = "batch_norm_training_tests.rs"]
mod tests;
