//! Import of `Mod`: both sign conventions on signed integers and floats against Rust's own
//! `%` / `rem_euclid`-style results (reference evaluator on the imported graph), and the
//! attribute error. The ONNX node suite checks the other dtypes.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, DType, Tensor};

/// ONNX element type code of `t` (the two dtypes used here).
fn onnx_elem(t: &Tensor) -> i32 {
    if t.dtype() == DType::I32 {
        6
    } else {
        1
    }
}

fn dims(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Fixed(d)).collect()
}

fn mod_model(fmod: i64, a: &Tensor, b: &Tensor) -> Vec<f64> {
    let g = ModelBuilder::new(13)
        .input_typed("a", onnx_elem(a), dims(a.shape()))
        .init("b", b)
        .node_attrs("Mod", &["a", "b"], &["y"], vec![a_int("fmod", fmod)])
        .output("y")
        .graph();
    let g = verified(g);
    eval_graph(&g, std::slice::from_ref(a)).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
}

const A: [i32; 8] = [-7, -7, 7, 7, -6, 6, 0, 5];
const B: [i32; 8] = [3, -3, 3, -3, 3, -3, 4, 5];

/// Python's `a % b`: the sign of the divisor.
fn python_mod(a: i32, b: i32) -> i32 {
    let r = a % b;
    if r != 0 && (r < 0) != (b < 0) {
        r + b
    } else {
        r
    }
}

#[test]
fn integer_mod_follows_the_divisor_sign_and_fmod_the_dividend_sign() {
    let (a, b) = (Tensor::from_vec(vec![8], A.to_vec()), Tensor::from_vec(vec![8], B.to_vec()));
    let python: Vec<f64> = A.iter().zip(B).map(|(&x, y)| python_mod(x, y) as f64).collect();
    let c: Vec<f64> = A.iter().zip(B).map(|(&x, y)| (x % y) as f64).collect();
    assert_eq!(mod_model(0, &a, &b), python);
    assert_eq!(mod_model(1, &a, &b), c);
}

#[test]
fn float_mod_in_both_conventions() {
    let af: Vec<f32> = A.iter().map(|&v| v as f32 + 0.5).collect();
    let bf: Vec<f32> = B.iter().map(|&v| v as f32).collect();
    let (a, b) = (Tensor::from_vec(vec![8], af.clone()), Tensor::from_vec(vec![8], bf.clone()));
    let c: Vec<f64> = af.iter().zip(&bf).map(|(x, y)| (x % y) as f64).collect();
    let python: Vec<f64> = af
        .iter()
        .zip(&bf)
        .map(|(x, y)| if x % y != 0.0 && ((x % y) < 0.0) != (*y < 0.0) { x % y + y } else { x % y } as f64)
        .collect();
    assert_eq!(mod_model(1, &a, &b), c);
    assert_eq!(mod_model(0, &a, &b), python);
}

#[test]
fn fmod_must_be_0_or_1() {
    let a = Tensor::from_vec(vec![2], vec![1i32, 2]);
    let e = ModelBuilder::new(13)
        .input_typed("a", onnx_elem(&a), dims(a.shape()))
        .init("b", &a)
        .node_attrs("Mod", &["a", "b"], &["y"], vec![a_int("fmod", 2)])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("(Mod), attribute 'fmod'"), "{e}");
}
