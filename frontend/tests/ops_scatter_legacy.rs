//! The deprecated `Scatter` (opsets 9-10) imports as ScatterElements: with and without `axis`,
//! at odd sizes, against a direct loop.
mod common;
use common::*;
use kiln_ir::{eval_graph, Tensor};

fn direct(data: &[f32], cols: usize, idx: &[i64], upd: &[f32], idx_cols: usize, axis: usize) -> Vec<f64> {
    let mut out: Vec<f64> = data.iter().map(|&v| v as f64).collect();
    let rows = data.len() / cols;
    for (k, (&i, &u)) in idx.iter().zip(upd).enumerate() {
        let (r, c) = (k / idx_cols, k % idx_cols);
        let extent = if axis == 0 { rows } else { cols } as i64;
        let i = if i < 0 { i + extent } else { i } as usize;
        let (r, c) = if axis == 0 { (i, c) } else { (r, i) };
        out[r * cols + c] = u as f64;
    }
    out
}

fn scatter(axis: Option<i64>, idx: &[i64], idx_shape: &[usize]) {
    let (rows, cols) = (3, 5);
    let data: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
    let upd: Vec<f32> = (0..idx.len()).map(|v| 100.0 + v as f32).collect();
    let attrs = axis.map(|a| vec![a_int("axis", a)]).unwrap_or_default();
    let g = ModelBuilder::new(10)
        .input("d", &[rows, cols])
        .init("i", &Tensor::from_vec(idx_shape.to_vec(), idx.to_vec()))
        .init("u", &f32s(idx_shape, &upd))
        .node_attrs("Scatter", &["d", "i", "u"], &["y"], attrs)
        .output("y")
        .graph();
    let got = eval_graph(&verified(g), &[f32s(&[rows, cols], &data)]).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec();
    let axis = axis.map_or(0, |a| if a < 0 { a + 2 } else { a }) as usize;
    assert_eq!(got, direct(&data, cols, idx, &upd, idx_shape[1], axis));
}

#[test]
fn scatter_with_axis_1_and_negative_indices() {
    scatter(Some(1), &[4, 0, -1, 2, 3, 1], &[3, 2]);
    scatter(Some(-1), &[0, 2, 4], &[3, 1]);
}

#[test]
fn scatter_without_axis_is_axis_0() {
    scatter(None, &[2, 0, 1, 1, 2], &[1, 5]);
    scatter(None, &[1, 2, 0, 0, 1], &[1, 5]);
}
