//! `NonMaxSuppression` as the data-dependent `Op::NonMaxSuppression` (see `kiln_ir::dynamic`).
//!
//! The optional inputs become operands of the op in every case, so the kernel has one form:
//! an absent `max_output_boxes_per_class` is the constant 0 (ONNX: no boxes), an absent
//! `iou_threshold` 0, an absent `score_threshold` `-inf` (no filtering; a score of `-inf` is
//! then dropped, where ONNX keeps it). A constant `max_output_boxes_per_class` also tightens the
//! bound of the result (`max_boxes`); a run-time one bounds nothing, so the result has room
//! for every box of every class.

use super::bounded;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, Tensor, ValueId};

pub fn non_max_suppression(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (boxes, scores) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let center_point_box = match ctx.int_or("center_point_box", 0)? {
        0 => false,
        1 => true,
        v => return Err(ctx.attr_err("center_point_box", format!("must be 0 or 1, got {v}"))),
    };
    let boxes_per_class = imp.shape(boxes).get(1).copied().unwrap_or(0);
    let (max_out, max_boxes) = max_output(imp, ctx, boxes_per_class)?;
    let iou = scalar_or(imp, ctx, 3, 0.0)?;
    let score = scalar_or(imp, ctx, 4, f32::NEG_INFINITY)?;
    let op = Op::NonMaxSuppression { center_point_box, max_boxes };
    bounded::emit(imp, ctx, op, vec![boxes, scores, max_out, iou, score], vec![ctx.out(0), ctx.tmp("len")])
}

/// The max-boxes operand and the compile-time bound it gives (`boxes` when it is not constant).
fn max_output(imp: &mut Importer, ctx: &NodeCtx, boxes: usize) -> Result<(ValueId, usize)> {
    let Some(v) = imp.opt_input(ctx, 2)? else {
        return Ok((imp.constant(ctx.tmp("max_out"), Tensor::from_vec(vec![], vec![0i64])), 0));
    };
    let bound = match imp.graph.const_of(v) {
        Some(t) if t.numel() == 1 => usize::try_from(t.data().get_i64(0).max(0)).unwrap_or(usize::MAX).min(boxes),
        Some(t) => return Err(ctx.input_err(2, format!("must hold one value, got {}", t.ty()))),
        None => boxes,
    };
    Ok((v, bound))
}

/// Optional f32 scalar input `i`, or the constant `default` when absent.
fn scalar_or(imp: &mut Importer, ctx: &NodeCtx, i: usize, default: f32) -> Result<ValueId> {
    match imp.opt_input(ctx, i)? {
        Some(v) => Ok(v),
        None => Ok(imp.constant(ctx.tmp(&format!("input{i}")), Tensor::from_vec(vec![], vec![default]))),
    }
}
