//! `FlexAttention` (domain `ai.onnx.preview`, version 1), imported as a decomposition into
//! existing IR ops with its modifier subgraphs inlined (see `super::inline_graph`):
//!
//! ```text
//! scores = (Q * sqrt(scale)) @ (K * sqrt(scale))^T        [B, Hq, L, S], in Q's type
//! scores = score_mod(Cast(scores, precision))             (body inlined on the whole tensor)
//! probs  = Softmax(scores) over S
//! probs  = prob_mod(probs)                                (body inlined)
//! Y      = Cast(probs @ Cast(V, precision), V's type)
//! ```
//!
//! Why these choices:
//! - The square root of the scale is taken in f32 and applied to both Q and K, as the reference
//!   does, so results round the same way as the expected outputs.
//! - Grouped-query attention is a batched MatMul over `[B, Hkv, group, ..]` against
//!   `[B, Hkv, 1, ..]`, whose batch broadcasting repeats each K/V head for its contiguous group
//!   of query heads without materialising the reference's `np.repeat`.
//! - The softmax precision defaults to the input's type (f16/bf16 inputs reach here widened to
//!   f32 by `super::half`, which is the reference's default for them); an explicit f32 or f64
//!   `softmax_precision` is honoured, f16/bf16 precision is refused rather than computed in f32.

use super::build::cast;
use super::ctx::NodeCtx;
use super::inline_graph::{graph_attr, inline};
use super::Importer;
use crate::error::Result;
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use kiln_ir::{BinaryOp, DType, Op, Tensor, ValueId};
use onnx_protobuf::GraphProto;

pub fn flex_attention(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (q, k, v) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.input(ctx, 2)?);
    let dtype = check_inputs(imp, ctx, [q, k, v])?;
    let precision = softmax_precision(ctx)?.unwrap_or(dtype);
    let scores = scaled_scores(imp, ctx, q, k)?;
    let mut scores = to(imp, ctx, scores, precision, "scores_cast")?;
    if let Some(body) = graph_attr(ctx, "score_mod")? {
        scores = modifier(imp, ctx, "score_mod", body, scores, precision)?;
    }
    let axis = imp.shape(scores).len() - 1;
    let mut probs = imp.emit1(ctx, Op::Softmax { axis }, vec![scores], ctx.tmp("probs"))?;
    if let Some(body) = graph_attr(ctx, "prob_mod")? {
        probs = modifier(imp, ctx, "prob_mod", body, probs, precision)?;
    }
    let v = to(imp, ctx, v, precision, "v_cast")?;
    let y = grouped_matmul(imp, ctx, probs, v, ctx.tmp("context"))?;
    Ok(vec![to(imp, ctx, y, dtype, "y_cast")?])
}

/// The modifier body `attr` inlined on `x`, whose shape it must keep, cast to `precision`.
fn modifier(
    imp: &mut Importer,
    ctx: &NodeCtx,
    attr: &str,
    body: &GraphProto,
    x: ValueId,
    precision: DType,
) -> Result<ValueId> {
    let y = inline(imp, ctx, attr, body, x)?;
    let (sx, sy) = (imp.shape(x), imp.shape(y));
    if sx != sy {
        return Err(ctx.attr_err(attr, format!("turns shape {sx:?} into {sy:?}; it must keep the shape")));
    }
    to(imp, ctx, y, precision, &format!("{attr}_cast"))
}

/// Q, K, V rank 4 of one float type, with matching batch, head and size dims; returns the type.
fn check_inputs(imp: &Importer, ctx: &NodeCtx, [q, k, v]: [ValueId; 3]) -> Result<DType> {
    let (tq, tk, tv) = (imp.ty(q), imp.ty(k), imp.ty(v));
    if !tq.dtype.is_float() {
        return Err(ctx.input_err(0, format!("has type {}; FlexAttention is computed for floats", tq.dtype)));
    }
    for (i, t) in [(1, &tk), (2, &tv)] {
        if t.dtype != tq.dtype {
            return Err(ctx.input_err(i, format!("has type {}, Q has {}", t.dtype, tq.dtype)));
        }
    }
    let ([bq, hq, _, e], [bk, hk, s, ek], [bv, hv, sv, _]) =
        (dims4(ctx, 0, &tq.shape)?, dims4(ctx, 1, &tk.shape)?, dims4(ctx, 2, &tv.shape)?);
    if bk != bq || bv != bq || ek != e {
        return Err(ctx.input_err(1, format!("K {:?} does not match Q {:?} in batch or head size", tk.shape, tq.shape)));
    }
    if hv != hk || sv != s {
        return Err(ctx.input_err(2, format!("V {:?} does not match K {:?} in heads or length", tv.shape, tk.shape)));
    }
    if hk == 0 || !hq.is_multiple_of(hk) {
        return Err(ctx.input_err(1, format!("{hk} key/value heads do not divide {hq} query heads")));
    }
    Ok(tq.dtype)
}

fn dims4(ctx: &NodeCtx, i: usize, s: &[usize]) -> Result<[usize; 4]> {
    s.try_into().map_err(|_| ctx.input_err(i, format!("must be rank 4, has shape {s:?}")))
}

fn softmax_precision(ctx: &NodeCtx) -> Result<Option<DType>> {
    let Some(code) = ctx.int("softmax_precision")? else { return Ok(None) };
    let bad = || ctx.attr_err("softmax_precision", format!("type {} is not supported (f32 or f64)", code));
    let code = i32::try_from(code).map_err(|_| bad())?;
    match dtype_from_onnx(code) {
        Ok(d @ (DType::F32 | DType::F64)) => Ok(Some(d)),
        _ => {
            Err(ctx
                .attr_err("softmax_precision", format!("type {} is not supported (f32 or f64)", onnx_dtype_name(code))))
        }
    }
}

/// `(Q * r) @ (K * r)^T` with `r = sqrt(scale)` taken in f32 (default scale `1/sqrt(head_size)`).
fn scaled_scores(imp: &mut Importer, ctx: &NodeCtx, q: ValueId, k: ValueId) -> Result<ValueId> {
    let ty = imp.ty(q);
    let head_size = ty.shape[3];
    let scale = match ctx.float("scale")? {
        Some(s) if s.is_finite() && s >= 0.0 => s,
        Some(s) => return Err(ctx.attr_err("scale", format!("{s} is not a finite non-negative number"))),
        None => (1.0 / (head_size as f64).sqrt()) as f32,
    };
    let root = imp.constant(ctx.tmp("scale_root"), Tensor::from_f64(ty.dtype, vec![], &[f64::from(scale.sqrt())]));
    let qs = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![q, root], ctx.tmp("q_scaled"))?;
    let kt = imp.emit1(ctx, Op::Transpose { perm: vec![0, 1, 3, 2] }, vec![k], ctx.tmp("k_t"))?;
    let ks = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![kt, root], ctx.tmp("k_scaled"))?;
    grouped_matmul(imp, ctx, qs, ks, ctx.tmp("scores"))
}

/// `a [B, Hq, M, K] @ b [B, Hkv, K, N]`, each `b` head serving `Hq / Hkv` consecutive `a` heads.
fn grouped_matmul(imp: &mut Importer, ctx: &NodeCtx, a: ValueId, b: ValueId, name: String) -> Result<ValueId> {
    let (sa, sb) = (imp.shape(a), imp.shape(b));
    let (hq, hkv) = (sa[1], sb[1]);
    if hq == hkv {
        return imp.emit1(ctx, Op::MatMul, vec![a, b], name);
    }
    let ga = imp.reshape(ctx, a, vec![sa[0], hkv, hq / hkv, sa[2], sa[3]], format!("{name}::groups"))?;
    let gb = imp.reshape(ctx, b, vec![sb[0], hkv, 1, sb[2], sb[3]], format!("{name}::kv"))?;
    let y = imp.emit1(ctx, Op::MatMul, vec![ga, gb], format!("{name}::grouped"))?;
    let s = imp.shape(y);
    imp.reshape(ctx, y, vec![s[0], hq, s[3], s[4]], name)
}

/// `x` as `dtype` (itself when it already is).
fn to(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, dtype: DType, suffix: &str) -> Result<ValueId> {
    if imp.ty(x).dtype == dtype {
        return Ok(x);
    }
    cast(imp, ctx, x, dtype, ctx.tmp(suffix))
}
