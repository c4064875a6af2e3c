//! The verifier: accepts well-formed graphs and catches each broken invariant of `graph.rs`,
//! naming the node (name and op) or value and showing its line of IR text.

use kiln_ir::*;
use std::sync::Arc;

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// The message of a verifier error (panics on success or another error kind: a test helper).
fn verify_error(g: &Graph) -> String {
    match verify(g) {
        Err(IrError::Verify(msg)) => msg,
        other => panic!("expected a verifier error, got {other:?}\n{}", print_graph(g, false)),
    }
}

/// x -> relu -> add(bias) -> output, all f32[2,3].
fn small_graph() -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[2, 3]));
    let b = g.add_const("bias", Tensor::from_vec([3], vec![1.0f32, 2.0, 3.0]));
    let r = g.add_node1("Relu_0", Op::Unary(UnaryOp::Relu), vec![x], "r", f32t(&[2, 3]));
    let y = g.add_node1("Add_0", Op::Binary(BinaryOp::Add), vec![r, b], "y", f32t(&[2, 3]));
    g.outputs.push(y);
    g
}

#[test]
fn well_formed_graphs_verify() {
    verify(&small_graph()).unwrap();
    let text = "graph(%0: f32[1,4,8,8] \"x\") -> (%1, %2) {\n  %1: f32[1,1,8,8], %2: f32[1,3,8,8] = split(%0) {axis=1, sizes=[1,3]}\n}\n";
    verify(&parse_graph(text).unwrap()).unwrap();
}

#[test]
fn use_before_def_is_caught() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[2]));
    let later = Handle::new(2);
    g.add_node1("Early", Op::Unary(UnaryOp::Neg), vec![later], "early", f32t(&[2]));
    let y = g.add_node1("Late", Op::Unary(UnaryOp::Relu), vec![x], "late", f32t(&[2]));
    assert_eq!(y, later);
    g.outputs.push(y);
    let msg = verify_error(&g);
    insta::assert_snapshot!(msg, @r#"
    node "Early" (neg): input 0 %2 is used before it is defined (by node #1)
      | %1: f32[2] "early" = neg(%2) "Early"
    "#);
}

#[test]
fn self_use_is_caught() {
    let text = "graph(%0: f32[2]) -> (%1) {\n  %1: f32[2] = add(%0, %1) \"loop\"\n}\n";
    let msg = verify_error(&parse_graph(text).unwrap());
    assert!(msg.starts_with("node \"loop\" (add): input 1 %1 is used before it is defined"), "{msg}");
}

#[test]
fn wrong_output_type_is_caught() {
    let mut g = small_graph();
    let add = g.nodes.handles().last().unwrap();
    let y = g.node(add).outputs[0];
    g.values[y].ty = f32t(&[3, 2]);
    let msg = verify_error(&g);
    insta::assert_snapshot!(msg, @r#"
    node "Add_0" (add): result 0 %3 has type f32[3,2] but the op gives f32[2,3]
      | %3: f32[3,2] "y" = add(%2, %1) "Add_0"
    "#);
}

#[test]
fn wrong_output_count_is_caught() {
    let text = "graph(%0: f32[4]) -> (%1) {\n  %1: f32[1] = split(%0) {axis=0, sizes=[1,3]} \"Split_0\"\n}\n";
    let msg = verify_error(&parse_graph(text).unwrap());
    assert!(msg.starts_with("node \"Split_0\" (split): has 1 results but the op gives 2"), "{msg}");
}

#[test]
fn inference_failure_is_reported_with_the_node() {
    let text = "graph(%0: f32[2,3], %1: f32[4]) -> (%2) {\n  %2: f32[2,3] = add(%0, %1) \"Add_0\"\n}\n";
    let msg = verify_error(&parse_graph(text).unwrap());
    assert!(msg.starts_with("node \"Add_0\" (add): type inference: "), "{msg}");
    assert!(msg.ends_with("\n  | %2: f32[2,3] = add(%0, %1) \"Add_0\""), "{msg}");
}

#[test]
fn bad_handles_are_caught() {
    let mut g = small_graph();
    let add = g.nodes.handles().last().unwrap();
    g.nodes[add].inputs[1] = Handle::new(99);
    let msg = verify_error(&g);
    insta::assert_snapshot!(msg, @r#"
    node "Add_0" (add): input 1: %99 is out of range (the graph has 4 values)
      | %3: f32[2,3] "y" = add(%2, %99) "Add_0"
    "#);

    let mut g = small_graph();
    g.outputs.push(Handle::new(7));
    let msg = verify_error(&g);
    assert!(msg.starts_with("graph output 1: %7 is out of range (the graph has 4 values)\n  | graph("), "{msg}");

    let mut g = small_graph();
    g.inputs.push(Handle::new(4));
    assert!(verify_error(&g).starts_with("graph input 1: %4 is out of range"));

    let mut g = small_graph();
    g.values[Handle::new(1)].def = ValueDef::Const(Handle::new(5));
    assert!(verify_error(&g).starts_with("value %1 \"bias\": constant #5 is out of range (1 constants)"));

    let mut g = small_graph();
    g.values[Handle::new(2)].def = ValueDef::Node { node: Handle::new(9), index: 0 };
    assert!(verify_error(&g).starts_with("value %2 \"r\": defined by node #9 which is out of range (2 nodes)"));
}

#[test]
fn mismatched_constant_is_caught() {
    let mut g = small_graph();
    g.values[Handle::new(1)].ty = f32t(&[2]);
    let msg = verify_error(&g);
    insta::assert_snapshot!(msg, @r#"
    value %1 "bias": has type f32[2] but its constant data is f32[3]
      | %1: f32[2] "bias" = const f32[3] [1.0, 2.0, 3.0]
    "#);
    // The printed form of the broken graph parses back to the same broken graph.
    let parsed = parse_graph(&print_graph(&g, true)).unwrap();
    assert_eq!(verify_error(&parsed), msg);
}

#[test]
fn value_defined_twice_is_caught() {
    let mut g = small_graph();
    let nodes: Vec<NodeId> = g.nodes.handles().collect();
    let r = g.node(nodes[0]).outputs[0];
    g.nodes[nodes[1]].outputs.push(r);
    let msg = verify_error(&g);
    assert!(msg.starts_with("node \"Add_0\" (add): result 1 %2 is defined elsewhere"), "{msg}");
}

#[test]
fn inconsistent_value_defs_are_caught() {
    let mut g = small_graph();
    g.values[Handle::new(3)].def = ValueDef::Node { node: Handle::new(1), index: 1 };
    let msg = verify_error(&g);
    assert!(
        msg.starts_with("value %3 \"y\": defined as result 1 of node \"Add_0\", which does not list it there"),
        "{msg}"
    );

    let mut g = small_graph();
    g.values[Handle::new(2)].def = ValueDef::Input(0);
    assert!(verify_error(&g).starts_with("value %2 \"r\": defined as graph input 0, but that input is %0"));

    let mut g = small_graph();
    g.inputs.push(Handle::new(1));
    assert!(verify_error(&g).starts_with("graph input 1 is %1 but that value is defined as Const(#0)"));

    let mut g = small_graph();
    let t = Arc::clone(&g.constants[Handle::new(0)]);
    g.constants.push(t);
    verify(&g).unwrap();
}
