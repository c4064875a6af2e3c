//! Shape and dtype inference: hand-checked output types per op family and the error messages
//! for bad shapes, dtypes and attributes (each must name the offending operand or attribute).

use kiln_ir::*;

fn t(d: DType, s: &[usize]) -> TensorType {
    TensorType::new(d, s.to_vec())
}
fn f(s: &[usize]) -> TensorType {
    t(DType::F32, s)
}
fn infer1(op: Op, ins: &[TensorType]) -> Result<TensorType, String> {
    let refs: Vec<&TensorType> = ins.iter().collect();
    infer_types(&op, &refs).map(|mut v| {
        assert_eq!(v.len(), 1);
        v.remove(0)
    })
}
fn err(op: Op, ins: &[TensorType]) -> String {
    let refs: Vec<&TensorType> = ins.iter().collect();
    infer_types(&op, &refs).expect_err("must fail")
}

#[test]
fn binary_broadcast_and_dtypes() {
    let add = Op::Binary(BinaryOp::Add);
    assert_eq!(infer1(add.clone(), &[f(&[2, 1, 5]), f(&[3, 1])]).unwrap(), f(&[2, 3, 5]));
    assert_eq!(infer1(Op::Binary(BinaryOp::Less), &[f(&[4]), f(&[])]).unwrap(), t(DType::Bool, &[4]));
    let e = err(add.clone(), &[f(&[2]), t(DType::I32, &[2])]);
    assert!(e.contains("operand a") && e.contains("same dtype"), "{e}");
    let e = err(add, &[f(&[2, 3]), f(&[4])]);
    assert!(e.contains("do not broadcast"), "{e}");
    let e = err(Op::Binary(BinaryOp::And), &[f(&[2]), f(&[2])]);
    assert!(e.contains("f32"), "{e}");
    assert!(infer1(Op::Binary(BinaryOp::Xor), &[t(DType::Bool, &[2]), t(DType::Bool, &[1])]).is_ok());
    assert!(infer1(Op::Binary(BinaryOp::Pow), &[t(DType::I64, &[2]), t(DType::I64, &[1])]).is_ok());
    let e = err(Op::Binary(BinaryOp::Add), &[f(&[2])]);
    assert!(e.contains("expected 2 inputs, got 1"), "{e}");
}

#[test]
fn unary_dtypes() {
    assert!(infer1(Op::Unary(UnaryOp::Not), &[t(DType::Bool, &[3])]).is_ok());
    assert!(err(Op::Unary(UnaryOp::Not), &[f(&[3])]).contains("input x"));
    assert!(infer1(Op::Unary(UnaryOp::Neg), &[t(DType::I8, &[3])]).is_ok());
    assert!(err(Op::Unary(UnaryOp::Neg), &[t(DType::U8, &[3])]).contains("u8"));
    assert!(err(Op::Unary(UnaryOp::Exp), &[t(DType::I32, &[3])]).contains("i32"));
    assert!(infer1(Op::Unary(UnaryOp::Abs), &[t(DType::U16, &[3])]).is_ok());
}

#[test]
fn where_broadcasts_three_ways() {
    let out = infer1(Op::Where, &[t(DType::Bool, &[3, 1, 1]), f(&[1, 4, 1]), f(&[5])]).unwrap();
    assert_eq!(out, f(&[3, 4, 5]));
    assert!(err(Op::Where, &[f(&[1]), f(&[1]), f(&[1])]).contains("condition"));
}

fn conv_attrs(k: &[usize], s: &[usize], d: &[usize], p: &[usize], g: usize) -> ConvAttrs {
    ConvAttrs { kernel: k.into(), strides: s.into(), dilations: d.into(), pads: p.into(), group: g }
}

#[test]
fn conv_shapes() {
    // out = (in + pb + pe - dil*(k-1) - 1)/stride + 1: H = (7+1+0-2*2-1)/2+1 = 2, W = (9+1+1-2-1)/1+1 = 9.
    let a = conv_attrs(&[3, 3], &[2, 1], &[2, 1], &[1, 1, 0, 1], 2);
    let out = infer1(Op::Conv(a.clone()), &[f(&[1, 4, 7, 9]), f(&[6, 2, 3, 3]), f(&[6])]).unwrap();
    assert_eq!(out, f(&[1, 6, 2, 9]));
    let e = err(Op::Conv(a.clone()), &[f(&[1, 4, 7, 9]), f(&[6, 4, 3, 3])]);
    assert!(e.contains("weights w"), "{e}");
    let e = err(Op::Conv(ConvAttrs { group: 3, ..a.clone() }), &[f(&[1, 4, 7, 9]), f(&[6, 2, 3, 3])]);
    assert!(e.contains("`group`"), "{e}");
    let e = err(Op::Conv(ConvAttrs { strides: vec![1], ..a.clone() }), &[f(&[1, 4, 7, 9]), f(&[6, 2, 3, 3])]);
    assert!(e.contains("`strides`"), "{e}");
    let e = err(Op::Conv(a.clone()), &[f(&[1, 4, 7, 9]), f(&[6, 2, 3, 3]), f(&[5])]);
    assert!(e.contains("bias"), "{e}");
    // 1-D conv with a kernel larger than the input.
    let e = err(Op::Conv(conv_attrs(&[5], &[1], &[1], &[0, 0], 1)), &[f(&[1, 1, 4]), f(&[1, 1, 5])]);
    assert!(e.contains("does not fit"), "{e}");
}

fn pool_attrs(kind: PoolKind, k: &[usize], s: &[usize], p: &[usize], ceil: bool) -> PoolAttrs {
    PoolAttrs {
        kind,
        kernel: k.into(),
        strides: s.into(),
        dilations: vec![1; k.len()],
        pads: p.into(),
        ceil_mode: ceil,
    }
}

#[test]
fn pool_ceil_mode() {
    // in 5, k 2, s 2: floor -> 2, ceil -> 3 (last window starts at 4, inside the input).
    let a = pool_attrs(PoolKind::Max, &[2], &[2], &[0, 0], false);
    assert_eq!(infer1(Op::Pool(a.clone()), &[f(&[1, 1, 5])]).unwrap(), f(&[1, 1, 2]));
    let c = PoolAttrs { ceil_mode: true, ..a };
    assert_eq!(infer1(Op::Pool(c), &[f(&[1, 1, 5])]).unwrap(), f(&[1, 1, 3]));
    // in 4, k 3, s 2, pads 1/1: ceil((4+2-3)/2)+1 = 3, but window 2 starts at 4 = in + pb - 1 (ok, 4 < 5).
    let c = pool_attrs(PoolKind::Max, &[3], &[2], &[1, 1], true);
    assert_eq!(infer1(Op::Pool(c), &[f(&[1, 1, 4])]).unwrap(), f(&[1, 1, 3]));
    // in 3, k 1, s 2, pads 0/1: ceil((3+1-1)/2)+1 = 3, last starts at 4 >= 3 + 0: dropped -> 2.
    let c = pool_attrs(PoolKind::Max, &[1], &[2], &[0, 1], true);
    assert_eq!(infer1(Op::Pool(c), &[f(&[1, 1, 3])]).unwrap(), f(&[1, 1, 2]));
    assert_eq!(window_len_helper(), 2);
}

fn window_len_helper() -> usize {
    kiln_ir::infer::window_output_len(3, 1, 2, 1, 0, 1, true).unwrap()
}

#[test]
fn gemm_and_matmul() {
    let g = Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: true, trans_b: false };
    assert_eq!(infer1(g.clone(), &[f(&[3, 2]), f(&[3, 5]), f(&[5])]).unwrap(), f(&[2, 5]));
    assert!(err(g.clone(), &[f(&[3, 2]), f(&[3, 5]), f(&[2, 1, 5])]).contains("operand c"));
    assert!(err(g, &[f(&[2, 3]), f(&[3, 5])]).contains("inner dims"));
    assert_eq!(infer1(Op::MatMul, &[f(&[4, 1, 2, 3]), f(&[5, 3, 7])]).unwrap(), f(&[4, 5, 2, 7]));
    assert!(err(Op::MatMul, &[f(&[3]), f(&[3, 2])]).contains("rank >= 2"));
}

#[test]
fn reductions() {
    let r = Op::Reduce { kind: ReduceKind::Sum, axes: vec![0, 2], keepdims: true };
    assert_eq!(infer1(r, &[f(&[2, 3, 4])]).unwrap(), f(&[1, 3, 1]));
    let r = Op::Reduce { kind: ReduceKind::Sum, axes: vec![0, 2], keepdims: false };
    assert_eq!(infer1(r, &[f(&[2, 3, 4])]).unwrap(), f(&[3]));
    let r = Op::Reduce { kind: ReduceKind::Sum, axes: vec![3], keepdims: false };
    assert!(err(r, &[f(&[2, 3, 4])]).contains("`axes`"));
    let a = Op::ArgMax { axis: 1, keepdims: false, select_last_index: false };
    assert_eq!(infer1(a, &[f(&[2, 3, 4])]).unwrap(), t(DType::I64, &[2, 4]));
}

#[test]
fn movement_ops() {
    assert_eq!(infer1(Op::Concat { axis: 1 }, &[f(&[2, 3]), f(&[2, 4])]).unwrap(), f(&[2, 7]));
    assert!(err(Op::Concat { axis: 1 }, &[f(&[2, 3]), f(&[3, 4])]).contains("input 1"));
    let refs = [&f(&[2, 7])];
    let outs = infer_types(&Op::Split { axis: 1, sizes: vec![3, 4] }, &refs).unwrap();
    assert_eq!(outs, vec![f(&[2, 3]), f(&[2, 4])]);
    assert!(infer_types(&Op::Split { axis: 1, sizes: vec![3, 3] }, &refs).unwrap_err().contains("`sizes`"));
    // Slice backwards: starts 4, step -2, 3 elements reads 4, 2, 0.
    let s = Op::Slice { starts: vec![4], steps: vec![-2], lens: vec![3] };
    assert_eq!(infer1(s, &[f(&[5])]).unwrap(), f(&[3]));
    let s = Op::Slice { starts: vec![4], steps: vec![-2], lens: vec![4] };
    assert!(err(s, &[f(&[5])]).contains("`starts`"));
    assert!(err(Op::Reshape { shape: vec![7] }, &[f(&[2, 3])]).contains("`shape`"));
    assert_eq!(infer1(Op::Transpose { perm: vec![2, 0, 1] }, &[f(&[2, 3, 4])]).unwrap(), f(&[4, 2, 3]));
    assert!(err(Op::Transpose { perm: vec![0, 0, 1] }, &[f(&[2, 3, 4])]).contains("`perm`"));
    let g = infer1(Op::Gather { axis: 1 }, &[f(&[2, 3, 4]), t(DType::I64, &[5, 6])]).unwrap();
    assert_eq!(g, f(&[2, 5, 6, 4]));
    assert!(err(Op::Gather { axis: 1 }, &[f(&[2, 3]), f(&[1])]).contains("indices"));
    assert_eq!(infer1(Op::Expand { shape: vec![3, 1] }, &[f(&[1, 4])]).unwrap(), f(&[3, 4]));
    let p = Op::Pad { mode: PadMode::Constant, pads: vec![1, -2, 0, 3], value: 0.0.into() };
    assert_eq!(infer1(p, &[f(&[2, 5])]).unwrap(), f(&[3, 6]));
    let p = Op::Pad { mode: PadMode::Constant, pads: vec![0, -6, 0, 0], value: 0.0.into() };
    assert!(err(p, &[f(&[2, 5])]).contains("`pads`"));
}

#[test]
fn huge_dims_do_not_panic() {
    let big = usize::MAX / 2;
    let e = err(Op::Unary(UnaryOp::Relu), &[f(&[big, 4])]);
    assert!(e.contains("overflows"), "{e}");
    let a = conv_attrs(&[1], &[1], &[usize::MAX], &[usize::MAX, usize::MAX], 1);
    assert!(err(Op::Conv(a), &[f(&[1, 1, 4]), f(&[1, 1, 1])]).contains("spatial axis 0"));
    let s = Op::Slice { starts: vec![0], steps: vec![i64::MAX], lens: vec![usize::MAX] };
    assert!(err(s, &[f(&[5])]).contains("axis 0"));
    let p = Op::Pad { mode: PadMode::Edge, pads: vec![i64::MAX, i64::MAX], value: 0.0.into() };
    assert!(err(p, &[f(&[5])]).contains("`pads`"));
}
