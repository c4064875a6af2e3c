//! The f64 Softmax and LogSoftmax kernels against the reference evaluator along every axis at
//! odd sizes (scalar columns, `inner == 1` and strided), and with large inputs (stability).

mod common;

use common::{check_against_reference, random_tensor, rng};
use kiln_ir::{DType, Op, Tensor};

#[test]
fn f64_softmax_and_log_softmax_every_axis() {
    let mut r = rng(64);
    let shapes: [&[usize]; 6] = [&[1], &[17], &[3, 5], &[2, 3, 33], &[5, 1, 7], &[1, 17, 3, 5]];
    for shape in shapes {
        for axis in 0..shape.len() {
            let x = random_tensor(&mut r, DType::F64, shape);
            // exp/log go through f32 (module doc of the kernel): about 1e-7 relative.
            check_against_reference(&Op::Softmax { axis }, std::slice::from_ref(&x), 1e-6, 1e-9);
            check_against_reference(&Op::LogSoftmax { axis }, &[x], 1e-6, 1e-7);
        }
    }
}

#[test]
fn f64_softmax_is_stable_for_large_inputs() {
    let x = Tensor::from_vec(vec![1, 5], vec![1000.0f64, 999.0, 998.0, -1000.0, 1000.0]);
    check_against_reference(&Op::Softmax { axis: 1 }, std::slice::from_ref(&x), 1e-6, 1e-9);
    check_against_reference(&Op::LogSoftmax { axis: 1 }, &[x], 1e-6, 1e-7);
}
