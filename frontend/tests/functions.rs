//! Model-local functions (`ModelProto.functions`, as PyTorch's dynamo exporter writes modules)
//! inlined at load: nested calls, two calls of one function, attribute references bound to the
//! call's value or the function's default, absent optional outputs; the numbers against a direct
//! loop (reference evaluator on the imported graph) at odd sizes; and the errors that name the
//! call (recursion, opset mismatch, a call with too many inputs), never a panic.
mod common;
use common::*;
use kiln_frontend::FrontendError;
use kiln_ir::{eval_graph, Tensor};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::{AttributeProto, FunctionProto, NodeProto, OperatorSetIdProto};

const DOMAIN: &str = "pkg.torch.2.5.1";

fn opset(domain: &str, version: i64) -> OperatorSetIdProto {
    let mut o = OperatorSetIdProto::new();
    o.domain = domain.to_string();
    o.version = version;
    o
}

fn node(op: &str, domain: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> NodeProto {
    let mut n = NodeProto::new();
    n.op_type = op.to_string();
    n.domain = domain.to_string();
    n.input = inputs.iter().map(|s| s.to_string()).collect();
    n.output = outputs.iter().map(|s| s.to_string()).collect();
    n.attribute = attrs;
    n
}

fn function(name: &str, inputs: &[&str], outputs: &[&str], body: Vec<NodeProto>, ai_onnx: i64) -> FunctionProto {
    let mut f = FunctionProto::new();
    f.name = name.to_string();
    f.domain = DOMAIN.to_string();
    f.input = inputs.iter().map(|s| s.to_string()).collect();
    f.output = outputs.iter().map(|s| s.to_string()).collect();
    f.node = body;
    f.opset_import = vec![opset("", ai_onnx), opset(DOMAIN, 1)];
    f
}

/// An attribute that refers to the calling node's attribute `to`.
fn attr_ref(name: &str, to: &str) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.to_string();
    a.ref_attr_name = to.to_string();
    a.type_ = AttributeType::FLOAT.into();
    a
}

/// `Scale(x, w) = x * w` (its internal name `t` is reused by `Block`), and
/// `Block(x, w) = LeakyRelu(Scale(x, w) + x, alpha = @slope)` with `slope` defaulting to 0.5 and
/// a second output `t` the main graph never takes.
fn functions(ai_onnx: i64) -> Vec<FunctionProto> {
    let scale = function("Scale", &["x", "w"], &["y"], vec![node("Mul", "", &["x", "w"], &["y"], vec![])], ai_onnx);
    let body = vec![
        node("Scale", DOMAIN, &["x", "w"], &["t"], vec![]),
        node("Add", "", &["t", "x"], &["s"], vec![]),
        node("LeakyRelu", "", &["s"], &["y"], vec![attr_ref("alpha", "slope")]),
    ];
    let mut block = function("Block", &["x", "w"], &["y", "t"], body, ai_onnx);
    block.attribute_proto = vec![a_float("slope", 0.5)];
    vec![scale, block]
}

/// `y = Block(Block(x, w1, slope = 0.1), w2)` (the second call uses the default slope).
fn model(n: usize, ai_onnx: i64) -> ModelBuilder {
    let mut b =
        ModelBuilder::new(17).input("x", &[1, n]).init("w1", &weights(n, 1)).init("w2", &weights(n, 2)).output("y");
    b.graph.node.push(node("Block", DOMAIN, &["x", "w1"], &["h"], vec![a_float("slope", 0.1)]));
    b.graph.node.push(node("Block", DOMAIN, &["h", "w2"], &["y", ""], vec![]));
    b.model.opset_import.push(opset(DOMAIN, 1));
    b.model.functions = functions(ai_onnx);
    b
}

fn weights(n: usize, seed: usize) -> Tensor {
    f32s(&[n], &(0..n).map(|i| ((i * 7 + seed * 3) % 5) as f32 / 2.0 - 1.0).collect::<Vec<_>>())
}

fn block(x: &[f64], w: &[f64], slope: f64) -> Vec<f64> {
    x.iter().zip(w).map(|(x, w)| x * w + x).map(|s| if s < 0.0 { slope * s } else { s }).collect()
}

#[test]
fn nested_functions_called_twice_compute_the_direct_loop() {
    for n in [1, 3, 5, 17] {
        let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 2.0).collect();
        let g = verified(model(n, 17).graph());
        let got = eval_graph(&g, &[f32s(&[1, n], &x)]).unwrap_or_else(|e| panic!("n={n}: {e}"))[0].to_f64_vec();
        let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let want = block(&block(&x, &weights(n, 1).to_f64_vec(), 0.1), &weights(n, 2).to_f64_vec(), 0.5);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= 1e-6 + 1e-6 * w.abs(), "n={n} [{i}]: {g} vs {w}");
        }
    }
}

#[test]
fn inlined_nodes_are_default_domain_ops() {
    let g = model(3, 17).graph();
    assert_eq!(op_names(&g), ["mul", "add", "leaky_relu", "mul", "add", "leaky_relu"]);
    let names: Vec<&str> = g.nodes.iter().map(|(_, n)| n.name.as_str()).collect();
    assert!(names[0].starts_with("Block_0::") && names[0].contains("::Scale_0::"), "{names:?}");
}

fn import_error(b: &ModelBuilder) -> String {
    match b.import() {
        Ok(_) => panic!("import succeeded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_recursive_function_is_an_error_naming_the_call() {
    let mut b = model(3, 17);
    let looping = node("Loopy", DOMAIN, &["x"], &["y"], vec![]);
    b.model.functions.push(function("Loopy", &["x"], &["y"], vec![looping.clone()], 17));
    b.graph.node.push(node("Loopy", DOMAIN, &["y"], &["z"], vec![]));
    let err = import_error(&b);
    assert!(err.contains("Loopy") && err.contains("recursive"), "{err}");
}

#[test]
fn a_function_of_another_opset_is_refused() {
    let err = import_error(&model(3, 13));
    assert!(err.contains("'Scale'") || err.contains("'Block'"), "{err}");
    assert!(err.contains("opset 13 but the model imports 17"), "{err}");
}

#[test]
fn a_call_with_too_many_inputs_is_refused() {
    let mut b = model(3, 17);
    b.graph.node[0].input.push("w2".into());
    b.graph.node[0].name = "call0".into();
    let err = import_error(&b);
    assert!(err.contains("node 'call0' (Block)") && err.contains("3 inputs"), "{err}");
}

#[test]
fn a_call_of_an_unknown_function_stays_an_unsupported_op() {
    let mut b = model(3, 17);
    b.graph.node.push(node("Missing", DOMAIN, &["y"], &["z"], vec![]));
    match b.import() {
        Err(FrontendError::UnsupportedOps(ops)) => {
            assert_eq!(ops.len(), 1, "{ops:?}");
            assert_eq!((ops[0].op_type.as_str(), ops[0].domain.as_str()), ("Missing", DOMAIN));
        }
        other => panic!("expected UnsupportedOps, got {other:?}"),
    }
}

#[test]
fn an_output_passing_an_input_through_gets_an_identity() {
    let mut b = ModelBuilder::new(17).input("x", &[1, 3]).output("y").output("z");
    let body = vec![node("Neg", "", &["x"], &["n"], vec![])];
    b.model.functions = vec![function("Both", &["x"], &["n", "x"], body, 17)];
    b.model.opset_import.push(opset(DOMAIN, 1));
    b.graph.node.push(node("Both", DOMAIN, &["x"], &["y", "z"], vec![]));
    let g = verified(b.graph());
    let x = f32s(&[1, 3], &[1.0, -2.0, 3.5]);
    let outs = eval_graph(&g, std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outs[0].to_f64_vec(), [-1.0, 2.0, -3.5]);
    assert_eq!(outs[1].to_f64_vec(), [1.0, -2.0, 3.5]);
}
