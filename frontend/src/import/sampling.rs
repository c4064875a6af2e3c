//! Shared pieces of the sampling decompositions (GridSample, and the bilinear reads of RoiAlign
//! and DeformConv): per-axis interpolation taps computed from run-time coordinates, and one
//! `Gather` of every tap of every sample from a `[N * S, C]` view of the image.
//!
//! Interpolation in ONNX is separable: a sample is `sum over tap tuples of (product of the
//! per-axis weights) * pixel(tap indices)`, where each axis maps its tap to a pixel index on its
//! own (clamped, reflected, or outside = zero). So each spatial axis is handled alone as a
//! float coordinate tensor `[N, O..]` giving an [`AxisTaps`] (`[N, O.., T]` index, weight and
//! in-range mask), and [`gather_taps`] combines them by broadcasting, with each axis's tap
//! dimension in its own position, into one linear index. Indices are always clamped into range
//! before the `Gather`: out-of-range taps are masked to zero with `Where` (so an infinity or NaN
//! in the clamped-to pixel cannot leak into the result through `0 * x`).

use super::build::{bin, cast, scalar, select, un};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, UnaryOp, ValueId};

/// The cubic convolution coefficient ONNX GridSample uses (Keys' `a`).
pub const CUBIC_A: f64 = -0.75;

/// One spatial axis's taps for every sample: `[N, O.., T]` each.
pub struct AxisTaps {
    /// Pixel indices along the axis, clamped into `[0, len)` (i64).
    pub index: ValueId,
    /// Interpolation weights (`None`: a single tap of weight 1).
    pub weight: Option<ValueId>,
    /// Where a tap lies inside the image (`None`: every tap does, after clamping/reflection).
    pub inside: Option<ValueId>,
}

/// A constant of `dtype` shaped `[1.., T]` (rank `rank`) for broadcasting along the tap axis.
pub fn tap_const(imp: &mut Importer, ctx: &NodeCtx, dtype: DType, rank: usize, vals: &[f64], name: &str) -> ValueId {
    let shape = [vec![1; rank - 1], vec![vals.len()]].concat();
    imp.constant(ctx.tmp(name), Tensor::from_f64(dtype, shape, vals))
}

/// `v` with a trailing axis of 1.
pub fn with_tap_axis(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, name: &str) -> Result<ValueId> {
    let shape = [imp.shape(v), vec![1]].concat();
    imp.reshape(ctx, v, shape, ctx.tmp(name))
}

/// Reflects `v` into `[lo, hi]` by the nearer border until inside (the reference's
/// `_gs_reflect`); values already inside are unchanged. A zero-width range gives `lo`.
pub fn reflect(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, lo: f64, hi: f64) -> Result<ValueId> {
    let dtype = imp.ty(v).dtype;
    let c = |imp: &mut Importer, s: &str, x: f64| scalar(imp, ctx, s, dtype, x);
    let range = hi - lo;
    if range <= 0.0 {
        let clip = UnaryOp::Clip { min: (lo as f32).into(), max: (lo as f32).into() };
        return un(imp, ctx, clip, v, ctx.tmp("reflected"));
    }
    let (lo_c, hi_c, range_c) = (c(imp, "lo", lo), c(imp, "hi", hi), c(imp, "range", range));
    let below = bin(imp, ctx, BinaryOp::Less, v, lo_c, ctx.tmp("below"))?;
    let above = bin(imp, ctx, BinaryOp::Greater, v, hi_c, ctx.tmp("above"))?;
    let under = bin(imp, ctx, BinaryOp::Sub, lo_c, v, ctx.tmp("under"))?;
    let over = bin(imp, ctx, BinaryOp::Sub, v, hi_c, ctx.tmp("over"))?;
    let dx = select(imp, ctx, below, under, over, ctx.tmp("dx"))?;
    let turns = bin(imp, ctx, BinaryOp::Div, dx, range_c, ctx.tmp("turns"))?;
    let turns = un(imp, ctx, UnaryOp::Floor, turns, ctx.tmp("turns_floor"))?;
    let whole = bin(imp, ctx, BinaryOp::Mul, turns, range_c, ctx.tmp("whole"))?;
    let r = bin(imp, ctx, BinaryOp::Sub, dx, whole, ctx.tmp("rest"))?;
    let half = c(imp, "half", 0.5);
    let halved = bin(imp, ctx, BinaryOp::Mul, turns, half, ctx.tmp("halved"))?;
    let halved = un(imp, ctx, UnaryOp::Floor, halved, ctx.tmp("halved_floor"))?;
    let two = c(imp, "two", 2.0);
    let twice = bin(imp, ctx, BinaryOp::Mul, halved, two, ctx.tmp("twice"))?;
    let even = bin(imp, ctx, BinaryOp::Equal, twice, turns, ctx.tmp("even"))?;
    let from_lo = bin(imp, ctx, BinaryOp::Add, lo_c, r, ctx.tmp("from_lo"))?;
    let from_hi = bin(imp, ctx, BinaryOp::Sub, hi_c, r, ctx.tmp("from_hi"))?;
    let near = select(imp, ctx, below, from_lo, from_hi, ctx.tmp("near"))?;
    let far = select(imp, ctx, below, from_hi, from_lo, ctx.tmp("far"))?;
    let folded = select(imp, ctx, even, near, far, ctx.tmp("folded"))?;
    let outside = bin(imp, ctx, BinaryOp::Or, below, above, ctx.tmp("outside"))?;
    select(imp, ctx, outside, folded, v, ctx.tmp("reflected"))
}

/// Integer-valued float positions -> i64 indices clamped into `[0, len)`.
pub fn clamped_index(imp: &mut Importer, ctx: &NodeCtx, pos: ValueId, len: usize) -> Result<ValueId> {
    let clip = UnaryOp::Clip { min: 0.0.into(), max: (len.saturating_sub(1) as f32).into() };
    let clipped = un(imp, ctx, clip, pos, ctx.tmp("clipped"))?;
    cast(imp, ctx, clipped, DType::I64, ctx.tmp("index"))
}

/// `lo <= pos <= hi` (bool).
pub fn within(imp: &mut Importer, ctx: &NodeCtx, pos: ValueId, lo: f64, hi: f64) -> Result<ValueId> {
    let dtype = imp.ty(pos).dtype;
    let (lo_c, hi_c) = (scalar(imp, ctx, "lo", dtype, lo), scalar(imp, ctx, "hi", dtype, hi));
    let ge = bin(imp, ctx, BinaryOp::GreaterOrEqual, pos, lo_c, ctx.tmp("ge_lo"))?;
    let le = bin(imp, ctx, BinaryOp::LessOrEqual, pos, hi_c, ctx.tmp("le_hi"))?;
    bin(imp, ctx, BinaryOp::And, ge, le, ctx.tmp("inside"))
}

/// Linear weights `[1 - f, f]` of the taps `floor(x) + [0, 1]`, `f` being `[N, O.., 1]`.
pub fn linear_weights(imp: &mut Importer, ctx: &NodeCtx, f: ValueId) -> Result<ValueId> {
    let one = scalar(imp, ctx, "one", imp.ty(f).dtype, 1.0);
    let rest = bin(imp, ctx, BinaryOp::Sub, one, f, ctx.tmp("one_minus_f"))?;
    let axis = imp.shape(f).len() - 1;
    imp.emit1(ctx, Op::Concat { axis }, vec![rest, f], ctx.tmp("linear_weights"))
}

/// Keys cubic weights (`a` = [`CUBIC_A`]) of the taps `floor(x) + [-1, 0, 1, 2]`, from `f` as
/// `[N, O.., 1]`, with the reference's operation order: distances `s = [f+1, f, 1-f, 2-f]`, the
/// inner polynomial for the middle taps and the outer one for the end taps.
pub fn cubic_weights(imp: &mut Importer, ctx: &NodeCtx, f: ValueId) -> Result<ValueId> {
    let dtype = imp.ty(f).dtype;
    let rank = imp.shape(f).len();
    let a = CUBIC_A;
    let c = |imp: &mut Importer, s: &str, x: f64| scalar(imp, ctx, s, dtype, x);
    let sign = tap_const(imp, ctx, dtype, rank, &[1.0, 1.0, -1.0, -1.0], "cubic_sign");
    let shift = tap_const(imp, ctx, dtype, rank, &[1.0, 0.0, 1.0, 2.0], "cubic_shift");
    let signed = bin(imp, ctx, BinaryOp::Mul, f, sign, ctx.tmp("signed_f"))?;
    let s = bin(imp, ctx, BinaryOp::Add, signed, shift, ctx.tmp("distance"))?;
    // inner: ((a + 2) s - (a + 3)) s s + 1
    let (a2, a3, one) = (c(imp, "a_plus_2", a + 2.0), c(imp, "a_plus_3", a + 3.0), c(imp, "one", 1.0));
    let t = bin(imp, ctx, BinaryOp::Mul, a2, s, ctx.tmp("inner_1"))?;
    let t = bin(imp, ctx, BinaryOp::Sub, t, a3, ctx.tmp("inner_2"))?;
    let t = bin(imp, ctx, BinaryOp::Mul, t, s, ctx.tmp("inner_3"))?;
    let t = bin(imp, ctx, BinaryOp::Mul, t, s, ctx.tmp("inner_4"))?;
    let inner = bin(imp, ctx, BinaryOp::Add, t, one, ctx.tmp("inner"))?;
    // outer: ((a s - 5a) s + 8a) s - 4a
    let (ac, a5, a8, a4) = (c(imp, "a", a), c(imp, "a5", 5.0 * a), c(imp, "a8", 8.0 * a), c(imp, "a4", 4.0 * a));
    let t = bin(imp, ctx, BinaryOp::Mul, ac, s, ctx.tmp("outer_1"))?;
    let t = bin(imp, ctx, BinaryOp::Sub, t, a5, ctx.tmp("outer_2"))?;
    let t = bin(imp, ctx, BinaryOp::Mul, t, s, ctx.tmp("outer_3"))?;
    let t = bin(imp, ctx, BinaryOp::Add, t, a8, ctx.tmp("outer_4"))?;
    let t = bin(imp, ctx, BinaryOp::Mul, t, s, ctx.tmp("outer_5"))?;
    let outer = bin(imp, ctx, BinaryOp::Sub, t, a4, ctx.tmp("outer"))?;
    let ends = Tensor::from_vec(vec![4], vec![true, false, false, true]);
    let ends = imp.constant(ctx.tmp("cubic_ends"), ends);
    select(imp, ctx, ends, outer, inner, ctx.tmp("cubic_weights"))
}

/// Gathers every tap tuple of every sample from `x` `[N, C, S..]` and sums them weighted:
/// `[N, O.., C]`. `axes[d]` holds the taps of spatial axis `d` as `[N, O.., T_d]`.
pub fn gather_taps(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, axes: &[AxisTaps]) -> Result<ValueId> {
    let xs = imp.shape(x);
    let (n, c, spatial) = (xs[0], xs[1], &xs[2..]);
    let k = spatial.len();
    let lead = imp.shape(axes[0].index);
    let lead = &lead[..lead.len() - 1];
    let taps: Vec<usize> = axes.iter().map(|a| *imp.shape(a.index).last().unwrap_or(&1)).collect();
    let placed = |imp: &mut Importer, v: ValueId, d: usize, name: &str| {
        let mut shape = [lead.to_vec(), vec![1; k]].concat();
        shape[lead.len() + d] = taps[d];
        imp.reshape(ctx, v, shape, ctx.tmp(name))
    };
    let (mut linear, mut weight, mut inside) = (None, None, None);
    for (d, a) in axes.iter().enumerate() {
        let stride: usize = spatial[d + 1..].iter().product();
        let idx = placed(imp, a.index, d, "tap_index")?;
        let stride = scalar(imp, ctx, "stride", DType::I64, stride as f64);
        let idx = bin(imp, ctx, BinaryOp::Mul, idx, stride, ctx.tmp("tap_offset"))?;
        linear = Some(accumulate(imp, ctx, linear, idx, BinaryOp::Add)?);
        if let Some(w) = a.weight {
            let w = placed(imp, w, d, "tap_weight")?;
            weight = Some(accumulate(imp, ctx, weight, w, BinaryOp::Mul)?);
        }
        if let Some(m) = a.inside {
            let m = placed(imp, m, d, "tap_inside")?;
            inside = Some(accumulate(imp, ctx, inside, m, BinaryOp::And)?);
        }
    }
    let per_image: usize = spatial.iter().product();
    let offsets: Vec<f64> = (0..n).map(|i| (i * per_image) as f64).collect();
    let off_shape = [vec![n], vec![1; lead.len() - 1 + k]].concat();
    let offsets = imp.constant(ctx.tmp("batch_offsets"), Tensor::from_f64(DType::I64, off_shape, &offsets));
    let linear = linear.ok_or_else(|| ctx.err("no spatial axes"))?;
    let linear = bin(imp, ctx, BinaryOp::Add, linear, offsets, ctx.tmp("linear_index"))?;
    let pixels = pixel_rows(imp, ctx, x)?;
    let mut picked = imp.emit1(ctx, Op::Gather { axis: 0 }, vec![pixels, linear], ctx.tmp("taps"))?;
    let dtype = imp.ty(x).dtype;
    if let Some(m) = inside {
        let m = with_tap_axis(imp, ctx, m, "inside_column")?;
        let zero = scalar(imp, ctx, "zero", dtype, 0.0);
        picked = select(imp, ctx, m, picked, zero, ctx.tmp("taps_inside"))?;
    }
    if let Some(w) = weight {
        let w = with_tap_axis(imp, ctx, w, "weight_column")?;
        picked = bin(imp, ctx, BinaryOp::Mul, picked, w, ctx.tmp("weighted_taps"))?;
    }
    let tap_axes: Vec<usize> = (lead.len()..lead.len() + k).collect();
    let out_shape = [lead.to_vec(), vec![c]].concat();
    if taps.iter().all(|&t| t == 1) {
        return imp.reshape(ctx, picked, out_shape, ctx.tmp("samples"));
    }
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: tap_axes, keepdims: false };
    imp.emit1(ctx, sum, vec![picked], ctx.tmp("samples"))
}

fn accumulate(imp: &mut Importer, ctx: &NodeCtx, acc: Option<ValueId>, v: ValueId, op: BinaryOp) -> Result<ValueId> {
    match acc {
        None => Ok(v),
        Some(a) => bin(imp, ctx, op, a, v, ctx.tmp("tap_combined")),
    }
}

/// `x` `[N, C, S..]` as pixel rows `[N * prod(S), C]`.
pub fn pixel_rows(imp: &mut Importer, ctx: &NodeCtx, x: ValueId) -> Result<ValueId> {
    let xs = imp.shape(x);
    let r = xs.len();
    let perm: Vec<usize> = [vec![0], (2..r).collect(), vec![1]].concat();
    let moved = imp.emit1(ctx, Op::Transpose { perm }, vec![x], ctx.tmp("channels_last"))?;
    let rows: usize = xs[..r].iter().product::<usize>() / xs[1].max(1);
    imp.reshape(ctx, moved, vec![rows, xs[1]], ctx.tmp("pixel_rows"))
}
