//! Import of elementwise ops, Clip across opsets, casts, reductions and arg-reductions.
mod common;
use common::*;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, UnaryOp};

fn unary_op(op: &str, attrs: Vec<onnx_protobuf::AttributeProto>) -> Op {
    let g = ModelBuilder::new(14).input("x", &[2, 3]).node_attrs(op, &["x"], &["y"], attrs).output("y").graph();
    only_op(&g)
}

#[test]
fn unary_ops_map_one_to_one() {
    let cases = [
        ("Relu", UnaryOp::Relu),
        ("Sigmoid", UnaryOp::Sigmoid),
        ("Tanh", UnaryOp::Tanh),
        ("Exp", UnaryOp::Exp),
        ("Log", UnaryOp::Log),
        ("Sqrt", UnaryOp::Sqrt),
        ("Erf", UnaryOp::Erf),
        ("Neg", UnaryOp::Neg),
        ("Abs", UnaryOp::Abs),
        ("Reciprocal", UnaryOp::Reciprocal),
        ("Floor", UnaryOp::Floor),
        ("Ceil", UnaryOp::Ceil),
        ("Round", UnaryOp::Round),
        ("Sign", UnaryOp::Sign),
        ("Sin", UnaryOp::Sin),
        ("Cos", UnaryOp::Cos),
        ("Softplus", UnaryOp::Softplus),
        ("Softsign", UnaryOp::Softsign),
        ("HardSwish", UnaryOp::HardSwish),
    ];
    for (name, u) in cases {
        assert_eq!(unary_op(name, vec![]), Op::Unary(u), "{name}");
    }
}

#[test]
fn unary_attribute_defaults_and_values() {
    assert_eq!(unary_op("LeakyRelu", vec![]), Op::Unary(UnaryOp::LeakyRelu { alpha: 0.01.into() }));
    assert_eq!(unary_op("Elu", vec![a_float("alpha", 0.5)]), Op::Unary(UnaryOp::Elu { alpha: 0.5.into() }));
    assert_eq!(
        unary_op("HardSigmoid", vec![]),
        Op::Unary(UnaryOp::HardSigmoid { alpha: 0.2.into(), beta: 0.5.into() })
    );
}

#[test]
fn wrong_attribute_type_is_an_error() {
    let b = ModelBuilder::new(14)
        .input("x", &[2])
        .node_attrs("LeakyRelu", &["x"], &["y"], vec![a_int("alpha", 1)])
        .output("y");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("node 'LeakyRelu_0' (LeakyRelu), attribute 'alpha'"), "{e}");
}

#[test]
fn binary_and_comparison_ops() {
    for (name, b) in [
        ("Add", BinaryOp::Add),
        ("Sub", BinaryOp::Sub),
        ("Mul", BinaryOp::Mul),
        ("Div", BinaryOp::Div),
        ("Pow", BinaryOp::Pow),
        ("PRelu", BinaryOp::PRelu),
    ] {
        let g = ModelBuilder::new(14)
            .input("a", &[2, 3])
            .input("b", &[3])
            .node(name, &["a", "b"], &["y"])
            .output("y")
            .graph();
        assert_eq!(only_op(&g), Op::Binary(b), "{name}");
        assert_eq!(out_shape(&g, 0), vec![2, 3]);
    }
    let g = ModelBuilder::new(14)
        .input("a", &[2, 3])
        .input("b", &[2, 1])
        .node("Less", &["a", "b"], &["y"])
        .output("y")
        .graph();
    assert_eq!(g.ty(g.outputs[0]).dtype, DType::Bool);
}

#[test]
fn logic_ops_on_bools() {
    use kiln_frontend::Dim::Fixed;
    let g = ModelBuilder::new(14)
        .input_typed("a", BOOL, vec![Fixed(4)])
        .input_typed("b", BOOL, vec![Fixed(4)])
        .node("And", &["a", "b"], &["c"])
        .node("Or", &["c", "b"], &["d"])
        .node("Xor", &["d", "a"], &["e"])
        .node("Not", &["e"], &["f"])
        .output("f")
        .graph();
    assert_eq!(op_names(&g), vec!["and", "or", "xor", "not"]);
}

#[test]
fn pow_with_integer_exponent_casts_it() {
    let g = ModelBuilder::new(15)
        .input("a", &[3])
        .init("e", &kiln_ir::Tensor::scalar(2i64))
        .node("Pow", &["a", "e"], &["y"])
        .output("y")
        .graph();
    // The cast of a constant folds once the evaluator exists; either way the pow sees f32.
    assert_eq!(op_names(&g).last(), Some(&"pow"));
    let pow = g.nodes.iter().last().unwrap().1;
    assert_eq!(g.ty(pow.inputs[1]).dtype, DType::F32);
}

#[test]
fn variadic_ops_chain_binary_ops() {
    let g = ModelBuilder::new(13)
        .input("a", &[2])
        .input("b", &[2])
        .input("c", &[2])
        .node("Sum", &["a", "b", "c"], &["s"])
        .node("Max", &["s", "a"], &["m"])
        .node("Min", &["m"], &["n"])
        .output("n")
        .graph();
    assert_eq!(op_names(&g), vec!["add", "add", "max"]);
    let g =
        ModelBuilder::new(13).input("a", &[2]).input("b", &[2]).node("Mean", &["a", "b"], &["y"]).output("y").graph();
    assert_eq!(op_names(&g), vec!["add", "div"]);
    let div = g.nodes.iter().last().unwrap().1;
    assert_eq!(g.const_of(div.inputs[1]).unwrap().to_f64_vec(), vec![2.0]);
}

#[test]
fn clip_attributes_before_11() {
    let op = ModelBuilder::new(9)
        .input("x", &[3])
        .node_attrs("Clip", &["x"], &["y"], vec![a_float("min", 0.0), a_float("max", 6.0)])
        .output("y")
        .graph();
    assert_eq!(only_op(&op), Op::Unary(UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() }));
}

#[test]
fn clip_inputs_from_11_constant_and_missing_bounds() {
    let g = ModelBuilder::new(11)
        .input("x", &[3])
        .init("lo", &kiln_ir::Tensor::scalar(-1f32))
        .node("Clip", &["x", "lo"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Unary(UnaryOp::Clip { min: (-1.0).into(), max: f32::INFINITY.into() }));
    let g = ModelBuilder::new(12)
        .input("x", &[3])
        .init("hi", &kiln_ir::Tensor::scalar(1f32))
        .node("Clip", &["x", "", "hi"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Unary(UnaryOp::Clip { min: f32::NEG_INFINITY.into(), max: 1.0.into() }));
}

#[test]
fn clip_with_runtime_bounds_is_max_then_min() {
    let g = ModelBuilder::new(13)
        .input("x", &[3])
        .input("lo", &[])
        .input("hi", &[])
        .node("Clip", &["x", "lo", "hi"], &["y"])
        .output("y")
        .graph();
    assert_eq!(ops(&g), vec![Op::Binary(BinaryOp::Max), Op::Binary(BinaryOp::Min)]);
}

#[test]
fn cast_castlike_and_where() {
    use kiln_frontend::Dim::Fixed;
    let g = ModelBuilder::new(15)
        .input("x", &[3])
        .input_typed("c", BOOL, vec![Fixed(3)])
        .input_typed("i", INT64, vec![Fixed(3)])
        .node_attrs("Cast", &["x"], &["xi"], vec![a_int("to", 7)])
        .node("CastLike", &["c", "x"], &["cf"])
        .node("Where", &["c", "i", "xi"], &["w"])
        .output("w")
        .output("cf")
        .graph();
    assert_eq!(ops(&g), vec![Op::Cast { to: DType::I64 }, Op::Cast { to: DType::F32 }, Op::Where]);
}

#[test]
fn cast_to_same_type_is_removed_and_output_keeps_its_name() {
    let g = ModelBuilder::new(13)
        .input("x", &[3])
        .node("Relu", &["x"], &["r"])
        .node_attrs("Cast", &["r"], &["y"], vec![a_int("to", 1)])
        .output("y")
        .graph();
    assert_eq!(op_names(&g), vec!["relu"]);
    assert_eq!(g.value(g.outputs[0]).name, "y");
}

#[test]
fn reduce_axes_attribute_or_input_by_opset() {
    let sum13 = ModelBuilder::new(13)
        .input("x", &[2, 3, 4])
        .init("axes", &i64s(&[-1, 0]))
        .node_attrs("ReduceSum", &["x", "axes"], &["y"], vec![a_int("keepdims", 0)])
        .output("y")
        .graph();
    assert_eq!(only_op(&sum13), Op::Reduce { kind: ReduceKind::Sum, axes: vec![0, 2], keepdims: false });
    assert_eq!(out_shape(&sum13, 0), vec![3]);
    let mean13 = ModelBuilder::new(13)
        .input("x", &[2, 3, 4])
        .node_attrs("ReduceMean", &["x"], &["y"], vec![a_ints("axes", &[1])])
        .output("y")
        .graph();
    assert_eq!(only_op(&mean13), Op::Reduce { kind: ReduceKind::Mean, axes: vec![1], keepdims: true });
    let max18 = ModelBuilder::new(18)
        .input("x", &[2, 3, 4])
        .init("axes", &i64s(&[1]))
        .node("ReduceMax", &["x", "axes"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&max18), Op::Reduce { kind: ReduceKind::Max, axes: vec![1], keepdims: true });
}

#[test]
fn reduce_without_axes_is_all_or_noop() {
    let all = ModelBuilder::new(18).input("x", &[2, 3]).node("ReduceL2", &["x"], &["y"]).output("y").graph();
    assert_eq!(only_op(&all), Op::Reduce { kind: ReduceKind::L2, axes: vec![0, 1], keepdims: true });
    let noop = ModelBuilder::new(18)
        .input("x", &[2, 3])
        .node_attrs("ReduceProd", &["x"], &["y"], vec![a_int("noop_with_empty_axes", 1)])
        .output("y")
        .graph();
    assert_eq!(only_op(&noop), Op::Reduce { kind: ReduceKind::Prod, axes: vec![], keepdims: true });
}

#[test]
fn every_reduce_kind_imports() {
    for (name, kind) in [
        ("ReduceMin", ReduceKind::Min),
        ("ReduceL1", ReduceKind::L1),
        ("ReduceLogSum", ReduceKind::LogSum),
        ("ReduceLogSumExp", ReduceKind::LogSumExp),
        ("ReduceSumSquare", ReduceKind::SumSquare),
    ] {
        let g = ModelBuilder::new(13)
            .input("x", &[2, 3])
            .node_attrs(name, &["x"], &["y"], vec![a_ints("axes", &[0])])
            .output("y")
            .graph();
        assert_eq!(only_op(&g), Op::Reduce { kind, axes: vec![0], keepdims: true }, "{name}");
    }
}

#[test]
fn argmax_and_argmin() {
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .node_attrs("ArgMax", &["x"], &["y"], vec![a_int("axis", -1), a_int("keepdims", 0)])
        .node_attrs("ArgMin", &["x"], &["z"], vec![a_int("select_last_index", 1)])
        .output("y")
        .output("z")
        .graph();
    assert_eq!(
        ops(&g),
        vec![
            Op::ArgMax { axis: 1, keepdims: false, select_last_index: false },
            Op::ArgMin { axis: 0, keepdims: true, select_last_index: true }
        ]
    );
}

#[test]
fn selu_is_gamma_times_elu() {
    let g = ModelBuilder::new(13)
        .input("x", &[3])
        .node_attrs("Selu", &["x"], &["y"], vec![a_float("alpha", 2.0), a_float("gamma", 3.0)])
        .output("y")
        .graph();
    assert_eq!(ops(&g), vec![Op::Unary(UnaryOp::Elu { alpha: 2.0.into() }), Op::Binary(BinaryOp::Mul)]);
    let mul = g.nodes.iter().last().unwrap().1;
    assert_eq!(g.const_of(mul.inputs[1]).unwrap().to_f64_vec(), vec![3.0]);
}
