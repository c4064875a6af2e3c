//! `exp` and `log` (Cephes `expf`/`logf`), the base of most other functions here.

use super::coeffs::{EXP_P, LN2_HI, LN2_LO};
use super::lanes::*;
use cranelift_codegen::ir::{condcodes::FloatCC, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// `e^x`. NaN stays NaN, overflow gives `inf`, underflow reaches subnormals then 0.
pub fn exp(b: &mut FunctionBuilder, x: Value) -> Value {
    let ty = ty_of(b, x);
    // Beyond these, the result is inf / 0 anyway; clamping keeps 2^n representable in halves.
    let x = clamp_above(b, x, 88.8);
    let x = clamp_below(b, x, -104.0);
    let scaled = {
        let k = fconst(b, ty, std::f64::consts::LOG2_E);
        b.ins().fmul(x, k)
    };
    let (n_f, n) = round_magic(b, scaled);
    // r = x - n*ln2, with ln2 split in a short exact part and a correction.
    let c1 = fconst(b, ty, LN2_HI);
    let c2 = fconst(b, ty, LN2_LO);
    let t1 = b.ins().fmul(n_f, c1);
    let r = b.ins().fsub(x, t1);
    let t2 = b.ins().fmul(n_f, c2);
    let r = b.ins().fsub(r, t2);
    let p = poly(b, r, &EXP_P);
    let r2 = b.ins().fmul(r, r);
    let y = b.ins().fmul(p, r2);
    let y = b.ins().fadd(y, r);
    let one = fconst(b, ty, 1.0);
    let y = b.ins().fadd(y, one);
    scale_by_pow2(b, y, n)
}

/// `y * 2^n` for `n` in `[-252, 254]`, as two in-range powers of two (exact but for one final
/// rounding into the subnormal range).
fn scale_by_pow2(b: &mut FunctionBuilder, y: Value, n: Value) -> Value {
    let ty = ty_of(b, y);
    let half = b.ins().sshr_imm_u(n, 1);
    let rest = b.ins().isub(n, half);
    let s1 = pow2_int(b, ty, half);
    let s2 = pow2_int(b, ty, rest);
    let y = b.ins().fmul(y, s1);
    b.ins().fmul(y, s2)
}

/// Natural logarithm. `log(0) = -inf`, `log(x<0) = NaN`, `log(inf) = inf`, NaN stays NaN.
pub fn log(b: &mut FunctionBuilder, x: Value) -> Value {
    let ty = ty_of(b, x);
    let (xn, e_adjust) = normalize_subnormal(b, x);
    let (m, e) = split_mantissa(b, xn);
    let e = b.ins().fsub(e, e_adjust);
    let r = log_kernel(b, m, e);
    log_special_cases(b, x, r, ty)
}

/// Scales subnormal inputs by 2^23; returns the scaled value and 23 (or 0) as float.
fn normalize_subnormal(b: &mut FunctionBuilder, x: Value) -> (Value, Value) {
    let ty = ty_of(b, x);
    let min_normal = fconst(b, ty, f32::MIN_POSITIVE as f64);
    let tiny = b.ins().fcmp(FloatCC::LessThan, x, min_normal);
    let k = fconst(b, ty, 8388608.0);
    let scaled = b.ins().fmul(x, k);
    let xn = select_float(b, tiny, scaled, x);
    let k23 = fconst(b, ty, 23.0);
    let zero = fconst(b, ty, 0.0);
    (xn, select_float(b, tiny, k23, zero))
}

/// Splits a positive normal `x` into `m - 1` with `m` in `[sqrt(1/2), sqrt(2))` and exponent `e`
/// (as float) with `x = m * 2^e`.
fn split_mantissa(b: &mut FunctionBuilder, x: Value) -> (Value, Value) {
    let ty = ty_of(b, x);
    let ity = int_of(ty);
    let bits = to_bits(b, x);
    let exp_bits = b.ins().ushr_imm_u(bits, 23);
    let k126 = iconst(b, ity, 126);
    let e_int = b.ins().isub(exp_bits, k126);
    let e = b.ins().fcvt_from_sint(ty, e_int);
    let keep = iconst(b, ity, 0x807F_FFFF);
    let half_exp = iconst(b, ity, 0x3F00_0000);
    let mbits = b.ins().band(bits, keep);
    let mbits = b.ins().bor(mbits, half_exp);
    let m = from_bits(b, ty, mbits); // in [0.5, 1)
    let sqrt_half = fconst(b, ty, std::f64::consts::FRAC_1_SQRT_2);
    let small = b.ins().fcmp(FloatCC::LessThan, m, sqrt_half);
    let one = fconst(b, ty, 1.0);
    let m_small = {
        let twice = b.ins().fadd(m, m);
        b.ins().fsub(twice, one)
    };
    let m_big = b.ins().fsub(m, one);
    let m1 = select_float(b, small, m_small, m_big);
    let e_small = b.ins().fsub(e, one);
    (m1, select_float(b, small, e_small, e))
}

/// `log(1 + m) + e*ln2` by the Cephes polynomial.
fn log_kernel(b: &mut FunctionBuilder, m: Value, e: Value) -> Value {
    let ty = ty_of(b, m);
    let z = b.ins().fmul(m, m);
    let p = poly(
        b,
        m,
        &[
            7.0376836292E-2,
            -1.1514610310E-1,
            1.1676998740E-1,
            -1.2420140846E-1,
            1.4249322787E-1,
            -1.6668057665E-1,
            2.0000714765E-1,
            -2.4999993993E-1,
            3.3333331174E-1,
        ],
    );
    let y = b.ins().fmul(p, m);
    let y = b.ins().fmul(y, z);
    let c2 = fconst(b, ty, LN2_LO);
    let t = b.ins().fmul(e, c2);
    let y = b.ins().fadd(y, t);
    let half = fconst(b, ty, -0.5);
    let t = b.ins().fmul(z, half);
    let y = b.ins().fadd(y, t);
    let r = b.ins().fadd(m, y);
    let c1 = fconst(b, ty, LN2_HI);
    let t = b.ins().fmul(e, c1);
    b.ins().fadd(r, t)
}

fn log_special_cases(b: &mut FunctionBuilder, x: Value, r: Value, ty: cranelift_codegen::ir::Type) -> Value {
    let inf = fconst(b, ty, f64::INFINITY);
    let is_inf = b.ins().fcmp(FloatCC::Equal, x, inf);
    let r = select_float(b, is_inf, inf, r);
    let zero = fconst(b, ty, 0.0);
    let is_zero = b.ins().fcmp(FloatCC::Equal, x, zero);
    let ninf = fconst(b, ty, f64::NEG_INFINITY);
    let r = select_float(b, is_zero, ninf, r);
    // `UnorderedOrLessThan` has no aarch64 vector lowering: build it from two portable compares.
    let neg = b.ins().fcmp(FloatCC::LessThan, x, zero);
    let nan_in = b.ins().fcmp(FloatCC::NotEqual, x, x);
    let neg_or_nan = b.ins().bor(neg, nan_in);
    let nan = fconst(b, ty, f64::NAN);
    select_float(b, neg_or_nan, nan, r)
}
