//! Kernel family `norm`: BatchNorm (inference) and LRN, f32.
//!
//! BatchNorm: per channel the kernel computes `s = scale / sqrt(var + eps)` and
//! `t = bias - mean * s` once (O(C) work), then streams the channel's plane as `x * s + t` in
//! f32x4 with a scalar tail. The prologue is O(C) per call, negligible next to the O(N*C*HW)
//! stream; a BatchNorm after a Conv with constant parameters is removed altogether by
//! `kiln_passes::fold_batch_norm` (folded into the conv's weights at compile time).
//!
//! LRN: `y = x / (bias + alpha/size * sum of x^2 over the channel window)^beta`, the window
//! `[c - floor((size-1)/2), c + ceil((size-1)/2)]` clipped to the channels; vectorised along
//! the spatial positions; the power is `exp(beta * log(v))` with the libcall-free math.

use crate::emit::{addr, c64, load, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::loops::{for_count, for_range};
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, Op};

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    if spec.inputs.iter().any(|t| t.dtype != DType::F32) {
        return Err(spec.unsupported("only f32"));
    }
    let shape = &spec.inputs[0].shape;
    if shape.len() < 2 {
        return Err(spec.unsupported(format!("input rank {} (needs [N, C, ...])", shape.len())));
    }
    let (n, c) = (shape[0], shape[1]);
    let plane: usize = shape[2..].iter().product();
    match spec.op {
        Op::BatchNorm { epsilon } => {
            if spec.inputs.len() != 5 || spec.inputs[1..].iter().any(|t| t.numel() != c) {
                return Err(spec.unsupported("batch_norm needs x, scale, bias, mean, var with C elements each"));
            }
            batch_norm(cx, epsilon.into(), n, c, plane);
            Ok(())
        }
        Op::Lrn { size, alpha, beta, bias } => {
            if size == 0 {
                return Err(spec.unsupported("attribute size=0"));
            }
            lrn(cx, Lrn { size, alpha: alpha.into(), beta: beta.into(), bias: bias.into() }, n, c, plane);
            Ok(())
        }
        _ => Err(spec.unsupported("not a normalisation")),
    }
}

fn splat_if(b: &mut FunctionBuilder, ty: Type, v: Value) -> Value {
    if ty == types::F32 {
        v
    } else {
        b.ins().splat(ty, v)
    }
}

/// Runs `f(b, ty, index)` over `0..len` in f32x4 steps, then scalars.
fn stream(b: &mut FunctionBuilder, len: usize, f: &dyn Fn(&mut FunctionBuilder, Type, Value)) {
    let n4 = (len / 4 * 4) as i64;
    for_count(b, 0, n4, 4, |b, i| f(b, types::F32X4, i));
    for_count(b, n4, len as i64, 1, |b, i| f(b, types::F32, i));
}

fn batch_norm(cx: &mut KernelCtx, eps: f32, n: usize, c: usize, plane: usize) {
    let (x, scale, bias, mean, var, y) =
        (cx.inputs[0], cx.inputs[1], cx.inputs[2], cx.inputs[3], cx.inputs[4], cx.outputs[0]);
    let fma = cx.has_fma;
    for_count(cx.b, 0, (n * c) as i64, 1, |b, nc| {
        let ch = b.ins().urem_imm_s(nc, c as i64);
        let param = |b: &mut FunctionBuilder, p: Value| {
            let a = addr(b, p, ch, 4);
            load(b, types::F32, a, 0)
        };
        let (g, be, m, v) = (param(b, scale), param(b, bias), param(b, mean), param(b, var));
        let e = b.ins().f32const(eps);
        let ve = b.ins().fadd(v, e);
        let sd = b.ins().sqrt(ve);
        let s = b.ins().fdiv(g, sd);
        let ms = b.ins().fmul(m, s);
        let t = b.ins().fsub(be, ms);
        let base = b.ins().imul_imm_s(nc, plane as i64);
        let xb = addr(b, x, base, 4);
        let yb = addr(b, y, base, 4);
        stream(b, plane, &|b, ty, i| {
            let px = addr(b, xb, i, 4);
            let xv = load(b, ty, px, 0);
            let (sv, tv) = (splat_if(b, ty, s), splat_if(b, ty, t));
            let r = crate::emit::mul_add(b, fma, xv, sv, tv);
            let py = addr(b, yb, i, 4);
            store(b, r, py, 0);
        });
    });
}

#[derive(Clone, Copy)]
struct Lrn {
    size: usize,
    alpha: f32,
    beta: f32,
    bias: f32,
}

fn lrn(cx: &mut KernelCtx, p: Lrn, n: usize, c: usize, plane: usize) {
    let (x, y) = (cx.inputs[0], cx.outputs[0]);
    let before = ((p.size - 1) / 2) as i64;
    let after = (p.size - 1).div_ceil(2) as i64;
    for_count(cx.b, 0, (n * c) as i64, 1, |b, nc| {
        let ch = b.ins().urem_imm_s(nc, c as i64);
        let img = b.ins().isub(nc, ch);
        let lo = b.ins().iadd_imm_s(ch, -before);
        let zero = c64(b, 0);
        let neg = b.ins().icmp_imm_s(IntCC::SignedLessThan, lo, 0);
        let lo = b.ins().select(neg, zero, lo);
        let hi = b.ins().iadd_imm_s(ch, after + 1);
        let cap = c64(b, c as i64);
        let over = b.ins().icmp_imm_s(IntCC::SignedGreaterThan, hi, c as i64);
        let hi = b.ins().select(over, cap, hi);
        let base = b.ins().imul_imm_s(nc, plane as i64);
        let xb = addr(b, x, base, 4);
        let yb = addr(b, y, base, 4);
        let ib = b.ins().imul_imm_s(img, plane as i64);
        let xi = addr(b, x, ib, 4);
        stream(b, plane, &|b, ty, i| {
            let sum = b.declare_var(ty);
            let z = b.ins().f32const(0.0);
            let z = splat_if(b, ty, z);
            b.def_var(sum, z);
            let col = addr(b, xi, i, 4);
            for_range(b, lo, hi, 1, |b, cc| {
                let pc = addr(b, col, cc, (plane * 4) as i64);
                let v = load(b, ty, pc, 0);
                let sq = b.ins().fmul(v, v);
                let s = b.use_var(sum);
                let s = b.ins().fadd(s, sq);
                b.def_var(sum, s);
            });
            let s = b.use_var(sum);
            let k = b.ins().f32const(p.alpha / p.size as f32);
            let k = splat_if(b, ty, k);
            let bi = b.ins().f32const(p.bias);
            let bi = splat_if(b, ty, bi);
            let d = b.ins().fmul(s, k);
            let d = b.ins().fadd(d, bi);
            let l = crate::math::log(b, d);
            let be = b.ins().f32const(p.beta);
            let be = splat_if(b, ty, be);
            let l = b.ins().fmul(l, be);
            let pw = crate::math::exp(b, l);
            let px = addr(b, xb, i, 4);
            let xv = load(b, ty, px, 0);
            let r = b.ins().fdiv(xv, pw);
            let py = addr(b, yb, i, 4);
            store(b, r, py, 0);
        });
    });
}
