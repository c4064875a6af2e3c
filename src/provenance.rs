//! Which ONNX node an optimized node comes from, for names people can find in their model.
//!
//! The graph optimizer extracts new nodes from the e-graph and names them `opt.<op>.<n>`
//! (`opt.fused_conv_nhwc.2`), which says nothing about where in the model the time goes. This
//! module recovers, for each such node, the first node of the imported graph it stands for, by
//! evidence in decreasing strength:
//! 1. it reads a named constant (a weight, `w_1`): the first import node reading that name
//!    (a fused node then names the op its chain starts with);
//! 2. it produces graph output `i`: the import's producer of output `i`;
//! 3. the first import node not yet claimed with the same base op (a fused or channels-last
//!    op counts as the op it wraps) and the same number of output elements.
//!
//! A node none of these finds (a reorder the layout pass inserted) keeps its `opt.` name. The
//! match is a best effort for reports, never used for correctness.

use kiln_ir::{Graph, Node, NodeId, Op, ValueDef};
use std::collections::{HashMap, HashSet};

/// `optimized` with each `opt.`-named node renamed to its ONNX node's name (see the module docs).
pub fn with_onnx_names(import: &Graph, optimized: &Graph) -> Graph {
    let names = onnx_names(import, optimized);
    let mut graph = optimized.clone();
    for (id, name) in names {
        graph.nodes[id].name = name;
    }
    graph
}

/// The ONNX node name of every `opt.`-named node of `optimized` that has one.
pub fn onnx_names(import: &Graph, optimized: &Graph) -> HashMap<NodeId, String> {
    let by_const = first_reader_of_constants(import);
    let by_output: HashMap<usize, NodeId> =
        (import.outputs.iter().enumerate()).filter_map(|(i, &v)| producer(import, v).map(|n| (i, n))).collect();
    let mut claimed: HashSet<NodeId> = HashSet::new();
    let mut names = HashMap::new();
    for (id, node) in optimized.nodes.iter().filter(|(_, n)| n.name.starts_with("opt.")) {
        let from_output =
            (optimized.outputs.iter().position(|v| node.outputs.contains(v))).and_then(|i| by_output.get(&i).copied());
        let from_const = || {
            (node.inputs.iter())
                .filter(|&&v| matches!(optimized.value(v).def, ValueDef::Const(_)))
                .filter_map(|&v| by_const.get(optimized.value(v).name.as_str()).copied())
                .min_by_key(|n| n.index())
        };
        let found = from_const().or(from_output).or_else(|| same_op(import, optimized, node, &claimed));
        if let Some(n) = found {
            claimed.insert(n);
            names.insert(id, import.node(n).name.clone());
        }
    }
    names
}

/// For every named constant, the first import node that reads it.
fn first_reader_of_constants(import: &Graph) -> HashMap<&str, NodeId> {
    let mut first = HashMap::new();
    for (id, node) in import.nodes.iter() {
        for &v in &node.inputs {
            let value = import.value(v);
            if matches!(value.def, ValueDef::Const(_)) && !value.name.is_empty() {
                first.entry(value.name.as_str()).or_insert(id);
            }
        }
    }
    first
}

fn producer(graph: &Graph, v: kiln_ir::ValueId) -> Option<NodeId> {
    match graph.value(v).def {
        ValueDef::Node { node, .. } => Some(node),
        _ => None,
    }
}

/// The first unclaimed import node with `node`'s base op and output element count.
fn same_op(import: &Graph, optimized: &Graph, node: &Node, claimed: &HashSet<NodeId>) -> Option<NodeId> {
    let numel = |g: &Graph, n: &Node| n.outputs.first().map(|&v| g.ty(v).numel());
    let (op, size) = (base_op(&node.op), numel(optimized, node));
    (import.nodes.iter())
        .find(|(id, n)| !claimed.contains(id) && base_op(&n.op) == op && numel(import, n) == size)
        .map(|(id, _)| id)
}

/// The op a fused or channels-last op wraps, by name.
fn base_op(op: &Op) -> &'static str {
    match op {
        Op::Fused { base, .. } => base_op(base),
        Op::ChannelsLast(inner) => base_op(inner),
        other => other.name(),
    }
}
