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
