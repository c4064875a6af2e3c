//! `erf`, `tanh` and `sigmoid`: the activation functions built on rational approximations and
//! on [`super::exp`].

use super::coeffs::{ERF_P, ERF_Q, TANH_P};
use super::exp_log::exp;
use super::lanes::*;
use cranelift_codegen::ir::{condcodes::FloatCC, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// Error function: `x P(x^2) / Q(x^2)` on `[-4, 4]` (Eigen/XLA coefficients); beyond, the f32
/// result is +-1, which the clamp gives. NaN stays NaN.
pub fn erf(b: &mut FunctionBuilder, x: Value) -> Value {
    let x = clamp_above(b, x, 4.0);
    let x = clamp_below(b, x, -4.0);
    let x2 = b.ins().fmul(x, x);
    let p = poly(b, x2, &ERF_P);
    let p = b.ins().fmul(p, x);
    let q = poly(b, x2, &ERF_Q);
    b.ins().fdiv(p, q)
}

/// Hyperbolic tangent (Cephes `tanhf`): odd polynomial for `|x| < 0.625`, else
/// `sign(x) (1 - 2/(e^{2|x|} + 1))`, which saturates to +-1 when `e^{2|x|}` overflows.
pub fn tanh(b: &mut FunctionBuilder, x: Value) -> Value {
    let ty = ty_of(b, x);
    let a = abs(b, x);
    let small = {
        let z = b.ins().fmul(x, x);
        let p = poly(b, z, &TANH_P);
        let t = b.ins().fmul(p, z);
        let t = b.ins().fmul(t, x);
        b.ins().fadd(t, x)
    };
    let large = {
        let two_a = b.ins().fadd(a, a);
        let e = exp(b, two_a);
        let one = fconst(b, ty, 1.0);
        let two = fconst(b, ty, 2.0);
        let d = b.ins().fadd(e, one);
        let q = b.ins().fdiv(two, d);
        let r = b.ins().fsub(one, q);
        let s = sign_bits(b, x);
        xor_sign(b, r, s)
    };
    let limit = fconst(b, ty, 0.625);
    let is_small = b.ins().fcmp(FloatCC::LessThan, a, limit);
    select_float(b, is_small, small, large)
}

/// Logistic function `1/(1 + e^{-x})`: `e^{-x} = inf` for very negative `x` gives exactly 0,
/// and for large `x` the sum rounds to 1.
pub fn sigmoid(b: &mut FunctionBuilder, x: Value) -> Value {
    let ty = ty_of(b, x);
    let nx = b.ins().fneg(x);
    let e = exp(b, nx);
    let one = fconst(b, ty, 1.0);
    let d = b.ins().fadd(e, one);
    b.ins().fdiv(one, d)
}
