//! Reference evaluator: `eval_graph` (input checks, node-named errors, constants, multi-result
//! nodes), hand-checked edge cases of movement ops (negative pads, reflect beyond the data,
//! out-of-range gather), integer corner cases, and a timing check of a large convolution.

use kiln_ir::*;

fn f(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec())
}
fn ty(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// x[2,3] -> relu -> split(axis 1, [1, 2]) -> add(second part, const [2]) -> outputs.
fn small_graph() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", ty(&[2, 3]));
    let c = g.add_const("c", f(&[2], &[10.0, 20.0]));
    let r = g.add_node1("relu0", Op::Unary(UnaryOp::Relu), vec![x], "r", ty(&[2, 3]));
    let s = g.add_node(
        "split0",
        Op::Split { axis: 1, sizes: vec![1, 2] },
        vec![r],
        vec![("s0".into(), ty(&[2, 1])), ("s1".into(), ty(&[2, 2]))],
    );
    let (s0, s1) = (g.nodes[s].outputs[0], g.nodes[s].outputs[1]);
    let y = g.add_node1("add0", Op::Binary(BinaryOp::Add), vec![s1, c], "y", ty(&[2, 2]));
    g.outputs = vec![y, s0];
    g
}

#[test]
fn graph_runs_in_order() {
    let g = small_graph();
    let out = eval_graph(&g, &[f(&[2, 3], &[-1.0, 2.0, -3.0, 4.0, 5.0, -6.0])]).unwrap();
    // relu: [0, 2, 0, 4, 5, 0]; s1 = [[2, 0], [5, 0]] + [10, 20]; s0 = [[0], [4]].
    assert_eq!(out[0].as_slice::<f32>().unwrap(), [12.0, 20.0, 15.0, 20.0]);
    assert_eq!(out[1].as_slice::<f32>().unwrap(), [0.0, 4.0]);
}

#[test]
fn graph_input_errors() {
    let g = small_graph();
    let e = eval_graph(&g, &[]).unwrap_err().to_string();
    assert!(e.contains("expected 1 inputs, got 0"), "{e}");
    let e = eval_graph(&g, &[f(&[3, 2], &[0.0; 6])]).unwrap_err().to_string();
    assert!(e.contains("input 0 (x)") && e.contains("f32[2,3]"), "{e}");
}

#[test]
fn graph_node_errors_name_the_node() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::I32, vec![2]));
    let z = g.add_const("zero", Tensor::from_vec(vec![1], vec![0i32]));
    let y = g.add_node1("div7", Op::Binary(BinaryOp::Div), vec![x, z], "y", TensorType::new(DType::I32, vec![2]));
    g.outputs = vec![y];
    let e = eval_graph(&g, &[Tensor::from_vec(vec![2], vec![1i32, 2])]).unwrap_err().to_string();
    assert_eq!(e, "node div7 (div): integer division by zero");
    // A node whose recorded type disagrees with what it computes.
    let mut g = Graph::new();
    let x = g.add_input("x", ty(&[2]));
    let y = g.add_node1("bad", Op::Unary(UnaryOp::Exp), vec![x], "y", ty(&[3]));
    g.outputs = vec![y];
    let e = eval_graph(&g, &[f(&[2], &[0.0, 1.0])]).unwrap_err().to_string();
    assert!(e.starts_with("node bad (exp): result has type f32[2]"), "{e}");
}

fn run1(op: Op, ins: &[&Tensor]) -> Tensor {
    eval_op(&op, ins).unwrap_or_else(|e| panic!("{op:?}: {e}")).remove(0)
}

#[test]
fn pad_negative_crops_then_pads() {
    // x = [[1,2,3,4],[5,6,7,8]]; pads: axis0 begin 0 end 1, axis1 begin -1 end -2 -> crop to
    // [[2],[6]], then add a constant row of 9 below.
    let x = f(&[2, 4], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    let y = run1(Op::Pad { mode: PadMode::Constant, pads: vec![0, -1, 1, -2], value: 9.0.into() }, &[&x]);
    assert_eq!(y.shape(), [3, 1]);
    assert_eq!(y.as_slice::<f32>().unwrap(), [2.0, 6.0, 9.0]);
    // Edge padding of the cropped data: axis1 crop the first column, then pad 2 at the end.
    let y = run1(Op::Pad { mode: PadMode::Edge, pads: vec![0, -1, 0, 2], value: 0.0.into() }, &[&x]);
    assert_eq!(y.as_slice::<f32>().unwrap(), [2.0, 3.0, 4.0, 4.0, 4.0, 6.0, 7.0, 8.0, 8.0, 8.0]);
}

#[test]
fn pad_reflect_and_wrap_beyond_the_data() {
    // numpy: np.pad([1,2,3], (7,7), 'reflect') and 'wrap'.
    let x = f(&[3], &[1.0, 2.0, 3.0]);
    let r = run1(Op::Pad { mode: PadMode::Reflect, pads: vec![7, 7], value: 0.0.into() }, &[&x]);
    let want = [2., 3., 2., 1., 2., 3., 2., 1., 2., 3., 2., 1., 2., 3., 2., 1., 2.];
    assert_eq!(r.as_slice::<f32>().unwrap(), want);
    let w = run1(Op::Pad { mode: PadMode::Wrap, pads: vec![7, 7], value: 0.0.into() }, &[&x]);
    let want = [3., 1., 2., 3., 1., 2., 3., 1., 2., 3., 1., 2., 3., 1., 2., 3., 1.];
    assert_eq!(w.as_slice::<f32>().unwrap(), want);
    // A single element reflects onto itself.
    let one = run1(Op::Pad { mode: PadMode::Reflect, pads: vec![2, 1], value: 0.0.into() }, &[&f(&[1], &[5.0])]);
    assert_eq!(one.as_slice::<f32>().unwrap(), [5.0; 4]);
    // Bool constant padding with value 1 gives true.
    let b = Tensor::from_vec(vec![1], vec![false]);
    let p = run1(Op::Pad { mode: PadMode::Constant, pads: vec![1, 0], value: 1.0.into() }, &[&b]);
    assert_eq!(p.as_slice::<bool>().unwrap(), [true, false]);
}

#[test]
fn gather_out_of_range_is_an_error() {
    let x = f(&[3], &[1.0, 2.0, 3.0]);
    let i = Tensor::from_vec(vec![2], vec![-3i32, 3]);
    let e = eval_op(&Op::Gather { axis: 0 }, &[&x, &i]).unwrap_err();
    assert_eq!(e, "index 3 is out of range for axis 0 of size 3");
    let i = Tensor::from_vec(vec![], vec![-3i32]);
    assert_eq!(run1(Op::Gather { axis: 0 }, &[&x, &i]).as_slice::<f32>().unwrap(), [1.0]);
}

#[test]
fn integer_corner_cases() {
    let b = Tensor::from_vec(vec![4], vec![2i64, -1, 1, -2]);
    let e = Tensor::from_vec(vec![4], vec![-1i64, -3, -5, 3]);
    // 2^-1 truncates to 0; (-1)^-3 = -1; 1^-5 = 1; (-2)^3 = -8.
    assert_eq!(run1(Op::Binary(BinaryOp::Pow), &[&b, &e]).as_slice::<i64>().unwrap(), [0, -1, 1, -8]);
    let x = Tensor::from_vec(vec![3], vec![-5i8, 0, 100]);
    let c = run1(Op::Unary(UnaryOp::Clip { min: (-2.0).into(), max: 50.0.into() }), &[&x]);
    assert_eq!(c.as_slice::<i8>().unwrap(), [-2, 0, 50]);
    let r = run1(Op::Unary(UnaryOp::Relu), &[&x]);
    assert_eq!(r.as_slice::<i8>().unwrap(), [0, 0, 100]);
    // i32::MIN / -1 wraps (no trap).
    let m = Tensor::from_vec(vec![1], vec![i32::MIN]);
    let n = Tensor::from_vec(vec![1], vec![-1i32]);
    assert_eq!(run1(Op::Binary(BinaryOp::Div), &[&m, &n]).as_slice::<i32>().unwrap(), [i32::MIN]);
    // Integer Gemm with alpha = beta = 1 stays exact beyond 2^53.
    let a = Tensor::from_vec(vec![1, 1], vec![(1i64 << 60) + 1]);
    let one = Tensor::from_vec(vec![1, 1], vec![1i64]);
    let g = Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b: false };
    assert_eq!(run1(g, &[&a, &one, &one]).as_slice::<i64>().unwrap(), [(1i64 << 60) + 2]);
}

#[test]
fn reduce_edge_cases() {
    let x = f(&[2, 0], &[]);
    let s = run1(Op::Reduce { kind: ReduceKind::Sum, axes: vec![1], keepdims: false }, &[&x]);
    assert_eq!(s.as_slice::<f32>().unwrap(), [0.0, 0.0]);
    let p = run1(Op::Reduce { kind: ReduceKind::Prod, axes: vec![1], keepdims: true }, &[&x]);
    assert_eq!((p.shape(), p.as_slice::<f32>().unwrap()), (&[2usize, 1][..], &[1.0f32, 1.0][..]));
    // Empty axes list: a reduction over no axes, so each element is reduced alone and the
    // per-element transform still applies (ONNX reference: np.sum(np.abs(x), axis=())).
    let y = f(&[2], &[3.0, -4.0]);
    let l1 = run1(Op::Reduce { kind: ReduceKind::L1, axes: vec![], keepdims: false }, &[&y]);
    assert_eq!(l1.as_slice::<f32>().unwrap(), [3.0, 4.0]);
    let ss = run1(Op::Reduce { kind: ReduceKind::SumSquare, axes: vec![], keepdims: true }, &[&y]);
    assert_eq!(ss.as_slice::<f32>().unwrap(), [9.0, 16.0]);
    let sum = run1(Op::Reduce { kind: ReduceKind::Sum, axes: vec![], keepdims: false }, &[&y]);
    assert_eq!(sum.as_slice::<f32>().unwrap(), [3.0, -4.0]);
    // Bool max/min are any/all.
    let b = Tensor::from_vec(vec![2, 2], vec![true, false, false, false]);
    let any = run1(Op::Reduce { kind: ReduceKind::Max, axes: vec![1], keepdims: false }, &[&b]);
    assert_eq!(any.as_slice::<bool>().unwrap(), [true, false]);
    // ArgMax treats NaN as the maximum (numpy).
    let n = f(&[3], &[1.0, f32::NAN, 5.0]);
    let a = run1(Op::ArgMax { axis: 0, keepdims: false, select_last_index: false }, &[&n]);
    assert_eq!(a.as_slice::<i64>().unwrap(), [1]);
}

#[test]
fn softmax_is_stable_for_large_inputs() {
    let x = f(&[3], &[1000.0, 1000.0, -1000.0]);
    let s = run1(Op::Softmax { axis: 0 }, &[&x]);
    assert_eq!(s.as_slice::<f32>().unwrap(), [0.5, 0.5, 0.0]);
    let l = run1(Op::LogSoftmax { axis: 0 }, &[&x]);
    let lv = l.as_slice::<f32>().unwrap();
    assert!((lv[0] + std::f32::consts::LN_2).abs() < 1e-6 && lv[2] == -2000.0 - std::f32::consts::LN_2);
}

#[test]
fn large_conv_is_fast_enough() {
    // 224x224 image, 64 -> 64 channels, 3x3, pad 1: 1.85 G multiply-adds.
    let n = 64 * 224 * 224;
    let x = Tensor::from_vec(vec![1, 64, 224, 224], (0..n).map(|i| (i % 7) as f32 - 3.0).collect());
    let w = Tensor::from_vec(vec![64, 64, 3, 3], (0..64 * 64 * 9).map(|i| (i % 5) as f32 - 2.0).collect());
    let op = Op::Conv(ConvAttrs {
        kernel: vec![3, 3],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        pads: vec![1; 4],
        group: 1,
    });
    let t = std::time::Instant::now();
    let y = run1(op, &[&x, &w]);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(y.shape(), [1, 64, 224, 224]);
    // Output (0, 0, 0, 0) by hand: only kernel rows/cols 1..3 see input rows/cols 0..2.
    let (xs, ws) = (x.as_slice::<f32>().unwrap(), w.as_slice::<f32>().unwrap());
    let mut want = 0.0f64;
    for c in 0..64 {
        for (kh, kw) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
            want += (ws[(c * 3 + kh) * 3 + kw] * xs[(c * 224 + kh - 1) * 224 + kw - 1]) as f64;
        }
    }
    assert_eq!(y.as_slice::<f32>().unwrap()[0], want as f32);
    // Generous: ~1-3 s in an optimised build on one core; debug builds are far slower.
    if !cfg!(debug_assertions) {
        assert!(secs < 20.0, "conv took {secs:.1} s");
    }
    eprintln!("224x224x64->64 3x3 conv: {secs:.2} s");
}

#[test]
fn max_pool_padding_windows() {
    // 1-D, pads begin 1: windows {-1,0} {0,1} {1,2} {2,3} (onnxruntime agrees; the ONNX Python
    // reference ignores 1-D pads).
    let x = f(&[1, 1, 4], &[4.0, -3.75, -3.25, 4.5]);
    let op = |pads: Vec<usize>, dil: usize| {
        Op::Pool(PoolAttrs {
            kind: PoolKind::Max,
            kernel: vec![2],
            strides: vec![1],
            dilations: vec![dil],
            pads,
            ceil_mode: true,
        })
    };
    assert_eq!(run1(op(vec![1, 0], 1), &[&x]).as_slice::<f32>().unwrap(), [4.0, 4.0, -3.25, 4.5]);
    // Dilation 3, pads 4/0: window 0 reads {-4, -1}, all padding, so it is the lowest finite
    // value (onnxruntime); window 1 reads {-3, 0}.
    let y = run1(op(vec![4, 0], 3), &[&x]);
    assert_eq!(y.as_slice::<f32>().unwrap()[..2], [f32::MIN, 4.0]);
}
