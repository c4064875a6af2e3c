//! Legalization: rewrites the nodes this target has no kernel for into nodes it has, before the
//! memory plan and code generation.
//!
//! Today one case: `Op::ChannelsLast` (NHWC conv, pooling and Winograd, `kiln_ir::layout`)
//! exists only as machine-code micro-kernels (`crate::mk`). Where the target has none
//! (baseline x86-64, a fused epilogue the generator cannot lower, a shape it does not cover),
//! the node becomes its definition: a transpose to the canonical layout, the canonical op (with
//! its epilogue, whose extra operands are brought from NHWC to NCHW), and a transpose back. The graph optimizer picks NHWC
//! only where it expects micro-kernels, so this is the rare path; it keeps every graph
//! compilable on every target.

use crate::error::{BackendError, Result};
use crate::kernel::{KernelSpec, TargetCaps};
use crate::mk;
use kiln_ir::layout::{forms, inverse, permute, to_channels_first};
use kiln_ir::{Graph, Node, Op, Program, TensorType, ValueId};
use std::collections::HashMap;

/// `graph` with every node the target cannot compile as-is expanded (see the module docs);
/// `None` when nothing needs to change.
pub fn legalize(graph: &Graph, caps: TargetCaps) -> Result<Option<Graph>> {
    let expansions: Vec<Option<Expansion>> = graph.nodes.iter().map(|(_, n)| expansion(graph, n, caps)).collect();
    if expansions.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut out = Graph::new();
    let mut map: HashMap<ValueId, ValueId> = HashMap::new();
    for &v in &graph.inputs {
        let val = graph.value(v);
        map.insert(v, out.add_input(val.name.clone(), val.ty.clone()));
    }
    for ((_, node), expand) in graph.nodes.iter().zip(expansions) {
        let ins = node.inputs.iter().map(|&v| mapped(graph, &mut out, &mut map, v)).collect::<Result<Vec<_>>>()?;
        let results = if let Some(e) = expand {
            expand_channels_last(&mut out, graph, node, e, &ins)
        } else {
            let outs = node.outputs.iter().map(|&v| (graph.value(v).name.clone(), graph.ty(v).clone())).collect();
            let n = out.add_node(node.name.clone(), node.op.clone(), ins, outs);
            out.node(n).outputs.clone()
        };
        for (&old, new) in node.outputs.iter().zip(results) {
            map.insert(old, new);
        }
    }
    out.outputs = graph.outputs.iter().map(|&v| mapped(graph, &mut out, &mut map, v)).collect::<Result<_>>()?;
    Ok(Some(out))
}

/// The new value of old value `v`, adding constants on first use.
fn mapped(graph: &Graph, out: &mut Graph, map: &mut HashMap<ValueId, ValueId>, v: ValueId) -> Result<ValueId> {
    if let Some(&m) = map.get(&v) {
        return Ok(m);
    }
    let val = graph.value(v);
    let t = graph
        .const_of(v)
        .ok_or_else(|| BackendError::Module(format!("legalize: value `{}` is used before it is defined", val.name)))?;
    let new = out.add_const(val.name.clone(), t.clone());
    map.insert(v, new);
    Ok(new)
}

/// What a channels-last node expands into: the NCHW op, and the fused epilogue with the count
/// of the base's inputs.
struct Expansion {
    inner: Op,
    epilogue: Option<(usize, Program)>,
}

/// The expansion of a `ChannelsLast` node (plain or as a fused base) without a micro-kernel
/// here, or `None`.
fn expansion(graph: &Graph, node: &Node, caps: TargetCaps) -> Option<Expansion> {
    let e = match &node.op {
        Op::ChannelsLast(inner) => Expansion { inner: (**inner).clone(), epilogue: None },
        Op::Fused { base, base_inputs, epilogue } => match &**base {
            Op::ChannelsLast(inner) => {
                Expansion { inner: (**inner).clone(), epilogue: Some((*base_inputs, epilogue.clone())) }
            }
            _ => return None,
        },
        _ => return None,
    };
    let spec = KernelSpec {
        node: node.name.clone(),
        op: node.op.clone(),
        inputs: node.inputs.iter().map(|&v| graph.ty(v).clone()).collect(),
        outputs: node.outputs.iter().map(|&v| graph.ty(v).clone()).collect(),
    };
    let constant: Vec<bool> = node.inputs.iter().map(|&v| graph.const_of(v).is_some()).collect();
    mk::plan(&spec, &constant, caps.micro).is_none().then_some(e)
}

/// `transpose(op_nchw(transpose(x), rest..))`, with a fused epilogue's extra operands brought
/// to NCHW too; returns the node's new results.
fn expand_channels_last(out: &mut Graph, graph: &Graph, node: &Node, e: Expansion, ins: &[ValueId]) -> Vec<ValueId> {
    let Expansion { inner, epilogue } = e;
    let base_inputs = epilogue.as_ref().map_or(ins.len(), |(b, _)| *b).min(ins.len());
    let result_ty = graph.ty(node.outputs[0]).clone();
    let rank = result_ty.shape.len();
    let name = &node.name;
    let (in_perm, out_perm) = forms(&inner, graph.ty(node.inputs[0]).shape.len(), rank);
    let first = match in_perm {
        Some(p) => transpose(out, ins[0], &p, &format!("{name}.to_canonical")),
        None => ins[0],
    };
    let mut args = vec![first];
    args.extend(&ins[1..base_inputs]);
    for (k, &e) in ins[base_inputs..].iter().enumerate() {
        let full = full_rank(out, e, rank, &format!("{name}.x{}", k + 1));
        args.push(transpose(out, full, &to_channels_first(rank), &format!("{name}.x{}_nchw", k + 1)));
    }
    let op = match epilogue {
        Some((_, p)) => Op::Fused { base: Box::new(inner), base_inputs, epilogue: p },
        None => inner,
    };
    let canonical = TensorType::new(result_ty.dtype, permute(&result_ty.shape, &inverse(&out_perm)));
    let y = out.add_node1(format!("{name}.canonical"), op, args, format!("{name}.y_canonical"), canonical);
    vec![transpose(out, y, &out_perm, &format!("{name}.from_canonical"))]
}

fn transpose(out: &mut Graph, x: ValueId, perm: &[usize], name: &str) -> ValueId {
    let t = out.ty(x).clone();
    let ty = TensorType::new(t.dtype, permute(&t.shape, perm));
    out.add_node1(name, Op::Transpose { perm: perm.to_vec() }, vec![x], format!("{name}.y"), ty)
}

/// `x` reshaped to rank `rank` by leading unit dims (numpy broadcasting's alignment).
fn full_rank(out: &mut Graph, x: ValueId, rank: usize, name: &str) -> ValueId {
    let t = out.ty(x).clone();
    if t.shape.len() >= rank {
        return x;
    }
    let mut shape = vec![1; rank - t.shape.len()];
    shape.extend(&t.shape);
    let ty = TensorType::new(t.dtype, shape.clone());
    out.add_node1(name, Op::Reshape { shape }, vec![x], format!("{name}.y"), ty)
}
