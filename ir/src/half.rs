//! Half-precision floats (IEEE binary16 `f16` and Google's `bf16`) as storage types.
//!
//! Why storage only: onnxruntime computes most f16/bf16 ops on CPU by widening to f32, and the
//! CPUs kiln targets have no portable half arithmetic that Cranelift lowers everywhere. So the
//! IR keeps half tensors as raw `u16` bits ([`F16`], [`BF16`]) and only `Cast` (plus pure data
//! movement) touches them; the frontend wraps every other op in casts to and from f32.
//!
//! The conversions are the `half` crate's (its software path: `default-features = false`, so
//! no run-time CPU detection and the same bits on every machine), and they are the reference
//! the backend's Cast kernel (`backend/src/kernels/elementwise/half.rs`, integer operations on
//! the bits, no libcalls) is tested against:
//! - narrowing f32 rounds to nearest, ties to even, overflowing to infinity, producing
//!   subnormals, and keeps the sign and the top payload bits of NaNs with the quiet bit set
//!   (what x86's `vcvtps2ph` and numpy do): `half` as it is;
//! - widening (half -> f32) is exact. For NaNs kiln keeps the payload as it is, signalling bit
//!   included (numpy's `npy_halfbits_to_floatbits` and the Cast kernel do), where `half` sets
//!   the quiet bit: the NaN line of [`f16_bits_to_f32`], and bf16 widening stays the shift into
//!   the top half of an f32 that defines the format;
//! - f64 narrows through f32 rounded *to odd* ([`f64_to_f32_round_odd`], also used by the
//!   8/4-bit types in `minifloat.rs`), which makes the two roundings equal one (f32 keeps more
//!   than two extra bits beyond either half format), matching numpy's direct `astype(float16)`.
//!   Kept by hand because `half`'s own `from_f64` is not correctly rounded: it drops the low 32
//!   bits of the f64 mantissa before rounding (a value just above a tie rounds as the tie), and
//!   with its `std` feature on an F16C machine it rounds to f32 first (double rounding);
//!   `ir/tests/half.rs` shows both.

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
    /// The bits as the top half of an f32: exact, NaN payloads kept (`half` would set the quiet
    /// bit of a signalling NaN; see the module doc).
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

/// f16 bits to f32, exactly (`half`), NaN payloads kept as they are (see the module doc).
pub fn f16_bits_to_f32(h: u16) -> f32 {
    if h & 0x7c00 == 0x7c00 && h & 0x03ff != 0 {
        return f32::from_bits((u32::from(h & 0x8000) << 16) | 0x7f80_0000 | (u32::from(h & 0x03ff) << 13));
    }
    half::f16::from_bits(h).to_f32()
}

/// f32 to f16 bits, round to nearest even (`half`).
pub fn f32_to_f16_bits(x: f32) -> u16 {
    half::f16::from_f32(x).to_bits()
}

/// f32 to bf16 bits, round to nearest even; NaNs keep sign and top payload, made quiet (`half`).
pub fn f32_to_bf16_bits(x: f32) -> u16 {
    half::bf16::from_f32(x).to_bits()
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
