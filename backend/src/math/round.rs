//! `floor`, `ceil` and round-half-to-even without libcalls. With `has_round` (x64 SSE4.1,
//! aarch64) Cranelift's own instructions are used; without it they would become calls to
//! `floorf` and friends, so the magic-number trick is used instead: for `|x| < 2^23` (2^52 for
//! f64), `(|x| + 2^23) - 2^23` rounds to an integer half-to-even in the default rounding mode;
//! larger values are integers already. Works for `f32`, `f64` and their vectors; NaN stays NaN.

use super::lanes::*;
use cranelift_codegen::ir::{condcodes::FloatCC, types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// Round half to even, by the magic-number trick (sign restored, so -0.3 gives -0.0).
fn round_even_soft(b: &mut FunctionBuilder, x: Value) -> Value {
    let ty = ty_of(b, x);
    let big = if ty.lane_type() == types::F64 { 4503599627370496.0 } else { 8388608.0 };
    let k = fconst(b, ty, big);
    let a = abs(b, x);
    let t = b.ins().fadd(a, k);
    let r = b.ins().fsub(t, k);
    let s = sign_bits(b, x);
    let r = xor_sign(b, r, s);
    let fractional_possible = b.ins().fcmp(FloatCC::LessThan, a, k);
    select_float(b, fractional_possible, r, x)
}

/// Round half to even.
pub fn round_even(b: &mut FunctionBuilder, x: Value, has_round: bool) -> Value {
    if has_round {
        b.ins().nearest(x)
    } else {
        round_even_soft(b, x)
    }
}

/// Largest integer `<= x`.
pub fn floor(b: &mut FunctionBuilder, x: Value, has_round: bool) -> Value {
    if has_round {
        return b.ins().floor(x);
    }
    let ty = ty_of(b, x);
    let r = round_even_soft(b, x);
    let too_big = b.ins().fcmp(FloatCC::GreaterThan, r, x);
    let one = fconst(b, ty, 1.0);
    let r1 = b.ins().fsub(r, one);
    select_float(b, too_big, r1, r)
}

/// Smallest integer `>= x`.
pub fn ceil(b: &mut FunctionBuilder, x: Value, has_round: bool) -> Value {
    if has_round {
        return b.ins().ceil(x);
    }
    let ty = ty_of(b, x);
    let r = round_even_soft(b, x);
    let too_small = b.ins().fcmp(FloatCC::LessThan, r, x);
    let one = fconst(b, ty, 1.0);
    let r1 = b.ins().fadd(r, one);
    select_float(b, too_small, r1, r)
}
