//! The pre-import scan that lists every unsupported op of a model at once.
//!
//! Run before anything else so a user sees the whole list in one error rather than one op per
//! attempt: ops of other domains (ai.onnx.ml, training, custom), unknown default-domain ops
//! (sequences...), string tensors, and optional outputs kiln does not compute when used
//! (BatchNormalization's statistics outside opset-14+ training mode); in If/Loop/Scan bodies
//! too, whose nodes are listed as `Parent/Child`, along with subgraph outputs that are not
//! tensors (sequences, optionals).

use crate::error::UnsupportedOp;
use crate::import::dispatch::{PREVIEW_SUPPORTED, SUPPORTED};
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use onnx_protobuf::type_proto::Value as TypeValue;
use onnx_protobuf::{GraphProto, NodeProto};
use std::collections::HashSet;

/// The unsupported ops of `graph`, in node order, subgraphs (If/Loop/Scan bodies) included.
pub fn unsupported_ops(graph: &GraphProto) -> Vec<UnsupportedOp> {
    let mut used = HashSet::new();
    collect_used(graph, &mut used);
    let mut found = Vec::new();
    list_unsupported(graph, &used, "", &mut found);
    found
}

/// Every name read by a node or listed as an output, in `graph` and its subgraphs.
fn collect_used<'g>(graph: &'g GraphProto, used: &mut HashSet<&'g str>) {
    used.extend(graph.node.iter().flat_map(|n| n.input.iter().map(String::as_str)));
    used.extend(graph.output.iter().map(|o| o.name.as_str()));
    for g in graph.node.iter().flat_map(subgraphs) {
        collect_used(g, used);
    }
}

/// The subgraph attributes of a node.
fn subgraphs(n: &NodeProto) -> impl Iterator<Item = &GraphProto> {
    n.attribute.iter().filter_map(|a| a.g.as_ref())
}

/// Appends the unsupported ops of `graph` (node names prefixed with `prefix`) and its subgraphs.
fn list_unsupported(graph: &GraphProto, used: &HashSet<&str>, prefix: &str, found: &mut Vec<UnsupportedOp>) {
    for (i, n) in graph.node.iter().enumerate() {
        let node = if n.name.is_empty() { format!("{prefix}{}_{i}", n.op_type) } else { format!("{prefix}{}", n.name) };
        let reason = why_unsupported(n, used).or_else(|| non_tensor_subgraph_output(n).map(Some));
        if let Some(reason) = reason {
            found.push(UnsupportedOp {
                node: node.clone(),
                op_type: n.op_type.clone(),
                domain: n.domain.clone(),
                reason,
            });
        }
        for g in subgraphs(n) {
            list_unsupported(g, used, &format!("{node}/"), found);
        }
    }
}

/// Why a node's subgraph output is not a tensor (sequence, optional, map...), if one is not.
fn non_tensor_subgraph_output(n: &NodeProto) -> Option<String> {
    for a in n.attribute.iter().filter(|a| a.g.is_some()) {
        for o in a.g.iter().flat_map(|g| g.output.iter()) {
            let kind = match o.type_.as_ref().and_then(|t| t.value.as_ref()) {
                Some(TypeValue::TensorType(_)) | None => continue,
                Some(TypeValue::SequenceType(_)) => "a sequence",
                Some(TypeValue::OptionalType(_)) => "an optional",
                Some(TypeValue::MapType(_)) => "a map",
                Some(_) => "a non-tensor",
            };
            return Some(format!(
                "subgraph '{}' output '{}' has {kind} type; kiln supports only tensors",
                a.name, o.name
            ));
        }
    }
    None
}

/// `None` when supported, `Some(None)` for an unknown op, `Some(Some(why))` otherwise.
fn why_unsupported(n: &NodeProto, used: &HashSet<&str>) -> Option<Option<String>> {
    let known = match n.domain.as_str() {
        "" | "ai.onnx" => SUPPORTED,
        "ai.onnx.preview" => PREVIEW_SUPPORTED,
        _ => &[],
    };
    if !known.contains(&n.op_type.as_str()) {
        return Some(None);
    }
    // BatchNormalization's running statistics exist in training mode (opset 14+) only; its
    // pre-14 training outputs (saved mean and variance) are not computed.
    let training = n.attribute.iter().any(|a| a.name == "training_mode" && a.i != 0);
    let first_extra = match n.op_type.as_str() {
        "MaxPool" => 2,
        "BatchNormalization" if training => 3,
        "BatchNormalization" => 1,
        _ => usize::MAX,
    };
    if let Some(out) = n.output.iter().skip(first_extra).find(|o| !o.is_empty() && used.contains(o.as_str())) {
        return Some(Some(format!("optional output '{out}' is used; kiln computes only the first output")));
    }
    let bad_dtype = |code: i64| i32::try_from(code).map_or(true, |c| dtype_from_onnx(c).is_err());
    for a in &n.attribute {
        let code = match (n.op_type.as_str(), a.name.as_str()) {
            ("Cast", "to") => a.i,
            ("Constant" | "ConstantOfShape", "value") => a.t.as_ref().map_or(1, |t| t.data_type as i64),
            ("Constant", "value_string" | "value_strings") => 8,
            ("Constant", "sparse_value") => return Some(Some("sparse constants are not supported".into())),
            _ => continue,
        };
        if bad_dtype(code) {
            let name = onnx_dtype_name(code as i32);
            return Some(Some(format!("attribute '{}' has type {name}, which kiln does not support", a.name)));
        }
    }
    None
}
