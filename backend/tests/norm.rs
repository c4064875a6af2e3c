//! BatchNorm and LRN kernels against the reference evaluator at odd sizes (vector bodies and
//! scalar tails of the spatial stream, odd and even LRN window sizes).

mod common;

use common::{check_against_reference, random_f32, random_tensor, rng};
use kiln_ir::{DType, Op};

#[test]
fn batch_norm_odd_sizes() {
    let mut r = rng(50);
    for &c in &[1, 3, 5, 17] {
        for shape_tail in [vec![], vec![1], vec![3, 7], vec![17, 17], vec![33]] {
            let mut shape = vec![2, c];
            shape.extend(&shape_tail);
            let x = random_tensor(&mut r, DType::F32, &shape);
            let scale = random_tensor(&mut r, DType::F32, &[c]);
            let bias = random_tensor(&mut r, DType::F32, &[c]);
            let mean = random_tensor(&mut r, DType::F32, &[c]);
            let var = random_f32(&mut r, &[c], 0.1, 2.0);
            check_against_reference(&Op::BatchNorm { epsilon: 1e-5.into() }, &[x, scale, bias, mean, var], 1e-4, 1e-5);
        }
    }
}

#[test]
fn lrn_odd_sizes() {
    let mut r = rng(51);
    for &c in &[1, 3, 5, 17] {
        for &size in &[1, 2, 3, 5] {
            for hw in [vec![1, 1], vec![3, 7], vec![5, 5]] {
                let x = random_tensor(&mut r, DType::F32, &[1, c, hw[0], hw[1]]);
                let op = Op::Lrn { size, alpha: 1e-2.into(), beta: 0.75.into(), bias: 1.0.into() };
                check_against_reference(&op, &[x], 1e-4, 1e-5);
            }
        }
    }
}
