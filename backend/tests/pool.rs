//! Pool kernels against the reference evaluator at odd sizes: max and average (with and without
//! count_include_pad), 1-D, 2-D and 3-D (the generic N-D path), strides, pads, dilations and
//! ceil_mode; i8/u8 max pooling exactly; and the aarch64 compile of the N-D and integer paths.

mod common;

use common::{check_against_reference, compile_for_aarch64, random_tensor, rng};
use kiln_ir::{DType, Op, PoolAttrs, PoolKind, TensorType};

const KINDS: [PoolKind; 3] =
    [PoolKind::Max, PoolKind::Avg { count_include_pad: false }, PoolKind::Avg { count_include_pad: true }];

#[test]
fn pool2d_odd_sizes() {
    let mut r = rng(40);
    for &c in &[1, 3, 5] {
        for &hw in &[1, 3, 7, 17] {
            for &(k, s, p, d) in &[(1, 1, 0, 1), (2, 2, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (3, 2, 1, 2), (5, 3, 2, 1)] {
                for ceil_mode in [false, true] {
                    if hw + 2 * p < d * (k - 1) + 1 || p >= k {
                        continue;
                    }
                    for kind in KINDS {
                        let op = Op::Pool(PoolAttrs {
                            kind,
                            kernel: vec![k, k],
                            strides: vec![s, s],
                            dilations: vec![d, d],
                            pads: vec![p, p, p, p],
                            ceil_mode,
                        });
                        let x = random_tensor(&mut r, DType::F32, &[2, c, hw, hw + 2]);
                        check_against_reference(&op, &[x], 1e-4, 1e-5);
                    }
                }
            }
        }
    }
}

#[test]
fn pool1d_and_asymmetric_pads() {
    let mut r = rng(41);
    for kind in KINDS {
        for ceil_mode in [false, true] {
            let op = Op::Pool(PoolAttrs {
                kind,
                kernel: vec![3],
                strides: vec![2],
                dilations: vec![1],
                pads: vec![1, 0],
                ceil_mode,
            });
            let x = random_tensor(&mut r, DType::F32, &[1, 3, 17]);
            check_against_reference(&op, &[x], 1e-4, 1e-5);
            let op = Op::Pool(PoolAttrs {
                kind,
                kernel: vec![2, 3],
                strides: vec![2, 1],
                dilations: vec![1, 1],
                pads: vec![0, 1, 1, 0],
                ceil_mode,
            });
            let x = random_tensor(&mut r, DType::F32, &[1, 5, 7, 9]);
            check_against_reference(&op, &[x], 1e-4, 1e-5);
        }
    }
}

/// Windows above `MAX_UNROLLED_TAPS` take the looped path (the unrolled one took 30 s to compile
/// a 60x80 window): dilated, padded, ceil_mode windows that run past the input.
#[test]
fn large_windows_loop_instead_of_unrolling() {
    let mut r = rng(42);
    for kind in KINDS {
        for ceil_mode in [false, true] {
            for &(kh, kw, s, d, ph, pw, h, w) in
                &[(9, 9, 3, 1, 4, 2, 17, 19), (6, 11, 2, 2, 3, 5, 23, 33), (17, 5, 1, 1, 0, 2, 17, 9)]
            {
                assert!(kh * kw > kiln_backend::kernels::pool::MAX_UNROLLED_TAPS);
                let op = Op::Pool(PoolAttrs {
                    kind,
                    kernel: vec![kh, kw],
                    strides: vec![s, s],
                    dilations: vec![d, d],
                    pads: vec![ph, pw, ph, pw],
                    ceil_mode,
                });
                let x = random_tensor(&mut r, DType::F32, &[1, 3, h, w]);
                check_against_reference(&op, &[x], 1e-4, 1e-5);
            }
        }
    }
}

fn pool_op(kind: PoolKind, k: &[usize], s: &[usize], d: &[usize], pads: &[usize], ceil_mode: bool) -> Op {
    Op::Pool(PoolAttrs {
        kind,
        kernel: k.to_vec(),
        strides: s.to_vec(),
        dilations: d.to_vec(),
        pads: pads.to_vec(),
        ceil_mode,
    })
}

/// Kernel, strides, dilations and pads of one 3-D case.
type Window3d = (&'static [usize], &'static [usize], &'static [usize], &'static [usize]);

/// 3-D pooling (the looped N-D path) at odd sizes, every kind, with strides, pads, dilations and
/// ceil_mode; includes asymmetric pads and windows that differ per axis.
#[test]
fn pool3d_odd_sizes() {
    let mut r = rng(43);
    let cases: [Window3d; 6] = [
        (&[1, 1, 1], &[1, 1, 1], &[1, 1, 1], &[0, 0, 0, 0, 0, 0]),
        (&[2, 2, 2], &[2, 2, 2], &[1, 1, 1], &[0, 0, 0, 0, 0, 0]),
        (&[3, 3, 3], &[1, 1, 1], &[1, 1, 1], &[1, 1, 1, 1, 1, 1]),
        (&[3, 2, 3], &[2, 1, 2], &[2, 1, 1], &[1, 0, 2, 1, 1, 0]),
        (&[1, 3, 2], &[1, 2, 3], &[1, 2, 1], &[0, 1, 1, 0, 2, 1]),
        (&[3, 3, 3], &[3, 2, 2], &[1, 1, 2], &[2, 1, 1, 1, 2, 1]),
    ];
    let mut checked = 0;
    for &n in &[1, 3, 5] {
        for &(k, s, d, pads) in &cases {
            // Every axis must fit one dilated window into the padded input.
            let fits = (0..3).all(|i| n + pads[i] + pads[3 + i] > d[i] * (k[i] - 1));
            if !fits {
                continue;
            }
            for ceil_mode in [false, true] {
                for kind in KINDS {
                    let op = pool_op(kind, k, s, d, pads, ceil_mode);
                    let x = random_tensor(&mut r, DType::F32, &[1, 3, n, n + 2, n + 1]);
                    check_against_reference(&op, &[x], 1e-4, 1e-5);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 60, "only {checked} 3-D cases ran");
}

/// i8/u8 max pooling, 1-D and 2-D (and one 3-D), compared exactly; the fill is the type's
/// minimum, so i8 inputs of -128 and u8 inputs of 0 must come through.
#[test]
fn int_max_pool_exact() {
    let mut r = rng(44);
    for dtype in [DType::I8, DType::U8] {
        for ceil_mode in [false, true] {
            for &(k, s, d, p, n) in
                &[(1, 1, 1, 0, 1), (2, 2, 1, 0, 5), (3, 1, 1, 1, 3), (3, 2, 2, 1, 17), (5, 3, 1, 2, 33)]
            {
                if n + 2 * p < d * (k - 1) + 1 {
                    continue;
                }
                let op = pool_op(PoolKind::Max, &[k], &[s], &[d], &[p, p], ceil_mode);
                let x = random_tensor(&mut r, dtype, &[2, 3, n]);
                check_against_reference(&op, &[x], 0.0, 0.0);
                let op = pool_op(PoolKind::Max, &[k, k], &[s, s], &[d, d], &[p, p, p, p], ceil_mode);
                let x = random_tensor(&mut r, dtype, &[1, 3, n, n + 2]);
                check_against_reference(&op, &[x], 0.0, 0.0);
            }
            let op = pool_op(PoolKind::Max, &[2, 3], &[1, 2], &[1, 1], &[0, 1, 1, 0], ceil_mode);
            let x = random_tensor(&mut r, dtype, &[1, 5, 7, 9]);
            check_against_reference(&op, &[x], 0.0, 0.0);
            let op = pool_op(PoolKind::Max, &[2, 3, 2], &[2, 1, 2], &[1, 1, 2], &[1, 0, 1, 0, 1, 1], ceil_mode);
            let x = random_tensor(&mut r, dtype, &[1, 2, 5, 3, 5]);
            check_against_reference(&op, &[x], 0.0, 0.0);
        }
    }
}

/// The extremes of each integer type: all-minimum and all-maximum inputs.
#[test]
fn int_max_pool_extremes() {
    for (dtype, lo, hi) in [(DType::I8, -128.0, 127.0), (DType::U8, 0.0, 255.0)] {
        for v in [lo, hi] {
            let x = kiln_ir::Tensor::from_f64(dtype, vec![1, 2, 5, 5], &[v; 50]);
            let op = pool_op(PoolKind::Max, &[3, 3], &[2, 2], &[1, 1], &[1, 1, 1, 1], true);
            check_against_reference(&op, &[x], 0.0, 0.0);
        }
    }
}

/// The N-D and integer paths compile for aarch64 (Cranelift must not panic on them).
#[test]
fn nd_and_int_paths_compile_for_aarch64() {
    let ty = |dtype, shape: &[usize]| TensorType { dtype, shape: shape.to_vec() };
    let cases = [
        (pool_op(PoolKind::Max, &[3, 3, 3], &[2, 2, 2], &[1, 1, 1], &[1; 6], true), ty(DType::F32, &[1, 3, 5, 5, 5])),
        (
            pool_op(
                PoolKind::Avg { count_include_pad: true },
                &[2, 3, 2],
                &[1, 2, 1],
                &[2, 1, 1],
                &[1, 0, 1, 0, 1, 1],
                false,
            ),
            ty(DType::F32, &[2, 3, 5, 7, 3]),
        ),
        (
            pool_op(PoolKind::Avg { count_include_pad: false }, &[3, 3, 3], &[1, 1, 1], &[1, 1, 1], &[1; 6], true),
            ty(DType::F32, &[1, 1, 3, 3, 3]),
        ),
        (pool_op(PoolKind::Max, &[3], &[2], &[1], &[1, 1], true), ty(DType::I8, &[1, 3, 17])),
        (pool_op(PoolKind::Max, &[3, 3], &[2, 2], &[2, 2], &[1; 4], false), ty(DType::U8, &[1, 3, 17, 9])),
    ];
    for (op, t) in cases {
        let size = compile_for_aarch64(&op, std::slice::from_ref(&t)).unwrap_or_else(|e| panic!("{op:?} on {t}: {e}"));
        assert!(size > 0, "{op:?} on {t}: empty code");
    }
}
