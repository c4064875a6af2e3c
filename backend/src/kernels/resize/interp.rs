//! Linear and cubic resize of f32 tensors: the separable interpolation evaluated directly as
//! the product of the per-axis taps (2 per resized axis for linear, 4 for cubic).
//!
//! Each resized axis has a table with one record per output position:
//! `[offset_0..offset_k (i32 bytes), weight_0..weight_k (f32)]`, plus `[weight_sum, constant]`
//! when some position of the axis is a constant (tf_crop_and_resize extrapolation). A constant
//! position has zero weights; the reference's sequential passes then amount to
//! `value = sum(w * prev) + c` per axis, so the loops carry the accumulated constant
//! `C' = C * weight_sum + c`. The loops multiply the weights of the enclosing axes once per
//! outer iteration, so the innermost body is only loads and multiply-adds. When the innermost
//! axis is not resized it is contiguous in input and output and is vectorised with `f32x4`
//! (scalar tail); otherwise it is a gather and stays scalar. Axes too long for a table produce
//! the same record values in the loop ([`super::computed`]).
//!
//! Known difference: a constant position multiplies the input by a zero weight, so an inf/NaN
//! input next to an extrapolated position gives NaN where the reference gives the constant.

use super::computed;
use super::table::{self, Table, Word};
use super::taps::Tap;
use super::{resized_axes, Axis, Job, Resized, Source};
use crate::emit::flags;
use crate::error::Result;
use crate::kernel::KernelCtx;
use crate::loops::for_count;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;

struct Plan {
    axes: Vec<Axis>,
    tables: Vec<Option<Resized>>,
    /// Taps per resized axis.
    k: usize,
    has_fma: bool,
    /// The constant of extrapolated positions (computed axes).
    extrapolation: f32,
    /// Vectorise the innermost axis (not resized, at least 4 long).
    vector_inner: bool,
}

/// What the loops carry: the element pointers, the taps (offset from `src`, weight; `None`
/// means 1) and the accumulated constant.
#[derive(Clone)]
struct State {
    src: Value,
    dst: Value,
    taps: Vec<(Option<Value>, Option<Value>)>,
    c: Option<Value>,
}

/// Emits linear (`k = 2`) or cubic (`k = 4`) resize of `job.src` into `job.dst`.
pub fn emit(cx: &mut KernelCtx, job: &Job, k: usize) -> Result<()> {
    let (axes, a) = (&job.axes, job.attrs);
    let tables: Vec<Option<(Table, bool)>> =
        axes.iter().zip(&job.taps).map(|(ax, t)| t.as_ref().map(|t| axis_table(t, k, ax.in_stride))).collect();
    let resized = resized_axes(cx.b, job, &tables);
    let b = &mut *cx.b;
    let vector_inner = matches!((axes.last(), resized.last()), (Some(ax), Some(None)) if ax.n >= 4);
    let extrapolation = a.extrapolation_value;
    let plan = Plan {
        axes: axes.to_vec(),
        tables: resized,
        k,
        has_fma: cx.has_fma,
        vector_inner,
        extrapolation: extrapolation.into(),
    };
    level(b, &plan, 0, State { src: job.src, dst: job.dst, taps: vec![(None, None)], c: None });
    Ok(())
}

/// The table of one resized axis with `k` taps per position, and whether it has constants.
fn axis_table(taps: &[Tap], k: usize, in_stride: i64) -> (Table, bool) {
    let fills = taps.iter().any(|t| matches!(t, Tap::Fill(_)));
    let mut words = Vec::new();
    for t in taps {
        let (offs, ws, c): (Vec<i64>, Vec<f64>, f64) = match t {
            Tap::Mix(m) => {
                (m.iter().map(|&(i, _)| i as i64 * in_stride).collect(), m.iter().map(|&(_, w)| w).collect(), 0.0)
            }
            Tap::Fill(v) => (vec![0; k], vec![0.0; k], *v),
        };
        // Offsets fit i32: the caller rejects inputs of 2 GiB or more.
        words.extend((0..k).map(|j| Word::I32(offs.get(j).copied().unwrap_or(0) as i32)));
        words.extend((0..k).map(|j| Word::F32(ws.get(j).copied().unwrap_or(0.0) as f32)));
        if fills {
            words.push(Word::F32(ws.iter().sum::<f64>() as f32));
            words.push(Word::F32(c as f32));
        }
    }
    let record = 4 * (2 * k + if fills { 2 } else { 0 }) as i64;
    (Table { words, record }, fills)
}

fn level(b: &mut FunctionBuilder, p: &Plan, a: usize, st: State) {
    if a == p.axes.len() {
        point(b, p, &st, types::F32, 0);
        return;
    }
    if a + 1 == p.axes.len() && p.vector_inner {
        return vector_inner(b, p, st);
    }
    let ax = p.axes[a];
    let tab = p.tables[a];
    for_count(b, 0, ax.n as i64, 1, |b, i| {
        let d = b.ins().imul_imm_s(i, ax.out_stride);
        let dst = b.ins().iadd(st.dst, d);
        let st = match tab {
            None => {
                let s = b.ins().imul_imm_s(i, ax.in_stride);
                State { src: b.ins().iadd(st.src, s), dst, ..st }
            }
            Some(r) => State { dst, ..apply_axis(b, p, r, i, st) },
        };
        level(b, p, a + 1, st);
    });
}

/// The record of position `i` of a resized axis: `k` offsets (`i64`), `k` weights and, when
/// the axis has constants, `(weight_sum, constant)`.
fn record(b: &mut FunctionBuilder, p: &Plan, r: Resized, i: Value) -> (Vec<Value>, Vec<Value>, Option<(Value, Value)>) {
    let k = p.k;
    match r.src {
        Source::Table(slot) => {
            let rec = table::record_addr(b, slot, i);
            let offs = (0..k).map(|j| table::load_i32(b, rec, 4 * j as i32)).collect();
            let ws = (0..k).map(|j| table::load_f32(b, rec, 4 * (k + j) as i32)).collect();
            let sc = r.fills.then(|| {
                (table::load_f32(b, rec, 4 * (2 * k) as i32), table::load_f32(b, rec, 4 * (2 * k + 1) as i32))
            });
            (offs, ws, sc)
        }
        Source::Computed(params) => {
            let s = computed::sample(b, &params, i);
            if !r.fills {
                return (s.offs, s.ws, None);
            }
            let zero = b.ins().f32const(0.0);
            let ws: Vec<Value> = s.ws.iter().map(|&w| b.ins().select(s.extrapolated, zero, w)).collect();
            let mut sum = zero;
            for &w in &ws {
                sum = b.ins().fadd(sum, w);
            }
            let v = b.ins().f32const(p.extrapolation);
            let c = b.ins().select(s.extrapolated, v, zero);
            (s.offs, ws, Some((sum, c)))
        }
    }
}

/// Combines the taps so far with the `k` taps of position `i` of a resized axis.
fn apply_axis(b: &mut FunctionBuilder, p: &Plan, r: Resized, i: Value, st: State) -> State {
    let k = p.k;
    let (offs, ws, sc) = record(b, p, r, i);
    let mut taps = Vec::with_capacity(st.taps.len() * k);
    for &(o, w) in &st.taps {
        for j in 0..k {
            let off = o.map_or(offs[j], |o| b.ins().iadd(o, offs[j]));
            let wt = w.map_or(ws[j], |w| b.ins().fmul(w, ws[j]));
            taps.push((Some(off), Some(wt)));
        }
    }
    let c = match sc {
        Some((sum, cval)) => Some(st.c.map_or(cval, |c| {
            let cs = b.ins().fmul(c, sum);
            b.ins().fadd(cs, cval)
        })),
        None => st.c,
    };
    State { taps, c, ..st }
}

/// `acc + v * w` (one fused instruction when the target has it; a libcall otherwise, so never).
fn mul_add(b: &mut FunctionBuilder, has_fma: bool, v: Value, w: Value, acc: Value) -> Value {
    if has_fma {
        b.ins().fma(v, w, acc)
    } else {
        let m = b.ins().fmul(v, w);
        b.ins().fadd(acc, m)
    }
}

/// One output value of type `ty` (`f32` or `f32x4`) at byte `at` past `st.src` / `st.dst`.
/// For vectors, the taps' weights and constant are already splatted.
fn point(b: &mut FunctionBuilder, p: &Plan, st: &State, ty: Type, at: i32) -> Value {
    let mut acc: Option<Value> = None;
    for &(off, w) in &st.taps {
        let addr = off.map_or(st.src, |o| b.ins().iadd(st.src, o));
        let v = b.ins().load(ty, flags(), addr, at);
        acc = Some(match (acc, w) {
            (None, None) => v,
            (None, Some(w)) => b.ins().fmul(v, w),
            (Some(a), None) => b.ins().fadd(a, v),
            (Some(a), Some(w)) => mul_add(b, p.has_fma, v, w, a),
        });
    }
    let mut v = acc.unwrap_or_else(|| crate::math::fconst(b, ty, 0.0));
    if let Some(c) = st.c {
        v = b.ins().fadd(v, c);
    }
    b.ins().store(flags(), v, st.dst, at);
    v
}

/// The innermost axis, not resized and contiguous: `f32x4` body and scalar tail.
fn vector_inner(b: &mut FunctionBuilder, p: &Plan, st: State) {
    let n = p.axes[p.axes.len() - 1].n as i64;
    let vec_end = n - n % 4;
    let splat = |b: &mut FunctionBuilder, v: Option<Value>| v.map(|v| b.ins().splat(types::F32X4, v));
    let vst = State { taps: st.taps.iter().map(|&(o, w)| (o, splat(b, w))).collect(), c: splat(b, st.c), ..st.clone() };
    for_count(b, 0, vec_end, 4, |b, i| {
        let byte = b.ins().imul_imm_s(i, 4);
        let src = b.ins().iadd(vst.src, byte);
        let dst = b.ins().iadd(vst.dst, byte);
        point(b, p, &State { src, dst, ..vst.clone() }, types::F32X4, 0);
    });
    if vec_end < n {
        for_count(b, vec_end, n, 1, |b, i| {
            let byte = b.ins().imul_imm_s(i, 4);
            let src = b.ins().iadd(st.src, byte);
            let dst = b.ins().iadd(st.dst, byte);
            point(b, p, &State { src, dst, ..st.clone() }, types::F32, 0);
        });
    }
}
