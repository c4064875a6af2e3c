//! Element types for the narrow storage dtypes (8/4-bit floats, 4/2-bit integers) and the
//! packing of the sub-byte ones in ONNX files.
//!
//! Each type is a one-byte newtype so `TensorData` can hold it and generic evaluator code
//! (movement, Where, Cast) runs on it unchanged. They are unpacked inside kiln (see
//! [`crate::dtype`]'s docs for why): `I4`/`I2` hold the sign-extended value, `U4`/`U2` the value,
//! `F4E2M1` its 4-bit code and the 8-bit floats their byte. [`pack`] and [`unpack`] convert to
//! and from ONNX's packed layout (low bits first, the last byte padded with zeros) and are the
//! only place that layout exists.
//!
//! Conversions follow ONNX Cast with its defaults (`saturate=1`, E8M0 `round_mode="up"`):
//! floats via [`crate::minifloat`]; to sub-byte integers by truncation and wrapping
//! ([`crate::minifloat::wrap_int`]).

use crate::dtype::DType;
use crate::eval::num::{CastElem, Scalar};
use crate::half::f64_to_f32_round_odd;
use crate::minifloat::{self as mf, E8M0Round};
use crate::tensor::{Element, TensorData};

macro_rules! narrow_newtype {
    ($($t:ident($inner:ty): $doc:literal;)*) => {$(
        #[doc = $doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
        #[repr(transparent)]
        pub struct $t(pub $inner);

        impl Element for $t {
            const DTYPE: DType = DType::$t;
            fn to_f64(self) -> f64 {
                match self.to_scalar() {
                    Scalar::F(v) => v,
                    Scalar::I(v) => v as f64,
                    Scalar::B(b) => f64::from(u8::from(b)),
                }
            }
            fn from_f64(v: f64) -> Self {
                Self::from_scalar(Scalar::F(v))
            }
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$t(v)
            }
            fn unwrap(d: &TensorData) -> Option<&Vec<Self>> {
                match d {
                    TensorData::$t(v) => Some(v),
                    _ => None,
                }
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.push(self.0 as u8);
            }
            fn read_le(bytes: &[u8]) -> Self {
                $t(bytes[0] as $inner)
            }
        }
    )*};
}

narrow_newtype! {
    F8E4M3FN(u8): "FLOAT8E4M3FN, as its code.";
    F8E4M3FNUZ(u8): "FLOAT8E4M3FNUZ, as its code.";
    F8E5M2(u8): "FLOAT8E5M2, as its code.";
    F8E5M2FNUZ(u8): "FLOAT8E5M2FNUZ, as its code.";
    F8E8M0(u8): "FLOAT8E8M0 (a power of two), as its code.";
    F4E2M1(u8): "FLOAT4E2M1, as its 4-bit code in the low bits.";
    I4(i8): "INT4, sign-extended to a byte.";
    U4(u8): "UINT4, one per byte.";
    I2(i8): "INT2, sign-extended to a byte.";
    U2(u8): "UINT2, one per byte.";
}

/// A scalar as the f32 a minifloat is encoded from (one rounding overall, see `minifloat`).
fn as_f32(s: Scalar) -> f32 {
    match s {
        Scalar::F(v) => f64_to_f32_round_odd(v),
        Scalar::I(v) => f64_to_f32_round_odd(v as f64),
        Scalar::B(b) => f32::from(u8::from(b)),
    }
}

macro_rules! minifloat_cast {
    ($t:ident, $fmt:expr) => {
        impl CastElem for $t {
            fn to_scalar(self) -> Scalar {
                Scalar::F(f64::from(mf::decode($fmt, self.0)))
            }
            fn from_scalar(s: Scalar) -> Self {
                $t(mf::encode($fmt, as_f32(s), true))
            }
        }
    };
}
minifloat_cast!(F8E4M3FN, mf::E4M3FN);
minifloat_cast!(F8E4M3FNUZ, mf::E4M3FNUZ);
minifloat_cast!(F8E5M2, mf::E5M2);
minifloat_cast!(F8E5M2FNUZ, mf::E5M2FNUZ);
minifloat_cast!(F4E2M1, mf::E2M1);

impl CastElem for F8E8M0 {
    fn to_scalar(self) -> Scalar {
        Scalar::F(f64::from(mf::e8m0_decode(self.0)))
    }
    fn from_scalar(s: Scalar) -> Self {
        F8E8M0(mf::e8m0_encode(as_f32(s), true, E8M0Round::Up))
    }
}

/// A scalar as the integer a sub-byte integer wraps (floats truncated, NaN 0).
fn as_int(s: Scalar) -> i128 {
    match s {
        Scalar::F(v) => i128::from(v as i64),
        Scalar::I(v) => v,
        Scalar::B(b) => i128::from(b),
    }
}

macro_rules! sub_byte_cast {
    ($t:ident, $inner:ty, $bits:expr, $signed:expr) => {
        impl CastElem for $t {
            fn to_scalar(self) -> Scalar {
                Scalar::I(i128::from(self.0))
            }
            fn from_scalar(s: Scalar) -> Self {
                $t(mf::wrap_int(as_int(s), $bits, $signed) as $inner)
            }
        }
    };
}
sub_byte_cast!(I4, i8, 4, true);
sub_byte_cast!(U4, u8, 4, false);
sub_byte_cast!(I2, i8, 2, true);
sub_byte_cast!(U2, u8, 2, false);

/// Packs unpacked bytes (one element each) `8 / bits` per byte, low bits first; the last byte is
/// padded with zero bits. Values are masked to `bits`.
pub fn pack(unpacked: &[u8], bits: u32) -> Vec<u8> {
    let per = (8 / bits) as usize;
    let mask = (1u8 << bits) - 1;
    unpacked
        .chunks(per)
        .map(|c| c.iter().enumerate().fold(0u8, |acc, (i, &v)| acc | ((v & mask) << (i as u32 * bits))))
        .collect()
}

/// Unpacks `numel` elements of `bits` bits from `packed` (low bits first), sign-extending when
/// `signed`; `None` when `packed` has not exactly `ceil(numel * bits / 8)` bytes.
pub fn unpack(packed: &[u8], numel: usize, bits: u32, signed: bool) -> Option<Vec<u8>> {
    let per = (8 / bits) as usize;
    if packed.len() != numel.div_ceil(per) {
        return None;
    }
    let out = (0..numel).map(|i| {
        let v = (packed[i / per] >> ((i % per) as u32 * bits)) & ((1u8 << bits) - 1);
        if signed {
            (((v << (8 - bits)) as i8) >> (8 - bits)) as u8
        } else {
            v
        }
    });
    Some(out.collect())
}

/// Bytes `numel` elements of `dtype` take in an ONNX file (packed for the sub-byte types);
/// `None` on overflow.
pub fn file_byte_len(dtype: DType, numel: usize) -> Option<usize> {
    match dtype.packed_bits() {
        Some(bits) => Some(numel.div_ceil((8 / bits) as usize)),
        None => numel.checked_mul(dtype.size()),
    }
}

/// The dense little-endian bytes of `data` as ONNX files hold them (sub-byte types packed).
pub fn to_file_bytes(data: &TensorData) -> Vec<u8> {
    let bytes = data.to_le_bytes();
    match data.dtype().packed_bits() {
        Some(bits) => pack(&bytes, bits),
        None => bytes,
    }
}

/// Parses `numel` elements of `dtype` from file bytes (sub-byte types packed); `None` when the
/// length does not match.
pub fn from_file_bytes(dtype: DType, bytes: &[u8], numel: usize) -> Option<TensorData> {
    let data = match dtype.packed_bits() {
        Some(bits) => TensorData::from_le_bytes(dtype, &unpack(bytes, numel, bits, dtype.is_signed_narrow())?)?,
        None => TensorData::from_le_bytes(dtype, bytes)?,
    };
    (data.len() == numel).then_some(data)
}
