//! `DFT` (opsets 17-20) as matrix products with constant cosine and sine tables, since the
//! signal lengths are static: with the transform axis moved last and the real and imaginary
//! parts split off the trailing `[1 | 2]` axis,
//!
//! `re' = re . A + im . B`, `im' = re . C + im . D`
//!
//! where `A..D` (`[N_in, N_out]`) hold `cos(2 pi k n / N)` and `sin(..)` with the signs of the
//! forward or inverse transform, the `1/N` of the inverse, the `onesided` bins (`N/2 + 1`) of a
//! forward real transform, and for an inverse one-sided transform the Hermitian weights (bins
//! other than 0 and N/2 counted twice) that give its real result. A constant `dft_length`
//! zero-pads or crops the input (rows past it are zero). O(N^2) work per signal is what the
//! matrix form costs; kiln's MatMul kernel makes that fast for the short signals of audio
//! front-ends, and the table size is bounded by [`MAX_TABLE`].

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, Tensor, ValueId};
use std::f64::consts::PI;

/// Largest `N_in * N_out` table built.
pub const MAX_TABLE: usize = 1 << 22;

/// The transform's shape and direction.
struct Plan {
    n: usize,
    n_in: usize,
    n_out: usize,
    inverse: bool,
    /// Inverse of a one-sided (Hermitian) spectrum: the result is real.
    real_out: bool,
}

pub fn dft(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let (xs, dtype) = (imp.shape(x), imp.ty(x).dtype);
    let parts = *xs.last().unwrap_or(&0);
    if xs.len() < 2 || !(parts == 1 || parts == 2) || !dtype.is_float() {
        return Err(ctx.input_err(0, format!("must be float [.., signal.., 1 | 2], not {xs:?}")));
    }
    let axis = transform_axis(imp, ctx, xs.len())?;
    let plan = plan(imp, ctx, xs[axis], parts)?;
    let rank = xs.len() - 1;
    let mut perm: Vec<usize> = (0..rank).filter(|&d| d != axis).collect();
    perm.push(axis);
    let inv_perm: Vec<usize> = (0..rank).map(|d| perm.iter().position(|&p| p == d).unwrap_or(d)).collect();
    let re = part(imp, ctx, x, 0, &perm, "re")?;
    let im = if parts == 2 { Some(part(imp, ctx, x, 1, &perm, "im")?) } else { None };
    let tables = tables(&plan);
    let out_re = combine(imp, ctx, re, im, &tables[0], &tables[1], &plan, dtype, "out_re")?;
    let out_re = unsqueezed(imp, ctx, out_re, &inv_perm, "re_last")?;
    if plan.real_out {
        return Ok(vec![imp.emit1(ctx, Op::Identity, vec![out_re], ctx.out(0))?]);
    }
    let out_im = combine(imp, ctx, re, im, &tables[2], &tables[3], &plan, dtype, "out_im")?;
    let out_im = unsqueezed(imp, ctx, out_im, &inv_perm, "im_last")?;
    Ok(vec![imp.emit1(ctx, Op::Concat { axis: rank }, vec![out_re, out_im], ctx.out(0))?])
}

/// The signal axis: the attribute before opset 20 (default 1), the constant input 2 after
/// (default -2); negative values count from the end of `x`'s dims.
fn transform_axis(imp: &Importer, ctx: &NodeCtx, rank: usize) -> Result<usize> {
    let axis = if ctx.opset >= 20 {
        match imp.opt_const(ctx, 2)? {
            Some(t) => t.to_f64_vec().first().copied().unwrap_or(-2.0) as i64,
            None => -2,
        }
    } else {
        ctx.int_or("axis", 1)?
    };
    let a = ctx.axis("axis", axis, rank)?;
    if a == 0 || a == rank - 1 {
        return Err(ctx.attr_err("axis", format!("{axis} is the batch or the real/imaginary axis")));
    }
    Ok(a)
}

fn plan(imp: &Importer, ctx: &NodeCtx, n_in: usize, parts: usize) -> Result<Plan> {
    let inverse = ctx.bool_or("inverse", false)?;
    let onesided = ctx.bool_or("onesided", false)?;
    let real_out = inverse && onesided;
    let n = match imp.opt_const(ctx, 1)? {
        Some(t) => t.to_f64_vec().first().copied().filter(|&v| v >= 1.0).map(|v| v as usize),
        None => Some(if real_out { 2 * n_in.saturating_sub(1) } else { n_in }),
    };
    let n = n.filter(|&n| n > 0).ok_or_else(|| ctx.input_err(1, "dft_length must be a positive constant"))?;
    if onesided && !inverse && parts != 1 {
        return Err(ctx.attr_err("onesided", "a one-sided forward transform needs a real input"));
    }
    let n_out = if onesided && !inverse { n / 2 + 1 } else { n };
    if n_in.checked_mul(n_out).is_none_or(|s| s > MAX_TABLE) {
        return Err(ctx.err(format!("a {n_in} x {n_out} DFT table exceeds {MAX_TABLE} entries")));
    }
    Ok(Plan { n, n_in, n_out, inverse, real_out })
}

/// `[A, B, C, D]` as `[n_in * n_out]` row-major tables (see the module docs).
fn tables(p: &Plan) -> [Vec<f64>; 4] {
    let mut t = [
        vec![0.0; p.n_in * p.n_out],
        vec![0.0; p.n_in * p.n_out],
        vec![0.0; p.n_in * p.n_out],
        vec![0.0; p.n_in * p.n_out],
    ];
    let sign = if p.inverse { 1.0 } else { -1.0 };
    let scale = if p.inverse { 1.0 / p.n as f64 } else { 1.0 };
    for j in 0..p.n_in.min(if p.real_out { p.n / 2 + 1 } else { p.n }) {
        let weight = if p.real_out && j != 0 && 2 * j != p.n { 2.0 } else { 1.0 };
        for k in 0..p.n_out {
            let angle = 2.0 * PI * ((j * k) % p.n) as f64 / p.n as f64;
            let (c, s) = (angle.cos() * scale * weight, sign * angle.sin() * scale * weight);
            let at = j * p.n_out + k;
            // out = x * e^{sign i angle}: re' = re c - im s, im' = re s + im c.
            (t[0][at], t[1][at], t[2][at], t[3][at]) = (c, -s, s, c);
        }
    }
    t
}

/// Part `index` of the trailing axis, squeezed, with the signal axis moved last.
fn part(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, index: usize, perm: &[usize], name: &str) -> Result<ValueId> {
    let xs = imp.shape(x);
    let rank = xs.len();
    let mut starts = vec![0; rank];
    starts[rank - 1] = index;
    let mut lens = xs.clone();
    lens[rank - 1] = 1;
    let sliced =
        imp.emit1(ctx, Op::Slice { starts, steps: vec![1; rank], lens: lens.clone() }, vec![x], ctx.tmp(name))?;
    let squeezed = imp.reshape(ctx, sliced, xs[..rank - 1].to_vec(), ctx.tmp(&format!("{name}_squeezed")))?;
    imp.emit1(ctx, Op::Transpose { perm: perm.to_vec() }, vec![squeezed], ctx.tmp(&format!("{name}_axis_last")))
}

#[allow(clippy::too_many_arguments)]
fn combine(
    imp: &mut Importer,
    ctx: &NodeCtx,
    re: ValueId,
    im: Option<ValueId>,
    from_re: &[f64],
    from_im: &[f64],
    p: &Plan,
    dtype: DType,
    name: &str,
) -> Result<ValueId> {
    let table = |imp: &mut Importer, t: &[f64], tag: &str| {
        imp.constant(ctx.tmp(&format!("{name}_{tag}")), Tensor::from_f64(dtype, vec![p.n_in, p.n_out], t))
    };
    let a = table(imp, from_re, "from_re");
    let y = imp.emit1(ctx, Op::MatMul, vec![re, a], ctx.tmp(&format!("{name}_re_term")))?;
    let Some(im) = im else { return Ok(y) };
    let b = table(imp, from_im, "from_im");
    let z = imp.emit1(ctx, Op::MatMul, vec![im, b], ctx.tmp(&format!("{name}_im_term")))?;
    imp.emit1(ctx, Op::Binary(BinaryOp::Add), vec![y, z], ctx.tmp(name))
}

/// `v` with the signal axis moved back and a trailing axis of 1 added.
fn unsqueezed(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, inv_perm: &[usize], name: &str) -> Result<ValueId> {
    let back = imp.emit1(ctx, Op::Transpose { perm: inv_perm.to_vec() }, vec![v], ctx.tmp(&format!("{name}_back")))?;
    let shape = [imp.shape(back), vec![1]].concat();
    imp.reshape(ctx, back, shape, ctx.tmp(name))
}
