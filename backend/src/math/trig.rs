//! `sin` and `cos` (Cephes `sinf`/`cosf`): reduce `|x|` to an octant of width pi/4 with pi/4
//! split in three parts, evaluate a sine or cosine polynomial and fix the sign from the octant.
//! Accurate for `|x| <= 8192`; beyond, the reduction loses bits (as Cephes). `+-inf` and NaN
//! give NaN.

use super::lanes::*;
use cranelift_codegen::ir::{condcodes::FloatCC, condcodes::IntCC, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// The reduced argument `r` in `[-pi/4, pi/4]` and the even octant index `j` (integer lanes).
fn reduce(b: &mut FunctionBuilder, a: Value) -> (Value, Value) {
    let ty = ty_of(b, a);
    let ity = int_of(ty);
    let k = fconst(b, ty, 4.0 / std::f64::consts::PI);
    let scaled = b.ins().fmul(a, k);
    let j = b.ins().fcvt_to_sint_sat(ity, scaled);
    let one = iconst(b, ity, 1);
    let j = b.ins().iadd(j, one);
    let even = iconst(b, ity, !1);
    let j = b.ins().band(j, even);
    let jf = b.ins().fcvt_from_sint(ty, j);
    let mut r = a;
    for dp in [0.78515625, 2.4187564849853515625e-4, 3.77489497744594108e-8] {
        let c = fconst(b, ty, dp);
        let t = b.ins().fmul(jf, c);
        r = b.ins().fsub(r, t);
    }
    (r, j)
}

/// `sin(r)` for `|r| <= pi/4`.
fn sin_poly(b: &mut FunctionBuilder, r: Value, z: Value) -> Value {
    let p = poly(b, z, &[-1.9515295891E-4, 8.3321608736E-3, -1.6666654611E-1]);
    let t = b.ins().fmul(p, z);
    let t = b.ins().fmul(t, r);
    b.ins().fadd(t, r)
}

/// `cos(r)` for `|r| <= pi/4`.
fn cos_poly(b: &mut FunctionBuilder, z: Value) -> Value {
    let ty = ty_of(b, z);
    let p = poly(b, z, &[2.443315711809948E-005, -1.388731625493765E-003, 4.166664568298827E-002]);
    let z2 = b.ins().fmul(z, z);
    let t = b.ins().fmul(p, z2);
    let h = fconst(b, ty, -0.5);
    let hz = b.ins().fmul(z, h);
    let t = b.ins().fadd(t, hz);
    let one = fconst(b, ty, 1.0);
    b.ins().fadd(t, one)
}

/// Nonzero-lane mask of `j & bit`.
fn bit_set(b: &mut FunctionBuilder, j: Value, bit: i64) -> Value {
    let ity = ty_of(b, j);
    let m = iconst(b, ity, bit);
    let t = b.ins().band(j, m);
    let zero = iconst(b, ity, 0);
    b.ins().icmp(IntCC::NotEqual, t, zero)
}

/// Integer sign bits: `(j & 4) << 29` (bit 2 of the octant moved to the sign position).
fn octant_sign(b: &mut FunctionBuilder, j: Value) -> Value {
    let ity = ty_of(b, j);
    let m = iconst(b, ity, 4);
    let t = b.ins().band(j, m);
    b.ins().ishl_imm_u(t, 29)
}

/// NaN where `|x|` is infinite (NaN inputs are NaN already).
fn nan_for_inf(b: &mut FunctionBuilder, a: Value, r: Value) -> Value {
    let ty = ty_of(b, a);
    let inf = fconst(b, ty, f64::INFINITY);
    let is_inf = b.ins().fcmp(FloatCC::Equal, a, inf);
    let nan = fconst(b, ty, f64::NAN);
    select_float(b, is_inf, nan, r)
}

/// Sine.
pub fn sin(b: &mut FunctionBuilder, x: Value) -> Value {
    let a = abs(b, x);
    let (r, j) = reduce(b, a);
    let z = b.ins().fmul(r, r);
    let s = sin_poly(b, r, z);
    let c = cos_poly(b, z);
    let use_cos = bit_set(b, j, 2);
    let y = select_float(b, use_cos, c, s);
    let xs = sign_bits(b, x);
    let os = octant_sign(b, j);
    let sign = b.ins().bxor(xs, os);
    let y = xor_sign(b, y, sign);
    nan_for_inf(b, a, y)
}

/// Cosine.
pub fn cos(b: &mut FunctionBuilder, x: Value) -> Value {
    let a = abs(b, x);
    let (r, j) = reduce(b, a);
    let z = b.ins().fmul(r, r);
    let s = sin_poly(b, r, z);
    let c = cos_poly(b, z);
    let use_sin = bit_set(b, j, 2);
    let y = select_float(b, use_sin, s, c);
    let ity = ty_of(b, j);
    let two = iconst(b, ity, 2);
    let j2 = b.ins().iadd(j, two);
    let sign = octant_sign(b, j2);
    let y = xor_sign(b, y, sign);
    nan_for_inf(b, a, y)
}
