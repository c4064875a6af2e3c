//! Rule family `folding`: arithmetic on constants moves into a conv's or gemm's weights and bias,
//! where it costs nothing at run time.
//!
//! - `batch-norm-to-affine`: inference BatchNorm with constant statistics is `x * k + c` with
//!   per-channel constants `k = scale / sqrt(var + eps)`, `c = bias - mean * k` (shaped
//!   `[C, 1, ..]` so they broadcast over the spatial axes). The affine form is what the other
//!   rules understand: it folds into a preceding conv (below), or fuses into an epilogue or an
//!   elementwise chain (`fusion`) when no conv precedes it.
//! - `mul-into-conv` / `div-into-conv`: `conv(x, w, b) * k` with `k` constant per output channel
//!   (or a scalar) is `conv(x, w * k, b * k)`.
//! - `add-into-conv-bias` / `sub-into-conv-bias`: `conv(x, w, b) + c` with `c` constant per
//!   output channel is `conv(x, w, b + c)`.
//! - `add-into-gemm-bias`: `gemm(a, b) + c` (no C yet, beta 1) with a constant `c` that
//!   broadcasts to the result is `gemm(a, b, c)`; `matmul(a, b) + c` with 2-D `a` likewise.
//! - `pad-into-conv`: a zero constant Pad of only the spatial axes before a conv becomes the
//!   conv's own padding.
//!
//! Folded constants are computed in f64 and rounded once to f32, and are memoised under a key
//! naming the constants they come from (`Term::derived`), because rules fire on every
//! iteration. Only f32 is folded. Constant subgraphs fold in the e-graph analysis itself.

use crate::egraph::{children, const_key, constant, rule, ty, EGraph, Rewrite, TensorLang, Term, TermRef, Visit};
use egg::Id;
use kiln_ir::{BinaryOp, ConvAttrs, DType, Op, OpKind, PadMode, Tensor};

/// The family's rules.
pub fn rules() -> Vec<Rewrite> {
    vec![
        rule("batch-norm-to-affine", Visit::Ops(&[OpKind::BatchNorm]), batch_norm_to_affine),
        rule("scale-into-conv", Visit::Ops(&[OpKind::Binary]), scale_into_conv),
        rule("add-into-conv-bias", Visit::Ops(&[OpKind::Binary]), add_into_conv_bias),
        rule("add-into-gemm-bias", Visit::Ops(&[OpKind::Binary]), add_into_gemm_bias),
        rule("pad-into-conv", Visit::Ops(&[OpKind::Conv]), pad_into_conv),
    ]
}

/// The class's constant as f32 values with its shape.
fn const_f32(eg: &EGraph, id: Id) -> Option<(&[f32], &[usize])> {
    let t = constant(eg, id)?;
    Some((t.as_slice::<f32>()?, t.shape()))
}

/// `batch-norm-to-affine`.
fn batch_norm_to_affine(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::BatchNorm { epsilon }) = node.op() else { return None };
    let ch = children(eg, node);
    let x_ty = ty(eg, ch[0])?;
    if x_ty.dtype != DType::F32 || x_ty.shape.len() < 2 {
        return None;
    }
    let p: Vec<&[f32]> = ch[1..].iter().map(|&c| const_f32(eg, c).map(|(v, _)| v)).collect::<Option<_>>()?;
    let keys: Vec<String> = ch[1..].iter().map(|&c| const_key(eg, c)).collect::<Option<_>>()?;
    let channels = x_ty.shape[1];
    if p.len() != 4 || p.iter().any(|v| v.len() != channels) {
        return None;
    }
    let mut shape = vec![channels];
    shape.resize(x_ty.shape.len() - 1, 1);
    let eps = epsilon.get() as f64;
    let k = |c: usize| p[0][c] as f64 / (p[3][c] as f64 + eps).sqrt();
    let mut t = Term::new();
    let key = format!("bn-k:{}:{}:{eps}", keys[0], keys[3]);
    let scale = t.derived(eg, key, || Some(per_channel(&shape, channels, k)))?;
    let key = format!("bn-c:{}:{}:{}:{}:{eps}", keys[0], keys[1], keys[2], keys[3]);
    let shift =
        t.derived(eg, key, || Some(per_channel(&shape, channels, |c| p[1][c] as f64 - p[2][c] as f64 * k(c))))?;
    let x = t.class(ch[0]);
    let mul = t.op(Op::Binary(BinaryOp::Mul), &[x, scale]);
    t.op(Op::Binary(BinaryOp::Add), &[mul, shift]);
    Some(t)
}

fn per_channel(shape: &[usize], channels: usize, f: impl Fn(usize) -> f64) -> Tensor {
    Tensor::from_vec(shape.to_vec(), (0..channels).map(|c| f(c) as f32).collect::<Vec<f32>>())
}

/// A conv node with constant weights (and bias, if any) among the class's nodes.
struct ConstConv {
    attrs: ConvAttrs,
    x: Id,
    w: Id,
    b: Option<Id>,
    out_channels: usize,
}

fn const_conv(eg: &EGraph, class: Id) -> Option<ConstConv> {
    eg[class].nodes.iter().find_map(|n| {
        let Some(Op::Conv(attrs)) = n.op() else { return None };
        let ch = children(eg, n);
        let w = *ch.get(1)?;
        let (_, w_shape) = const_f32(eg, w)?;
        if let Some(&b) = ch.get(2) {
            const_f32(eg, b)?;
        }
        Some(ConstConv { attrs: attrs.clone(), x: ch[0], w, b: ch.get(2).copied(), out_channels: *w_shape.first()? })
    })
}

/// Per-output-channel values of a constant that broadcasts over a conv output
/// (`[M,1,..]`, `[1,M,1,..]`, a scalar or all-ones shape), or `None`.
fn channel_values(eg: &EGraph, id: Id, out_rank: usize, m: usize) -> Option<Vec<f64>> {
    let (v, shape) = const_f32(eg, id)?;
    if shape.len() > out_rank {
        return None;
    }
    let aligned: Vec<usize> = std::iter::repeat(1).take(out_rank - shape.len()).chain(shape.iter().copied()).collect();
    let others_one = aligned.iter().enumerate().all(|(i, &d)| i == 1 || d == 1);
    match (others_one, aligned.get(1)) {
        (true, Some(&1)) => Some(vec![v[0] as f64; m]),
        (true, Some(&d)) if d == m => Some(v.iter().map(|&x| x as f64).collect()),
        _ => None,
    }
}

/// The conv's operands (rebuilt as term refs) with new weight and bias.
fn conv_term(t: &mut Term, c: &ConstConv, w: TermRef, b: TermRef) -> TermRef {
    let x = t.class(c.x);
    t.op(Op::Conv(c.attrs.clone()), &[x, w, b])
}

/// `scale-into-conv`: `conv * k` and `conv / k` with a per-channel constant `k`.
fn scale_into_conv(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (conv_class, k_class, divide) = match (node.op()?, &children(eg, node)[..]) {
        (Op::Binary(BinaryOp::Mul), &[a, b]) if const_conv(eg, a).is_some() => (a, b, false),
        (Op::Binary(BinaryOp::Mul), &[a, b]) => (b, a, false),
        (Op::Binary(BinaryOp::Div), &[a, b]) => (a, b, true),
        _ => return None,
    };
    let c = const_conv(eg, conv_class)?;
    let rank = ty(eg, conv_class)?.shape.len();
    let k = channel_values(eg, k_class, rank, c.out_channels)?;
    let k: Vec<f64> = if divide { k.iter().map(|v| 1.0 / v).collect() } else { k };
    let (wk, kk) = (const_key(eg, c.w)?, const_key(eg, k_class)?);
    let op = if divide { "div" } else { "mul" };
    let mut t = Term::new();
    let w = t.derived(eg, format!("{op}-w:{wk}:{kk}"), || {
        let (wv, ws) = const_f32(eg, c.w)?;
        let per = (wv.len() / c.out_channels.max(1)).max(1);
        let scaled = wv.chunks(per).zip(&k).flat_map(|(ws, &kc)| ws.iter().map(move |&x| (x as f64 * kc) as f32));
        Some(Tensor::from_vec(ws.to_vec(), scaled.collect::<Vec<f32>>()))
    })?;
    let bias_key = c.b.map_or(Some("none".to_string()), |b| const_key(eg, b))?;
    let b = t.derived(eg, format!("{op}-b:{bias_key}:{kk}"), || {
        let old = bias_values(eg, c.b, c.out_channels)?;
        Some(Tensor::from_vec(
            vec![c.out_channels],
            old.iter().zip(&k).map(|(b, k)| (b * k) as f32).collect::<Vec<f32>>(),
        ))
    })?;
    conv_term(&mut t, &c, w, b);
    Some(t)
}

/// The conv's bias, or zeros.
fn bias_values(eg: &EGraph, b: Option<Id>, m: usize) -> Option<Vec<f64>> {
    match b {
        Some(b) => Some(const_f32(eg, b)?.0.iter().map(|&x| x as f64).collect()),
        None => Some(vec![0.0; m]),
    }
}

/// `add-into-conv-bias`: `conv + c` and `conv - c` with a per-channel constant `c`.
fn add_into_conv_bias(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (conv_class, c_class, sign) = match (node.op()?, &children(eg, node)[..]) {
        (Op::Binary(BinaryOp::Add), &[a, b]) if const_conv(eg, a).is_some() => (a, b, 1.0),
        (Op::Binary(BinaryOp::Add), &[a, b]) => (b, a, 1.0),
        (Op::Binary(BinaryOp::Sub), &[a, b]) => (a, b, -1.0),
        _ => return None,
    };
    let c = const_conv(eg, conv_class)?;
    let rank = ty(eg, conv_class)?.shape.len();
    let add = channel_values(eg, c_class, rank, c.out_channels)?;
    let bias_key = c.b.map_or(Some("none".to_string()), |b| const_key(eg, b))?;
    let key = format!("bias{sign}:{bias_key}:{}", const_key(eg, c_class)?);
    let mut t = Term::new();
    let b = t.derived(eg, key, || {
        let old = bias_values(eg, c.b, c.out_channels)?;
        Some(Tensor::from_vec(
            vec![c.out_channels],
            old.iter().zip(&add).map(|(b, a)| (b + sign * a) as f32).collect::<Vec<f32>>(),
        ))
    })?;
    let w = t.class(c.w);
    conv_term(&mut t, &c, w, b);
    Some(t)
}

/// `add-into-gemm-bias`: `gemm(a, b) + c` (no C) and `matmul(a, b) + c` (2-D) with constant `c`.
fn add_into_gemm_bias(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Binary(BinaryOp::Add), &[l, r]) = (node.op()?, &children(eg, node)[..]) else { return None };
    for (prod, c) in [(l, r), (r, l)] {
        if constant(eg, c).is_none() || ty(eg, c)?.dtype != DType::F32 {
            continue;
        }
        for n in &eg[prod].nodes {
            let ch = children(eg, n);
            let gemm = match n.op() {
                Some(Op::Gemm { alpha, trans_a, trans_b, .. }) if ch.len() == 2 => {
                    Op::Gemm { alpha: *alpha, beta: 1.0.into(), trans_a: *trans_a, trans_b: *trans_b }
                }
                Some(Op::MatMul)
                    if ch.len() == 2 && ty(eg, ch[0])?.shape.len() == 2 && ty(eg, ch[1])?.shape.len() == 2 =>
                {
                    Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b: false }
                }
                _ => continue,
            };
            let mut t = Term::new();
            let refs = [t.class(ch[0]), t.class(ch[1]), t.class(c)];
            t.op(gemm, &refs);
            return Some(t);
        }
    }
    None
}

/// `pad-into-conv`: `conv(pad(x), w, b)` with a zero constant pad of the spatial axes only.
fn pad_into_conv(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Conv(attrs)) = node.op() else { return None };
    let ch = children(eg, node);
    let (pads, x) = eg[ch[0]].nodes.iter().find_map(|n| match n.op() {
        Some(Op::Pad { mode: PadMode::Constant, pads, value }) if *value == 0.0.into() => {
            Some((pads.clone(), children(eg, n)[0]))
        }
        _ => None,
    })?;
    let rank = pads.len() / 2;
    let spatial = rank.checked_sub(2)?;
    let (begin, end) = pads.split_at(rank);
    if spatial != attrs.kernel.len()
        || begin[..2].iter().chain(&end[..2]).any(|&p| p != 0)
        || pads.iter().any(|&p| p < 0)
    {
        return None;
    }
    let mut merged = attrs.clone();
    for i in 0..spatial {
        merged.pads[i] += begin[2 + i] as usize;
        merged.pads[spatial + i] += end[2 + i] as usize;
    }
    let mut t = Term::new();
    let mut refs = vec![t.class(x)];
    refs.extend(ch[1..].iter().map(|&c| t.class(c)));
    t.op(Op::Conv(merged), &refs);
    Some(t)
}
