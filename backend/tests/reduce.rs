//! Reduce kernels against the reference evaluator: every kind, every axis subset of rank-3 and
//! rank-4 inputs at odd sizes (contiguous, strided-lane and generic paths), keepdims both ways,
//! integer reductions, and ArgMax/ArgMin with first and last index selection.

mod common;

use common::{check_against_reference, random_f32, random_tensor, rng};
use kiln_ir::{DType, Op, ReduceKind};

fn subsets(rank: usize) -> Vec<Vec<usize>> {
    (1..(1u32 << rank)).map(|m| (0..rank).filter(|&i| m & (1 << i) != 0).collect()).collect()
}

#[test]
fn every_kind_every_axis_set_f32() {
    let mut r = rng(30);
    for shape in [vec![3, 5, 17], vec![2, 3, 1, 7], vec![1, 33, 5]] {
        for axes in subsets(shape.len()) {
            for kind in ReduceKind::ALL {
                let (lo, hi) =
                    if matches!(kind, ReduceKind::LogSum | ReduceKind::Prod) { (0.5, 1.5) } else { (-3.0, 3.0) };
                let x = random_f32(&mut r, &shape, lo, hi);
                let op = Op::Reduce { kind, axes: axes.clone(), keepdims: axes.len() % 2 == 0 };
                check_against_reference(&op, &[x], 1e-4, 1e-5);
            }
        }
    }
}

#[test]
fn integer_reductions() {
    let mut r = rng(31);
    for dtype in [DType::I32, DType::I64] {
        for axes in subsets(3) {
            for kind in [
                ReduceKind::Sum,
                ReduceKind::Max,
                ReduceKind::Min,
                ReduceKind::L1,
                ReduceKind::SumSquare,
                ReduceKind::Prod,
            ] {
                let x = random_tensor(&mut r, dtype, &[3, 5, 4]);
                let op = Op::Reduce { kind, axes: axes.clone(), keepdims: true };
                check_against_reference(&op, &[x], 0.0, 0.0);
            }
        }
    }
}

#[test]
fn arg_max_and_min() {
    let mut r = rng(32);
    for dtype in [DType::F32, DType::I32, DType::I64] {
        for axis in 0..3 {
            for last in [false, true] {
                for keepdims in [false, true] {
                    // Small integer range so ties happen and first/last selection matters.
                    let x = random_tensor(&mut r, dtype, &[3, 5, 17]);
                    let x = kiln_ir::Tensor::from_f64(
                        dtype,
                        vec![3, 5, 17],
                        &x.to_f64_vec().iter().map(|v| v.round()).collect::<Vec<_>>(),
                    );
                    check_against_reference(
                        &Op::ArgMax { axis, keepdims, select_last_index: last },
                        std::slice::from_ref(&x),
                        0.0,
                        0.0,
                    );
                    check_against_reference(&Op::ArgMin { axis, keepdims, select_last_index: last }, &[x], 0.0, 0.0);
                }
            }
        }
    }
}

/// `axes: []` means "no axes" in the IR (never "all"); the kernel agrees with the evaluator.
#[test]
fn empty_axes_follow_the_reference() {
    let mut r = rng(33);
    for kind in ReduceKind::ALL {
        let x = random_f32(&mut r, &[3, 5], 0.5, 2.0);
        check_against_reference(&Op::Reduce { kind, axes: vec![], keepdims: true }, &[x], 1e-4, 1e-5);
    }
}
