//! Import of NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: the one-hot decomposition's
//! numbers (reference evaluator on the imported graph) against a direct loop over the elements,
//! with weights, `ignore_index` inside and outside the class range, every reduction, and the
//! `log_prob` output; and errors that name the attribute or input. The ONNX node suite checks the
//! rest against ONNX's outputs.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, Tensor};

const N: usize = 2;
const C: usize = 4;
const D: usize = 3;

fn scores() -> Tensor {
    f32s(&[N, C, D], &(0..N * C * D).map(|i| ((i * 37 % 11) as f32 - 3.0) / 3.0).collect::<Vec<_>>())
}
fn weights() -> Tensor {
    f32s(&[C], &[0.5, 1.0, 2.0, 0.25])
}
/// Targets [N, D]; -1 is outside the class range.
fn targets() -> Tensor {
    Tensor::from_vec(vec![N, D], vec![0i64, 2, 1, 3, -1, 2])
}

/// A model of `op` on inputs x [N, C, D], t [N, D] and w [C], with outputs `outs`.
fn model(op: &str, outs: &[&str], attrs: Vec<onnx_protobuf::AttributeProto>) -> ModelBuilder {
    let fixed = |d: &[usize]| d.iter().map(|&d| Dim::Fixed(d)).collect();
    let mut b = ModelBuilder::new(13)
        .input("x", &[N, C, D])
        .input_typed("t", INT64, fixed(&[N, D]))
        .input("w", &[C])
        .node_attrs(op, &["x", "t", "w"], outs, attrs);
    for o in outs {
        b = b.output(o);
    }
    b
}

fn run(b: &ModelBuilder) -> Vec<Vec<f64>> {
    let g = verified(b.graph());
    let outs = eval_graph(&g, &[scores(), targets(), weights()]).unwrap_or_else(|e| panic!("{e}"));
    outs.iter().map(|t| t.to_f64_vec()).collect()
}

/// `x[n, c, d]` of a flat [N, C, D] buffer.
fn at(x: &[f64], n: usize, c: usize, d: usize) -> f64 {
    x[(n * C + c) * D + d]
}

/// log-softmax over the class axis, in f64.
fn log_softmax(x: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    for n in 0..N {
        for d in 0..D {
            let lse = (0..C).map(|c| at(x, n, c, d).exp()).sum::<f64>().ln();
            (0..C).for_each(|c| out[(n * C + c) * D + d] = at(x, n, c, d) - lse);
        }
    }
    out
}

/// Per-element `(loss, weight)` of log-probabilities `logp`, the reference's loop.
fn per_element(logp: &[f64], ignore_index: i64) -> Vec<(f64, f64)> {
    let (t, w) = (targets().to_i64_vec(), weights().to_f64_vec());
    let mut out = vec![];
    for n in 0..N {
        for d in 0..D {
            let k = t[n * D + d];
            if k == ignore_index {
                out.push((0.0, 0.0));
            } else {
                out.push((-w[k as usize] * at(logp, n, k as usize, d), w[k as usize]));
            }
        }
    }
    out
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 + 1e-5 * w.abs(), "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn nll_with_weights_and_an_out_of_range_ignore_index_per_reduction() {
    let x = scores().to_f64_vec();
    let el = per_element(&x, -1);
    let sum: f64 = el.iter().map(|e| e.0).sum();
    let weight: f64 = el.iter().map(|e| e.1).sum();
    let want = [("none", el.iter().map(|e| e.0).collect()), ("sum", vec![sum]), ("mean", vec![sum / weight])];
    for (reduction, want) in want {
        let attrs = vec![a_str("reduction", reduction), a_int("ignore_index", -1)];
        let b = model("NegativeLogLikelihoodLoss", &["loss"], attrs);
        assert_close(&run(&b)[0], &want, reduction);
    }
}

#[test]
fn softmax_cross_entropy_mean_over_weights_with_an_ignored_class_and_log_prob() {
    // ignore_index 2 is a class: its targets drop out of the loss and of the mean's divisor;
    // the target -1 (not ignored here) matches no class and contributes nothing either.
    let logp = log_softmax(&scores().to_f64_vec());
    let (t, w) = (targets().to_i64_vec(), weights().to_f64_vec());
    let (mut sum, mut weight) = (0.0, 0.0);
    for (i, &k) in t.iter().enumerate() {
        if k != 2 && (0..C as i64).contains(&k) {
            sum -= w[k as usize] * at(&logp, i / D, k as usize, i % D);
            weight += w[k as usize];
        }
    }
    let b = model("SoftmaxCrossEntropyLoss", &["loss", "log_prob"], vec![a_int("ignore_index", 2)]);
    let got = run(&b);
    assert_close(&got[0], &[sum / weight], "loss");
    assert_close(&got[1], &logp, "log_prob");
    assert_eq!(out_shape(&verified(b.graph()), 0), Vec::<usize>::new());
}

#[test]
fn bad_reduction_and_target_shape_are_named() {
    let e = model("SoftmaxCrossEntropyLoss", &["loss"], vec![a_str("reduction", "avg")]).import().unwrap_err();
    let e = e.to_string();
    assert!(e.contains("(SoftmaxCrossEntropyLoss), attribute 'reduction'"), "{e}");
    let b = ModelBuilder::new(13)
        .input("x", &[N, C, D])
        .input_typed("t", INT64, vec![Dim::Fixed(N)])
        .node("NegativeLogLikelihoodLoss", &["x", "t"], &["loss"])
        .output("loss");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("NegativeLogLikelihoodLoss") && e.contains("'t'"), "{e}");
}
