//! Import of QuantizeLinear/DequantizeLinear: per-axis uint8 quantization against the
//! definition (round half to even, saturation), dequantization back, and the error for a scale
//! that fits no quantization granularity.
mod common;
use common::*;
use kiln_ir::{eval_graph, Tensor};

#[test]
fn per_axis_quantize_rounds_half_to_even_and_saturates() {
    let x = [0.5f32, 1.5, 2.5, -3.0, 300.0, 7.25];
    let (scale, zp) = ([1.0f32, 0.5], [10u8, 0]);
    let b = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .init("s", &f32s(&[2], &scale))
        .init("z", &Tensor::from_vec(vec![2], zp.to_vec()))
        .node_attrs("QuantizeLinear", &["x", "s", "z"], &["q"], vec![a_int("axis", 0)])
        .node_attrs("DequantizeLinear", &["q", "s", "z"], &["y"], vec![a_int("axis", 0)])
        .output("q")
        .output("y");
    let outs = eval_graph(&verified(b.graph()), &[f32s(&[2, 3], &x)]).unwrap_or_else(|e| panic!("{e}"));
    let q: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, v)| ((v / scale[i / 3]).round_ties_even() + zp[i / 3] as f32).clamp(0.0, 255.0) as f64)
        .collect();
    assert_eq!(outs[0].to_f64_vec(), q);
    let y: Vec<f64> = q.iter().enumerate().map(|(i, v)| (v - zp[i / 3] as f64) * scale[i / 3] as f64).collect();
    assert_eq!(outs[1].to_f64_vec(), y);
}

#[test]
fn a_scale_of_the_wrong_shape_is_an_error() {
    let e = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .init("s", &f32s(&[4], &[1.0; 4]))
        .node("QuantizeLinear", &["x", "s"], &["q"])
        .output("q")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("(QuantizeLinear)") && e.contains("scale shape [4]"), "{e}");
}
