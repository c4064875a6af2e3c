//! ONNX `LinearAttention` (opset 27), imported by unrolling its recurrence over the static
//! sequence length `T` into existing IR ops. Per step `t`, with the state `S [B, Hkv, dk, dv]`:
//!
//! ```text
//! S   = S * exp(g_t)                        ("gated", "gated_delta"; g_t per key dim or per head)
//! v_t = beta_t * (v_t - k_t @ S)            ("delta", "gated_delta")
//! S   = S + k_t^T * v_t                     (outer product by broadcasting)
//! o_t = (scale * q_t) @ S                   (q_t as [B, Hkv, group, dk]: GQA without a repeat)
//! ```
//!
//! Why this shape:
//! - The packed `[B, T, H*D]` inputs are split along `T` once per input (one `Split` each) and a
//!   step's slice `[B, 1, H*D]` is reshaped straight to the per-head layout: with one position
//!   the row `[B, Hkv, 1, dk]` and the column `[B, Hkv, dk, 1]` of `k_t` are the same bytes, so
//!   no transpose is ever needed. Likewise a step's output `[B, Hkv, group, dv]` is already in
//!   the `[B, 1, Hq*dv]` order (query head `h = kv_head * group + g`, the reference's
//!   `np.repeat`), and the steps are concatenated along `T`.
//! - Work that does not depend on the step is hoisted: `exp(decay)` and `scale * q` are computed
//!   once on the whole tensors.
//! - Without `past_state` the state starts as zero, so the first step skips the decay and the
//!   retrieval (both would multiply zeros) and the state is just `k_0^T * v_0'`.
//! - The reference accumulates in float32 whatever the input type; kiln computes f32 and f64 in
//!   their own type (f16/bf16 reach here widened to f32 by `super::half`), so f64 results are
//!   more precise than the reference's, not less.
//! - The unrolled graph grows linearly with `T` (about ten nodes a step); prefill of very long
//!   sequences would want a loop or a chunked kernel, which the IR does not have yet.

use super::build::{bin, un};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, Tensor, UnaryOp, ValueId};

const PAST_STATE: usize = 3;
const DECAY: usize = 4;
const BETA: usize = 5;

/// The validated attributes and the dims derived from the input shapes.
struct Dims {
    batch: usize,
    steps: usize,
    q_heads: usize,
    kv_heads: usize,
    dk: usize,
    dv: usize,
    gating: bool,
    delta: bool,
}

impl Dims {
    fn group(&self) -> usize {
        self.q_heads / self.kv_heads
    }
    fn state_shape(&self) -> Vec<usize> {
        vec![self.batch, self.kv_heads, self.dk, self.dv]
    }
}

/// One time step's inputs in per-head layout.
struct Step {
    /// `[B, Hkv, group, dk]`, already scaled.
    q: ValueId,
    /// `[B, Hkv, 1, dk]` and the same bytes as `[B, Hkv, dk, 1]`.
    k_row: ValueId,
    k_col: ValueId,
    /// `[B, Hkv, 1, dv]`.
    v: ValueId,
    /// `exp(decay)` as `[B, Hkv, dk, 1]` or `[B, Hkv, 1, 1]`.
    gate: Option<ValueId>,
    /// `[B, Hkv or 1, 1, 1]`.
    beta: Option<ValueId>,
}

pub fn linear_attention(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let d = read_dims(imp, ctx)?;
    let dtype = check_dtypes(imp, ctx, &d)?;
    let q = scaled_query(imp, ctx, &d, dtype)?;
    let q_steps = split_steps(imp, ctx, q, "q", d.steps)?;
    let k_steps = split_steps(imp, ctx, imp.input(ctx, 1)?, "k", d.steps)?;
    let v_steps = split_steps(imp, ctx, imp.input(ctx, 2)?, "v", d.steps)?;
    let gates = match imp.opt_input(ctx, DECAY)? {
        Some(g) => {
            let gate = un(imp, ctx, UnaryOp::Exp, g, ctx.tmp("gate"))?;
            Some(split_steps(imp, ctx, gate, "gate", d.steps)?)
        }
        None => None,
    };
    let betas = match imp.opt_input(ctx, BETA)? {
        Some(b) => Some(split_steps(imp, ctx, b, "beta", d.steps)?),
        None => None,
    };
    let mut state = past_state(imp, ctx, &d)?;
    let mut outputs = Vec::with_capacity(d.steps);
    for t in 0..d.steps {
        let raw = [q_steps[t], k_steps[t], v_steps[t]];
        let step = step_inputs(imp, ctx, &d, t, raw, gates.as_ref().map(|g| g[t]), betas.as_ref().map(|b| b[t]))?;
        let s = update_state(imp, ctx, &d, t, state, &step)?;
        let o = imp.emit1(ctx, Op::MatMul, vec![step.q, s], ctx.tmp(&format!("o{t}")))?;
        outputs.push(imp.reshape(ctx, o, vec![d.batch, 1, d.q_heads * d.dv], ctx.tmp(&format!("out{t}")))?);
        state = Some(s);
    }
    let y = imp.emit1(ctx, Op::Concat { axis: 1 }, outputs, ctx.out(0))?;
    let present = state.ok_or_else(|| ctx.input_err(0, "has no time steps"))?;
    Ok(vec![y, present])
}

fn read_dims(imp: &Importer, ctx: &NodeCtx) -> Result<Dims> {
    let heads = |name: &str| -> Result<usize> {
        match ctx.int(name)? {
            Some(h) if h > 0 => Ok(h as usize),
            Some(h) => Err(ctx.attr_err(name, format!("{h} is not a positive head count"))),
            None => Err(ctx.attr_err(name, "is required")),
        }
    };
    let (q_heads, kv_heads) = (heads("q_num_heads")?, heads("kv_num_heads")?);
    if !q_heads.is_multiple_of(kv_heads) {
        return Err(ctx.attr_err("q_num_heads", format!("{q_heads} is not a multiple of kv_num_heads {kv_heads}")));
    }
    let (gating, delta) = match ctx.string_or("update_rule", "gated_delta")?.as_str() {
        "linear" => (false, false),
        "gated" => (true, false),
        "delta" => (false, true),
        "gated_delta" => (true, true),
        other => {
            return Err(ctx.attr_err("update_rule", format!("'{other}' is not linear, gated, delta or gated_delta")))
        }
    };
    let (q, k, v) = (imp.shape(imp.input(ctx, 0)?), imp.shape(imp.input(ctx, 1)?), imp.shape(imp.input(ctx, 2)?));
    for (i, s) in [&q, &k, &v].into_iter().enumerate() {
        if s.len() != 3 || s[..2] != q.get(..2).unwrap_or(&[])[..] {
            return Err(ctx.input_err(i, format!("has shape {s:?}; Q, K, V must be [B, T, H*D] with one B and T")));
        }
    }
    let per_head = |i: usize, width: usize, h: usize| {
        if width.is_multiple_of(h) && width > 0 {
            Ok(width / h)
        } else {
            Err(ctx.input_err(i, format!("last dim {width} is not a positive multiple of {h} heads")))
        }
    };
    let dk = per_head(0, q[2], q_heads)?;
    if k[2] != kv_heads * dk {
        return Err(ctx.input_err(1, format!("last dim {} is not kv_num_heads * d_k = {}", k[2], kv_heads * dk)));
    }
    let dv = per_head(2, v[2], kv_heads)?;
    Ok(Dims { batch: q[0], steps: q[1], q_heads, kv_heads, dk, dv, gating, delta })
}

/// The common float type of every given input; decay and beta must be given exactly when the
/// update rule uses them.
fn check_dtypes(imp: &Importer, ctx: &NodeCtx, d: &Dims) -> Result<DType> {
    let dtype = imp.ty(imp.input(ctx, 0)?).dtype;
    if !dtype.is_float() {
        return Err(ctx.input_err(0, format!("has type {dtype}; LinearAttention is computed for floats")));
    }
    for i in 1..=BETA {
        if let Some(x) = imp.opt_input(ctx, i)? {
            let d = imp.ty(x).dtype;
            if d != dtype {
                return Err(ctx.input_err(i, format!("has type {d}, query has {dtype}")));
            }
        }
    }
    for (i, name, needed) in [(DECAY, "decay", d.gating), (BETA, "beta", d.delta)] {
        if imp.opt_input(ctx, i)?.is_some() != needed {
            let verb = if needed { "requires" } else { "forbids" };
            return Err(ctx.input_err(i, format!("the update_rule {verb} the {name} input")));
        }
    }
    Ok(dtype)
}

/// `scale * query` (scale 0 or absent: `1 / sqrt(dk)`).
fn scaled_query(imp: &mut Importer, ctx: &NodeCtx, d: &Dims, dtype: DType) -> Result<ValueId> {
    let scale = ctx.float_or("scale", 0.0)?;
    if !scale.is_finite() {
        return Err(ctx.attr_err("scale", format!("{scale} is not finite")));
    }
    let scale = if scale == 0.0 { 1.0 / (d.dk as f64).sqrt() } else { f64::from(scale) };
    let s = imp.constant(ctx.tmp("scale"), Tensor::from_f64(dtype, vec![], &[scale]));
    bin(imp, ctx, BinaryOp::Mul, imp.input(ctx, 0)?, s, ctx.tmp("q_scaled"))
}

/// The `[B, 1, W]` slices of a `[B, T, W]` tensor, one per step.
fn split_steps(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, what: &str, steps: usize) -> Result<Vec<ValueId>> {
    let s = imp.shape(x);
    if s.len() != 3 || s[1] != steps {
        return Err(ctx.err(format!("{what} has shape {s:?}, expected [B, {steps}, W]")));
    }
    if steps == 1 {
        return Ok(vec![x]);
    }
    let names = (0..steps).map(|t| ctx.tmp(&format!("{what}{t}"))).collect();
    imp.emit(ctx, Op::Split { axis: 1, sizes: vec![1; steps] }, vec![x], names)
}

/// Step `t`'s slices reshaped to the per-head layouts of [`Step`].
fn step_inputs(
    imp: &mut Importer,
    ctx: &NodeCtx,
    d: &Dims,
    t: usize,
    [q, k, v]: [ValueId; 3],
    gate: Option<ValueId>,
    beta: Option<ValueId>,
) -> Result<Step> {
    let (b, h) = (d.batch, d.kv_heads);
    let name = |what: &str| ctx.tmp(&format!("{what}{t}_heads"));
    let q = imp.reshape(ctx, q, vec![b, h, d.group(), d.dk], name("q"))?;
    let k_row = imp.reshape(ctx, k, vec![b, h, 1, d.dk], name("k_row"))?;
    let k_col = imp.reshape(ctx, k, vec![b, h, d.dk, 1], name("k_col"))?;
    let v = imp.reshape(ctx, v, vec![b, h, 1, d.dv], name("v"))?;
    let gate = match gate {
        Some(g) => Some(gate_layout(imp, ctx, d, g, name("gate"))?),
        None => None,
    };
    let beta = match beta {
        Some(x) => Some(beta_layout(imp, ctx, d, x, name("beta"))?),
        None => None,
    };
    Ok(Step { q, k_row, k_col, v, gate, beta })
}

/// A step's `exp(decay)` `[B, 1, Hkv*dk or Hkv]` as `[B, Hkv, dk or 1, 1]`.
fn gate_layout(imp: &mut Importer, ctx: &NodeCtx, d: &Dims, g: ValueId, name: String) -> Result<ValueId> {
    let width = imp.shape(g)[2];
    let per_dim = if width == d.kv_heads * d.dk {
        d.dk
    } else if width == d.kv_heads {
        1
    } else {
        return Err(ctx.input_err(DECAY, format!("last dim {width} is neither kv_num_heads nor kv_num_heads * d_k")));
    };
    imp.reshape(ctx, g, vec![d.batch, d.kv_heads, per_dim, 1], name)
}

/// A step's beta `[B, 1, Hkv or 1]` as `[B, Hkv or 1, 1, 1]`.
fn beta_layout(imp: &mut Importer, ctx: &NodeCtx, d: &Dims, x: ValueId, name: String) -> Result<ValueId> {
    let width = imp.shape(x)[2];
    if width != d.kv_heads && width != 1 {
        return Err(ctx.input_err(BETA, format!("last dim {width} is neither kv_num_heads nor 1")));
    }
    imp.reshape(ctx, x, vec![d.batch, width, 1, 1], name)
}

/// `past_state`, checked against `[B, Hkv, dk, dv]`; `None` (zero state) when absent.
fn past_state(imp: &Importer, ctx: &NodeCtx, d: &Dims) -> Result<Option<ValueId>> {
    let Some(s) = imp.opt_input(ctx, PAST_STATE)? else { return Ok(None) };
    let shape = imp.shape(s);
    if shape != d.state_shape() {
        return Err(ctx.input_err(PAST_STATE, format!("has shape {shape:?}, expected {:?}", d.state_shape())));
    }
    Ok(Some(s))
}

/// One step of the recurrence on `state` (`None`: all zeros); returns the new state.
fn update_state(
    imp: &mut Importer,
    ctx: &NodeCtx,
    d: &Dims,
    t: usize,
    state: Option<ValueId>,
    step: &Step,
) -> Result<ValueId> {
    let name = |what: &str| ctx.tmp(&format!("{what}{t}"));
    let mut state = state;
    if let (Some(s), Some(g)) = (state, step.gate) {
        state = Some(bin(imp, ctx, BinaryOp::Mul, s, g, name("decayed"))?);
    }
    let mut v = step.v;
    if d.delta {
        if let Some(s) = state {
            let retrieved = imp.emit1(ctx, Op::MatMul, vec![step.k_row, s], name("retrieved"))?;
            v = bin(imp, ctx, BinaryOp::Sub, v, retrieved, name("v_err"))?;
        }
        let beta = step.beta.ok_or_else(|| ctx.input_err(BETA, "is required for delta rules"))?;
        v = bin(imp, ctx, BinaryOp::Mul, v, beta, name("v_delta"))?;
    }
    let state_name = if t + 1 == d.steps { ctx.out(1) } else { name("state") };
    let written = bin(imp, ctx, BinaryOp::Mul, step.k_col, v, name("write"))?;
    match state {
        Some(s) => bin(imp, ctx, BinaryOp::Add, s, written, state_name),
        None => Ok(written),
    }
}
