//! Compile-time sampling plan of Resize: for every resized axis and output position, which input
//! positions are read with which weights, or which constant is produced.
//!
//! Everything here depends only on shapes and attributes, so it is computed once in Rust, in
//! f64 exactly as the reference evaluator (`kiln_ir::eval::resize`, itself a transcription of
//! ONNX `op_resize.py`), and only the results (indices, f32 weights) reach the generated code.
//! The per-position rules (base `ceil(x) - 1`, ratio in (0, 1], clamping, exclude_outside
//! renormalisation, nearest tie rules, cubic kernel) are repeated here because the reference
//! keeps them private; `source_coord` is shared.

use kiln_ir::eval::resize::source_coord;
use kiln_ir::{CoordMode, NearestMode, ResizeAttrs, ResizeMode};

/// Source coordinates beyond this magnitude are rejected (they only arise from absurd scales or
/// rois and would overflow the index arithmetic).
const MAX_COORD: f64 = 1e9;

/// What one output position of one axis reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Tap {
    /// Weighted input positions, already clamped into the input.
    Mix(Vec<(usize, f64)>),
    /// A constant: the extrapolation value (tf_crop_and_resize outside the input).
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

/// Taps reading `first, first+1, ..` with weights `w`, clamped into `[0, input)`.
/// `input` must be non-zero.
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
    let last = input.saturating_sub(1) as i64;
    Tap::Mix(w.into_iter().enumerate().map(|(i, wi)| (idx(i).clamp(0, last) as usize, wi)).collect())
}

/// The taps of every output position of `axis`, `Ok(None)` when the reference leaves the axis
/// unchanged. Errors (as messages) on coordinates too large to index with.
pub fn axis_taps(a: &ResizeAttrs, axis: usize, input: usize) -> Result<Option<Vec<Tap>>, String> {
    let r = a.sizes.len();
    let out = a.sizes[axis];
    let scale = a.scales[axis];
    let tf = a.coord == CoordMode::TfCropAndResize;
    let roi = if tf { (a.roi[axis], a.roi[r + axis]) } else { (0.0, 1.0) };
    let close = |p: f64, q: f64| (p - q).abs() <= 1e-9 * p.abs().max(q.abs());
    if close(scale, 1.0) && out == input && close(roi.0 as f64, 0.0) && close(roi.1 as f64, 1.0) {
        return Ok(None);
    }
    let mut taps = Vec::with_capacity(out);
    for o in 0..out {
        let (x, extrapolated) = source_coord(a.coord, o, scale, input, out, roi);
        if extrapolated {
            taps.push(Tap::Fill(a.extrapolation_value as f64));
            continue;
        }
        if !x.is_finite() || x.abs() > MAX_COORD {
            return Err(format!("axis {axis}: source coordinate {x} of output {o} is out of range"));
        }
        let (b, ratio) = base_ratio(x);
        let (first, w): (i64, Vec<f64>) = match a.mode {
            ResizeMode::Nearest(m) => (b, nearest_weights(m, ratio).to_vec()),
            ResizeMode::Linear => (b, vec![1.0 - ratio, ratio]),
            ResizeMode::Cubic => (b - 1, cubic_weights(a.cubic_coeff_a as f64, ratio).to_vec()),
        };
        taps.push(weigh(first, w, input, a.exclude_outside));
    }
    Ok(Some(taps))
}

/// The one input position a nearest tap copies, or the constant it produces (the
/// extrapolation value, or 0 when exclude_outside zeroed the picked weight), as the reference.
pub fn nearest_pick(t: &Tap) -> Result<usize, f64> {
    match t {
        Tap::Fill(v) => Err(*v),
        Tap::Mix(m) => m.iter().find(|(_, w)| *w != 0.0).map(|&(i, _)| i).ok_or(0.0),
    }
}
