//! In-IR sampling of one resized axis, the fallback for axes whose table would not fit the
//! stack budget ([`super::table::MAX_TABLE_BYTES`], e.g. outputs thousands of pixels wide).
//!
//! It computes, from the output position, exactly what [`super::taps`] computes in Rust: the
//! same source-coordinate formula with the same f64 operations in the same order (so nearest
//! ties and extrapolation bounds agree bit for bit), `b = ceil(x) - 1` and the ratio, the
//! nearest / linear / cubic weights in f64, exclude_outside renormalisation, clamping, and
//! only then the f32 weights. Floor is done by `fcvt_to_sint_sat` and a correction instead of
//! `crate::math::floor`, which is f32-only: f64 keeps the reference's coordinates, and the
//! conversion never needs a libcall or SSE4.1. Coordinates are bounded (checked at compile time
//! in [`super::taps`]), so the conversion is exact. The work is per output position of that
//! axis only, hoisted out of the inner loops when the axis is not innermost.

use cranelift_codegen::ir::{condcodes::FloatCC, condcodes::IntCC, types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{CoordMode, NearestMode, ResizeAttrs, ResizeMode};

/// Everything the sampling of one axis depends on.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub mode: ResizeMode,
    pub coord: CoordMode,
    pub scale: f64,
    pub input: usize,
    pub out: usize,
    pub roi: (f32, f32),
    pub cubic_a: f64,
    pub exclude_outside: bool,
    pub in_stride: i64,
}

impl Params {
    /// The parameters of `axis` of an input extent `input` with byte stride `in_stride`.
    pub fn of(a: &ResizeAttrs, axis: usize, input: usize, in_stride: i64) -> Params {
        let r = a.sizes.len();
        let tf = a.coord == CoordMode::TfCropAndResize;
        Params {
            mode: a.mode,
            coord: a.coord,
            scale: a.scales[axis].into(),
            input,
            out: a.sizes[axis],
            roi: if tf { (a.roi[axis].into(), a.roi[r + axis].into()) } else { (0.0, 1.0) },
            cubic_a: a.cubic_coeff_a.get() as f64,
            exclude_outside: a.exclude_outside,
            in_stride,
        }
    }
}

/// The sampling of one output position: byte offsets (`i64`, clamped into the input), f32
/// weights, and whether the position is extrapolated (an `i8` condition; always false outside
/// tf_crop_and_resize).
pub struct Sample {
    pub offs: Vec<Value>,
    pub ws: Vec<Value>,
    pub extrapolated: Value,
}

fn f64c(b: &mut FunctionBuilder, v: f64) -> Value {
    b.ins().f64const(v)
}

/// The source coordinate of output `o` (an `i64`), as `kiln_ir::eval::resize::source_coord`.
fn coordinate(b: &mut FunctionBuilder, p: &Params, o: Value) -> (Value, Value) {
    let y = b.ins().fcvt_from_sint(types::F64, o);
    let input = p.input as f64;
    let out_w = p.scale * input;
    let no = b.ins().iconst(types::I8, 0);
    let half_pixel = |b: &mut FunctionBuilder| {
        let h = f64c(b, 0.5);
        let t = b.ins().fadd(y, h);
        let s = f64c(b, p.scale);
        b.ins().fdiv(t, s)
    };
    let x = match p.coord {
        CoordMode::AlignCorners if out_w == 1.0 => f64c(b, 0.0),
        CoordMode::AlignCorners => {
            let (c1, c2) = (f64c(b, input - 1.0), f64c(b, out_w - 1.0));
            let t = b.ins().fmul(y, c1);
            b.ins().fdiv(t, c2)
        }
        CoordMode::Asymmetric => {
            let s = f64c(b, p.scale);
            b.ins().fdiv(y, s)
        }
        CoordMode::TfCropAndResize => return tf_coordinate(b, p, y),
        CoordMode::PytorchHalfPixel if out_w == 1.0 => f64c(b, -0.5),
        CoordMode::PytorchHalfPixel | CoordMode::HalfPixel => {
            let t = half_pixel(b);
            let h = f64c(b, 0.5);
            b.ins().fsub(t, h)
        }
        CoordMode::HalfPixelSymmetric => {
            let adjustment = p.out as f64 / out_w;
            let offset = f64c(b, input / 2.0 * (1.0 - adjustment));
            let t = half_pixel(b);
            let t = b.ins().fadd(offset, t);
            let h = f64c(b, 0.5);
            b.ins().fsub(t, h)
        }
    };
    (x, no)
}

fn tf_coordinate(b: &mut FunctionBuilder, p: &Params, y: Value) -> (Value, Value) {
    let input = p.input as f64;
    let out_w = p.scale * input;
    let span = p.roi.1 - p.roi.0;
    let start = f64c(b, (p.roi.0 * (p.input as f32 - 1.0)) as f64);
    let x = if out_w == 1.0 {
        f64c(b, (span * (p.input as f32 - 1.0) / 2.0) as f64)
    } else {
        let (s, c1, c2) = (f64c(b, span as f64), f64c(b, input - 1.0), f64c(b, out_w - 1.0));
        let t = b.ins().fmul(y, s);
        let t = b.ins().fmul(t, c1);
        b.ins().fdiv(t, c2)
    };
    let x = b.ins().fadd(x, start);
    let (zero, last) = (f64c(b, 0.0), f64c(b, input - 1.0));
    let below = b.ins().fcmp(FloatCC::LessThan, x, zero);
    let above = b.ins().fcmp(FloatCC::GreaterThan, x, last);
    (x, b.ins().bor(below, above))
}

/// `b = ceil(x) - 1` (as `i64`) and the ratio `x - b` in (0, 1] (as f64), for bounded `x`.
fn base_ratio(b: &mut FunctionBuilder, x: Value) -> (Value, Value) {
    let t = b.ins().fcvt_to_sint_sat(types::I64, x);
    let tf = b.ins().fcvt_from_sint(types::F64, t);
    let over = b.ins().fcmp(FloatCC::GreaterThan, tf, x);
    let over = b.ins().uextend(types::I64, over);
    let fl = b.ins().isub(t, over);
    let ff = b.ins().fcvt_from_sint(types::F64, fl);
    let exact = b.ins().fcmp(FloatCC::Equal, x, ff);
    let exact64 = b.ins().uextend(types::I64, exact);
    let base = b.ins().isub(fl, exact64);
    let frac = b.ins().fsub(x, ff);
    let one = f64c(b, 1.0);
    (base, b.ins().select(exact, one, frac))
}

/// The f64 weights of the taps starting at `base + shift` for ratio `r`.
fn weights(b: &mut FunctionBuilder, p: &Params, r: Value) -> (i64, Vec<Value>) {
    let one = f64c(b, 1.0);
    match p.mode {
        ResizeMode::Nearest(m) => {
            let pick_second = nearest_second(b, m, r);
            let zero = f64c(b, 0.0);
            let w0 = b.ins().select(pick_second, zero, one);
            let w1 = b.ins().select(pick_second, one, zero);
            (0, vec![w0, w1])
        }
        ResizeMode::Linear => (0, vec![b.ins().fsub(one, r), r]),
        ResizeMode::Cubic => {
            let s = b.ins().fsub(one, r);
            let r1 = b.ins().fadd(r, one);
            let s1 = b.ins().fadd(s, one);
            let (outer_r, inner_r) = (cubic_outer(b, p.cubic_a, r1), cubic_inner(b, p.cubic_a, r));
            let (inner_s, outer_s) = (cubic_inner(b, p.cubic_a, s), cubic_outer(b, p.cubic_a, s1));
            (-1, vec![outer_r, inner_r, inner_s, outer_s])
        }
    }
}

/// `r == 1 || rule(r)`: whether nearest picks the second tap.
fn nearest_second(b: &mut FunctionBuilder, m: NearestMode, r: Value) -> Value {
    let (one, half) = (f64c(b, 1.0), f64c(b, 0.5));
    let is_one = b.ins().fcmp(FloatCC::Equal, r, one);
    let rule = match m {
        NearestMode::RoundPreferFloor => b.ins().fcmp(FloatCC::GreaterThan, r, half),
        NearestMode::RoundPreferCeil => b.ins().fcmp(FloatCC::GreaterThanOrEqual, r, half),
        NearestMode::Floor => b.ins().iconst(types::I8, 0),
        NearestMode::Ceil => b.ins().iconst(types::I8, 1),
    };
    b.ins().bor(is_one, rule)
}

/// `((a*t - 5a)*t + 8a)*t - 4a` for `t` in [1, 2].
fn cubic_outer(b: &mut FunctionBuilder, a: f64, t: Value) -> Value {
    let (ca, c5, c8, c4) = (f64c(b, a), f64c(b, 5.0 * a), f64c(b, 8.0 * a), f64c(b, 4.0 * a));
    let v = b.ins().fmul(ca, t);
    let v = b.ins().fsub(v, c5);
    let v = b.ins().fmul(v, t);
    let v = b.ins().fadd(v, c8);
    let v = b.ins().fmul(v, t);
    b.ins().fsub(v, c4)
}

/// `((a+2)*t - (a+3))*t*t + 1` for `t` in [0, 1].
fn cubic_inner(b: &mut FunctionBuilder, a: f64, t: Value) -> Value {
    let (c2, c3, one) = (f64c(b, a + 2.0), f64c(b, a + 3.0), f64c(b, 1.0));
    let v = b.ins().fmul(c2, t);
    let v = b.ins().fsub(v, c3);
    let v = b.ins().fmul(v, t);
    let v = b.ins().fmul(v, t);
    b.ins().fadd(v, one)
}

/// The sampling of output position `o` (an `i64`) of the axis of `p`.
pub fn sample(b: &mut FunctionBuilder, p: &Params, o: Value) -> Sample {
    let (x, extrapolated) = coordinate(b, p, o);
    let (base, r) = base_ratio(b, x);
    let (shift, mut ws) = weights(b, p, r);
    let first = b.ins().iadd_imm_s(base, shift);
    let idx: Vec<Value> = (0..ws.len()).map(|j| b.ins().iadd_imm_s(first, j as i64)).collect();
    if p.exclude_outside {
        exclude_outside(b, p, &idx, &mut ws);
    }
    let last = p.input.saturating_sub(1) as i64;
    let offs = idx
        .iter()
        .map(|&i| {
            let (zero, hi) = (b.ins().iconst(types::I64, 0), b.ins().iconst(types::I64, last));
            let c = b.ins().smax(i, zero);
            let c = b.ins().smin(c, hi);
            b.ins().imul_imm_s(c, p.in_stride)
        })
        .collect();
    let ws = ws.into_iter().map(|w| b.ins().fdemote(types::F32, w)).collect();
    Sample { offs, ws, extrapolated }
}

/// Zeroes the weights of indices outside the input and divides by the remaining sum (1 when
/// nothing remains), as the reference.
fn exclude_outside(b: &mut FunctionBuilder, p: &Params, idx: &[Value], ws: &mut [Value]) {
    let zero = f64c(b, 0.0);
    for (w, &i) in ws.iter_mut().zip(idx) {
        let below = b.ins().icmp_imm_s(IntCC::SignedLessThan, i, 0);
        let above = b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, i, p.input as i64);
        let out = b.ins().bor(below, above);
        *w = b.ins().select(out, zero, *w);
    }
    let mut sum = zero;
    for &w in ws.iter() {
        sum = b.ins().fadd(sum, w);
    }
    let is_zero = b.ins().fcmp(FloatCC::Equal, sum, zero);
    let one = f64c(b, 1.0);
    let sum = b.ins().select(is_zero, one, sum);
    for w in ws.iter_mut() {
        *w = b.ins().fdiv(*w, sum);
    }
}
