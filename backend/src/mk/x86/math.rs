//! Transcendental functions on one vector register for the x86 micro-kernels' epilogues:
//! `exp`, `sigmoid`, `tanh`, `erf` and `elu`, with the algorithms of the Cranelift kernels
//! (`crate::math`: Cephes `expf`/`tanhf`, Eigen/XLA `erf`) and their coefficients
//! (`crate::math::coeffs`), so a fused epilogue computes what the standalone elementwise kernel
//! does, to rounding.
//!
//! `exp(x)`: clamp to [-104, 88.8] (NaN kept: the x86 `min`/`max` return their second operand
//! on NaN, so the input goes second), `n = round(x log2 e)`, `r = x - n ln2` in two parts, a
//! degree-5 polynomial, and `y 2^n`: `vscalefps` on AVX-512, two exact power-of-two factors
//! built in the exponent bits on AVX2 (`n` reaches -150, below the normal range of one).
//!
//! Every function takes its temporaries from the epilogue's pool and returns `None` when it
//! runs dry (the caller then applies the epilogue from memory with every register free).

use super::asm::{Asm, Level, Op3, Src, V};
use super::program::Temps;
use crate::math::coeffs::{ERF_P, ERF_Q, EXP_P, LN2_HI, LN2_LO, TANH_P};

/// `d = min(max(x, lo), hi)` keeping NaN (`d` may be `x`; `t` a scratch register).
fn clamp(asm: &mut Asm, d: V, x: V, lo: f32, hi: f32, t: V) {
    let hi = asm.constant(hi);
    asm.vset(t, hi);
    asm.vop(Op3::Min, t, t, Src::Reg(x));
    let lo = asm.constant(lo);
    asm.vset(d, lo);
    asm.vop(Op3::Max, d, d, Src::Reg(t));
}

/// `d = p(z)` by Horner over `coeffs` (highest degree first); `d` must not be `z`.
fn poly(asm: &mut Asm, d: V, z: V, coeffs: &[f64]) {
    let c0 = asm.constant(coeffs[0] as f32);
    asm.vset(d, c0);
    for &c in &coeffs[1..] {
        let k = asm.constant(c as f32);
        asm.vfma213(d, z, k);
    }
}

/// `d = e^x` (`d` may be `x`; `x` is read first and never written otherwise). Needs two
/// temporaries besides `d`.
pub fn exp(asm: &mut Asm, d: V, x: V, temps: &mut Temps) -> Option<()> {
    let (n, y) = (temps.take()?, temps.take()?);
    clamp(asm, d, x, -104.0, 88.8, n);
    let log2e = asm.constant(std::f32::consts::LOG2_E);
    asm.vop(Op3::Mul, n, d, log2e);
    asm.vround(n, n, 0);
    let c1 = asm.constant(LN2_HI as f32);
    let c2 = asm.constant(LN2_LO as f32);
    asm.vop(Op3::Fnma231, d, n, c1);
    asm.vop(Op3::Fnma231, d, n, c2);
    poly(asm, y, d, &EXP_P);
    // y = p r^2 + r + 1
    asm.vop(Op3::Mul, y, y, Src::Reg(d));
    asm.vfma213(y, d, Src::Reg(d));
    let one = asm.constant(1.0);
    asm.vop(Op3::Add, y, y, one);
    scale_by_pow2(asm, d, y, n);
    temps.give(n);
    temps.give(y);
    Some(())
}

/// `d = y 2^n` for integral `n` in [-150, 128]; clobbers `y` and `n`.
fn scale_by_pow2(asm: &mut Asm, d: V, y: V, n: V) {
    match asm.level {
        Level::Avx512 => asm.vscalef(d, y, n),
        Level::Avx2 => {
            let bias = asm.constant_bits(127);
            asm.vcvt_to_i32(n, n);
            asm.vpsrad(d, n, 1);
            asm.vop(Op3::SubI32, n, n, Src::Reg(d));
            asm.vpaddd(d, d, bias);
            asm.vpslld(d, d, 23);
            asm.vop(Op3::Mul, y, y, Src::Reg(d));
            asm.vpaddd(n, n, bias);
            asm.vpslld(n, n, 23);
            asm.vop(Op3::Mul, d, y, Src::Reg(n));
        }
    }
}

/// `d = 1 / (1 + e^-x)`; needs two temporaries besides `d`.
#[doc(alias = "logistic")]
pub fn sigmoid(asm: &mut Asm, d: V, x: V, temps: &mut Temps) -> Option<()> {
    let sign = asm.constant_bits(0x8000_0000);
    asm.vop(Op3::Xor, d, x, sign);
    exp(asm, d, d, temps)?;
    let one = asm.constant(1.0);
    asm.vop(Op3::Add, d, d, one);
    let t = temps.take()?;
    asm.vset(t, one);
    asm.vop(Op3::Div, d, t, Src::Reg(d));
    temps.give(t);
    Some(())
}

/// `d = erf(x)`: `x P(x^2) / Q(x^2)` on [-4, 4]; needs two temporaries besides `d`.
pub fn erf(asm: &mut Asm, d: V, x: V, temps: &mut Temps) -> Option<()> {
    let (x2, p) = (temps.take()?, temps.take()?);
    clamp(asm, d, x, -4.0, 4.0, x2);
    asm.vop(Op3::Mul, x2, d, Src::Reg(d));
    poly(asm, p, x2, &ERF_P);
    asm.vop(Op3::Mul, p, p, Src::Reg(d));
    poly(asm, d, x2, &ERF_Q);
    asm.vop(Op3::Div, d, p, Src::Reg(d));
    temps.give(x2);
    temps.give(p);
    Some(())
}

/// `d = tanh(x)` (Cephes `tanhf`): odd polynomial for `|x| < 0.625`, else
/// `sign(x) (1 - 2 / (e^{2|x|} + 1))`; needs five temporaries besides `d` (six on AVX2).
pub fn tanh(asm: &mut Asm, d: V, x: V, temps: &mut Temps) -> Option<()> {
    let (a, small) = (temps.take()?, temps.take()?);
    let abs = asm.constant_bits(0x7FFF_FFFF);
    asm.vop(Op3::And, a, x, abs);
    // small = x + x z P(z), z = x^2 (held in d while the polynomial is formed).
    asm.vop(Op3::Mul, d, x, Src::Reg(x));
    poly(asm, small, d, &TANH_P);
    asm.vop(Op3::Mul, small, small, Src::Reg(d));
    asm.vfma213(small, x, Src::Reg(x));
    // large = 1 - 2 / (e^{2a} + 1), with x's sign.
    asm.vop(Op3::Add, d, a, Src::Reg(a));
    let e = temps.take()?;
    exp(asm, e, d, temps)?;
    let one = asm.constant(1.0);
    asm.vop(Op3::Add, e, e, one);
    let two = asm.constant(2.0);
    asm.vset(d, two);
    asm.vop(Op3::Div, e, d, Src::Reg(e));
    asm.vset(d, one);
    asm.vop(Op3::Sub, e, d, Src::Reg(e));
    let sign = asm.constant_bits(0x8000_0000);
    asm.vop(Op3::And, d, x, sign);
    asm.vop(Op3::Xor, e, e, Src::Reg(d));
    let limit = asm.constant(0.625);
    select_lt(asm, d, a, limit, small, e, temps)?;
    temps.give(a);
    temps.give(small);
    temps.give(e);
    Some(())
}

/// `d = alpha (e^x - 1)` where `x < 0`, else `x`; needs three temporaries besides `d`.
pub fn elu(asm: &mut Asm, d: V, x: V, alpha: f32, temps: &mut Temps) -> Option<()> {
    let e = temps.take()?;
    exp(asm, e, x, temps)?;
    let one = asm.constant(1.0);
    asm.vop(Op3::Sub, e, e, one);
    let k = asm.constant(alpha);
    asm.vop(Op3::Mul, e, e, k);
    let zero = asm.constant(0.0);
    select_lt(asm, d, x, zero, e, x, temps)?;
    temps.give(e);
    Some(())
}

/// `d = a < k ? yes : no` lane-wise (false for NaN `a`).
fn select_lt(asm: &mut Asm, d: V, a: V, k: Src, yes: V, no: V, temps: &mut Temps) -> Option<()> {
    match asm.level {
        Level::Avx512 => {
            asm.vcmp_k(2, a, k, 1); // LT_OS
            asm.vblend_k(d, 2, no, yes);
        }
        Level::Avx2 => {
            let m = temps.take()?;
            asm.vcmp_v(m, a, k, 1);
            asm.vblendv(d, no, yes, m);
            temps.give(m);
        }
    }
    Some(())
}
