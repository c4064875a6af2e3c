//! Reference evaluator, elementwise ops: unary math (incl. erf accuracy), integer semantics,
//! broadcasting, Where, Cast. Expected values are hand-computed unless a comment says numpy.

use kiln_ir::*;

fn f32t(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec())
}
fn run1(op: Op, ins: &[&Tensor]) -> Tensor {
    let mut v = eval_op(&op, ins).unwrap_or_else(|e| panic!("{op:?}: {e}"));
    assert_eq!(v.len(), 1);
    v.remove(0)
}
fn un(u: UnaryOp, v: &[f32]) -> Vec<f32> {
    let x = f32t(&[v.len()], v);
    run1(Op::Unary(u), &[&x]).as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn unary_activations() {
    assert_eq!(un(UnaryOp::Relu, &[-1.0, 0.0, 2.5]), [0.0, 0.0, 2.5]);
    assert_eq!(un(UnaryOp::LeakyRelu { alpha: 0.5.into() }, &[-2.0, 3.0]), [-1.0, 3.0]);
    // HardSigmoid 0.2x+0.5 clipped: -5 -> 0 (-0.5), 0 -> 0.5, 5 -> 1 (1.5).
    assert_eq!(un(UnaryOp::HardSigmoid { alpha: 0.2.into(), beta: 0.5.into() }, &[-5.0, 0.0, 5.0]), [0.0, 0.5, 1.0]);
    // HardSwish x*clip(x/6+0.5): -3 -> 0, 3 -> 3, 0 -> 0, 1 -> 1*(0.6666667).
    let hs = un(UnaryOp::HardSwish, &[-3.0, 3.0, 0.0, 1.0]);
    assert_eq!(&hs[..3], [-0.0, 3.0, 0.0]);
    assert!((hs[3] - 2.0 / 3.0).abs() < 1e-7);
    assert_eq!(un(UnaryOp::Clip { min: (-1.0).into(), max: 2.0.into() }, &[-3.0, 0.5, 9.0]), [-1.0, 0.5, 2.0]);
    let e = un(UnaryOp::Elu { alpha: 2.0.into() }, &[-1.0, 4.0]);
    assert!((e[0] - 2.0 * ((-1.0f32).exp() - 1.0)).abs() < 1e-6 && e[1] == 4.0);
    // Softplus stays finite and ~x for large x; ln 2 at 0.
    let sp = un(UnaryOp::Softplus, &[0.0, 100.0, -100.0]);
    assert!((sp[0] - std::f32::consts::LN_2).abs() < 1e-7 && sp[1] == 100.0 && sp[2] > 0.0 && sp[2] < 1e-40);
    assert_eq!(un(UnaryOp::Softsign, &[-3.0, 1.0]), [-0.75, 0.5]);
    let s = un(UnaryOp::Sigmoid, &[0.0, -200.0, 200.0]);
    assert_eq!(s, [0.5, 0.0, 1.0]);
}

#[test]
fn unary_rounding_and_sign() {
    // Round half to even.
    assert_eq!(un(UnaryOp::Round, &[0.5, 1.5, 2.5, -0.5, -2.5, 2.6]), [0.0, 2.0, 2.0, -0.0, -2.0, 3.0]);
    assert_eq!(un(UnaryOp::Floor, &[-1.5, 1.5]), [-2.0, 1.0]);
    assert_eq!(un(UnaryOp::Ceil, &[-1.5, 1.5]), [-1.0, 2.0]);
    assert_eq!(un(UnaryOp::Sign, &[-3.0, 0.0, 7.0]), [-1.0, 0.0, 1.0]);
    assert!(un(UnaryOp::Sign, &[f32::NAN])[0].is_nan());
    let x = Tensor::from_vec(vec![4], vec![-3i32, 0, 5, i32::MIN]);
    assert_eq!(run1(Op::Unary(UnaryOp::Sign), &[&x]).as_slice::<i32>().unwrap(), [-1, 0, 1, -1]);
    assert_eq!(run1(Op::Unary(UnaryOp::Abs), &[&x]).as_slice::<i32>().unwrap(), [3, 0, 5, i32::MIN]);
    assert_eq!(run1(Op::Unary(UnaryOp::Neg), &[&x]).as_slice::<i32>().unwrap(), [3, 0, -5, i32::MIN]);
    let b = Tensor::from_vec(vec![2], vec![true, false]);
    assert_eq!(run1(Op::Unary(UnaryOp::Not), &[&b]).as_slice::<bool>().unwrap(), [false, true]);
}

#[test]
fn erf_is_accurate() {
    // Values from Python's math.erf; ours is within ~10 ulp of f64 (2e-15 relative) over the range.
    let cases: [(f64, f64); 8] = [
        (0.0, 0.0),
        (1e-10, 1.1283791670955126e-10),
        (0.1, 0.1124629160182849),
        (0.5, 0.5204998778130465),
        (1.0, 0.8427007929497149),
        (2.0, 0.9953222650189527),
        (3.5, 0.9999992569016276),
        (-4.5, -0.9999999998033839),
    ];
    for (x, want) in cases {
        let got = kiln_ir::eval::erf::erf(x);
        assert!((got - want).abs() <= 4e-15 * want.abs().max(1e-300) + 1e-300, "erf({x}) = {got}, want {want}");
    }
    assert_eq!(kiln_ir::eval::erf::erf(7.0), 1.0);
    assert!(kiln_ir::eval::erf::erf(f64::NAN).is_nan());
    let v = un(UnaryOp::Erf, &[1.0, -0.5]);
    assert_eq!(v, [0.8427007929497149f64 as f32, -0.5204998778130465f64 as f32]);
}

#[test]
fn integer_arithmetic() {
    let a = Tensor::from_vec(vec![4], vec![7i32, -7, 7, -7]);
    let b = Tensor::from_vec(vec![4], vec![2i32, 2, -2, -2]);
    // Truncation toward zero (C semantics).
    let d = run1(Op::Binary(BinaryOp::Div), &[&a, &b]);
    assert_eq!(d.as_slice::<i32>().unwrap(), [3, -3, -3, 3]);
    let z = Tensor::from_vec(vec![1], vec![0i32]);
    let e = eval_op(&Op::Binary(BinaryOp::Div), &[&a, &z]).unwrap_err();
    assert!(e.contains("division by zero"), "{e}");
    let p = run1(Op::Binary(BinaryOp::Pow), &[&a, &b]);
    assert_eq!(p.as_slice::<i32>().unwrap(), [49, 49, 0, 0]);
    let m = run1(Op::Binary(BinaryOp::Max), &[&a, &b]);
    assert_eq!(m.as_slice::<i32>().unwrap(), [7, 2, 7, -2]);
    // Wrapping add on u8.
    let x = Tensor::from_vec(vec![2], vec![250u8, 3]);
    let y = Tensor::from_vec(vec![1], vec![10u8]);
    assert_eq!(run1(Op::Binary(BinaryOp::Add), &[&x, &y]).as_slice::<u8>().unwrap(), [4, 13]);
}

#[test]
fn broadcasting_and_comparisons() {
    let a = f32t(&[2, 1, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let b = f32t(&[2, 1], &[10.0, 20.0]);
    let s = run1(Op::Binary(BinaryOp::Sub), &[&a, &b]);
    assert_eq!(s.shape(), [2, 2, 3]);
    assert_eq!(
        s.as_slice::<f32>().unwrap(),
        [-9.0, -8.0, -7.0, -19.0, -18.0, -17.0, -6.0, -5.0, -4.0, -16.0, -15.0, -14.0]
    );
    let l = run1(Op::Binary(BinaryOp::Greater), &[&a, &f32t(&[], &[3.0])]);
    assert_eq!(l.as_slice::<bool>().unwrap(), [false, false, false, true, true, true]);
    // PRelu with per-channel slope broadcast over [N, C, W].
    let x = f32t(&[1, 2, 2], &[-1.0, 1.0, -2.0, 2.0]);
    let slope = f32t(&[2, 1], &[0.1, 0.5]);
    let y = run1(Op::Binary(BinaryOp::PRelu), &[&x, &slope]);
    assert_eq!(y.as_slice::<f32>().unwrap(), [-0.1, 1.0, -1.0, 2.0]);
    // NaN propagates through Max like numpy.maximum.
    let m = run1(Op::Binary(BinaryOp::Max), &[&f32t(&[2], &[f32::NAN, 1.0]), &f32t(&[2], &[0.0, f32::NAN])]);
    assert!(m.as_slice::<f32>().unwrap().iter().all(|v| v.is_nan()));
}

#[test]
fn where_three_way_broadcast() {
    let c = Tensor::from_vec(vec![2, 1], vec![true, false]);
    let x = Tensor::from_vec(vec![3], vec![1i64, 2, 3]);
    let y = Tensor::from_vec(vec![1], vec![-1i64]);
    let w = run1(Op::Where, &[&c, &x, &y]);
    assert_eq!(w.shape(), [2, 3]);
    assert_eq!(w.as_slice::<i64>().unwrap(), [1, 2, 3, -1, -1, -1]);
}

#[test]
fn cast_rules() {
    let x = f32t(&[5], &[-1.7, 2.9, 0.0, f32::NAN, 300.5]);
    let i = run1(Op::Cast { to: DType::I32 }, &[&x]);
    assert_eq!(i.as_slice::<i32>().unwrap(), [-1, 2, 0, 0, 300]);
    let b = run1(Op::Cast { to: DType::Bool }, &[&x]);
    assert_eq!(b.as_slice::<bool>().unwrap(), [true, true, false, true, true]);
    // Integer narrowing wraps (numpy astype): 300 -> 44, -1 -> 255 as u8.
    let w = Tensor::from_vec(vec![2], vec![300i64, -1]);
    assert_eq!(run1(Op::Cast { to: DType::U8 }, &[&w]).as_slice::<u8>().unwrap(), [44, 255]);
    // u64 -> f32 rounds once (no double rounding through f64 matters here, value exact).
    let u = Tensor::from_vec(vec![1], vec![u64::MAX]);
    assert_eq!(run1(Op::Cast { to: DType::F32 }, &[&u]).as_slice::<f32>().unwrap(), [1.8446744e19]);
    let bb = Tensor::from_vec(vec![2], vec![true, false]);
    assert_eq!(run1(Op::Cast { to: DType::F64 }, &[&bb]).as_slice::<f64>().unwrap(), [1.0, 0.0]);
    // i64 beyond 2^53 survives a cast to u64 exactly.
    let big = Tensor::from_vec(vec![1], vec![(1i64 << 60) + 1]);
    assert_eq!(run1(Op::Cast { to: DType::U64 }, &[&big]).as_slice::<u64>().unwrap(), [(1u64 << 60) + 1]);
}

#[test]
fn errors_are_reported_not_panics() {
    let x = f32t(&[2], &[1.0, 2.0]);
    let e = eval_op(&Op::Binary(BinaryOp::Add), &[&x, &f32t(&[3], &[0.0; 3])]).unwrap_err();
    assert!(e.contains("broadcast"), "{e}");
    let e = eval_op(&Op::Unary(UnaryOp::Exp), &[]).unwrap_err();
    assert!(e.contains("expected 1 inputs"), "{e}");
}
