//! Softmax and LogSoftmax kernels against the reference evaluator along every axis at odd
//! sizes (contiguous-row and strided-lane paths, vector bodies and scalar tails).

mod common;

use common::{check_against_reference, random_f32, rng};
use kiln_ir::Op;

#[test]
fn softmax_and_log_softmax_every_axis() {
    let mut r = rng(20);
    let shapes: [&[usize]; 6] = [&[1], &[17], &[3, 5], &[2, 3, 33], &[5, 1, 7], &[1, 17, 3, 5]];
    for shape in shapes {
        for axis in 0..shape.len() {
            let x = random_f32(&mut r, shape, -8.0, 8.0);
            check_against_reference(&Op::Softmax { axis }, std::slice::from_ref(&x), 1e-4, 1e-5);
            check_against_reference(&Op::LogSoftmax { axis }, &[x], 1e-4, 1e-5);
        }
    }
}

#[test]
fn softmax_is_stable_for_large_inputs() {
    let x = kiln_ir::Tensor::from_vec(vec![1, 5], vec![1000.0f32, 999.0, 998.0, -1000.0, 1000.0]);
    check_against_reference(&Op::Softmax { axis: 1 }, std::slice::from_ref(&x), 1e-4, 1e-5);
    check_against_reference(&Op::LogSoftmax { axis: 1 }, &[x], 1e-4, 1e-5);
}
