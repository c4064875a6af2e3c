//! `ReverseSequence` (opset 10): per batch entry `b`, the first `sequence_lens[b]` steps along
//! the time axis reversed, the rest copied, as `onnx/reference/ops/op_reverse_sequence.py`.
//!
//! The lengths are a run-time input, so the reversal is a row gather: with the time and batch
//! axes (0 and 1, in either order) viewed as `[X0, X1]` rows of everything else, the source
//! step of output step `t` is `len - 1 - t` where `t < len`, else `t`; the source row
//! (`src * B + b` or `b * T + src`) indexes one `Gather` of `x` as `[X0 * X1, rest]`. Lengths
//! are clamped to `[0, T]`: the reference leaves a length-0 entry unchanged and numpy's slices
//! clip a length past `T` to a full reversal; a negative length (outside the spec) is taken
//! as 0, so no input can index out of bounds.

use super::build::{bin, cast, iota_along, scalar, select};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ValueId};

pub fn reverse_sequence(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, lens) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let xs = imp.shape(x);
    let (time_axis, batch_axis) = axes(ctx)?;
    if xs.len() < 2 {
        return Err(ctx.input_err(0, format!("has shape {xs:?}; ReverseSequence needs rank >= 2")));
    }
    let (t_len, b_len) = (xs[time_axis], xs[batch_axis]);
    if imp.shape(lens) != [b_len] || !imp.ty(lens).dtype.is_int() {
        return Err(ctx.input_err(1, format!("sequence_lens {:?} must be integer [{b_len}]", imp.shape(lens))));
    }
    let rows = source_rows(imp, ctx, lens, t_len, b_len, time_axis, batch_axis)?;
    let rows = imp.reshape(ctx, rows, vec![t_len * b_len], ctx.tmp("source_rows_flat"))?;
    let rest: usize = xs[2..].iter().product();
    let table = imp.reshape(ctx, x, vec![t_len * b_len, rest], ctx.tmp("rows"))?;
    let gathered = imp.emit1(ctx, Op::Gather { axis: 0 }, vec![table, rows], ctx.tmp("reversed_rows"))?;
    Ok(vec![imp.reshape(ctx, gathered, xs, ctx.out(0))?])
}

/// `(time_axis, batch_axis)`: `(0, 1)` by default, or `(1, 0)`.
fn axes(ctx: &NodeCtx) -> Result<(usize, usize)> {
    match (ctx.int_or("time_axis", 0)?, ctx.int_or("batch_axis", 1)?) {
        (0, 1) => Ok((0, 1)),
        (1, 0) => Ok((1, 0)),
        (t, b) => Err(ctx.attr_err("time_axis", format!("time_axis {t} and batch_axis {b} must be 0 and 1"))),
    }
}

/// The i64 source row of every `[X0, X1]` position.
fn source_rows(
    imp: &mut Importer,
    ctx: &NodeCtx,
    lens: ValueId,
    t_len: usize,
    b_len: usize,
    time_axis: usize,
    batch_axis: usize,
) -> Result<ValueId> {
    let i64s = |imp: &mut Importer, name: &str, v: usize| scalar(imp, ctx, name, DType::I64, v as f64);
    let lens = cast(imp, ctx, lens, DType::I64, ctx.tmp("lens_i64"))?;
    let (zero, t_total, one) = (i64s(imp, "zero", 0), i64s(imp, "steps", t_len), i64s(imp, "one", 1));
    let lens = bin(imp, ctx, BinaryOp::Max, lens, zero, ctx.tmp("lens_nonneg"))?;
    let lens = bin(imp, ctx, BinaryOp::Min, lens, t_total, ctx.tmp("lens_clamped"))?;
    let mut len_shape = vec![1, 1];
    len_shape[batch_axis] = b_len;
    let lens = imp.reshape(ctx, lens, len_shape, ctx.tmp("lens_column"))?;
    let t = iota_along(imp, ctx, DType::I64, t_len, time_axis, 2)?;
    let b = iota_along(imp, ctx, DType::I64, b_len, batch_axis, 2)?;
    let inside = bin(imp, ctx, BinaryOp::Less, t, lens, ctx.tmp("inside"))?;
    let last = bin(imp, ctx, BinaryOp::Sub, lens, one, ctx.tmp("last_step"))?;
    let mirrored = bin(imp, ctx, BinaryOp::Sub, last, t, ctx.tmp("mirrored_step"))?;
    let src = select(imp, ctx, inside, mirrored, t, ctx.tmp("source_step"))?;
    let (major, minor, minor_len) = if time_axis == 0 { (src, b, b_len) } else { (b, src, t_len) };
    let stride = i64s(imp, "row_stride", minor_len);
    let major = bin(imp, ctx, BinaryOp::Mul, major, stride, ctx.tmp("row_major"))?;
    bin(imp, ctx, BinaryOp::Add, major, minor, ctx.tmp("source_row"))
}
