//! Data-movement ops: Concat, Split (sizes from the `split` attribute before opset 13, an input
//! after, `num_outputs` from 18), Slice (attributes before opset 10; clamped per ONNX rules into
//! full-rank starts/steps/lens), Gather and Pad (pads/value attributes before opset 11, inputs
//! after, optional `axes` from 18).

use super::ctx::NodeCtx;
use super::shape::normalise_axes;
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, PadMode, ValueId};

pub fn concat(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let xs = imp.inputs(ctx)?;
    let first = *xs.first().ok_or_else(|| ctx.err("needs at least one input"))?;
    let axis = ctx.int("axis")?.ok_or_else(|| ctx.attr_err("axis", "missing"))?;
    let axis = ctx.axis("axis", axis, imp.shape(first).len())?;
    Ok(vec![imp.emit1(ctx, Op::Concat { axis }, xs, ctx.out(0))?])
}

pub fn split(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let axis = ctx.axis("axis", ctx.int_or("axis", 0)?, shape.len())?;
    let dim = shape[axis];
    let n_out = ctx.node.output.len();
    let given = if ctx.opset >= 13 { imp.opt_const(ctx, 1)?.map(|t| t.to_i64_vec()) } else { ctx.ints("split")? };
    let sizes: Vec<usize> = match given {
        Some(s) => s
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| ctx.attr_err("split", format!("negative size {d}"))))
            .collect::<Result<_>>()?,
        None => equal_split(ctx, dim, n_out)?,
    };
    if sizes.len() != n_out || sizes.iter().sum::<usize>() != dim {
        let msg = format!("sizes {sizes:?} do not split {dim} into {n_out} outputs");
        return Err(ctx.attr_err("split", msg));
    }
    let names = (0..n_out).map(|i| ctx.out(i)).collect();
    imp.emit(ctx, Op::Split { axis, sizes }, vec![x], names)
}

/// Sizes when none are given: equal parts (opset 18's `num_outputs` allows a smaller last one).
fn equal_split(ctx: &NodeCtx, dim: usize, n_out: usize) -> Result<Vec<usize>> {
    if n_out == 0 {
        return Err(ctx.err("Split needs at least one output"));
    }
    if ctx.opset >= 18 {
        if let Some(n) = ctx.int("num_outputs")? {
            if n as usize != n_out {
                return Err(ctx.attr_err("num_outputs", format!("is {n} but the node has {n_out} outputs")));
            }
            let chunk = dim.div_ceil(n_out);
            return Ok((0..n_out).map(|i| chunk.min(dim.saturating_sub(i * chunk))).collect());
        }
    }
    if !dim.is_multiple_of(n_out) {
        return Err(ctx.err(format!("cannot split {dim} into {n_out} equal parts")));
    }
    Ok(vec![dim / n_out; n_out])
}

pub fn slice(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let (starts, ends, axes, steps) = if ctx.opset < 10 {
        let req = |n: &str| ctx.ints(n)?.ok_or_else(|| ctx.attr_err(n, "missing"));
        (req("starts")?, req("ends")?, ctx.ints("axes")?, None)
    } else {
        let opt = |i| imp.opt_const(ctx, i).map(|t| t.map(|t| t.to_i64_vec()));
        (imp.const_input(ctx, 1)?.to_i64_vec(), imp.const_input(ctx, 2)?.to_i64_vec(), opt(3)?, opt(4)?)
    };
    let k = starts.len();
    let axes = axes.unwrap_or_else(|| (0..k as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; k]);
    if ends.len() != k || axes.len() != k || steps.len() != k {
        return Err(ctx.err("starts, ends, axes and steps must have the same length"));
    }
    let mut order: Vec<usize> = axes.iter().map(|&a| ctx.axis("axes", a, shape.len())).collect::<Result<_>>()?;
    normalise_axes(ctx, &axes, shape.len())?; // rejects repeats
    let mut op_starts = vec![0; shape.len()];
    let mut op_steps = vec![1i64; shape.len()];
    let mut lens = shape.clone();
    for (j, a) in order.drain(..).enumerate() {
        if steps[j] == 0 {
            return Err(ctx.input_err(4, format!("step of axis {a} is 0")));
        }
        let (s, len) = clamp_slice(shape[a], starts[j], ends[j], steps[j]);
        (op_starts[a], op_steps[a], lens[a]) = (s, steps[j], len);
    }
    let op = Op::Slice { starts: op_starts, steps: op_steps, lens };
    Ok(vec![imp.emit1(ctx, op, vec![x], ctx.out(0))?])
}

/// ONNX Slice clamping of one axis of size `dim`: the first index read and the element count.
pub fn clamp_slice(dim: usize, start: i64, end: i64, step: i64) -> (usize, usize) {
    let d = dim as i128;
    let (mut s, mut e, st) = (start as i128, end as i128, step as i128);
    if d == 0 {
        return (0, 0);
    }
    if s < 0 {
        s += d;
    }
    if e < 0 {
        e += d;
    }
    let (s, len) = if st > 0 {
        let (s, e) = (s.clamp(0, d), e.clamp(0, d));
        (s, if e > s { (e - s + st - 1) / st } else { 0 })
    } else {
        let (s, e) = (s.clamp(0, d - 1), e.clamp(-1, d - 1));
        (s, if s > e { (s - e - st - 1) / -st } else { 0 })
    };
    if len == 0 {
        (0, 0)
    } else {
        (s as usize, len as usize)
    }
}

pub fn gather(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (data, indices) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let axis = ctx.axis("axis", ctx.int_or("axis", 0)?, imp.shape(data).len())?;
    Ok(vec![imp.emit1(ctx, Op::Gather { axis }, vec![data, indices], ctx.out(0))?])
}

pub fn pad(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let rank = imp.shape(x).len();
    let mode = match ctx.string_or("mode", "constant")?.as_str() {
        "constant" => PadMode::Constant,
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        "wrap" => PadMode::Wrap,
        other => return Err(ctx.attr_err("mode", format!("unknown mode '{other}'"))),
    };
    let (pads, value, axes) = if ctx.opset < 11 {
        let pads = ctx.ints("pads")?.ok_or_else(|| ctx.attr_err("pads", "missing"))?;
        (pads, ctx.float_or("value", 0.0)? as f64, None)
    } else {
        let pads = imp.const_input(ctx, 1)?.to_i64_vec();
        let value = imp.opt_const(ctx, 2)?.and_then(|t| t.to_f64_vec().first().copied()).unwrap_or(0.0);
        let axes = imp.opt_const(ctx, 3)?.map(|t| t.to_i64_vec());
        (pads, value, axes)
    };
    let pads = match axes {
        None => pads,
        Some(axes) => {
            let axes = axes.iter().map(|&a| ctx.axis("axes", a, rank)).collect::<Result<Vec<_>>>()?;
            let k = axes.len();
            if pads.len() != 2 * k {
                return Err(ctx.input_err(1, format!("has {} entries for {k} axes", pads.len())));
            }
            let mut full = vec![0; 2 * rank];
            for (j, &a) in axes.iter().enumerate() {
                (full[a], full[a + rank]) = (pads[j], pads[j + k]);
            }
            full
        }
    };
    if pads.len() != 2 * rank {
        return Err(ctx.input_err(1, format!("has {} entries, expected {} for rank {rank}", pads.len(), 2 * rank)));
    }
    Ok(vec![imp.emit1(ctx, Op::Pad { mode, pads, value: value.into() }, vec![x], ctx.out(0))?])
}
