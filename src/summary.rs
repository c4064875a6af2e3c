//! A graph's vital figures for `kiln inspect`: op counts, parameters and estimated FLOPs.
//!
//! FLOPs are an estimate for comparing models and stages, not a cost model: conv, gemm and
//! matmul count 2 per multiply-accumulate; elementwise ops (unary, binary, where, cast,
//! batch norm) 1 per output element; pooling 1 per window element read; reductions, softmax
//! and LRN 1 per input element; data movement (reshape, transpose, slice, concat...) 0.
//! Fused ops count as what they fuse: the base op plus 1 per output element and epilogue step,
//! and an elementwise program 1 per output element and step.

use kiln_ir::{Graph, Node, Op, PoolAttrs};
use std::collections::BTreeMap;
use std::fmt;

/// Figures about one graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Nodes per op name, sorted by name.
    pub op_counts: BTreeMap<&'static str, usize>,
    /// Elements of all constants.
    pub params: usize,
    /// Bytes of all constants.
    pub param_bytes: usize,
    /// Estimated floating-point (or integer) operations of one run.
    pub flops: u64,
    /// Graph inputs as `name: type`.
    pub inputs: Vec<String>,
    /// Graph outputs as `name: type`.
    pub outputs: Vec<String>,
}

/// Computes the summary of `graph`.
pub fn summarize(graph: &Graph) -> Summary {
    let mut op_counts = BTreeMap::new();
    let mut flops = 0u64;
    for (_, node) in graph.nodes.iter() {
        *op_counts.entry(node.op.name()).or_insert(0) += 1;
        flops = flops.saturating_add(node_flops(graph, node));
    }
    let describe = |v| format!("{}: {}", graph.value(v).name, graph.ty(v));
    Summary {
        op_counts,
        params: graph.constants.iter().map(|(_, t)| t.numel()).sum(),
        param_bytes: graph.constant_bytes(),
        flops,
        inputs: graph.inputs.iter().map(|&v| describe(v)).collect(),
        outputs: graph.outputs.iter().map(|&v| describe(v)).collect(),
    }
}

/// Estimated operations of one node (see the module docs).
pub fn node_flops(graph: &Graph, node: &Node) -> u64 {
    let shape = |i: usize, list: &[kiln_ir::ValueId]| list.get(i).map(|&v| graph.ty(v).shape.clone());
    let numel = |s: Option<Vec<usize>>| s.map_or(0, |s| product(&s));
    let out = numel(shape(0, &node.outputs));
    let input = numel(shape(0, &node.inputs));
    let weights = shape(1, &node.inputs).unwrap_or_default();
    let a = shape(0, &node.inputs).unwrap_or_default();
    match &node.op {
        Op::Fused { base, epilogue, .. } => {
            let base_node = Node { op: (**base).clone(), ..node.clone() };
            node_flops(graph, &base_node).saturating_add(out.saturating_mul(epilogue.steps.len() as u64))
        }
        Op::Elementwise(p) => out.saturating_mul(p.steps.len() as u64),
        // Counts are layout-independent: a channels-last op counts as its inner op.
        Op::ChannelsLast(inner) => node_flops(graph, &Node { op: (**inner).clone(), ..node.clone() }),
        Op::Conv(_) => macs(out, product(weights.get(1..).unwrap_or(&[]))),
        Op::Gemm { trans_a, .. } => macs(out, a.get(usize::from(!trans_a)).map_or(0, |&k| k as u64)),
        Op::MatMul => macs(out, a.last().map_or(0, |&k| k as u64)),
        Op::Unary(_) | Op::Binary(_) | Op::Where | Op::Cast { .. } | Op::BatchNorm { .. } => out,
        Op::Pool(PoolAttrs { kernel, .. }) => out.saturating_mul(product(kernel)),
        Op::Reduce { .. } | Op::Softmax { .. } | Op::LogSoftmax { .. } | Op::Lrn { .. } => input,
        _ => 0,
    }
}

/// 2 operations per multiply-accumulate of `out` outputs with `k` terms each.
fn macs(out: u64, k: u64) -> u64 {
    out.saturating_mul(k).saturating_mul(2)
}

/// The product of dims, saturating instead of overflowing.
fn product(dims: &[usize]) -> u64 {
    dims.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "inputs:  {}", self.inputs.join(", "))?;
        writeln!(f, "outputs: {}", self.outputs.join(", "))?;
        let ops: Vec<String> = self.op_counts.iter().map(|(op, n)| format!("{op} x{n}")).collect();
        let nodes: usize = self.op_counts.values().sum();
        writeln!(f, "nodes:   {nodes} ({})", ops.join(", "))?;
        writeln!(f, "params:  {} ({})", self.params, human_bytes(self.param_bytes))?;
        write!(f, "flops:   {} (estimated)", human_count(self.flops))
    }
}

/// `1234567` as `1.23 M`.
pub fn human_count(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.2} K", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} M", n as f64 / 1e6),
        _ => format!("{:.2} G", n as f64 / 1e9),
    }
}

/// Bytes in B, KiB, MiB or GiB.
pub fn human_bytes(n: usize) -> String {
    const K: f64 = 1024.0;
    let x = n as f64;
    if x < K {
        format!("{n} B")
    } else if x < K * K {
        format!("{:.1} KiB", x / K)
    } else if x < K * K * K {
        format!("{:.1} MiB", x / (K * K))
    } else {
        format!("{:.1} GiB", x / (K * K * K))
    }
}
