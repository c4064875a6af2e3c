//! NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opsets 12-22) as decompositions into
//! the IR's comparison, cast, multiply and reduction ops. The IR has no gather-along-an-axis op
//! (GatherElements), so the pick `-x[n, target[n, d..], d..]` is written as a one-hot product:
//!
//! - `onehot = Cast(Equal(target reshaped to [N, 1, d..], iota [1, C, 1..]))` in x's float type;
//! - class weights `cw[C]` = the optional `weight` input, with class `ignore_index` zeroed when it
//!   lies in `[0, C)` (a constant mask), or `None` when neither applies;
//! - `picked = onehot * cw` (broadcast over [1, C, 1..]), the weight each element receives;
//! - `loss[n, d..] = -ReduceSum(x * picked, axis 1)`, then `reduction`: `none` keeps it,
//!   `sum` sums it, `mean` divides the sum by `ReduceSum(picked)` (the sum of the applied weights)
//!   when weights or `ignore_index` are in play, else takes the plain mean.
//!
//! Why a one-hot and not a Gather: targets equal to `ignore_index` may lie outside `[0, C)` (the
//! suite uses -1, -5 and 10). Against the one-hot they match no class and so get weight 0 and loss
//! 0 with no clamping, and the weights need no Gather either. Targets outside `[0, C)` that are
//! not `ignore_index` are invalid ONNX input; here they contribute 0 (the reference clamps).
//! The price is `N*C*D` multiplies instead of `N*D` loads, negligible for loss heads.
//!
//! SoftmaxCrossEntropyLoss is the NLL of `LogSoftmax(x, axis 1)`; its optional second output
//! `log_prob` is that LogSoftmax. A `-inf` log-probability of an ignored or unpicked class times
//! its zero one-hot entry gives NaN, as `0 * -inf` does; LogSoftmax of finite inputs is finite.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, UnaryOp, ValueId};

/// The `reduction` attribute.
#[derive(Clone, Copy, PartialEq)]
enum Reduction {
    None,
    Sum,
    Mean,
}

pub fn negative_log_likelihood(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    Ok(vec![nll(imp, ctx, x)?])
}

pub fn softmax_cross_entropy(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    check_scores(imp, ctx, x)?;
    let log_prob = imp.emit1(ctx, Op::LogSoftmax { axis: 1 }, vec![x], ctx.out(1))?;
    Ok(vec![nll(imp, ctx, log_prob)?, log_prob])
}

/// The loss of log-probabilities `logp` [N, C, d..] against input 1 (target) and input 2 (weight).
fn nll(imp: &mut Importer, ctx: &NodeCtx, logp: ValueId) -> Result<ValueId> {
    let reduction = reduction(ctx)?;
    let ignore_index = ctx.int("ignore_index")?;
    check_scores(imp, ctx, logp)?;
    let target = target(imp, ctx, logp)?;
    let weight = weight(imp, ctx, logp)?;
    let class_weights = class_weights(imp, ctx, logp, weight, ignore_index)?;
    let picked = picked_weights(imp, ctx, logp, target, class_weights)?;
    let weighted = binary(imp, ctx, BinaryOp::Mul, logp, picked, ctx.tmp("weighted_log_prob"))?;
    let per_element = reduce(imp, ctx, ReduceKind::Sum, weighted, vec![1], ctx.tmp("picked_log_prob"))?;
    let all: Vec<usize> = (0..imp.shape(per_element).len()).collect();
    let negated = match reduction {
        Reduction::None => per_element,
        Reduction::Sum => reduce(imp, ctx, ReduceKind::Sum, per_element, all, ctx.tmp("total"))?,
        Reduction::Mean if weight.is_none() && ignore_index.is_none() => {
            reduce(imp, ctx, ReduceKind::Mean, per_element, all, ctx.tmp("mean"))?
        }
        Reduction::Mean => weighted_mean(imp, ctx, per_element, picked)?,
    };
    imp.emit1(ctx, Op::Unary(UnaryOp::Neg), vec![negated], ctx.out(0))
}

fn reduction(ctx: &NodeCtx) -> Result<Reduction> {
    match ctx.string_or("reduction", "mean")?.as_str() {
        "none" => Ok(Reduction::None),
        "sum" => Ok(Reduction::Sum),
        "mean" => Ok(Reduction::Mean),
        other => Err(ctx.attr_err("reduction", format!("'{other}' is not 'none', 'sum' or 'mean'"))),
    }
}

/// Checks that the scores are f32/f64 of shape [N, C, d..] with C within the table limit.
fn check_scores(imp: &Importer, ctx: &NodeCtx, x: ValueId) -> Result<()> {
    let ty = imp.ty(x);
    if !ty.dtype.is_float() {
        return Err(ctx.input_err(0, format!("dtype {} is not f32 or f64", ty.dtype.name())));
    }
    if ty.shape.len() < 2 {
        return Err(ctx.input_err(0, format!("must have shape [N, C, d..], got {:?}", ty.shape)));
    }
    // The class iota and ignore mask are constants of C elements.
    super::build::check_table(ctx, "class index table", Some(ty.shape[1]))?;
    Ok(())
}

/// Input 1, an integer tensor of shape [N, d..] for scores [N, C, d..].
fn target(imp: &Importer, ctx: &NodeCtx, logp: ValueId) -> Result<ValueId> {
    let t = imp.input(ctx, 1)?;
    let (ty, x_shape) = (imp.ty(t), imp.shape(logp));
    if !ty.dtype.is_int() {
        return Err(ctx.input_err(1, format!("dtype {} is not an integer type", ty.dtype.name())));
    }
    let want: Vec<usize> = x_shape.iter().enumerate().filter(|&(i, _)| i != 1).map(|(_, &d)| d).collect();
    if ty.shape != want {
        return Err(ctx.input_err(1, format!("shape {:?} is not {want:?} for scores {x_shape:?}", ty.shape)));
    }
    Ok(t)
}

/// Optional input 2, of shape [C] and the scores' dtype.
fn weight(imp: &Importer, ctx: &NodeCtx, logp: ValueId) -> Result<Option<ValueId>> {
    let Some(w) = imp.opt_input(ctx, 2)? else { return Ok(None) };
    let (ty, x) = (imp.ty(w), imp.ty(logp));
    if ty.dtype != x.dtype || ty.shape != [x.shape[1]] {
        let want = format!("{}[{}]", x.dtype.name(), x.shape[1]);
        return Err(ctx.input_err(2, format!("is {}{:?}, expected {want}", ty.dtype.name(), ty.shape)));
    }
    Ok(Some(w))
}

/// The weight of each class [C]: `weight` with class `ignore_index` zeroed when it is a class.
fn class_weights(
    imp: &mut Importer,
    ctx: &NodeCtx,
    logp: ValueId,
    weight: Option<ValueId>,
    ignore_index: Option<i64>,
) -> Result<Option<ValueId>> {
    let ty = imp.ty(logp);
    let classes = ty.shape[1];
    let Some(ignored) = ignore_index.and_then(|i| usize::try_from(i).ok()).filter(|&i| i < classes) else {
        return Ok(weight);
    };
    let keep: Vec<f64> = (0..classes).map(|c| if c == ignored { 0.0 } else { 1.0 }).collect();
    let keep = imp.constant(ctx.tmp("kept_classes"), Tensor::from_f64(ty.dtype, vec![classes], &keep));
    match weight {
        None => Ok(Some(keep)),
        Some(w) => binary(imp, ctx, BinaryOp::Mul, w, keep, ctx.tmp("class_weight")).map(Some),
    }
}

/// The weight of each (element, class) pair, [N, C, d..]: the one-hot of the target, times the
/// class weights when there are any.
fn picked_weights(
    imp: &mut Importer,
    ctx: &NodeCtx,
    logp: ValueId,
    target: ValueId,
    class_weights: Option<ValueId>,
) -> Result<ValueId> {
    let ty = imp.ty(logp);
    let mut column = vec![1; ty.shape.len()];
    column[1] = ty.shape[1];
    let onehot = one_hot(imp, ctx, target, &ty.shape, &column, ty.dtype)?;
    let Some(cw) = class_weights else { return Ok(onehot) };
    let cw = imp.reshape(ctx, cw, column, ctx.tmp("class_weight_column"))?;
    binary(imp, ctx, BinaryOp::Mul, onehot, cw, ctx.tmp("picked_weight"))
}

/// `onehot[n, c, d..] = (target[n, d..] == c)` in `dtype`; `column` is [1, C, 1..].
fn one_hot(
    imp: &mut Importer,
    ctx: &NodeCtx,
    target: ValueId,
    x_shape: &[usize],
    column: &[usize],
    dtype: DType,
) -> Result<ValueId> {
    let mut unsqueezed = x_shape.to_vec();
    unsqueezed[1] = 1;
    let t = imp.reshape(ctx, target, unsqueezed, ctx.tmp("target_column"))?;
    let classes: Vec<f64> = (0..x_shape[1]).map(|c| c as f64).collect();
    let iota = Tensor::from_f64(imp.ty(target).dtype, column.to_vec(), &classes);
    let iota = imp.constant(ctx.tmp("classes"), iota);
    let hit = binary(imp, ctx, BinaryOp::Equal, t, iota, ctx.tmp("target_hit"))?;
    imp.emit1(ctx, Op::Cast { to: dtype }, vec![hit], ctx.tmp("one_hot"))
}

/// `ReduceSum(per_element) / ReduceSum(picked)`: the mean over the applied weights.
fn weighted_mean(imp: &mut Importer, ctx: &NodeCtx, per_element: ValueId, picked: ValueId) -> Result<ValueId> {
    let all: Vec<usize> = (0..imp.shape(per_element).len()).collect();
    let total = reduce(imp, ctx, ReduceKind::Sum, per_element, all, ctx.tmp("total"))?;
    let all: Vec<usize> = (0..imp.shape(picked).len()).collect();
    let weights = reduce(imp, ctx, ReduceKind::Sum, picked, all, ctx.tmp("total_weight"))?;
    binary(imp, ctx, BinaryOp::Div, total, weights, ctx.tmp("weighted_mean"))
}

fn reduce(
    imp: &mut Importer,
    ctx: &NodeCtx,
    kind: ReduceKind,
    x: ValueId,
    axes: Vec<usize>,
    name: String,
) -> Result<ValueId> {
    imp.emit1(ctx, Op::Reduce { kind, axes, keepdims: false }, vec![x], name)
}

fn binary(imp: &mut Importer, ctx: &NodeCtx, op: BinaryOp, x: ValueId, y: ValueId, name: String) -> Result<ValueId> {
    imp.emit1(ctx, Op::Binary(op), vec![x, y], name)
}
