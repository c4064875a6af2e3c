//! Resize: nearest (all four nearest modes), n-linear and cubic interpolation, with every
//! coordinate transformation mode, transcribed from the ONNX reference (`op_resize.py`).
//!
//! Resize is separable: axes are resized one after another, in order, each output position
//! `o` mapping to a source coordinate `x` ([`source_coord`], in f64 as the reference; roi
//! arithmetic in f32 as numpy does with an f32 roi). With `b = ceil(x) - 1` and ratio
//! `r = x - b` in (0, 1], nearest and linear read `b, b+1`, cubic reads `b-1 ..= b+2`;
//! indices are clamped to the input (edge padding), and with `exclude_outside` the weights of
//! outside indices are zeroed and the rest renormalised. `tf_crop_and_resize` positions outside
//! the input take `extrapolation_value`. An axis with scale ~1, unchanged size and trivial roi
//! is skipped, as in the reference.
//!
//! Nearest is done by index selection, exactly, for every dtype. Linear and cubic compute in
//! f64 and convert back with the reference's `saturate_cast` (integers round half to even and
//! clamp; floats clamp to the finite range).
//!
//! The scale of each axis is `ResizeAttrs::scales` as stored, already in f64: the given f32
//! scales widened, or `out / in` computed in f64 when ONNX gave sizes, exactly what the
//! reference uses in either case. onnxruntime differs from the reference in three
//! places, and we follow the reference: `align_corners` with non-integral `scale * in` (the
//! reference divides by `scale * in - 1`, onnxruntime by `out - 1`), `tf_crop_and_resize` in
//! nearest mode (onnxruntime ignores the roi), and integer linear output (onnxruntime does not
//! round half to even).

use super::movement::for_each_index;
use super::num::{slice_of, tensor_of, CastElem, Scalar};
use crate::op::{CoordMode, NearestMode, ResizeAttrs, ResizeMode};
use crate::tensor::{strides_of, Tensor};

/// The source coordinate of output `o` on one axis, and whether it is extrapolated
/// (`tf_crop_and_resize` only).
pub fn source_coord(coord: CoordMode, o: usize, scale: f64, input: usize, out: usize, roi: (f32, f32)) -> (f64, bool) {
    let y = o as f64;
    let out_w = scale * input as f64;
    let x = match coord {
        CoordMode::AlignCorners if out_w == 1.0 => 0.0,
        CoordMode::AlignCorners => y * (input as f64 - 1.0) / (out_w - 1.0),
        CoordMode::Asymmetric => y / scale,
        CoordMode::TfCropAndResize => {
            let span = roi.1 - roi.0; // f32, as numpy computes it
            let start = (roi.0 * (input as f32 - 1.0)) as f64;
            let x = if out_w == 1.0 {
                (span * (input as f32 - 1.0) / 2.0) as f64
            } else {
                y * span as f64 * (input as f64 - 1.0) / (out_w - 1.0)
            } + start;
            return (x, x < 0.0 || x > input as f64 - 1.0);
        }
        CoordMode::PytorchHalfPixel if out_w == 1.0 => -0.5,
        CoordMode::PytorchHalfPixel | CoordMode::HalfPixel => (y + 0.5) / scale - 0.5,
        CoordMode::HalfPixelSymmetric => {
            let adjustment = out as f64 / out_w;
            let offset = input as f64 / 2.0 * (1.0 - adjustment);
            offset + (y + 0.5) / scale - 0.5
        }
    };
    (x, false)
}

/// Source coordinates beyond this magnitude are rejected: they only arise from absurd scales or
/// rois, and would overflow index arithmetic.
pub const MAX_COORD: f64 = 1e9;

/// What one output position of one axis reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Tap {
    /// Weighted input positions (clamped into the input).
    Mix(Vec<(usize, f64)>),
    /// A constant: the extrapolation value, or 0 when exclude_outside removed every weight.
    Fill(f64),
}

/// Base index `b = ceil(x) - 1` and ratio `x - b` in (0, 1].
fn base_ratio(x: f64) -> (i64, f64) {
    let f = x.floor();
    if x == f {
        (f as i64 - 1, 1.0)
    } else {
        (f as i64, x - f)
    }
}

fn nearest_weights(mode: NearestMode, r: f64) -> [f64; 2] {
    let pick_second = match mode {
        _ if r == 1.0 => true,
        NearestMode::RoundPreferFloor => r > 0.5,
        NearestMode::RoundPreferCeil => r >= 0.5,
        NearestMode::Floor => false,
        NearestMode::Ceil => true,
    };
    if pick_second {
        [0.0, 1.0]
    } else {
        [1.0, 0.0]
    }
}

fn cubic_weights(a: f64, r: f64) -> [f64; 4] {
    let s = 1.0 - r;
    [
        ((a * (r + 1.0) - 5.0 * a) * (r + 1.0) + 8.0 * a) * (r + 1.0) - 4.0 * a,
        ((a + 2.0) * r - (a + 3.0)) * r * r + 1.0,
        ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0,
        ((a * (s + 1.0) - 5.0 * a) * (s + 1.0) + 8.0 * a) * (s + 1.0) - 4.0 * a,
    ]
}

/// The taps of every output position of `axis`, `Ok(None)` when the axis is left unchanged; an
/// error (a message) for source coordinates too large to index with. This sampling plan is the
/// single definition of Resize's per-position rules: the backend compiles the same plan.
pub fn axis_taps(a: &ResizeAttrs, axis: usize, input: usize) -> Result<Option<Vec<Tap>>, String> {
    let r = a.sizes.len();
    let out = a.sizes[axis];
    let scale = a.scales[axis].get();
    let tf = a.coord == CoordMode::TfCropAndResize;
    let roi = if tf { (a.roi[axis].get(), a.roi[r + axis].get()) } else { (0.0, 1.0) };
    let close = |p: f64, q: f64| (p - q).abs() <= 1e-9 * p.abs().max(q.abs());
    if close(scale, 1.0) && out == input && close(roi.0 as f64, 0.0) && close(roi.1 as f64, 1.0) {
        return Ok(None);
    }
    let taps = (0..out)
        .map(|o| {
            let (x, extrapolated) = source_coord(a.coord, o, scale, input, out, roi);
            if extrapolated {
                return Ok(Tap::Fill(a.extrapolation_value.get() as f64));
            }
            if !x.is_finite() || x.abs() > MAX_COORD {
                return Err(format!("axis {axis}: source coordinate {x} of output {o} is out of range"));
            }
            let (b, ratio) = base_ratio(x);
            let (first, w): (i64, Vec<f64>) = match a.mode {
                ResizeMode::Nearest(m) => (b, nearest_weights(m, ratio).to_vec()),
                ResizeMode::Linear => (b, vec![1.0 - ratio, ratio]),
                ResizeMode::Cubic => (b - 1, cubic_weights(a.cubic_coeff_a.get() as f64, ratio).to_vec()),
            };
            Ok(weigh(first, w, input, a.exclude_outside))
        })
        .collect::<Result<Vec<Tap>, String>>()?;
    Ok(Some(taps))
}

/// Taps reading `first, first+1, ..` with weights `w`, clamped into `[0, input)`.
fn weigh(first: i64, mut w: Vec<f64>, input: usize, exclude_outside: bool) -> Tap {
    let idx = |i: usize| first + i as i64;
    if exclude_outside {
        for (i, wi) in w.iter_mut().enumerate() {
            if idx(i) < 0 || idx(i) >= input as i64 {
                *wi = 0.0;
            }
        }
        let sum: f64 = w.iter().sum();
        let sum = if sum == 0.0 { 1.0 } else { sum };
        w.iter_mut().for_each(|wi| *wi /= sum);
    }
    let taps: Vec<(usize, f64)> =
        w.into_iter().enumerate().map(|(i, wi)| (idx(i).clamp(0, input as i64 - 1) as usize, wi)).collect();
    Tap::Mix(taps)
}

pub fn resize(a: &ResizeAttrs, x: &Tensor) -> Result<Tensor, String> {
    let taps: Vec<Option<Vec<Tap>>> =
        (0..x.shape().len()).map(|ax| axis_taps(a, ax, x.shape()[ax])).collect::<Result<_, _>>()?;
    match a.mode {
        ResizeMode::Nearest(_) => nearest(x, &taps, &a.sizes),
        _ => interpolate(x, &taps, &a.sizes),
    }
}

/// Nearest: every tap has one weight 1 (or is a fill), so the output copies one element; the
/// last resized axis that fills decides the fill value, as in the sequential reference.
fn nearest(x: &Tensor, taps: &[Option<Vec<Tap>>], sizes: &[usize]) -> Result<Tensor, String> {
    let st = strides_of(x.shape());
    let mut src: Vec<Result<usize, f64>> = Vec::with_capacity(sizes.iter().product());
    for_each_index(sizes, |pos| {
        let mut flat = 0usize;
        let mut fill = None;
        for (ax, t) in taps.iter().enumerate() {
            let p = match t.as_ref().map(|t| &t[pos[ax]]) {
                None => pos[ax],
                Some(Tap::Fill(v)) => {
                    fill = Some(*v);
                    0
                }
                Some(Tap::Mix(m)) => match m.iter().find(|(_, w)| *w != 0.0) {
                    Some(&(i, _)) => i,
                    None => {
                        fill = Some(0.0);
                        0
                    }
                },
            };
            flat += p * st[ax];
        }
        src.push(fill.map_or(Ok(flat), Err));
    });
    crate::for_all_dtypes!(x.dtype(), T => {
        let v = slice_of::<T>(x)?;
        let out: Vec<T> = src.iter().map(|s| match *s {
            Ok(i) => v[i],
            Err(f) => saturate::<T>(f),
        }).collect();
        tensor_of(sizes, out)
    })
}

/// Linear and cubic: separable passes in f64, one axis at a time.
fn interpolate(x: &Tensor, taps: &[Option<Vec<Tap>>], sizes: &[usize]) -> Result<Tensor, String> {
    let mut data = x.to_f64_vec();
    let mut shape = x.shape().to_vec();
    for (ax, t) in taps.iter().enumerate() {
        let Some(t) = t else { continue };
        let outer: usize = shape[..ax].iter().product();
        let inner: usize = shape[ax + 1..].iter().product();
        let len = shape[ax];
        let mut next = Vec::with_capacity(outer * t.len() * inner);
        for o in 0..outer {
            for tap in t {
                for i in 0..inner {
                    next.push(match tap {
                        Tap::Fill(v) => *v,
                        Tap::Mix(m) => m.iter().map(|&(j, w)| w * data[(o * len + j) * inner + i]).sum(),
                    });
                }
            }
        }
        data = next;
        shape[ax] = sizes[ax];
    }
    crate::for_all_dtypes!(x.dtype(), T => tensor_of(sizes, data.into_iter().map(saturate::<T>).collect::<Vec<T>>()))
}

/// The reference's `saturate_cast`: round half to even for integers, clamp to the finite range.
fn saturate<T: CastElem>(v: f64) -> T {
    let v = if T::DTYPE.is_int() { v.round_ties_even() } else { v };
    let (lo, hi) = match T::DTYPE {
        crate::DType::F32 => (f32::MIN as f64, f32::MAX as f64),
        crate::DType::F64 => (f64::MIN, f64::MAX),
        // Bool and the narrow storage types: Cast semantics (their range is not an f64 interval).
        d if d == crate::DType::Bool || d.is_narrow() => return T::from_scalar(Scalar::F(v)),
        _ => (T::from_scalar(Scalar::F(f64::NEG_INFINITY)).to_f64(), T::from_scalar(Scalar::F(f64::INFINITY)).to_f64()),
    };
    T::from_scalar(Scalar::F(if v.is_nan() { v } else { v.clamp(lo, hi) }))
}
