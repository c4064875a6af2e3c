//! Kernel family `softmax`: Softmax and LogSoftmax (f32 and f64) along any axis.
//!
//! The input is viewed as `[outer, A, inner]`. Each softmax runs three passes over its `A`
//! elements: the maximum, the sum of `exp(x - max)` (Softmax stores the exponentials on the way),
//! then the normalisation (`e / sum`, or `x - max - log(sum)`). When `inner == 1` the `A`
//! elements are contiguous and the passes are vectorised along them (f32x4 plus a scalar tail,
//! horizontal reductions at the end); otherwise four neighbouring softmaxes along `inner` run
//! side by side in the lanes of f32x4, with scalar columns for the tail. `exp`/`log` are the
//! libcall-free [`crate::math`] versions.
//!
//! f64 (rare on edge CPUs; FlexAttention and Attention in double precision) runs the scalar
//! strided path one column at a time (for `inner == 1` that is a plain scalar loop): the max,
//! sums and normalisation are f64, while `exp`/`log` go through f32 as the f64 elementwise
//! kernels do (FIXME: f64-accurate versions; today about 1e-7 relative).

use crate::emit::{addr, load, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::split_at_axis;
use crate::loops::for_count;
use crate::math::max_or_nan_first;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, Op};

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    let (axis, log) = match spec.op {
        Op::Softmax { axis } => (axis, false),
        Op::LogSoftmax { axis } => (axis, true),
        _ => return Err(spec.unsupported("not a softmax")),
    };
    let shape = &spec.inputs[0].shape;
    let dtype = spec.inputs[0].dtype;
    if dtype != DType::F32 && dtype != DType::F64 {
        return Err(spec.unsupported(format!("dtype {dtype} (only f32 and f64)")));
    }
    let size = dtype.size() as i64;
    let (outer, len, inner) = split_at_axis(spec, shape, axis)?;
    let (x, y) = (cx.inputs[0], cx.outputs[0]);
    let g = Geometry { len, inner, log };
    for_count(cx.b, 0, outer as i64, 1, |b, o| {
        let base = b.ins().imul_imm_s(o, (len * inner) as i64);
        let xo = addr(b, x, base, size);
        let yo = addr(b, y, base, size);
        if dtype == DType::F64 {
            for_count(b, 0, inner as i64, 1, |b, i| strided(b, g, xo, yo, i, types::F64));
        } else if inner == 1 {
            contiguous(b, g, xo, yo);
        } else {
            let i4 = (inner / 4 * 4) as i64;
            for_count(b, 0, i4, 4, |b, i| strided(b, g, xo, yo, i, types::F32X4));
            for_count(b, i4, inner as i64, 1, |b, i| strided(b, g, xo, yo, i, types::F32));
        }
    });
    Ok(())
}

#[derive(Clone, Copy)]
struct Geometry {
    len: usize,
    inner: usize,
    log: bool,
}

fn splat_of(b: &mut FunctionBuilder, ty: Type, v: f32) -> Value {
    crate::math::fconst(b, ty, f64::from(v))
}

/// `e^x`; f64 through f32 (see the module doc).
fn exp_of(b: &mut FunctionBuilder, x: Value) -> Value {
    through_f32(b, x, crate::math::exp)
}

/// `ln x`; f64 through f32 (see the module doc).
fn log_of(b: &mut FunctionBuilder, x: Value) -> Value {
    through_f32(b, x, crate::math::log)
}

fn through_f32(b: &mut FunctionBuilder, x: Value, f: fn(&mut FunctionBuilder, Value) -> Value) -> Value {
    if b.func.dfg.value_type(x) != types::F64 {
        return f(b, x);
    }
    let narrow = b.ins().fdemote(types::F32, x);
    let y = f(b, narrow);
    b.ins().fpromote(types::F64, y)
}

/// Softmaxes of lanes `i..i+lanes` of the inner axis, stepping `inner` elements along A.
fn strided(b: &mut FunctionBuilder, g: Geometry, x: Value, y: Value, i: Value, ty: Type) {
    let lane = i64::from(ty.lane_type().bytes());
    let stride = g.inner as i64 * lane;
    let xi = addr(b, x, i, lane);
    let yi = addr(b, y, i, lane);
    let mx = b.declare_var(ty);
    let init = splat_of(b, ty, f32::NEG_INFINITY);
    b.def_var(mx, init);
    for_count(b, 0, g.len as i64, 1, |b, a| {
        let p = addr(b, xi, a, stride);
        let v = load(b, ty, p, 0);
        let m = b.use_var(mx);
        let m = max_or_nan_first(b, v, m);
        b.def_var(mx, m);
    });
    let m = b.use_var(mx);
    let sum = b.declare_var(ty);
    let zero = splat_of(b, ty, 0.0);
    b.def_var(sum, zero);
    for_count(b, 0, g.len as i64, 1, |b, a| {
        let p = addr(b, xi, a, stride);
        let v = load(b, ty, p, 0);
        let d = b.ins().fsub(v, m);
        let e = exp_of(b, d);
        if !g.log {
            let q = addr(b, yi, a, stride);
            store(b, e, q, 0);
        }
        let s = b.use_var(sum);
        let s = b.ins().fadd(s, e);
        b.def_var(sum, s);
    });
    let s = b.use_var(sum);
    let (scale, shift) = finishers(b, g.log, m, s, ty);
    for_count(b, 0, g.len as i64, 1, |b, a| {
        let src = if g.log { xi } else { yi };
        let p = addr(b, src, a, stride);
        let q = addr(b, yi, a, stride);
        let v = load(b, ty, p, 0);
        let r = if g.log { b.ins().fsub(v, shift) } else { b.ins().fmul(v, scale) };
        store(b, r, q, 0);
    });
}

/// For Softmax `1/sum` (scale); for LogSoftmax `max + log(sum)` (shift).
fn finishers(b: &mut FunctionBuilder, log: bool, m: Value, s: Value, ty: Type) -> (Value, Value) {
    if log {
        let l = log_of(b, s);
        let shift = b.ins().fadd(m, l);
        (shift, shift)
    } else {
        let one = splat_of(b, ty, 1.0);
        let scale = b.ins().fdiv(one, s);
        (scale, scale)
    }
}

/// One softmax over `len` contiguous elements, vectorised along them.
fn contiguous(b: &mut FunctionBuilder, g: Geometry, x: Value, y: Value) {
    let n4 = (g.len / 4 * 4) as i64;
    let v4 = types::F32X4;
    // Pass 1: maximum.
    let mxv = b.declare_var(v4);
    let init = splat_of(b, v4, f32::NEG_INFINITY);
    b.def_var(mxv, init);
    for_count(b, 0, n4, 4, |b, a| {
        let p = addr(b, x, a, 4);
        let v = load(b, v4, p, 0);
        let m = b.use_var(mxv);
        let m = max_or_nan_first(b, v, m);
        b.def_var(mxv, m);
    });
    let mv = b.use_var(mxv);
    let mut m = b.ins().extractlane(mv, 0);
    for l in 1..4u8 {
        let e = b.ins().extractlane(mv, l);
        m = max_or_nan_first(b, e, m);
    }
    for a in n4..g.len as i64 {
        let v = load(b, types::F32, x, a * 4);
        m = max_or_nan_first(b, v, m);
    }
    let m4 = b.ins().splat(v4, m);
    // Pass 2: sum of exponentials.
    let sumv = b.declare_var(v4);
    let zero = splat_of(b, v4, 0.0);
    b.def_var(sumv, zero);
    for_count(b, 0, n4, 4, |b, a| {
        let p = addr(b, x, a, 4);
        let v = load(b, v4, p, 0);
        let d = b.ins().fsub(v, m4);
        let e = exp_of(b, d);
        if !g.log {
            let q = addr(b, y, a, 4);
            store(b, e, q, 0);
        }
        let s = b.use_var(sumv);
        let s = b.ins().fadd(s, e);
        b.def_var(sumv, s);
    });
    let sv = b.use_var(sumv);
    let mut s = crate::emit::hsum(b, sv);
    for a in n4..g.len as i64 {
        let v = load(b, types::F32, x, a * 4);
        let d = b.ins().fsub(v, m);
        let e = exp_of(b, d);
        if !g.log {
            store(b, e, y, a * 4);
        }
        s = b.ins().fadd(s, e);
    }
    // Pass 3: normalise.
    let (k, _) = finishers(b, g.log, m, s, types::F32);
    let k4 = b.ins().splat(v4, k);
    let src = if g.log { x } else { y };
    for_count(b, 0, n4, 4, |b, a| {
        let p = addr(b, src, a, 4);
        let q = addr(b, y, a, 4);
        let v = load(b, v4, p, 0);
        let r = if g.log { b.ins().fsub(v, k4) } else { b.ins().fmul(v, k4) };
        store(b, r, q, 0);
    });
    for a in n4..g.len as i64 {
        let v = load(b, types::F32, src, a * 4);
        let r = if g.log { b.ins().fsub(v, k) } else { b.ins().fmul(v, k) };
        store(b, r, y, a * 4);
    }
}
