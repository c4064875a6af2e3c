//! Constant folding at import: exporter shape subgraphs disappear, the size cap keeps large
//! results as nodes, and a compile-time parameter that cannot fold is reported.
mod common;
use common::*;
use kiln_frontend::FrontendError;
use kiln_ir::{BinaryOp, Op, Tensor};

#[test]
fn exporter_shape_subgraph_folds_into_one_reshape() {
    // y = x.reshape(x.shape[0], -1), as PyTorch exports it.
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3, 4])
        .init("zero", &Tensor::scalar(0i64))
        .init("axes", &i64s(&[0]))
        .init("minus_one", &i64s(&[-1]))
        .node("Shape", &["x"], &["s"])
        .node("Gather", &["s", "zero"], &["d0"])
        .node("Unsqueeze", &["d0", "axes"], &["d0_1d"])
        .node_attrs("Concat", &["d0_1d", "minus_one"], &["shape"], vec![a_int("axis", 0)])
        .node("Reshape", &["x", "shape"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Reshape { shape: vec![2, 12] });
}

#[test]
fn constant_arithmetic_folds_and_expand_of_constants_folds() {
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .init("a", &f32s(&[3], &[1.0, 2.0, 3.0]))
        .init("b", &f32s(&[3], &[1.0, 1.0, 1.0]))
        .init("s", &i64s(&[2, 3]))
        .node("Add", &["a", "b"], &["c"])
        .node("Expand", &["c", "s"], &["e"])
        .node("Mul", &["x", "e"], &["y"])
        .output("y")
        .graph();
    assert_eq!(ops(&g), vec![Op::Binary(BinaryOp::Mul)]);
    let mul = g.nodes.iter().next().unwrap().1;
    assert_eq!(g.const_of(mul.inputs[1]).unwrap().to_f64_vec(), vec![2.0, 3.0, 4.0, 2.0, 3.0, 4.0]);
}

#[test]
fn results_over_the_cap_stay_nodes() {
    // [8192,1] + [1,4096] f32 is 128 MiB: over the 64 MiB cap.
    let g = ModelBuilder::new(13)
        .init("a", &zeros(&[8192, 1]))
        .init("b", &zeros(&[1, 4096]))
        .node("Add", &["a", "b"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Binary(BinaryOp::Add));
}

#[test]
fn parameter_from_an_unfoldable_constant_subgraph_is_data_dependent() {
    let b = ModelBuilder::new(13)
        .input("x", &[6])
        .init("big", &i64s(&[1 << 24]))
        .node_attrs("ConstantOfShape", &["big"], &["ones"], vec![a_tensor("value", tensor_proto("", &i64s(&[6])))])
        .node_attrs("ReduceMax", &["ones"], &["n"], vec![a_ints("axes", &[0])])
        .node("Reshape", &["x", "n"], &["y"])
        .output("y");
    let e = b.import().unwrap_err();
    assert!(
        matches!(&e, FrontendError::DataDependent { node, input, .. } if node == "Reshape_2" && input == "n"),
        "{e}"
    );
}
