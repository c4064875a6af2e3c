//! Pool kernels against the reference evaluator at odd sizes: max and average (with and without
//! count_include_pad), 1-D and 2-D, strides, pads, dilations and ceil_mode.

mod common;

use common::{check_against_reference, random_tensor, rng};
use kiln_ir::{DType, Op, PoolAttrs, PoolKind};

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
            let op = Op::Pool(PoolAttrs { kind, kernel: vec![3], strides: vec![2], dilations: vec![1], pads: vec![1, 0], ceil_mode });
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
