//! Helpers that make one piece of IR-building code serve both `f32` and `f32x4`: typed
//! constants, bit casts between a float type and its same-width integer type, lane-wise selects
//! and Horner polynomials. The math functions are written once against these.

use cranelift_codegen::ir::{condcodes::FloatCC, types, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// The type of `v`.
pub(crate) fn ty_of(b: &FunctionBuilder, v: Value) -> Type {
    b.func.dfg.value_type(v)
}

/// `v` as a constant of float type `ty` (`f32`, `f64` or a vector of them: splatted).
pub fn fconst(b: &mut FunctionBuilder, ty: Type, v: f64) -> Value {
    let lane = ty.lane_type();
    let s = if lane == types::F64 { b.ins().f64const(v) } else { b.ins().f32const(v as f32) };
    if ty.is_vector() {
        b.ins().splat(ty, s)
    } else {
        s
    }
}

/// `v` as a constant of integer type `ty` (scalar or vector: splatted).
/// Narrow lanes take the value's low bits (Cranelift wants narrow immediates zero-extended).
pub(crate) fn iconst(b: &mut FunctionBuilder, ty: Type, v: i64) -> Value {
    let bits = ty.lane_bits();
    let v = if bits < 64 { v & ((1i64 << bits) - 1) } else { v };
    let s = b.ins().iconst(ty.lane_type(), v);
    if ty.is_vector() {
        b.ins().splat(ty, s)
    } else {
        s
    }
}

/// The integer type with the lanes of float type `ty` (`f32` -> `i32`, `f32x4` -> `i32x4`).
pub(crate) fn int_of(ty: Type) -> Type {
    ty.as_int()
}

/// Reinterprets a float as its integer bits (same lane count, so no lane-order flag matters).
pub(crate) fn to_bits(b: &mut FunctionBuilder, x: Value) -> Value {
    let ity = int_of(ty_of(b, x));
    b.ins().bitcast(ity, MemFlagsData::new(), x)
}

/// Reinterprets integer bits as float type `ty`.
pub(crate) fn from_bits(b: &mut FunctionBuilder, ty: Type, i: Value) -> Value {
    b.ins().bitcast(ty, MemFlagsData::new(), i)
}

/// Lane-wise `mask ? a : c` for float values; `mask` is the result of an `fcmp`/`icmp` on the
/// same lane layout (`i8` for scalars, an all-ones/zero integer vector for vectors).
pub fn select_float(b: &mut FunctionBuilder, mask: Value, a: Value, c: Value) -> Value {
    let ty = ty_of(b, a);
    if ty.is_vector() {
        let m = b.ins().bitcast(ty, MemFlagsData::new(), mask);
        b.ins().bitselect(m, a, c)
    } else {
        b.ins().select(mask, a, c)
    }
}

/// `a > c ? a : c`: one `maxps` on x64. NaN in `c` is returned as is; NaN in `a` gives `c`.
pub fn max_or_nan_first(b: &mut FunctionBuilder, a: Value, c: Value) -> Value {
    let gt = b.ins().fcmp(FloatCC::GreaterThan, a, c);
    select_float(b, gt, a, c)
}

/// `x > hi ? hi : x`, keeping NaN.
pub(crate) fn clamp_above(b: &mut FunctionBuilder, x: Value, hi: f64) -> Value {
    let ty = ty_of(b, x);
    let h = fconst(b, ty, hi);
    let over = b.ins().fcmp(FloatCC::GreaterThan, x, h);
    select_float(b, over, h, x)
}

/// `x < lo ? lo : x`, keeping NaN.
pub(crate) fn clamp_below(b: &mut FunctionBuilder, x: Value, lo: f64) -> Value {
    let ty = ty_of(b, x);
    let l = fconst(b, ty, lo);
    let under = b.ins().fcmp(FloatCC::LessThan, x, l);
    select_float(b, under, l, x)
}

/// `c[0]*x^(n-1) + ... + c[n-1]` (highest degree first) by Estrin's scheme: pairs
/// `c[k] * x + c[k+1]` combined with `x^2`, `x^4`, ... so the dependency chain is ~log2(n)
/// multiply-adds deep instead of Horner's n-1. Kernels of exp-based functions were bound by that
/// chain (1.3 ns per element for exp), not by throughput. `fmul` + `fadd`, since a vector `fma`
/// would be a libcall on x64 without FMA.
pub(crate) fn poly(b: &mut FunctionBuilder, x: Value, coeffs: &[f64]) -> Value {
    let ty = ty_of(b, x);
    // Lowest degree first: p(x) = sum a[i] x^i.
    let mut terms: Vec<Value> = coeffs.iter().rev().map(|&c| fconst(b, ty, c)).collect();
    let mut power = x;
    while terms.len() > 1 {
        terms = terms
            .chunks(2)
            .map(|pair| match pair.get(1) {
                Some(&hi) => {
                    let m = b.ins().fmul(hi, power);
                    b.ins().fadd(m, pair[0])
                }
                None => pair[0],
            })
            .collect();
        if terms.len() > 1 {
            power = b.ins().fmul(power, power);
        }
    }
    terms[0]
}
/// The sign-bit mask of integer lanes `ity` (`1 << (bits-1)`).
fn sign_mask(ity: Type) -> i64 {
    1i64.wrapping_shl(ity.lane_bits() - 1)
}

/// The IEEE sign bit of `x` (any float type) as integer bits.
pub(crate) fn sign_bits(b: &mut FunctionBuilder, x: Value) -> Value {
    let bits = to_bits(b, x);
    let ity = ty_of(b, bits);
    let m = iconst(b, ity, sign_mask(ity));
    b.ins().band(bits, m)
}

/// `|x|` by clearing the sign bit (any float type).
pub(crate) fn abs(b: &mut FunctionBuilder, x: Value) -> Value {
    let ty = ty_of(b, x);
    let bits = to_bits(b, x);
    let ity = ty_of(b, bits);
    let m = iconst(b, ity, !sign_mask(ity));
    let a = b.ins().band(bits, m);
    from_bits(b, ty, a)
}

/// `x` with `sign` (integer bits from [`sign_bits`]) XORed into its sign bit.
pub(crate) fn xor_sign(b: &mut FunctionBuilder, x: Value, sign: Value) -> Value {
    let ty = ty_of(b, x);
    let bits = to_bits(b, x);
    let r = b.ins().bxor(bits, sign);
    from_bits(b, ty, r)
}

/// Rounds `x` (|x| < 2^22) to the nearest integer, ties to even, by adding and subtracting
/// 1.5 * 2^23; returns the rounded float and the integer (from the low mantissa bits).
pub(crate) fn round_magic(b: &mut FunctionBuilder, x: Value) -> (Value, Value) {
    const MAGIC: f64 = 12582912.0; // 1.5 * 2^23
    let ty = ty_of(b, x);
    let k = fconst(b, ty, MAGIC);
    let t = b.ins().fadd(x, k);
    let rounded = b.ins().fsub(t, k);
    let bits = to_bits(b, t);
    let ity = ty_of(b, bits);
    let kb = iconst(b, ity, 0x4B40_0000);
    let n = b.ins().isub(bits, kb);
    (rounded, n)
}

/// `2^n` for integer lanes `n` in `[-126, 127]`, as float type `ty`.
pub(crate) fn pow2_int(b: &mut FunctionBuilder, ty: Type, n: Value) -> Value {
    let ity = int_of(ty);
    let bias = iconst(b, ity, 127);
    let e = b.ins().iadd(n, bias);
    let sh = b.ins().ishl_imm_u(e, 23);
    from_bits(b, ty, sh)
}
