//! Integer linear ops, exact: `MatMulInteger`, `ConvInteger` and `QLinearConv`.
//!
//! All three follow the ONNX reference: cast the 8-bit operands to i32, subtract their zero
//! points, and multiply-accumulate in i32. The products go through the IR's integer `MatMul`
//! (wrapping like numpy's int32), never through f32, whose 24-bit mantissa would round sums of
//! a few hundred 255*255 products; the convolutions are im2col + that `MatMul` (see
//! `super::im2col`).
//!
//! Zero points:
//! - `MatMulInteger` (spec): `a_zero_point` is per tensor (one element), per row (`[M]` for
//!   `[.., M, K]`, applied as `[M, 1]`) or any tensor broadcasting to A's shape (`[D1, D2, M, 1]`);
//!   `b_zero_point` per tensor, per column (`[N]`) or broadcasting to B's shape. (The reference
//!   subtracts a 1-D `a_zero_point` with plain numpy broadcasting, i.e. per column; the spec says
//!   per row, which is what is implemented.) 1-D A or B are promoted as numpy's matmul does.
//! - `ConvInteger`/`QLinearConv`: `x_zero_point` per tensor, `w_zero_point` per tensor or per
//!   output channel (`[M]`).
//!
//! `QLinearConv` then adds the i32 bias and requantizes as `op_qlinear_conv.py` does:
//! `y = saturate(round_half_even(acc * (x_scale * w_scale / y_scale) + y_zero_point))`, the
//! multiplier computed in f32 (numpy float32 arithmetic, per channel when `w_scale` is `[M]`)
//! and the rest in f64 (numpy promotes int32 * float32 to float64), so results match bit for
//! bit: an i32 and the f32 multiplier are exact in f64 and each step rounds once, as there.

use super::ctx::NodeCtx;
use super::im2col::{geometry, integer_conv};
use super::Importer;
use crate::error::Result;
use kiln_ir::{broadcast_shapes, BinaryOp, DType, Op, UnaryOp, ValueId};

/// Input indices of a convolution operand and of its zero point.
struct Operand {
    value: usize,
    zero_point: usize,
}

pub fn matmul_integer(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (a, b) = (eight_bit(imp, ctx, 0)?, eight_bit(imp, ctx, 1)?);
    let (sa, sb) = (imp.shape(a), imp.shape(b));
    if sa.is_empty() || sb.is_empty() {
        return Err(ctx.err("MatMulInteger operands must have rank >= 1"));
    }
    let a2 = if sa.len() == 1 { imp.reshape(ctx, a, vec![1, sa[0]], ctx.tmp("a_matrix"))? } else { a };
    let b2 = if sb.len() == 1 { imp.reshape(ctx, b, vec![sb[0], 1], ctx.tmp("b_matrix"))? } else { b };
    let (sa2, sb2) = (imp.shape(a2), imp.shape(b2));
    let a_zp = zero_point(imp, ctx, a2, 2, |zs| matrix_zero_point(zs, &sa2, true))?;
    let b_zp = zero_point(imp, ctx, b2, 3, |zs| matrix_zero_point(zs, &sb2, false))?;
    let ac = centred(imp, ctx, a2, a_zp, "a")?;
    let bc = centred(imp, ctx, b2, b_zp, "b")?;
    if sa.len() > 1 && sb.len() > 1 {
        return Ok(vec![imp.emit1(ctx, Op::MatMul, vec![ac, bc], ctx.out(0))?]);
    }
    let y = imp.emit1(ctx, Op::MatMul, vec![ac, bc], ctx.tmp("y_matrix"))?;
    let mut shape = imp.shape(y);
    let r = shape.len();
    if sb.len() == 1 {
        shape.remove(r - 1);
    }
    if sa.len() == 1 {
        shape.remove(r - 2);
    }
    Ok(vec![imp.emit1(ctx, Op::Reshape { shape }, vec![y], ctx.out(0))?])
}

pub fn conv_integer(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = Operand { value: 0, zero_point: 2 };
    let w = Operand { value: 1, zero_point: 3 };
    Ok(vec![centred_conv(imp, ctx, x, w, ctx.out(0))?])
}

pub fn qlinear_conv(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = Operand { value: 0, zero_point: 2 };
    let w = Operand { value: 3, zero_point: 5 };
    let acc = centred_conv(imp, ctx, x, w, ctx.tmp("acc"))?;
    let shape = imp.shape(acc);
    let acc = add_bias(imp, ctx, acc, &shape)?;
    let y_zp = match imp.opt_input(ctx, 7)? {
        Some(z) => Some(per_tensor(imp, ctx, z, 7)?),
        None => None,
    };
    let out_dtype = imp.ty(y_zp.unwrap_or(imp.input(ctx, 0)?)).dtype;
    let (lo, hi) = match out_dtype {
        DType::U8 => (0.0, 255.0),
        DType::I8 => (-128.0, 127.0),
        other => return Err(ctx.input_err(7, format!("has dtype {}; expected uint8 or int8", other.name()))),
    };
    let multiplier = multiplier(imp, ctx, &shape)?;
    let accf = imp.emit1(ctx, Op::Cast { to: DType::F64 }, vec![acc], ctx.tmp("acc_f64"))?;
    let mut y = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![accf, multiplier], ctx.tmp("scaled"))?;
    if let Some(z) = y_zp {
        let zf = imp.emit1(ctx, Op::Cast { to: DType::F64 }, vec![z], ctx.tmp("y_zero_point_f64"))?;
        y = imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![y, zf], ctx.tmp("shifted"))?;
    }
    let clipped =
        imp.emit1(ctx, Op::Unary(UnaryOp::Clip { min: lo.into(), max: hi.into() }), vec![y], ctx.tmp("clipped"))?;
    let rounded = imp.emit1(ctx, Op::Unary(UnaryOp::Round), vec![clipped], ctx.tmp("rounded"))?;
    Ok(vec![imp.emit1(ctx, Op::Cast { to: out_dtype }, vec![rounded], ctx.out(0))?])
}

/// The i32 convolution (named `name`) of the operands `x` and `w` minus their zero points.
fn centred_conv(imp: &mut Importer, ctx: &NodeCtx, x: Operand, w: Operand, name: String) -> Result<ValueId> {
    let (xv, wv) = (eight_bit(imp, ctx, x.value)?, eight_bit(imp, ctx, w.value)?);
    let (xs, ws) = (imp.shape(xv), imp.shape(wv));
    let g = geometry(ctx, &xs, &ws, w.value)?;
    let x_zp = zero_point(imp, ctx, xv, x.zero_point, |_| None)?;
    let w_zp = zero_point(imp, ctx, wv, w.zero_point, |zs| (zs == [ws[0]]).then(|| per_channel(ws[0], ws.len(), 0)))?;
    let xc = centred(imp, ctx, xv, x_zp, "x")?;
    let wc = centred(imp, ctx, wv, w_zp, "w")?;
    integer_conv(imp, ctx, (xc, wc), &g, name)
}

/// Input `i`, which must be uint8 or int8.
fn eight_bit(imp: &Importer, ctx: &NodeCtx, i: usize) -> Result<ValueId> {
    let v = imp.input(ctx, i)?;
    match imp.ty(v).dtype {
        DType::U8 | DType::I8 => Ok(v),
        other => Err(ctx.input_err(i, format!("has dtype {}; {} needs uint8 or int8", other.name(), ctx.op()))),
    }
}

/// The zero point at input `i` for operand `x` (`None` when absent): of `x`'s dtype, a scalar
/// when it has one element, else reshaped to the shape `fit` gives for its shape (an error
/// when `fit` gives none).
fn zero_point(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    i: usize,
    fit: impl Fn(&[usize]) -> Option<Vec<usize>>,
) -> Result<Option<ValueId>> {
    let Some(z) = imp.opt_input(ctx, i)? else { return Ok(None) };
    let (zt, xt) = (imp.ty(z), imp.ty(x));
    if zt.dtype != xt.dtype {
        return Err(ctx.input_err(i, format!("has dtype {}, its operand {}", zt.dtype.name(), xt.dtype.name())));
    }
    let shape = if zt.numel() == 1 { Some(vec![]) } else { fit(&zt.shape) };
    let shape = shape.ok_or_else(|| {
        ctx.input_err(i, format!("zero point shape {:?} fits no quantization granularity of {:?}", zt.shape, xt.shape))
    })?;
    Ok(Some(imp.reshape(ctx, z, shape, ctx.tmp(&format!("zero_point_{i}")))?))
}

/// MatMulInteger's zero point shapes for an operand of shape `s` (rank >= 2): per row of A
/// (`[M]` -> `[M, 1]`), per column of B (`[N]`), or anything broadcasting to `s` unchanged.
fn matrix_zero_point(zs: &[usize], s: &[usize], is_a: bool) -> Option<Vec<usize>> {
    let r = s.len();
    if is_a && zs == [s[r - 2]] {
        return Some(vec![s[r - 2], 1]);
    }
    if !is_a && zs == [s[r - 1]] {
        return Some(zs.to_vec());
    }
    (broadcast_shapes(zs, s).as_deref() == Some(s)).then(|| zs.to_vec())
}

/// `[.., m, ..]`: `m` at `axis` of a rank-`rank` shape of ones.
fn per_channel(m: usize, rank: usize, axis: usize) -> Vec<usize> {
    let mut shape = vec![1; rank];
    shape[axis] = m;
    shape
}

/// `i32(x) - i32(zero_point)`, or `i32(x)` without a zero point.
fn centred(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, zp: Option<ValueId>, what: &str) -> Result<ValueId> {
    let xi = imp.emit1(ctx, Op::Cast { to: DType::I32 }, vec![x], ctx.tmp(&format!("{what}_i32")))?;
    let Some(zp) = zp else { return Ok(xi) };
    let zi = imp.emit1(ctx, Op::Cast { to: DType::I32 }, vec![zp], ctx.tmp(&format!("{what}_zero_point_i32")))?;
    imp.emit1(ctx, Op::Binary(BinaryOp::Sub), vec![xi, zi], ctx.tmp(&format!("{what}_centred")))
}

/// Input `i` as a scalar; an error unless it has exactly one element.
fn per_tensor(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, i: usize) -> Result<ValueId> {
    let shape = imp.shape(v);
    if shape.iter().product::<usize>() != 1 {
        return Err(ctx.input_err(i, format!("shape {shape:?} must hold one element (per-tensor)")));
    }
    imp.reshape(ctx, v, vec![], ctx.tmp(&format!("scalar_{i}")))
}

/// QLinearConv's optional i32 bias (input 8, one element or `[M]`) added to `acc` `[N, M, ..]`.
fn add_bias(imp: &mut Importer, ctx: &NodeCtx, acc: ValueId, shape: &[usize]) -> Result<ValueId> {
    let Some(b) = imp.opt_input(ctx, 8)? else { return Ok(acc) };
    let bt = imp.ty(b);
    if bt.dtype != DType::I32 {
        return Err(ctx.input_err(8, format!("has dtype {}; the bias must be int32", bt.dtype.name())));
    }
    let b = if bt.numel() == 1 {
        imp.reshape(ctx, b, vec![], ctx.tmp("bias_scalar"))?
    } else if bt.shape == [shape[1]] {
        imp.reshape(ctx, b, per_channel(shape[1], shape.len(), 1), ctx.tmp("bias_channels"))?
    } else {
        return Err(ctx.input_err(8, format!("shape {:?} must be [{}] (one per output channel)", bt.shape, shape[1])));
    };
    imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![acc, b], ctx.tmp("acc_biased"))
}

/// `f64(x_scale * w_scale / y_scale)` computed in f32, per output channel when `w_scale` is
/// `[M]`, shaped to broadcast against the accumulator of shape `shape` `[N, M, ..]`.
fn multiplier(imp: &mut Importer, ctx: &NodeCtx, shape: &[usize]) -> Result<ValueId> {
    let mut scales = Vec::with_capacity(3);
    for i in [1, 4, 6] {
        let s = imp.input(ctx, i)?;
        let t = imp.ty(s);
        if t.dtype != DType::F32 {
            return Err(ctx.input_err(i, format!("has dtype {}; scales must be float32", t.dtype.name())));
        }
        let s = if i == 4 && t.numel() != 1 {
            if t.shape != [shape[1]] {
                let msg = format!("shape {:?} must hold one element or one per output channel ({})", t.shape, shape[1]);
                return Err(ctx.input_err(i, msg));
            }
            imp.reshape(ctx, s, per_channel(shape[1], shape.len(), 1), ctx.tmp("w_scale_channels"))?
        } else {
            per_tensor(imp, ctx, s, i)?
        };
        scales.push(s);
    }
    let xw = imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![scales[0], scales[1]], ctx.tmp("x_w_scale"))?;
    let m = imp.emit1(ctx, Op::Binary(BinaryOp::Div), vec![xw, scales[2]], ctx.tmp("multiplier"))?;
    imp.emit1(ctx, Op::Cast { to: DType::F64 }, vec![m], ctx.tmp("multiplier_f64"))
}
