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
