//! f16/bf16 <-> f32 conversions for the Cast kernel, as integer code on the bits.
//!
//! Why integer code: native objects must have no undefined symbols, and whether Cranelift lowers
//! its `f16` type's conversions without libcalls on every target kiln supports (baseline x86-64
//! has no F16C; bf16 has no Cranelift type at all) was not something to build on. Integer ops,
//! `bitcast`, one `fadd`/`fsub` and `fdemote`/`fpromote` between f32 and f64 lower everywhere
//! (checked: JIT on host and baseline x86-64, compiled for aarch64, `nm -u` empty on both). The
//! reference evaluator converts with the `half` crate (`kiln_ir::half`), an independent
//! implementation of the same rules, and the kernel must agree with it bit for bit:
//! - f16 -> f32: shift the exponent/mantissa into place and rebias; subnormals are renormalised
//!   by one float subtraction; infinities and NaNs get exponent 255.
//! - f32 -> f16: round to nearest even by an integer add of `0xfff + parity`; subnormal results
//!   by one float addition of a magic number (the FPU rounds ties to even); >= 65536 -> inf;
//!   NaN -> quiet NaN keeping the top payload bits.
//! - bf16 is the top half of an f32: a shift one way, a rounding add and a shift the other.
//! - f64 sources narrow through f32 rounded to odd, so the result is rounded once.
//!
//! Half values travel as `i16` (see `crate::emit::clif_type`).

use cranelift_codegen::ir::{condcodes::FloatCC, condcodes::IntCC, types, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::DType;

const REBIAS: i64 = (127 - 15) << 23;
const F16_MIN_NORMAL: i64 = 113 << 23;

fn to_f32(b: &mut FunctionBuilder, bits: Value) -> Value {
    b.ins().bitcast(types::F32, MemFlagsData::new(), bits)
}
fn to_i32(b: &mut FunctionBuilder, x: Value) -> Value {
    b.ins().bitcast(types::I32, MemFlagsData::new(), x)
}

/// Widens an `i16` holding f16 (`from == F16`) or bf16 bits to f32, exactly.
pub(crate) fn widen(b: &mut FunctionBuilder, x: Value, from: DType) -> Value {
    let h = b.ins().uextend(types::I32, x);
    if from == DType::BF16 {
        let bits = b.ins().ishl_imm_u(h, 16);
        return to_f32(b, bits);
    }
    let low = b.ins().band_imm_u(h, 0x7fff);
    let body = b.ins().ishl_imm_u(low, 13);
    let exp = b.ins().band_imm_u(body, 0x0f80_0000);
    let normal = b.ins().iadd_imm_s(body, REBIAS);
    let special = b.ins().iadd_imm_s(body, REBIAS + (112 << 23));
    let sub_bits = b.ins().iadd_imm_s(body, REBIAS + (1 << 23));
    let sub_f = to_f32(b, sub_bits);
    let min_normal = b.ins().f32const(f32::from_bits(F16_MIN_NORMAL as u32));
    let sub_f = b.ins().fsub(sub_f, min_normal);
    let sub = to_i32(b, sub_f);
    let is_special = b.ins().icmp_imm_u(IntCC::Equal, exp, 0x0f80_0000);
    let is_sub = b.ins().icmp_imm_u(IntCC::Equal, exp, 0);
    let r = b.ins().select(is_special, special, normal);
    let r = b.ins().select(is_sub, sub, r);
    let sign_bit = b.ins().band_imm_u(h, 0x8000);
    let sign = b.ins().ishl_imm_u(sign_bit, 16);
    let r = b.ins().bor(r, sign);
    to_f32(b, r)
}

/// Narrows an f32 to f16 (`to == F16`) or bf16 bits in an `i16`, rounding to nearest even.
pub(crate) fn narrow(b: &mut FunctionBuilder, x: Value, to: DType) -> Value {
    let bits = to_i32(b, x);
    let r = if to == DType::BF16 { narrow_bf16(b, bits) } else { narrow_f16(b, bits) };
    b.ins().ireduce(types::I16, r)
}

fn narrow_bf16(b: &mut FunctionBuilder, bits: Value) -> Value {
    let hi = b.ins().ushr_imm_u(bits, 16);
    let odd = b.ins().band_imm_u(hi, 1);
    let bias = b.ins().iadd_imm_s(odd, 0x7fff);
    let rounded = b.ins().iadd(bits, bias);
    let rounded = b.ins().ushr_imm_u(rounded, 16);
    let quiet_nan = b.ins().bor_imm_u(hi, 0x0040);
    let a = b.ins().band_imm_u(bits, 0x7fff_ffff);
    let is_nan = b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, a, 0x7f80_0000);
    b.ins().select(is_nan, quiet_nan, rounded)
}

fn narrow_f16(b: &mut FunctionBuilder, bits: Value) -> Value {
    let a = b.ins().band_imm_u(bits, 0x7fff_ffff);
    // Normal results: rebias, add 0xfff + parity of the kept mantissa, shift.
    let parity = b.ins().ushr_imm_u(a, 13);
    let parity = b.ins().band_imm_u(parity, 1);
    let normal = b.ins().iadd_imm_s(a, 0xfff - REBIAS);
    let normal = b.ins().iadd(normal, parity);
    let normal = b.ins().ushr_imm_u(normal, 13);
    // Subnormal results: the FPU rounds `a + 0.5`; the ulps above 0.5 are the mantissa.
    let magic = ((127 - 15) + (23 - 10) + 1) << 23;
    let af = to_f32(b, a);
    let magic_f = b.ins().f32const(f32::from_bits(magic as u32));
    let sum = b.ins().fadd(af, magic_f);
    let sum = to_i32(b, sum);
    let sub = b.ins().iadd_imm_s(sum, -magic);
    // NaN keeps its top payload bits, quiet; large values and infinity give infinity.
    let payload = b.ins().ushr_imm_u(a, 13);
    let payload = b.ins().band_imm_u(payload, 0x3ff);
    let nan = b.ins().bor_imm_u(payload, 0x7e00);
    let inf = b.ins().iconst(types::I32, 0x7c00);
    let is_sub = b.ins().icmp_imm_u(IntCC::UnsignedLessThan, a, F16_MIN_NORMAL);
    let r = b.ins().select(is_sub, sub, normal);
    let is_big = b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, a, (127 + 16) << 23);
    let r = b.ins().select(is_big, inf, r);
    let is_nan = b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, a, 0x7f80_0000);
    let r = b.ins().select(is_nan, nan, r);
    let sign = b.ins().ushr_imm_u(bits, 16);
    let sign = b.ins().band_imm_u(sign, 0x8000);
    b.ins().bor(r, sign)
}

/// f64 to f32 rounded to odd: when `fdemote` was inexact, step toward zero if it rounded away,
/// then set the last bit. NaN and exact results pass through.
pub(crate) fn f64_to_f32_round_odd(b: &mut FunctionBuilder, x: Value) -> Value {
    let near = b.ins().fdemote(types::F32, x);
    let back = b.ins().fpromote(types::F64, near);
    let inexact = b.ins().fcmp(FloatCC::OrderedNotEqual, back, x);
    let (abs_back, abs_x) = (b.ins().fabs(back), b.ins().fabs(x));
    let away = b.ins().fcmp(FloatCC::GreaterThan, abs_back, abs_x);
    let bits = to_i32(b, near);
    let toward_zero = b.ins().iadd_imm_s(bits, -1);
    let bits_tz = b.ins().select(away, toward_zero, bits);
    let odd = b.ins().bor_imm_u(bits_tz, 1);
    let r = b.ins().select(inexact, odd, bits);
    to_f32(b, r)
}
