//! Reference evaluator, reductions and data movement, against values from the ONNX reference evaluator (onnx 1.23.2) and
//! onnxruntime 1.23.2 (each test says which; where both are named they agree within 1e-5).
//! Inputs are `data(shape, seed)`: element `i` is `((i*37 + seed*11) % 23 - 11) / 8`, the same
//! formula in the Python generator, so sums of products are exact in f32 and most expected
//! values are compared exactly (`tol` 0). The generator built a one-node ONNX model per case
//! with `onnx.helper` and ran it through `onnx.reference.ReferenceEvaluator` and
//! `onnxruntime.InferenceSession`; the printed outputs are pasted below.

mod common;

use common::{check, data, Want};
use kiln_ir::*;

/// `|data(shape, seed)|` (positive except zeros), for logarithms.
fn abs_data(shape: &[usize], seed: usize) -> Tensor {
    let v: Vec<f32> = data(shape, seed).as_slice::<f32>().unwrap().iter().map(|x| x.abs()).collect();
    Tensor::from_vec(shape.to_vec(), v)
}

/// Integer data: element `i` is `(i*37 + seed*11) % 23 - 11`, as i32.
fn int_data(shape: &[usize], seed: usize) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<i32> = (0..n).map(|i| ((i * 37 + seed * 11) % 23) as i32 - 11).collect();
    Tensor::from_vec(shape.to_vec(), v)
}
/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_sum_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::Sum, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[-1.375, 0.0, 1.375]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_mean_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::Mean, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[-0.171875, 0.0, 0.171875]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_max_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::Max, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[0.875, 1.25, 1.375]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_min_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::Min, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[-1.375, -1.25, -0.875]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_prod_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::Prod, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[0.0, 0.01373291015625, -0.0]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_l1_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::L1, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[5.125, 6.25, 5.125]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_l2_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::L2, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[2.1830310821533203, 2.506242275238037, 2.1830310821533203]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_logsumexp_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::LogSumExp, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[2.161590099334717, 2.4395623207092285, 2.534287929534912]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_sumsquare_0_2_keep() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::SumSquare, axes: vec![0, 2], keepdims: true };
    let want0: Want = (&[1, 3, 1], DType::F32, &[4.765625, 6.28125, 4.765625]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_sum_1_drop() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::Sum, axes: vec![1], keepdims: false };
    let want0: Want = (&[2, 4], DType::F32, &[0.875, 0.375, -0.125, -0.625, 0.625, 0.125, -0.375, -0.875]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_mean_1_drop_int32() {
    let ins = vec![int_data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::Mean, axes: vec![1], keepdims: false };
    let want0: Want = (&[2, 4], DType::I32, &[2.0, 1.0, 0.0, -1.0, 1.0, 0.0, -1.0, -2.0]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_prod_0_1_keep_int64() {
    let ins = vec![Tensor::from_vec(vec![3, 2, 2], int_data(&[3, 2, 2], 1).to_i64_vec())];
    let op = Op::Reduce { kind: ReduceKind::Prod, axes: vec![0, 1], keepdims: true };
    let want0: Want = (&[1, 1, 2], DType::I64, &[0.0, -16632.0]);
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn reduce_logsum_1_drop() {
    let ins = vec![abs_data(&[2, 3, 4], 1)];
    let op = Op::Reduce { kind: ReduceKind::LogSum, axes: vec![1], keepdims: false };
    let want0: Want = (
        &[2, 4],
        DType::F32,
        &[
            0.4855077862739563,
            0.9650808572769165,
            0.6286086440086365,
            0.7537717819213867,
            0.7537717819213867,
            0.6286086440086365,
            0.9650808572769165,
            0.4855077862739563,
        ],
    );
    check(&op, &ins, &[want0], 1e-06);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn argmax_first() {
    let ins = vec![Tensor::from_vec(vec![3, 4], vec![1.0f32, 3.0, 3.0, 0.0, 2.0, 2.0, -1.0, -1.0, 5.0, 0.0, 5.0, 5.0])];
    let op = Op::ArgMax { axis: 1, keepdims: true, select_last_index: false };
    let want0: Want = (&[3, 1], DType::I64, &[1.0, 0.0, 0.0]);
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn argmax_last() {
    let ins = vec![Tensor::from_vec(vec![3, 4], vec![1.0f32, 3.0, 3.0, 0.0, 2.0, 2.0, -1.0, -1.0, 5.0, 0.0, 5.0, 5.0])];
    let op = Op::ArgMax { axis: 1, keepdims: false, select_last_index: true };
    let want0: Want = (&[3], DType::I64, &[2.0, 1.0, 3.0]);
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn argmin_last_axis0() {
    let ins = vec![Tensor::from_vec(vec![3, 4], vec![1.0f32, 3.0, 3.0, 0.0, 2.0, 2.0, -1.0, -1.0, 5.0, 0.0, 5.0, 5.0])];
    let op = Op::ArgMin { axis: 0, keepdims: false, select_last_index: true };
    let want0: Want = (&[4], DType::I64, &[0.0, 2.0, 1.0, 1.0]);
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn pad_constant_value() {
    let ins = vec![data(&[3, 4], 2)];
    let op = Op::Pad { mode: PadMode::Constant, pads: vec![1, 2, 0, 1], value: 1.5.into() };
    let want0: Want = (
        &[4, 7],
        DType::F32,
        &[
            1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.375, 0.25, -0.875, 0.875, 1.5, 1.5, 1.5, -0.25, -1.375,
            0.375, -0.75, 1.5, 1.5, 1.5, 1.0, -0.125, -1.25, 0.5, 1.5,
        ],
    );
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn pad_reflect() {
    let ins = vec![data(&[3, 4], 2)];
    let op = Op::Pad { mode: PadMode::Reflect, pads: vec![2, 3, 1, 3], value: 0.0.into() };
    let want0: Want = (
        &[6, 10],
        DType::F32,
        &[
            0.5, -1.25, -0.125, 1.0, -0.125, -1.25, 0.5, -1.25, -0.125, 1.0, -0.75, 0.375, -1.375, -0.25, -1.375,
            0.375, -0.75, 0.375, -1.375, -0.25, 0.875, -0.875, 0.25, 1.375, 0.25, -0.875, 0.875, -0.875, 0.25, 1.375,
            -0.75, 0.375, -1.375, -0.25, -1.375, 0.375, -0.75, 0.375, -1.375, -0.25, 0.5, -1.25, -0.125, 1.0, -0.125,
            -1.25, 0.5, -1.25, -0.125, 1.0, -0.75, 0.375, -1.375, -0.25, -1.375, 0.375, -0.75, 0.375, -1.375, -0.25,
        ],
    );
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn pad_edge() {
    let ins = vec![data(&[3, 4], 2)];
    let op = Op::Pad { mode: PadMode::Edge, pads: vec![1, 0, 2, 5], value: 0.0.into() };
    let want0: Want = (
        &[6, 9],
        DType::F32,
        &[
            1.375, 0.25, -0.875, 0.875, 0.875, 0.875, 0.875, 0.875, 0.875, 1.375, 0.25, -0.875, 0.875, 0.875, 0.875,
            0.875, 0.875, 0.875, -0.25, -1.375, 0.375, -0.75, -0.75, -0.75, -0.75, -0.75, -0.75, 1.0, -0.125, -1.25,
            0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, -0.125, -1.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, -0.125, -1.25, 0.5,
            0.5, 0.5, 0.5, 0.5, 0.5,
        ],
    );
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn pad_wrap() {
    let ins = vec![data(&[3, 4], 2)];
    let op = Op::Pad { mode: PadMode::Wrap, pads: vec![2, 1, 1, 4], value: 0.0.into() };
    let want0: Want = (
        &[6, 9],
        DType::F32,
        &[
            -0.75, -0.25, -1.375, 0.375, -0.75, -0.25, -1.375, 0.375, -0.75, 0.5, 1.0, -0.125, -1.25, 0.5, 1.0, -0.125,
            -1.25, 0.5, 0.875, 1.375, 0.25, -0.875, 0.875, 1.375, 0.25, -0.875, 0.875, -0.75, -0.25, -1.375, 0.375,
            -0.75, -0.25, -1.375, 0.375, -0.75, 0.5, 1.0, -0.125, -1.25, 0.5, 1.0, -0.125, -1.25, 0.5, 0.875, 1.375,
            0.25, -0.875, 0.875, 1.375, 0.25, -0.875, 0.875,
        ],
    );
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn slice_negative_steps() {
    let ins = vec![data(&[4, 5], 3)];
    let op = Op::Slice { starts: vec![3, 1], steps: vec![-2, 2], lens: vec![2, 2] };
    let want0: Want = (&[2, 2], DType::F32, &[-0.875, -0.25, -1.125, -0.5]);
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn gather_negative_indices() {
    let ins = vec![data(&[2, 4, 3], 4), Tensor::from_vec(vec![2, 2], vec![-1i64, 0, 2, -4])];
    let op = Op::Gather { axis: 1 };
    let want0: Want = (
        &[2, 2, 2, 3],
        DType::F32,
        &[
            -0.25, -1.375, 0.375, 1.25, 0.125, -1.0, 0.25, -0.875, 0.875, 1.25, 0.125, -1.0, 0.625, -0.5, 1.25, -0.75,
            1.0, -0.125, 1.125, 0.0, -1.125, -0.75, 1.0, -0.125,
        ],
    );
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn transpose_3d() {
    let ins = vec![data(&[2, 3, 4], 5)];
    let op = Op::Transpose { perm: vec![2, 0, 1] };
    let want0: Want = (
        &[4, 2, 3],
        DType::F32,
        &[
            -0.25, 1.0, -0.625, 0.625, -1.0, 0.25, -1.375, -0.125, 1.125, -0.5, 0.75, -0.875, 0.375, -1.25, 0.0, 1.25,
            -0.375, 0.875, -0.75, 0.5, -1.125, 0.125, 1.375, -0.25,
        ],
    );
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn expand_bidirectional() {
    let ins = vec![data(&[4, 1], 6)];
    let op = Op::Expand { shape: vec![2, 1, 3] };
    let want0: Want = (
        &[2, 4, 3],
        DType::F32,
        &[
            1.125, 1.125, 1.125, 0.0, 0.0, 0.0, -1.125, -1.125, -1.125, 0.625, 0.625, 0.625, 1.125, 1.125, 1.125, 0.0,
            0.0, 0.0, -1.125, -1.125, -1.125, 0.625, 0.625, 0.625,
        ],
    );
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn concat_axis1() {
    let ins = vec![data(&[2, 1, 3], 1), data(&[2, 2, 3], 2), data(&[2, 3, 3], 3)];
    let op = Op::Concat { axis: 1 };
    let want0: Want = (
        &[2, 6, 3],
        DType::F32,
        &[
            0.0, -1.125, 0.625, 1.375, 0.25, -0.875, 0.875, -0.25, -1.375, -0.125, -1.25, 0.5, -0.625, 1.125, 0.0,
            -1.125, 0.625, -0.5, -0.5, 1.25, 0.125, 0.375, -0.75, 1.0, -0.125, -1.25, 0.5, 1.25, 0.125, -1.0, 0.75,
            -0.375, 1.375, 0.25, -0.875, 0.875,
        ],
    );
    check(&op, &ins, &[want0], 0.0);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn split_axis0() {
    let ins = vec![data(&[4, 2], 7)];
    let op = Op::Split { axis: 0, sizes: vec![1, 3] };
    let want0: Want = (&[1, 2], DType::F32, &[-0.375, 1.375]);
    let want1: Want = (&[3, 2], DType::F32, &[0.25, -0.875, 0.875, -0.25, -1.375, 0.375]);
    check(&op, &ins, &[want0, want1], 0.0);
}
