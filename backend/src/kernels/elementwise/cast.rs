//! One element of Cast, with Rust `as` semantics for every pair of dtypes (what the reference
//! evaluator does): integers widen by the source's signedness and narrow by truncation; floats
//! to integers truncate toward zero and saturate, NaN giving 0; anything to bool is `!= 0`
//! (NaN is true); bool is the byte 0/1, converted as `u8`.
//!
//! f16/bf16 go through f32 ([`super::half`]): a half source is widened exactly and then converted
//! as an f32; a half target is narrowed from f32, from f64 rounded to odd, or from an integer or
//! bool converted to f64 first (exact up to 2^53), so every path rounds once, like the evaluator.
//!
//! The 8/4-bit floats and 2/4-bit integers ([`super::minifloat`]) follow the same pattern: a
//! minifloat source decodes exactly to f32, a sub-byte integer source is read as the `i8`/`u8`
//! it is held in; a minifloat target is encoded from f32 (reached like a half target, with one
//! rounding), a sub-byte integer target truncates into an i64 and wraps to its bits.
//!
//! Float-to-narrow-integer conversions clamp in float first and then convert to `i32`/`i64`,
//! since Cranelift has saturating conversions to 32 and 64 bits only.

use super::float::clamp;
use super::half;
use super::minifloat;
use crate::emit::clif_type;
use cranelift_codegen::ir::{condcodes::FloatCC, condcodes::IntCC, types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::DType;

/// Converts `x` of dtype `from` to dtype `to`.
pub(crate) fn convert(b: &mut FunctionBuilder, x: Value, from: DType, to: DType) -> Value {
    if from == to {
        return x;
    }
    if from.is_half() {
        let f = half::widen(b, x, from);
        return convert(b, f, DType::F32, to);
    }
    if from.is_minifloat() {
        let f = minifloat::widen(b, x, from);
        return convert(b, f, DType::F32, to);
    }
    if from.is_sub_byte_int() {
        let held = if from.is_signed_narrow() { DType::I8 } else { DType::U8 };
        return convert(b, x, held, to);
    }
    if to.is_half() {
        let f = to_f32_once(b, x, from);
        return half::narrow(b, f, to);
    }
    if to.is_minifloat() {
        let f = to_f32_once(b, x, from);
        return minifloat::narrow(b, f, to);
    }
    if to.is_sub_byte_int() {
        let wide = convert(b, x, from, DType::I64);
        return minifloat::wrap_int(b, wide, to);
    }
    if to == DType::Bool {
        return to_bool(b, x, from);
    }
    let from = if from == DType::Bool { DType::U8 } else { from };
    match (from.is_float(), to.is_float()) {
        (true, true) => float_to_float(b, x, to),
        (false, true) => int_to_float(b, x, from, to),
        (true, false) => float_to_int(b, x, to),
        (false, false) => int_to_int(b, x, from, to),
    }
}

/// `x` as the f32 a storage type is narrowed from, rounded once (f64 and wide integers
/// through f64 rounded to odd).
fn to_f32_once(b: &mut FunctionBuilder, x: Value, from: DType) -> Value {
    match from {
        DType::F32 => x,
        DType::F64 => half::f64_to_f32_round_odd(b, x),
        _ => {
            let wide = convert(b, x, from, DType::F64);
            half::f64_to_f32_round_odd(b, wide)
        }
    }
}

fn to_bool(b: &mut FunctionBuilder, x: Value, from: DType) -> Value {
    if from.is_float() {
        let zero = if from == DType::F64 { b.ins().f64const(0.0) } else { b.ins().f32const(0.0) };
        b.ins().fcmp(FloatCC::NotEqual, x, zero)
    } else {
        b.ins().icmp_imm_u(IntCC::NotEqual, x, 0)
    }
}

fn float_to_float(b: &mut FunctionBuilder, x: Value, to: DType) -> Value {
    if to == DType::F64 {
        b.ins().fpromote(types::F64, x)
    } else {
        b.ins().fdemote(types::F32, x)
    }
}

fn int_to_float(b: &mut FunctionBuilder, x: Value, from: DType, to: DType) -> Value {
    let x = if from.size() < 4 { extend(b, x, from, types::I32) } else { x };
    let ft = clif_type(to);
    if from.is_signed_int() {
        b.ins().fcvt_from_sint(ft, x)
    } else {
        b.ins().fcvt_from_uint(ft, x)
    }
}

/// Widens `x` to `t` by `from`'s signedness.
fn extend(b: &mut FunctionBuilder, x: Value, from: DType, t: Type) -> Value {
    if from.is_signed_int() {
        b.ins().sextend(t, x)
    } else {
        b.ins().uextend(t, x)
    }
}

fn int_to_int(b: &mut FunctionBuilder, x: Value, from: DType, to: DType) -> Value {
    let (fs, ts) = (from.size(), to.size());
    let t = clif_type(to);
    if fs == ts {
        x
    } else if fs < ts {
        extend(b, x, from, t)
    } else {
        b.ins().ireduce(t, x)
    }
}

/// The value range of an integer dtype narrower than 64 bits, as floats.
fn range_of(to: DType) -> (f64, f64) {
    match to {
        DType::I8 => (i8::MIN as f64, i8::MAX as f64),
        DType::U8 => (0.0, u8::MAX as f64),
        DType::I16 => (i16::MIN as f64, i16::MAX as f64),
        DType::U16 => (0.0, u16::MAX as f64),
        _ => (i32::MIN as f64, i32::MAX as f64),
    }
}

fn float_to_int(b: &mut FunctionBuilder, x: Value, to: DType) -> Value {
    match to {
        DType::I32 => b.ins().fcvt_to_sint_sat(types::I32, x),
        DType::I64 => b.ins().fcvt_to_sint_sat(types::I64, x),
        DType::U64 => b.ins().fcvt_to_uint_sat(types::I64, x),
        DType::U32 => {
            // u32::MAX is not an f32: saturate in i64 instead of clamping in float.
            let v = b.ins().fcvt_to_sint_sat(types::I64, x);
            let zero = b.ins().iconst(types::I64, 0);
            let max = b.ins().iconst(types::I64, u32::MAX as i64);
            let neg = b.ins().icmp(IntCC::SignedLessThan, v, zero);
            let v = b.ins().select(neg, zero, v);
            let big = b.ins().icmp(IntCC::SignedGreaterThan, v, max);
            let v = b.ins().select(big, max, v);
            b.ins().ireduce(types::I32, v)
        }
        _ => {
            let (lo, hi) = range_of(to);
            let x = clamp(b, x, lo, hi);
            // Bounds of 8/16-bit types are exact in f32; they fit i32.
            let v = b.ins().fcvt_to_sint_sat(types::I32, x);
            b.ins().ireduce(clif_type(to), v)
        }
    }
}
