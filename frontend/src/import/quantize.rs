//! Linear quantization ops as float arithmetic around casts, so every kernel exists already:
//!
//! - `DequantizeLinear`: `y = (f32(x) - f32(zero_point)) * scale`.
//! - `QuantizeLinear`: `y = q(clip(round_half_even(x / scale) + zero_point, qmin, qmax))`.
//! - `DynamicQuantizeLinear`: uint8 with `scale = (max(0, max x) - min(0, min x)) / 255` and
//!   `zero_point = clip(round(-min(0, min x) / scale), 0, 255)`, then as QuantizeLinear.
//! - `QLinearMatMul`: dequantize both operands, MatMul in f32, quantize the result.
//!
//! Scales and zero points are per tensor (scalar), per axis (1-D along `axis`) or blocked
//! (`block_size`: same rank as the input, each entry repeated `block_size` times along `axis`);
//! [`broadcastable`] reshapes or repeats them to broadcast against the input. Integer types up
//! to 16 bits are exact in f32, so the float path gives the reference's results. The 4/2-bit
//! integers (held one per byte, see `kiln_ir::narrow`) are clipped to their range like the
//! others; the 8/4-bit floats skip the integer rounding and clip: `Cast` to them rounds to
//! nearest even and saturates (`kiln_ir::minifloat`), which is the reference's
//! `saturate_cast`. Dequantizing any of them is the Cast to f32 above (exact). Output dtypes
//! follow the zero point, or `output_dtype`, or uint8; the scale's float type is the
//! dequantized type.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use crate::proto::dtype_from_onnx;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, UnaryOp, ValueId};

/// A scale, its optional zero point and their granularity (`axis` raw: normalised only where a
/// per-axis or blocked parameter needs it; ONNX ignores it for per-tensor scales, so its default
/// 1 must not fail on rank-1 inputs).
struct Quant {
    scale: ValueId,
    zero_point: Option<ValueId>,
    axis: i64,
    block: usize,
}

impl Quant {
    /// Scale and zero point from inputs 1 and 2 with the node's `axis` and `block_size`.
    fn of_node(imp: &Importer, ctx: &NodeCtx) -> Result<Quant> {
        let block =
            usize::try_from(ctx.int_or("block_size", 0)?).map_err(|_| ctx.attr_err("block_size", "must be >= 0"))?;
        let (scale, zero_point) = (imp.input(ctx, 1)?, imp.opt_input(ctx, 2)?);
        Ok(Quant { scale, zero_point, axis: ctx.int_or("axis", 1)?, block })
    }

    /// Per-tensor parameters (QLinearMatMul, DynamicQuantizeLinear).
    fn per_tensor(scale: ValueId, zero_point: ValueId) -> Quant {
        Quant { scale, zero_point: Some(zero_point), axis: 0, block: 0 }
    }
}

pub fn dequantize(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, q) = (imp.input(ctx, 0)?, Quant::of_node(imp, ctx)?);
    Ok(vec![dequantize_value(imp, ctx, x, &q, ctx.out(0))?])
}

pub fn quantize(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, q) = (imp.input(ctx, 0)?, Quant::of_node(imp, ctx)?);
    let to = match (q.zero_point, ctx.int_or("output_dtype", 0)?) {
        (Some(z), _) => imp.ty(z).dtype,
        (None, 0) => DType::U8,
        (None, code) => dtype_from_onnx(code as i32).map_err(|e| ctx.attr_err("output_dtype", e))?,
    };
    Ok(vec![quantize_value(imp, ctx, x, &q, to, ctx.out(0))?])
}

pub fn dynamic_quantize(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    if imp.ty(x).dtype != DType::F32 {
        return Err(ctx.input_err(0, "must be float32"));
    }
    let all: Vec<usize> = (0..imp.shape(x).len()).collect();
    let zero = scalar(imp, ctx, "zero", DType::F32, 0.0);
    let hi = reduce(imp, ctx, x, ReduceKind::Max, &all, "max")?;
    let lo = reduce(imp, ctx, x, ReduceKind::Min, &all, "min")?;
    let hi = binary(imp, ctx, BinaryOp::Max, hi, zero, ctx.tmp("max0"))?;
    let lo = binary(imp, ctx, BinaryOp::Min, lo, zero, ctx.tmp("min0"))?;
    let range = binary(imp, ctx, BinaryOp::Sub, hi, lo, ctx.tmp("range"))?;
    let levels = scalar(imp, ctx, "levels", DType::F32, 255.0);
    let scale = binary(imp, ctx, BinaryOp::Div, range, levels, ctx.out(1))?;
    let neg_lo = imp.emit1(ctx, Op::Unary(UnaryOp::Neg), vec![lo], ctx.tmp("neg_min"))?;
    let zp = binary(imp, ctx, BinaryOp::Div, neg_lo, scale, ctx.tmp("zp_float"))?;
    let zp = saturate(imp, ctx, zp, DType::U8, "zp_rounded", true)?;
    let zp = imp.emit1(ctx, Op::Cast { to: DType::U8 }, vec![zp], ctx.out(2))?;
    let y = quantize_value(imp, ctx, x, &Quant::per_tensor(scale, zp), DType::U8, ctx.out(0))?;
    Ok(vec![y, scale, zp])
}

pub fn qlinear_matmul(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let ins: Vec<ValueId> = (0..8).map(|i| imp.input(ctx, i)).collect::<Result<_>>()?;
    let a = dequantize_value(imp, ctx, ins[0], &Quant::per_tensor(ins[1], ins[2]), ctx.tmp("a_real"))?;
    let b = dequantize_value(imp, ctx, ins[3], &Quant::per_tensor(ins[4], ins[5]), ctx.tmp("b_real"))?;
    let y = imp.emit1(ctx, Op::MatMul, vec![a, b], ctx.tmp("y_real"))?;
    let to = imp.ty(ins[7]).dtype;
    Ok(vec![quantize_value(imp, ctx, y, &Quant::per_tensor(ins[6], ins[7]), to, ctx.out(0))?])
}

/// `(x - zero_point) * scale` in the scale's float type.
fn dequantize_value(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, q: &Quant, name: String) -> Result<ValueId> {
    let real = imp.ty(q.scale).dtype;
    if !real.is_float() {
        return Err(ctx.input_err(1, "the scale must be a float tensor"));
    }
    let shape = imp.shape(x);
    let scale = broadcastable(imp, ctx, q.scale, &shape, q, "scale")?;
    let xf = imp.emit1(ctx, Op::Cast { to: real }, vec![x], ctx.tmp("x_real"))?;
    let centered = match real_zero_point(imp, ctx, q, &shape, real)? {
        Some(zf) => binary(imp, ctx, BinaryOp::Sub, xf, zf, ctx.tmp("centered"))?,
        None => xf,
    };
    imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![centered, scale], name)
}

/// `to(saturate(round(x / scale) + zero_point))`.
fn quantize_value(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    q: &Quant,
    to: DType,
    name: String,
) -> Result<ValueId> {
    let real = imp.ty(x).dtype;
    if !real.is_float() || imp.ty(q.scale).dtype != real {
        return Err(ctx.input_err(1, "input and scale must have the same float type"));
    }
    let shape = imp.shape(x);
    let scale = broadcastable(imp, ctx, q.scale, &shape, q, "scale")?;
    let scaled = binary(imp, ctx, BinaryOp::Div, x, scale, ctx.tmp("scaled"))?;
    if to.is_minifloat() {
        return quantize_to_minifloat(imp, ctx, scaled, q, &shape, to, name);
    }
    let rounded = imp.emit1(ctx, Op::Unary(UnaryOp::Round), vec![scaled], ctx.tmp("rounded"))?;
    let shifted = match real_zero_point(imp, ctx, q, &shape, real)? {
        Some(zf) => binary(imp, ctx, BinaryOp::Add, rounded, zf, ctx.tmp("shifted"))?,
        None => rounded,
    };
    let clipped = saturate(imp, ctx, shifted, to, "clipped", false)?;
    imp.emit1(ctx, Op::Cast { to }, vec![clipped], name)
}

/// `to(x / scale + zero_point)` for the 8/4-bit float targets: no integer rounding, the cast
/// rounds to nearest even and saturates (QuantizeLinear's `saturate`, default 1; 0 is handled
/// like Cast's, see `narrow_cast`). The ONNX reference drops the float8 zero point (the spec
/// requires it to be 0); adding it is the spec's formula and the same for that 0.
fn quantize_to_minifloat(
    imp: &mut Importer,
    ctx: &NodeCtx,
    scaled: ValueId,
    q: &Quant,
    shape: &[usize],
    to: DType,
    name: String,
) -> Result<ValueId> {
    let real = imp.ty(scaled).dtype;
    let shifted = match real_zero_point(imp, ctx, q, shape, real)? {
        Some(zf) => binary(imp, ctx, BinaryOp::Add, scaled, zf, ctx.tmp("shifted"))?,
        None => scaled,
    };
    match super::narrow_cast::cast_with_options(imp, ctx, shifted, to)? {
        Some(y) => Ok(y),
        None => imp.emit1(ctx, Op::Cast { to }, vec![shifted], name),
    }
}

/// The zero point, if any, broadcastable against `shape` and cast to `real`.
fn real_zero_point(
    imp: &mut Importer,
    ctx: &NodeCtx,
    q: &Quant,
    shape: &[usize],
    real: DType,
) -> Result<Option<ValueId>> {
    let Some(z) = q.zero_point else { return Ok(None) };
    let z = broadcastable(imp, ctx, z, shape, q, "zero_point")?;
    imp.emit1(ctx, Op::Cast { to: real }, vec![z], ctx.tmp("zero_point_real")).map(Some)
}

/// `x` (rounded first when `round`) clipped to the range of integer type `to`.
fn saturate(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, to: DType, name: &str, round: bool) -> Result<ValueId> {
    let (min, max) = match to {
        DType::U8 => (0.0, 255.0),
        DType::I8 => (-128.0, 127.0),
        DType::U16 => (0.0, 65535.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U4 => (0.0, 15.0),
        DType::I4 => (-8.0, 7.0),
        DType::U2 => (0.0, 3.0),
        DType::I2 => (-2.0, 1.0),
        other => {
            let msg = format!("quantized type {} is not an 8/16/4/2-bit integer or an 8/4-bit float", other.name());
            return Err(ctx.err(msg));
        }
    };
    let x = if round { imp.emit1(ctx, Op::Unary(UnaryOp::Round), vec![x], ctx.tmp("round"))? } else { x };
    imp.emit1(ctx, Op::Unary(UnaryOp::Clip { min: min.into(), max: max.into() }), vec![x], ctx.tmp(name))
}

/// `p` (a scale or zero point) shaped to broadcast against `shape`: a scalar as is; a 1-D
/// per-axis vector as `[1.., D, ..1]`; a blocked tensor with each entry repeated `block` times
/// along `axis` and cropped to the axis extent.
fn broadcastable(
    imp: &mut Importer,
    ctx: &NodeCtx,
    p: ValueId,
    shape: &[usize],
    q: &Quant,
    what: &str,
) -> Result<ValueId> {
    let ps = imp.shape(p);
    if ps.iter().product::<usize>() == 1 {
        return Ok(p);
    }
    let (axis, block) = (ctx.axis("axis", q.axis, shape.len())?, q.block);
    let err = || {
        ctx.err(format!(
            "{what} shape {ps:?} fits neither per-tensor, per-axis {axis} nor blocks of {block} of {shape:?}"
        ))
    };
    if block == 0 {
        if ps.len() != 1 || shape.get(axis) != Some(&ps[0]) {
            return Err(err());
        }
        let mut b = vec![1; shape.len()];
        b[axis] = ps[0];
        return imp.reshape(ctx, p, b, ctx.tmp(what));
    }
    let blocks = shape[axis].div_ceil(block);
    let mut want = shape.to_vec();
    want[axis] = blocks;
    if ps != want {
        return Err(err());
    }
    let mut split = want.clone();
    split.insert(axis + 1, 1);
    let split = imp.reshape(ctx, p, split.clone(), ctx.tmp(&format!("{what}_split")))?;
    let mut repeated = split_shape(&want, axis, block);
    let expanded =
        imp.emit1(ctx, Op::Expand { shape: repeated.clone() }, vec![split], ctx.tmp(&format!("{what}_rep")))?;
    repeated.remove(axis + 1);
    repeated[axis] = blocks * block;
    let merged = imp.reshape(ctx, expanded, repeated, ctx.tmp(&format!("{what}_merged")))?;
    if blocks * block == shape[axis] {
        return Ok(merged);
    }
    let lens = shape.to_vec();
    let op = Op::Slice { starts: vec![0; shape.len()], steps: vec![1; shape.len()], lens };
    imp.emit1(ctx, op, vec![merged], ctx.tmp(&format!("{what}_cropped")))
}

/// `want` with a `block` axis inserted after `axis`.
fn split_shape(want: &[usize], axis: usize, block: usize) -> Vec<usize> {
    let mut s = want.to_vec();
    s.insert(axis + 1, block);
    s
}

fn scalar(imp: &mut Importer, ctx: &NodeCtx, name: &str, dtype: DType, v: f64) -> ValueId {
    imp.constant(ctx.tmp(name), Tensor::from_f64(dtype, vec![], &[v]))
}

fn reduce(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    kind: ReduceKind,
    axes: &[usize],
    name: &str,
) -> Result<ValueId> {
    imp.emit1(ctx, Op::Reduce { kind, axes: axes.to_vec(), keepdims: false }, vec![x], ctx.tmp(name))
}

fn binary(imp: &mut Importer, ctx: &NodeCtx, op: BinaryOp, x: ValueId, y: ValueId, name: String) -> Result<ValueId> {
    imp.emit1(ctx, Op::Binary(op), vec![x, y], name)
}
