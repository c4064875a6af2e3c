//! Antialiased Resize (opset 18+ `antialias = 1`, linear and cubic modes), as banded constant
//! filters built from existing IR ops: per resized axis a `Gather` of the taps, a `Mul` by
//! their weights and a `ReduceSum` over the taps.
//!
//! Semantics, from the ONNX reference (`op_resize.py`): axes are resized one after another (in
//! `axes` order; axes with scale ~1, unchanged size and trivial roi are skipped). Output `o`
//! maps to a source coordinate `x` as in plain Resize ([`source_coord`]); with `s = min(scale,
//! 1)` the filter is stretched by `1/s`: linear reads `n = 2 - 2*start` inputs,
//! `start = floor(-1/s) + 1`, weighted `clip(1 - |(start + k - r) s|, 0, 1)`; cubic reads
//! `n = 2 - 2*start`, `start = floor(-2/s) + 1`, weighted by the Keys kernel of
//! `cubic_coeff_a` at `(start + k - r) s`; `r` in (0, 1] is the ratio of `x` to `ceil(x) - 1`.
//! The weights are divided by their sum; the inputs read are the `n` nearest to `x` (ties to
//! the smaller index, exactly as the reference's padded-window arithmetic), clamped into the
//! input (edge padding). `exclude_outside` zeroes the weights of outside indices and
//! renormalises (a zero sum stays zero); `tf_crop_and_resize` positions outside the input take
//! `extrapolation_value`. With `s = 1` these are exactly the plain linear and cubic weights,
//! so a node that downsamples no axis is imported as the plain IR `Resize` and keeps its
//! native kernel. (One measure-zero difference remains there: for a coordinate a hair above an
//! integer, whose `x + n/2` rounds to an integer, the reference's window arithmetic picks the
//! window one tap to the left; this module reproduces that, the IR `Resize` does not.)
//! `antialias` with `nearest` is an error, as in the reference and onnxruntime; so is an
//! `axes` list naming an axis twice (the reference's transpose fails on it).
//!
//! Why banded Gather/Mul/ReduceSum rather than a dense `[out, in]` weight matrix applied with
//! `MatMul` (equally static, equally op-free): the dense form costs `in` multiply-adds per
//! output where the filter has `n ~ 2/s` (linear) or `4/s` (cubic) taps, so a 1024 -> 224
//! image axis does ~100x the work; and it multiplies every input, so one infinite pixel turns
//! a whole output row into NaN where the reference (which only reads the `n` taps) does not.
//! The banded form reads exactly what the reference reads, in the same order, and its tables
//! hold `out * n` entries (about twice the input axis), bounded by `MAX_TABLE_ELEMENTS`. Its
//! cost is the gathered intermediate, `n` times the axis' output (55 MB for a linear
//! 3x1024x1024 -> 224x224): a fused banded kernel would avoid it, but needs a new IR op.
//!
//! Numbers: weights are computed in f64 as the reference and stored in the compute type: the
//! input's for f32 and f64 (f16/bf16 arrive widened to f32 by `half.rs`); integer inputs are
//! cast to f64 and the result is rounded half to even and cast back saturating, the
//! reference's `saturate_cast`. Bool and narrow types are refused.

use super::build::{bin, cast, check_table, select, un, MAX_TABLE_ELEMENTS};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::eval::resize::{source_coord, MAX_COORD};
use kiln_ir::{BinaryOp, CoordMode, DType, Op, ReduceKind, ResizeAttrs, ResizeMode, Tensor, UnaryOp, ValueId};

/// The interpolation filter being stretched.
#[derive(Clone, Copy, Debug)]
enum Filter {
    Linear,
    /// Keys cubic with coefficient `a`.
    Cubic(f64),
}

impl Filter {
    /// Half-width of the unstretched filter.
    fn reach(self) -> f64 {
        match self {
            Filter::Linear => 1.0,
            Filter::Cubic(_) => 2.0,
        }
    }
    /// The unnormalised filter value at distance `d` (already scaled).
    fn at(self, d: f64) -> f64 {
        match self {
            Filter::Linear => (1.0 - d.abs()).clamp(0.0, 1.0),
            Filter::Cubic(a) => keys(a, d.abs()),
        }
    }
}

/// The reference's `compute_coeff` of `_cubic_coeffs_antialias`.
fn keys(a: f64, x: f64) -> f64 {
    let (x2, x3) = (x * x, x * x * x);
    if x <= 1.0 {
        (a + 2.0) * x3 - (a + 3.0) * x2 + 1.0
    } else if x < 2.0 {
        a * x3 - 5.0 * a * x2 + 8.0 * a * x - 4.0 * a
    } else {
        0.0
    }
}

/// What one resized axis reads: `n` taps per output position.
struct AxisTaps {
    n: usize,
    /// `out * n` input indices, clamped into the input.
    indices: Vec<i64>,
    /// `out * n` weights.
    weights: Vec<f64>,
    /// Per output position, the extrapolation value when tf_crop_and_resize puts it outside.
    fills: Vec<Option<f64>>,
}

impl AxisTaps {
    fn with_capacity(n: usize, out: usize) -> Self {
        let (indices, weights) = (Vec::with_capacity(out * n), Vec::with_capacity(out * n));
        AxisTaps { n, indices, weights, fills: Vec::with_capacity(out) }
    }
    /// An output position reading nothing, set to `value`.
    fn push_fill(&mut self, value: f64) {
        self.indices.extend(std::iter::repeat_n(0, self.n));
        self.weights.extend(std::iter::repeat_n(0.0, self.n));
        self.fills.push(Some(value));
    }
    /// An output position reading `first, first+1, ..` (clamped into the input) with weights `w`.
    fn push_mix(&mut self, first: i64, w: Vec<f64>, input: usize) {
        self.indices.extend((0..self.n as i64).map(|k| (first + k).clamp(0, input as i64 - 1)));
        self.weights.extend(w);
        self.fills.push(None);
    }
}

/// Imports a Resize node with `antialias = 1`; `attrs` are the full-rank attributes the plain
/// import built and `order` the axes in the order the node lists them.
pub fn import(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    attrs: ResizeAttrs,
    order: &[usize],
) -> Result<Vec<ValueId>> {
    let filter = match attrs.mode {
        ResizeMode::Linear => Filter::Linear,
        ResizeMode::Cubic => Filter::Cubic(attrs.cubic_coeff_a.get() as f64),
        ResizeMode::Nearest(_) => {
            return Err(ctx.attr_err("antialias", "is only defined for the linear and cubic modes"))
        }
    };
    if let Some(ax) = order.iter().enumerate().find_map(|(i, a)| order[..i].contains(a).then_some(*a)) {
        return Err(ctx.attr_err("axes", format!("lists axis {ax} twice")));
    }
    let input = imp.shape(x);
    let resized: Vec<usize> = order.iter().copied().filter(|&ax| !is_identity(&attrs, ax, input[ax])).collect();
    if !resized.iter().any(|&ax| attrs.scales[ax] < 1.0.into()) {
        return Ok(vec![imp.emit1(ctx, Op::Resize(attrs), vec![x], ctx.out(0))?]);
    }
    let dtype = imp.ty(x).dtype;
    let compute = compute_dtype(ctx, dtype)?;
    let mut cur = if compute == dtype { x } else { cast(imp, ctx, x, compute, ctx.tmp("aa_wide"))? };
    for (k, &ax) in resized.iter().enumerate() {
        let taps = axis_taps(ctx, &attrs, filter, ax, input[ax])?;
        let done = k + 1 == resized.len() && compute == dtype;
        let name = if done { ctx.out(0) } else { ctx.tmp(&format!("aa_axis{ax}")) };
        cur = apply_axis(imp, ctx, cur, ax, &taps, compute, name)?;
    }
    if compute != dtype {
        let rounded = un(imp, ctx, UnaryOp::Round, cur, ctx.tmp("aa_round"))?;
        cur = cast(imp, ctx, rounded, dtype, ctx.out(0))?;
    }
    Ok(vec![cur])
}

/// The reference's identity test: scale close to 1, unchanged size, trivial roi.
fn is_identity(a: &ResizeAttrs, ax: usize, input: usize) -> bool {
    let close = |p: f64, q: f64| (p - q).abs() <= 1e-9 * p.abs().max(q.abs());
    let r = a.sizes.len();
    let roi_trivial = a.coord != CoordMode::TfCropAndResize
        || (close(a.roi[ax].get() as f64, 0.0) && close(a.roi[r + ax].get() as f64, 1.0));
    close(a.scales[ax].into(), 1.0) && a.sizes[ax] == input && roi_trivial
}

/// The type the filter computes in: f32/f64 as given, integers in f64.
fn compute_dtype(ctx: &NodeCtx, dtype: DType) -> Result<DType> {
    match dtype {
        DType::F32 | DType::F64 => Ok(dtype),
        d if d.is_int() => Ok(DType::F64),
        d => Err(ctx.input_err(0, format!("has dtype {}; antialiased Resize needs a float or integer type", d.name()))),
    }
}

/// First relative tap `start` and tap count `n` of the filter stretched for `scale`.
fn tap_window(ctx: &NodeCtx, filter: Filter, scale: f64, ax: usize) -> Result<(i64, usize)> {
    let s = scale.min(1.0);
    let start = (-filter.reach() / s).floor() + 1.0;
    let n = 2.0 - 2.0 * start;
    if !(s > 0.0 && n.is_finite() && n >= 2.0 && n <= MAX_TABLE_ELEMENTS as f64) {
        return Err(ctx.attr_err("antialias", format!("axis {ax}: scale {scale} needs too wide a filter")));
    }
    Ok((start as i64, n as usize))
}

/// Normalised weights of taps `start..start+n` around a coordinate of ratio `r`.
fn window_weights(filter: Filter, r: f64, scale: f64, start: i64, n: usize) -> Vec<f64> {
    let s = scale.min(1.0);
    let w: Vec<f64> = (0..n).map(|k| filter.at(((start + k as i64) as f64 - r) * s)).collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|v| v / sum).collect()
}

/// Ratio of `x` to its base `ceil(x) - 1`, in (0, 1].
fn ratio(x: f64) -> f64 {
    let f = x.floor();
    if x == f {
        1.0
    } else {
        x - f
    }
}

/// First input index of the `n` nearest to `x` (n even), ties to the smaller index, computed as
/// the reference does in edge-padded coordinates.
fn first_index(x: f64, n: usize) -> i64 {
    let half = (n / 2) as i64;
    let padded = x + half as f64;
    let p = padded.floor();
    let offset = if padded - p == 0.0 { -half } else { 1 - half };
    p as i64 + offset - half
}

fn axis_taps(ctx: &NodeCtx, a: &ResizeAttrs, filter: Filter, ax: usize, input: usize) -> Result<AxisTaps> {
    let (out, scale) = (a.sizes[ax], a.scales[ax]);
    if input == 0 && out > 0 {
        return Err(ctx.input_err(0, format!("axis {ax} is empty but resizes to {out}")));
    }
    // An empty output reads nothing (and its scale may be 0, which has no filter width).
    let (start, n) = if out == 0 { (0, 2) } else { tap_window(ctx, filter, scale.into(), ax)? };
    check_table(ctx, "antialias tap table", out.checked_mul(n))?;
    let r = a.sizes.len();
    let roi = if a.coord == CoordMode::TfCropAndResize { (a.roi[ax].get(), a.roi[r + ax].get()) } else { (0.0, 1.0) };
    let mut taps = AxisTaps::with_capacity(n, out);
    for o in 0..out {
        let (x, extrapolated) = source_coord(a.coord, o, scale.into(), input, out, roi);
        if extrapolated {
            taps.push_fill(a.extrapolation_value.get() as f64);
            continue;
        }
        if !x.is_finite() || x.abs() > MAX_COORD {
            let attr = "coordinate_transformation_mode";
            return Err(ctx.attr_err(attr, format!("axis {ax}: source coordinate {x} of output {o} is out of range")));
        }
        let first = first_index(x, n);
        let mut w = window_weights(filter, ratio(x), scale.into(), start, n);
        if a.exclude_outside {
            exclude_outside(&mut w, first, input);
        }
        taps.push_mix(first, w, input);
    }
    Ok(taps)
}

/// Zeroes the weights of indices outside `[0, input)` and renormalises (a zero sum stays zero).
fn exclude_outside(w: &mut [f64], first: i64, input: usize) {
    for (k, wk) in w.iter_mut().enumerate() {
        let i = first + k as i64;
        if i < 0 || i >= input as i64 {
            *wk = 0.0;
        }
    }
    let sum: f64 = w.iter().sum();
    let sum = if sum == 0.0 { 1.0 } else { sum };
    w.iter_mut().for_each(|v| *v /= sum);
}

/// `sum_k w[o, k] * x[.., idx[o, k], ..]` along `ax`, then the extrapolation fills.
fn apply_axis(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    ax: usize,
    taps: &AxisTaps,
    dtype: DType,
    name: String,
) -> Result<ValueId> {
    let rank = imp.shape(x).len();
    let (out, n) = (taps.fills.len(), taps.n);
    let trailing = vec![1; rank - 1 - ax];
    let idx = imp.constant(ctx.tmp(&format!("aa_idx{ax}")), Tensor::from_vec(vec![out, n], taps.indices.clone()));
    let gathered = imp.emit1(ctx, Op::Gather { axis: ax }, vec![x, idx], ctx.tmp(&format!("aa_taps{ax}")))?;
    let w_shape = [vec![out, n], trailing.clone()].concat();
    let w = imp.constant(ctx.tmp(&format!("aa_w{ax}")), Tensor::from_f64(dtype, w_shape, &taps.weights));
    let weighted = bin(imp, ctx, BinaryOp::Mul, gathered, w, ctx.tmp(&format!("aa_weighted{ax}")))?;
    let any_fill = taps.fills.iter().any(Option::is_some);
    let sum_name = if any_fill { ctx.tmp(&format!("aa_sum{ax}")) } else { name.clone() };
    let reduce = Op::Reduce { kind: ReduceKind::Sum, axes: vec![ax + 1], keepdims: false };
    let summed = imp.emit1(ctx, reduce, vec![weighted], sum_name)?;
    if !any_fill {
        return Ok(summed);
    }
    let f_shape = [vec![out], trailing].concat();
    let mask: Vec<bool> = taps.fills.iter().map(Option::is_some).collect();
    let mask = imp.constant(ctx.tmp(&format!("aa_fill_mask{ax}")), Tensor::from_vec(f_shape.clone(), mask));
    let values: Vec<f64> = taps.fills.iter().map(|f| f.unwrap_or(0.0)).collect();
    let values = imp.constant(ctx.tmp(&format!("aa_fill{ax}")), Tensor::from_f64(dtype, f_shape, &values));
    select(imp, ctx, mask, values, summed, name)
}
