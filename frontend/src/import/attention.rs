//! ONNX `Attention` (opsets 23/24, and the sliding-window attributes of 25) imported as a
//! decomposition into existing IR ops, so it needs no kernel of its own:
//!
//! ```text
//! 3-D Q/K/V -> Reshape [B,S,H,D] -> Transpose [B,H,S,D]
//! K, V      -> Concat(past, new) on the sequence axis   (= present_key / present_value)
//! scores    = MatMul(Q * sqrt(scale), K^T * sqrt(scale))
//! scores    = softcap * Tanh(scores / softcap)           (softcap > 0)
//! logits    = scores + bias                              (bias: see `attention_mask`)
//! probs     = Softmax(logits)  in softmax_precision, rows whose bias is all -inf set to 0
//! Y         = MatMul(probs, V) (-> Transpose -> Reshape back to 3-D)
//! ```
//!
//! Why these choices:
//! - The scale is applied as `sqrt(scale)` to both Q and K^T, as the ONNX reference and the
//!   function body do, so results round the same way as the expected outputs.
//! - Grouped-query attention (fewer KV heads than Q heads, each KV head serving a contiguous
//!   group of Q heads) is a batched MatMul over `[B, Hkv, group, ...]` against `[B, Hkv, 1, ...]`:
//!   the MatMul's batch broadcasting repeats the KV heads without materialising the copy that
//!   the reference's `np.repeat` makes.
//! - A query row whose key set is empty (every bias entry -inf) softmaxes to NaN; the reference
//!   defines it as 0, decided on the bias (not the logits), which is what the guard does.
//! - `qk_matmul_output` follows the schema text: mode 0 is the raw scaled QK^T, 1 after
//!   softcap, 2 after the bias, 3 the guarded softmax cast to Q's type. (The ONNX reference
//!   implementation returns the softcapped scores for mode 0 too; no node test has mode 0 with
//!   a softcap, and the schema is explicit.)
//! - q_num_heads/kv_num_heads describe 3-D inputs; with 4-D inputs they must match the head
//!   dims (opsets 23/24) or be absent (opset 25 forbids them), so a contradiction is an error.
//! - Only f32 and f64 Q/K/V are computed; f16/bf16 and other types are rejected with an error
//!   naming the input, never computed in another precision silently.

use super::attention_mask::{bias, MaskShape};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, UnaryOp, ValueId};

const PAST_KEY: usize = 4;
const PAST_VALUE: usize = 5;
const QK_OUTPUT: usize = 3;

/// The node's attributes, validated.
pub struct Attrs {
    scale: Option<f32>,
    pub is_causal: bool,
    q_heads: Option<usize>,
    kv_heads: Option<usize>,
    /// Applied only when positive (as the reference does).
    softcap: f32,
    qk_mode: i64,
    softmax_dtype: Option<DType>,
    /// Sliding window (opset 25): -1 leaves that side unbounded.
    pub left_window: i64,
    pub right_window: i64,
}

pub fn attention(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let a = read_attrs(ctx)?;
    let dtype = check_dtypes(imp, ctx)?;
    let (q, k, v, rank3) = split_heads(imp, ctx, &a)?;
    let (k, v, past_len) = with_cache(imp, ctx, k, v)?;
    let (q_len, kv_len) = (imp.shape(q)[2], imp.shape(k)[2]);
    let raw = scaled_scores(imp, ctx, &a, q, k)?;
    let scores = softcap(imp, ctx, &a, raw)?;
    let bias = bias(imp, ctx, &a, MaskShape { q_len, kv_len, past_len, dtype })?;
    let logits = match bias {
        Some(b) => imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![scores, b], ctx.tmp("logits"))?,
        None => scores,
    };
    let probs = guarded_softmax(imp, ctx, &a, logits, bias, dtype)?;
    let y = grouped_matmul(imp, ctx, probs, v, ctx.tmp("context"))?;
    let y = if rank3 { merge_heads(imp, ctx, y)? } else { y };
    let mut outs = vec![y, k, v];
    if ctx.node.output.get(QK_OUTPUT).is_some_and(|n| !n.is_empty()) {
        outs.push(match a.qk_mode {
            0 => raw,
            1 => scores,
            2 => logits,
            _ => probs,
        });
    }
    Ok(outs)
}

fn read_attrs(ctx: &NodeCtx) -> Result<Attrs> {
    let scale = ctx.float("scale")?;
    if let Some(s) = scale.filter(|s| !(s.is_finite() && *s >= 0.0)) {
        return Err(ctx.attr_err("scale", format!("{s} is not a finite non-negative number")));
    }
    let heads = |name: &str| -> Result<Option<usize>> {
        match ctx.int(name)? {
            None => Ok(None),
            Some(h) if h > 0 => Ok(Some(h as usize)),
            Some(h) => Err(ctx.attr_err(name, format!("{h} is not a positive head count"))),
        }
    };
    let softcap = ctx.float_or("softcap", 0.0)?;
    if softcap.is_nan() {
        return Err(ctx.attr_err("softcap", "is NaN"));
    }
    let qk_mode = ctx.int_or("qk_matmul_output_mode", 0)?;
    if !(0..=3).contains(&qk_mode) {
        return Err(ctx.attr_err("qk_matmul_output_mode", format!("{qk_mode} is not 0, 1, 2 or 3")));
    }
    Ok(Attrs {
        scale,
        is_causal: ctx.bool_or("is_causal", false)?,
        q_heads: heads("q_num_heads")?,
        kv_heads: heads("kv_num_heads")?,
        softcap,
        qk_mode,
        softmax_dtype: softmax_dtype(ctx)?,
        left_window: window(ctx, "left_window_size")?,
        right_window: window(ctx, "right_window_size")?,
    })
}

fn softmax_dtype(ctx: &NodeCtx) -> Result<Option<DType>> {
    let Some(code) = ctx.int("softmax_precision")? else { return Ok(None) };
    let code = i32::try_from(code).map_err(|_| ctx.attr_err("softmax_precision", format!("bad type {code}")))?;
    match dtype_from_onnx(code) {
        Ok(d) if d.is_float() => Ok(Some(d)),
        _ => Err(ctx.attr_err("softmax_precision", format!("type {} is not supported", onnx_dtype_name(code)))),
    }
}

fn window(ctx: &NodeCtx, name: &str) -> Result<i64> {
    let w = ctx.int_or(name, -1)?;
    if w < -1 {
        return Err(ctx.attr_err(name, format!("{w} is neither -1 nor a non-negative size")));
    }
    Ok(w)
}

/// The common float dtype of Q, K, V (and of past_key/past_value when given).
fn check_dtypes(imp: &Importer, ctx: &NodeCtx) -> Result<DType> {
    let dtype = imp.ty(imp.input(ctx, 0)?).dtype;
    if !dtype.is_float() {
        return Err(ctx.input_err(0, format!("has type {dtype}; Attention is computed for f32 and f64")));
    }
    for i in [1, 2, PAST_KEY, PAST_VALUE] {
        if let Some(x) = imp.opt_input(ctx, i)? {
            let d = imp.ty(x).dtype;
            if d != dtype {
                return Err(ctx.input_err(i, format!("has type {d}, Q has {dtype}")));
            }
        }
    }
    Ok(dtype)
}

/// Q, K, V as `[B, heads, seq, head_size]`, and whether they were given 3-D.
fn split_heads(imp: &mut Importer, ctx: &NodeCtx, a: &Attrs) -> Result<(ValueId, ValueId, ValueId, bool)> {
    let (q, k, v) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.input(ctx, 2)?);
    let ranks = [q, k, v].map(|x| imp.shape(x).len());
    match ranks {
        [4, 4, 4] => {
            check_4d_heads(ctx, "q_num_heads", a.q_heads, imp.shape(q)[1])?;
            check_4d_heads(ctx, "kv_num_heads", a.kv_heads, imp.shape(k)[1])?;
            Ok((q, k, v, false))
        }
        [3, 3, 3] => {
            let need = |h: Option<usize>, name: &str| h.ok_or_else(|| ctx.attr_err(name, "is required for 3-D inputs"));
            let (qh, kvh) = (need(a.q_heads, "q_num_heads")?, need(a.kv_heads, "kv_num_heads")?);
            Ok((to_heads(imp, ctx, 0, q, qh)?, to_heads(imp, ctx, 1, k, kvh)?, to_heads(imp, ctx, 2, v, kvh)?, true))
        }
        _ => Err(ctx.input_err(0, format!("Q, K, V have ranks {ranks:?}; all must be 3 or all 4"))),
    }
}

/// A head-count attribute given with 4-D inputs: opset 25 forbids it, earlier opsets only
/// tolerate the value the shapes already say.
fn check_4d_heads(ctx: &NodeCtx, name: &str, given: Option<usize>, dim: usize) -> Result<()> {
    match given {
        None => Ok(()),
        Some(_) if ctx.opset >= 25 => Err(ctx.attr_err(name, "must not be given for 4-D inputs (opset 25)")),
        Some(h) if h != dim => Err(ctx.attr_err(name, format!("is {h} but the 4-D input has {dim} heads"))),
        Some(_) => Ok(()),
    }
}

/// `[B, S, H*D]` -> `[B, H, S, D]`.
fn to_heads(imp: &mut Importer, ctx: &NodeCtx, i: usize, x: ValueId, heads: usize) -> Result<ValueId> {
    let s = imp.shape(x);
    if !s[2].is_multiple_of(heads) {
        return Err(ctx.input_err(i, format!("hidden size {} is not a multiple of {heads} heads", s[2])));
    }
    let split = imp.reshape(ctx, x, vec![s[0], s[1], heads, s[2] / heads], ctx.tmp(&format!("heads{i}")))?;
    imp.emit1(ctx, Op::Transpose { perm: vec![0, 2, 1, 3] }, vec![split], ctx.tmp(&format!("bhsd{i}")))
}

/// `[B, H, S, D]` -> `[B, S, H*D]`.
fn merge_heads(imp: &mut Importer, ctx: &NodeCtx, y: ValueId) -> Result<ValueId> {
    let s = imp.shape(y);
    let t = imp.emit1(ctx, Op::Transpose { perm: vec![0, 2, 1, 3] }, vec![y], ctx.tmp("bshd"))?;
    imp.reshape(ctx, t, vec![s[0], s[2], s[1] * s[3]], ctx.out(0))
}

/// K and V with the past cache prepended (the present_key/present_value outputs), and the
/// past length when a cache is given.
fn with_cache(imp: &mut Importer, ctx: &NodeCtx, k: ValueId, v: ValueId) -> Result<(ValueId, ValueId, Option<usize>)> {
    let (pk, pv) = (imp.opt_input(ctx, PAST_KEY)?, imp.opt_input(ctx, PAST_VALUE)?);
    match (pk, pv) {
        (None, None) => Ok((k, v, None)),
        (Some(pk), Some(pv)) => {
            let past_len = imp.shape(pk).get(2).copied().ok_or_else(|| ctx.input_err(PAST_KEY, "needs rank 4"))?;
            let k = imp.emit1(ctx, Op::Concat { axis: 2 }, vec![pk, k], ctx.out(1))?;
            let v = imp.emit1(ctx, Op::Concat { axis: 2 }, vec![pv, v], ctx.out(2))?;
            Ok((k, v, Some(past_len)))
        }
        _ => Err(ctx.input_err(PAST_KEY, "past_key and past_value must be given together")),
    }
}

fn scalar(imp: &mut Importer, ctx: &NodeCtx, name: &str, dtype: DType, x: f64) -> ValueId {
    imp.constant(ctx.tmp(name), Tensor::from_f64(dtype, vec![], &[x]))
}

/// `(Q * sqrt(scale)) @ (K^T * sqrt(scale))`, `[B, Hq, Sq, Skv]`.
fn scaled_scores(imp: &mut Importer, ctx: &NodeCtx, a: &Attrs, q: ValueId, k: ValueId) -> Result<ValueId> {
    let ty = imp.ty(q);
    let head_size = ty.shape[3];
    let scale = a.scale.map_or_else(|| 1.0 / (head_size as f64).sqrt(), f64::from);
    let root = scalar(imp, ctx, "scale_root", ty.dtype, scale.sqrt());
    let qs = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![q, root], ctx.tmp("q_scaled"))?;
    let kt = imp.emit1(ctx, Op::Transpose { perm: vec![0, 1, 3, 2] }, vec![k], ctx.tmp("k_t"))?;
    let ks = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![kt, root], ctx.tmp("k_scaled"))?;
    grouped_matmul(imp, ctx, qs, ks, ctx.tmp("scores"))
}

/// `a [B, Hq, M, K] @ b [B, Hkv, K, N]` where each of the `Hkv` heads of `b` serves `Hq / Hkv`
/// consecutive heads of `a` (grouped-query attention; plain MatMul when the counts agree).
fn grouped_matmul(imp: &mut Importer, ctx: &NodeCtx, a: ValueId, b: ValueId, name: String) -> Result<ValueId> {
    let (sa, sb) = (imp.shape(a), imp.shape(b));
    let (hq, hkv) = (sa[1], sb[1]);
    if hq == hkv {
        return imp.emit1(ctx, Op::MatMul, vec![a, b], name);
    }
    if hkv == 0 || !hq.is_multiple_of(hkv) {
        return Err(ctx.input_err(1, format!("{hkv} key/value heads do not divide {hq} query heads")));
    }
    let ga = imp.reshape(ctx, a, vec![sa[0], hkv, hq / hkv, sa[2], sa[3]], format!("{name}::groups"))?;
    let gb = imp.reshape(ctx, b, vec![sb[0], hkv, 1, sb[2], sb[3]], format!("{name}::kv"))?;
    let y = imp.emit1(ctx, Op::MatMul, vec![ga, gb], format!("{name}::grouped"))?;
    let s = imp.shape(y);
    imp.reshape(ctx, y, vec![s[0], hq, s[3], s[4]], name)
}

fn softcap(imp: &mut Importer, ctx: &NodeCtx, a: &Attrs, scores: ValueId) -> Result<ValueId> {
    if a.softcap <= 0.0 {
        return Ok(scores);
    }
    let cap = scalar(imp, ctx, "softcap", imp.ty(scores).dtype, f64::from(a.softcap));
    let x = imp.emit1(ctx, Op::Binary(BinaryOp::Div), vec![scores, cap], ctx.tmp("capped_in"))?;
    let t = imp.emit1(ctx, Op::Unary(UnaryOp::Tanh), vec![x], ctx.tmp("capped_tanh"))?;
    imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![t, cap], ctx.tmp("capped"))
}

/// Softmax over the keys in `softmax_precision`, rows whose bias is entirely -inf set to 0,
/// cast back to `dtype`.
fn guarded_softmax(
    imp: &mut Importer,
    ctx: &NodeCtx,
    a: &Attrs,
    logits: ValueId,
    bias: Option<ValueId>,
    dtype: DType,
) -> Result<ValueId> {
    let precision = a.softmax_dtype.unwrap_or(dtype);
    let x = cast(imp, ctx, logits, precision, "softmax_in")?;
    let mut p = softmax(imp, ctx, x)?;
    if let Some(b) = bias {
        let last = imp.shape(b).len() - 1;
        let op = Op::Reduce { kind: ReduceKind::Max, axes: vec![last], keepdims: true };
        let row_max = imp.emit1(ctx, op, vec![b], ctx.tmp("bias_row_max"))?;
        let neg_inf = scalar(imp, ctx, "neg_inf", dtype, f64::NEG_INFINITY);
        let empty = imp.emit1(ctx, Op::Binary(BinaryOp::Equal), vec![row_max, neg_inf], ctx.tmp("empty_row"))?;
        let zero = scalar(imp, ctx, "zero", precision, 0.0);
        p = imp.emit1(ctx, Op::Where, vec![empty, zero, p], ctx.tmp("probs"))?;
    }
    cast(imp, ctx, p, dtype, "probs_cast")
}

/// Softmax over the last axis: the IR op for f32; for f64 (where the backend has no softmax
/// kernel) as `exp(x - max) / sum`, the same formula in the precision asked for.
fn softmax(imp: &mut Importer, ctx: &NodeCtx, x: ValueId) -> Result<ValueId> {
    let axis = imp.shape(x).len() - 1;
    if imp.ty(x).dtype == DType::F32 {
        return imp.emit1(ctx, Op::Softmax { axis }, vec![x], ctx.tmp("softmax"));
    }
    let reduce = |kind| Op::Reduce { kind, axes: vec![axis], keepdims: true };
    let max = imp.emit1(ctx, reduce(ReduceKind::Max), vec![x], ctx.tmp("softmax_max"))?;
    let shifted = imp.emit1(ctx, Op::Binary(BinaryOp::Sub), vec![x, max], ctx.tmp("softmax_shifted"))?;
    let e = imp.emit1(ctx, Op::Unary(UnaryOp::Exp), vec![shifted], ctx.tmp("softmax_exp"))?;
    let sum = imp.emit1(ctx, reduce(ReduceKind::Sum), vec![e], ctx.tmp("softmax_sum"))?;
    imp.emit1(ctx, Op::Binary(BinaryOp::Div), vec![e, sum], ctx.tmp("softmax"))
}

fn cast(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, to: DType, name: &str) -> Result<ValueId> {
    if imp.ty(x).dtype == to {
        return Ok(x);
    }
    imp.emit1(ctx, Op::Cast { to }, vec![x], ctx.tmp(name))
}
