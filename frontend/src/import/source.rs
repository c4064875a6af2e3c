//! Ops that produce values without computing on tensors at run time: Identity and Dropout
//! (forwarded), Constant, and the shape-derived ops folded at import (Shape, Size,
//! ConstantOfShape, Range, EyeLike). ConstantOfShape results larger than the fold cap become an Expand
//! of a scalar constant instead (the ONNX `light_*` models make their weights this way).

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use crate::fold::fits;
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use crate::tensor_proto::tensor_from_proto;
use kiln_ir::{DType, Element, Op, Tensor, TensorData, TensorType, ValueId};

/// Identity and inference Dropout: the output is the input. Dropout in training mode (the
/// opset-12 `training_mode` input set to true) is random and refused.
pub fn forward(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    if ctx.op() != "Dropout" {
        return Ok(vec![x]);
    }
    if ctx.opset >= 12 && random_dropout(imp, ctx)? {
        return Err(ctx.input_err(2, "training mode (random dropout) is not supported"));
    }
    if ctx.node.output.get(1).is_none_or(|o| o.is_empty()) {
        return Ok(vec![x]);
    }
    // Nothing is dropped: the mask output is all true (bool; x's type before opset 10), one
    // scalar expanded rather than a constant the size of x.
    let ty = imp.ty(x);
    let dtype = if ctx.opset >= 10 { DType::Bool } else { ty.dtype };
    let one = imp.constant(ctx.tmp("kept"), Tensor::from_f64(dtype, vec![], &[1.0]));
    let mask = imp.emit1(ctx, Op::Expand { shape: ty.shape }, vec![one], ctx.out(1))?;
    Ok(vec![x, mask])
}

/// True when Dropout-12+ runs in training mode with a non-zero ratio (input 1, default 0.5),
/// which drops at random; training mode with ratio 0 is the identity.
fn random_dropout(imp: &Importer, ctx: &NodeCtx) -> Result<bool> {
    let training = imp.opt_const(ctx, 2)?.is_some_and(|t| t.to_f64_vec().iter().any(|&v| v != 0.0));
    let ratio = imp.opt_const(ctx, 1)?.map_or(0.5, |t| t.to_f64_vec().first().copied().unwrap_or(0.5));
    Ok(training && ratio != 0.0)
}

pub fn constant(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let t = if let Some(t) = ctx.tensor("value")? {
        tensor_from_proto(t, imp.base_dir)?
    } else if let Some(f) = ctx.float("value_float")? {
        Tensor::scalar(f)
    } else if let Some(fs) = ctx.floats("value_floats")? {
        Tensor::from_vec(vec![fs.len()], fs)
    } else if let Some(i) = ctx.int("value_int")? {
        Tensor::scalar(i)
    } else if let Some(is) = ctx.ints("value_ints")? {
        Tensor::from_vec(vec![is.len()], is)
    } else {
        return Err(ctx.err("no supported value attribute (value, value_float(s), value_int(s))"));
    };
    Ok(vec![imp.constant(ctx.out(0), t)])
}

/// Reads a 1-D int shape input as non-negative dims.
pub fn shape_input(imp: &Importer, ctx: &NodeCtx, i: usize) -> Result<Vec<i64>> {
    let t = imp.const_input(ctx, i)?;
    if t.shape().len() > 1 || !t.dtype().is_int() {
        return Err(ctx.input_err(i, format!("must be a 1-D integer tensor, is {}", t.ty())));
    }
    Ok(t.to_i64_vec())
}

pub fn constant_of_shape(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let dims = shape_input(imp, ctx, 0)?;
    let shape: Vec<usize> = dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| ctx.input_err(0, format!("negative dim {d}"))))
        .collect::<Result<_>>()?;
    let value = match ctx.tensor("value")? {
        Some(t) => tensor_from_proto(t, imp.base_dir)?,
        None => Tensor::scalar(0f32),
    };
    if value.numel() != 1 {
        return Err(ctx.attr_err("value", format!("must hold one element, has {}", value.numel())));
    }
    let ty = TensorType::new(value.dtype(), shape.clone());
    if fits(&ty, imp.fold_limit) {
        let n = ty.numel();
        let data: TensorData = kiln_ir::with_data!(value.data(), v => Element::wrap(vec![v[0]; n]));
        let t = Tensor::new(shape, data).ok_or_else(|| ctx.err("element count"))?;
        return Ok(vec![imp.constant(ctx.out(0), t)]);
    }
    let scalar = value.reshaped(Vec::<usize>::new()).ok_or_else(|| ctx.err("value reshape"))?;
    let s = imp.constant(ctx.tmp("value"), scalar);
    Ok(vec![imp.emit1(ctx, Op::Expand { shape }, vec![s], ctx.out(0))?])
}

pub fn shape_of(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let shape = imp.shape(imp.input(ctx, 0)?);
    let rank = shape.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let start = clamp(ctx.int_or("start", 0)?);
    let end = clamp(ctx.int_or("end", rank)?).max(start);
    let dims: Vec<i64> = shape[start..end].iter().map(|&d| d as i64).collect();
    Ok(vec![imp.constant(ctx.out(0), Tensor::from_vec(vec![dims.len()], dims))])
}

pub fn size(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let n = imp.ty(imp.input(ctx, 0)?).numel() as i64;
    Ok(vec![imp.constant(ctx.out(0), Tensor::scalar(n))])
}

/// Range with constant start, limit and delta: `start + i*delta` for
/// `i < max(ceil((limit-start)/delta), 0)`.
pub fn range(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let scalar = |i: usize| -> Result<(DType, f64)> {
        let t = imp.const_input(ctx, i)?;
        match t.numel() {
            1 => Ok((t.dtype(), t.to_f64_vec()[0])),
            n => Err(ctx.input_err(i, format!("must be a scalar, has {n} elements"))),
        }
    };
    let ((dtype, start), (_, limit), (_, delta)) = (scalar(0)?, scalar(1)?, scalar(2)?);
    if delta == 0.0 || !delta.is_finite() || !start.is_finite() || !limit.is_finite() {
        return Err(ctx.input_err(2, format!("cannot range from {start} to {limit} by {delta}")));
    }
    let count = ((limit - start) / delta).ceil().max(0.0);
    let ty_ok = count < (imp.fold_limit / dtype.size()) as f64;
    if !ty_ok {
        return Err(ctx.err(format!("{count} elements exceed the import size limit")));
    }
    let n = count as usize;
    let values: Vec<f64> = (0..n).map(|i| start + i as f64 * delta).collect();
    Ok(vec![imp.constant(ctx.out(0), Tensor::from_f64(dtype, vec![n], &values))])
}

/// EyeLike: ones on diagonal `k` of a matrix shaped like the input, in `dtype` (default: the
/// input's). Only the input's static shape is read, so it always folds.
pub fn eye_like(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let ty = imp.ty(x);
    let [rows, cols] = ty.shape[..] else {
        return Err(ctx.input_err(0, format!("must be 2-D, is {ty}")));
    };
    let dtype = match ctx.int("dtype")? {
        None => ty.dtype,
        Some(code) => {
            let code = i32::try_from(code).map_err(|_| ctx.attr_err("dtype", format!("bad type code {code}")))?;
            dtype_from_onnx(code)
                .map_err(|_| ctx.attr_err("dtype", format!("unsupported type {}", onnx_dtype_name(code))))?
        }
    };
    let out_ty = TensorType::new(dtype, vec![rows, cols]);
    if !fits(&out_ty, imp.fold_limit) {
        return Err(ctx.err(format!("{out_ty} exceeds the import size limit")));
    }
    let k = ctx.int_or("k", 0)? as i128;
    let values: Vec<f64> =
        (0..rows * cols).map(|i| ((i % cols) as i128 - (i / cols) as i128 == k) as u8 as f64).collect();
    Ok(vec![imp.constant(ctx.out(0), Tensor::from_f64(dtype, vec![rows, cols], &values))])
}
