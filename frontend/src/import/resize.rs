//! Resize (opset 10: scales input, asymmetric coordinates; 11+: roi/scales/sizes inputs and the
//! transformation attributes; 18+: `axes` and `keep_aspect_ratio_policy`) and Upsample (scales
//! attribute in opset 7-8, input in 9), both to the IR's `Resize` with full-rank scales and sizes.
//! Scales are stored in f64 because that is what the reference's coordinate transform uses: given
//! f32 scales widened exactly, or `out / in` in f64 when the model gives sizes.
//! `antialias = 1` (opset 18+) goes to `resize_antialias` with the attributes built here.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{CoordMode, Ieee32, Ieee64, NearestMode, Op, ResizeAttrs, ResizeMode, Tensor, ValueId};
use std::sync::Arc;

fn mode(ctx: &NodeCtx, nearest: NearestMode) -> Result<ResizeMode> {
    Ok(match ctx.string_or("mode", "nearest")?.as_str() {
        "nearest" => ResizeMode::Nearest(nearest),
        "linear" | "bilinear" => ResizeMode::Linear,
        "cubic" => ResizeMode::Cubic,
        other => return Err(ctx.attr_err("mode", format!("unknown mode '{other}'"))),
    })
}

fn coord_mode(ctx: &NodeCtx) -> Result<CoordMode> {
    let attr = "coordinate_transformation_mode";
    Ok(match ctx.string_or(attr, "half_pixel")?.as_str() {
        "half_pixel" => CoordMode::HalfPixel,
        "half_pixel_symmetric" => CoordMode::HalfPixelSymmetric,
        "pytorch_half_pixel" => CoordMode::PytorchHalfPixel,
        "align_corners" => CoordMode::AlignCorners,
        "asymmetric" => CoordMode::Asymmetric,
        "tf_crop_and_resize" => CoordMode::TfCropAndResize,
        other => return Err(ctx.attr_err(attr, format!("'{other}' is not supported"))),
    })
}

fn nearest_mode(ctx: &NodeCtx) -> Result<NearestMode> {
    Ok(match ctx.string_or("nearest_mode", "round_prefer_floor")?.as_str() {
        "round_prefer_floor" => NearestMode::RoundPreferFloor,
        "round_prefer_ceil" => NearestMode::RoundPreferCeil,
        "floor" => NearestMode::Floor,
        "ceil" => NearestMode::Ceil,
        other => return Err(ctx.attr_err("nearest_mode", format!("unknown mode '{other}'"))),
    })
}

/// Attributes with the opset-10/Upsample conventions: asymmetric coordinates, nearest = floor.
/// FIXME: onnxruntime rounds up instead of down when such a nearest resize downsamples.
fn legacy_attrs(ctx: &NodeCtx, input: &[usize], scales: Vec<f64>) -> Result<ResizeAttrs> {
    if scales.len() != input.len() {
        return Err(ctx.attr_err("scales", format!("has {} entries for rank {}", scales.len(), input.len())));
    }
    let sizes = sizes_from_scales(ctx, input, &scales)?;
    Ok(ResizeAttrs {
        mode: mode(ctx, NearestMode::Floor)?,
        coord: CoordMode::Asymmetric,
        scales: scales.into_iter().map(Ieee64::new).collect(),
        sizes,
        roi: Vec::new(),
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    })
}

fn sizes_from_scales(ctx: &NodeCtx, input: &[usize], scales: &[f64]) -> Result<Vec<usize>> {
    input
        .iter()
        .zip(scales)
        .map(|(&d, &s)| {
            let out = (d as f64 * s).floor();
            if !(s > 0.0 && out.is_finite() && out < (1u64 << 40) as f64) {
                return Err(ctx.attr_err("scales", format!("scale {s} is not usable")));
            }
            Ok(out as usize)
        })
        .collect()
}

pub fn upsample(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let scales = if ctx.opset >= 9 {
        f32_widened(&imp.const_input(ctx, 1)?.to_f64_vec())
    } else {
        let given = ctx.floats("scales")?.ok_or_else(|| ctx.attr_err("scales", "missing"))?;
        given.into_iter().map(f64::from).collect()
    };
    let attrs = legacy_attrs(ctx, &imp.shape(x), scales)?;
    Ok(vec![imp.emit1(ctx, Op::Resize(attrs), vec![x], ctx.out(0))?])
}

/// Scales as ONNX means them: f32 values (rounded to f32 should the tensor hold wider ones),
/// widened exactly to the f64 the IR stores.
fn f32_widened(given: &[f64]) -> Vec<f64> {
    given.iter().map(|&s| s as f32 as f64).collect()
}

/// An optional input that may also be given as an empty tensor meaning "absent".
fn nonempty(t: Option<Arc<Tensor>>) -> Option<Arc<Tensor>> {
    t.filter(|t| t.numel() > 0)
}

pub fn resize(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let input = imp.shape(x);
    if ctx.opset < 11 {
        let scales = f32_widened(&imp.const_input(ctx, 1)?.to_f64_vec());
        let attrs = legacy_attrs(ctx, &input, scales)?;
        return Ok(vec![imp.emit1(ctx, Op::Resize(attrs), vec![x], ctx.out(0))?]);
    }
    let antialias = ctx.bool_or("antialias", false)?;
    let rank = input.len();
    let axes: Vec<usize> = match ctx.ints("axes")? {
        Some(a) => a.iter().map(|&a| ctx.axis("axes", a, rank)).collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    let roi = nonempty(imp.opt_const(ctx, 1)?);
    let scales = nonempty(imp.opt_const(ctx, 2)?);
    let sizes = nonempty(imp.opt_const(ctx, 3)?);
    let (scales, sizes) = match (scales, sizes) {
        (Some(s), None) => scales_given(ctx, &input, &axes, &s)?,
        (None, Some(s)) => sizes_given(ctx, &input, &axes, &s)?,
        _ => return Err(ctx.err("exactly one of scales and sizes must be given")),
    };
    let coord = coord_mode(ctx)?;
    let roi = match (coord, roi) {
        (CoordMode::TfCropAndResize, Some(r)) => full_roi(ctx, rank, &axes, &r.to_f64_vec())?,
        (CoordMode::TfCropAndResize, None) => return Err(ctx.input_err(1, "tf_crop_and_resize needs roi")),
        _ => Vec::new(),
    };
    let attrs = ResizeAttrs {
        mode: mode(ctx, nearest_mode(ctx)?)?,
        coord,
        scales: scales.into_iter().map(Ieee64::new).collect(),
        sizes,
        roi: roi.into_iter().map(Ieee32::new).collect(),
        cubic_coeff_a: ctx.float_or("cubic_coeff_a", -0.75)?.into(),
        exclude_outside: ctx.bool_or("exclude_outside", false)?,
        extrapolation_value: ctx.float_or("extrapolation_value", 0.0)?.into(),
    };
    if antialias {
        return super::resize_antialias::import(imp, ctx, x, attrs, &axes);
    }
    Ok(vec![imp.emit1(ctx, Op::Resize(attrs), vec![x], ctx.out(0))?])
}

fn scales_given(ctx: &NodeCtx, input: &[usize], axes: &[usize], s: &Tensor) -> Result<(Vec<f64>, Vec<usize>)> {
    let given = s.to_f64_vec();
    if given.len() != axes.len() {
        return Err(ctx.input_err(2, format!("has {} scales for {} axes", given.len(), axes.len())));
    }
    let mut scales = vec![1f64; input.len()];
    for (&a, v) in axes.iter().zip(f32_widened(&given)) {
        scales[a] = v;
    }
    let sizes = sizes_from_scales(ctx, input, &scales)?;
    Ok((scales, sizes))
}

fn sizes_given(ctx: &NodeCtx, input: &[usize], axes: &[usize], s: &Tensor) -> Result<(Vec<f64>, Vec<usize>)> {
    let given = s.to_i64_vec();
    if given.len() != axes.len() || given.iter().any(|&d| d < 0) {
        return Err(ctx.input_err(3, format!("sizes {given:?} do not fit {} axes", axes.len())));
    }
    let mut sizes = input.to_vec();
    let policy = ctx.string_or("keep_aspect_ratio_policy", "stretch")?;
    let ratio = |a: usize, d: i64| d as f64 / input[a].max(1) as f64;
    let ratios = axes.iter().zip(&given).map(|(&a, &d)| ratio(a, d));
    let keep = match policy.as_str() {
        "stretch" => None,
        "not_larger" => Some(ratios.fold(f64::INFINITY, f64::min)),
        "not_smaller" => Some(ratios.fold(0.0, f64::max)),
        other => return Err(ctx.attr_err("keep_aspect_ratio_policy", format!("unknown policy '{other}'"))),
    };
    let mut scales = vec![1f64; input.len()];
    for (&a, &d) in axes.iter().zip(&given) {
        let scale = keep.unwrap_or_else(|| ratio(a, d));
        sizes[a] = if keep.is_some() { (scale * input[a] as f64 + 0.5).floor() as usize } else { d as usize };
        scales[a] = scale;
    }
    Ok((scales, sizes))
}

fn full_roi(ctx: &NodeCtx, rank: usize, axes: &[usize], roi: &[f64]) -> Result<Vec<f32>> {
    let k = axes.len();
    if roi.len() != 2 * k {
        return Err(ctx.input_err(1, format!("roi has {} entries for {k} axes", roi.len())));
    }
    let mut full: Vec<f32> = [vec![0.0; rank], vec![1.0; rank]].concat();
    for (j, &a) in axes.iter().enumerate() {
        (full[a], full[a + rank]) = (roi[j] as f32, roi[j + k] as f32);
    }
    Ok(full)
}
