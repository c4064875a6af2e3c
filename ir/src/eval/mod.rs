//! The scalar reference evaluator: a plain, obviously-correct implementation of every op.
//!
//! Used for constant folding and as the oracle of the backend tests. Speed is not a goal.

use crate::error::{IrError, Result};
use crate::graph::Graph;
use crate::op::Op;
use crate::tensor::Tensor;

/// Applies `op` to `inputs`; the message says what does not fit (the caller adds node names).
pub fn eval_op(op: &Op, inputs: &[&Tensor]) -> Result<Vec<Tensor>, String> {
    let _ = inputs;
    Err(format!("evaluation of `{}` is not implemented yet", op.name()))
}

/// Runs the whole graph on `inputs` (in graph-input order) and returns its outputs.
pub fn eval_graph(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    let _ = (graph, inputs);
    Err(IrError::Input("eval_graph is not implemented yet".into()))
}
