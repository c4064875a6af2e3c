//! Training-mode BatchNormalization against direct loops of the ONNX reference
//! (`_batchnorm_training_mode`): `Y` normalised with the batch statistics, the running
//! statistics blended by `momentum`, at odd sizes and ranks 2 to 4, f32 and f64.

use super::super::node_harness::{float, int, run};
use kiln_ir::{DType, Tensor};

/// `(y, running_mean, running_var)` computed directly, in f64.
fn reference(shape: &[usize], x: &[f64], p: &[Vec<f64>; 4], eps: f64, momentum: f64) -> [Vec<f64>; 3] {
    let (n, c) = (shape[0], shape[1]);
    let inner: usize = shape[2..].iter().product();
    let count = (n * inner) as f64;
    let at = |b: usize, ch: usize, i: usize| x[(b * c + ch) * inner + i];
    let mut y = vec![0.0; x.len()];
    let (mut rm, mut rv) = (vec![0.0; c], vec![0.0; c]);
    for ch in 0..c {
        let all = || (0..n).flat_map(move |b| (0..inner).map(move |i| (b, i)));
        let mean = all().map(|(b, i)| at(b, ch, i)).sum::<f64>() / count;
        let var = all().map(|(b, i)| (at(b, ch, i) - mean).powi(2)).sum::<f64>() / count;
        for (b, i) in all() {
            y[(b * c + ch) * inner + i] = p[0][ch] * (at(b, ch, i) - mean) / (var + eps).sqrt() + p[1][ch];
        }
        rm[ch] = p[2][ch] * momentum + mean * (1.0 - momentum);
        rv[ch] = p[3][ch] * momentum + var * (1.0 - momentum);
    }
    [y, rm, rv]
}

fn wave(n: usize, phase: f64) -> Vec<f64> {
    (0..n).map(|i| ((i as f64 * 0.7 + phase).sin() * 3.0 + phase).round() / 2.0 + 0.25).collect()
}

fn check(dtype: DType, shape: &[usize], attrs: &[(&str, f32)]) {
    let c = shape[1];
    let x = wave(shape.iter().product(), 0.3);
    let p = [wave(c, 1.0), wave(c, 2.0), wave(c, 3.0), wave(c, 4.0).iter().map(|v| v.abs() + 0.5).collect()];
    let get = |k: &str, d: f32| attrs.iter().find(|a| a.0 == k).map_or(d, |a| a.1) as f64;
    let want = reference(shape, &x, &p, get("epsilon", 1e-5), get("momentum", 0.9));
    let t = |s: &[usize], v: &[f64]| Tensor::from_f64(dtype, s.to_vec(), v);
    let inputs = [t(shape, &x), t(&[c], &p[0]), t(&[c], &p[1]), t(&[c], &p[2]), t(&[c], &p[3])];
    let mut node_attrs = vec![int("training_mode", 1)];
    node_attrs.extend(attrs.iter().map(|&(k, v)| float(k, v)));
    let outs = run("BatchNormalization", 15, &inputs, &["y", "rm", "rv"], node_attrs).unwrap_or_else(|e| panic!("{e}"));
    let tol = if dtype == DType::F64 { 1e-9 } else { 1e-4 };
    for (k, (got, want)) in outs.iter().zip(&want).enumerate() {
        assert_eq!(got.dtype(), dtype);
        let got = got.to_f64_vec();
        assert_eq!(got.len(), want.len(), "output {k} of {shape:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "output {k} of {shape:?}: {g} vs {w}");
        }
    }
}

#[test]
fn statistics_over_every_axis_but_the_channel_at_odd_sizes() {
    for shape in [&[1, 1, 1][..], &[3, 5], &[1, 3, 17], &[5, 1, 3, 3], &[2, 17, 1, 5]] {
        check(DType::F32, shape, &[]);
        check(DType::F64, shape, &[]);
    }
}

#[test]
fn epsilon_and_momentum_attributes_are_used() {
    check(DType::F32, &[2, 3, 5], &[("epsilon", 1e-2), ("momentum", 0.5)]);
    check(DType::F64, &[3, 1, 5], &[("momentum", 0.0)]);
}

#[test]
fn inference_mode_returns_only_y() {
    let c = 3;
    let t = |s: &[usize], v: Vec<f32>| Tensor::from_vec(s.to_vec(), v);
    let inputs = [
        t(&[1, c, 1], vec![1.0, 2.0, 3.0]),
        t(&[c], vec![1.0; 3]),
        t(&[c], vec![0.0; 3]),
        t(&[c], vec![0.0; 3]),
        t(&[c], vec![1.0; 3]),
    ];
    let outs = run("BatchNormalization", 15, &inputs, &["y"], vec![]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outs.len(), 1);
}
