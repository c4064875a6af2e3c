//! The verifier: checks the graph invariants documented in `crate::graph`.
//!
//! Run after the frontend and after every pass in tests (as cranelift's `verify_if`): an error
//! here is a compiler bug, so each message names the node (name and op) or value at fault and
//! shows its line of the IR text (`crate::print`), ids as in `print_graph`'s output.
//!
//! Checks, in order, stopping at the first failure:
//! 1. graph inputs and outputs are handles in range, and input `i` is defined as `Input(i)`;
//! 2. every value's `ValueDef` points back at it (input slot, constant in range with the
//!    value's type, or node result slot), so each value is defined exactly once;
//! 3. per node in order: inputs in range and defined before the node (execution order),
//!    outputs defined by this node, and output count and types equal to `infer_types`;
//! 4. bounded results (`crate::dynamic`) are read by no node, and a bounded graph output has
//!    its length among the graph outputs.

use crate::error::{IrError, Result};
use crate::graph::{Graph, NodeId, ValueDef, ValueId};
use crate::infer::infer_types;
use crate::print::{const_line, header_line, node_line, value_ref};

/// Checks every invariant of `graph`; the error names the first broken one.
pub fn verify(graph: &Graph) -> Result<()> {
    check_graph_io(graph)?;
    for v in graph.values.handles() {
        check_value_def(graph, v)?;
    }
    for n in graph.nodes.handles() {
        check_node_operands(graph, n)?;
        check_node_types(graph, n)?;
    }
    check_bounded(graph)
}

/// Check 4: the data-dependent shape rules of `crate::dynamic`.
fn check_bounded(graph: &Graph) -> Result<()> {
    crate::dynamic::check_bounded_uses(graph).map_err(IrError::Verify)?;
    crate::dynamic::bounded_outputs(graph).map_err(|m| header_error(graph, m))?;
    Ok(())
}

/// An error about node `n`, with its text line.
fn node_error(graph: &Graph, n: NodeId, msg: impl std::fmt::Display) -> IrError {
    let node = &graph.nodes[n];
    IrError::Verify(format!("node {:?} ({}): {msg}\n  | {}", node.name, node.op.name(), node_line(graph, n)))
}

/// An error about value `v` (in range), with the line that defines it when there is one.
fn value_error(graph: &Graph, v: ValueId, msg: impl std::fmt::Display) -> IrError {
    let value = &graph.values[v];
    let line = match value.def {
        ValueDef::Const(c) => format!("\n  | {}", const_line(graph, v, c, false)),
        ValueDef::Node { node, .. } if node.index() < graph.nodes.len() => format!("\n  | {}", node_line(graph, node)),
        _ => String::new(),
    };
    IrError::Verify(format!("value {} {:?}: {msg}{line}", value_ref(v), value.name))
}

/// An error about the graph's inputs or outputs, with the header line.
fn header_error(graph: &Graph, msg: impl std::fmt::Display) -> IrError {
    IrError::Verify(format!("{msg}\n  | {}", header_line(graph)))
}

fn out_of_range(graph: &Graph, v: ValueId) -> String {
    format!("{} is out of range (the graph has {} values)", value_ref(v), graph.values.len())
}

fn check_graph_io(graph: &Graph) -> Result<()> {
    for (i, &v) in graph.inputs.iter().enumerate() {
        let Some(value) = graph.values.get(v) else {
            return Err(header_error(graph, format!("graph input {i}: {}", out_of_range(graph, v))));
        };
        if value.def != ValueDef::Input(i) {
            let msg = format!("graph input {i} is {} but that value is defined as {:?}", value_ref(v), value.def);
            return Err(header_error(graph, msg));
        }
    }
    for (i, &v) in graph.outputs.iter().enumerate() {
        if graph.values.get(v).is_none() {
            return Err(header_error(graph, format!("graph output {i}: {}", out_of_range(graph, v))));
        }
    }
    Ok(())
}

/// The definition of `v` exists and lists `v` where the definition says.
fn check_value_def(graph: &Graph, v: ValueId) -> Result<()> {
    let value = &graph.values[v];
    match value.def {
        ValueDef::Input(i) => match graph.inputs.get(i) {
            Some(&w) if w == v => Ok(()),
            Some(&w) => {
                Err(value_error(graph, v, format!("defined as graph input {i}, but that input is {}", value_ref(w))))
            }
            None => Err(value_error(
                graph,
                v,
                format!("defined as graph input {i}, but the graph has {} inputs", graph.inputs.len()),
            )),
        },
        ValueDef::Const(c) => match graph.constants.get(c) {
            None => Err(value_error(
                graph,
                v,
                format!("constant #{} is out of range ({} constants)", c.index(), graph.constants.len()),
            )),
            Some(t) if t.ty() != value.ty => {
                Err(value_error(graph, v, format!("has type {} but its constant data is {}", value.ty, t.ty())))
            }
            Some(_) => Ok(()),
        },
        ValueDef::Node { node, index } => match graph.nodes.get(node) {
            None => Err(value_error(
                graph,
                v,
                format!("defined by node #{} which is out of range ({} nodes)", node.index(), graph.nodes.len()),
            )),
            Some(n) if n.outputs.get(index) != Some(&v) => Err(value_error(
                graph,
                v,
                format!("defined as result {index} of node {:?}, which does not list it there", n.name),
            )),
            Some(_) => Ok(()),
        },
    }
}

/// Inputs exist and are defined before node `n`; outputs are defined by `n`.
fn check_node_operands(graph: &Graph, n: NodeId) -> Result<()> {
    let node = &graph.nodes[n];
    for (k, &v) in node.inputs.iter().enumerate() {
        let Some(value) = graph.values.get(v) else {
            return Err(node_error(graph, n, format!("input {k}: {}", out_of_range(graph, v))));
        };
        if let ValueDef::Node { node: def, .. } = value.def {
            if def >= n {
                let msg = format!("input {k} {} is used before it is defined (by node #{})", value_ref(v), def.index());
                return Err(node_error(graph, n, msg));
            }
        }
    }
    for (k, &v) in node.outputs.iter().enumerate() {
        let Some(value) = graph.values.get(v) else {
            return Err(node_error(graph, n, format!("result {k}: {}", out_of_range(graph, v))));
        };
        if value.def != (ValueDef::Node { node: n, index: k }) {
            let msg = format!("result {k} {} is defined elsewhere ({:?})", value_ref(v), value.def);
            return Err(node_error(graph, n, msg));
        }
    }
    Ok(())
}

/// Result count and types are what `infer_types` gives (operands already checked in range).
fn check_node_types(graph: &Graph, n: NodeId) -> Result<()> {
    let node = &graph.nodes[n];
    let input_types: Vec<_> = node.inputs.iter().map(|&v| &graph.values[v].ty).collect();
    let expected =
        infer_types(&node.op, &input_types).map_err(|msg| node_error(graph, n, format!("type inference: {msg}")))?;
    if expected.len() != node.outputs.len() {
        let msg = format!("has {} results but the op gives {}", node.outputs.len(), expected.len());
        return Err(node_error(graph, n, msg));
    }
    for (k, (&v, want)) in node.outputs.iter().zip(&expected).enumerate() {
        let have = &graph.values[v].ty;
        if have != want {
            let msg = format!("result {k} {} has type {have} but the op gives {want}", value_ref(v));
            return Err(node_error(graph, n, msg));
        }
    }
    Ok(())
}
