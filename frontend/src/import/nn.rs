//! Neural-network ops: Conv, Gemm, MatMul (1-D operands through reshapes), BatchNormalization
//! (training mode in `batch_norm_training`), MaxPool/AveragePool (pads resolved from auto_pad;
//! MaxPool's `Indices` output in `pool_indices`), LpPool (from an average pool),
//! GlobalAveragePool/GlobalMaxPool (reduces over the spatial axes), LRN, and
//! Softmax/LogSoftmax (the pre-13 "flatten to 2-D" semantics rewritten as reshape -> softmax ->
//! reshape).

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, ConvAttrs, Op, PoolAttrs, PoolKind, ReduceKind, Tensor, UnaryOp, ValueId};

/// Strides, dilations and begin-then-end pads of a windowed op over `input` spatial dims.
pub(super) struct Window {
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    /// Begin pads, then end pads.
    pub pads: Vec<usize>,
}

/// Strides, dilations and begin-then-end pads (explicit, or from `auto_pad`) of a conv or pool
/// window of `kernel` over the spatial dims `input`.
pub(super) fn window(ctx: &NodeCtx, input: &[usize], kernel: &[usize]) -> Result<Window> {
    let n = input.len();
    if kernel.len() != n {
        return Err(ctx.attr_err("kernel_shape", format!("has {} entries for {n} spatial axes", kernel.len())));
    }
    let (strides, dilations) = (positive_per_axis(ctx, "strides", n)?, positive_per_axis(ctx, "dilations", n)?);
    let auto_pad = ctx.string_or("auto_pad", "NOTSET")?;
    let pads = match auto_pad.as_str() {
        "NOTSET" => ctx.usizes("pads")?.unwrap_or_else(|| vec![0; 2 * n]),
        "VALID" => vec![0; 2 * n],
        "SAME_UPPER" | "SAME_LOWER" => same_pads(input, kernel, &strides, &dilations, auto_pad == "SAME_UPPER"),
        other => return Err(ctx.attr_err("auto_pad", format!("unknown value '{other}'"))),
    };
    if pads.len() != 2 * n {
        return Err(ctx.attr_err("pads", format!("has {} entries, expected {}", pads.len(), 2 * n)));
    }
    Ok(Window { strides, dilations, pads })
}

/// SAME_UPPER/SAME_LOWER: output `ceil(in / stride)`, the odd pad at the end (upper) or begin.
fn same_pads(input: &[usize], kernel: &[usize], strides: &[usize], dil: &[usize], upper: bool) -> Vec<usize> {
    let n = input.len();
    let mut pads = vec![0; 2 * n];
    for a in 0..n {
        let out = input[a].div_ceil(strides[a]);
        let eff_k = kernel[a].saturating_sub(1).saturating_mul(dil[a]).saturating_add(1);
        let total = (out.saturating_sub(1)).saturating_mul(strides[a]).saturating_add(eff_k).saturating_sub(input[a]);
        let small = total / 2;
        let (begin, end) = if upper { (small, total - small) } else { (total - small, small) };
        pads[a] = begin;
        pads[a + n] = end;
    }
    pads
}

fn spatial(imp: &Importer, ctx: &NodeCtx, x: ValueId) -> Result<Vec<usize>> {
    let shape = imp.shape(x);
    if shape.len() < 3 {
        return Err(ctx.input_err(0, format!("needs rank >= 3 (N, C, spatial...), has shape {shape:?}")));
    }
    Ok(shape[2..].to_vec())
}

pub fn conv(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, w) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let input = spatial(imp, ctx, x)?;
    let w_shape = imp.shape(w);
    let kernel = match ctx.usizes("kernel_shape")? {
        Some(k) => k,
        None => w_shape.get(2..).map(|k| k.to_vec()).ok_or_else(|| ctx.input_err(1, "weights need rank >= 3"))?,
    };
    let win = window(ctx, &input, &kernel)?;
    let group = usize::try_from(ctx.int_or("group", 1)?).ok().filter(|&g| g > 0);
    let group = group.ok_or_else(|| ctx.attr_err("group", "must be positive"))?;
    let attrs = ConvAttrs { kernel, strides: win.strides, dilations: win.dilations, pads: win.pads, group };
    let mut ins = vec![x, w];
    ins.extend(imp.opt_input(ctx, 2)?);
    Ok(vec![imp.emit1(ctx, Op::Conv(attrs), ins, ctx.out(0))?])
}

pub fn gemm(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let op = Op::Gemm {
        alpha: ctx.float_or("alpha", 1.0)?.into(),
        beta: ctx.float_or("beta", 1.0)?.into(),
        trans_a: ctx.bool_or("transA", false)?,
        trans_b: ctx.bool_or("transB", false)?,
    };
    let mut ins = vec![imp.input(ctx, 0)?, imp.input(ctx, 1)?];
    ins.extend(imp.opt_input(ctx, 2)?);
    Ok(vec![imp.emit1(ctx, op, ins, ctx.out(0))?])
}

/// MatMul; a 1-D operand is promoted to a matrix (`[K]` -> `[1,K]` on the left, `[K,1]` on the
/// right) and the added dim removed from the result, as numpy does.
pub fn matmul(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (a, b) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let (sa, sb) = (imp.shape(a), imp.shape(b));
    if sa.is_empty() || sb.is_empty() {
        return Err(ctx.err("MatMul operands must have rank >= 1"));
    }
    let (a1, b1) = (sa.len() == 1, sb.len() == 1);
    if !a1 && !b1 {
        return Ok(vec![imp.emit1(ctx, Op::MatMul, vec![a, b], ctx.out(0))?]);
    }
    let a2 = if a1 { imp.reshape(ctx, a, vec![1, sa[0]], ctx.tmp("lhs"))? } else { a };
    let b2 = if b1 { imp.reshape(ctx, b, vec![sb[0], 1], ctx.tmp("rhs"))? } else { b };
    let y = imp.emit1(ctx, Op::MatMul, vec![a2, b2], ctx.tmp("matrix"))?;
    let mut shape = imp.shape(y);
    let r = shape.len();
    match (a1, b1) {
        (true, true) => shape.truncate(r - 2),
        (true, false) => {
            shape.remove(r - 2);
        }
        _ => {
            shape.pop();
        }
    }
    Ok(vec![imp.reshape(ctx, y, shape, ctx.out(0))?])
}

pub fn batch_norm(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    if ctx.opset < 9 && !ctx.bool_or("spatial", true)? {
        return Err(ctx.attr_err("spatial", "spatial=0 (per-element statistics) is not supported"));
    }
    if ctx.bool_or("training_mode", false)? {
        return super::batch_norm_training::batch_norm_training(imp, ctx);
    }
    let ins = (0..5).map(|i| imp.input(ctx, i)).collect::<Result<Vec<_>>>()?;
    let op = Op::BatchNorm { epsilon: ctx.float_or("epsilon", 1e-5)?.into() };
    Ok(vec![imp.emit1(ctx, op, ins, ctx.out(0))?])
}

pub fn pool(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let kind = if ctx.op() == "MaxPool" {
        PoolKind::Max
    } else {
        PoolKind::Avg { count_include_pad: ctx.bool_or("count_include_pad", false)? }
    };
    let attrs = pool_attrs(imp, ctx, x, kind)?;
    let y = imp.emit1(ctx, Op::Pool(attrs.clone()), vec![x], ctx.out(0))?;
    if ctx.op() != "MaxPool" || ctx.node.output.get(1).is_none_or(|o| o.is_empty()) {
        return Ok(vec![y]);
    }
    Ok(vec![y, super::pool_indices::max_pool_indices(imp, ctx, x, &attrs, y)?])
}

/// The window of a pooling node over `x`.
fn pool_attrs(imp: &Importer, ctx: &NodeCtx, x: ValueId, kind: PoolKind) -> Result<PoolAttrs> {
    let input = spatial(imp, ctx, x)?;
    let kernel = ctx.usizes("kernel_shape")?.ok_or_else(|| ctx.attr_err("kernel_shape", "missing"))?;
    if kernel.contains(&0) {
        return Err(ctx.attr_err("kernel_shape", "must be positive"));
    }
    let win = window(ctx, &input, &kernel)?;
    Ok(PoolAttrs {
        kind,
        kernel,
        strides: win.strides,
        dilations: win.dilations,
        pads: win.pads,
        ceil_mode: ctx.bool_or("ceil_mode", false)?,
    })
}

/// LpPool: `(sum over the window of |x|^p)^(1/p)` as an average pool (padding counted, so the
/// average times the window volume is the sum, pads adding zeros) of `|x|^p` (`x*x` for p=2),
/// then the root (`sqrt` for p=2).
pub fn lp_pool(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let p = ctx.int_or("p", 2)?;
    if p < 1 {
        return Err(ctx.attr_err("p", format!("{p} must be >= 1")));
    }
    let attrs = pool_attrs(imp, ctx, x, PoolKind::Avg { count_include_pad: true })?;
    let dtype = imp.ty(x).dtype;
    let scalar =
        |imp: &mut Importer, name: &str, v: f64| imp.constant(ctx.tmp(name), Tensor::from_f64(dtype, vec![], &[v]));
    let abs = imp.emit1(ctx, Op::Unary(UnaryOp::Abs), vec![x], ctx.tmp("abs"))?;
    let powered = if p == 2 {
        imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![abs, abs], ctx.tmp("powered"))?
    } else {
        let e = scalar(imp, "p", p as f64);
        imp.emit1(ctx, Op::Binary(BinaryOp::Pow), vec![abs, e], ctx.tmp("powered"))?
    };
    let volume = attrs.kernel.iter().product::<usize>() as f64;
    let mean = imp.emit1(ctx, Op::Pool(attrs), vec![powered], ctx.tmp("window_mean"))?;
    let volume = scalar(imp, "volume", volume);
    let sum = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![mean, volume], ctx.tmp("window_sum"))?;
    if p == 2 {
        return Ok(vec![imp.emit1(ctx, Op::Unary(UnaryOp::Sqrt), vec![sum], ctx.out(0))?]);
    }
    let root = scalar(imp, "inverse_p", 1.0 / p as f64);
    Ok(vec![imp.emit1(ctx, Op::Binary(BinaryOp::Pow), vec![sum, root], ctx.out(0))?])
}

/// GlobalAveragePool/GlobalMaxPool as a mean/max over the spatial axes, keeping dims.
pub fn global_pool(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let rank = spatial(imp, ctx, x)?.len() + 2;
    let kind = if ctx.op() == "GlobalMaxPool" { ReduceKind::Max } else { ReduceKind::Mean };
    let op = Op::Reduce { kind, axes: (2..rank).collect(), keepdims: true };
    Ok(vec![imp.emit1(ctx, op, vec![x], ctx.out(0))?])
}

pub fn lrn(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let size = ctx.int("size")?.ok_or_else(|| ctx.attr_err("size", "missing"))?;
    let size = usize::try_from(size).ok().filter(|&s| s > 0).ok_or_else(|| ctx.attr_err("size", "must be positive"))?;
    let op = Op::Lrn {
        size,
        alpha: ctx.float_or("alpha", 1e-4)?.into(),
        beta: ctx.float_or("beta", 0.75)?.into(),
        bias: ctx.float_or("bias", 1.0)?.into(),
    };
    Ok(vec![imp.emit1(ctx, op, vec![x], ctx.out(0))?])
}

/// Softmax/LogSoftmax. Opset 13+ normalises along `axis` (default -1). Before 13 the input
/// is seen as a matrix `[prod(d[..axis]), prod(d[axis..])]` (default axis 1) normalised per
/// row, which for a last axis is the same op and otherwise becomes reshape -> op -> reshape.
pub fn softmax(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let rank = shape.len();
    let make = |axis: usize| {
        if ctx.op() == "Softmax" {
            Op::Softmax { axis }
        } else {
            Op::LogSoftmax { axis }
        }
    };
    if rank == 0 {
        return Err(ctx.input_err(0, "needs rank >= 1"));
    }
    if ctx.opset >= 13 {
        let axis = ctx.axis("axis", ctx.int_or("axis", -1)?, rank)?;
        return Ok(vec![imp.emit1(ctx, make(axis), vec![x], ctx.out(0))?]);
    }
    let axis = ctx.axis("axis", ctx.int_or("axis", 1)?, rank)?;
    if axis == rank - 1 {
        return Ok(vec![imp.emit1(ctx, make(axis), vec![x], ctx.out(0))?]);
    }
    let rows: usize = shape[..axis].iter().product();
    let cols: usize = shape[axis..].iter().product();
    let flat = imp.reshape(ctx, x, vec![rows, cols], ctx.tmp("rows"))?;
    let y = imp.emit1(ctx, make(1), vec![flat], ctx.tmp("normalised"))?;
    Ok(vec![imp.reshape(ctx, y, shape, ctx.out(0))?])
}

/// The window attribute `name` (`strides`, `dilations`): one positive entry per spatial axis,
/// all 1 when absent.
fn positive_per_axis(ctx: &NodeCtx, name: &str, n: usize) -> Result<Vec<usize>> {
    let v = ctx.usizes(name)?.unwrap_or_else(|| vec![1; n]);
    if v.len() != n || v.contains(&0) {
        return Err(ctx.attr_err(name, format!("{v:?} is not {n} positive values")));
    }
    Ok(v)
}
