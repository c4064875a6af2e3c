//! MatMul and Gemm kernels against the reference evaluator at odd sizes: every tile path
//! (4x8 tiles, 4-wide and scalar column tails, row tails, transposed-B dot products, the scalar
//! fallback), batch broadcasting, Gemm alpha/beta/C broadcast, and the non-f32 scalar loops.

mod common;

use common::{check_against_reference, random_tensor, rng};
use kiln_ir::{DType, Op};

const SIZES: [usize; 5] = [1, 3, 5, 17, 33];
const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-5;

#[test]
fn matmul_f32_2d_odd_sizes() {
    let mut r = rng(1);
    for &m in &SIZES {
        for &k in &SIZES {
            for &n in &[1, 3, 4, 8, 9, 17, 33] {
                let a = random_tensor(&mut r, DType::F32, &[m, k]);
                let b = random_tensor(&mut r, DType::F32, &[k, n]);
                check_against_reference(&Op::MatMul, &[a, b], RTOL, 1e-4);
            }
        }
    }
}

#[test]
fn matmul_batched_with_broadcast() {
    let mut r = rng(2);
    let cases: [(&[usize], &[usize]); 5] = [
        (&[2, 3, 5, 7], &[2, 3, 7, 4]),
        (&[3, 5, 7], &[7, 9]),
        (&[5, 7], &[3, 7, 6]),
        (&[2, 1, 3, 5], &[1, 3, 5, 17]),
        (&[1, 1, 5], &[4, 5, 1]),
    ];
    for (sa, sb) in cases {
        let a = random_tensor(&mut r, DType::F32, sa);
        let b = random_tensor(&mut r, DType::F32, sb);
        check_against_reference(&Op::MatMul, &[a, b], RTOL, 1e-4);
    }
}

#[test]
fn matmul_other_dtypes_use_the_scalar_loop() {
    let mut r = rng(3);
    for dtype in [DType::F64, DType::I32, DType::I64] {
        for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (17, 3, 5)] {
            let a = random_tensor(&mut r, dtype, &[2, m, k]);
            let b = random_tensor(&mut r, dtype, &[k, n]);
            check_against_reference(&Op::MatMul, &[a, b], RTOL, ATOL);
        }
    }
}

#[test]
fn gemm_every_transpose_and_c_broadcast() {
    let mut r = rng(4);
    for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (5, 17, 9), (17, 33, 3), (4, 8, 8)] {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let sa = if ta { [k, m] } else { [m, k] };
            let sb = if tb { [n, k] } else { [k, n] };
            let c_shapes: [&[usize]; 5] = [&[], &[n], &[m, 1], &[1, n], &[m, n]];
            for c_shape in c_shapes {
                let op = Op::Gemm { alpha: 0.75.into(), beta: 1.5.into(), trans_a: ta, trans_b: tb };
                let a = random_tensor(&mut r, DType::F32, &sa);
                let b = random_tensor(&mut r, DType::F32, &sb);
                let c = random_tensor(&mut r, DType::F32, c_shape);
                check_against_reference(&op, &[a, b, c], RTOL, 1e-4);
            }
            let op = Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: ta, trans_b: tb };
            let a = random_tensor(&mut r, DType::F32, &sa);
            let b = random_tensor(&mut r, DType::F32, &sb);
            check_against_reference(&op, &[a, b], RTOL, 1e-4);
        }
    }
}

/// A hand-written product, independent of the evaluator: catches a kernel and the oracle
/// agreeing on a wrong answer.
#[test]
fn matmul_2d_matches_a_plain_loop() {
    let mut r = rng(5);
    for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (5, 17, 9), (17, 33, 33), (4, 8, 8), (7, 3, 12)] {
        let a = random_tensor(&mut r, DType::F32, &[m, k]);
        let b = random_tensor(&mut r, DType::F32, &[k, n]);
        let (av, bv) = (a.as_slice::<f32>().unwrap().to_vec(), b.as_slice::<f32>().unwrap().to_vec());
        let got = common::run_kernel(&Op::MatMul, &[a, b]).unwrap_or_else(|e| panic!("{e}"));
        let got = got[0].as_slice::<f32>().unwrap();
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k).map(|p| av[i * k + p] as f64 * bv[p * n + j] as f64).sum();
                let g = got[i * n + j] as f64;
                assert!((g - want).abs() <= 1e-4 + 1e-4 * want.abs(), "[{m}x{k}x{n}] ({i},{j}): {g} vs {want}");
            }
        }
    }
}

/// Without FMA (baseline x86-64) the micro-kernels use mul + add; same results within tolerance.
#[test]
fn matmul_and_gemm_on_the_baseline_isa() {
    let mut r = rng(6);
    for &(m, k, n) in &[(3, 5, 7), (17, 33, 9), (4, 8, 8)] {
        let a = random_tensor(&mut r, DType::F32, &[m, k]);
        let b = random_tensor(&mut r, DType::F32, &[k, n]);
        common::check_against_reference_on(common::IsaFlavor::Baseline, &Op::MatMul, &[a, b], RTOL, 1e-4);
        let a = random_tensor(&mut r, DType::F32, &[m, k]);
        let b = random_tensor(&mut r, DType::F32, &[n, k]);
        let c = random_tensor(&mut r, DType::F32, &[n]);
        let op = Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b: true };
        common::check_against_reference_on(common::IsaFlavor::Baseline, &op, &[a, b, c], RTOL, 1e-4);
    }
}
