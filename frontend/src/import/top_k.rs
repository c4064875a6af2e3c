//! `TopK` with a constant `k` as `k` rounds of selection, since the IR has no sort: each round
//! takes `ArgMax` (`ArgMin` for `largest=0`) along the axis, which returns the first index among
//! equal values, exactly TopK's order for ties; reads the value there through a one-hot `Where`
//! + `ReduceSum`; and overwrites it with the lowest (highest) value of the dtype so the next
//! round skips it. The rounds' values and indices are concatenated along the axis, already in
//! sorted order (so `sorted=0` is satisfied too).
//!
//! The graph grows by a few nodes per round, so `k` is bounded by [`MAX_K`] with an error naming
//! the input. Inputs that themselves hold the fill value (an integer minimum, or `-inf` with
//! `largest=1`) can make a later round pick an index twice; ONNX leaves nothing else undefined.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, ValueId};

/// Largest `k` imported.
pub const MAX_K: usize = 64;

pub fn top_k(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let (shape, dtype) = (imp.shape(x), imp.ty(x).dtype);
    if shape.is_empty() || dtype == DType::Bool {
        return Err(ctx.input_err(0, "must be a numeric tensor of rank >= 1"));
    }
    let axis = ctx.axis("axis", ctx.int_or("axis", -1)?, shape.len())?;
    let k = constant_k(imp, ctx, shape[axis])?;
    let largest = ctx.bool_or("largest", true)?;
    let iota = axis_iota(imp, ctx, &shape, axis);
    let fill = imp.constant(ctx.tmp("fill"), extreme(dtype, !largest));
    let zero = imp.constant(ctx.tmp("zero"), Tensor::from_f64(dtype, vec![], &[0.0]));
    let (mut cur, mut values, mut indices) = (x, Vec::with_capacity(k), Vec::with_capacity(k));
    for round in 0..k {
        let arg = Op::ArgMax { axis, keepdims: true, select_last_index: false };
        let arg = if largest { arg } else { Op::ArgMin { axis, keepdims: true, select_last_index: false } };
        let idx = imp.emit1(ctx, arg, vec![cur], ctx.tmp(&format!("index{round}")))?;
        let hits = imp.emit1(ctx, Op::Binary(BinaryOp::Equal), vec![iota, idx], ctx.tmp(&format!("hits{round}")))?;
        let picked = imp.emit1(ctx, Op::Where, vec![hits, x, zero], ctx.tmp(&format!("picked{round}")))?;
        let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![axis], keepdims: true };
        values.push(imp.emit1(ctx, sum, vec![picked], ctx.tmp(&format!("value{round}")))?);
        indices.push(idx);
        if round + 1 < k {
            cur = imp.emit1(ctx, Op::Where, vec![hits, fill, cur], ctx.tmp(&format!("rest{round}")))?;
        }
    }
    let values = imp.emit1(ctx, Op::Concat { axis }, values, ctx.out(0))?;
    let indices = imp.emit1(ctx, Op::Concat { axis }, indices, ctx.out(1))?;
    Ok(vec![values, indices])
}

/// `k` from the constant input 1 (one element), at most the axis extent and [`MAX_K`].
fn constant_k(imp: &Importer, ctx: &NodeCtx, extent: usize) -> Result<usize> {
    let k = imp.const_input(ctx, 1)?;
    let k = match k.to_f64_vec().as_slice() {
        [v] if *v >= 1.0 && v.fract() == 0.0 => *v as usize,
        other => return Err(ctx.input_err(1, format!("k must be one positive integer, got {other:?}"))),
    };
    if k > extent || k > MAX_K {
        return Err(ctx.input_err(1, format!("k = {k} exceeds the axis extent {extent} or the limit {MAX_K}")));
    }
    Ok(k)
}

/// `[0, 1, .., n-1]` along `axis` (int64, ones elsewhere), to compare with ArgMax results.
fn axis_iota(imp: &mut Importer, ctx: &NodeCtx, shape: &[usize], axis: usize) -> ValueId {
    let mut iota_shape = vec![1; shape.len()];
    iota_shape[axis] = shape[axis];
    let v: Vec<f64> = (0..shape[axis]).map(|i| i as f64).collect();
    imp.constant(ctx.tmp("iota"), Tensor::from_f64(DType::I64, iota_shape, &v))
}

/// The lowest (`high == false`) or highest value of `dtype` as a scalar.
fn extreme(dtype: DType, high: bool) -> Tensor {
    let v = match (dtype.is_float(), high) {
        (true, true) => f64::INFINITY,
        (true, false) => f64::NEG_INFINITY,
        (false, _) => return Tensor::new(vec![], int_extreme(dtype, high)).expect("scalar"),
    };
    Tensor::from_f64(dtype, vec![], &[v])
}

/// The integer bounds exactly (u64/i64 extremes are not representable in f64).
fn int_extreme(dtype: DType, high: bool) -> kiln_ir::TensorData {
    use kiln_ir::TensorData as D;
    match (dtype, high) {
        (DType::I8, h) => D::I8(vec![if h { i8::MAX } else { i8::MIN }]),
        (DType::U8, h) => D::U8(vec![if h { u8::MAX } else { 0 }]),
        (DType::I16, h) => D::I16(vec![if h { i16::MAX } else { i16::MIN }]),
        (DType::U16, h) => D::U16(vec![if h { u16::MAX } else { 0 }]),
        (DType::I32, h) => D::I32(vec![if h { i32::MAX } else { i32::MIN }]),
        (DType::U32, h) => D::U32(vec![if h { u32::MAX } else { 0 }]),
        (DType::U64, h) => D::U64(vec![if h { u64::MAX } else { 0 }]),
        (_, h) => D::I64(vec![if h { i64::MAX } else { i64::MIN }]),
    }
}
