//! The pre-import scan that lists every unsupported op of a model at once.
//!
//! Run before anything else so a user sees the whole list in one error rather than one op per
//! attempt: ops of other domains (ai.onnx.ml, training, custom), unknown default-domain ops
//! (sequences, control flow...), string tensors, and optional outputs kiln does not compute
//! (Dropout's mask, MaxPool's indices, BatchNormalization's running statistics) when used.

use crate::error::UnsupportedOp;
use crate::import::dispatch::{PREVIEW_SUPPORTED, SUPPORTED};
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use onnx_protobuf::{GraphProto, NodeProto};
use std::collections::HashSet;

/// The unsupported ops of `graph`, in node order.
pub fn unsupported_ops(graph: &GraphProto) -> Vec<UnsupportedOp> {
    let mut used: HashSet<&str> = graph.node.iter().flat_map(|n| n.input.iter().map(String::as_str)).collect();
    used.extend(graph.output.iter().map(|o| o.name.as_str()));
    graph
        .node
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let reason = why_unsupported(n, &used)?;
            let node = if n.name.is_empty() { format!("{}_{i}", n.op_type) } else { n.name.clone() };
            Some(UnsupportedOp { node, op_type: n.op_type.clone(), domain: n.domain.clone(), reason })
        })
        .collect()
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
    let first_extra = match n.op_type.as_str() {
        "MaxPool" | "BatchNormalization" => 1,
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
