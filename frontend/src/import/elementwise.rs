//! Elementwise ops: unary functions, binary ops with broadcasting, the variadic Sum/Max/Min/Mean
//! (chains of binary ops), Clip (attributes before opset 11, inputs after; non-constant bounds
//! become Max/Min), Where, Cast and CastLike.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use kiln_ir::{BinaryOp, DType, Op, Tensor, UnaryOp, ValueId};

pub fn unary(imp: &mut Importer, ctx: &NodeCtx, u: UnaryOp) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    Ok(vec![imp.emit1(ctx, Op::Unary(u), vec![x], ctx.out(0))?])
}

/// LeakyRelu, HardSigmoid and Elu, whose parameters are attributes with ONNX defaults.
pub fn unary_with_attrs(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let u = match ctx.op() {
        "LeakyRelu" => UnaryOp::LeakyRelu { alpha: ctx.float_or("alpha", 0.01)?.into() },
        "HardSigmoid" => {
            UnaryOp::HardSigmoid { alpha: ctx.float_or("alpha", 0.2)?.into(), beta: ctx.float_or("beta", 0.5)?.into() }
        }
        _ => UnaryOp::Elu { alpha: ctx.float_or("alpha", 1.0)?.into() },
    };
    unary(imp, ctx, u)
}

/// Selu as `gamma * Elu_alpha(x)`.
pub fn selu(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let alpha = ctx.float_or("alpha", 1.673_263_2)?;
    let gamma = ctx.float_or("gamma", 1.050_701)?;
    let elu = imp.emit1(ctx, Op::Unary(UnaryOp::Elu { alpha: alpha.into() }), vec![x], ctx.tmp("elu"))?;
    let g = imp.constant(ctx.tmp("gamma"), Tensor::from_f64(imp.ty(x).dtype, vec![], &[gamma as f64]));
    Ok(vec![imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![elu, g], ctx.out(0))?])
}

pub fn binary(imp: &mut Importer, ctx: &NodeCtx, b: BinaryOp) -> Result<Vec<ValueId>> {
    let a = imp.input(ctx, 0)?;
    let mut rhs = imp.input(ctx, 1)?;
    if ctx.opset < 7 && b == BinaryOp::PRelu {
        rhs = legacy_prelu_slope(imp, ctx, a, rhs)?;
    } else if ctx.opset < 7 {
        rhs = legacy_broadcast(imp, ctx, a, rhs)?;
    }
    let (ta, tb) = (imp.ty(a).dtype, imp.ty(rhs).dtype);
    if b == BinaryOp::Pow && ta != tb {
        // Pow allows a different exponent type (opset 12+); the IR wants one dtype.
        rhs = imp.emit1(ctx, Op::Cast { to: ta }, vec![rhs], ctx.tmp("exponent"))?;
    }
    Ok(vec![imp.emit1(ctx, Op::Binary(b), vec![a, rhs], ctx.out(0))?])
}

/// Opset < 7 binary ops broadcast only with `broadcast=1`, aligning `b` at `axis` of `a`
/// (at the end when no axis is given, which is numpy's rule); `b` gets trailing 1-dims so the
/// IR's numpy broadcasting gives the same result.
fn legacy_broadcast(imp: &mut Importer, ctx: &NodeCtx, a: ValueId, b: ValueId) -> Result<ValueId> {
    let (sa, sb) = (imp.shape(a), imp.shape(b));
    if !ctx.bool_or("broadcast", false)? {
        if sa != sb {
            return Err(ctx.attr_err("broadcast", format!("shapes {sa:?} and {sb:?} differ without broadcast=1")));
        }
        return Ok(b);
    }
    let Some(axis) = ctx.int("axis")? else { return Ok(b) };
    let axis = ctx.axis("axis", axis, sa.len())?;
    let trailing = sa.len().checked_sub(axis + sb.len());
    let trailing =
        trailing.ok_or_else(|| ctx.attr_err("axis", format!("{sb:?} does not fit {sa:?} at axis {axis}")))?;
    let shape = [sb, vec![1; trailing]].concat();
    imp.reshape(ctx, b, shape, ctx.tmp("aligned"))
}

/// PRelu-6 applies a 1-D slope of size C per channel (axis 1); numpy broadcasting needs it as
/// `[C, 1, ...]`. Other slope shapes already broadcast the numpy way.
fn legacy_prelu_slope(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, slope: ValueId) -> Result<ValueId> {
    let (sx, ss) = (imp.shape(x), imp.shape(slope));
    if ss.len() != 1 || ss[0] == 1 || sx.len() < 3 || sx[1] != ss[0] {
        return Ok(slope);
    }
    let shape = [ss, vec![1; sx.len() - 2]].concat();
    imp.reshape(ctx, slope, shape, ctx.tmp("slope"))
}

/// Sum/Max/Min/Mean of any number of inputs as a left-to-right chain of binary ops.
pub fn variadic(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let xs = imp.inputs(ctx)?;
    let Some((&first, rest)) = xs.split_first() else { return Err(ctx.err("needs at least one input")) };
    let op = match ctx.op() {
        "Max" => BinaryOp::Max,
        "Min" => BinaryOp::Min,
        _ => BinaryOp::Add,
    };
    let mean = ctx.op() == "Mean" && !rest.is_empty();
    let mut acc = first;
    for (i, &x) in rest.iter().enumerate() {
        let last = i + 1 == rest.len() && !mean;
        let name = if last { ctx.out(0) } else { ctx.tmp(&format!("acc{i}")) };
        acc = imp.emit1(ctx, Op::Binary(op), vec![acc, x], name)?;
    }
    if mean {
        let dtype = imp.ty(acc).dtype;
        let n = imp.constant(ctx.tmp("count"), Tensor::from_f64(dtype, vec![], &[xs.len() as f64]));
        acc = imp.emit1(ctx, Op::Binary(BinaryOp::Div), vec![acc, n], ctx.out(0))?;
    }
    Ok(vec![acc])
}

pub fn clip(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let dtype = imp.ty(x).dtype;
    if ctx.opset < 11 {
        let (min, max) = (ctx.float_or("min", f32::NEG_INFINITY)?, ctx.float_or("max", f32::INFINITY)?);
        return Ok(vec![imp.emit1(
            ctx,
            Op::Unary(UnaryOp::Clip { min: min.into(), max: max.into() }),
            vec![x],
            ctx.out(0),
        )?]);
    }
    let (lo, hi) = (imp.opt_input(ctx, 1)?, imp.opt_input(ctx, 2)?);
    let lo_c = lo.and_then(|v| imp.graph.const_of(v).cloned());
    let hi_c = hi.and_then(|v| imp.graph.const_of(v).cloned());
    let consts_known = lo.is_none() == lo_c.is_none() && hi.is_none() == hi_c.is_none();
    if consts_known && dtype.is_float() {
        let bound = |t: Option<std::sync::Arc<Tensor>>, i: usize, default: f32| -> Result<f32> {
            match t {
                None => Ok(default),
                Some(t) if t.numel() == 1 => Ok(t.to_f64_vec()[0] as f32),
                Some(t) => Err(ctx.input_err(i, format!("must be a scalar, has shape {:?}", t.shape()))),
            }
        };
        let u = UnaryOp::Clip {
            min: bound(lo_c, 1, f32::NEG_INFINITY)?.into(),
            max: bound(hi_c, 2, f32::INFINITY)?.into(),
        };
        return Ok(vec![imp.emit1(ctx, Op::Unary(u), vec![x], ctx.out(0))?]);
    }
    // Integer clip or bounds computed at run time: max(x, min) then min(., max).
    let mut acc = x;
    if let Some(lo) = lo {
        let name = if hi.is_some() { ctx.tmp("lower") } else { ctx.out(0) };
        acc = imp.emit1(ctx, Op::Binary(BinaryOp::Max), vec![acc, lo], name)?;
    }
    if let Some(hi) = hi {
        acc = imp.emit1(ctx, Op::Binary(BinaryOp::Min), vec![acc, hi], ctx.out(0))?;
    }
    Ok(vec![acc])
}

pub fn where_(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let ins = vec![imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.input(ctx, 2)?];
    Ok(vec![imp.emit1(ctx, Op::Where, ins, ctx.out(0))?])
}

/// Cast (`to` attribute) and CastLike (the dtype of input 1). A cast to the same type is removed.
pub fn cast(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let to: DType = if ctx.op() == "CastLike" {
        imp.ty(imp.input(ctx, 1)?).dtype
    } else {
        let code = ctx.int("to")?.ok_or_else(|| ctx.attr_err("to", "missing"))?;
        let code = i32::try_from(code).map_err(|_| ctx.attr_err("to", format!("bad type code {code}")))?;
        dtype_from_onnx(code).map_err(|_| ctx.attr_err("to", format!("unsupported type {}", onnx_dtype_name(code))))?
    };
    if let Some(y) = super::narrow_cast::cast_with_options(imp, ctx, x, to)? {
        return Ok(vec![y]);
    }
    if imp.ty(x).dtype == to {
        return Ok(vec![x]);
    }
    Ok(vec![imp.emit1(ctx, Op::Cast { to }, vec![x], ctx.out(0))?])
}
