//! N-D convolution (spatial rank >= 3, e.g. ONNX Conv 3-D): one generic looped kernel, f32,
//! any group count (depthwise included), strides, dilations, pads and an optional bias.
//!
//! Loops over batch, group, blocks of output channels and every output position (one loop per
//! spatial axis), and reduces over the group's input channels and the kernel taps, again one
//! loop per axis, with the accumulator in a Cranelift `Variable`. Nothing is unrolled: 3-D
//! kernels have up to hundreds of taps and unrolling them would make compile time explode
//! (the 1-D/2-D paths in [`super::direct`] and [`super::padded`] unroll because their tap
//! counts are small and they are the hot paths of common models).
//!
//! Each tap is bounds-checked per axis as in `pool::window_looped`: an out-of-input tap reads a
//! clamped in-range address and its *input value* is replaced by 0.0 by a select (not its
//! weight), so an `inf`/`NaN` elsewhere in the input cannot leak into a padded output.
//!
//! Vectorisation: when the group has at least 4 output channels, 4 consecutive output channels
//! share each input load, their weights gathered into one f32x4 (weights of one channel are
//! `cg * taps` elements apart, so no contiguous vector load exists); the rest of the group's
//! channels run the scalar body.

use crate::emit::{addr, load, mul_add, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::loops::for_count;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::ConvAttrs;

/// One spatial axis of the convolution.
#[derive(Clone, Copy, Debug)]
struct Axis {
    input: usize,
    output: usize,
    k: usize,
    s: usize,
    d: usize,
    pad_begin: usize,
}

/// Every size of an N-D convolution.
#[derive(Clone, Debug)]
struct NdDims {
    n: usize,
    c: usize,
    m: usize,
    groups: usize,
    axes: Vec<Axis>,
}

impl NdDims {
    fn cg(&self) -> usize {
        self.c / self.groups
    }
    fn mg(&self) -> usize {
        self.m / self.groups
    }
    fn in_size(&self) -> usize {
        self.axes.iter().map(|a| a.input).product()
    }
    fn out_size(&self) -> usize {
        self.axes.iter().map(|a| a.output).product()
    }
    fn taps(&self) -> usize {
        self.axes.iter().map(|a| a.k).product()
    }
}

/// The base pointers and scalars shared by every block of one kernel.
#[derive(Clone, Copy)]
struct Ptrs {
    x: Value,
    w: Value,
    out: Value,
    bias: Option<Value>,
    fma: bool,
}

/// Emits the N-D convolution of `spec` (inputs already checked to be f32).
pub(super) fn emit(cx: &mut KernelCtx, spec: &KernelSpec, a: &ConvAttrs) -> Result<()> {
    let d = dims(spec, a)?;
    let ptrs = Ptrs {
        x: cx.inputs[0],
        w: cx.inputs[1],
        out: cx.outputs[0],
        bias: (spec.inputs.len() > 2).then(|| cx.inputs[2]),
        fma: cx.has_fma,
    };
    let mg = d.mg();
    let full = if mg >= 4 { mg / 4 * 4 } else { 0 };
    for_count(cx.b, 0, d.n as i64, 1, |b, n| {
        for_count(b, 0, d.groups as i64, 1, |b, g| {
            if full > 0 {
                for_count(b, 0, full as i64, 4, |b, m0| channel_block(b, &d, ptrs, (n, g, m0), 4));
            }
            if full < mg {
                for_count(b, full as i64, mg as i64, 1, |b, m0| channel_block(b, &d, ptrs, (n, g, m0), 1));
            }
        });
    });
    Ok(())
}

/// Checks the shapes and attributes of an N-D conv and gathers its sizes.
fn dims(spec: &KernelSpec, a: &ConvAttrs) -> Result<NdDims> {
    if spec.inputs.len() < 2 || spec.inputs.len() > 3 || spec.outputs.len() != 1 {
        return Err(spec.unsupported(format!("{} inputs (expected x, w and an optional bias)", spec.inputs.len())));
    }
    let (xs, ws, os) = (&spec.inputs[0].shape, &spec.inputs[1].shape, &spec.outputs[0].shape);
    let rank = xs.len();
    let sp = rank.saturating_sub(2);
    let lens_ok = ws.len() == rank
        && os.len() == rank
        && a.kernel.len() == sp
        && a.strides.len() == sp
        && a.dilations.len() == sp
        && a.pads.len() == 2 * sp;
    if sp < 3 || !lens_ok {
        return Err(spec.unsupported(format!(
            "N-D convolution needs rank >= 5 tensors and one attribute entry per spatial axis (input rank {rank})"
        )));
    }
    if a.kernel.iter().chain(&a.strides).chain(&a.dilations).any(|&v| v == 0) {
        return Err(spec.unsupported("attributes kernel_shape, strides and dilations must be >= 1"));
    }
    let g = a.group;
    if g == 0 || xs[1] % g != 0 || ws[0] % g != 0 || ws[1] * g != xs[1] || os[0] != xs[0] || os[1] != ws[0] {
        return Err(spec.unsupported(format!("attribute group={g} does not fit channels")));
    }
    if spec.inputs.len() == 3 && spec.inputs[2].shape.iter().product::<usize>() != ws[0] {
        return Err(spec.unsupported("bias must have one element per output channel"));
    }
    let mut axes = Vec::with_capacity(sp);
    for i in 0..sp {
        let ax = Axis {
            input: xs[2 + i],
            output: os[2 + i],
            k: a.kernel[i],
            s: a.strides[i],
            d: a.dilations[i],
            pad_begin: a.pads[i],
        };
        let span = ax.d * (ax.k - 1) + 1;
        let padded = ax.input + a.pads[i] + a.pads[sp + i];
        let fits = ws[2 + i] == ax.k && padded >= span && ax.output == (padded - span) / ax.s + 1;
        if !fits {
            return Err(spec.unsupported(format!("spatial axis {i}: kernel, pads and output length do not agree")));
        }
        axes.push(ax);
    }
    Ok(NdDims { n: xs[0], c: xs[1], m: ws[0], groups: g, axes })
}

/// Output channels `m0 .. m0 + mb` (mb 1 or 4) of group `g` of image `n`, every output position.
fn channel_block(b: &mut FunctionBuilder, d: &NdDims, p: Ptrs, (n, g, m0): (Value, Value, Value), mb: usize) {
    let (cg, mg) = (d.cg() as i64, d.mg() as i64);
    let g_m = b.ins().imul_imm_s(g, mg);
    let ch0 = b.ins().iadd(g_m, m0);
    let n_c = b.ins().imul_imm_s(n, d.c as i64);
    let g_c = b.ins().imul_imm_s(g, cg);
    let x_ch = b.ins().iadd(n_c, g_c);
    let x_base = addr(b, p.x, x_ch, (d.in_size() * 4) as i64);
    let w_base = addr(b, p.w, ch0, cg * (d.taps() * 4) as i64);
    let n_m = b.ins().imul_imm_s(n, d.m as i64);
    let o_ch = b.ins().iadd(n_m, ch0);
    let out_base = addr(b, p.out, o_ch, (d.out_size() * 4) as i64);
    let init = initial_acc(b, p.bias, ch0, mb);
    let blk = Block { d, x_base, w_base, out_base, init, mb, fma: p.fma };
    let ends: Vec<usize> = d.axes.iter().map(|a| a.output).collect();
    let mut body = |b: &mut FunctionBuilder, pos: &[Value]| point(b, &blk, pos);
    nest(b, &ends, Vec::new(), &mut body);
}

/// The accumulator's start: the bias of the block's channels (lane j = channel `ch0 + j`) or 0.
fn initial_acc(b: &mut FunctionBuilder, bias: Option<Value>, ch0: Value, mb: usize) -> Value {
    let Some(bp) = bias else {
        let z = b.ins().f32const(0.0);
        return if mb == 4 { b.ins().splat(types::F32X4, z) } else { z };
    };
    let pb = addr(b, bp, ch0, 4);
    if mb == 4 {
        load(b, types::F32X4, pb, 0)
    } else {
        load(b, types::F32, pb, 0)
    }
}

/// One channel block's pointers and constants.
struct Block<'a> {
    d: &'a NdDims,
    x_base: Value,
    w_base: Value,
    out_base: Value,
    init: Value,
    mb: usize,
    fma: bool,
}

/// Emits `body(position)` inside one loop per entry of `ends` (outermost first).
fn nest(
    b: &mut FunctionBuilder,
    ends: &[usize],
    idx: Vec<Value>,
    body: &mut dyn FnMut(&mut FunctionBuilder, &[Value]),
) {
    let Some((&end, rest)) = ends.split_first() else {
        body(b, &idx);
        return;
    };
    for_count(b, 0, end as i64, 1, |b, i| {
        let mut next = idx;
        next.push(i);
        nest(b, rest, next, body);
    });
}

/// One output position (`pos`: one index per spatial axis) of the block's channels.
fn point(b: &mut FunctionBuilder, blk: &Block, pos: &[Value]) {
    let d = blk.d;
    let ty: Type = if blk.mb == 4 { types::F32X4 } else { types::F32 };
    let acc = b.declare_var(ty);
    b.def_var(acc, blk.init);
    let starts: Vec<Value> = d
        .axes
        .iter()
        .zip(pos)
        .map(|(ax, &o)| {
            let s = b.ins().imul_imm_s(o, ax.s as i64);
            b.ins().iadd_imm_s(s, -(ax.pad_begin as i64))
        })
        .collect();
    let (in_size, taps) = (d.in_size() as i64, d.taps() as i64);
    for_count(b, 0, d.cg() as i64, 1, |b, ci| {
        let xo = b.ins().imul_imm_s(ci, in_size);
        let x_ci = addr(b, blk.x_base, xo, 4);
        let wo = b.ins().imul_imm_s(ci, taps);
        let w_ci = addr(b, blk.w_base, wo, 4);
        let tap = TapWalk { blk, starts: &starts, x_ci, w_ci, acc };
        let zero = b.ins().iconst(types::I64, 0);
        let yes = b.ins().iconst(types::I8, 1);
        tap.walk(b, 0, zero, zero, yes);
    });
    let v = b.use_var(acc);
    let flat = flat_index(b, d, pos);
    let po = addr(b, blk.out_base, flat, 4);
    if blk.mb == 4 {
        let stride = (d.out_size() * 4) as i64;
        for j in 0..4u8 {
            let l = b.ins().extractlane(v, j);
            store(b, l, po, j as i64 * stride);
        }
    } else {
        store(b, v, po, 0);
    }
}

/// The row-major flat index of `pos` in the output's spatial block.
fn flat_index(b: &mut FunctionBuilder, d: &NdDims, pos: &[Value]) -> Value {
    let mut flat = pos[0];
    for (ax, &o) in d.axes.iter().zip(pos).skip(1) {
        let scaled = b.ins().imul_imm_s(flat, ax.output as i64);
        flat = b.ins().iadd(scaled, o);
    }
    flat
}

/// The kernel-tap loops of one input channel of one output position.
struct TapWalk<'a> {
    blk: &'a Block<'a>,
    starts: &'a [Value],
    x_ci: Value,
    w_ci: Value,
    acc: cranelift_frontend::Variable,
}

impl TapWalk<'_> {
    /// Loops over the taps of axis `i` and deeper; `x_off`/`w_off` are the flat input and weight
    /// offsets of the outer axes, `ok` whether every outer tap index is inside the input.
    fn walk(&self, b: &mut FunctionBuilder, i: usize, x_off: Value, w_off: Value, ok: Value) {
        let axes = &self.blk.d.axes;
        let Some(ax) = axes.get(i).copied() else {
            self.accumulate(b, x_off, w_off, ok);
            return;
        };
        let start = self.starts[i];
        for_count(b, 0, ax.k as i64, 1, |b, t| {
            let off = b.ins().imul_imm_s(t, ax.d as i64);
            let at = b.ins().iadd(start, off);
            let inside = b.ins().icmp_imm_s(IntCC::UnsignedLessThan, at, ax.input as i64);
            let zero = b.ins().iconst(types::I64, 0);
            let clamped = b.ins().select(inside, at, zero);
            let xs = b.ins().imul_imm_s(x_off, ax.input as i64);
            let x_next = b.ins().iadd(xs, clamped);
            let ws = b.ins().imul_imm_s(w_off, ax.k as i64);
            let w_next = b.ins().iadd(ws, t);
            let ok_next = b.ins().band(ok, inside);
            self.walk(b, i + 1, x_next, w_next, ok_next);
        });
    }

    /// `acc += x[x_off] (0 when out of the input) * w[channel, w_off]` for the block's channels.
    fn accumulate(&self, b: &mut FunctionBuilder, x_off: Value, w_off: Value, ok: Value) {
        let blk = self.blk;
        let px = addr(b, self.x_ci, x_off, 4);
        let xv = load(b, types::F32, px, 0);
        let zero = b.ins().f32const(0.0);
        let xv = b.ins().select(ok, xv, zero);
        let pw = addr(b, self.w_ci, w_off, 4);
        let prev = b.use_var(self.acc);
        let next = if blk.mb == 4 {
            let stride = (blk.d.cg() * blk.d.taps() * 4) as i64;
            let first = load(b, types::F32, pw, 0);
            let mut wv = b.ins().splat(types::F32X4, first);
            for j in 1..4u8 {
                let s = load(b, types::F32, pw, j as i64 * stride);
                wv = b.ins().insertlane(wv, s, j);
            }
            let xv = b.ins().splat(types::F32X4, xv);
            mul_add(b, blk.fma, xv, wv, prev)
        } else {
            let wv = load(b, types::F32, pw, 0);
            mul_add(b, blk.fma, xv, wv, prev)
        };
        b.def_var(self.acc, next);
    }
}
