//! Direct convolution: output-channel blocks x output-column vectors (see the family docs).
//! A fused epilogue is applied in registers at every store (vector and scalar points).
//!
//! FIXME: out-of-range taps in border rows/columns are zeroed by multiplying a clamped in-range
//! input element by a zero weight, so an `inf`/`NaN` elsewhere in the input row can leak a NaN
//! into a border output that the reference computes as finite.

use super::ConvDims;
use crate::emit::{addr, c64, load, mul_add, store};
use crate::kernel::KernelCtx;
use crate::kernels::fused::epilogue::FusedEpilogue;
use crate::loops::for_count;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Type, Value};
use cranelift_frontend::{FunctionBuilder, Variable};

/// The pointers of one block of output channels of one image and group.
struct Block<'f> {
    d: ConvDims,
    /// Image index and absolute output channel of each row of the block (epilogue coordinates).
    n: Value,
    ch: Vec<Value>,
    fused: Option<&'f FusedEpilogue>,
    x_base: Value,
    w_base: Vec<Value>,
    out_base: Vec<Value>,
    bias: Vec<Value>,
    fma: bool,
}

/// How one output point (or vector of points) is computed.
#[derive(Clone, Copy)]
struct PointKind {
    ty: Type,
    vectors: usize,
    check_rows: bool,
    check_cols: bool,
}

/// Emits the direct convolution of `d` (f32).
pub(super) fn emit(cx: &mut KernelCtx, d: &ConvDims, bias: Option<Value>, fused: Option<&FusedEpilogue>) {
    let d = *d;
    let (x, w, out, fma) = (cx.inputs[0], cx.inputs[1], cx.outputs[0], cx.has_fma);
    let mg = d.mg();
    let mb = if mg >= 4 { 4 } else { 1 };
    let full = (mg / mb * mb) as i64;
    for_count(cx.b, 0, d.n as i64, 1, |b, n| {
        for_count(b, 0, d.groups as i64, 1, |b, g| {
            let ptrs = (x, w, out, bias, fma, fused);
            for_count(b, 0, full, mb as i64, |b, m0| channel_block(b, &d, ptrs, n, g, m0, mb));
            for_count(b, full, mg as i64, 1, |b, m0| channel_block(b, &d, ptrs, n, g, m0, 1));
        });
    });
}

type Ptrs<'f> = (Value, Value, Value, Option<Value>, bool, Option<&'f FusedEpilogue>);

fn channel_block(b: &mut FunctionBuilder, d: &ConvDims, ptrs: Ptrs, n: Value, g: Value, m0: Value, mb: usize) {
    let (x, w, out, bias, fma, fused) = ptrs;
    let (cg, mg) = (d.cg() as i64, d.mg() as i64);
    let g_m = b.ins().imul_imm_s(g, mg);
    let ch0 = b.ins().iadd(g_m, m0);
    let n_c = b.ins().imul_imm_s(n, d.c as i64);
    let g_c = b.ins().imul_imm_s(g, cg);
    let x_ch = b.ins().iadd(n_c, g_c);
    let x_base = addr(b, x, x_ch, (d.h * d.w * 4) as i64);
    let n_m = b.ins().imul_imm_s(n, d.m as i64);
    let mut blk = Block { d: *d, n, ch: vec![], fused, x_base, w_base: vec![], out_base: vec![], bias: vec![], fma };
    for j in 0..mb {
        let ch = b.ins().iadd_imm_s(ch0, j as i64);
        blk.ch.push(ch);
        blk.w_base.push(addr(b, w, ch, cg * (d.kh * d.kw * 4) as i64));
        let o_ch = b.ins().iadd(n_m, ch);
        blk.out_base.push(addr(b, out, o_ch, (d.oh * d.ow * 4) as i64));
        let bv = match bias {
            Some(p) => {
                let pb = addr(b, p, ch, 4);
                load(b, types::F32, pb, 0)
            }
            None => b.ins().f32const(0.0),
        };
        blk.bias.push(bv);
    }
    let (lo, hi) = interior(d.oh, d.h, d.kh, d.sh, d.dh, d.pt);
    for_count(b, 0, lo as i64, 1, |b, oh| row(b, &blk, oh, true));
    for_count(b, lo as i64, hi as i64, 1, |b, oh| row(b, &blk, oh, false));
    for_count(b, hi as i64, d.oh as i64, 1, |b, oh| row(b, &blk, oh, true));
}

/// The range of outputs along one axis whose taps all fall inside the input.
pub(crate) fn interior(out: usize, input: usize, k: usize, s: usize, dil: usize, pad: usize) -> (usize, usize) {
    let lo = pad.div_ceil(s).min(out);
    let reach = (k - 1) * dil;
    let hi = if input + pad > reach { ((input - 1 + pad - reach) / s + 1).min(out) } else { 0 };
    (lo, hi.max(lo))
}

fn row(b: &mut FunctionBuilder, blk: &Block, oh: Value, check_rows: bool) {
    let d = blk.d;
    let (lo, hi) = interior(d.ow, d.w, d.kw, d.sw, d.dw, d.pl);
    let scalar = |check_cols| PointKind { ty: types::F32, vectors: 1, check_rows, check_cols };
    for_count(b, 0, lo as i64, 1, |b, ow| point(b, blk, oh, ow, scalar(true)));
    let eights = ((hi - lo) / 8 * 8) as i64;
    let wide = PointKind { ty: types::F32X4, vectors: 2, check_rows, check_cols: false };
    for_count(b, lo as i64, lo as i64 + eights, 8, |b, ow| point(b, blk, oh, ow, wide));
    let mut rest = lo + eights as usize;
    if hi - rest >= 4 {
        let ow = c64(b, rest as i64);
        point(b, blk, oh, ow, PointKind { vectors: 1, ..wide });
        rest += 4;
    }
    for_count(b, rest as i64, hi as i64, 1, |b, ow| point(b, blk, oh, ow, scalar(false)));
    for_count(b, hi as i64, d.ow as i64, 1, |b, ow| point(b, blk, oh, ow, scalar(true)));
}

/// Computes outputs (oh, ow0..ow0 + lanes*vectors) of every channel of the block.
fn point(b: &mut FunctionBuilder, blk: &Block, oh: Value, ow0: Value, k: PointKind) {
    let d = blk.d;
    let zero = zero_of(b, k.ty);
    let acc: Vec<Vec<Variable>> = blk
        .w_base
        .iter()
        .map(|_| {
            (0..k.vectors)
                .map(|_| {
                    let v = b.declare_var(k.ty);
                    b.def_var(v, zero);
                    v
                })
                .collect()
        })
        .collect();
    let ih0 = b.ins().imul_imm_s(oh, d.sh as i64);
    let ih0 = b.ins().iadd_imm_s(ih0, -(d.pt as i64));
    let iw0 = b.ins().imul_imm_s(ow0, d.sw as i64);
    let iw0 = b.ins().iadd_imm_s(iw0, -(d.pl as i64));
    if !k.check_rows && !k.check_cols {
        interior_taps(b, blk, k, &acc, ih0, iw0);
    } else {
        checked_taps(b, blk, k, &acc, ih0, iw0);
    }
    let o_row = b.ins().imul_imm_s(oh, d.ow as i64);
    let o_idx = b.ins().iadd(o_row, ow0);
    for (j, accs) in acc.iter().enumerate() {
        let po = addr(b, blk.out_base[j], o_idx, 4);
        let bias = if k.ty == types::F32 { blk.bias[j] } else { b.ins().splat(k.ty, blk.bias[j]) };
        for (v, &var) in accs.iter().enumerate() {
            let a = b.use_var(var);
            let mut val = b.ins().fadd(a, bias);
            if let Some(f) = blk.fused {
                let col = b.ins().iadd_imm_s(ow0, (v * 4) as i64);
                val = f.apply(b, val, &[blk.n, blk.ch[j], oh, col]);
            }
            store(b, val, po, (v * 16) as i64);
        }
    }
}

/// Taps of a point whose window lies inside the input: one base address per input channel,
/// every tap a load at a constant offset from it.
fn interior_taps(b: &mut FunctionBuilder, blk: &Block, k: PointKind, acc: &[Vec<Variable>], ih0: Value, iw0: Value) {
    let d = blk.d;
    let row = b.ins().imul_imm_s(ih0, d.w as i64);
    let start = b.ins().iadd(row, iw0);
    let x0 = addr(b, blk.x_base, start, 4);
    for_count(b, 0, d.cg() as i64, 1, |b, c| {
        let x_c = addr(b, x0, c, (d.h * d.w * 4) as i64);
        let w_c: Vec<Value> = blk.w_base.iter().map(|&wb| addr(b, wb, c, (d.kh * d.kw * 4) as i64)).collect();
        for kh in 0..d.kh {
            for kw in 0..d.kw {
                let tap = ((kh * d.dh * d.w + kw * d.dw) * 4) as i64;
                let xv: Vec<Value> = (0..k.vectors).map(|v| load_at(b, x_c, tap, v, d.sw, k.ty)).collect();
                for (j, &wc) in w_c.iter().enumerate() {
                    let wv = load(b, types::F32, wc, ((kh * d.kw + kw) * 4) as i64);
                    accumulate(b, blk.fma, k.ty, wv, &xv, &acc[j]);
                }
            }
        }
    });
}

/// `acc[v] += w * x[v]` for every input vector `x[v]`, the f32 weight `w` splat to `ty` first.
fn accumulate(b: &mut FunctionBuilder, fma: bool, ty: Type, w: Value, xv: &[Value], acc: &[Variable]) {
    let w = if ty != types::F32 { b.ins().splat(ty, w) } else { w };
    for (v, &x) in xv.iter().enumerate() {
        let cur = b.use_var(acc[v]);
        let next = mul_add(b, fma, w, x, cur);
        b.def_var(acc[v], next);
    }
}

/// Input elements at byte offset `tap` from `p`, lanes `(4v + lane) * stride` apart.
fn load_at(b: &mut FunctionBuilder, p: Value, tap: i64, v: usize, stride: usize, ty: Type) -> Value {
    if ty == types::F32 {
        return load(b, types::F32, p, tap);
    }
    let base = tap + (4 * v * stride * 4) as i64;
    if stride == 1 {
        return load(b, ty, p, base);
    }
    let first = load(b, types::F32, p, base);
    let mut vec = b.ins().splat(ty, first);
    for lane in 1..4u8 {
        let s = load(b, types::F32, p, base + (lane as usize * stride * 4) as i64);
        vec = b.ins().insertlane(vec, s, lane);
    }
    vec
}

/// Taps of a border point: out-of-range rows/columns clamped and their weights zeroed.
fn checked_taps(b: &mut FunctionBuilder, blk: &Block, k: PointKind, acc: &[Vec<Variable>], ih0: Value, iw0: Value) {
    let d = blk.d;
    for_count(b, 0, d.cg() as i64, 1, |b, c| {
        let x_c = addr(b, blk.x_base, c, (d.h * d.w * 4) as i64);
        let w_c: Vec<Value> = blk.w_base.iter().map(|&wb| addr(b, wb, c, (d.kh * d.kw * 4) as i64)).collect();
        for kh in 0..d.kh {
            let ih = b.ins().iadd_imm_s(ih0, (kh * d.dh) as i64);
            let (ih, row_ok) = clamp(b, ih, d.h, k.check_rows);
            let x_row = addr(b, x_c, ih, (d.w * 4) as i64);
            for kw in 0..d.kw {
                let iw = b.ins().iadd_imm_s(iw0, (kw * d.dw) as i64);
                let (iw, col_ok) = clamp(b, iw, d.w, k.check_cols);
                let ok = match (row_ok, col_ok) {
                    (Some(r), Some(c)) => Some(b.ins().band(r, c)),
                    (r, c) => r.or(c),
                };
                let xv: Vec<Value> = (0..k.vectors).map(|v| load_input(b, x_row, iw, v, d.sw, k.ty)).collect();
                for (j, &wc) in w_c.iter().enumerate() {
                    let mut wv = load(b, types::F32, wc, ((kh * d.kw + kw) * 4) as i64);
                    if let Some(ok) = ok {
                        let z = b.ins().f32const(0.0);
                        wv = b.ins().select(ok, wv, z);
                    }
                    accumulate(b, blk.fma, k.ty, wv, &xv, &acc[j]);
                }
            }
        }
    });
}

fn zero_of(b: &mut FunctionBuilder, ty: Type) -> Value {
    let z = b.ins().f32const(0.0);
    if ty == types::F32 {
        z
    } else {
        b.ins().splat(ty, z)
    }
}

/// With `check`: `(idx in 0..len ? idx : 0, Some(in range))`; else `(idx, None)`.
fn clamp(b: &mut FunctionBuilder, idx: Value, len: usize, check: bool) -> (Value, Option<Value>) {
    if !check {
        return (idx, None);
    }
    let ok = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, idx, len as i64);
    let zero = c64(b, 0);
    (b.ins().select(ok, idx, zero), Some(ok))
}

/// Input elements `iw + (4v + lane) * stride` of one row.
fn load_input(b: &mut FunctionBuilder, x_row: Value, iw: Value, v: usize, stride: usize, ty: Type) -> Value {
    let p = addr(b, x_row, iw, 4);
    load_at(b, p, 0, v, stride, ty)
}
