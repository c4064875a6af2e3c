//! `BitCast` (opset 26): the input's bytes reinterpreted as the dtype `to`, shape unchanged.
//!
//! Why a dedicated IR op (`Op::BitCast`) and not another route: reinterpreting an integer as a
//! same-size integer is a wrapping `Cast`, but float <-> integer reinterpretation has no exact
//! form over the IR's arithmetic ops (it would need frexp-like bit surgery on every special
//! value). The op is cheap everywhere: the evaluator re-reads the little-endian bytes (so constant
//! folding works), and the kernel is a reinterpreting copy in the elementwise family.
//!
//! ONNX requires equal bit widths; other pairs are rejected here, naming the node and the `to`
//! attribute, as the reference implementation does.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use kiln_ir::{DType, Op, ValueDef, ValueId};

pub fn bit_cast(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = unwidened(imp, imp.input(ctx, 0)?);
    let code = ctx.int("to")?.ok_or_else(|| ctx.attr_err("to", "missing"))?;
    let code = i32::try_from(code).map_err(|_| ctx.attr_err("to", format!("bad type code {code}")))?;
    let to =
        dtype_from_onnx(code).map_err(|_| ctx.attr_err("to", format!("unsupported type {}", onnx_dtype_name(code))))?;
    let from = imp.ty(x).dtype;
    if from.size() != to.size() {
        return Err(ctx.attr_err(
            "to",
            format!(
                "{to} has {}-bit elements but the input {from} has {}; BitCast needs equal widths",
                8 * to.size(),
                8 * from.size()
            ),
        ));
    }
    if from == to {
        return Ok(vec![x]);
    }
    Ok(vec![imp.emit1(ctx, Op::BitCast { to }, vec![x], ctx.out(0))?])
}

/// The f16/bf16 value behind `v` when `v` is the f32 widening that the dispatcher puts around
/// compute ops (`super::half`): BitCast must see the stored bits, not the widened value.
/// FIXME: a constant half input is widened by folding, which this cannot undo; listing
/// "BitCast" in `half::KEEPS_HALF` would remove the need for this function.
fn unwidened(imp: &Importer, v: ValueId) -> ValueId {
    if let ValueDef::Node { node, .. } = imp.graph.value(v).def {
        let n = imp.graph.node(node);
        if n.op == (Op::Cast { to: DType::F32 }) && n.inputs.len() == 1 && imp.ty(n.inputs[0]).dtype.is_half() {
            return n.inputs[0];
        }
    }
    v
}
