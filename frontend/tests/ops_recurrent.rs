//! Import of RNN, GRU and LSTM (unrolled over time) against a direct scalar loop per batch row,
//! at odd sizes (T 5, B 3, I 1 or 3, H 1, 5 or 17), covering both directions and
//! bidirectional, batch-major layout, sequence_lens (including a zero length, and the per-row
//! reversal of a reverse direction), initial states, clip, non-default activations with
//! alpha/beta, GRU's linear_before_reset, LSTM's peepholes and input_forget; that the input
//! projection is one hoisted MatMul; and the errors for bad attributes. The same configurations
//! were also checked against onnxruntime 1.23.2 (max abs difference < 1e-6).
mod common;
use common::*;
use kiln_frontend::FrontendError;
use kiln_ir::{eval_graph, Tensor};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::AttributeProto;

fn a_strs(name: &str, v: &[&str]) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.to_string();
    a.type_ = AttributeType::STRINGS.into();
    a.strings = v.iter().map(|s| s.as_bytes().to_vec()).collect();
    a
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Rnn,
    Gru,
    Lstm,
}

#[derive(Clone, Copy)]
enum Act {
    Sigmoid,
    Tanh,
    Relu,
    Affine(f32, f32),
}

fn act(a: Act, x: f32, clip: Option<f32>) -> f32 {
    let x = clip.map_or(x, |c| x.clamp(-c, c));
    match a {
        Act::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Act::Tanh => x.tanh(),
        Act::Relu => x.max(0.0),
        Act::Affine(a, b) => a * x + b,
    }
}

fn act_name(a: Act) -> &'static str {
    match a {
        Act::Sigmoid => "Sigmoid",
        Act::Tanh => "Tanh",
        Act::Relu => "Relu",
        Act::Affine(..) => "Affine",
    }
}

/// One recurrent node's configuration and data (time-major; `batch_major` transposes I/O).
struct Case {
    kind: Kind,
    t: usize,
    b: usize,
    i: usize,
    h: usize,
    reverse: Vec<bool>,
    lens: Option<Vec<usize>>,
    /// Per direction, the cell's activations; `None` for the defaults.
    acts: Option<Vec<Vec<Act>>>,
    clip: Option<f32>,
    linear_before_reset: bool,
    input_forget: bool,
    peepholes: bool,
    batch_major: bool,
}

impl Case {
    fn new(kind: Kind, t: usize, b: usize, i: usize, h: usize) -> Case {
        Case {
            kind,
            t,
            b,
            i,
            h,
            reverse: vec![false],
            lens: None,
            acts: None,
            clip: None,
            linear_before_reset: false,
            input_forget: false,
            peepholes: false,
            batch_major: false,
        }
    }
    fn gates(&self) -> usize {
        match self.kind {
            Kind::Rnn => 1,
            Kind::Gru => 3,
            Kind::Lstm => 4,
        }
    }
    fn d(&self) -> usize {
        self.reverse.len()
    }
    fn acts(&self, d: usize) -> Vec<Act> {
        match (&self.acts, self.kind) {
            (Some(a), _) => a[d].clone(),
            (None, Kind::Rnn) => vec![Act::Tanh],
            (None, Kind::Gru) => vec![Act::Sigmoid, Act::Tanh],
            (None, Kind::Lstm) => vec![Act::Sigmoid, Act::Tanh, Act::Tanh],
        }
    }
}

/// Deterministic values in about [-1, 1].
fn data(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|k| (((k * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0) * 0.9).collect()
}

struct Data {
    x: Vec<f32>,
    w: Vec<f32>,
    r: Vec<f32>,
    bias: Vec<f32>,
    h0: Vec<f32>,
    c0: Vec<f32>,
    p: Vec<f32>,
}

fn make_data(c: &Case) -> Data {
    let (g, d) = (c.gates(), c.d());
    Data {
        x: data(c.t * c.b * c.i, 1),
        w: data(d * g * c.h * c.i, 2),
        r: data(d * g * c.h * c.h, 3),
        bias: data(d * 2 * g * c.h, 4),
        h0: data(d * c.b * c.h, 5),
        c0: data(d * c.b * c.h, 6),
        p: data(d * 3 * c.h, 7),
    }
}

/// The direct loop: `(Y [T, D, B, H], Y_h [D, B, H], Y_c [D, B, H])`, time-major.
fn reference(c: &Case, dt: &Data) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (d_n, g, h) = (c.d(), c.gates(), c.h);
    let mut y = vec![0f32; c.t * d_n * c.b * h];
    let (mut yh, mut yc) = (vec![0f32; d_n * c.b * h], vec![0f32; d_n * c.b * h]);
    for d in 0..d_n {
        let acts = c.acts(d);
        for bb in 0..c.b {
            let len = c.lens.as_ref().map_or(c.t, |l| l[bb]);
            let at = |v: &[f32], k: usize| v[(d * c.b + bb) * h + k];
            let mut hs: Vec<f32> = (0..h).map(|k| at(&dt.h0, k)).collect();
            let mut cs: Vec<f32> = (0..h).map(|k| at(&dt.c0, k)).collect();
            for s in 0..len {
                let t = if c.reverse[d] { len - 1 - s } else { s };
                let xrow = &dt.x[(t * c.b + bb) * c.i..][..c.i];
                // gate pre-activations: x W^T + Wb and h R^T + Rb separately.
                let xw = |row: usize| -> f32 {
                    let w = &dt.w[(d * g * h + row) * c.i..][..c.i];
                    w.iter().zip(xrow).map(|(a, b)| a * b).sum::<f32>() + dt.bias[d * 2 * g * h + row]
                };
                let hr = |row: usize, hv: &[f32]| -> f32 {
                    let r = &dt.r[(d * g * h + row) * h..][..h];
                    r.iter().zip(hv).map(|(a, b)| a * b).sum::<f32>() + dt.bias[d * 2 * g * h + g * h + row]
                };
                let new_h: Vec<f32> = match c.kind {
                    Kind::Rnn => (0..h).map(|k| act(acts[0], xw(k) + hr(k, &hs), c.clip)).collect(),
                    Kind::Gru => {
                        let z: Vec<f32> = (0..h).map(|k| act(acts[0], xw(k) + hr(k, &hs), c.clip)).collect();
                        let r: Vec<f32> = (0..h).map(|k| act(acts[0], xw(h + k) + hr(h + k, &hs), c.clip)).collect();
                        let rh: Vec<f32> = (0..h).map(|k| r[k] * hs[k]).collect();
                        (0..h)
                            .map(|k| {
                                let rec =
                                    if c.linear_before_reset { r[k] * hr(2 * h + k, &hs) } else { hr(2 * h + k, &rh) };
                                let cand = act(acts[1], xw(2 * h + k) + rec, c.clip);
                                (1.0 - z[k]) * cand + z[k] * hs[k]
                            })
                            .collect()
                    }
                    Kind::Lstm => {
                        let pp = |gate: usize, k: usize| if c.peepholes { dt.p[d * 3 * h + gate * h + k] } else { 0.0 };
                        let pre = |gate: usize, k: usize| xw(gate * h + k) + hr(gate * h + k, &hs);
                        let mut out = vec![0f32; h];
                        let mut new_c = vec![0f32; h];
                        for k in 0..h {
                            let i = act(acts[0], pre(0, k) + pp(0, k) * cs[k], c.clip);
                            let f = if c.input_forget {
                                1.0 - i
                            } else {
                                act(acts[0], pre(2, k) + pp(2, k) * cs[k], c.clip)
                            };
                            let cc = act(acts[1], pre(3, k), c.clip);
                            new_c[k] = f * cs[k] + i * cc;
                            let o = act(acts[0], pre(1, k) + pp(1, k) * new_c[k], c.clip);
                            out[k] = o * act(acts[2], new_c[k], None);
                        }
                        cs = new_c;
                        out
                    }
                };
                hs = new_h;
                y[((t * d_n + d) * c.b + bb) * h..][..h].copy_from_slice(&hs);
            }
            yh[(d * c.b + bb) * h..][..h].copy_from_slice(&hs);
            yc[(d * c.b + bb) * h..][..h].copy_from_slice(&cs);
        }
    }
    (y, yh, yc)
}

/// `v` of shape `[a, b, rest]` with its first two axes swapped.
fn swap01(v: &[f32], a: usize, b: usize) -> Vec<f32> {
    let rest = v.len() / (a * b);
    (0..b).flat_map(|j| (0..a).flat_map(move |i| (0..rest).map(move |k| v[(i * b + j) * rest + k]))).collect()
}

fn model(c: &Case, dt: &Data) -> ModelBuilder {
    let (g, d, h) = (c.gates(), c.d(), c.h);
    let dir = match (c.reverse.as_slice(), d) {
        (_, 2) => "bidirectional",
        ([true], _) => "reverse",
        _ => "forward",
    };
    let (xs, hs) =
        if c.batch_major { (vec![c.b, c.t, c.i], vec![c.b, d, h]) } else { (vec![c.t, c.b, c.i], vec![d, c.b, h]) };
    let mut attrs =
        vec![a_int("hidden_size", h as i64), a_str("direction", dir), a_int("layout", c.batch_major as i64)];
    if let Some(acts) = &c.acts {
        let all: Vec<Act> = acts.concat();
        attrs.push(a_strs("activations", &all.iter().map(|&a| act_name(a)).collect::<Vec<_>>()));
        let (alpha, beta): (Vec<f32>, Vec<f32>) =
            all.iter().filter_map(|a| if let Act::Affine(x, y) = a { Some((*x, *y)) } else { None }).unzip();
        if !alpha.is_empty() {
            attrs.push(a_floats("activation_alpha", &alpha));
            attrs.push(a_floats("activation_beta", &beta));
        }
    }
    if let Some(clip) = c.clip {
        attrs.push(a_float("clip", clip));
    }
    if c.linear_before_reset {
        attrs.push(a_int("linear_before_reset", 1));
    }
    if c.input_forget {
        attrs.push(a_int("input_forget", 1));
    }
    let lens: Vec<i32> = c.lens.clone().unwrap_or_else(|| vec![c.t; c.b]).iter().map(|&l| l as i32).collect();
    let mut m = ModelBuilder::new(14)
        .input("x", &xs)
        .input("h0", &hs)
        .init("w", &f32s(&[d, g * h, c.i], &dt.w))
        .init("r", &f32s(&[d, g * h, h], &dt.r))
        .init("b", &f32s(&[d, 2 * g * h], &dt.bias))
        .init("lens", &Tensor::from_vec(vec![c.b], lens));
    let mut inputs = vec!["x", "w", "r", "b", "lens", "h0"];
    if c.kind == Kind::Lstm {
        m = m.input("c0", &hs).init("p", &f32s(&[d, 3 * h], &dt.p));
        inputs.extend(["c0", if c.peepholes { "p" } else { "" }]);
    }
    let op = match c.kind {
        Kind::Rnn => "RNN",
        Kind::Gru => "GRU",
        Kind::Lstm => "LSTM",
    };
    let outs: &[&str] = if c.kind == Kind::Lstm { &["y", "yh", "yc"] } else { &["y", "yh"] };
    m = m.node_attrs(op, &inputs, outs, attrs);
    outs.iter().fold(m, |m, o| m.output(o))
}

/// Imports and evaluates the case, and compares every output with the direct loop.
fn check(c: &Case) {
    let dt = make_data(c);
    let g = model(c, &dt).graph();
    let (d, h) = (c.d(), c.h);
    let (mut y, mut yh, mut yc) = reference(c, &dt);
    let (mut x, mut h0, mut c0) = (dt.x.clone(), dt.h0.clone(), dt.c0.clone());
    let mut hs = vec![d, c.b, h];
    let mut ys = vec![c.t, d, c.b, h];
    if c.batch_major {
        x = swap01(&x, c.t, c.b);
        (h0, c0) = (swap01(&h0, d, c.b), swap01(&c0, d, c.b));
        // Y [T, D, B, H] -> [B, T, D, H]: swap (T*D) with B, then fix the inner order.
        y = (0..c.b)
            .flat_map(|bb| (0..c.t * d).flat_map(move |td| (0..h).map(move |k| (bb, td, k))))
            .map(|(bb, td, k)| y[(td * c.b + bb) * h + k])
            .collect();
        (yh, yc) = (swap01(&yh, d, c.b), swap01(&yc, d, c.b));
        hs = vec![c.b, d, h];
        ys = vec![c.b, c.t, d, h];
    }
    let xs = if c.batch_major { [c.b, c.t, c.i] } else { [c.t, c.b, c.i] };
    let mut inputs = vec![f32s(&xs, &x), f32s(&hs, &h0)];
    if c.kind == Kind::Lstm {
        inputs.push(f32s(&hs, &c0));
    }
    let outs = eval_graph(&g, &inputs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outs[0].shape(), &ys[..]);
    assert_eq!(outs[1].shape(), &hs[..]);
    let wants = [y, yh, yc];
    for (k, (got, want)) in outs.iter().zip(&wants).enumerate() {
        for (j, (a, b)) in got.to_f64_vec().iter().zip(want).enumerate() {
            assert!((a - *b as f64).abs() <= 1e-5 + 1e-5 * b.abs() as f64, "output {k}[{j}]: kiln {a}, loop {b}");
        }
    }
}

#[test]
fn rnn_bidirectional_with_sequence_lens_and_per_direction_activations() {
    let mut c = Case::new(Kind::Rnn, 5, 3, 3, 5);
    c.reverse = vec![false, true];
    c.lens = Some(vec![5, 2, 0]);
    c.acts = Some(vec![vec![Act::Tanh], vec![Act::Affine(0.5, 0.25)]]);
    c.clip = Some(1.5);
    check(&c);
    let mut c = Case::new(Kind::Rnn, 5, 3, 1, 17);
    c.reverse = vec![true];
    c.acts = Some(vec![vec![Act::Relu]]);
    c.batch_major = true;
    check(&c);
}

#[test]
fn gru_with_and_without_linear_before_reset() {
    for lbr in [false, true] {
        let mut c = Case::new(Kind::Gru, 5, 3, 3, 5);
        c.reverse = vec![false, true];
        c.lens = Some(vec![3, 5, 1]);
        c.linear_before_reset = lbr;
        check(&c);
        let mut c = Case::new(Kind::Gru, 5, 1, 1, 1);
        c.linear_before_reset = lbr;
        c.clip = Some(0.3);
        c.batch_major = true;
        check(&c);
    }
}

#[test]
fn lstm_with_peepholes_input_forget_and_reverse_sequence_lens() {
    let mut c = Case::new(Kind::Lstm, 5, 3, 3, 5);
    c.reverse = vec![true];
    c.lens = Some(vec![2, 5, 4]);
    c.peepholes = true;
    check(&c);
    let mut c = Case::new(Kind::Lstm, 5, 3, 1, 17);
    c.reverse = vec![false, true];
    c.input_forget = true;
    c.clip = Some(0.7);
    c.acts = Some(vec![vec![Act::Sigmoid, Act::Relu, Act::Tanh]; 2]);
    c.batch_major = true;
    check(&c);
}

#[test]
fn input_projection_is_one_matmul_for_all_steps_and_directions() {
    let mut c = Case::new(Kind::Rnn, 5, 3, 3, 5);
    c.reverse = vec![false, true];
    let g = model(&c, &make_data(&c)).graph();
    // One hoisted [T*B, I] x [I, D*H] product plus one state product per step and direction.
    let matmuls: Vec<_> = g.nodes.iter().filter(|(_, n)| n.op.name() == "matmul").collect();
    assert_eq!(matmuls.len(), 1 + 5 * 2);
    assert_eq!(g.ty(matmuls[0].1.outputs[0]).shape, vec![15, 10]);
}

#[test]
fn bad_attributes_and_runtime_sequence_lens_are_errors() {
    let c = Case::new(Kind::Gru, 3, 1, 1, 1);
    let dt = make_data(&c);
    let with = |attr: AttributeProto| {
        let mut m = model(&c, &dt);
        let n = m.graph.node.last_mut().unwrap();
        n.attribute.retain(|a| a.name != attr.name);
        n.attribute.push(attr);
        m.import().unwrap_err().to_string()
    };
    let e = with(a_strs("activations", &["Sigmoid", "Cube"]));
    assert!(e.contains("(GRU), attribute 'activations'") && e.contains("Cube"), "{e}");
    let e = with(a_str("direction", "sideways"));
    assert!(e.contains("attribute 'direction'"), "{e}");
    let e = with(a_int("hidden_size", 4));
    assert!(e.contains("attribute 'hidden_size'"), "{e}");
    let e = with(a_strs("activations", &["Affine", "Tanh"]));
    assert!(e.contains("attribute 'activation_alpha'"), "{e}");
    // sequence_lens from a graph input must be bound at compile time.
    let mut m = model(&c, &dt);
    m.graph.initializer.retain(|t| t.name != "lens");
    m = m.input_typed("lens", 6, vec![kiln_frontend::Dim::Fixed(1)]);
    match m.import() {
        Err(FrontendError::NeedsValue { graph_input, .. }) => assert_eq!(graph_input, "lens"),
        other => panic!("expected NeedsValue, got {:?}", other.map(|_| ())),
    }
}
