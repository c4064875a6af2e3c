//! Kernel family `pool`: MaxPool and AveragePool (f32), 1-D and 2-D, strides, dilations, pads,
//! `ceil_mode` (windows past the padded input are clipped) and `count_include_pad`.
//!
//! Each output reduces its unrolled window taps. A tap outside the input reads a clamped
//! in-range address and is replaced by a select (`-inf` for max, `0` for average), so no branch
//! is taken per tap. The average divisor is counted per axis at run time (in-bounds taps, or
//! taps inside the padded extent with `count_include_pad`) and multiplied, which is exact
//! because windows are separable. Columns whose taps all fall inside the input run four
//! outputs per f32x4 (a vector load at stride 1, a four-element gather otherwise); border
//! columns run the scalar path.
//!
//! Windows of more than [`MAX_UNROLLED_TAPS`] taps (global-style pools such as 60x80) would
//! unroll into code that takes seconds to compile; they run [`window_looped`] instead: loops over
//! the window's rows and columns with the accumulator in a Cranelift variable.
//!
//! Spatial rank 3 and above (f32), and max pooling on i8/u8 at any spatial rank, run the generic
//! N-D path [`emit_nd`]: nested loops over the output positions and over the window taps (one
//! loop per axis, nothing unrolled, so compile time does not grow with the window), the
//! accumulator in a Cranelift variable, each tap bounds-checked with a select, and the average
//! divisor counted in closed form per axis ([`axis_count`]). Integer max widens each element to
//! i32 (`smax`/`umax` on i32 lower on every target) with the type's minimum as the fill, and
//! narrows it back on store. The N-D f32 max fills with the lowest finite f32, as the reference
//! evaluator and onnxruntime give for a window entirely in the padding.

/// Largest window (kernel area) whose taps are unrolled.
pub const MAX_UNROLLED_TAPS: usize = 64;

use crate::emit::{addr, c64, load, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::loops::for_count;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, Op, PoolAttrs, PoolKind};

/// One spatial axis of the pooling window.
#[derive(Clone, Copy, Debug)]
struct Axis {
    input: usize,
    output: usize,
    k: usize,
    s: usize,
    d: usize,
    pad_begin: usize,
    pad_end: usize,
}

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    let Op::Pool(a) = &spec.op else { return Err(spec.unsupported("not a pool")) };
    let elem = match (spec.inputs[0].dtype, a.kind) {
        (DType::F32, _) => Elem::F32,
        (DType::I8, PoolKind::Max) => Elem::Int { signed: true },
        (DType::U8, PoolKind::Max) => Elem::Int { signed: false },
        (d, _) => return Err(spec.unsupported(format!("dtype {d} (f32, or i8/u8 for MaxPool)"))),
    };
    let (xs, ys) = (&spec.inputs[0].shape, &spec.outputs[0].shape);
    let sp = xs.len().saturating_sub(2);
    if sp == 0
        || ys.len() != xs.len()
        || a.kernel.len() != sp
        || a.strides.len() != sp
        || a.dilations.len() != sp
        || a.pads.len() != 2 * sp
    {
        return Err(spec.unsupported("pooling needs a spatial axis and one attribute entry per spatial axis"));
    }
    if a.kernel.iter().chain(&a.strides).chain(&a.dilations).any(|&v| v == 0) {
        return Err(spec.unsupported("attributes kernel_shape, strides and dilations must be >= 1"));
    }
    let axis = |i: usize| Axis {
        input: xs[2 + i],
        output: ys[2 + i],
        k: a.kernel[i],
        s: a.strides[i],
        d: a.dilations[i],
        pad_begin: a.pads[i],
        pad_end: a.pads[sp + i],
    };
    if sp > 2 || elem != Elem::F32 {
        let axes: Vec<Axis> = (0..sp).map(axis).collect();
        emit_nd(cx, a, elem, xs[0] * xs[1], &axes);
        return Ok(());
    }
    let unit = Axis { input: 1, output: 1, k: 1, s: 1, d: 1, pad_begin: 0, pad_end: 0 };
    let (h, w) = if sp == 2 { (axis(0), axis(1)) } else { (unit, axis(0)) };
    let planes = (xs[0] * xs[1]) as i64;
    let (x, y) = (cx.inputs[0], cx.outputs[0]);
    let attrs = a.clone();
    for_count(cx.b, 0, planes, 1, |b, p| {
        let xi = b.ins().imul_imm_s(p, (h.input * w.input) as i64);
        let xp = addr(b, x, xi, 4);
        let yi = b.ins().imul_imm_s(p, (h.output * w.output) as i64);
        let yp = addr(b, y, yi, 4);
        let (lo, hi) = crate::kernels::conv::direct::interior(w.output, w.input, w.k, w.s, w.d, w.pad_begin);
        let looped = h.k * w.k > MAX_UNROLLED_TAPS;
        let quads = if looped { 0 } else { ((hi - lo) / 4 * 4) as i64 };
        let (lo, mid) = (lo as i64, lo as i64 + quads);
        for_count(b, 0, h.output as i64, 1, |b, oh| {
            let o_row = b.ins().imul_imm_s(oh, w.output as i64);
            let scalar = |b: &mut FunctionBuilder, ow: Value| {
                let v = if looped {
                    window_looped(b, &attrs, xp, h, w, oh, ow)
                } else {
                    window(b, &attrs, xp, h, w, oh, ow)
                };
                let o = b.ins().iadd(o_row, ow);
                let po = addr(b, yp, o, 4);
                store(b, v, po, 0);
            };
            for_count(b, 0, lo, 1, scalar);
            for_count(b, lo, mid, 4, |b, ow| {
                let v = window_x4(b, &attrs, xp, h, w, oh, ow);
                let o = b.ins().iadd(o_row, ow);
                let po = addr(b, yp, o, 4);
                store(b, v, po, 0);
            });
            for_count(b, mid, w.output as i64, 1, scalar);
        });
    });
    Ok(())
}

/// The taps of one axis: (clamped index, in-bounds flag) per tap, and the divisor count.
fn taps(b: &mut FunctionBuilder, ax: Axis, o: Value, include_pad: bool) -> (Vec<(Value, Value)>, Value) {
    let start = b.ins().imul_imm_s(o, ax.s as i64);
    let start = b.ins().iadd_imm_s(start, -(ax.pad_begin as i64));
    let zero = c64(b, 0);
    let mut count = c64(b, 0);
    let mut out = Vec::with_capacity(ax.k);
    for t in 0..ax.k {
        let i = b.ins().iadd_imm_s(start, (t * ax.d) as i64);
        let ok = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, i, ax.input as i64);
        let counted = if include_pad {
            // Inside the padded extent [-pad_begin, input + pad_end): clipped ceil_mode taps are not.
            let padded = b.ins().iadd_imm_s(i, ax.pad_begin as i64);
            b.ins().icmp_imm_s(IntCC::UnsignedLessThan, padded, (ax.input + ax.pad_begin + ax.pad_end) as i64)
        } else {
            ok
        };
        let one = b.ins().uextend(types::I64, counted);
        count = b.ins().iadd(count, one);
        let clamped = b.ins().select(ok, i, zero);
        out.push((clamped, ok));
    }
    (out, count)
}

fn window(b: &mut FunctionBuilder, a: &PoolAttrs, xp: Value, h: Axis, w: Axis, oh: Value, ow: Value) -> Value {
    let (is_max, include_pad) = match a.kind {
        PoolKind::Max => (true, false),
        PoolKind::Avg { count_include_pad } => (false, count_include_pad),
    };
    let (rows, ch) = taps(b, h, oh, include_pad);
    let (cols, cw) = taps(b, w, ow, include_pad);
    let fill = b.ins().f32const(if is_max { f32::NEG_INFINITY } else { 0.0 });
    let mut acc = fill;
    for &(r, rok) in &rows {
        let row_off = b.ins().imul_imm_s(r, w.input as i64);
        for &(c, cok) in &cols {
            let idx = b.ins().iadd(row_off, c);
            let p = addr(b, xp, idx, 4);
            let v = load(b, types::F32, p, 0);
            let ok = b.ins().band(rok, cok);
            let v = b.ins().select(ok, v, fill);
            acc = if is_max { crate::math::max_or_nan_first(b, v, acc) } else { b.ins().fadd(acc, v) };
        }
    }
    if is_max {
        return acc;
    }
    let n = b.ins().imul(ch, cw);
    let nf = b.ins().fcvt_from_sint(types::F32, n);
    b.ins().fdiv(acc, nf)
}

/// Four consecutive interior outputs (every column tap in bounds) as one f32x4.
fn window_x4(b: &mut FunctionBuilder, a: &PoolAttrs, xp: Value, h: Axis, w: Axis, oh: Value, ow: Value) -> Value {
    let (is_max, include_pad) = match a.kind {
        PoolKind::Max => (true, false),
        PoolKind::Avg { count_include_pad } => (false, count_include_pad),
    };
    let (rows, ch) = taps(b, h, oh, include_pad);
    let fill = b.ins().f32const(if is_max { f32::NEG_INFINITY } else { 0.0 });
    let fill = b.ins().splat(types::F32X4, fill);
    let iw0 = b.ins().imul_imm_s(ow, w.s as i64);
    let iw0 = b.ins().iadd_imm_s(iw0, -(w.pad_begin as i64));
    let mut acc = fill;
    for &(r, rok) in &rows {
        let row_off = b.ins().imul_imm_s(r, w.input as i64);
        let row_off = b.ins().iadd(row_off, iw0);
        let p = addr(b, xp, row_off, 4);
        for t in 0..w.k {
            let at = (t * w.d * 4) as i64;
            let v = if w.s == 1 {
                load(b, types::F32X4, p, at)
            } else {
                let first = load(b, types::F32, p, at);
                let mut v = b.ins().splat(types::F32X4, first);
                for lane in 1..4u8 {
                    let s = load(b, types::F32, p, at + (lane as usize * w.s * 4) as i64);
                    v = b.ins().insertlane(v, s, lane);
                }
                v
            };
            let v = b.ins().select(rok, v, fill);
            acc = if is_max { crate::math::max_or_nan_first(b, v, acc) } else { b.ins().fadd(acc, v) };
        }
    }
    if is_max {
        return acc;
    }
    // Interior columns count all `k` taps, in bounds and inside the padded extent alike.
    let n = b.ins().imul_imm_s(ch, w.k as i64);
    let nf = b.ins().fcvt_from_sint(types::F32, n);
    let nv = b.ins().splat(types::F32X4, nf);
    b.ins().fdiv(acc, nv)
}

/// One output from loops over the window (for windows too large to unroll): each tap is
/// bounds-checked; out-of-input taps read a clamped address and are replaced by the fill value.
fn window_looped(b: &mut FunctionBuilder, a: &PoolAttrs, xp: Value, h: Axis, w: Axis, oh: Value, ow: Value) -> Value {
    let (is_max, include_pad) = match a.kind {
        PoolKind::Max => (true, false),
        PoolKind::Avg { count_include_pad } => (false, count_include_pad),
    };
    let fill = b.ins().f32const(if is_max { f32::NEG_INFINITY } else { 0.0 });
    let acc = b.declare_var(types::F32);
    b.def_var(acc, fill);
    let row0 = axis_start(b, h, oh);
    let col0 = axis_start(b, w, ow);
    for_count(b, 0, h.k as i64, 1, |b, ty| {
        let (r, rok) = tap_at(b, h, row0, ty);
        let row_off = b.ins().imul_imm_s(r, w.input as i64);
        for_count(b, 0, w.k as i64, 1, |b, tx| {
            let (c, cok) = tap_at(b, w, col0, tx);
            let idx = b.ins().iadd(row_off, c);
            let p = addr(b, xp, idx, 4);
            let v = load(b, types::F32, p, 0);
            let ok = b.ins().band(rok, cok);
            let v = b.ins().select(ok, v, fill);
            let prev = b.use_var(acc);
            let next = if is_max { crate::math::max_or_nan_first(b, v, prev) } else { b.ins().fadd(prev, v) };
            b.def_var(acc, next);
        });
    });
    let total = b.use_var(acc);
    if is_max {
        return total;
    }
    let ch = axis_count(b, h, oh, include_pad);
    let cw = axis_count(b, w, ow, include_pad);
    let n = b.ins().imul(ch, cw);
    let nf = b.ins().fcvt_from_sint(types::F32, n);
    b.ins().fdiv(total, nf)
}

/// The input index of tap 0 of output `o` along `ax` (may be negative).
fn axis_start(b: &mut FunctionBuilder, ax: Axis, o: Value) -> Value {
    let start = b.ins().imul_imm_s(o, ax.s as i64);
    b.ins().iadd_imm_s(start, -(ax.pad_begin as i64))
}

/// Tap `t` (a run-time value) from `start`: its clamped index and in-bounds flag.
fn tap_at(b: &mut FunctionBuilder, ax: Axis, start: Value, t: Value) -> (Value, Value) {
    let off = b.ins().imul_imm_s(t, ax.d as i64);
    let i = b.ins().iadd(start, off);
    let ok = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, i, ax.input as i64);
    let zero = c64(b, 0);
    (b.ins().select(ok, i, zero), ok)
}

/// The average divisor along one axis, computed in closed form: taps inside the input (or inside
/// the padded extent with `count_include_pad`).
fn axis_count(b: &mut FunctionBuilder, ax: Axis, o: Value, include_pad: bool) -> Value {
    let start = axis_start(b, ax, o);
    let (lo, hi) =
        if include_pad { (-(ax.pad_begin as i64), (ax.input + ax.pad_end) as i64) } else { (0, ax.input as i64) };
    // Count t in [0, k) with lo <= start + t*d < hi.
    let d = ax.d as i64;
    let k = ax.k as i64;
    let lo_v = c64(b, lo);
    let hi_v = c64(b, hi);
    let below = b.ins().isub(lo_v, start); // first t: ceil(below / d) when below > 0
    let zero = c64(b, 0);
    let below_pos = b.ins().smax(below, zero);
    let t_first = b.ins().iadd_imm_s(below_pos, d - 1);
    let t_first = b.ins().sdiv_imm_s(t_first, d);
    let room = b.ins().isub(hi_v, start); // last t: ceil(room / d) exclusive when room > 0
    let room_pos = b.ins().smax(room, zero);
    let t_end = b.ins().iadd_imm_s(room_pos, d - 1);
    let t_end = b.ins().sdiv_imm_s(t_end, d);
    let k_v = c64(b, k);
    let t_end = b.ins().smin(t_end, k_v);
    let n = b.ins().isub(t_end, t_first);
    b.ins().smax(n, zero)
}

/// The element type of the N-D path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem {
    F32,
    /// i8 (`signed`) or u8, max pooling only; accumulated as i32.
    Int {
        signed: bool,
    },
}

impl Elem {
    fn size(self) -> i64 {
        match self {
            Elem::F32 => 4,
            Elem::Int { .. } => 1,
        }
    }
}

/// What every output of the N-D path needs: the plane pointers, the axes and the reduction.
struct NdPlane<'a> {
    attrs: &'a PoolAttrs,
    elem: Elem,
    axes: &'a [Axis],
    xp: Value,
    yp: Value,
}

/// Any spatial rank: loops over planes, then over every output position (one loop per axis).
fn emit_nd(cx: &mut KernelCtx, attrs: &PoolAttrs, elem: Elem, planes: usize, axes: &[Axis]) {
    let in_plane: usize = axes.iter().map(|ax| ax.input).product();
    let out_plane: usize = axes.iter().map(|ax| ax.output).product();
    let (x, y) = (cx.inputs[0], cx.outputs[0]);
    for_count(cx.b, 0, planes as i64, 1, |b, p| {
        let xi = b.ins().imul_imm_s(p, in_plane as i64);
        let xp = addr(b, x, xi, elem.size());
        let yi = b.ins().imul_imm_s(p, out_plane as i64);
        let yp = addr(b, y, yi, elem.size());
        let plane = NdPlane { attrs, elem, axes, xp, yp };
        output_loops(b, &plane, &mut Vec::with_capacity(axes.len()));
    });
}

/// Loops over output axis `outs.len()`; at full depth computes and stores one output.
fn output_loops(b: &mut FunctionBuilder, pl: &NdPlane, outs: &mut Vec<Value>) {
    let depth = outs.len();
    if depth == pl.axes.len() {
        let v = window_nd(b, pl, outs);
        let mut o = c64(b, 0);
        for (ax, &oi) in pl.axes.iter().zip(outs.iter()) {
            let scaled = b.ins().imul_imm_s(o, ax.output as i64);
            o = b.ins().iadd(scaled, oi);
        }
        let po = addr(b, pl.yp, o, pl.elem.size());
        let v = match pl.elem {
            Elem::F32 => v,
            Elem::Int { .. } => b.ins().ireduce(types::I8, v),
        };
        store(b, v, po, 0);
        return;
    }
    for_count(b, 0, pl.axes[depth].output as i64, 1, |b, o| {
        outs.push(o);
        output_loops(b, pl, outs);
        outs.pop();
    });
}

/// The reduction's fill (identity) and the value type it accumulates in.
fn nd_fill(b: &mut FunctionBuilder, pl: &NdPlane) -> Value {
    match (pl.elem, pl.attrs.kind) {
        (Elem::F32, PoolKind::Max) => b.ins().f32const(f32::MIN),
        (Elem::F32, PoolKind::Avg { .. }) => b.ins().f32const(0.0),
        (Elem::Int { signed: true }, _) => b.ins().iconst(types::I32, i64::from(i8::MIN)),
        (Elem::Int { signed: false }, _) => b.ins().iconst(types::I32, 0),
    }
}

/// One output at position `outs`: loops over the window taps of every axis.
fn window_nd(b: &mut FunctionBuilder, pl: &NdPlane, outs: &[Value]) -> Value {
    let fill = nd_fill(b, pl);
    let acc = b.declare_var(b.func.dfg.value_type(fill));
    b.def_var(acc, fill);
    let starts: Vec<Value> = pl.axes.iter().zip(outs).map(|(&ax, &o)| axis_start(b, ax, o)).collect();
    let zero = c64(b, 0);
    let all_in = b.ins().icmp_imm_s(IntCC::Equal, zero, 0);
    tap_loops(b, pl, &starts, 0, zero, all_in, fill, acc);
    let total = b.use_var(acc);
    match pl.attrs.kind {
        PoolKind::Max => total,
        PoolKind::Avg { count_include_pad } => {
            let mut n = c64(b, 1);
            for (&ax, &o) in pl.axes.iter().zip(outs) {
                let c = axis_count(b, ax, o, count_include_pad);
                n = b.ins().imul(n, c);
            }
            let nf = b.ins().fcvt_from_sint(types::F32, n);
            b.ins().fdiv(total, nf)
        }
    }
}

/// Loops over the taps of axis `depth`, carrying the flat input index and the in-bounds flag;
/// at full depth folds the tap into `acc`.
#[allow(clippy::too_many_arguments)]
fn tap_loops(
    b: &mut FunctionBuilder,
    pl: &NdPlane,
    starts: &[Value],
    depth: usize,
    flat: Value,
    ok: Value,
    fill: Value,
    acc: cranelift_frontend::Variable,
) {
    if depth == pl.axes.len() {
        let p = addr(b, pl.xp, flat, pl.elem.size());
        let v = match pl.elem {
            Elem::F32 => load(b, types::F32, p, 0),
            Elem::Int { signed: true } => b.ins().sload8(types::I32, crate::emit::flags(), p, 0),
            Elem::Int { signed: false } => b.ins().uload8(types::I32, crate::emit::flags(), p, 0),
        };
        let v = b.ins().select(ok, v, fill);
        let prev = b.use_var(acc);
        let next = match (pl.elem, pl.attrs.kind) {
            (Elem::F32, PoolKind::Max) => crate::math::max_or_nan_first(b, v, prev),
            (Elem::F32, PoolKind::Avg { .. }) => b.ins().fadd(prev, v),
            (Elem::Int { signed: true }, _) => b.ins().smax(v, prev),
            (Elem::Int { signed: false }, _) => b.ins().umax(v, prev),
        };
        b.def_var(acc, next);
        return;
    }
    let ax = pl.axes[depth];
    for_count(b, 0, ax.k as i64, 1, |b, t| {
        let (i, tap_ok) = tap_at(b, ax, starts[depth], t);
        let scaled = b.ins().imul_imm_s(flat, ax.input as i64);
        let flat = b.ins().iadd(scaled, i);
        let ok = b.ins().band(ok, tap_ok);
        tap_loops(b, pl, starts, depth + 1, flat, ok, fill, acc);
    });
}
