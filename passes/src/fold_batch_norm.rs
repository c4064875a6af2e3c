//! Folds an inference BatchNorm into the Conv that feeds it.
//!
//! `BN(conv(x, w, b))` with constant BN parameters, constant `w` (and `b`), and the conv's result
//! read only by the BN becomes `conv(x, w * s, (b - mean) * s + bias)` with
//! `s = scale / sqrt(var + eps)` per output channel: one pass over the activations instead of
//! two. The fold is computed in f64 and rounded once to f32. Arenas are append-only, so the
//! pass builds a new graph; constants are shared (`Arc`), never copied, except the two folded.

use kiln_ir::{Graph, NodeId, Op, Tensor, ValueDef, ValueId};
use std::collections::HashMap;
use std::sync::Arc;

/// The new weight and bias of a conv that absorbs a BatchNorm.
struct Folded {
    bn: NodeId,
    weight: Tensor,
    bias: Tensor,
}

/// Returns `graph` with every foldable Conv+BatchNorm pair fused (see the module docs).
///
/// # Panics
/// On a graph that breaks the node-order invariant (a node reading a later node's value);
/// `kiln_ir::verify` rejects such graphs.
pub fn fold_batch_norm(graph: &Graph) -> Graph {
    let users = graph.users();
    let mut folds: HashMap<NodeId, Folded> = HashMap::new();
    for (n, node) in graph.nodes.iter() {
        if let Some((conv, f)) = fold_of(graph, &users, n, node) {
            folds.insert(conv, f);
        }
    }
    if folds.is_empty() {
        return graph.clone();
    }
    rebuild(graph, &folds)
}

/// Const f32 data of `v`, if any.
fn const_f32(graph: &Graph, v: ValueId) -> Option<&[f32]> {
    graph.const_of(v)?.as_slice::<f32>()
}

fn fold_of(graph: &Graph, users: &[Vec<NodeId>], n: NodeId, node: &kiln_ir::Node) -> Option<(NodeId, Folded)> {
    let Op::BatchNorm { epsilon } = node.op else { return None };
    let x = *node.inputs.first()?;
    let ValueDef::Node { node: conv, .. } = graph.value(x).def else { return None };
    let cn = graph.node(conv);
    if !matches!(cn.op, Op::Conv(_)) || users[x.index()].len() != 1 || graph.outputs.contains(&x) {
        return None;
    }
    let p: Vec<&[f32]> = node.inputs[1..].iter().map(|&v| const_f32(graph, v)).collect::<Option<_>>()?;
    let w_t = graph.const_of(cn.inputs[1])?;
    let w = w_t.as_slice::<f32>()?;
    let m = w_t.shape()[0];
    if p.len() != 4 || p.iter().any(|s| s.len() != m) {
        return None;
    }
    let b: Vec<f32> = match cn.inputs.get(2) {
        Some(&bv) => const_f32(graph, bv)?.to_vec(),
        None => vec![0.0; m],
    };
    let per = w.len() / m.max(1);
    let s: Vec<f64> = (0..m).map(|c| p[0][c] as f64 / (p[3][c] as f64 + epsilon as f64).sqrt()).collect();
    let weight: Vec<f32> = w.iter().enumerate().map(|(i, &v)| (v as f64 * s[i / per.max(1)]) as f32).collect();
    let bias: Vec<f32> = (0..m).map(|c| ((b[c] as f64 - p[2][c] as f64) * s[c] + p[1][c] as f64) as f32).collect();
    Some((conv, Folded { bn: n, weight: Tensor::from_vec(w_t.shape().to_vec(), weight), bias: Tensor::from_vec(vec![m], bias) }))
}

/// Copies `graph` node by node, swapping folded conv parameters and dropping their BNs.
fn rebuild(graph: &Graph, folds: &HashMap<NodeId, Folded>) -> Graph {
    let dropped: HashMap<NodeId, NodeId> = folds.iter().map(|(&c, f)| (f.bn, c)).collect();
    let mut g = Graph::new();
    let mut map: HashMap<ValueId, ValueId> = HashMap::new();
    for &v in &graph.inputs {
        let val = graph.value(v);
        map.insert(v, g.add_input(val.name.clone(), val.ty.clone()));
    }
    let get = |g: &mut Graph, map: &mut HashMap<ValueId, ValueId>, v: ValueId| -> ValueId {
        if let Some(&nv) = map.get(&v) {
            return nv;
        }
        let t: Arc<Tensor> = graph.const_of(v).expect("nodes are in order: a value not yet mapped is a constant").clone();
        let nv = g.add_const(graph.value(v).name.clone(), t);
        map.insert(v, nv);
        nv
    };
    for (n, node) in graph.nodes.iter() {
        if let Some(conv) = dropped.get(&n) {
            let conv_out = graph.node(*conv).outputs[0];
            map.insert(node.outputs[0], map[&conv_out]);
            continue;
        }
        let mut inputs: Vec<ValueId> = node.inputs.iter().map(|&v| get(&mut g, &mut map, v)).collect();
        let mut outputs: Vec<(String, kiln_ir::TensorType)> =
            node.outputs.iter().map(|&v| (graph.value(v).name.clone(), graph.ty(v).clone())).collect();
        if let Some(f) = folds.get(&n) {
            inputs.truncate(1);
            inputs.push(g.add_const(format!("{}_folded_w", node.name), f.weight.clone()));
            inputs.push(g.add_const(format!("{}_folded_b", node.name), f.bias.clone()));
            outputs[0].0 = graph.value(graph.node(f.bn).outputs[0]).name.clone();
        }
        let nn = g.add_node(node.name.clone(), node.op.clone(), inputs, outputs);
        for (i, &v) in node.outputs.iter().enumerate() {
            map.insert(v, g.nodes[nn].outputs[i]);
        }
    }
    g.outputs = graph.outputs.iter().map(|&v| get(&mut g, &mut map, v)).collect();
    g
}

#[cfg(test)]
mod tests;
