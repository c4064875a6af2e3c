//! Import of the sequence-model ops of opsets 24-27 (CausalConvWithState, LinearAttention,
//! TensorScatter) and of FlexAttention (ai.onnx.preview), each evaluated by the IR reference
//! evaluator and compared against a direct loop of the ONNX reference semantics at odd sizes,
//! plus the errors for attribute values kiln refuses.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, Tensor};

/// Deterministic values in about [-1, 1).
fn data(n: usize, seed: u32) -> Vec<f32> {
    (0..n).map(|i| (((i as u32 * 2654435761 + seed * 40503) >> 7) % 2000) as f32 / 1000.0 - 1.0).collect()
}

fn fixed(dims: &[usize]) -> Vec<Dim> {
    dims.iter().map(|&d| Dim::Fixed(d)).collect()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "element {i}: got {g}, want {w}");
    }
}

fn run(b: &ModelBuilder, inputs: &[Tensor]) -> Vec<Vec<f64>> {
    let outs = eval_graph(&b.graph(), inputs).unwrap_or_else(|e| panic!("{e}"));
    outs.iter().map(Tensor::to_f64_vec).collect()
}

// ---------------------------------------------------------------- CausalConvWithState

/// Direct loop: `y[b,c,t] = act(bias[c] + sum_j w[c,j] * padded[b,c,t+j])`, state = last k-1.
fn causal_conv_loop(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    past: Option<&[f32]>,
    [bn, c, l, k]: [usize; 4],
    silu: bool,
) -> (Vec<f64>, Vec<f64>) {
    let p = l + k - 1;
    let padded = |b: usize, ch: usize, t: usize| -> f64 {
        if t >= k - 1 {
            x[(b * c + ch) * l + t - (k - 1)] as f64
        } else {
            past.map_or(0.0, |s| s[(b * c + ch) * (k - 1) + t] as f64)
        }
    };
    let mut y = Vec::new();
    let mut state = Vec::new();
    for b in 0..bn {
        for ch in 0..c {
            for t in 0..l {
                let mut acc = bias.map_or(0.0, |bs| bs[ch] as f64);
                for j in 0..k {
                    acc += w[ch * k + j] as f64 * padded(b, ch, t + j);
                }
                y.push(if silu { acc / (1.0 + (-acc).exp()) } else { acc });
            }
        }
    }
    for b in 0..bn {
        for ch in 0..c {
            state.extend((p - (k - 1)..p).map(|t| padded(b, ch, t)));
        }
    }
    (y, state)
}

fn causal_conv_case(dims: [usize; 4], with_bias: bool, with_past: bool, activation: &str) {
    let [bn, c, l, k] = dims;
    let x = data(bn * c * l, 1);
    let w = data(c * k, 2);
    let bias = data(c, 3);
    let past = data(bn * c * (k - 1), 4);
    let mut m = ModelBuilder::new(27).input("x", &[bn, c, l]).init("w", &f32s(&[c, 1, k], &w));
    let mut ins = vec!["x", "w", "", ""];
    let mut feeds = vec![f32s(&[bn, c, l], &x)];
    if with_bias {
        m = m.init("bias", &f32s(&[c], &bias));
        ins[2] = "bias";
    }
    if with_past {
        m = m.input("past", &[bn, c, k - 1]);
        ins[3] = "past";
        feeds.push(f32s(&[bn, c, k - 1], &past));
    }
    let m = m
        .node_attrs("CausalConvWithState", &ins, &["y", "state"], vec![a_str("activation", activation)])
        .output("y")
        .output("state");
    let got = run(&m, &feeds);
    let silu = activation != "none";
    let bias = with_bias.then_some(&bias[..]);
    let past = with_past.then_some(&past[..]);
    let (y, state) = causal_conv_loop(&x, &w, bias, past, dims, silu);
    assert_close(&got[0], &y, 1e-5);
    assert_eq!(got[1], state);
}

#[test]
fn causal_conv_matches_a_direct_loop_at_odd_sizes() {
    causal_conv_case([1, 1, 1, 1], false, false, "none");
    causal_conv_case([3, 5, 17, 4], true, true, "silu");
    causal_conv_case([1, 3, 5, 3], false, true, "swish");
    causal_conv_case([3, 1, 5, 5], true, false, "none");
    // Input shorter than the state: the new state keeps part of the past.
    causal_conv_case([1, 3, 2, 5], false, true, "none");
    causal_conv_case([3, 3, 1, 17], true, true, "silu");
}

#[test]
fn causal_conv_rejects_unknown_activation_and_bad_weight() {
    let model = |w: &[usize], act: &str| {
        ModelBuilder::new(27)
            .input("x", &[1, 3, 5])
            .input_typed("w", FLOAT, fixed(w))
            .node_attrs("CausalConvWithState", &["x", "w"], &["y", "s"], vec![a_str("activation", act)])
            .output("y")
            .import()
            .unwrap_err()
            .to_string()
    };
    let e = model(&[3, 1, 2], "gelu");
    assert!(e.contains("attribute 'activation'") && e.contains("gelu"), "{e}");
    let e = model(&[2, 1, 2], "none");
    assert!(e.contains("(CausalConvWithState)") && e.contains("weight"), "{e}");
}

// ---------------------------------------------------------------- LinearAttention

/// Shapes of one LinearAttention case: batch, steps, query heads, kv heads, d_k, d_v, and the
/// widths of decay (kv heads or kv heads * d_k) and beta (kv heads or 1).
#[derive(Clone, Copy)]
struct LaCase {
    b: usize,
    t: usize,
    hq: usize,
    hkv: usize,
    dk: usize,
    dv: usize,
    decay_per_dim: bool,
    beta_per_head: bool,
}

/// The reference recurrence, literally, in f64: returns (output [B,T,Hq*dv], state [B,Hkv,dk,dv]).
fn linear_attention_loop(c: LaCase, rule: &str, ins: &LaInputs, scale: f64) -> (Vec<f64>, Vec<f64>) {
    let (gating, delta) = (rule.contains("gated"), rule.contains("delta"));
    let g = c.hq / c.hkv;
    let idx_s = |b: usize, h: usize, i: usize, j: usize| ((b * c.hkv + h) * c.dk + i) * c.dv + j;
    let mut s: Vec<f64> = match &ins.past {
        Some(p) => p.iter().map(|&x| x as f64).collect(),
        None => vec![0.0; c.b * c.hkv * c.dk * c.dv],
    };
    let mut out = vec![0.0; c.b * c.t * c.hq * c.dv];
    let at = |x: &[f32], b: usize, t: usize, w: usize, i: usize| x[(b * c.t + t) * w + i] as f64;
    for t in 0..c.t {
        for b in 0..c.b {
            for h in 0..c.hkv {
                let k = |i: usize| at(&ins.k, b, t, c.hkv * c.dk, h * c.dk + i);
                if gating {
                    let dw = if c.decay_per_dim { c.hkv * c.dk } else { c.hkv };
                    for i in 0..c.dk {
                        let col = if c.decay_per_dim { h * c.dk + i } else { h };
                        let e = at(ins.decay.as_ref().unwrap(), b, t, dw, col).exp();
                        (0..c.dv).for_each(|j| s[idx_s(b, h, i, j)] *= e);
                    }
                }
                let mut v: Vec<f64> = (0..c.dv).map(|j| at(&ins.v, b, t, c.hkv * c.dv, h * c.dv + j)).collect();
                if delta {
                    let bw = if c.beta_per_head { c.hkv } else { 1 };
                    let beta = at(ins.beta.as_ref().unwrap(), b, t, bw, if c.beta_per_head { h } else { 0 });
                    for (j, vj) in v.iter_mut().enumerate() {
                        let r: f64 = (0..c.dk).map(|i| s[idx_s(b, h, i, j)] * k(i)).sum();
                        *vj = beta * (*vj - r);
                    }
                }
                for i in 0..c.dk {
                    (0..c.dv).for_each(|j| s[idx_s(b, h, i, j)] += k(i) * v[j]);
                }
                for qh in h * g..(h + 1) * g {
                    for j in 0..c.dv {
                        let q = |i: usize| at(&ins.q, b, t, c.hq * c.dk, qh * c.dk + i);
                        let o: f64 = (0..c.dk).map(|i| q(i) * s[idx_s(b, h, i, j)]).sum();
                        out[(b * c.t + t) * c.hq * c.dv + qh * c.dv + j] = scale * o;
                    }
                }
            }
        }
    }
    (out, s)
}

struct LaInputs {
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    past: Option<Vec<f32>>,
    decay: Option<Vec<f32>>,
    beta: Option<Vec<f32>>,
}

fn linear_attention_case(c: LaCase, rule: &str, with_past: bool, scale: Option<f32>) {
    let (gating, delta) = (rule.contains("gated"), rule.contains("delta"));
    let dw = if c.decay_per_dim { c.hkv * c.dk } else { c.hkv };
    let bw = if c.beta_per_head { c.hkv } else { 1 };
    // Decay in log space (negative) and beta in (0, 1), as models feed them.
    let ins = LaInputs {
        q: data(c.b * c.t * c.hq * c.dk, 11),
        k: data(c.b * c.t * c.hkv * c.dk, 12),
        v: data(c.b * c.t * c.hkv * c.dv, 13),
        past: with_past.then(|| data(c.b * c.hkv * c.dk * c.dv, 14)),
        decay: gating.then(|| data(c.b * c.t * dw, 15).iter().map(|x| -0.5 * x.abs()).collect()),
        beta: delta.then(|| data(c.b * c.t * bw, 16).iter().map(|x| 0.5 + 0.4 * x).collect()),
    };
    let shapes: [(&str, Vec<usize>, Option<&Vec<f32>>); 6] = [
        ("q", vec![c.b, c.t, c.hq * c.dk], Some(&ins.q)),
        ("k", vec![c.b, c.t, c.hkv * c.dk], Some(&ins.k)),
        ("v", vec![c.b, c.t, c.hkv * c.dv], Some(&ins.v)),
        ("past", vec![c.b, c.hkv, c.dk, c.dv], ins.past.as_ref()),
        ("decay", vec![c.b, c.t, dw], ins.decay.as_ref()),
        ("beta", vec![c.b, c.t, bw], ins.beta.as_ref()),
    ];
    let mut m = ModelBuilder::new(27);
    let (mut names, mut feeds) = (vec![], vec![]);
    for (name, shape, vals) in &shapes {
        match vals {
            Some(v) => {
                m = m.input(name, shape);
                names.push(*name);
                feeds.push(f32s(shape, v));
            }
            None => names.push(""),
        }
    }
    let mut attrs =
        vec![a_int("q_num_heads", c.hq as i64), a_int("kv_num_heads", c.hkv as i64), a_str("update_rule", rule)];
    attrs.extend(scale.map(|s| a_float("scale", s)));
    let m = m.node_attrs("LinearAttention", &names, &["y", "state"], attrs).output("y").output("state");
    let got = run(&m, &feeds);
    let scale = scale.map_or(1.0 / (c.dk as f64).sqrt(), f64::from);
    let (y, state) = linear_attention_loop(c, rule, &ins, scale);
    assert_close(&got[0], &y, 1e-4);
    assert_close(&got[1], &state, 1e-4);
}

#[test]
fn linear_attention_matches_the_recurrence_for_every_rule() {
    let c = LaCase { b: 3, t: 5, hq: 3, hkv: 3, dk: 5, dv: 3, decay_per_dim: true, beta_per_head: true };
    for rule in ["linear", "gated", "delta", "gated_delta"] {
        linear_attention_case(c, rule, false, None);
        linear_attention_case(c, rule, true, Some(0.3));
    }
}

#[test]
fn linear_attention_gqa_per_head_decay_scalar_beta_and_one_step() {
    let gqa = LaCase { b: 1, t: 3, hq: 6, hkv: 3, dk: 1, dv: 5, decay_per_dim: false, beta_per_head: false };
    linear_attention_case(gqa, "gated_delta", true, None);
    let mqa = LaCase { b: 3, t: 1, hq: 5, hkv: 1, dk: 3, dv: 1, decay_per_dim: true, beta_per_head: true };
    linear_attention_case(mqa, "gated_delta", false, None);
    linear_attention_case(mqa, "gated", true, None);
    let long = LaCase { b: 1, t: 17, hq: 1, hkv: 1, dk: 3, dv: 5, decay_per_dim: false, beta_per_head: true };
    linear_attention_case(long, "delta", true, None);
}

#[test]
fn linear_attention_errors_name_the_attribute_or_input() {
    let model = |rule: &str, hq: i64, with_decay: bool| {
        let mut m = ModelBuilder::new(27).input("q", &[1, 2, 6]).input("k", &[1, 2, 6]).input("v", &[1, 2, 6]);
        let mut ins = vec!["q", "k", "v", "", ""];
        if with_decay {
            m = m.input("g", &[1, 2, 3]);
            ins[4] = "g";
        }
        let attrs = vec![a_int("q_num_heads", hq), a_int("kv_num_heads", 3), a_str("update_rule", rule)];
        m.node_attrs("LinearAttention", &ins, &["y", "s"], attrs).output("y").import().unwrap_err().to_string()
    };
    let e = model("chunked", 3, false);
    assert!(e.contains("attribute 'update_rule'") && e.contains("chunked"), "{e}");
    let e = model("linear", 2, false);
    assert!(e.contains("attribute 'q_num_heads'"), "{e}");
    let e = model("gated", 3, false);
    assert!(e.contains("requires the decay input"), "{e}");
    let e = model("linear", 3, true);
    assert!(e.contains("forbids the decay input"), "{e}");
}

// ---------------------------------------------------------------- FlexAttention

/// A one-input one-output body graph `x -> ... -> out` with the given nodes and initializers.
fn body(nodes: &[(&str, &[&str], &str)], inits: &[(&str, Tensor)]) -> onnx_protobuf::GraphProto {
    let mut b = ModelBuilder::new(26);
    for (name, t) in inits {
        b = b.init(name, t);
    }
    for (op, ins, out) in nodes {
        b = b.node(op, ins, &[out]);
    }
    let mut g = b.graph;
    g.input.push(value_info("x", FLOAT, None));
    g.output.push(value_info("out", FLOAT, None));
    g
}

fn graph_attr(name: &str, g: onnx_protobuf::GraphProto) -> onnx_protobuf::AttributeProto {
    let mut a = onnx_protobuf::AttributeProto::new();
    a.name = name.to_string();
    a.type_ = onnx_protobuf::attribute_proto::AttributeType::GRAPH.into();
    a.g = Some(g).into();
    a
}

/// A FlexAttention model (domain ai.onnx.preview) on Q, K, V of the given shapes.
fn flex_model(q: &[usize], k: &[usize], v: &[usize], attrs: Vec<onnx_protobuf::AttributeProto>) -> ModelBuilder {
    let mut m = ModelBuilder::new(26).input("q", q).input("k", k).input("v", v);
    let mut preview = onnx_protobuf::OperatorSetIdProto::new();
    preview.domain = "ai.onnx.preview".into();
    preview.version = 1;
    m.model.opset_import.push(preview);
    m = m.node_attrs("FlexAttention", &["q", "k", "v"], &["y"], attrs).output("y");
    m.graph.node[0].domain = "ai.onnx.preview".into();
    m
}

/// Direct loops: scores (with `score_mod`), softmax, `prob_mod`, GQA by `h / group`.
fn flex_loop(
    [b, hq, l, e]: [usize; 4],
    [hkv, s, ev]: [usize; 3],
    qkv: [&[f32]; 3],
    scale: f64,
    score_mod: impl Fn(usize, usize, f64) -> f64,
    prob_mod: impl Fn(f64) -> f64,
) -> Vec<f64> {
    let [q, k, v] = qkv.map(|x| x.iter().map(|&y| y as f64).collect::<Vec<_>>());
    let mut y = Vec::new();
    for (bi, h, i) in (0..b).flat_map(|bi| (0..hq).flat_map(move |h| (0..l).map(move |i| (bi, h, i)))) {
        let kh = h / (hq / hkv);
        let qrow = &q[((bi * hq + h) * l + i) * e..][..e];
        let scores: Vec<f64> = (0..s)
            .map(|j| {
                let krow = &k[((bi * hkv + kh) * s + j) * e..][..e];
                score_mod(i, j, scale * qrow.iter().zip(krow).map(|(a, c)| a * c).sum::<f64>())
            })
            .collect();
        let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = scores.iter().map(|x| (x - max).exp()).sum();
        let probs: Vec<f64> = scores.iter().map(|x| prob_mod((x - max).exp() / sum)).collect();
        for c in 0..ev {
            y.push((0..s).map(|j| probs[j] * v[((bi * hkv + kh) * s + j) * ev + c]).sum());
        }
    }
    y
}

#[test]
fn flex_attention_plain_and_gqa_match_direct_loops() {
    for (qd, kvd, scale) in
        [([1, 1, 1, 1], [1, 1, 1], None), ([3, 6, 5, 3], [2, 17, 5], Some(0.3)), ([1, 5, 3, 17], [5, 1, 3], None)]
    {
        let [b, hq, l, e] = qd;
        let [hkv, s, ev] = kvd;
        let (q, k, v) = (data(b * hq * l * e, 21), data(b * hkv * s * e, 22), data(b * hkv * s * ev, 23));
        let m = flex_model(
            &[b, hq, l, e],
            &[b, hkv, s, e],
            &[b, hkv, s, ev],
            scale.map(|s| a_float("scale", s)).into_iter().collect(),
        );
        let feeds = [f32s(&[b, hq, l, e], &q), f32s(&[b, hkv, s, e], &k), f32s(&[b, hkv, s, ev], &v)];
        let got = run(&m, &feeds);
        let scale = scale.map_or(1.0 / (e as f64).sqrt(), f64::from);
        assert_close(&got[0], &flex_loop(qd, kvd, [&q, &k, &v], scale, |_, _, x| x, |p| p), 1e-5);
    }
}

#[test]
fn flex_attention_inlines_score_and_prob_modifiers() {
    // score_mod: a causal mask built from the scores' own shape (Shape/Range fold at import),
    // then a soft cap; prob_mod: a scale.
    let i64_1 = |v: &[i64]| Tensor::from_vec(vec![v.len()], v.to_vec());
    let score_mod = body(
        &[
            ("Shape", &["x"], "shape"),
            ("Gather", &["shape", "i2"], "len_q"),
            ("Gather", &["shape", "i3"], "len_k"),
            ("Range", &["zero", "len_q", "one"], "rq"),
            ("Range", &["zero", "len_k", "one"], "rk"),
            ("Reshape", &["rq", "col"], "qi"),
            ("GreaterOrEqual", &["qi", "rk"], "mask"),
            ("Div", &["x", "cap"], "xc"),
            ("Tanh", &["xc"], "t"),
            ("Mul", &["t", "cap"], "capped"),
            ("Where", &["mask", "capped", "neg_inf"], "out"),
        ],
        &[
            ("i2", Tensor::scalar(2i64)),
            ("i3", Tensor::scalar(3i64)),
            ("zero", Tensor::scalar(0i64)),
            ("one", Tensor::scalar(1i64)),
            ("col", i64_1(&[-1, 1])),
            ("cap", Tensor::scalar(0.7f32)),
            ("neg_inf", Tensor::scalar(f32::NEG_INFINITY)),
        ],
    );
    let prob_mod = body(&[("Mul", &["x", "half"], "out")], &[("half", Tensor::scalar(0.5f32))]);
    let (qd, kvd) = ([3, 3, 5, 3], [3, 5, 1]);
    let (q, k, v) = (data(3 * 3 * 5 * 3, 31), data(3 * 3 * 5 * 3, 32), data(3 * 3 * 5, 33));
    let attrs = vec![graph_attr("score_mod", score_mod), graph_attr("prob_mod", prob_mod)];
    let m = flex_model(&[3, 3, 5, 3], &[3, 3, 5, 3], &[3, 3, 5, 1], attrs);
    let got = run(&m, &[f32s(&[3, 3, 5, 3], &q), f32s(&[3, 3, 5, 3], &k), f32s(&[3, 3, 5, 1], &v)]);
    let mask = |i: usize, j: usize, x: f64| if i >= j { 0.7 * (x / 0.7).tanh() } else { f64::NEG_INFINITY };
    let want = flex_loop(qd, kvd, [&q, &k, &v], 1.0 / 3f64.sqrt(), mask, |p| 0.5 * p);
    assert_close(&got[0], &want, 1e-5);
}

#[test]
fn flex_attention_errors_name_the_attribute() {
    let two_outputs = {
        let mut g = body(&[("Neg", &["x"], "out")], &[]);
        g.output.push(value_info("x", FLOAT, None));
        g
    };
    let e = flex_model(&[1, 2, 3, 4], &[1, 2, 3, 4], &[1, 2, 3, 4], vec![graph_attr("score_mod", two_outputs)])
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("attribute 'score_mod'") && e.contains("1 inputs and 2 outputs"), "{e}");
    let shrink = body(&[("ReduceMax", &["x"], "out")], &[]);
    let e = flex_model(&[1, 2, 3, 4], &[1, 2, 3, 4], &[1, 2, 3, 4], vec![graph_attr("prob_mod", shrink)])
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("attribute 'prob_mod'") && e.contains("keep the shape"), "{e}");
    let e = flex_model(&[1, 2, 3, 4], &[1, 2, 3, 4], &[1, 2, 3, 4], vec![a_int("softmax_precision", 10)])
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("attribute 'softmax_precision'"), "{e}");
    // In the default domain FlexAttention is unknown.
    let mut m = flex_model(&[1, 1, 1, 1], &[1, 1, 1, 1], &[1, 1, 1, 1], vec![]);
    m.graph.node[0].domain.clear();
    let e = m.import().unwrap_err().to_string();
    assert!(e.contains("unsupported op"), "{e}");
}

// ---------------------------------------------------------------- TensorScatter

/// The reference loop: row `s` of `update` lands on cache row `w[b] + s` (mod M if circular).
fn tensor_scatter_loop(
    cache: &[f32],
    update: &[f32],
    cs: &[usize],
    us: &[usize],
    axis: usize,
    w: &[i64],
    circ: bool,
) -> Vec<f64> {
    let mut out: Vec<f64> = cache.iter().map(|&x| x as f64).collect();
    let (m, l) = (cs[axis] as i64, us[axis]);
    let after: usize = cs[axis + 1..].iter().product();
    let before: usize = cs[1..axis].iter().product();
    for b in 0..cs[0] {
        for p in 0..before {
            for s in 0..l {
                let row = if circ { (w[b] + s as i64).rem_euclid(m) } else { w[b] + s as i64 } as usize;
                for q in 0..after {
                    let dst = ((b * before + p) * cs[axis] + row) * after + q;
                    out[dst] = update[((b * before + p) * l + s) * after + q] as f64;
                }
            }
        }
    }
    out
}

fn tensor_scatter_case(cs: &[usize], us: &[usize], axis: i64, w: Option<&[i64]>, circ: bool) {
    let cache = data(cs.iter().product(), 41);
    let mut update = data(us.iter().product(), 42);
    update[0] = f32::INFINITY;
    let mode = if circ { "circular" } else { "linear" };
    let mut m = ModelBuilder::new(24).input("cache", cs).input("update", us);
    let mut feeds = vec![f32s(cs, &cache), f32s(us, &update)];
    let mut ins = vec!["cache", "update"];
    if let Some(w) = w {
        m = m.input_typed("w", INT64, fixed(&[cs[0]]));
        feeds.push(Tensor::from_vec(vec![cs[0]], w.to_vec()));
        ins.push("w");
    }
    let attrs = vec![a_str("mode", mode), a_int("axis", axis)];
    let m = m.node_attrs("TensorScatter", &ins, &["y"], attrs).output("y");
    let got = run(&m, &feeds);
    let axis = if axis < 0 { (axis + cs.len() as i64) as usize } else { axis as usize };
    let zeros = vec![0; cs[0]];
    assert_eq!(got[0], tensor_scatter_loop(&cache, &update, cs, us, axis, w.unwrap_or(&zeros), circ));
}

#[test]
fn tensor_scatter_matches_the_reference_loop() {
    tensor_scatter_case(&[3, 5, 17, 3], &[3, 5, 1, 3], -2, Some(&[0, 16, 7]), false);
    tensor_scatter_case(&[3, 17, 5], &[3, 3, 5], 1, Some(&[14, 0, 5]), false);
    tensor_scatter_case(&[1, 1], &[1, 1], 1, None, false);
    tensor_scatter_case(&[3, 3, 5, 1], &[3, 3, 5, 1], 2, None, true);
    // Circular: wrap-around, write indices past the end and the whole cache rewritten.
    tensor_scatter_case(&[3, 1, 5, 3], &[3, 1, 3, 3], -2, Some(&[3, 11, 4]), true);
    tensor_scatter_case(&[3, 5, 3], &[3, 5, 3], 1, Some(&[2, 0, 6]), true);
}

#[test]
fn tensor_scatter_errors_name_the_attribute_or_input() {
    let model = |us: &[usize], axis: i64, mode: &str| {
        ModelBuilder::new(24)
            .input("c", &[2, 4, 3])
            .input("u", us)
            .node_attrs("TensorScatter", &["c", "u"], &["y"], vec![a_int("axis", axis), a_str("mode", mode)])
            .output("y")
            .import()
            .unwrap_err()
            .to_string()
    };
    let e = model(&[2, 1, 3], 0, "linear");
    assert!(e.contains("attribute 'axis'"), "{e}");
    let e = model(&[2, 1, 3], 1, "ring");
    assert!(e.contains("attribute 'mode'") && e.contains("ring"), "{e}");
    let e = model(&[2, 5, 3], 1, "linear");
    assert!(e.contains("(TensorScatter)") && e.contains("does not fit"), "{e}");
}
