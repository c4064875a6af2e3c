//! `MaxUnpool` (opsets 9, 11, 22) as a one-hot selection, since the IR has no scatter with
//! run-time indices: `onnx/reference/ops/op_max_unpool.py` writes `y[I[e]] = x[e]` into a zero
//! tensor of the inferred shape `(in - 1) * stride - pads + kernel` (flat indices over the whole
//! tensor, as MaxPool's `Indices` gives them), then zero-pads it to `output_shape` when given.
//!
//! Each `(n, c)` plane is handled on its own: the plane's offset `(n*C + c) * S` is subtracted
//! from the indices, which are compared with `[0, S)` (`[N, C, L, S]` bool), and each output
//! pixel takes the max of the values landing on it (MaxPool's indices repeat only for the same
//! input element, so its duplicates carry equal values and max reproduces "last write wins";
//! an index outside its own plane, never produced by MaxPool, is dropped) or 0 if none. The
//! selection is bounded by `gather_elements::MAX_SELECTION`.

use super::build::{bin, cast, scalar, select};
use super::ctx::NodeCtx;
use super::gather_elements::MAX_SELECTION;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, ValueId};

pub fn max_unpool(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, idx) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let (xs, dtype) = (imp.shape(x), imp.ty(x).dtype);
    if xs.len() < 3 || imp.shape(idx) != xs || !imp.ty(idx).dtype.is_int() {
        return Err(ctx.input_err(1, format!("indices must be int with X's shape {xs:?}")));
    }
    let inferred = inferred_shape(ctx, &xs)?;
    let (n, c) = (xs[0], xs[1]);
    let (l, s): (usize, usize) = (xs[2..].iter().product(), inferred[2..].iter().product());
    if (n * c * l).checked_mul(s).is_none_or(|t| t > MAX_SELECTION) {
        return Err(ctx.err(format!("{xs:?} x {s} positions exceed {MAX_SELECTION} elements")));
    }
    let idx = cast(imp, ctx, idx, DType::I64, ctx.tmp("indices_i64"))?;
    let idx = imp.reshape(ctx, idx, vec![n, c, l, 1], ctx.tmp("indices_column"))?;
    let planes: Vec<f64> = (0..n * c).map(|p| (p * s) as f64).collect();
    let planes = imp.constant(ctx.tmp("plane_offsets"), Tensor::from_f64(DType::I64, vec![n, c, 1, 1], &planes));
    let local = bin(imp, ctx, BinaryOp::Sub, idx, planes, ctx.tmp("plane_index"))?;
    let iota: Vec<f64> = (0..s).map(|i| i as f64).collect();
    let iota = imp.constant(ctx.tmp("iota"), Tensor::from_f64(DType::I64, vec![1, 1, 1, s], &iota));
    let hits = bin(imp, ctx, BinaryOp::Equal, local, iota, ctx.tmp("hits"))?;
    let values = imp.reshape(ctx, x, vec![n, c, l, 1], ctx.tmp("values_column"))?;
    let lowest = scalar(imp, ctx, "lowest", dtype, f64::NEG_INFINITY);
    let spread = select(imp, ctx, hits, values, lowest, ctx.tmp("spread"))?;
    let max = Op::Reduce { kind: ReduceKind::Max, axes: vec![2], keepdims: false };
    let landed = imp.emit1(ctx, max, vec![spread], ctx.tmp("landed"))?;
    let counts = cast(imp, ctx, hits, DType::I32, ctx.tmp("hit_counts"))?;
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![2], keepdims: false };
    let counts = imp.emit1(ctx, sum, vec![counts], ctx.tmp("counts"))?;
    let none = scalar(imp, ctx, "no_hit", DType::I32, 0.0);
    let hit = bin(imp, ctx, BinaryOp::Greater, counts, none, ctx.tmp("hit"))?;
    let zero = scalar(imp, ctx, "zero", dtype, 0.0);
    let y = select(imp, ctx, hit, landed, zero, ctx.tmp("unpooled"))?;
    let y = imp.reshape(ctx, y, inferred.clone(), ctx.tmp("unpooled_shaped"))?;
    pad_to_output(imp, ctx, y, &inferred)
}

/// `(in - 1) * stride - (pad_begin + pad_end) + kernel` per spatial axis, with N and C.
fn inferred_shape(ctx: &NodeCtx, xs: &[usize]) -> Result<Vec<usize>> {
    let r = xs.len() - 2;
    let kernel = ctx.usizes("kernel_shape")?.ok_or_else(|| ctx.attr_err("kernel_shape", "missing"))?;
    let strides = ctx.usizes("strides")?.unwrap_or_else(|| vec![1; r]);
    let pads = ctx.usizes("pads")?.unwrap_or_else(|| vec![0; 2 * r]);
    if kernel.len() != r || strides.len() != r || pads.len() != 2 * r {
        return Err(ctx.attr_err("kernel_shape", format!("kernel, strides and pads must fit {r} spatial axes")));
    }
    let mut shape = xs[..2].to_vec();
    for d in 0..r {
        let full = xs[d + 2].saturating_sub(1) * strides[d] + kernel[d];
        let dim = full.checked_sub(pads[d] + pads[d + r]).filter(|&v| v > 0);
        shape.push(dim.ok_or_else(|| ctx.attr_err("pads", format!("{pads:?} leave no output on axis {d}")))?);
    }
    Ok(shape)
}

/// Zero-pads `y` at the end of each axis up to the constant `output_shape` input, if given.
fn pad_to_output(imp: &mut Importer, ctx: &NodeCtx, y: ValueId, inferred: &[usize]) -> Result<Vec<ValueId>> {
    let Some(out) = imp.opt_const(ctx, 2)? else {
        return Ok(vec![y]);
    };
    let out = out.to_i64_vec();
    let fits = out.len() == inferred.len() && out.iter().zip(inferred).all(|(&o, &i)| o >= i as i64);
    if !fits {
        return Err(ctx.input_err(2, format!("output_shape {out:?} must be at least {inferred:?}")));
    }
    let pads: Vec<i64> = [vec![0; out.len()], out.iter().zip(inferred).map(|(&o, &i)| o - i as i64).collect()].concat();
    let op = Op::Pad { mode: kiln_ir::PadMode::Constant, pads, value: 0.0.into() };
    Ok(vec![imp.emit1(ctx, op, vec![y], ctx.out(0))?])
}
