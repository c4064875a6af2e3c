//! Transcendental functions on one NEON register for the NEON micro-kernels' epilogues: `exp`,
//! `sigmoid`, `tanh`, `erf` and `elu`, with the algorithms of the x86 epilogues
//! (`crate::mk::x86::math`) and of the Cranelift kernels (`crate::math`: Cephes
//! `expf`/`tanhf`, Eigen/XLA `erf`) and their coefficients (`crate::math::coeffs`), so a fused
//! epilogue computes what the standalone elementwise kernel does, to rounding, on every target.
//!
//! `exp(x)`: clamp to [-104, 88.8] (AArch64 `fmax`/`fmin` propagate NaN), `n = round(x log2
//! e)` (`frintn`), `r = x - n ln2` in two parts (`fmls`), a degree-5 polynomial, and `y 2^n` as
//! two exact power-of-two factors built in the exponent bits (`n` reaches -150, below the
//! normal range of one factor), as the AVX2 path does.
//!
//! Constants are materialised in a temporary (`Asm::vconst`: the kernel has no literal pool),
//! so each function takes one more temporary than its x86 twin. Every function takes its
//! temporaries from the epilogue's pool and returns `None` when it runs dry (the generator then
//! refuses the kernel and the node keeps its Cranelift kernel). `d` may equal `x`: `x` is read
//! before `d` is first written.

use super::asm::{Asm, Op3};
use super::program::Temps;
use crate::math::coeffs::{ERF_P, ERF_Q, EXP_P, LN2_HI, LN2_LO, TANH_P};

/// `d = min(max(x, lo), hi)` keeping NaN; `k` is a scratch register (not `d`, not `x`).
fn clamp(asm: &mut Asm, d: u8, x: u8, lo: f32, hi: f32, k: u8) {
    asm.vconst(k, lo);
    asm.vop(Op3::Max, d, x, k);
    asm.vconst(k, hi);
    asm.vop(Op3::Min, d, d, k);
}

/// `d = p(z)` by Horner over `coeffs` (highest degree first); `d`, `z` and `k` distinct.
fn poly(asm: &mut Asm, d: u8, z: u8, coeffs: &[f64], k: u8) {
    asm.vconst(d, coeffs[0] as f32);
    for &c in &coeffs[1..] {
        asm.vconst(k, c as f32);
        asm.fmla(k, d, z);
        asm.vmov(d, k);
    }
}

/// `d = e^x`. Needs three temporaries besides `d`.
pub fn exp(asm: &mut Asm, d: u8, x: u8, temps: &mut Temps) -> Option<()> {
    let (n, y, k) = (temps.take()?, temps.take()?, temps.take()?);
    clamp(asm, d, x, -104.0, 88.8, k);
    asm.vconst(k, std::f32::consts::LOG2_E);
    asm.vop(Op3::Mul, n, d, k);
    asm.frintn(n, n);
    asm.vconst(k, LN2_HI as f32);
    asm.fmls(d, n, k);
    asm.vconst(k, LN2_LO as f32);
    asm.fmls(d, n, k);
    poly(asm, y, d, &EXP_P, k);
    // y = p r^2 + r + 1
    asm.vop(Op3::Mul, y, y, d);
    asm.vmov(k, d);
    asm.fmla(k, y, d);
    asm.vconst(y, 1.0);
    asm.vop(Op3::Add, y, y, k);
    scale_by_pow2(asm, d, y, n, k);
    for t in [n, y, k] {
        temps.give(t);
    }
    Some(())
}

/// `d = y 2^n` for integral `n` in [-150, 128], as two factors `2^(n>>1)` and `2^(n - n>>1)`,
/// each a normal float; clobbers `y`, `n` and `k`.
fn scale_by_pow2(asm: &mut Asm, d: u8, y: u8, n: u8, k: u8) {
    asm.fcvtzs(n, n);
    asm.sshr1(d, n);
    asm.sub_i32(n, n, d);
    asm.vconst_bits(k, 127);
    asm.add_i32(d, d, k);
    asm.shl23(d, d);
    asm.vop(Op3::Mul, y, y, d);
    asm.add_i32(n, n, k);
    asm.shl23(n, n);
    asm.vop(Op3::Mul, d, y, n);
}

/// `d = 1 / (1 + e^-x)`; needs three temporaries besides `d`.
#[doc(alias = "logistic")]
pub fn sigmoid(asm: &mut Asm, d: u8, x: u8, temps: &mut Temps) -> Option<()> {
    asm.fneg(d, x);
    exp(asm, d, d, temps)?;
    let one = temps.take()?;
    asm.vconst(one, 1.0);
    asm.vop(Op3::Add, d, d, one);
    asm.vop(Op3::Div, d, one, d);
    temps.give(one);
    Some(())
}

/// `d = erf(x)`: `x P(x^2) / Q(x^2)` on [-4, 4]; needs three temporaries besides `d`.
pub fn erf(asm: &mut Asm, d: u8, x: u8, temps: &mut Temps) -> Option<()> {
    let (x2, p, k) = (temps.take()?, temps.take()?, temps.take()?);
    clamp(asm, d, x, -4.0, 4.0, k);
    asm.vop(Op3::Mul, x2, d, d);
    poly(asm, p, x2, &ERF_P, k);
    asm.vop(Op3::Mul, p, p, d);
    poly(asm, d, x2, &ERF_Q, k);
    asm.vop(Op3::Div, d, p, d);
    for t in [x2, p, k] {
        temps.give(t);
    }
    Some(())
}

/// `d = tanh(x)` (Cephes `tanhf`): odd polynomial for `|x| < 0.625`, else
/// `sign(x) (1 - 2 / (e^{2|x|} + 1))`; needs six temporaries besides `d`.
pub fn tanh(asm: &mut Asm, d: u8, x: u8, temps: &mut Temps) -> Option<()> {
    let (a, small, e, k) = (temps.take()?, temps.take()?, temps.take()?, temps.take()?);
    asm.fabs(a, x);
    // small = x + x z P(z), z = x^2 (held in e while the polynomial is formed).
    asm.vop(Op3::Mul, e, x, x);
    poly(asm, small, e, &TANH_P, k);
    asm.vop(Op3::Mul, small, small, e);
    asm.vmov(k, x);
    asm.fmla(k, small, x);
    asm.vmov(small, k);
    // large = 1 - 2 / (e^{2a} + 1), with x's sign; `d` is written only now (it may be `x`).
    asm.vop(Op3::Add, k, a, a);
    exp(asm, e, k, temps)?;
    asm.vconst(k, 1.0);
    asm.vop(Op3::Add, e, e, k);
    asm.vconst(k, 2.0);
    asm.vop(Op3::Div, e, k, e);
    asm.vconst(k, 1.0);
    asm.vop(Op3::Sub, e, k, e);
    asm.vconst_bits(k, 0x8000_0000);
    asm.and(k, x, k);
    asm.eor(e, e, k);
    // d = a < 0.625 ? small : large
    asm.vconst(k, 0.625);
    asm.fcmgt(d, k, a);
    asm.bsl(d, small, e);
    for t in [a, small, e, k] {
        temps.give(t);
    }
    Some(())
}

/// `d = alpha (e^x - 1)` where `x < 0`, else `x`; `d` must not be `x`. Needs four
/// temporaries besides `d`.
pub fn elu(asm: &mut Asm, d: u8, x: u8, alpha: f32, temps: &mut Temps) -> Option<()> {
    let e = temps.take()?;
    exp(asm, e, x, temps)?;
    let k = temps.take()?;
    asm.vconst(k, 1.0);
    asm.vop(Op3::Sub, e, e, k);
    asm.vconst(k, alpha);
    asm.vop(Op3::Mul, e, e, k);
    // d = 0 > x ? e : x
    asm.vzero(k);
    asm.fcmgt(d, k, x);
    asm.bsl(d, e, x);
    temps.give(e);
    temps.give(k);
    Some(())
}
