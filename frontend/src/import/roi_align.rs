//! `RoiAlign` (opsets 10, 16, 22) with run-time rois, following
//! `onnx/reference/ops/op_roi_align.py`: each of the `PH x PW` bins of a roi averages (or takes
//! the max of) `GH x GW` bilinear samples, `GH = GW = sampling_ratio`.
//!
//! The sample coordinates depend on the rois, so they are computed with IR ops, one axis at a
//! time (`[R, P, G]`: roi, bin, sample), with the reference's f32 operation order; per axis a
//! sample gives two taps (`low`, `high`) and weights (`1 - l`, `l`), all zero with index 0 for a
//! sample outside `[-1, len]` (as the reference's `pre_calc`). The two axes broadcast into one
//! linear index `[R, PH, PW, GH, GW, 2, 2]` offset by `batch_indices * H * W`, one `Gather` from
//! X as `[N * H * W, C]` reads every corner, and the weighted corners are summed and divided by
//! the sample count (`avg`), or reduced with max (`max`: the reference's max of the *weighted*
//! corners, kept as is).
//!
//! `sampling_ratio = 0` (an adaptive, roi-dependent number of samples) is not supported: the IR
//! needs a static sample count.

use super::build::{bin, cast, scalar, select, un, MAX_TABLE_ELEMENTS};
use super::ctx::NodeCtx;
use super::sampling::{pixel_rows, tap_const};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, UnaryOp, ValueId};

struct Spec {
    max_mode: bool,
    half_pixel: bool,
    pooled: [usize; 2],
    grid: usize,
    scale: f64,
}

pub fn roi_align(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, rois, batch) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.input(ctx, 2)?);
    let (xs, dtype) = (imp.shape(x), imp.ty(x).dtype);
    if xs.len() != 4 || !dtype.is_float() {
        return Err(ctx.input_err(0, format!("must be float [N, C, H, W], not {xs:?}")));
    }
    let (rs, bs) = (imp.shape(rois), imp.shape(batch));
    if rs.len() != 2 || rs[1] != 4 || bs != [rs[0]] || !imp.ty(batch).dtype.is_int() {
        return Err(ctx.input_err(1, format!("rois {rs:?} and batch_indices {bs:?} must be [R, 4] and int [R]")));
    }
    let spec = spec(ctx)?;
    // The corner gather `[R, PH, PW, GH, GW, 2, 2, C]` is the largest tensor built: bound it
    // before any attribute-sized constant (`bins`, `samples`) is allocated.
    let corners = [rs[0], spec.pooled[0], spec.pooled[1], spec.grid, spec.grid, 4, xs[1]];
    if corners.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).is_none_or(|n| n > MAX_TABLE_ELEMENTS) {
        return Err(ctx.err(format!("the sample grid {corners:?} exceeds {MAX_TABLE_ELEMENTS} elements")));
    }
    let rois = if imp.ty(rois).dtype == dtype { rois } else { cast(imp, ctx, rois, dtype, ctx.tmp("rois_cast"))? };
    let (yi, yw) = axis(imp, ctx, &spec, rois, 1, 0, xs[2])?;
    let (xi, xw) = axis(imp, ctx, &spec, rois, 0, 1, xs[3])?;
    let r = rs[0];
    let [ph, pw] = spec.pooled;
    let g = spec.grid;
    let yi = imp.reshape(ctx, yi, vec![r, ph, 1, g, 1, 2, 1], ctx.tmp("y_index"))?;
    let xi = imp.reshape(ctx, xi, vec![r, 1, pw, 1, g, 1, 2], ctx.tmp("x_index"))?;
    let yw = imp.reshape(ctx, yw, vec![r, ph, 1, g, 1, 2, 1, 1], ctx.tmp("y_weight"))?;
    let xw = imp.reshape(ctx, xw, vec![r, 1, pw, 1, g, 1, 2, 1], ctx.tmp("x_weight"))?;
    let width = scalar(imp, ctx, "width", DType::I64, xs[3] as f64);
    let rows = bin(imp, ctx, BinaryOp::Mul, yi, width, ctx.tmp("row_offset"))?;
    let within = bin(imp, ctx, BinaryOp::Add, rows, xi, ctx.tmp("pixel_index"))?;
    let batch = cast(imp, ctx, batch, DType::I64, ctx.tmp("batch_i64"))?;
    let image = scalar(imp, ctx, "image_size", DType::I64, (xs[2] * xs[3]) as f64);
    let batch = bin(imp, ctx, BinaryOp::Mul, batch, image, ctx.tmp("batch_offset"))?;
    let batch = imp.reshape(ctx, batch, vec![r, 1, 1, 1, 1, 1, 1], ctx.tmp("batch_offset_column"))?;
    let linear = bin(imp, ctx, BinaryOp::Add, within, batch, ctx.tmp("linear_index"))?;
    let pixels = pixel_rows(imp, ctx, x)?;
    let corners = imp.emit1(ctx, Op::Gather { axis: 0 }, vec![pixels, linear], ctx.tmp("corners"))?;
    let weight = bin(imp, ctx, BinaryOp::Mul, yw, xw, ctx.tmp("corner_weight"))?;
    let weighted = bin(imp, ctx, BinaryOp::Mul, corners, weight, ctx.tmp("weighted_corners"))?;
    let pooled = pool(imp, ctx, &spec, weighted)?;
    Ok(vec![imp.emit1(ctx, Op::Transpose { perm: vec![0, 3, 1, 2] }, vec![pooled], ctx.out(0))?])
}

fn spec(ctx: &NodeCtx) -> Result<Spec> {
    let max_mode = match ctx.string_or("mode", "avg")?.as_str() {
        "avg" => false,
        "max" => true,
        other => return Err(ctx.attr_err("mode", format!("unknown mode '{other}'"))),
    };
    let default_ctm = if ctx.opset >= 16 { "half_pixel" } else { "output_half_pixel" };
    let half_pixel = match ctx.string_or("coordinate_transformation_mode", default_ctm)?.as_str() {
        "half_pixel" => true,
        "output_half_pixel" => false,
        other => return Err(ctx.attr_err("coordinate_transformation_mode", format!("unknown mode '{other}'"))),
    };
    let positive = |name: &str, default: i64| -> Result<usize> {
        let v = ctx.int_or(name, default)?;
        usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| ctx.attr_err(name, format!("{v} must be > 0")))
    };
    let pooled = [positive("output_height", 1)?, positive("output_width", 1)?];
    let grid = positive("sampling_ratio", 0).map_err(|_| {
        ctx.attr_err("sampling_ratio", "must be > 0: an adaptive (roi-dependent) sample count is not supported")
    })?;
    let scale = ctx.float_or("spatial_scale", 1.0)? as f64;
    Ok(Spec { max_mode, half_pixel, pooled, grid, scale })
}

/// Column `col` of the rois scaled and shifted: `[R, 1, 1]`.
fn roi_edge(imp: &mut Importer, ctx: &NodeCtx, spec: &Spec, rois: ValueId, col: usize) -> Result<ValueId> {
    let r = imp.shape(rois)[0];
    let op = Op::Slice { starts: vec![0, col], steps: vec![1, 1], lens: vec![r, 1] };
    let v = imp.emit1(ctx, op, vec![rois], ctx.tmp("roi_edge"))?;
    let v = imp.reshape(ctx, v, vec![r, 1, 1], ctx.tmp("roi_edge_column"))?;
    let dtype = imp.ty(rois).dtype;
    let scale = scalar(imp, ctx, "spatial_scale", dtype, spec.scale);
    let v = bin(imp, ctx, BinaryOp::Mul, v, scale, ctx.tmp("roi_scaled"))?;
    let offset = scalar(imp, ctx, "offset", dtype, if spec.half_pixel { 0.5 } else { 0.0 });
    bin(imp, ctx, BinaryOp::Sub, v, offset, ctx.tmp("roi_shifted"))
}

/// Taps of one axis (`start` column `c0`, end column `c0 + 2`; `p` = 0 for height): indices
/// `[R, P, G, 2]` (i64, within the image) and weights `[R, P, G, 2]`.
fn axis(
    imp: &mut Importer,
    ctx: &NodeCtx,
    spec: &Spec,
    rois: ValueId,
    c0: usize,
    p: usize,
    len: usize,
) -> Result<(ValueId, ValueId)> {
    let dtype = imp.ty(rois).dtype;
    let c = |imp: &mut Importer, s: &str, v: f64| scalar(imp, ctx, s, dtype, v);
    let start = roi_edge(imp, ctx, spec, rois, c0)?;
    let end = roi_edge(imp, ctx, spec, rois, c0 + 2)?;
    let mut size = bin(imp, ctx, BinaryOp::Sub, end, start, ctx.tmp("roi_size"))?;
    if !spec.half_pixel {
        let one = c(imp, "one", 1.0);
        size = bin(imp, ctx, BinaryOp::Max, size, one, ctx.tmp("roi_size_at_least_1"))?;
    }
    let pooled = c(imp, "pooled", spec.pooled[p] as f64);
    let bin_size = bin(imp, ctx, BinaryOp::Div, size, pooled, ctx.tmp("bin_size"))?;
    let bins: Vec<f64> = (0..spec.pooled[p]).map(|i| i as f64).collect();
    let bins = imp.constant(ctx.tmp("bins"), kiln_ir::Tensor::from_f64(dtype, vec![1, bins.len(), 1], &bins));
    let samples: Vec<f64> = (0..spec.grid).map(|i| i as f64 + 0.5).collect();
    let samples = tap_const(imp, ctx, dtype, 3, &samples, "samples");
    let grid = c(imp, "grid", spec.grid as f64);
    let a = bin(imp, ctx, BinaryOp::Mul, bins, bin_size, ctx.tmp("bin_start"))?;
    let a = bin(imp, ctx, BinaryOp::Add, start, a, ctx.tmp("bin_origin"))?;
    let b = bin(imp, ctx, BinaryOp::Mul, samples, bin_size, ctx.tmp("sample_offset"))?;
    let b = bin(imp, ctx, BinaryOp::Div, b, grid, ctx.tmp("sample_offset_scaled"))?;
    let pos = bin(imp, ctx, BinaryOp::Add, a, b, ctx.tmp("sample_pos"))?;
    bilinear_taps(imp, ctx, pos, len)
}

/// The reference's per-axis `pre_calc` for positions `[R, P, G]`.
fn bilinear_taps(imp: &mut Importer, ctx: &NodeCtx, pos: ValueId, len: usize) -> Result<(ValueId, ValueId)> {
    let dtype = imp.ty(pos).dtype;
    let c = |imp: &mut Importer, s: &str, v: f64| scalar(imp, ctx, s, dtype, v);
    let (lo, hi, zero, last) =
        (c(imp, "min", -1.0), c(imp, "max", len as f64), c(imp, "zero", 0.0), c(imp, "last", len as f64 - 1.0));
    let below = bin(imp, ctx, BinaryOp::Less, pos, lo, ctx.tmp("below"))?;
    let above = bin(imp, ctx, BinaryOp::Greater, pos, hi, ctx.tmp("above"))?;
    let outside = bin(imp, ctx, BinaryOp::Or, below, above, ctx.tmp("outside"))?;
    let pos = bin(imp, ctx, BinaryOp::Max, pos, zero, ctx.tmp("pos_nonneg"))?;
    let low = un(imp, ctx, UnaryOp::Floor, pos, ctx.tmp("low"))?;
    let at_end = bin(imp, ctx, BinaryOp::GreaterOrEqual, low, last, ctx.tmp("at_end"))?;
    let low = select(imp, ctx, at_end, last, low, ctx.tmp("low_capped"))?;
    let one = c(imp, "one", 1.0);
    let next = bin(imp, ctx, BinaryOp::Add, low, one, ctx.tmp("next"))?;
    let high = select(imp, ctx, at_end, last, next, ctx.tmp("high"))?;
    let pos = select(imp, ctx, at_end, low, pos, ctx.tmp("pos_capped"))?;
    let l = bin(imp, ctx, BinaryOp::Sub, pos, low, ctx.tmp("l"))?;
    let h = bin(imp, ctx, BinaryOp::Sub, one, l, ctx.tmp("h"))?;
    let pair = |imp: &mut Importer, a: ValueId, b: ValueId, name: &str| -> Result<ValueId> {
        let shape = [imp.shape(a), vec![1]].concat();
        let a = imp.reshape(ctx, a, shape.clone(), ctx.tmp("pair_a"))?;
        let b = imp.reshape(ctx, b, shape, ctx.tmp("pair_b"))?;
        imp.emit1(ctx, Op::Concat { axis: 3 }, vec![a, b], ctx.tmp(name))
    };
    let weights = pair(imp, h, l, "weights")?;
    let taps = pair(imp, low, high, "taps")?;
    let shape = [imp.shape(outside), vec![1]].concat();
    let outside = imp.reshape(ctx, outside, shape, ctx.tmp("outside_column"))?;
    let weights = select(imp, ctx, outside, zero, weights, ctx.tmp("weights_inside"))?;
    let taps = select(imp, ctx, outside, zero, taps, ctx.tmp("taps_inside"))?;
    let clip = UnaryOp::Clip { min: 0.0.into(), max: (len.saturating_sub(1) as f32).into() };
    let taps = un(imp, ctx, clip, taps, ctx.tmp("taps_clamped"))?;
    Ok((cast(imp, ctx, taps, DType::I64, ctx.tmp("tap_index"))?, weights))
}

/// `[R, PH, PW, GH, GW, 2, 2, C]` -> `[R, PH, PW, C]`: mean over samples of the corner sums, or
/// the max of every weighted corner.
fn pool(imp: &mut Importer, ctx: &NodeCtx, spec: &Spec, weighted: ValueId) -> Result<ValueId> {
    let axes = vec![3, 4, 5, 6];
    if spec.max_mode {
        return imp.emit1(
            ctx,
            Op::Reduce { kind: ReduceKind::Max, axes, keepdims: false },
            vec![weighted],
            ctx.tmp("max"),
        );
    }
    let sum =
        imp.emit1(ctx, Op::Reduce { kind: ReduceKind::Sum, axes, keepdims: false }, vec![weighted], ctx.tmp("sum"))?;
    let count = scalar(imp, ctx, "count", imp.ty(sum).dtype, (spec.grid * spec.grid).max(1) as f64);
    bin(imp, ctx, BinaryOp::Div, sum, count, ctx.tmp("mean"))
}
