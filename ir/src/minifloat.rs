//! The 8-bit and 4-bit floats of ONNX (FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2,
//! FLOAT8E5M2FNUZ, FLOAT8E8M0, FLOAT4E2M1): bit-exact conversions to and from f32.
//!
//! Like [`crate::half`], these are storage types: their values are codes in a byte, arithmetic
//! is done in f32, and the rules here are the one definition of the rounding, written as
//! integer operations on the bits so the backend's Cast kernel
//! (`kiln_backend`'s `elementwise/minifloat.rs`) emits the same sequence, step for step.
//!
//! Semantics follow the ONNX reference (`onnx.reference.ops.op_cast`, which uses ml_dtypes),
//! checked against it value by value:
//! - decoding is exact (every code is an f32);
//! - encoding rounds to nearest, ties to even (subnormal results by one float addition of a
//!   magic number, as in `half`; normal ones by an integer add of a rounding bias plus the
//!   parity of the kept mantissa);
//! - `saturate` (the Cast attribute, default 1) clamps overflow and infinities to the largest
//!   finite value; without it E5M2 overflows to infinity and the types without infinity give
//!   NaN. FLOAT4E2M1 has neither and always saturates (ml_dtypes does too);
//! - NaN becomes the type's NaN: `S.1111.111` (E4M3FN) and `S.11111.10` (E5M2) keep the sign,
//!   the FNUZ types have the single NaN `0x80` and no negative zero. FLOAT4E2M1 has no NaN:
//!   ml_dtypes gives `0x8` for +NaN and `0x0` for -NaN, and so does kiln;
//! - FLOAT8E8M0 is an unsigned power of two `2^(e-127)` (`0xff` is NaN, no zero): converting
//!   keeps the f32 exponent field and rounds by the Cast `round_mode` (`onnx.numpy_helper.
//!   to_float8e8m0`: "up" adds one when any mantissa bit is set, "down" truncates, "nearest"
//!   uses guard/round/sticky bits); the sign is dropped and `saturate` stops rounding past
//!   `0xfe`.
//! f64 sources go through f32 rounded to odd first ([`crate::half::f64_to_f32_round_odd`]),
//! which cannot change the final rounding (f32 keeps far more than two extra bits).

/// What a format does with values it cannot represent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Specials {
    /// IEEE-like (E5M2): all-ones exponent is infinity (mantissa 0) or NaN.
    Ieee,
    /// E4M3FN: no infinity; the all-ones code `S.1111.111` is NaN.
    FiniteNanAllOnes,
    /// FNUZ: no infinity, no negative zero; `0x80` is the only NaN.
    Fnuz,
    /// E2M1: no infinity, no NaN.
    Finite,
}

/// A sign-exponent-mantissa minifloat layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    pub exp_bits: u32,
    pub man_bits: u32,
    pub bias: i32,
    pub specials: Specials,
}

pub const E4M3FN: Format = Format { exp_bits: 4, man_bits: 3, bias: 7, specials: Specials::FiniteNanAllOnes };
pub const E4M3FNUZ: Format = Format { exp_bits: 4, man_bits: 3, bias: 8, specials: Specials::Fnuz };
pub const E5M2: Format = Format { exp_bits: 5, man_bits: 2, bias: 15, specials: Specials::Ieee };
pub const E5M2FNUZ: Format = Format { exp_bits: 5, man_bits: 2, bias: 16, specials: Specials::Fnuz };
pub const E2M1: Format = Format { exp_bits: 2, man_bits: 1, bias: 1, specials: Specials::Finite };

impl Format {
    /// The sign bit of a code.
    pub const fn sign_bit(self) -> u32 {
        1 << (self.exp_bits + self.man_bits)
    }
    /// The largest finite magnitude code.
    pub const fn max_code(self) -> u32 {
        let all = self.sign_bit() - 1;
        match self.specials {
            Specials::Ieee => all - (1 << self.man_bits), // exponent all ones is inf/NaN
            Specials::FiniteNanAllOnes => all - 1,
            Specials::Fnuz | Specials::Finite => all,
        }
    }
    /// f32 bits of the smallest normal value, `2^(1-bias)`.
    pub const fn min_normal_bits(self) -> u32 {
        ((128 - self.bias) as u32) << 23
    }
    /// `(127 - bias) << 23`: moves an f32 exponent to this format's.
    pub const fn rebias(self) -> u32 {
        ((127 - self.bias) as u32) << 23
    }
    /// f32 bits of `2^(24 - bias - man_bits)`: adding it to a value below the smallest normal
    /// leaves the subnormal code in the low bits (its ulp is the subnormal step).
    pub const fn magic_bits(self) -> u32 {
        ((127 - self.bias) as u32 + (23 - self.man_bits) + 1) << 23
    }
    /// f32 bits of the subnormal step `2^(1 - bias - man_bits)`.
    pub const fn step_bits(self) -> u32 {
        ((128 - self.bias) as u32 - self.man_bits) << 23
    }
    /// The code NaN becomes (`sign` is 0 or [`Format::sign_bit`]).
    pub const fn nan_code(self, sign: u32) -> u32 {
        match self.specials {
            Specials::Ieee => (((1 << self.exp_bits) - 1) << self.man_bits) | (1 << (self.man_bits - 1)) | sign,
            Specials::FiniteNanAllOnes => (self.sign_bit() - 1) | sign,
            Specials::Fnuz => self.sign_bit(),
            Specials::Finite => sign ^ self.sign_bit(),
        }
    }
    /// The code an overflowing magnitude becomes without saturation (before the sign).
    pub const fn overflow_code(self) -> u32 {
        match self.specials {
            Specials::Ieee => self.max_code() + 1,
            Specials::FiniteNanAllOnes => self.sign_bit() - 1,
            Specials::Fnuz => self.sign_bit(),
            Specials::Finite => self.max_code(),
        }
    }
    /// True when an overflow code takes the sign (not the FNUZ NaN).
    pub const fn overflow_signed(self) -> bool {
        !matches!(self.specials, Specials::Fnuz)
    }
}

/// Decodes `code` (low `1 + exp_bits + man_bits` bits) to f32, exactly.
pub fn decode(f: Format, code: u8) -> f32 {
    let c = u32::from(code) & (2 * f.sign_bit() - 1);
    let sign = (c & f.sign_bit()) << (31 - f.exp_bits - f.man_bits);
    let mag = c & (f.sign_bit() - 1);
    let exp = mag >> f.man_bits;
    let nan = match f.specials {
        Specials::Ieee => exp == (1 << f.exp_bits) - 1 && mag & ((1 << f.man_bits) - 1) != 0,
        Specials::FiniteNanAllOnes => mag == f.sign_bit() - 1,
        Specials::Fnuz => c == f.sign_bit(),
        Specials::Finite => false,
    };
    if nan {
        return f32::from_bits(sign | 0x7fc0_0000);
    }
    let bits = if f.specials == Specials::Ieee && exp == (1 << f.exp_bits) - 1 {
        0x7f80_0000
    } else if exp == 0 {
        (mag as f32 * f32::from_bits(f.step_bits())).to_bits()
    } else {
        (mag << (23 - f.man_bits)) + f.rebias()
    };
    f32::from_bits(bits | sign)
}

/// Encodes `x`, rounding to nearest even; see the module docs for `saturate`.
pub fn encode(f: Format, x: f32, saturate: bool) -> u8 {
    let bits = x.to_bits();
    let a = bits & 0x7fff_ffff;
    let sign = (bits >> (31 - f.exp_bits - f.man_bits)) & f.sign_bit();
    if a > 0x7f80_0000 {
        return f.nan_code(sign) as u8;
    }
    let mag = round_magnitude(f, a);
    let (mag, signed) = if mag <= f.max_code() {
        (mag, !(f.specials == Specials::Fnuz && mag == 0))
    } else if saturate {
        (f.max_code(), true)
    } else {
        (f.overflow_code(), f.overflow_signed())
    };
    (if signed { mag | sign } else { mag }) as u8
}

/// The rounded magnitude code of the f32 magnitude bits `a` (may exceed [`Format::max_code`]).
fn round_magnitude(f: Format, a: u32) -> u32 {
    if a < f.min_normal_bits() {
        let v = f32::from_bits(a) + f32::from_bits(f.magic_bits());
        return v.to_bits() - f.magic_bits();
    }
    let shift = 23 - f.man_bits;
    let odd = (a >> shift) & 1;
    (a - f.rebias() + (1 << (shift - 1)) - 1 + odd) >> shift
}

/// FLOAT8E8M0 rounding modes (the Cast `round_mode` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum E8M0Round {
    Up,
    Down,
    Nearest,
}

impl E8M0Round {
    /// Parses the ONNX attribute value.
    pub fn parse(s: &str) -> Option<E8M0Round> {
        match s {
            "up" => Some(E8M0Round::Up),
            "down" => Some(E8M0Round::Down),
            "nearest" => Some(E8M0Round::Nearest),
            _ => None,
        }
    }
}

/// FLOAT8E8M0 code to f32: `2^(code-127)`, `0xff` NaN (code 0 is the f32 subnormal 2^-127).
pub fn e8m0_decode(code: u8) -> f32 {
    match code {
        0xff => f32::NAN,
        0 => f32::from_bits(0x0040_0000),
        c => f32::from_bits(u32::from(c) << 23),
    }
}

/// f32 to FLOAT8E8M0 as `onnx.numpy_helper.to_float8e8m0` (sign dropped, inf/NaN to `0xff`).
pub fn e8m0_encode(x: f32, saturate: bool, round: E8M0Round) -> u8 {
    let bits = x.to_bits();
    let exp = (bits >> 23) & 0xff;
    if exp == 0xff {
        return 0xff;
    }
    let up = match round {
        E8M0Round::Down => false,
        E8M0Round::Up => bits & 0x7f_ffff != 0,
        E8M0Round::Nearest => {
            let guard = bits & 0x40_0000 != 0;
            let rest = bits & 0x3f_ffff != 0;
            guard && (rest || exp > 0)
        }
    };
    let up = up && !(saturate && exp == 0xfe);
    (exp + u32::from(up)) as u8
}

/// Any float or integer value to a sub-byte integer of `bits` bits: floats truncate toward zero
/// (NaN to 0, saturating at the i64 range), then the value wraps modulo `2^bits` (what
/// ml_dtypes' `astype(int4)` does: -9 becomes 7). Signed results are sign-extended.
pub fn wrap_int(v: i128, bits: u32, signed: bool) -> i32 {
    let low = (v as u8) & ((1u8 << bits) - 1);
    if signed {
        i32::from(((low << (8 - bits)) as i8) >> (8 - bits))
    } else {
        i32::from(low)
    }
}

/// The sign-exponent-mantissa layout of a minifloat dtype (`None` for F8E8M0 and the rest).
pub fn format_of(d: crate::DType) -> Option<Format> {
    use crate::DType;
    match d {
        DType::F8E4M3FN => Some(E4M3FN),
        DType::F8E4M3FNUZ => Some(E4M3FNUZ),
        DType::F8E5M2 => Some(E5M2),
        DType::F8E5M2FNUZ => Some(E5M2FNUZ),
        DType::F4E2M1 => Some(E2M1),
        _ => None,
    }
}
