//! Constant folding at import.
//!
//! A node whose inputs are all constants is evaluated with the IR's reference evaluator
//! (`kiln_ir::eval_op`) and replaced by its results. This is what removes the shape
//! subgraphs exporters emit (Shape -> Gather -> Unsqueeze -> Concat -> Reshape), so later
//! ops see their parameters as constants. Folding is capped per result tensor so a model
//! cannot make the import allocate without bound; a node over the cap stays a node (its
//! results are computed at run time). If the evaluator fails or disagrees with
//! `infer_types`, the node is kept as well: folding is an optimisation, never a requirement.

use kiln_ir::{Graph, Op, Tensor, TensorType, ValueId};

/// Default cap on one folded tensor: 64 MiB.
pub const DEFAULT_FOLD_LIMIT: usize = 64 << 20;

/// True when a tensor of type `ty` fits in `limit` bytes (overflow counts as too big).
pub fn fits(ty: &TensorType, limit: usize) -> bool {
    ty.shape.iter().try_fold(ty.dtype.size(), |a, &d| a.checked_mul(d)).is_some_and(|bytes| bytes <= limit)
}

/// The results of `op` on `inputs` when they are all constants and the results (of types
/// `tys`) fit the cap; `None` when the node must stay a node.
pub fn try_fold(graph: &Graph, op: &Op, inputs: &[ValueId], tys: &[TensorType], limit: usize) -> Option<Vec<Tensor>> {
    if inputs.is_empty() || !tys.iter().all(|t| fits(t, limit)) {
        return None;
    }
    let tensors: Vec<&Tensor> = inputs.iter().map(|&v| graph.const_of(v).map(|t| &**t)).collect::<Option<_>>()?;
    let outs = kiln_ir::eval_op(op, &tensors).ok()?;
    let agrees = outs.len() == tys.len() && outs.iter().zip(tys).all(|(t, ty)| t.ty() == *ty);
    agrees.then_some(outs)
}
