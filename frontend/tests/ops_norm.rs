//! Import of LayerNormalization and RMSNormalization: the decomposition's numbers against a
//! direct computation (reference evaluator on the imported graph), its statistics outputs, and
//! errors that name the attribute. The ONNX node suite checks the rest against ONNX's outputs.
mod common;
use common::*;
use kiln_ir::{eval_graph, Tensor};

fn ramp(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    f32s(shape, &(0..n).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect::<Vec<_>>())
}

fn run(b: &ModelBuilder, x: &Tensor) -> Vec<Vec<f64>> {
    let g = verified(b.graph());
    let outs = eval_graph(&g, std::slice::from_ref(x)).unwrap_or_else(|e| panic!("{e}"));
    outs.iter().map(|t| t.to_f64_vec()).collect()
}

/// LayerNorm of each row of `x` (`rows x cols`), with scale and bias, in f64.
fn layer_norm_rows(x: &[f64], cols: usize, scale: &[f64], bias: &[f64], eps: f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut y, mut means, mut invs) = (vec![], vec![], vec![]);
    for row in x.chunks(cols) {
        let mean = row.iter().sum::<f64>() / cols as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / cols as f64;
        let inv = 1.0 / (var + eps).sqrt();
        y.extend(row.iter().enumerate().map(|(j, v)| (v - mean) * inv * scale[j] + bias[j]));
        means.push(mean);
        invs.push(inv);
    }
    (y, means, invs)
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 + 1e-5 * w.abs(), "{what}[{i}]: {g} vs {w}");
    }
}

#[test]
fn layer_norm_over_the_last_two_axes_with_its_statistics() {
    let (scale, bias) = (ramp(&[3, 5]), ramp(&[3, 5]));
    let b = ModelBuilder::new(17)
        .input("x", &[2, 3, 5])
        .init("s", &scale)
        .init("b", &bias)
        .node_attrs(
            "LayerNormalization",
            &["x", "s", "b"],
            &["y", "mean", "inv"],
            vec![a_int("axis", -2), a_float("epsilon", 0.01)],
        )
        .output("y")
        .output("mean")
        .output("inv");
    let x = ramp(&[2, 3, 5]);
    let got = run(&b, &x);
    let (y, mean, inv) = layer_norm_rows(&x.to_f64_vec(), 15, &scale.to_f64_vec(), &bias.to_f64_vec(), 0.01f32 as f64);
    assert_close(&got[0], &y, "y");
    assert_close(&got[1], &mean, "mean");
    assert_close(&got[2], &inv, "inv");
    assert_eq!(out_shape(&verified(b.graph()), 1), vec![2, 1, 1]);
}

#[test]
fn rms_norm_divides_by_the_root_mean_square() {
    let scale = ramp(&[4]);
    let b = ModelBuilder::new(23)
        .input("x", &[3, 4])
        .init("s", &scale)
        .node("RMSNormalization", &["x", "s"], &["y"])
        .output("y");
    let x = ramp(&[3, 4]);
    let mut want = vec![];
    for row in x.to_f64_vec().chunks(4) {
        let rms = (row.iter().map(|v| v * v).sum::<f64>() / 4.0 + 1e-5f32 as f64).sqrt();
        want.extend(row.iter().zip(scale.to_f64_vec()).map(|(v, s)| v / rms * s));
    }
    assert_close(&run(&b, &x)[0], &want, "y");
}

#[test]
fn bad_axis_and_stash_type_name_the_attribute() {
    let model = |attrs| {
        ModelBuilder::new(17)
            .input("x", &[2, 3])
            .init("s", &ramp(&[3]))
            .node_attrs("LayerNormalization", &["x", "s"], &["y"], attrs)
            .output("y")
    };
    let e = model(vec![a_int("axis", 2)]).import().unwrap_err().to_string();
    assert!(e.contains("(LayerNormalization), attribute 'axis'"), "{e}");
    let e = model(vec![a_int("stash_type", 7)]).import().unwrap_err().to_string();
    assert!(e.contains("attribute 'stash_type'"), "{e}");
}
