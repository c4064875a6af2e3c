//! What RNN, GRU and LSTM share: their attributes (direction, layout, hidden_size, clip,
//! activations with their alpha/beta), their inputs checked against one another, and the
//! activation functions as IR ops.
//!
//! The three ops are unrolled over time into existing IR ops (see `super::recurrent_run` for
//! the loop and why it is fast); each op's own file (`rnn`, `gru`, `lstm`) supplies only its
//! cell. Activation names are matched case-insensitively (the ONNX reference accepts `tanh`).
//! `activation_alpha`/`activation_beta` are consumed in activation order by the functions that
//! take the parameter, as onnxruntime does; a function given none uses its ONNX operator's
//! default, except Affine and ScaledTanh, which have no default and must be given both.
//! `clip` bounds the input of every gate activation (`f` and `g`), not LSTM's output
//! activation `h(C)`, as onnxruntime does.

use super::build::{bin, scalar, select, un};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, UnaryOp, ValueId};

/// One activation function of a recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Unary(UnaryOp),
    Affine { alpha: f32, beta: f32 },
    ScaledTanh { alpha: f32, beta: f32 },
    ThresholdedRelu { alpha: f32 },
}

/// The attributes and inputs of one recurrent node, time-major (`layout` undone).
pub struct Recurrent {
    /// X as [T, B, I].
    pub x: ValueId,
    /// W [D, G*H, I], R [D, G*H, H], B? [D, 2*G*H].
    pub w: ValueId,
    pub r: ValueId,
    pub bias: Option<ValueId>,
    /// Per-batch lengths, `None` when absent or all equal to T.
    pub lens: Option<Vec<usize>>,
    /// initial_h as [D, B, H].
    pub initial_h: Option<ValueId>,
    pub dims: Dims,
    /// Activations of direction d: `acts[d]`.
    pub acts: Vec<Vec<Act>>,
    pub clip: Option<f32>,
    pub reverse: Vec<bool>,
    pub batch_major: bool,
    pub dtype: DType,
}

/// Sequence length, batch, input size, hidden size, directions.
#[derive(Clone, Copy, Debug)]
pub struct Dims {
    pub t: usize,
    pub b: usize,
    pub i: usize,
    pub h: usize,
    pub d: usize,
}

impl Recurrent {
    /// Reads and checks the common inputs 0..=5 and attributes of a cell with `gates` gates
    /// and the default activations `defaults`.
    pub fn read(imp: &mut Importer, ctx: &NodeCtx, gates: usize, defaults: &[&str]) -> Result<Recurrent> {
        let reverse = directions(ctx)?;
        let batch_major = match ctx.int_or("layout", 0)? {
            0 => false,
            1 => true,
            l => return Err(ctx.attr_err("layout", format!("{l} is not 0 or 1"))),
        };
        let (x, w, r) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.input(ctx, 2)?);
        let dtype = imp.ty(x).dtype;
        if !dtype.is_float() {
            return Err(ctx.input_err(0, format!("has dtype {}; {} needs a float type", dtype.name(), ctx.op())));
        }
        let x = if batch_major { swap01(imp, ctx, x, "x_time_major")? } else { x };
        let dims = dims(imp, ctx, x, w, r, gates, reverse.len())?;
        let bias = imp.opt_input(ctx, 3)?;
        check_shape(imp, ctx, 3, bias, &[dims.d, 2 * gates * dims.h])?;
        let lens = seq_lens(imp, ctx, dims)?;
        let mut initial_h = imp.opt_input(ctx, 5)?;
        if batch_major {
            initial_h = initial_h.map(|v| swap01(imp, ctx, v, "initial_h_time_major")).transpose()?;
        }
        check_shape(imp, ctx, 5, initial_h, &[dims.d, dims.b, dims.h])?;
        let acts = activations(ctx, defaults, dims.d)?;
        let clip = ctx.float("clip")?;
        if clip.is_some_and(|c| c.is_nan() || c < 0.0) {
            return Err(ctx.attr_err("clip", "must be a non-negative threshold"));
        }
        Ok(Recurrent { x, w, r, bias, lens, initial_h, dims, acts, clip, reverse, batch_major, dtype })
    }

    /// `act(clip(x))`: a gate activation.
    pub fn gate(&self, imp: &mut Importer, ctx: &NodeCtx, act: Act, x: ValueId, name: String) -> Result<ValueId> {
        let x = match self.clip {
            Some(c) => un(imp, ctx, UnaryOp::Clip { min: (-c).into(), max: c.into() }, x, format!("{name}_clipped"))?,
            None => x,
        };
        apply(imp, ctx, act, x, self.dtype, name)
    }
}

/// `true` per direction when it runs in reverse.
fn directions(ctx: &NodeCtx) -> Result<Vec<bool>> {
    match ctx.string_or("direction", "forward")?.as_str() {
        "forward" => Ok(vec![false]),
        "reverse" => Ok(vec![true]),
        "bidirectional" => Ok(vec![false, true]),
        d => Err(ctx.attr_err("direction", format!("'{d}' is not forward, reverse or bidirectional"))),
    }
}

/// `v` with its first two axes swapped ([B, T, ..] <-> [T, B, ..]).
pub fn swap01(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, suffix: &str) -> Result<ValueId> {
    let rank = imp.shape(v).len();
    if rank < 2 {
        return Err(ctx.err(format!("a rank-{rank} value cannot be batch-major")));
    }
    let perm = [vec![1, 0], (2..rank).collect()].concat();
    imp.emit1(ctx, Op::Transpose { perm }, vec![v], ctx.tmp(suffix))
}

fn dims(imp: &Importer, ctx: &NodeCtx, x: ValueId, w: ValueId, r: ValueId, gates: usize, d: usize) -> Result<Dims> {
    let xs = imp.shape(x);
    let [t, b, i] = xs[..] else { return Err(ctx.input_err(0, format!("must have rank 3, has shape {xs:?}"))) };
    let rs = imp.shape(r);
    let h = match rs[..] {
        [_, _, h] if h > 0 => h,
        _ => return Err(ctx.input_err(2, format!("must have shape [D, G*H, H], has {rs:?}"))),
    };
    if let Some(hs) = ctx.int("hidden_size")? {
        if hs != h as i64 {
            return Err(ctx.attr_err("hidden_size", format!("{hs} disagrees with R's shape {rs:?}")));
        }
    }
    if t == 0 || b == 0 {
        return Err(ctx.input_err(0, format!("shape {xs:?} has an empty sequence or batch")));
    }
    let dims = Dims { t, b, i, h, d };
    check_shape(imp, ctx, 1, Some(w), &[d, gates * h, i])?;
    check_shape(imp, ctx, 2, Some(r), &[d, gates * h, h])?;
    Ok(dims)
}

/// Errors naming input `i` when present and not of shape `want`.
pub fn check_shape(imp: &Importer, ctx: &NodeCtx, i: usize, v: Option<ValueId>, want: &[usize]) -> Result<()> {
    match v.map(|v| imp.shape(v)) {
        Some(s) if s != want => Err(ctx.input_err(i, format!("has shape {s:?}, expected {want:?}"))),
        _ => Ok(()),
    }
}

/// `sequence_lens` (input 4), which must be a compile-time constant in 0..=T.
fn seq_lens(imp: &Importer, ctx: &NodeCtx, dims: Dims) -> Result<Option<Vec<usize>>> {
    let Some(t) = imp.opt_const(ctx, 4)? else { return Ok(None) };
    let lens = t.to_i64_vec();
    if lens.len() != dims.b || lens.iter().any(|&l| l < 0 || l as usize > dims.t) {
        return Err(ctx.input_err(4, format!("{lens:?} must be {} lengths in 0..={}", dims.b, dims.t)));
    }
    let lens: Vec<usize> = lens.into_iter().map(|l| l as usize).collect();
    Ok(if lens.iter().all(|&l| l == dims.t) { None } else { Some(lens) })
}

/// The activations of every direction (the given list names the forward ones first).
fn activations(ctx: &NodeCtx, defaults: &[&str], d: usize) -> Result<Vec<Vec<Act>>> {
    let k = defaults.len();
    let names = match ctx.string_list("activations")? {
        None => (0..d).flat_map(|_| defaults.iter().map(|s| s.to_string())).collect(),
        Some(n) if n.len() == k * d => n,
        Some(n) if n.len() == k && d == 2 => [n.clone(), n].concat(),
        Some(n) => return Err(ctx.attr_err("activations", format!("has {} names, expected {}", n.len(), k * d))),
    };
    let mut alphas = ctx.floats("activation_alpha")?.unwrap_or_default().into_iter();
    let mut betas = ctx.floats("activation_beta")?.unwrap_or_default().into_iter();
    let acts = names.iter().map(|n| act(ctx, n, &mut alphas, &mut betas)).collect::<Result<Vec<_>>>()?;
    Ok(acts.chunks(k).map(<[Act]>::to_vec).collect())
}

fn act(
    ctx: &NodeCtx,
    name: &str,
    alphas: &mut impl Iterator<Item = f32>,
    betas: &mut impl Iterator<Item = f32>,
) -> Result<Act> {
    let required = |it: &mut dyn Iterator<Item = f32>, what: &str| {
        it.next().ok_or_else(|| ctx.attr_err(what, format!("{name} needs a value and none is left")))
    };
    Ok(match name.to_ascii_lowercase().as_str() {
        "relu" => Act::Unary(UnaryOp::Relu),
        "tanh" => Act::Unary(UnaryOp::Tanh),
        "sigmoid" => Act::Unary(UnaryOp::Sigmoid),
        "softsign" => Act::Unary(UnaryOp::Softsign),
        "softplus" => Act::Unary(UnaryOp::Softplus),
        "leakyrelu" => Act::Unary(UnaryOp::LeakyRelu { alpha: alphas.next().unwrap_or(0.01).into() }),
        "elu" => Act::Unary(UnaryOp::Elu { alpha: alphas.next().unwrap_or(1.0).into() }),
        "hardsigmoid" => Act::Unary(UnaryOp::HardSigmoid {
            alpha: alphas.next().unwrap_or(0.2).into(),
            beta: betas.next().unwrap_or(0.5).into(),
        }),
        "thresholdedrelu" => Act::ThresholdedRelu { alpha: alphas.next().unwrap_or(1.0) },
        "affine" => {
            Act::Affine { alpha: required(alphas, "activation_alpha")?, beta: required(betas, "activation_beta")? }
        }
        "scaledtanh" => {
            Act::ScaledTanh { alpha: required(alphas, "activation_alpha")?, beta: required(betas, "activation_beta")? }
        }
        _ => return Err(ctx.attr_err("activations", format!("unsupported activation function '{name}'"))),
    })
}

/// `act(x)` as IR ops.
pub fn apply(imp: &mut Importer, ctx: &NodeCtx, act: Act, x: ValueId, dtype: DType, name: String) -> Result<ValueId> {
    match act {
        Act::Unary(u) => un(imp, ctx, u, x, name),
        Act::Affine { alpha, beta } => {
            let a = scalar(imp, ctx, "affine_alpha", dtype, alpha as f64);
            let b = scalar(imp, ctx, "affine_beta", dtype, beta as f64);
            let ax = bin(imp, ctx, BinaryOp::Mul, x, a, format!("{name}_scaled"))?;
            bin(imp, ctx, BinaryOp::Add, ax, b, name)
        }
        Act::ScaledTanh { alpha, beta } => {
            let a = scalar(imp, ctx, "scaled_tanh_alpha", dtype, alpha as f64);
            let b = scalar(imp, ctx, "scaled_tanh_beta", dtype, beta as f64);
            let bx = bin(imp, ctx, BinaryOp::Mul, x, b, format!("{name}_in"))?;
            let t = un(imp, ctx, UnaryOp::Tanh, bx, format!("{name}_tanh"))?;
            bin(imp, ctx, BinaryOp::Mul, t, a, name)
        }
        Act::ThresholdedRelu { alpha } => {
            let a = scalar(imp, ctx, "thresholded_relu_alpha", dtype, alpha as f64);
            let zero = scalar(imp, ctx, "zero", dtype, 0.0);
            let above = bin(imp, ctx, BinaryOp::Greater, x, a, format!("{name}_above"))?;
            select(imp, ctx, above, x, zero, name)
        }
    }
}
