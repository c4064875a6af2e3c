//! The additive bias of ONNX `Attention`: 0 where a query may attend a key, -inf where it may
//! not, plus a float `attn_mask`. It is the sum of up to four parts, each broadcast against the
//! scores `[B, H, Sq, Skv]`:
//!
//! - `attn_mask` (input 3): a bool mask becomes `Where(mask, 0, -inf)`; one shorter than the
//!   total key length is padded with -inf (the reference pads, it does not broadcast);
//! - `is_causal`: key `j` is visible to query `i` iff `j <= i + offset`;
//! - the sliding window (opset 25): `i + offset - left <= j <= i + offset + right`;
//! - `nonpad_kv_seqlen` (input 6, opset 24): key `j` of batch `b` is visible iff `j < len[b]`.
//!
//! The causal/window `offset` is bottom-right aligned: the past length with a KV cache, 0
//! without, and `nonpad_kv_seqlen[b] - Sq` per batch for an external cache. All parts are built
//! from the same integer tensor `D = i + offset - j` with IR ops; when the offset is a
//! compile-time scalar every op folds to a constant at import, so only the per-batch case costs
//! anything at run time and one code path serves both.

use super::attention::Attrs;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, PadMode, Tensor, ValueId};

const MASK: usize = 3;
const NONPAD: usize = 6;

/// The sizes the bias is built for.
pub struct MaskShape {
    pub q_len: usize,
    pub kv_len: usize,
    /// Length of the past KV cache, when one is given.
    pub past_len: Option<usize>,
    /// Q's dtype, the bias dtype.
    pub dtype: DType,
}

/// The summed bias, `None` when nothing masks.
pub fn bias(imp: &mut Importer, ctx: &NodeCtx, a: &Attrs, s: MaskShape) -> Result<Option<ValueId>> {
    let nonpad = nonpad_lengths(imp, ctx)?;
    if nonpad.is_some() && s.past_len.is_some() {
        return Err(ctx.input_err(NONPAD, "nonpad_kv_seqlen cannot be combined with past_key/past_value"));
    }
    let mut parts = Vec::new();
    parts.extend(mask(imp, ctx, &s)?);
    if a.is_causal || a.left_window >= 0 || a.right_window >= 0 {
        parts.push(structural(imp, ctx, a, &s, nonpad)?);
    }
    if let Some(len) = nonpad {
        parts.push(padding(imp, ctx, &s, len)?);
    }
    let Some((&first, rest)) = parts.split_first() else { return Ok(None) };
    let mut sum = first;
    for (i, &p) in rest.iter().enumerate() {
        sum = imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![sum, p], ctx.tmp(&format!("bias{i}")))?;
    }
    Ok(Some(sum))
}

/// `nonpad_kv_seqlen` as i64 `[B]`, when given.
fn nonpad_lengths(imp: &mut Importer, ctx: &NodeCtx) -> Result<Option<ValueId>> {
    let Some(len) = imp.opt_input(ctx, NONPAD)? else { return Ok(None) };
    let ty = imp.ty(len);
    if !ty.dtype.is_int() || ty.shape.len() != 1 {
        return Err(ctx.input_err(NONPAD, format!("is {ty}; expected a 1-D integer tensor [batch]")));
    }
    if ty.dtype == DType::I64 {
        return Ok(Some(len));
    }
    imp.emit1(ctx, Op::Cast { to: DType::I64 }, vec![len], ctx.tmp("nonpad_i64")).map(Some)
}

/// `Where(allowed, 0, -inf)` in `dtype`.
fn select(imp: &mut Importer, ctx: &NodeCtx, allowed: ValueId, dtype: DType, name: &str) -> Result<ValueId> {
    let zero = imp.constant(ctx.tmp(&format!("{name}_zero")), Tensor::from_f64(dtype, vec![], &[0.0]));
    let ninf = imp.constant(ctx.tmp(&format!("{name}_ninf")), Tensor::from_f64(dtype, vec![], &[f64::NEG_INFINITY]));
    imp.emit1(ctx, Op::Where, vec![allowed, zero, ninf], ctx.tmp(name))
}

/// `attn_mask` as an additive float bias whose last axis is the total key length.
fn mask(imp: &mut Importer, ctx: &NodeCtx, s: &MaskShape) -> Result<Option<ValueId>> {
    let Some(m) = imp.opt_input(ctx, MASK)? else { return Ok(None) };
    let ty = imp.ty(m);
    let m = match ty.dtype {
        DType::Bool => select(imp, ctx, m, s.dtype, "mask_bias")?,
        d if d == s.dtype => m,
        d => return Err(ctx.input_err(MASK, format!("has type {d}; expected bool or Q's type {}", s.dtype))),
    };
    let rank = ty.shape.len();
    if !(1..=4).contains(&rank) {
        return Err(ctx.input_err(MASK, format!("has rank {rank}; expected 1 to 4")));
    }
    let len = ty.shape[rank - 1];
    if len > s.kv_len {
        return Err(ctx.input_err(MASK, format!("covers {len} keys, more than the {} there are", s.kv_len)));
    }
    if len == s.kv_len {
        return Ok(Some(m));
    }
    let mut pads = vec![0i64; 2 * rank];
    pads[2 * rank - 1] = (s.kv_len - len) as i64;
    let op = Op::Pad { mode: PadMode::Constant, pads, value: f64::NEG_INFINITY.into() };
    imp.emit1(ctx, op, vec![m], ctx.tmp("mask_padded")).map(Some)
}

/// The causal and sliding-window bias: `[Sq, Skv]`, or `[B, 1, Sq, Skv]` with a per-batch offset.
fn structural(imp: &mut Importer, ctx: &NodeCtx, a: &Attrs, s: &MaskShape, nonpad: Option<ValueId>) -> Result<ValueId> {
    let d = offset_diff(imp, ctx, s, nonpad)?;
    let mut conds = Vec::new();
    if a.is_causal {
        conds.push((BinaryOp::GreaterOrEqual, 0));
    }
    if a.left_window >= 0 {
        conds.push((BinaryOp::LessOrEqual, a.left_window));
    }
    if a.right_window >= 0 {
        conds.push((BinaryOp::GreaterOrEqual, -a.right_window));
    }
    let mut allowed: Option<ValueId> = None;
    for (i, (cmp, bound)) in conds.into_iter().enumerate() {
        let b = imp.constant(ctx.tmp(&format!("window_bound{i}")), Tensor::scalar(bound));
        let c = imp.emit1(ctx, Op::Binary(cmp), vec![d, b], ctx.tmp(&format!("window_cond{i}")))?;
        allowed = Some(match allowed {
            None => c,
            Some(prev) => {
                imp.emit1(ctx, Op::Binary(BinaryOp::And), vec![prev, c], ctx.tmp(&format!("window_and{i}")))?
            }
        });
    }
    let allowed = allowed.ok_or_else(|| ctx.err("no causal or window constraint to build"))?;
    let bias = select(imp, ctx, allowed, s.dtype, "causal_bias")?;
    let shape = imp.shape(bias);
    if shape.len() == 3 {
        return imp.reshape(ctx, bias, vec![shape[0], 1, shape[1], shape[2]], ctx.tmp("causal_bias4"));
    }
    Ok(bias)
}

/// `D[i, j] = i + offset - j` as i64: `[Sq, Skv]` for a scalar offset (the past length or 0),
/// `[B, Sq, Skv]` for `offset[b] = nonpad_kv_seqlen[b] - Sq`. Built as a column minus a row so
/// the constants stay `O(Sq + Skv)`; the full matrix folds only within the fold limit.
fn offset_diff(imp: &mut Importer, ctx: &NodeCtx, s: &MaskShape, nonpad: Option<ValueId>) -> Result<ValueId> {
    let offset = if nonpad.is_some() { -(s.q_len as i64) } else { s.past_len.unwrap_or(0) as i64 };
    let mut col = index_vector(imp, ctx, s.q_len, offset, vec![s.q_len, 1], "query_pos")?;
    let row = index_vector(imp, ctx, s.kv_len, 0, vec![1, s.kv_len], "key_pos")?;
    if let Some(len) = nonpad {
        let b = imp.shape(len)[0];
        let len = imp.reshape(ctx, len, vec![b, 1, 1], ctx.tmp("nonpad_b11"))?;
        col = imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![len, col], ctx.tmp("query_pos_batched"))?;
    }
    imp.emit1(ctx, Op::Binary(BinaryOp::Sub), vec![col, row], ctx.tmp("pos_diff"))
}

/// The i64 constant `start, start + 1, ..` of `n` elements with `shape`; an error when it would
/// exceed the import size limit (a corrupt model's huge dims must not allocate unboundedly).
fn index_vector(
    imp: &mut Importer,
    ctx: &NodeCtx,
    n: usize,
    start: i64,
    shape: Vec<usize>,
    name: &str,
) -> Result<ValueId> {
    if n > imp.fold_limit / std::mem::size_of::<i64>() {
        return Err(ctx.err(format!("{name}: {n} positions exceed the import size limit")));
    }
    let v: Vec<i64> = (0..n as i64).map(|i| start + i).collect();
    Ok(imp.constant(ctx.tmp(name), Tensor::from_vec(shape, v)))
}

/// `[B, 1, 1, Skv]`: key `j` of batch `b` is visible iff `j < nonpad_kv_seqlen[b]`.
fn padding(imp: &mut Importer, ctx: &NodeCtx, s: &MaskShape, len: ValueId) -> Result<ValueId> {
    let b = imp.shape(len)[0];
    let keys = index_vector(imp, ctx, s.kv_len, 0, vec![1, s.kv_len], "key_index")?;
    let len = imp.reshape(ctx, len, vec![b, 1], ctx.tmp("nonpad_b1"))?;
    let visible = imp.emit1(ctx, Op::Binary(BinaryOp::Less), vec![keys, len], ctx.tmp("key_visible"))?;
    let bias = select(imp, ctx, visible, s.dtype, "padding_bias")?;
    imp.reshape(ctx, bias, vec![b, 1, 1, s.kv_len], ctx.tmp("padding_bias4"))
}
