//! Kernel family `reduce`: every `Reduce` kind over any axis set, and ArgMax/ArgMin.
//!
//! Adjacent axes with the same role are merged first, so most reductions become
//! `[outer, R, inner]`: with `inner == 1` the R elements are contiguous and f32 reduces them
//! with f32x4 accumulators (horizontal combine and a scalar tail at the end); otherwise four
//! neighbouring outputs along `inner` reduce side by side in f32x4 lanes. Other axis patterns
//! (e.g. axes 0 and 2 of 4) use a scalar loop that computes each element's offset by div/rem.
//! Integer inputs take the scalar loops for the kinds that make sense on integers.

mod arg;
mod kind;

use crate::emit::{addr, clif_type, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::matmul::broadcast_offset;
use crate::loops::for_count;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{strides_of, DType, Op};
use kind::Reducer;

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    match &spec.op {
        Op::Reduce { kind, axes, .. } => {
            let dtype = spec.inputs[0].dtype;
            let red = Reducer::new(*kind, dtype)
                .ok_or_else(|| spec.unsupported(format!("{} on dtype {dtype}", kind.name())))?;
            let shape = &spec.inputs[0].shape;
            if axes.iter().any(|&a| a >= shape.len()) {
                return Err(spec.unsupported(format!("attribute axes={axes:?} out of range for rank {}", shape.len())));
            }
            reduce(cx, &red, shape, axes);
            Ok(())
        }
        Op::ArgMax { axis, select_last_index, .. } => arg::emit(cx, spec, *axis, true, *select_last_index),
        Op::ArgMin { axis, select_last_index, .. } => arg::emit(cx, spec, *axis, false, *select_last_index),
        _ => Err(spec.unsupported("not a reduction")),
    }
}

/// Merges adjacent dims with the same role; drops size-1 dims. Returns (size, reduced) groups.
fn merged(shape: &[usize], axes: &[usize]) -> Vec<(usize, bool)> {
    let mut groups: Vec<(usize, bool)> = vec![];
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 {
            continue;
        }
        let red = axes.contains(&i);
        match groups.last_mut() {
            Some((size, r)) if *r == red => *size *= d,
            _ => groups.push((d, red)),
        }
    }
    groups
}

fn reduce(cx: &mut KernelCtx, red: &Reducer, shape: &[usize], axes: &[usize]) {
    let (x, y) = (cx.inputs[0], cx.outputs[0]);
    let groups = merged(shape, axes);
    let rsize: usize = groups.iter().filter(|g| g.1).map(|g| g.0).product();
    let three = match groups.as_slice() {
        [] => Some((1, 1, 1)),
        [(r, true)] => Some((1, *r, 1)),
        [(k, false)] => Some((*k, 1, 1)),
        [(k, false), (r, true)] => Some((*k, *r, 1)),
        [(r, true), (k, false)] => Some((1, *r, *k)),
        [(o, false), (r, true), (i, false)] => Some((*o, *r, *i)),
        _ => None,
    };
    match three {
        Some((outer, r, inner)) => outer_r_inner(cx.b, red, x, y, outer, r, inner),
        None => generic(cx.b, red, x, y, &groups, rsize),
    }
}

fn outer_r_inner(b: &mut FunctionBuilder, red: &Reducer, x: Value, y: Value, outer: usize, r: usize, inner: usize) {
    let size = red.dtype.size() as i64;
    let vector = red.dtype == DType::F32;
    for_count(b, 0, outer as i64, 1, |b, o| {
        let xo_idx = b.ins().imul_imm_s(o, (r * inner) as i64);
        let xo = addr(b, x, xo_idx, size);
        let yo_idx = b.ins().imul_imm_s(o, inner as i64);
        let yo = addr(b, y, yo_idx, size);
        if inner == 1 {
            let v = if vector && red.vectorisable() {
                red.contiguous_f32(b, xo, r)
            } else {
                lane(b, red, xo, r, 1, clif_type(red.dtype))
            };
            store(b, v, yo, 0);
            return;
        }
        let i4 = if vector { (inner / 4 * 4) as i64 } else { 0 };
        if i4 > 0 {
            for_count(b, 0, i4, 4, |b, i| {
                let xi = addr(b, xo, i, size);
                let v = lane(b, red, xi, r, inner, types::F32X4);
                let yi = addr(b, yo, i, size);
                store(b, v, yi, 0);
            });
        }
        for_count(b, i4, inner as i64, 1, |b, i| {
            let xi = addr(b, xo, i, size);
            let v = lane(b, red, xi, r, inner, clif_type(red.dtype));
            let yi = addr(b, yo, i, size);
            store(b, v, yi, 0);
        });
    });
}

/// Reduces `r` elements `stride` apart starting at `x` (lanes of `ty` side by side).
fn lane(b: &mut FunctionBuilder, red: &Reducer, x: Value, r: usize, stride: usize, ty: Type) -> Value {
    let step = (stride * red.dtype.size()) as i64;
    red.reduce_with(b, ty, r, &|b: &mut FunctionBuilder, i: Value| addr(b, x, i, step))
}

/// Any axis pattern: each output element reduces its elements, offsets by div/rem.
fn generic(b: &mut FunctionBuilder, red: &Reducer, x: Value, y: Value, groups: &[(usize, bool)], rsize: usize) {
    let sizes: Vec<usize> = groups.iter().map(|g| g.0).collect();
    let strides = strides_of(&sizes);
    let (mut kdims, mut kstr, mut rdims, mut rstr) = (vec![], vec![], vec![], vec![]);
    for (i, &(d, reduced)) in groups.iter().enumerate() {
        if reduced {
            rdims.push(d);
            rstr.push(strides[i] as i64);
        } else {
            kdims.push(d);
            kstr.push(strides[i] as i64);
        }
    }
    let kept: usize = kdims.iter().product();
    let size = red.dtype.size() as i64;
    let ty = clif_type(red.dtype);
    for_count(b, 0, kept as i64, 1, |b, o| {
        let base = broadcast_offset(b, o, &kdims, &kstr);
        let xo = addr(b, x, base, size);
        let v = red.reduce_with(b, ty, rsize, &|b: &mut FunctionBuilder, i: Value| {
            let off = broadcast_offset(b, i, &rdims, &rstr);
            addr(b, xo, off, size)
        });
        let yo = addr(b, y, o, size);
        store(b, v, yo, 0);
    });
}
