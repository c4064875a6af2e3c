//! f16/bf16 inputs of compute ops: widen to f32, import the op as usual, narrow the results.
//!
//! Why: kiln keeps f16 and bf16 as storage types (see `kiln_ir::half`); no kernel computes in
//! them. onnxruntime's CPU provider does the same for most ops (it widens f16 to f32, computes,
//! and rounds the result once), so its results, and the ONNX reference's within tolerance, are
//! what this gives. Doing it here, around the dispatch, gives every op family the behaviour at
//! once instead of teaching each importer about half types.
//!
//! Ops that only move or relabel data (Cast, CastLike, Identity, Reshape and friends, Shape,
//! Concat, Split, Slice, Gather, Transpose, Expand, Tile) keep the half type: they are exact in
//! any type, the movement kernels copy elements of any size, and widening would only cost time.
//! For a wrapped op, every input bound to a half value is rebound, for the duration of the
//! import, to a `Cast` to f32 (constants fold, so `const_input` still sees their values); after
//! it, every f32 result is cast back to the node's half type (the type of its first half input)
//! and integer or bool results (ArgMax, IsNaN, Shape...) pass through. A node mixing f16 and bf16
//! inputs narrows to the first one's type. The exception is outputs ONNX types by an attribute
//! rather than by the input: LayerNormalization's Mean and InvStdDev have the `stash_type`
//! (f32 by default) and stay f32.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{DType, Op, ValueId};

/// Ops imported on half inputs as they are (pure data movement, casts, metadata).
const KEEPS_HALF: &[&str] = &[
    "Cast",
    "CastLike",
    "Identity",
    "Dropout",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Shape",
    "Size",
    "Constant",
    "ConstantOfShape",
    "EyeLike",
    "Concat",
    "Split",
    "Slice",
    "Gather",
    "Transpose",
    "Expand",
    "Tile",
];

/// The input rebindings of one wrapped node, undone by [`Widened::restore`].
pub struct Widened {
    /// `(ONNX name, original half value)` of every rebound input.
    rebound: Vec<(String, ValueId)>,
    /// The half type results are narrowed back to.
    half: DType,
}

/// Rebinds the node's half inputs to f32 casts; `None` when the op keeps half types or the node
/// has no half input (then nothing changed).
pub fn widen_inputs(imp: &mut Importer, ctx: &NodeCtx) -> Result<Option<Widened>> {
    if KEEPS_HALF.contains(&ctx.op()) {
        return Ok(None);
    }
    let mut rebound = Vec::new();
    let mut half = None;
    for (i, name) in ctx.node.input.iter().enumerate() {
        let Some(v) = imp.lookup(name) else { continue };
        let dtype = imp.ty(v).dtype;
        if !dtype.is_half() || rebound.iter().any(|(n, _)| n == name) {
            continue;
        }
        half.get_or_insert(dtype);
        let wide = imp.emit1(ctx, Op::Cast { to: DType::F32 }, vec![v], ctx.tmp(&format!("in{i}_f32")))?;
        imp.bind(name, wide);
        rebound.push((name.clone(), v));
    }
    Ok(half.map(|half| Widened { rebound, half }))
}

impl Widened {
    /// Binds the inputs' names back to their half values.
    pub fn restore(&self, imp: &mut Importer) {
        for (name, v) in &self.rebound {
            imp.bind(name, *v);
        }
    }

    /// Casts the f32 results back to the half type; other results pass through.
    pub fn narrow_outputs(&self, imp: &mut Importer, ctx: &NodeCtx, outs: Vec<ValueId>) -> Result<Vec<ValueId>> {
        let mut narrowed = Vec::with_capacity(outs.len());
        for (i, v) in outs.into_iter().enumerate() {
            if imp.ty(v).dtype == DType::F32 && !stays_f32(ctx, i)? {
                narrowed.push(imp.emit1(ctx, Op::Cast { to: self.half }, vec![v], ctx.out(i))?);
            } else {
                narrowed.push(v);
            }
        }
        Ok(narrowed)
    }
}

/// Outputs whose ONNX type does not follow the half input (see the module doc).
fn stays_f32(ctx: &NodeCtx, output: usize) -> Result<bool> {
    Ok(ctx.op() == "LayerNormalization" && output > 0 && ctx.int_or("stash_type", 1)? == 1)
}
