//! The IR text form: round trips over every op and dtype, snapshots of printed graphs, parse
//! errors with line numbers, and a small mutation fuzz that the parser never panics.

use kiln_ir::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// `print(parse(print(g, true)), true) == print(g, true)`; returns the parsed graph.
fn assert_round_trip(g: &Graph) -> Graph {
    let text = print_graph(g, true);
    let parsed = parse_graph(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(print_graph(&parsed, true), text);
    parsed
}

/// One op of each variant, and every spelling of every enum attribute.
fn all_ops() -> Vec<Op> {
    use UnaryOp::*;
    let unary = [
        Neg,
        Abs,
        Relu,
        LeakyRelu { alpha: 0.01.into() },
        HardSigmoid { alpha: 0.2.into(), beta: 0.5.into() },
        HardSwish,
        Clip { min: (-1.5).into(), max: 6.0.into() },
        Elu { alpha: 1.0.into() },
        Sigmoid,
        Tanh,
        Erf,
        Exp,
        Log,
        Sqrt,
        Reciprocal,
        Floor,
        Ceil,
        Round,
        Sign,
        Sin,
        Cos,
        Softplus,
        Softsign,
        Not,
    ];
    let mut ops: Vec<Op> = unary.into_iter().map(Op::Unary).collect();
    ops.extend(BinaryOp::ALL.map(Op::Binary));
    ops.extend(ReduceKind::ALL.map(|kind| Op::Reduce { kind, axes: vec![0, 2], keepdims: kind == ReduceKind::Sum }));
    ops.extend(DType::ALL.map(|to| Op::Cast { to }));
    ops.extend([
        Op::Where,
        Op::Identity,
        Op::MatMul,
        Op::WinogradWeights { tile: 4 },
        Op::Conv(ConvAttrs {
            kernel: vec![3, 3],
            strides: vec![2, 1],
            dilations: vec![1, 2],
            pads: vec![1, 0, 1, 2],
            group: 4,
        }),
        Op::Gemm { alpha: 0.5.into(), beta: 2.0.into(), trans_a: false, trans_b: true },
        Op::BatchNorm { epsilon: (1e-5).into() },
        Op::Lrn { size: 5, alpha: (1e-4).into(), beta: 0.75.into(), bias: 1.0.into() },
        Op::Softmax { axis: 1 },
        Op::LogSoftmax { axis: 0 },
        Op::ArgMax { axis: 1, keepdims: true, select_last_index: false },
        Op::ArgMin { axis: 0, keepdims: false, select_last_index: true },
        Op::Concat { axis: 2 },
        Op::Split { axis: 1, sizes: vec![1, 2] },
        Op::Split { axis: 0, sizes: vec![] },
        Op::Slice { starts: vec![0, 5], steps: vec![1, -2], lens: vec![2, 3] },
        Op::Reshape { shape: vec![6] },
        Op::Reshape { shape: vec![] },
        Op::Transpose { perm: vec![1, 0] },
        Op::Gather { axis: 0 },
        Op::Expand { shape: vec![4, 2, 3] },
    ]);
    ops.extend(fused_ops());
    for kind in [PoolKind::Max, PoolKind::Avg { count_include_pad: true }, PoolKind::Avg { count_include_pad: false }] {
        let pool = PoolAttrs {
            kind,
            kernel: vec![2, 2],
            strides: vec![2, 2],
            dilations: vec![1, 1],
            pads: vec![0, 0, 1, 1],
            ceil_mode: true,
        };
        ops.push(Op::Pool(pool));
    }
    for mode in [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap] {
        ops.push(Op::Pad { mode, pads: vec![1, -1, 0, 2], value: 0.25.into() });
    }
    let nearest = [NearestMode::RoundPreferFloor, NearestMode::RoundPreferCeil, NearestMode::Floor, NearestMode::Ceil];
    let modes = nearest.map(ResizeMode::Nearest).into_iter().chain([ResizeMode::Linear, ResizeMode::Cubic]);
    for (mode, coord) in modes.zip(CoordMode::ALL) {
        ops.push(Op::Resize(ResizeAttrs {
            mode,
            coord,
            scales: vec![1.0.into(), 1.0.into(), 2.0.into(), 1.5.into()],
            sizes: vec![1, 3, 8, 6],
            roi: if coord == CoordMode::TfCropAndResize {
                vec![0.0.into(), 0.0.into(), 0.1.into(), 0.2.into(), 1.0.into(), 1.0.into(), 0.9.into(), 0.8.into()]
            } else {
                vec![]
            },
            cubic_coeff_a: (-0.75).into(),
            exclude_outside: mode == ResizeMode::Cubic,
            extrapolation_value: 0.0.into(),
        }));
    }
    ops
}

/// The optimizer's fused forms: an elementwise program using unary attributes, and each base.
fn fused_ops() -> Vec<Op> {
    let silu = Program {
        steps: vec![
            Step::Unary(UnaryOp::Sigmoid, Operand::Arg(0)),
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Reg(0)),
            Step::Unary(UnaryOp::Clip { min: (-0.5).into(), max: 6.0.into() }, Operand::Reg(1)),
            Step::Unary(UnaryOp::LeakyRelu { alpha: 0.1.into() }, Operand::Reg(2)),
        ],
    };
    let residual = Program {
        steps: vec![
            Step::Binary(BinaryOp::Add, Operand::Arg(0), Operand::Arg(1)),
            Step::Unary(UnaryOp::Relu, Operand::Reg(0)),
        ],
    };
    let conv =
        ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![1, 1, 1, 1], group: 1 };
    let fused = |base: Op, base_inputs: usize, epilogue: &Program| Op::Fused {
        base: Box::new(base),
        base_inputs,
        epilogue: epilogue.clone(),
    };
    vec![
        Op::Elementwise(silu.clone()),
        fused(Op::Conv(conv), 3, &residual),
        fused(Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b: true }, 2, &silu),
        fused(Op::MatMul, 2, &Program::default()),
    ]
}

/// A graph applying each op to the same inputs (types are not checked by the text form).
fn graph_of(ops: &[Op]) -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[2, 3]));
    let y = g.add_input("", f32t(&[2, 3]));
    let mut last = x;
    for (i, op) in ops.iter().enumerate() {
        let outputs = (0..op.num_outputs().unwrap_or(1)).map(|k| (format!("v{i}_{k}"), f32t(&[2, 3]))).collect();
        let n = g.add_node(format!("{}_{i}", op.name()), op.clone(), vec![x, y], outputs);
        last = g.node(n).outputs.first().copied().unwrap_or(last);
    }
    g.outputs.push(last);
    g
}

#[test]
fn every_op_round_trips() {
    let ops = all_ops();
    let g = graph_of(&ops);
    let parsed = assert_round_trip(&g);
    let parsed_ops: Vec<Op> = parsed.nodes.iter().map(|(_, n)| n.op.clone()).collect();
    assert_eq!(parsed_ops, ops);
    for ((_, a), (_, b)) in g.values.iter().zip(parsed.values.iter()) {
        assert_eq!(a, b);
    }
    assert_eq!(parsed.inputs, g.inputs);
    assert_eq!(parsed.outputs, g.outputs);
}

#[test]
fn special_floats_round_trip_bit_exactly() {
    let weird =
        [f32::INFINITY, f32::NEG_INFINITY, -0.0, f32::from_bits(1), f32::MAX, f32::MIN_POSITIVE, 0.1, 1e-7, 3e38];
    let nan_payload = f32::from_bits(0x7fc0_1234);
    let mut ops: Vec<Op> =
        weird.iter().map(|&w| Op::Unary(UnaryOp::Clip { min: (-w).into(), max: w.into() })).collect();
    ops.push(Op::Unary(UnaryOp::LeakyRelu { alpha: nan_payload.into() }));
    ops.push(Op::Unary(UnaryOp::Elu { alpha: (f32::NAN).into() }));
    ops.push(Op::Unary(UnaryOp::Elu { alpha: (-f32::NAN).into() }));
    for value in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, f64::from_bits(0x7ff8_0000_0000_0042), -0.0, 1e-300, 0.1]
    {
        ops.push(Op::Pad { mode: PadMode::Constant, pads: vec![0, 0], value: value.into() });
    }
    let parsed = assert_round_trip(&graph_of(&ops));
    let bits = |op: &Op| match op {
        Op::Unary(UnaryOp::Clip { min, max }) => vec![min.to_bits() as u64, max.to_bits() as u64],
        Op::Unary(UnaryOp::LeakyRelu { alpha } | UnaryOp::Elu { alpha }) => vec![alpha.to_bits() as u64],
        Op::Pad { value, .. } => vec![value.to_bits()],
        other => panic!("unexpected op {other:?}"),
    };
    for (op, (_, node)) in ops.iter().zip(parsed.nodes.iter()) {
        assert_eq!(bits(op), bits(&node.op), "{op:?}");
    }
    let text = print_graph(&parsed, false);
    assert!(text.contains("clip(%0, %1) {min=-inf, max=inf}"), "{text}");
    assert!(text.contains("leaky_relu(%0, %1) {alpha=nan(0x7fc01234)}"), "{text}");
}

/// Resize scales are f64 (out/in when ONNX gave sizes): values no f32 holds, neighbours one ulp
/// apart and widened f32 scales all come back with the same bits.
#[test]
fn resize_scales_round_trip_bit_exactly() {
    let third = 1.0f64 / 3.0;
    let scales = vec![third, f64::from_bits(third.to_bits() + 1), 0.6f32 as f64, 3.0 / 5.0, 1e-300, 7.0 / 3.0];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::HalfPixel,
        scales: scales.iter().map(|&s| Ieee64::new(s)).collect(),
        sizes: vec![1; 6],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let parsed = assert_round_trip(&graph_of(std::slice::from_ref(&op)));
    let Some((_, node)) = parsed.nodes.iter().next() else { panic!("no node parsed") };
    let Op::Resize(a) = &node.op else { panic!("expected Resize, got {:?}", node.op) };
    let bits: Vec<u64> = a.scales.iter().map(|x| x.to_bits()).collect();
    assert_eq!(bits, scales.iter().map(|x| x.to_bits()).collect::<Vec<u64>>());
    let text = print_graph(&parsed, false);
    assert!(text.contains("scales=[0.3333333333333333,0.33333333333333337,0.6000000238418579,0.6,1e-300,"), "{text}");
}

/// A constant of every dtype, small (exact list) and large (hex), plus edge shapes.
fn constants_graph() -> Graph {
    let mut g = Graph::new();
    let big = |i: usize| (i as f64) * 1.5 - 20.0;
    for dtype in DType::ALL {
        let small: Vec<f64> = (0..6).map(big).collect();
        g.add_const(format!("{dtype}_small"), Tensor::from_f64(dtype, [2, 3], &small));
        let large: Vec<f64> = (0..37).map(big).collect();
        g.add_const(format!("{dtype}_large"), Tensor::from_f64(dtype, [37], &large));
    }
    g.add_const("scalar", Tensor::scalar(2.5f32));
    g.add_const("empty", Tensor::from_vec::<i64>([0, 4], vec![]));
    g.add_const("extremes", Tensor::from_vec([4], vec![i64::MIN, i64::MAX, -1, 0]));
    g.add_const("u64max", Tensor::from_vec([1], vec![u64::MAX]));
    g.add_const("nans", Tensor::from_vec([3], vec![f32::NAN, f32::from_bits(0xffc0_0001), f32::NEG_INFINITY]));
    let mut weights: Vec<f32> = (0..100).map(|i| (i as f32).sin()).collect();
    weights[7] = f32::NAN;
    g.add_const("weights", Tensor::from_vec([4, 25], weights));
    g
}

#[test]
fn constants_of_every_dtype_round_trip_exactly() {
    let g = constants_graph();
    let parsed = assert_round_trip(&g);
    assert_eq!(parsed.constants.len(), g.constants.len());
    for ((_, a), (_, b)) in g.constants.iter().zip(parsed.constants.iter()) {
        assert_eq!(a.ty(), b.ty());
        assert_eq!(a.to_le_bytes(), b.to_le_bytes());
    }
}

#[test]
fn large_constants_are_summarised_and_cannot_be_parsed() {
    let g = constants_graph();
    let text = print_graph(&g, false);
    let line = text.lines().position(|l| l.contains("\"weights\"")).unwrap() + 1;
    let weights_line = text.lines().nth(line - 1).unwrap();
    let weights = g.constants.iter().last().unwrap().1.as_slice::<f32>().unwrap().to_vec();
    let finite = weights.iter().copied().filter(|x| !x.is_nan());
    let (min, max) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let summary = format!("= const <100 elements, min {min:?}, max {max:?}, 1 nan>");
    assert!(weights_line.ends_with(&summary), "{weights_line}");
    let first_summary = text.lines().position(|l| l.contains("= const <")).unwrap() + 1;
    match parse_graph(&text) {
        Err(IrError::Parse { line, msg }) => {
            assert_eq!(line, first_summary);
            assert!(msg.contains("summarised"), "{msg}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn values_keep_their_ids_when_not_in_text_order() {
    // A pass may add a constant after nodes: the value arena is input, node result, constant.
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[2]));
    let r = g.add_node1("r", Op::Unary(UnaryOp::Relu), vec![x], "relu", f32t(&[2]));
    let c = g.add_const("late", Tensor::from_vec([2], vec![1.0f32, 2.0]));
    let y = g.add_node1("a", Op::Binary(BinaryOp::Add), vec![r, c], "y", f32t(&[2]));
    g.outputs.push(y);
    let parsed = assert_round_trip(&g);
    assert_eq!(parsed.value(c).name, "late");
    assert_eq!(parsed.value(r).name, "relu");
    let text = print_graph(&g, false);
    assert!(
        text.contains("  %2: f32[2] \"late\" = const [1.0, 2.0]\n  %1: f32[2] \"relu\" = relu(%0) \"r\""),
        "{text}"
    );
}

#[test]
fn hand_written_text_is_renumbered_densely() {
    let text = r#"
; a comment before the graph
graph(%10: f32[2] "x") -> (%42 "y") {
  %7: f32[2] = const [0.5, -0.5]   ; trailing comment
  %42: f32[2] "y" = add(%10, %7) "a;b"

}
"#;
    let g = parse_graph(text).unwrap();
    assert_eq!(g.values.len(), 3);
    let printed = print_graph(&g, true);
    let expected = "graph(%1: f32[2] \"x\") -> (%2 \"y\") {\n  %0: f32[2] = const [0.5, -0.5]\n  %2: f32[2] \"y\" = add(%1, %0) \"a;b\"\n}\n";
    assert_eq!(printed, expected);
}

#[test]
fn names_with_quotes_and_control_characters_round_trip() {
    let mut g = Graph::new();
    let x = g.add_input("say \"hi\"\\\n\t\u{1}é", f32t(&[1]));
    let y = g.add_node1("node ; with } chars", Op::Unary(UnaryOp::Neg), vec![x], "", f32t(&[1]));
    g.outputs.push(y);
    let parsed = assert_round_trip(&g);
    assert_eq!(parsed.value(x).name, g.value(x).name);
    assert_eq!(parsed.nodes.iter().next().unwrap().1.name, "node ; with } chars");
}

/// A small conv net in the style of the frontend's output.
fn conv_net() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("input", f32t(&[1, 3, 8, 8]));
    let w: Vec<f32> = (0..108).map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0).collect();
    let w = g.add_const("conv.weight", Tensor::from_vec([4, 3, 3, 3], w));
    let b = g.add_const("conv.bias", Tensor::from_vec([4], vec![0.1f32, -0.2, 0.3, 0.0]));
    let conv =
        ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![1, 1, 1, 1], group: 1 };
    let c = g.add_node1("Conv_0", Op::Conv(conv), vec![x, w, b], "conv_out", f32t(&[1, 4, 8, 8]));
    let r = g.add_node1("Relu_0", Op::Unary(UnaryOp::Relu), vec![c], "relu_out", f32t(&[1, 4, 8, 8]));
    let pool = PoolAttrs {
        kind: PoolKind::Max,
        kernel: vec![2, 2],
        strides: vec![2, 2],
        dilations: vec![1, 1],
        pads: vec![0, 0, 0, 0],
        ceil_mode: false,
    };
    let p = g.add_node1("MaxPool_0", Op::Pool(pool), vec![r], "pool_out", f32t(&[1, 4, 4, 4]));
    let f = g.add_node1("Flatten_0", Op::Reshape { shape: vec![1, 64] }, vec![p], "flat", f32t(&[1, 64]));
    let s = g.add_node1("Softmax_0", Op::Softmax { axis: 1 }, vec![f], "output", f32t(&[1, 64]));
    g.outputs.push(s);
    g
}

#[test]
fn snapshot_conv_net() {
    let g = conv_net();
    assert_round_trip(&g);
    insta::assert_snapshot!(print_graph(&g, false));
}

#[test]
fn snapshot_split() {
    let mut g = Graph::new();
    let x = g.add_input("input", f32t(&[1, 4, 8, 8]));
    let outputs = vec![("a".to_string(), f32t(&[1, 1, 8, 8])), ("b".to_string(), f32t(&[1, 3, 8, 8]))];
    let n = g.add_node("Split_0", Op::Split { axis: 1, sizes: vec![1, 3] }, vec![x], outputs);
    g.outputs.extend(g.node(n).outputs.clone());
    assert_round_trip(&g);
    insta::assert_snapshot!(print_graph(&g, false));
}

#[test]
fn snapshot_slice_with_negative_steps() {
    let mut g = Graph::new();
    let x = g.add_input("input", f32t(&[4, 10]));
    let op = Op::Slice { starts: vec![3, 9], steps: vec![-1, -3], lens: vec![4, 4] };
    let y = g.add_node1("Slice_0", op, vec![x], "reversed", f32t(&[4, 4]));
    g.outputs.push(y);
    assert_round_trip(&g);
    insta::assert_snapshot!(print_graph(&g, false));
}

#[test]
fn snapshot_resize() {
    let mut g = Graph::new();
    let x = g.add_input("input", f32t(&[1, 3, 4, 4]));
    let nearest = ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::Floor),
        coord: CoordMode::Asymmetric,
        scales: vec![1.0.into(), 1.0.into(), 2.0.into(), 2.0.into()],
        sizes: vec![1, 3, 8, 8],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    };
    let linear = ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::HalfPixel,
        scales: vec![1.0.into(), 1.0.into(), 0.75.into(), 0.75.into()],
        sizes: vec![1, 3, 6, 6],
        ..nearest.clone()
    };
    let a = g.add_node1("Resize_up", Op::Resize(nearest), vec![x], "up", f32t(&[1, 3, 8, 8]));
    let b = g.add_node1("Resize_down", Op::Resize(linear), vec![a], "down", f32t(&[1, 3, 6, 6]));
    g.outputs.push(b);
    assert_round_trip(&g);
    insta::assert_snapshot!(print_graph(&g, false));
}

/// `(text, line, part of the message)` for malformed texts.
const BAD_TEXTS: &[(&str, usize, &str)] = &[
    ("", 1, "expected `graph(...) -> (...) {`"),
    ("grph() -> () {\n}", 1, "expected `graph(...) -> (...) {`"),
    ("graph(%0: f32[2]) -> (%0) {\n", 1, "expected `}` closing the graph"),
    ("graph(%0: f32[2] -> (%0) {\n}", 1, "expected `,` or `)` in the graph inputs, found `-`"),
    ("graph(%0: f33[2]) -> (%0) {\n}", 1, "unknown dtype `f33`"),
    ("graph(%0: f32[2]) -> (%1) {\n}", 1, "%1 is not defined"),
    ("graph(%0: f32[2]) -> (%0 \"x\") {\n}", 1, "graph output %0 is named \"x\""),
    (
        "graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = relu(%0)\n  %1: f32[2] = relu(%0)\n}",
        3,
        "%1 is already defined on line 2",
    ),
    ("graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = frobnicate(%0)\n}", 2, "op `frobnicate`: unknown op"),
    (
        "graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = relu(%0) {alpha=1.0}\n}",
        2,
        "op `relu`: unexpected attribute `alpha`",
    ),
    ("graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = elu(%0)\n}", 2, "op `elu`: expected attribute `alpha`"),
    (
        "graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = elu(%0) {alpha=x}\n}",
        2,
        "attribute `alpha`: expected a float, found `x`",
    ),
    (
        "graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = softmax(%0) {axis=-1}\n}",
        2,
        "expected a non-negative integer, found `-1`",
    ),
    (
        "graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = softmax(%0) {axis=1, axis=1}\n}",
        2,
        "attribute `axis` is given twice",
    ),
    (
        "graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = relu(%0) \"n\" extra\n}",
        2,
        "expected end of line after the node, found `extra`",
    ),
    ("graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = relu(%2)\n}", 2, "%2 is not defined"),
    (
        "graph() -> (%1) {\n  %1: f32[3] = const [1.0, 2.0]\n}",
        2,
        "constant %1: 2 elements given but type f32[3] needs 3",
    ),
    ("graph() -> (%1) {\n  %1: i8[2] = const [1, 300]\n}", 2, "`300` is not a i8"),
    (
        "graph() -> (%1) {\n  %1: f32[2] = const hex\"0000\"\n}",
        2,
        "2 bytes given but type f32[2] needs 2 elements of 4 bytes",
    ),
    ("graph() -> (%1) {\n  %1: f32[1] = const hex\"zz00803f\"\n}", 2, "non-hex digit"),
    ("graph() -> (%1) {\n  %1: f32[1] \"unterminated = const [1.0]\n}", 2, "unterminated string"),
    ("graph() -> (%1) {\n  %1: f32[1] = const [1.0]\n}\n}", 4, "nothing after the closing `}`"),
];

#[test]
fn parse_errors_name_the_line_and_what_was_expected() {
    for &(text, want_line, want_msg) in BAD_TEXTS {
        match parse_graph(text) {
            Err(IrError::Parse { line, msg }) => {
                assert!(msg.contains(want_msg), "text {text:?}: message {msg:?} lacks {want_msg:?}");
                assert_eq!(line, want_line, "text {text:?}: {msg}");
            }
            other => panic!("text {text:?}: expected a parse error, got {other:?}"),
        }
    }
}

/// One random edit of `text`: delete, insert, duplicate or move a piece, or truncate.
fn mutate(text: &str, rng: &mut StdRng) -> String {
    const INSERTS: &[&str] = &[
        "%",
        "\"",
        "[",
        "]",
        "{",
        "}",
        "(",
        ")",
        ",",
        "=",
        "-",
        "9999999999999999999999",
        "nan(",
        "\\",
        ";",
        "\n",
        "é",
        "0",
        "hex\"",
        "f32[",
        "inf",
    ];
    let mut chars: Vec<char> = text.chars().collect();
    let at = rng.gen_range(0..=chars.len());
    match rng.gen_range(0..5) {
        0 if at < chars.len() => {
            let len = rng.gen_range(1..=8).min(chars.len() - at);
            chars.drain(at..at + len);
        }
        1 => {
            let piece = INSERTS[rng.gen_range(0..INSERTS.len())];
            chars.splice(at..at, piece.chars());
        }
        2 if at < chars.len() => {
            let len = rng.gen_range(1..=20).min(chars.len() - at);
            let piece: Vec<char> = chars[at..at + len].to_vec();
            let to = rng.gen_range(0..=chars.len());
            chars.splice(to..to, piece);
        }
        3 => chars.truncate(at),
        _ if at < chars.len() => chars[at] = char::from(rng.gen_range(b' '..=b'~')),
        _ => {}
    }
    chars.into_iter().collect()
}

#[test]
fn parser_never_panics_on_mutated_text() {
    let mut rng = StdRng::seed_from_u64(0x6b696c6e);
    let mut g = graph_of(&all_ops());
    for (_, c) in constants_graph().constants.iter().take(6) {
        g.add_const("c", c.clone());
    }
    let valid = print_graph(&g, true);
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..1500 {
        let mut text = valid.clone();
        for _ in 0..rng.gen_range(1..4) {
            text = mutate(&text, &mut rng);
        }
        match parse_graph(&text) {
            Ok(parsed) => {
                ok += 1;
                // Whatever parses prints and parses back to the same text.
                let again = print_graph(&parsed, true);
                assert_eq!(print_graph(&parse_graph(&again).unwrap(), true), again);
            }
            Err(IrError::Parse { line, .. }) => {
                failed += 1;
                assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "line {line} out of range");
            }
            Err(other) => panic!("non-parse error {other:?}"),
        }
    }
    assert!(ok > 0 && failed > 0, "mutations should both break and keep the text valid ({ok} ok, {failed} failed)");
}

#[test]
fn printer_shows_broken_handles_instead_of_panicking() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[2]));
    let c = g.add_const("c", Tensor::from_vec([2], vec![1.0f32, 2.0]));
    g.values[c].def = ValueDef::Const(Handle::new(3));
    let n = g.add_node("n", Op::Binary(BinaryOp::Add), vec![x, Handle::new(40)], vec![("y".into(), f32t(&[2]))]);
    g.nodes[n].outputs.push(Handle::new(41));
    g.outputs.push(Handle::new(42));
    let text = print_graph(&g, true);
    let expected = "graph(%0: f32[2] \"x\") -> (%42) {\n  %1: f32[2] \"c\" = const <missing constant #3>\n  %2: f32[2] \"y\", %41: <invalid> = add(%0, %40) \"n\"\n}\n";
    assert_eq!(text, expected);
    assert!(parse_graph(&text).is_err());
}
