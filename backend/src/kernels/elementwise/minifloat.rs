//! 8-bit and 4-bit float and 2/4-bit integer conversions for the Cast kernel, as integer code.
//!
//! Why integer code: the same reason as [`super::half`] (no libcalls, no hardware support
//! assumed). The sequences mirror `kiln_ir::minifloat` step for step (that module documents the
//! rules and is the evaluator's definition), so kernel and evaluator agree bit for bit:
//! - decode: move the exponent/mantissa into f32 position and rebias; subnormals are the
//!   mantissa converted to float times the subnormal step (exact); then the format's NaN and
//!   infinity codes;
//! - encode: normal results by an integer add of a rounding bias plus the parity of the kept
//!   mantissa, subnormal ones by one float addition of a magic number (the FPU rounds ties to
//!   even); magnitudes past the largest finite code saturate (Cast's default `saturate=1`);
//!   NaN becomes the format's NaN; FNUZ zero drops the sign;
//! - FLOAT8E8M0 keeps the f32 exponent byte, rounding up when any mantissa bit is set (Cast's
//!   default `round_mode="up"`), but not past `0xfe`;
//! - sub-byte integers are held one per byte (sign-extended when signed), so reading one is a
//!   byte read; writing one truncates toward zero into an i64 (saturating, NaN 0) and wraps to
//!   the type's bits, as ml_dtypes does.
//! All these values travel as `i8` (see `crate::emit::clif_type`).

use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::minifloat::{format_of, Format, Specials};
use kiln_ir::DType;

fn to_f32(b: &mut FunctionBuilder, bits: Value) -> Value {
    b.ins().bitcast(types::F32, MemFlagsData::new(), bits)
}
fn to_i32(b: &mut FunctionBuilder, x: Value) -> Value {
    b.ins().bitcast(types::I32, MemFlagsData::new(), x)
}
fn imm(b: &mut FunctionBuilder, v: u32) -> Value {
    b.ins().iconst(types::I32, i64::from(v))
}

/// Decodes an `i8` holding a minifloat code of dtype `from` (including F8E8M0) to f32, exactly.
pub(crate) fn widen(b: &mut FunctionBuilder, x: Value, from: DType) -> Value {
    let c = b.ins().uextend(types::I32, x);
    match format_of(from) {
        Some(f) => decode(b, c, f),
        None => decode_e8m0(b, c),
    }
}

fn decode(b: &mut FunctionBuilder, c: Value, f: Format) -> Value {
    let c = b.ins().band_imm_u(c, i64::from(2 * f.sign_bit() - 1));
    let sign = b.ins().band_imm_u(c, i64::from(f.sign_bit()));
    let sign = b.ins().ishl_imm_u(sign, i64::from(31 - f.exp_bits - f.man_bits));
    let mag = b.ins().band_imm_u(c, i64::from(f.sign_bit() - 1));
    let shifted = b.ins().ishl_imm_u(mag, i64::from(23 - f.man_bits));
    let normal = b.ins().iadd_imm_s(shifted, i64::from(f.rebias()));
    let mag_f = b.ins().fcvt_from_uint(types::F32, mag);
    let step = b.ins().f32const(f32::from_bits(f.step_bits()));
    let sub = b.ins().fmul(mag_f, step);
    let sub = to_i32(b, sub);
    let exp = b.ins().ushr_imm_u(mag, i64::from(f.man_bits));
    let is_sub = b.ins().icmp_imm_u(IntCC::Equal, exp, 0);
    let r = b.ins().select(is_sub, sub, normal);
    let r = decode_specials(b, f, c, mag, exp, r);
    let r = b.ins().bor(r, sign);
    to_f32(b, r)
}

/// Replaces the f32 magnitude bits `r` by infinity or NaN for the format's special codes.
fn decode_specials(b: &mut FunctionBuilder, f: Format, c: Value, mag: Value, exp: Value, r: Value) -> Value {
    let nan = imm(b, 0x7fc0_0000);
    match f.specials {
        Specials::Ieee => {
            let top = b.ins().icmp_imm_u(IntCC::Equal, exp, (1 << f.exp_bits) - 1);
            let man = b.ins().band_imm_u(mag, (1 << f.man_bits) - 1);
            let has_man = b.ins().icmp_imm_u(IntCC::NotEqual, man, 0);
            let inf = imm(b, 0x7f80_0000);
            let special = b.ins().select(has_man, nan, inf);
            b.ins().select(top, special, r)
        }
        Specials::FiniteNanAllOnes => {
            let is_nan = b.ins().icmp_imm_u(IntCC::Equal, mag, i64::from(f.sign_bit() - 1));
            b.ins().select(is_nan, nan, r)
        }
        Specials::Fnuz => {
            let is_nan = b.ins().icmp_imm_u(IntCC::Equal, c, i64::from(f.sign_bit()));
            b.ins().select(is_nan, nan, r)
        }
        Specials::Finite => r,
    }
}

fn decode_e8m0(b: &mut FunctionBuilder, c: Value) -> Value {
    let normal = b.ins().ishl_imm_u(c, 23);
    let tiny = imm(b, 0x0040_0000);
    let nan = imm(b, 0x7fc0_0000);
    let is_zero = b.ins().icmp_imm_u(IntCC::Equal, c, 0);
    let r = b.ins().select(is_zero, tiny, normal);
    let is_nan = b.ins().icmp_imm_u(IntCC::Equal, c, 0xff);
    let r = b.ins().select(is_nan, nan, r);
    to_f32(b, r)
}

/// Encodes an f32 as a minifloat code of dtype `to` (including F8E8M0) in an `i8`, with Cast's
/// default `saturate=1` (and `round_mode="up"` for F8E8M0).
pub(crate) fn narrow(b: &mut FunctionBuilder, x: Value, to: DType) -> Value {
    let bits = to_i32(b, x);
    let r = match format_of(to) {
        Some(f) => encode(b, bits, f),
        None => encode_e8m0(b, bits),
    };
    b.ins().ireduce(types::I8, r)
}

fn encode(b: &mut FunctionBuilder, bits: Value, f: Format) -> Value {
    let a = b.ins().band_imm_u(bits, 0x7fff_ffff);
    let sign = b.ins().ushr_imm_u(bits, i64::from(31 - f.exp_bits - f.man_bits));
    let sign = b.ins().band_imm_u(sign, i64::from(f.sign_bit()));
    let mag = round_magnitude(b, f, a);
    let over = b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, mag, i64::from(f.max_code()));
    let max = imm(b, f.max_code());
    let mag = b.ins().select(over, max, mag);
    let signed = b.ins().bor(mag, sign);
    let r = if f.specials == Specials::Fnuz {
        let zero = b.ins().icmp_imm_u(IntCC::Equal, mag, 0);
        b.ins().select(zero, mag, signed)
    } else {
        signed
    };
    let nan = match f.specials {
        Specials::Ieee | Specials::FiniteNanAllOnes => b.ins().bor_imm_u(sign, i64::from(f.nan_code(0))),
        Specials::Fnuz => imm(b, f.nan_code(0)),
        Specials::Finite => b.ins().bxor_imm_u(sign, i64::from(f.sign_bit())),
    };
    let is_nan = b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, a, 0x7f80_0000);
    b.ins().select(is_nan, nan, r)
}

/// The rounded magnitude code of the f32 magnitude bits `a` (may exceed the largest code).
fn round_magnitude(b: &mut FunctionBuilder, f: Format, a: Value) -> Value {
    let shift = 23 - f.man_bits;
    let odd = b.ins().ushr_imm_u(a, i64::from(shift));
    let odd = b.ins().band_imm_u(odd, 1);
    let biased = b.ins().iadd_imm_s(a, (1i64 << (shift - 1)) - 1 - i64::from(f.rebias()));
    let biased = b.ins().iadd(biased, odd);
    let normal = b.ins().ushr_imm_u(biased, i64::from(shift));
    let af = to_f32(b, a);
    let magic = b.ins().f32const(f32::from_bits(f.magic_bits()));
    let sum = b.ins().fadd(af, magic);
    let sum = to_i32(b, sum);
    let sub = b.ins().iadd_imm_s(sum, -i64::from(f.magic_bits()));
    let is_sub = b.ins().icmp_imm_u(IntCC::UnsignedLessThan, a, i64::from(f.min_normal_bits()));
    b.ins().select(is_sub, sub, normal)
}

fn encode_e8m0(b: &mut FunctionBuilder, bits: Value) -> Value {
    let exp = b.ins().ushr_imm_u(bits, 23);
    let exp = b.ins().band_imm_u(exp, 0xff);
    let frac = b.ins().band_imm_u(bits, 0x7f_ffff);
    let has_frac = b.ins().icmp_imm_u(IntCC::NotEqual, frac, 0);
    let below_max = b.ins().icmp_imm_u(IntCC::NotEqual, exp, 0xfe);
    let up = b.ins().band(has_frac, below_max);
    let up = b.ins().uextend(types::I32, up);
    let r = b.ins().iadd(exp, up);
    let special = b.ins().icmp_imm_u(IntCC::Equal, exp, 0xff);
    let all = imm(b, 0xff);
    b.ins().select(special, all, r)
}

/// Wraps an `i64` to a sub-byte integer dtype's bits, sign-extended in an `i8` when signed.
pub(crate) fn wrap_int(b: &mut FunctionBuilder, v: Value, to: DType) -> Value {
    let bits = to.packed_bits().unwrap_or(8);
    let v = b.ins().ireduce(types::I8, v);
    if to.is_signed_narrow() {
        let up = b.ins().ishl_imm_u(v, i64::from(8 - bits));
        b.ins().sshr_imm_u(up, i64::from(8 - bits))
    } else {
        b.ins().band_imm_u(v, (1 << bits) - 1)
    }
}
