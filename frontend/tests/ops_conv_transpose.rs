//! Import of `ConvTranspose` as a direct conv: a stride-2, padded 1-D case against a direct
//! scatter loop (reference evaluator on the imported graph), and attribute errors. The ONNX
//! node suite covers groups, dilations, 3-D, auto_pad and output_shape.
mod common;
use common::*;
use kiln_ir::eval_graph;

#[test]
fn strided_padded_1d_equals_the_scatter_definition() {
    let (c, m, k, len, stride, pad) = (2, 3, 3, 4, 2, 1);
    let x: Vec<f32> = (0..c * len).map(|i| (i as f32 * 0.7).sin()).collect();
    let w: Vec<f32> = (0..c * m * k).map(|i| (i as f32 * 1.3).cos()).collect();
    let b = ModelBuilder::new(13)
        .input("x", &[1, c, len])
        .init("w", &f32s(&[c, m, k], &w))
        .node_attrs(
            "ConvTranspose",
            &["x", "w"],
            &["y"],
            vec![a_ints("strides", &[stride as i64]), a_ints("pads", &[pad as i64, pad as i64])],
        )
        .output("y");
    // y[o, j * stride + t - pad] += x[ci, j] * w[ci, o, t]
    let out_len = stride * (len - 1) + k - 2 * pad;
    let mut want = vec![0f64; m * out_len];
    for ci in 0..c {
        for o in 0..m {
            for j in 0..len {
                for t in 0..k {
                    let p = (j * stride + t) as i64 - pad as i64;
                    if (0..out_len as i64).contains(&p) {
                        want[o * out_len + p as usize] += x[ci * len + j] as f64 * w[(ci * m + o) * k + t] as f64;
                    }
                }
            }
        }
    }
    let g = verified(b.graph());
    let got = eval_graph(&g, &[f32s(&[1, c, len], &x)]).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec();
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() < 1e-5, "y[{i}]: {g} vs {w}");
    }
}

#[test]
fn bad_group_and_pads_name_the_attribute() {
    let model = |attrs| {
        ModelBuilder::new(13)
            .input("x", &[1, 4, 5])
            .init("w", &zeros(&[4, 2, 3]))
            .node_attrs("ConvTranspose", &["x", "w"], &["y"], attrs)
            .output("y")
            .import()
            .unwrap_err()
            .to_string()
    };
    assert!(model(vec![a_int("group", 3)]).contains("attribute 'group'"));
    assert!(model(vec![a_ints("pads", &[4, 4])]).contains("attribute 'pads'"));
    assert!(model(vec![a_str("auto_pad", "SAME_WEIRD")]).contains("attribute 'auto_pad'"));
}

#[test]
fn empty_kernels_are_errors_not_wrapped_arithmetic() {
    let e = ModelBuilder::new(13)
        .input("x", &[1, 4, 5])
        .init("w", &zeros(&[4, 2, 0]))
        .node("ConvTranspose", &["x", "w"], &["y"])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("attribute 'kernel_shape'"), "{e}");
}
