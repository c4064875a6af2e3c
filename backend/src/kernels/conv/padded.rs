//! Row-buffered direct convolution: the fast path for every conv that is not a plain GEMM.
//!
//! For each output row the `kh` input rows it reads (of every input channel of the group) are
//! copied once into a zero-padded stack buffer, so the compute loops never test bounds: padding
//! becomes stored zeros (no border special cases, no weight-zeroing select, no NaN leak from a
//! clamped element). With a column stride `sw > 1` each buffered row is split into `sw` phases
//! (column `j` lives at `(j % sw) * phase_len + j / sw`), so the columns one tap reads for
//! consecutive outputs are contiguous and load as one `f32x4` instead of a 4-load gather.
//! The copy costs about `kh` times the input once per image, shared by all output channels.
//!
//! Register blocking: a block is `mb` output channels x a list of column vectors (offsets from a
//! runtime column start). Dense convs copy each output row's taps once more into an im2col row
//! buffer and run one tap per loop iteration over 4 channels x 2 vectors (8 accumulators): x64
//! `vfmadd213ps` overwrites a multiplicand, so every fma also needs a register copy, and 4x3
//! (12 accumulators) spilled and measured ~25% slower in the same run; 3x3, 5x2, 6x2 were slower
//! too, 8x1 about equal. Depthwise convs (one channel per group) read the row buffer directly
//! with every tap unrolled, 1 channel x 6 vectors (the im2col copy would cost as much as their
//! compute: measured 30-60% slower; 4 or 8 vectors measured the same as 6, within noise).
//! The column remainder is one block of just enough vectors to reach the row's end, its first
//! vector overlapping the previous block (it recomputes and rewrites identical values) instead
//! of a scalar tail; only rows narrower than 4 outputs use scalar lanes.
//!
//! Both buffers live in stack slots, so they are capped: a conv whose row buffer exceeds
//! [`MAX_BUF_BYTES`] falls back to [`super::direct`]; a dense conv whose im2col row buffer exceeds
//! [`MAX_COL_BYTES`] uses the unrolled-tap loop. At most 320 KiB of stack per kernel call.

use super::ConvDims;
use crate::emit::{addr, c64, load, mul_add, store};
use crate::kernel::KernelCtx;
use crate::kernels::fused::epilogue::FusedEpilogue;
use crate::loops::for_count;
use cranelift_codegen::ir::{
    condcodes::IntCC, types, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Type, Value,
};
use cranelift_frontend::{FunctionBuilder, Variable};

/// Largest row buffer (bytes) kept on the stack.
pub(super) const MAX_BUF_BYTES: usize = 128 * 1024;

/// Largest unrolled-tap ("im2col") row buffer (bytes) kept on the stack.
const MAX_COL_BYTES: usize = 192 * 1024;

/// Buffer geometry of one conv.
#[derive(Clone, Copy)]
struct Geo {
    d: ConvDims,
    /// Buffered columns actually read: `(ow - 1) * sw + (kw - 1) * dw + 1`.
    wp: usize,
    /// Elements of one phase of a buffered row.
    phase_len: usize,
    /// Elements of one buffered row (`sw` phases).
    row_len: usize,
}

impl Geo {
    fn new(d: &ConvDims) -> Geo {
        let wp = (d.ow - 1) * d.sw + (d.kw - 1) * d.dw + 1;
        let phase_len = wp.div_ceil(d.sw);
        Geo { d: *d, wp, phase_len, row_len: phase_len * d.sw }
    }
    fn bytes(&self) -> usize {
        self.d.cg() * self.d.kh * self.row_len * 4
    }
    /// Taps per output channel (the GEMM depth of one output row).
    fn depth(&self) -> usize {
        self.d.cg() * self.d.kh * self.d.kw
    }
    /// Bytes of the im2col row buffer: `depth` rows of `ow` columns.
    fn col_bytes(&self) -> usize {
        self.depth() * self.d.ow * 4
    }
    /// Element offset in the buffer of channel 0 of tap (kh, kw) for output column 0.
    fn tap(&self, kh: usize, kw: usize) -> usize {
        let j = kw * self.d.dw;
        kh * self.row_len + (j % self.d.sw) * self.phase_len + j / self.d.sw
    }
}

/// True when the buffered path applies to `d` (its buffer fits the stack budget).
pub(super) fn fits(d: &ConvDims) -> bool {
    d.ow >= 1 && d.oh >= 1 && Geo::new(d).bytes() <= MAX_BUF_BYTES
}

/// The pointers shared by every block.
#[derive(Clone, Copy)]
struct Ptrs<'f> {
    x: Value,
    w: Value,
    out: Value,
    bias: Option<Value>,
    buf: Value,
    /// The im2col row buffer, when used (dense convs whose buffer fits).
    col: Option<Value>,
    fma: bool,
    /// The fused epilogue over `[N, M, OH, OW]`, applied in `store_block`.
    fused: Option<&'f FusedEpilogue>,
}

/// One block of columns: element type (f32x4 or f32) and each vector's column offset.
struct Cols {
    ty: Type,
    offs: Vec<usize>,
}

/// Emits the buffered direct convolution of `d` (f32).
pub(super) fn emit(cx: &mut KernelCtx, d: &ConvDims, bias: Option<Value>, fused: Option<&FusedEpilogue>) {
    let geo = Geo::new(d);
    let d = *d;
    let slot =
        cx.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, geo.bytes().max(16) as u32, 4));
    let buf = cx.b.ins().stack_addr(types::I64, slot, 0);
    let mg = d.mg();
    let col = (mg > 1 && geo.col_bytes() <= MAX_COL_BYTES).then(|| {
        let slot =
            cx.b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, geo.col_bytes() as u32, 4));
        cx.b.ins().stack_addr(types::I64, slot, 0)
    });
    let p = Ptrs { x: cx.inputs[0], w: cx.inputs[1], out: cx.outputs[0], bias, buf, col, fma: cx.has_fma, fused };
    let (mb, nv) = if mg == 1 { (1, 6) } else { (4, 2) };
    let full = (mg / mb * mb) as i64;
    for_count(cx.b, 0, d.n as i64, 1, |b, n| {
        for_count(b, 0, d.groups as i64, 1, |b, g| {
            for_count(b, 0, d.oh as i64, 1, |b, oh| {
                fill_rows(b, &geo, &p, n, g, oh);
                if let Some(col) = p.col {
                    expand_taps(b, &geo, p.buf, col);
                }
                for_count(b, 0, full, mb as i64, |b, m0| out_row(b, &geo, &p, (n, g, oh, m0), mb, nv));
                for_count(b, full, mg as i64, 1, |b, m0| out_row(b, &geo, &p, (n, g, oh, m0), 1, nv));
            });
        });
    });
}

/// Copies the `kh` input rows of output row `oh` of every channel of group `g` into the buffer.
fn fill_rows(b: &mut FunctionBuilder, geo: &Geo, p: &Ptrs, n: Value, g: Value, oh: Value) {
    let d = geo.d;
    let ih0 = b.ins().imul_imm_s(oh, d.sh as i64);
    let ih0 = b.ins().iadd_imm_s(ih0, -(d.pt as i64));
    let n_c = b.ins().imul_imm_s(n, d.c as i64);
    let g_c = b.ins().imul_imm_s(g, d.cg() as i64);
    let ch0 = b.ins().iadd(n_c, g_c);
    let x_g = addr(b, p.x, ch0, (d.h * d.w * 4) as i64);
    let rows: Vec<(Value, Value)> = (0..d.kh)
        .map(|kh| {
            let ih = b.ins().iadd_imm_s(ih0, (kh * d.dh) as i64);
            let ok = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, ih, d.h as i64);
            (ih, ok)
        })
        .collect();
    for_count(b, 0, d.cg() as i64, 1, |b, c| {
        let x_c = addr(b, x_g, c, (d.h * d.w * 4) as i64);
        let buf_c = addr(b, p.buf, c, (d.kh * geo.row_len * 4) as i64);
        for (kh, &(ih, ok)) in rows.iter().enumerate() {
            let dst = b.ins().iadd_imm_s(buf_c, (kh * geo.row_len * 4) as i64);
            let copy = b.create_block();
            let zero = b.create_block();
            let done = b.create_block();
            b.ins().brif(ok, copy, &[], zero, &[]);
            b.switch_to_block(copy);
            b.seal_block(copy);
            let src = addr(b, x_c, ih, (d.w * 4) as i64);
            copy_row(b, geo, src, dst);
            b.ins().jump(done, &[]);
            b.switch_to_block(zero);
            b.seal_block(zero);
            zero_range(b, dst, 0, geo.row_len);
            b.ins().jump(done, &[]);
            b.switch_to_block(done);
            b.seal_block(done);
        }
    });
}

/// Copies one input row (at `src`) into buffered row `dst`, phase by phase, with zero padding.
fn copy_row(b: &mut FunctionBuilder, geo: &Geo, src: Value, dst: Value) {
    let d = geo.d;
    for ph in 0..d.sw {
        let count = if geo.wp > ph { (geo.wp - ph).div_ceil(d.sw) } else { 0 };
        // Buffer column j = q * sw + ph holds input column j - pl.
        let lo = if d.pl > ph { (d.pl - ph).div_ceil(d.sw) } else { 0 }.min(count);
        let hi = if d.pl + d.w > ph { (d.pl + d.w - ph).div_ceil(d.sw) } else { 0 }.clamp(lo, count);
        let base = ph * geo.phase_len;
        zero_range(b, dst, base, lo);
        if hi > lo {
            let first = (lo * d.sw + ph - d.pl) as i64;
            copy_range(b, src, first, d.sw, dst, base + lo, hi - lo);
        }
        zero_range(b, dst, base + hi, count - hi);
    }
}

/// Stores zeros at elements `start..start + count` of `dst`.
fn zero_range(b: &mut FunctionBuilder, dst: Value, start: usize, count: usize) {
    let zs = b.ins().f32const(0.0);
    if count >= 4 {
        let zv = b.ins().splat(types::F32X4, zs);
        let vecs = count / 4;
        if vecs <= 4 {
            for v in 0..vecs {
                store(b, zv, dst, ((start + 4 * v) * 4) as i64);
            }
        } else {
            let base = b.ins().iadd_imm_s(dst, (start * 4) as i64);
            for_count(b, 0, vecs as i64, 1, |b, i| {
                let p = addr(b, base, i, 16);
                store(b, zv, p, 0);
            });
        }
        if !count.is_multiple_of(4) {
            store(b, zv, dst, ((start + count - 4) * 4) as i64);
        }
    } else {
        for i in 0..count {
            store(b, zs, dst, ((start + i) * 4) as i64);
        }
    }
}

/// Copies `count` elements `src[first + i * stride]` to `dst[start + i]`.
fn copy_range(b: &mut FunctionBuilder, src: Value, first: i64, stride: usize, dst: Value, start: usize, count: usize) {
    let s0 = b.ins().iadd_imm_s(src, first * 4);
    let d0 = b.ins().iadd_imm_s(dst, (start * 4) as i64);
    if stride == 1 && count >= 4 {
        for_count(b, 0, (count / 4) as i64, 1, |b, i| {
            let off = b.ins().imul_imm_s(i, 16);
            let s = b.ins().iadd(s0, off);
            let t = b.ins().iadd(d0, off);
            let v = load(b, types::F32X4, s, 0);
            store(b, v, t, 0);
        });
        if !count.is_multiple_of(4) {
            let tail = ((count - 4) * 4) as i64;
            let v = load(b, types::F32X4, s0, tail);
            store(b, v, d0, tail);
        }
        return;
    }
    for_count(b, 0, count as i64, 1, |b, i| {
        let s = addr(b, s0, i, (stride * 4) as i64);
        let t = addr(b, d0, i, 4);
        let v = load(b, types::F32, s, 0);
        store(b, v, t, 0);
    });
}

/// Copies the columns every tap reads from the row buffer into the im2col row buffer (tap `t`
/// of channel `c` at row `c * kh * kw + t`, `ow` contiguous columns), so the compute loop runs
/// one tap per iteration with addresses linear in the tap index.
fn expand_taps(b: &mut FunctionBuilder, geo: &Geo, buf: Value, col: Value) {
    let d = geo.d;
    let khkw = d.kh * d.kw;
    for_count(b, 0, d.cg() as i64, 1, |b, c| {
        let src = addr(b, buf, c, (d.kh * geo.row_len * 4) as i64);
        let dst = addr(b, col, c, (khkw * d.ow * 4) as i64);
        for kh in 0..d.kh {
            for kw in 0..d.kw {
                copy_range(b, src, geo.tap(kh, kw) as i64, 1, dst, (kh * d.kw + kw) * d.ow, d.ow);
            }
        }
    });
}

/// Every output column of row `oh` for channels `m0..m0 + mb` of group `g`.
fn out_row(b: &mut FunctionBuilder, geo: &Geo, p: &Ptrs, at: (Value, Value, Value, Value), mb: usize, nv: usize) {
    let ow = geo.d.ow;
    let span = 4 * nv;
    let full = ow / span;
    let wide = Cols { ty: types::F32X4, offs: (0..nv).map(|v| 4 * v).collect() };
    for_count(b, 0, (full * span) as i64, span as i64, |b, ow0| block(b, geo, p, at, mb, ow0, &wide));
    if ow.is_multiple_of(span) {
        return;
    }
    let (start, cols) = if full > 0 {
        // Just enough vectors to reach `ow`, the first overlapping the last full block.
        let nr = (ow % span).div_ceil(4);
        (ow - 4 * nr, Cols { ty: types::F32X4, offs: (0..nr).map(|v| 4 * v).collect() })
    } else if ow >= 4 {
        let mut offs: Vec<usize> = (0..ow / 4).map(|v| 4 * v).collect();
        if !ow.is_multiple_of(4) {
            offs.push(ow - 4);
        }
        (0, Cols { ty: types::F32X4, offs })
    } else {
        (0, Cols { ty: types::F32, offs: (0..ow).collect() })
    };
    let ow0 = c64(b, start as i64);
    block(b, geo, p, at, mb, ow0, &cols);
}

/// Outputs (oh, ow0 + cols) of channels `m0..m0 + mb` of group `g`.
fn block(
    b: &mut FunctionBuilder,
    geo: &Geo,
    p: &Ptrs,
    at: (Value, Value, Value, Value),
    mb: usize,
    ow0: Value,
    cols: &Cols,
) {
    let d = geo.d;
    let (n, g, oh, m0) = at;
    let khkw = d.kh * d.kw;
    let g_m = b.ins().imul_imm_s(g, d.mg() as i64);
    let ch0 = b.ins().iadd(g_m, m0);
    let w_blk = addr(b, p.w, ch0, (d.cg() * khkw * 4) as i64);
    let zero = zero_of(b, cols.ty);
    let acc: Vec<Vec<Variable>> = (0..mb)
        .map(|_| {
            cols.offs
                .iter()
                .map(|_| {
                    let v = b.declare_var(cols.ty);
                    b.def_var(v, zero);
                    v
                })
                .collect()
        })
        .collect();
    match p.col {
        Some(col) => gemm_taps(b, geo, p, (col, w_blk, ow0), &acc, cols),
        None => unrolled_taps(b, geo, p, (w_blk, ow0), &acc, cols),
    }
    store_block(b, geo, p, (n, oh, ch0, ow0), &acc, cols);
}

/// One tap per loop iteration over the im2col row buffer: each accumulator's dependency chain
/// is one fma deep per iteration, so Cranelift's scheduler keeps the live set at the 16 xmm
/// registers (with every tap unrolled it hoists all loads and spills; unrolling 2 or 3 taps per
/// iteration measured 15-25% slower). Weight loads are `readonly` (weights never change).
fn gemm_taps(
    b: &mut FunctionBuilder,
    geo: &Geo,
    p: &Ptrs,
    at: (Value, Value, Value),
    acc: &[Vec<Variable>],
    cols: &Cols,
) {
    let d = geo.d;
    let (col, w_blk, ow0) = at;
    let depth = geo.depth();
    let col0 = addr(b, col, ow0, 4);
    let wflags = MemFlagsData::new().with_notrap().with_readonly();
    for_count(b, 0, depth as i64, 1, |b, t| {
        let x_t = addr(b, col0, t, (d.ow * 4) as i64);
        let w_t = addr(b, w_blk, t, 4);
        let xv: Vec<Value> = cols.offs.iter().map(|&o| load(b, cols.ty, x_t, (o * 4) as i64)).collect();
        for (j, accs) in acc.iter().enumerate() {
            let mut wv = b.ins().load(types::F32, wflags, w_t, (j * depth * 4) as i32);
            if cols.ty != types::F32 {
                wv = b.ins().splat(cols.ty, wv);
            }
            for (&x, &a) in xv.iter().zip(accs) {
                let cur = b.use_var(a);
                let next = mul_add(b, p.fma, wv, x, cur);
                b.def_var(a, next);
            }
        }
    });
}

/// Every tap of one input channel unrolled per loop iteration, read straight from the row buffer
/// (depthwise convs, and dense convs whose im2col row buffer would not fit).
fn unrolled_taps(b: &mut FunctionBuilder, geo: &Geo, p: &Ptrs, at: (Value, Value), acc: &[Vec<Variable>], cols: &Cols) {
    let d = geo.d;
    let (w_blk, ow0) = at;
    let khkw = d.kh * d.kw;
    let buf0 = addr(b, p.buf, ow0, 4);
    for_count(b, 0, d.cg() as i64, 1, |b, c| {
        let x_c = addr(b, buf0, c, (d.kh * geo.row_len * 4) as i64);
        let w_c = addr(b, w_blk, c, (khkw * 4) as i64);
        for kh in 0..d.kh {
            for kw in 0..d.kw {
                let tap = geo.tap(kh, kw);
                let xv: Vec<Value> = cols.offs.iter().map(|&o| load(b, cols.ty, x_c, ((tap + o) * 4) as i64)).collect();
                for (j, accs) in acc.iter().enumerate() {
                    let mut wv = load(b, types::F32, w_c, ((j * d.cg() * khkw + kh * d.kw + kw) * 4) as i64);
                    if cols.ty != types::F32 {
                        wv = b.ins().splat(cols.ty, wv);
                    }
                    for (&x, &a) in xv.iter().zip(accs) {
                        let cur = b.use_var(a);
                        let next = mul_add(b, p.fma, wv, x, cur);
                        b.def_var(a, next);
                    }
                }
            }
        }
    });
}

/// Adds the bias, applies the fused epilogue if any, and stores the accumulators of one block.
fn store_block(
    b: &mut FunctionBuilder,
    geo: &Geo,
    p: &Ptrs,
    at: (Value, Value, Value, Value),
    acc: &[Vec<Variable>],
    cols: &Cols,
) {
    let d = geo.d;
    let (n, oh, ch0, ow0) = at;
    let n_m = b.ins().imul_imm_s(n, d.m as i64);
    let o_ch = b.ins().iadd(n_m, ch0);
    let o_row = b.ins().imul_imm_s(o_ch, d.oh as i64);
    let o_row = b.ins().iadd(o_row, oh);
    let o_idx = b.ins().imul_imm_s(o_row, d.ow as i64);
    let o_idx = b.ins().iadd(o_idx, ow0);
    let po = addr(b, p.out, o_idx, 4);
    let pb = p.bias.map(|pb| addr(b, pb, ch0, 4));
    for (j, accs) in acc.iter().enumerate() {
        let bias = match pb {
            Some(pb) => load(b, types::F32, pb, (j * 4) as i64),
            None => b.ins().f32const(0.0),
        };
        let bias = if cols.ty == types::F32 { bias } else { b.ins().splat(cols.ty, bias) };
        let ch_off = j * d.oh * d.ow;
        let ch = b.ins().iadd_imm_s(ch0, j as i64);
        for (&o, &a) in cols.offs.iter().zip(accs) {
            let v = b.use_var(a);
            let mut val = b.ins().fadd(v, bias);
            if let Some(f) = p.fused {
                let col = b.ins().iadd_imm_s(ow0, o as i64);
                val = f.apply(b, val, &[n, ch, oh, col]);
            }
            store(b, val, po, ((ch_off + o) * 4) as i64);
        }
    }
}

fn zero_of(b: &mut FunctionBuilder, ty: Type) -> Value {
    let z = b.ins().f32const(0.0);
    if ty == types::F32 {
        z
    } else {
        b.ins().splat(ty, z)
    }
}
