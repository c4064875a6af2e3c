//! Import of `DFT`: a one-sided forward transform of a real signal against the direct sum, an
//! inverse of a full spectrum, and the attribute errors.
mod common;
use common::*;
use kiln_ir::eval_graph;

fn dft(x: &[f32], shape: &[usize], attrs: Vec<onnx_protobuf::AttributeProto>) -> Vec<f64> {
    let b = ModelBuilder::new(19).input("x", shape).node_attrs("DFT", &["x"], &["y"], attrs).output("y");
    eval_graph(&verified(b.graph()), &[f32s(shape, x)]).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
}

#[test]
fn onesided_forward_of_a_real_signal_is_the_direct_sum() {
    let n = 7;
    let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.9).sin() + 0.25).collect();
    let got = dft(&x, &[1, n, 1], vec![a_int("axis", 1), a_int("onesided", 1)]);
    assert_eq!(got.len(), (n / 2 + 1) * 2);
    for k in 0..=n / 2 {
        let (mut re, mut im) = (0f64, 0f64);
        for (j, &v) in x.iter().enumerate() {
            let a = -2.0 * std::f64::consts::PI * (j * k) as f64 / n as f64;
            (re, im) = (re + v as f64 * a.cos(), im + v as f64 * a.sin());
        }
        assert!((got[2 * k] - re).abs() < 1e-4 && (got[2 * k + 1] - im).abs() < 1e-4, "bin {k}");
    }
}

#[test]
fn inverse_of_a_full_spectrum_round_trips() {
    let n = 5;
    let x: Vec<f32> = (0..2 * n).map(|i| (i as f32 * 0.37).cos()).collect();
    let forward = dft(&x, &[1, n, 2], vec![a_int("axis", 1)]);
    let f32s_back: Vec<f32> = forward.iter().map(|&v| v as f32).collect();
    let back = dft(&f32s_back, &[1, n, 2], vec![a_int("axis", 1), a_int("inverse", 1)]);
    for (b, o) in back.iter().zip(&x) {
        assert!((b - *o as f64).abs() < 1e-4, "{back:?} vs {x:?}");
    }
}

#[test]
fn bad_axis_and_complex_onesided_are_errors() {
    let err = |shape: &[usize], attrs| {
        ModelBuilder::new(19)
            .input("x", shape)
            .node_attrs("DFT", &["x"], &["y"], attrs)
            .output("y")
            .import()
            .unwrap_err()
            .to_string()
    };
    assert!(err(&[1, 4, 1], vec![a_int("axis", 2)]).contains("attribute 'axis'"));
    assert!(err(&[1, 4, 2], vec![a_int("axis", 1), a_int("onesided", 1)]).contains("attribute 'onesided'"));
}
