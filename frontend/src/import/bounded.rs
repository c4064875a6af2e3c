//! Shared plumbing of the data-dependent ops (NonZero, Unique, NonMaxSuppression; see
//! `kiln_ir::dynamic`): every node's inputs are checked for bounded values, and a
//! data-dependent op's length result becomes a (hidden) graph output so the runtime can cut
//! the bounded outputs to size. When all inputs are constants the op folds; its results are
//! then cut here to their exact shapes, so constants are never bounded.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::dynamic::{bounded_axis, flows_into, is_bounded, length_result, passes_length};
use kiln_ir::{Op, ValueId};

/// Rejects `op` reading a bounded value unless it is length-agnostic (called by
/// [`Importer::emit`] for every node).
pub fn check_inputs(imp: &Importer, ctx: &NodeCtx, op: &Op, inputs: &[ValueId]) -> Result<()> {
    if passes_length(op, inputs.len()) {
        return Ok(());
    }
    match inputs.iter().find(|&&v| is_bounded(&imp.graph, v)) {
        Some(&v) => Err(ctx.err(flows_into(&imp.graph.value(v).name, &ctx.name, op.name()))),
        None => Ok(()),
    }
}

/// Emits the data-dependent `op` with result names `names` (the length's name last) and
/// returns its results without the length. Bounded results: the length becomes a graph
/// output. Folded results: cut to the length.
pub fn emit(
    imp: &mut Importer,
    ctx: &NodeCtx,
    op: Op,
    inputs: Vec<ValueId>,
    names: Vec<String>,
) -> Result<Vec<ValueId>> {
    let mut outs = imp.emit(ctx, op.clone(), inputs, names)?;
    let len_at = length_result(&op).ok_or_else(|| ctx.err(format!("{} has no length result", op.name())))?;
    let len = outs.remove(len_at);
    let Some(len_t) = imp.graph.const_of(len).cloned() else {
        imp.graph.outputs.push(len);
        return Ok(outs);
    };
    let n = len_t.data().get_i64(0);
    let mut cut = Vec::with_capacity(outs.len());
    for (i, v) in outs.into_iter().enumerate() {
        cut.push(match bounded_axis(&op, i) {
            Some(axis) => cut_const(imp, ctx, v, axis, n)?,
            None => v,
        });
    }
    Ok(cut)
}

/// A constant `v` cut to its first `n` positions along `axis`.
fn cut_const(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, axis: usize, n: i64) -> Result<ValueId> {
    let t = imp.graph.const_of(v).cloned().ok_or_else(|| ctx.err("a folded result is not constant"))?;
    let cut = kiln_ir::dynamic::cut(&t, axis, n).map_err(|m| ctx.err(m))?;
    let name = imp.graph.value(v).name.clone();
    Ok(imp.constant(name, cut))
}
