//! Data-movement kernels against the reference evaluator: every op, odd sizes, every dtype
//! (element sizes 1, 2, 4, 8), negative Slice steps, negative Gather indices, every Pad mode
//! with negative pads.

mod common;

use common::*;
use kiln_ir::{DType, Op, PadMode, Tensor};

fn each_dtype(mut f: impl FnMut(DType)) {
    for d in DType::ALL {
        f(d);
    }
}

#[test]
fn identity_and_reshape_copy_every_dtype() {
    each_dtype(|d| {
        for n in SIZES {
            let x = random_tensor(&mut rng(n as u64), d, &[n, 3]);
            check_against_reference(&Op::Identity, &[x.clone()], 0.0, 0.0);
            check_against_reference(&Op::Reshape { shape: vec![3, n] }, &[x], 0.0, 0.0);
        }
    });
}

#[test]
fn transpose_any_perm() {
    let perms: [&[usize]; 5] = [&[1, 0, 2], &[2, 1, 0], &[0, 2, 1], &[1, 2, 0], &[0, 1, 2]];
    each_dtype(|d| {
        for n in SIZES {
            for perm in perms {
                let x = random_tensor(&mut rng(n as u64), d, &[2, n, 5]);
                check_against_reference(&Op::Transpose { perm: perm.to_vec() }, &[x], 0.0, 0.0);
            }
        }
    });
    let x = random_tensor(&mut rng(1), DType::F32, &[2, 3, 5, 7]);
    check_against_reference(&Op::Transpose { perm: vec![3, 1, 0, 2] }, &[x], 0.0, 0.0);
}

#[test]
fn concat_and_split_on_each_axis() {
    each_dtype(|d| {
        for n in [1, 5, 17] {
            for axis in 0..2 {
                let mut r = rng(n as u64);
                let mut sa = vec![3, n];
                let mut sb = vec![3, n];
                sa[axis] = 2;
                sb[axis] = n;
                let a = random_tensor(&mut r, d, &sa);
                let b = random_tensor(&mut r, d, &sb);
                let c = random_tensor(&mut r, d, &sa);
                check_against_reference(&Op::Concat { axis }, &[a, b, c], 0.0, 0.0);
                let x = random_tensor(&mut r, d, &[n + 3, n + 2]);
                let total = [n + 3, n + 2][axis];
                let sizes = vec![1, total - 3, 2];
                check_against_reference(&Op::Split { axis, sizes }, &[x], 0.0, 0.0);
            }
        }
    });
}

#[test]
fn slice_with_negative_steps() {
    each_dtype(|d| {
        for n in SIZES {
            let x = random_tensor(&mut rng(n as u64), d, &[4, n]);
            // Reverse the inner axis entirely; every other row forward.
            let op = Op::Slice { starts: vec![0, n - 1], steps: vec![2, -1], lens: vec![2, n] };
            check_against_reference(&op, &[x.clone()], 0.0, 0.0);
            let op = Op::Slice { starts: vec![3, n / 2], steps: vec![-3, 2], lens: vec![2, n.div_ceil(4)] };
            check_against_reference(&op, &[x], 0.0, 0.0);
        }
    });
}

#[test]
fn gather_wraps_negative_indices() {
    each_dtype(|d| {
        for n in [1, 3, 17] {
            let x = random_tensor(&mut rng(n as u64), d, &[3, n, 2]);
            let idx: Vec<i64> = (0..5).map(|k| (k as i64 % n as i64) - if k % 2 == 1 { n as i64 } else { 0 }).collect();
            let i64s = Tensor::from_vec(vec![5], idx.clone());
            check_against_reference(&Op::Gather { axis: 1 }, &[x.clone(), i64s], 0.0, 0.0);
            let i32s = Tensor::from_vec(vec![1, 5], idx.iter().map(|&v| v as i32).collect::<Vec<_>>());
            check_against_reference(&Op::Gather { axis: 1 }, &[x.clone(), i32s], 0.0, 0.0);
            let first = Tensor::from_vec(vec![2], vec![-1i64, 0]);
            check_against_reference(&Op::Gather { axis: 0 }, &[x, first], 0.0, 0.0);
        }
    });
}

#[test]
fn gather_clamps_out_of_range_indices() {
    // Documented kernel behaviour (the reference rejects these): clamp into the axis.
    let x = Tensor::from_vec(vec![4], vec![10i32, 11, 12, 13]);
    let idx = Tensor::from_vec(vec![3], vec![7i64, -9, 2]);
    let out = run_kernel(&Op::Gather { axis: 0 }, &[x, idx]).expect("kernel");
    assert_eq!(out[0].as_slice::<i32>().expect("i32"), &[13, 10, 12]);
}

#[test]
fn expand_broadcasts() {
    each_dtype(|d| {
        for n in SIZES {
            let x = random_tensor(&mut rng(n as u64), d, &[n, 1]);
            check_against_reference(&Op::Expand { shape: vec![2, n, 3] }, &[x], 0.0, 0.0);
            let s = random_tensor(&mut rng(n as u64), d, &[]);
            check_against_reference(&Op::Expand { shape: vec![n] }, &[s], 0.0, 0.0);
        }
    });
}

#[test]
fn pad_every_mode_with_negative_pads() {
    let cases: [(&[usize], Vec<i64>); 4] = [
        (&[5], vec![2, 3]),
        (&[3, 5], vec![1, 2, 2, 1]),
        (&[4, 6], vec![-1, 2, 1, -2]),
        (&[2, 3, 4], vec![0, 1, 3, 1, 0, 2]),
    ];
    for mode in [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap] {
        each_dtype(|d| {
            for (shape, pads) in &cases {
                let x = random_tensor(&mut rng(5), d, shape);
                let op = Op::Pad { mode, pads: pads.clone(), value: 2.5.into() };
                check_if_accepted(&op, &[x], 0.0, 0.0);
            }
        });
        for n in SIZES {
            let x = random_tensor(&mut rng(n as u64), DType::F32, &[3, n]);
            let pad = (n as i64 - 1).min(2);
            let op = Op::Pad { mode, pads: vec![1, pad, 2, pad], value: (-1.0).into() };
            assert!(check_if_accepted(&op, &[x], 0.0, 0.0), "{mode:?} rejected at n = {n}");
        }
    }
}

#[test]
fn every_movement_kernel_compiles_for_aarch64() {
    use kiln_ir::TensorType;
    let t = |d: DType, s: &[usize]| TensorType::new(d, s.to_vec());
    for d in DType::ALL {
        let x = t(d, &[3, 5]);
        let ops = [
            Op::Identity,
            Op::Reshape { shape: vec![15] },
            Op::Transpose { perm: vec![1, 0] },
            Op::Slice { starts: vec![2, 4], steps: vec![-1, -2], lens: vec![2, 3] },
            Op::Expand { shape: vec![2, 3, 5] },
            Op::Split { axis: 1, sizes: vec![2, 3] },
            Op::Pad { mode: PadMode::Reflect, pads: vec![1, -1, 2, 2], value: 0.0.into() },
            Op::Pad { mode: PadMode::Constant, pads: vec![1, 0, 2, 2], value: 1.0.into() },
        ];
        for op in ops {
            compile_for_aarch64(&op, &[x.clone()]).unwrap_or_else(|e| panic!("{op:?} {d}: {e}"));
        }
        compile_for_aarch64(&Op::Concat { axis: 0 }, &[x.clone(), x.clone()]).expect("concat");
        compile_for_aarch64(&Op::Gather { axis: 1 }, &[x.clone(), t(DType::I32, &[4])]).expect("gather");
    }
}
