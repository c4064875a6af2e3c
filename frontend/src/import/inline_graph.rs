//! Inlining of a one-input, one-output `GraphProto` attribute (FlexAttention's `score_mod` and
//! `prob_mod`) into the graph being imported, applied to a value of the outer graph.
//!
//! Why inline: the modifier bodies are small elementwise programs over the whole score tensor
//! (a bias, a soft cap, a causal mask built from Shape/Range), so importing their nodes in
//! place, through the ordinary [`super::import_node`] with the body's input bound to the
//! score value, gives plain IR that folds (their Shape/Range parts become constants) and fuses
//! like any other. Body names are bound for the duration of the inlining and the outer
//! bindings they shadow are restored after it.
//!
//! FIXME: this is a stand-in written for FlexAttention while the general subgraph machinery for
//! If/Loop/Scan (`subgraph.rs`) is being built; once that lands, FlexAttention should use it.

use super::ctx::NodeCtx;
use super::{import_node, Importer};
use crate::error::Result;
use crate::tensor_proto::tensor_from_proto;
use kiln_ir::ValueId;
use onnx_protobuf::GraphProto;

/// ONNX AttributeProto.AttributeType code of a graph attribute.
const GRAPH: i32 = 5;

/// The graph attribute `name` of the node, if present.
pub fn graph_attr<'a>(ctx: &NodeCtx<'a>, name: &str) -> Result<Option<&'a GraphProto>> {
    let Some(a) = ctx.node.attribute.iter().find(|a| a.name == name) else { return Ok(None) };
    let ty = a.type_.value();
    if ty != GRAPH && !(ty == 0 && a.g.is_some()) {
        return Err(ctx.attr_err(name, format!("has attribute type {ty}, expected a graph ({GRAPH})")));
    }
    a.g.as_ref().map(Some).ok_or_else(|| ctx.attr_err(name, "holds no graph"))
}

/// Imports the body `g` (attribute `attr` of the node) applied to `x`; returns its one output.
pub fn inline(imp: &mut Importer, ctx: &NodeCtx, attr: &str, g: &GraphProto, x: ValueId) -> Result<ValueId> {
    let ([input], [output]) = (&g.input[..], &g.output[..]) else {
        let (i, o) = (g.input.len(), g.output.len());
        return Err(ctx.attr_err(attr, format!("has {i} inputs and {o} outputs, expected 1 and 1")));
    };
    if !g.sparse_initializer.is_empty() {
        return Err(ctx.attr_err(attr, "sparse initializers are not supported"));
    }
    let mut shadowed: Vec<(String, Option<ValueId>)> = Vec::new();
    let mut bind = |imp: &mut Importer, name: &str, v: ValueId| {
        shadowed.push((name.to_string(), imp.lookup(name)));
        imp.bind(name, v);
    };
    bind(imp, &input.name, x);
    let result = import_body(imp, ctx, attr, g, &mut bind).and_then(|()| {
        imp.lookup(&output.name)
            .ok_or_else(|| ctx.attr_err(attr, format!("output '{}' is not defined in the body", output.name)))
    });
    for (name, old) in shadowed.into_iter().rev() {
        if let Some(v) = old {
            imp.bind(&name, v);
        }
    }
    result
}

/// Binds the body's initializers and imports its nodes in order.
fn import_body(
    imp: &mut Importer,
    ctx: &NodeCtx,
    attr: &str,
    g: &GraphProto,
    bind: &mut impl FnMut(&mut Importer, &str, ValueId),
) -> Result<()> {
    for init in &g.initializer {
        let name = format!("{}/{attr}/{}", ctx.name, init.name);
        let v = imp.constant(name, tensor_from_proto(init, imp.base_dir)?);
        bind(imp, &init.name, v);
    }
    for (i, node) in g.node.iter().enumerate() {
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(ctx.attr_err(attr, format!("body node {i} is from domain '{}'", node.domain)));
        }
        let mut inner = NodeCtx::new(node, i, ctx.opset);
        inner.name = format!("{}/{attr}/{}", ctx.name, inner.name);
        let outs = import_node(imp, &inner)?;
        for (name, v) in node.output.iter().zip(outs) {
            bind(imp, name, v);
        }
    }
    Ok(())
}
