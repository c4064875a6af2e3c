//! Importing a subgraph (If's branches, Loop's and Scan's body) into the enclosing IR graph.
//!
//! ONNX subgraphs see every value of their enclosing scopes by name, and their own names shadow
//! outer ones only inside the body. kiln imports a body *inline*: [`import_body`] binds the
//! body's formal inputs to the values the caller passes (the loop-carried values of one
//! iteration, a slice of a scan input...), imports its initializers and nodes with the ordinary
//! importer (so folding, half-type widening and every op family work unchanged), reads its
//! outputs, and then restores the name table, so nothing the body defined leaks out. Outer
//! values need no special handling: they are simply still bound while the body is imported.
//!
//! Static unrolling is what makes this enough: kiln's IR has static shapes and no control flow,
//! so a Loop or Scan whose trip count is known at compile time becomes that many inline copies
//! of its body. Every copy counts against [`MAX_BODY_COPIES`] (for the whole model, nested
//! bodies included), which bounds compile time and IR size; past it the import fails naming the
//! node. FIXME: compile Loop/Scan with many iterations to a real loop in the entry function
//! instead of unrolling (needs control flow in the IR and the backend's entry function).
//!
//! Node names inside a body are prefixed with the enclosing node's name and the copy's label
//! (`Loop_0/iter3/Add_2`), so diagnostics say which iteration failed.

use super::ctx::NodeCtx;
use super::{import_node, Importer};
use crate::error::Result;
use crate::tensor_proto::tensor_from_proto;
use kiln_ir::{Op, ValueId};
use onnx_protobuf::GraphProto;

/// Most subgraph copies (If branches and unrolled iterations) one model import may create.
pub const MAX_BODY_COPIES: usize = 4096;

/// The subgraph attribute `attr` of the node, which must be present.
pub fn body<'a>(ctx: &NodeCtx<'a>, attr: &str) -> Result<&'a GraphProto> {
    ctx.graph(attr)?.ok_or_else(|| ctx.attr_err(attr, "required subgraph attribute is missing"))
}

/// Imports one copy of `body` with its inputs bound to `args`; returns its outputs' values.
/// `label` names the copy in diagnostics (`then_branch`, `iter3`).
pub fn import_body(
    imp: &mut Importer,
    ctx: &NodeCtx,
    body: &GraphProto,
    label: &str,
    args: &[ValueId],
) -> Result<Vec<ValueId>> {
    imp.body_copies += 1;
    if imp.body_copies > MAX_BODY_COPIES {
        return Err(ctx.err(format!(
            "{label}: the model needs more than {MAX_BODY_COPIES} subgraph copies in total; kiln unrolls \
             Loop/Scan at compile time and stops there"
        )));
    }
    if body.input.len() != args.len() {
        let msg =
            format!("{label}: the subgraph declares {} inputs, the node gives it {}", body.input.len(), args.len());
        return Err(ctx.err(msg));
    }
    let saved = imp.names.clone();
    let outs = bind_and_import(imp, ctx, body, label, args);
    imp.names = saved;
    outs
}

fn bind_and_import(
    imp: &mut Importer,
    ctx: &NodeCtx,
    body: &GraphProto,
    label: &str,
    args: &[ValueId],
) -> Result<Vec<ValueId>> {
    for init in &body.initializer {
        let v = imp.constant(init.name.clone(), tensor_from_proto(init, imp.base_dir)?);
        imp.bind(&init.name, v);
    }
    for (formal, &v) in body.input.iter().zip(args) {
        imp.bind(&formal.name, v);
    }
    for (i, node) in body.node.iter().enumerate() {
        let mut inner = NodeCtx::new(node, i, ctx.opset);
        inner.name = format!("{}/{label}/{}", ctx.name, inner.name);
        let outs = import_node(imp, &inner)?;
        for (name, v) in node.output.iter().zip(outs) {
            imp.bind(name, v);
        }
    }
    body.output
        .iter()
        .map(|o| {
            imp.lookup(&o.name).ok_or_else(|| {
                ctx.err(format!("{label}: subgraph output '{}' is not computed by the subgraph", o.name))
            })
        })
        .collect()
}

/// Element `index` of `x` along `axis`, with that axis removed.
pub fn take(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, axis: usize, index: usize, name: String) -> Result<ValueId> {
    let shape = imp.shape(x);
    let mut starts = vec![0; shape.len()];
    starts[axis] = index;
    let mut lens = shape.clone();
    lens[axis] = 1;
    let steps = vec![1; shape.len()];
    let one = imp.emit1(ctx, Op::Slice { starts, steps, lens }, vec![x], format!("{name}::slice"))?;
    let mut squeezed = shape;
    squeezed.remove(axis);
    imp.reshape(ctx, one, squeezed, name)
}

/// The values stacked along a new `axis` (all must have the same type).
pub fn stack(imp: &mut Importer, ctx: &NodeCtx, values: &[ValueId], axis: usize, name: String) -> Result<ValueId> {
    let mut parts = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        let mut shape = imp.shape(v);
        if axis > shape.len() {
            return Err(ctx.err(format!("axis {axis} is out of range for a rank-{} value", shape.len())));
        }
        shape.insert(axis, 1);
        parts.push(imp.reshape(ctx, v, shape, format!("{name}::part{i}"))?);
    }
    if parts.len() == 1 {
        return Ok(parts[0]);
    }
    imp.emit1(ctx, Op::Concat { axis }, parts, name)
}
