//! Import of `GatherElements`: the one-hot selection against a direct loop on axis 0 and 1 with
//! negative indices and indices smaller than the data off the axis, NaN in unselected data, and
//! the errors for a wrong index dtype and an oversized axis.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, Tensor};

fn gather(data: &Tensor, idx: &[i64], idx_shape: &[usize], axis: i64) -> Vec<f64> {
    let indices = Tensor::from_vec(idx_shape.to_vec(), idx.to_vec());
    let g = ModelBuilder::new(13)
        .input_typed("d", 1, data.shape().iter().map(|&d| Dim::Fixed(d)).collect())
        .init("i", &indices)
        .node_attrs("GatherElements", &["d", "i"], &["y"], vec![a_int("axis", axis)])
        .output("y")
        .graph();
    eval_graph(&verified(g), std::slice::from_ref(data)).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
}

#[test]
fn gathers_per_element_along_either_axis() {
    // data 3x4 = 0..12, with a NaN never selected.
    let mut v: Vec<f32> = (0..12).map(|x| x as f32).collect();
    v[11] = f32::NAN;
    let data = f32s(&[3, 4], &v);
    // axis 1, indices 2x3 (smaller than data off the axis), one negative.
    let idx = [0, 3, -2, 1, 1, 0];
    let want: Vec<f64> = (0..2)
        .flat_map(|i| (0..3).map(move |j| (i, j)))
        .map(|(i, j)| {
            let k = idx[i * 3 + j];
            let k = if k < 0 { k + 4 } else { k } as usize;
            v[i * 4 + k] as f64
        })
        .collect();
    assert_eq!(gather(&data, &idx, &[2, 3], 1), want);
    // axis 0 (negative axis spelling), indices 2x4.
    let idx0 = [2, 0, 1, -1, 0, 0, 2, 1];
    let want0: Vec<f64> = (0..8)
        .map(|p| {
            let k = idx0[p];
            let k = if k < 0 { k + 3 } else { k } as usize;
            v[k * 4 + p % 4] as f64
        })
        .collect();
    let got0 = gather(&data, &idx0, &[2, 4], -2);
    assert_eq!(got0[..3], want0[..3]);
    assert!(got0[3].is_nan() && want0[3].is_nan());
    assert_eq!(got0[4..], want0[4..]);
}

#[test]
fn wrong_index_dtype_and_bad_axis_are_errors() {
    let data = f32s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    let model = |idx: &Tensor, axis| {
        ModelBuilder::new(13)
            .input("d", &[2, 2])
            .init("i", idx)
            .node_attrs("GatherElements", &["d", "i"], &["y"], vec![a_int("axis", axis)])
            .output("y")
            .import()
            .unwrap_err()
            .to_string()
    };
    let e = model(&data, 0);
    assert!(e.contains("(GatherElements)") && e.contains("int32 or int64"), "{e}");
    let e = model(&Tensor::from_vec(vec![2, 2], vec![0i64; 4]), 2);
    assert!(e.contains("attribute 'axis'"), "{e}");
}
