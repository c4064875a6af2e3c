//! Test-only: imports one ONNX node straight through [`super::import_node`] and runs it on the
//! reference evaluator. The model-level path (`OnnxModel::import`) first runs the scan, which
//! refuses used optional outputs before an importer can produce them; the importers of those
//! outputs (MaxPool's `Indices`, BatchNormalization's running statistics) are tested here.

use super::ctx::NodeCtx;
use super::Importer;
use kiln_ir::{eval_graph, Tensor};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::{AttributeProto, NodeProto};

/// An INT attribute.
pub fn int(name: &str, v: i64) -> AttributeProto {
    let mut a = attr(name, AttributeType::INT);
    a.i = v;
    a
}

/// An INTS attribute.
pub fn ints(name: &str, v: &[i64]) -> AttributeProto {
    let mut a = attr(name, AttributeType::INTS);
    a.ints = v.to_vec();
    a
}

/// A FLOAT attribute.
pub fn float(name: &str, v: f32) -> AttributeProto {
    let mut a = attr(name, AttributeType::FLOAT);
    a.f = v;
    a
}

/// A STRING attribute.
pub fn string(name: &str, v: &str) -> AttributeProto {
    let mut a = attr(name, AttributeType::STRING);
    a.s = v.as_bytes().to_vec();
    a
}

fn attr(name: &str, ty: AttributeType) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.to_string();
    a.type_ = ty.into();
    a
}

/// Imports node `op` (inputs `in0, in1, ..` fed `inputs`, outputs named `outputs`) at `opset`,
/// verifies the graph and evaluates it; the error text of a failed import otherwise.
pub fn run(
    op: &str,
    opset: i64,
    inputs: &[Tensor],
    outputs: &[&str],
    attrs: Vec<AttributeProto>,
) -> Result<Vec<Tensor>, String> {
    let mut node = NodeProto::new();
    node.op_type = op.to_string();
    node.name = format!("{op}_under_test");
    node.input = (0..inputs.len()).map(|i| format!("in{i}")).collect();
    node.output = outputs.iter().map(|s| s.to_string()).collect();
    node.attribute = attrs;
    let mut imp = Importer::new(None, crate::DEFAULT_FOLD_LIMIT);
    for (i, t) in inputs.iter().enumerate() {
        let v = imp.graph.add_input(format!("in{i}"), t.ty());
        imp.bind(&format!("in{i}"), v);
    }
    let ctx = NodeCtx::new(&node, 0, opset);
    let outs = super::import_node(&mut imp, &ctx).map_err(|e| e.to_string())?;
    imp.graph.outputs = outs;
    kiln_ir::verify(&imp.graph).map_err(|e| format!("verify: {e}"))?;
    eval_graph(&imp.graph, inputs).map_err(|e| format!("eval: {e}"))
}
