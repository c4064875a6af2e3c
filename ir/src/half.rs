//! Half-precision floats (IEEE binary16 `f16` and Google's `bf16`) as storage types.
//!
//! Why storage only: onnxruntime computes most f16/bf16 ops on CPU by widening to f32, and the
//! CPUs kiln targets have no portable half arithmetic that Cranelift lowers everywhere. So the
//! IR keeps half tensors as raw `u16` bits ([`F16`], [`BF16`]) and only `Cast` (plus pure data
//! movement) touches them; the frontend wraps every other op in casts to and from f32.
//!
//! The conversions here are the one definition of the rounding rules, done with integer
//! operations on the bits so the backend's Cast kernel can emit exactly the same sequence
//! (no libcalls, no reliance on hardware half support):
//! - widening (half -> f32) is exact, NaN payloads kept;
//! - narrowing rounds to nearest, ties to even, overflowing to infinity, producing subnormals,
//!   and keeps the sign and the top payload bits of NaNs with the quiet bit set (what x86's
//!   `vcvtps2ph` and numpy do);
//! - f64 narrows through f32 rounded *to odd*, which makes the two roundings equal one
//!   (f32 keeps more than two extra bits beyond either half format), matching numpy's direct
//!   `astype(float16)` instead of double-rounding.

/// An IEEE binary16 value, stored as its bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct F16(pub u16);

/// A bfloat16 value (the top half of an f32), stored as its bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct BF16(pub u16);

impl F16 {
    pub fn from_bits(bits: u16) -> F16 {
        F16(bits)
    }
    pub fn to_f32(self) -> f32 {
        f16_bits_to_f32(self.0)
    }
    pub fn from_f32(x: f32) -> F16 {
        F16(f32_to_f16_bits(x))
    }
    pub fn from_f64(x: f64) -> F16 {
        F16(f32_to_f16_bits(f64_to_f32_round_odd(x)))
    }
}

impl BF16 {
    pub fn from_bits(bits: u16) -> BF16 {
        BF16(bits)
    }
    pub fn to_f32(self) -> f32 {
        f32::from_bits(u32::from(self.0) << 16)
    }
    pub fn from_f32(x: f32) -> BF16 {
        BF16(f32_to_bf16_bits(x))
    }
    pub fn from_f64(x: f64) -> BF16 {
        BF16(f32_to_bf16_bits(f64_to_f32_round_odd(x)))
    }
}

/// Exponent bias difference between f32 (127) and f16 (15), in f32 exponent position.
const REBIAS: u32 = (127 - 15) << 23;
/// `2^-14`, the smallest normal f16, as f32 bits.
const F16_MIN_NORMAL: u32 = 113 << 23;

/// f16 bits to f32, exactly. Subnormals are renormalised by one float subtraction
/// (Fabian Giesen's `half_to_float`): `(m * 2^-24)` is `bits(2^-14 + m*2^-24) - 2^-14`.
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = u32::from(h);
    let body = (h & 0x7fff) << 13;
    let exp = body & 0x0f80_0000;
    let sign = (h & 0x8000) << 16;
    let bits = if exp == 0x0f80_0000 {
        body + REBIAS + (112 << 23) // inf / NaN: exponent 255
    } else if exp == 0 {
        let v = f32::from_bits(body + REBIAS + (1 << 23)) - f32::from_bits(F16_MIN_NORMAL);
        v.to_bits()
    } else {
        body + REBIAS
    };
    f32::from_bits(bits | sign)
}

/// f32 to f16 bits, round to nearest even (Giesen's `float_to_half_fast3_rtne`): subnormal
/// results come from one float addition of a magic number (the FPU rounds), normal ones from an
/// integer add of a rounding bias plus the parity bit of the kept mantissa.
pub fn f32_to_f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let a = bits & 0x7fff_ffff;
    let magnitude = if a > 0x7f80_0000 {
        0x7e00 | ((a >> 13) & 0x3ff) as u16 // NaN: quiet, top payload bits kept
    } else if a >= (127 + 16) << 23 {
        0x7c00 // >= 65536 (or inf): infinity
    } else if a < F16_MIN_NORMAL {
        let magic = ((127 - 15) + (23 - 10) + 1) << 23;
        let v = f32::from_bits(a) + f32::from_bits(magic);
        (v.to_bits() - magic) as u16
    } else {
        let odd = (a >> 13) & 1;
        ((a.wrapping_sub(REBIAS) + 0xfff + odd) >> 13) as u16
    };
    sign | magnitude
}

/// f32 to bf16 bits, round to nearest even; NaNs keep sign and top payload, made quiet.
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    if bits & 0x7fff_ffff > 0x7f80_0000 {
        return ((bits >> 16) | 0x0040) as u16;
    }
    let odd = (bits >> 16) & 1;
    (bits.wrapping_add(0x7fff + odd) >> 16) as u16
}

/// f64 to f32 rounded to odd: truncate toward zero and set the last bit when inexact.
/// Narrowing the result again to a format with at least two fewer mantissa bits rounds as if
/// directly from `x`.
pub fn f64_to_f32_round_odd(x: f64) -> f32 {
    let near = x as f32;
    let back = f64::from(near);
    if x.is_nan() || back == x {
        return near;
    }
    let mut bits = near.to_bits();
    if back.abs() > x.abs() {
        bits -= 1; // one step toward zero (magnitude bits; `near` is not zero here)
    }
    f32::from_bits(bits | 1)
}
