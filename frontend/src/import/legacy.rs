//! Nodes of models importing the default domain at opsets 1..=5.
//!
//! kiln's importers implement the opset-6+ form of every op (opset 6 being the oldest the
//! pytorch-converted ONNX tests use, with the legacy binary-op `broadcast`/`axis` attributes
//! resolved in `super::elementwise`). `onnx.defs.get_schema` shows how opsets 1..=5 differ for
//! the ops kiln imports:
//! - most ops (unary math, Add/Sub/Mul/Div, Sum/Max/Min/Mean, PRelu, BatchNormalization,
//!   Dropout, InstanceNormalization, Clip...) only carry `consumed_inputs`, a legacy in-place
//!   optimization hint with no effect on results: it is ignored;
//! - Not, And/Or/Xor, Equal/Less/Greater, Conv, MaxPool, Gather, Transpose... never changed;
//! - a few ops had another interface: Cast-1 (`to` is a string), Reshape-1 (`shape` attribute),
//!   Tile-1 (`tiles` and `axis` inputs), Pad-1 (`paddings`), Split-1 (`split` as an input),
//!   LpPool-1 (float `p`), Concat-1 (optional `axis`, default 1). Those nodes are rejected
//!   here, naming the node, op and opset, unless their form is the modern one (Concat with an
//!   explicit `axis`). The check is per node, so a legacy model whose ops all mean the same
//!   thing today imports.

use super::ctx::NodeCtx;
use crate::error::Result;

/// Ops whose interface before opset `until` differs from the one kiln implements.
const CHANGED: &[(&str, i64, &str)] = &[
    ("Cast", 6, "`to` is a type-name string"),
    ("Reshape", 5, "the shape is an attribute"),
    ("Tile", 6, "takes `tiles` and `axis` inputs"),
    ("Pad", 2, "takes a `paddings` attribute"),
    ("Split", 2, "may take `split` as an input"),
    ("LpPool", 2, "takes a float `p`"),
];

/// Errors when the node's op means something else at the model's opset (< 6) than kiln
/// implements; see the module docs.
pub fn check_node(ctx: &NodeCtx) -> Result<()> {
    if let Some((_, until, what)) = CHANGED.iter().find(|(op, until, _)| *op == ctx.op() && ctx.opset < *until) {
        return Err(ctx.err(format!(
            "opset {} {} ({what}); kiln implements the opset-{until}+ form only",
            ctx.opset,
            ctx.op()
        )));
    }
    if ctx.op() == "Concat" && ctx.opset < 4 && ctx.int("axis")?.is_none() {
        return Err(ctx.attr_err(
            "axis",
            format!("missing; opset {} Concat defaults it to 1, which kiln does not implement", ctx.opset),
        ));
    }
    Ok(())
}
