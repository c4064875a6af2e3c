//! Kernels of the data-dependent ops (NonZero, Unique, NonMaxSuppression) against the
//! reference evaluator at odd sizes: the bounded results including their zero padding and the
//! run-time length must match exactly.

mod common;

use common::{check_against_reference, rng, run_kernel};
use kiln_ir::{DType, Op, Tensor};
use rand::Rng;

/// A tensor of `shape` whose elements are zero with probability 1/2, else small non-zeros.
fn sparse(r: &mut impl Rng, dtype: DType, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| if r.gen_bool(0.5) { 0.0 } else { r.gen_range(1..4) as f64 }).collect();
    Tensor::from_f64(dtype, shape.to_vec(), &v)
}

#[test]
fn non_zero_matches_the_reference_at_odd_sizes() {
    let mut r = rng(60);
    let shapes: [&[usize]; 7] = [&[], &[1], &[3], &[5, 17], &[3, 1, 5], &[0], &[2, 33]];
    for dtype in [DType::F32, DType::F64, DType::I32, DType::I64, DType::U8, DType::Bool, DType::F16, DType::BF16] {
        for shape in shapes {
            check_against_reference(&Op::NonZero, &[sparse(&mut r, dtype, shape)], 0.0, 0.0);
        }
    }
}

#[test]
fn non_zero_counts_nan_but_not_negative_zero() {
    let x = Tensor::from_vec(vec![5], vec![0.0f32, -0.0, f32::NAN, 1.5, 0.0]);
    let out = run_kernel(&Op::NonZero, &[x]).unwrap();
    assert_eq!(out[0].to_i64_vec(), vec![2, 3, 0, 0, 0]);
    assert_eq!(out[1].to_i64_vec(), vec![2]);
}

/// Random NMS inputs: overlapping boxes, scores with ties, the given run-time parameters.
fn nms_inputs(r: &mut impl Rng, b: usize, c: usize, n: usize, params: (i64, f32, f32)) -> Vec<Tensor> {
    let boxes: Vec<f32> = (0..b * n * 4).map(|_| r.gen_range(0..8) as f32 * 0.5).collect();
    let scores: Vec<f32> = (0..b * c * n).map(|_| r.gen_range(0..6) as f32 * 0.2).collect();
    vec![
        Tensor::from_vec(vec![b, n, 4], boxes),
        Tensor::from_vec(vec![b, c, n], scores),
        Tensor::from_vec(vec![1], vec![params.0]),
        Tensor::from_vec(vec![1], vec![params.1]),
        Tensor::from_vec(vec![], vec![params.2]),
    ]
}

#[test]
fn nms_matches_the_reference_at_odd_sizes() {
    let mut r = rng(61);
    let params = [(3, 0.5, 0.1), (100, 0.0, f32::NEG_INFINITY), (1, 1.0, 0.5), (0, 0.5, 0.0), (-2, 0.3, 0.0)];
    for (b, c, n) in [(1, 1, 1), (1, 3, 5), (2, 1, 17), (3, 5, 3), (1, 2, 33)] {
        for p in params {
            for center_point_box in [false, true] {
                for max_boxes in [n, 2] {
                    let op = Op::NonMaxSuppression { center_point_box, max_boxes };
                    check_against_reference(&op, &nms_inputs(&mut r, b, c, n, p), 0.0, 0.0);
                }
            }
        }
    }
}

#[test]
fn nms_keeps_the_higher_score_and_drops_its_overlap() {
    let boxes = Tensor::from_vec(vec![1, 3, 4], vec![0.0f32, 0.0, 1.0, 1.0, 0.0, 0.1, 1.0, 1.1, 0.0, 10.0, 1.0, 11.0]);
    let scores = Tensor::from_vec(vec![1, 1, 3], vec![0.9f32, 0.95, 0.5]);
    let params = [Tensor::from_vec(vec![1], vec![5i64]), Tensor::scalar(0.5f32), Tensor::scalar(0.0f32)];
    let mut inputs = vec![boxes, scores];
    inputs.extend(params);
    let out = run_kernel(&Op::NonMaxSuppression { center_point_box: false, max_boxes: 3 }, &inputs).unwrap();
    assert_eq!(out[0].to_i64_vec(), vec![0, 0, 1, 0, 0, 2, 0, 0, 0]);
    assert_eq!(out[1].to_i64_vec(), vec![2]);
}

/// Values from a small set so slices repeat.
fn repeating(r: &mut impl Rng, dtype: DType, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|_| r.gen_range(0..3) as f64 - 1.0).collect();
    let v: Vec<f64> = if dtype.is_signed_int() || dtype.is_float() { v } else { v.iter().map(|x| x + 1.0).collect() };
    Tensor::from_f64(dtype, shape.to_vec(), &v)
}

#[test]
fn unique_matches_the_reference_at_odd_sizes() {
    let mut r = rng(62);
    let cases: [(&[usize], usize); 7] =
        [(&[1], 0), (&[3], 0), (&[17], 0), (&[5, 2], 0), (&[3, 5], 1), (&[2, 17, 1], 1), (&[3, 3, 2], 2)];
    for dtype in [DType::F32, DType::F64, DType::I64, DType::I32, DType::U8, DType::Bool] {
        for (shape, axis) in cases {
            for sorted in [false, true] {
                let x = repeating(&mut r, dtype, shape);
                check_against_reference(&Op::Unique { axis, sorted }, &[x], 0.0, 0.0);
            }
        }
    }
}

#[test]
fn unique_sorts_slices_lexicographically() {
    let x = Tensor::from_vec(vec![3, 2], vec![2.0f32, 0.0, 1.0, 5.0, 2.0, 0.0]);
    let out = run_kernel(&Op::Unique { axis: 0, sorted: true }, &[x]).unwrap();
    assert_eq!(out[0].to_f64_vec(), vec![1.0, 5.0, 2.0, 0.0, 0.0, 0.0]);
    assert_eq!(out[1].to_i64_vec(), vec![1, 0, 0]);
    assert_eq!(out[2].to_i64_vec(), vec![1, 0, 1]);
    assert_eq!(out[3].to_i64_vec(), vec![1, 2, 0]);
    assert_eq!(out[4].to_i64_vec(), vec![2]);
}
