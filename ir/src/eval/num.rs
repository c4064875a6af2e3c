//! Element arithmetic for the evaluator: one trait per capability, implemented per dtype.
//!
//! - [`Num`]: the numeric types (every dtype but bool) with ONNX integer semantics: add, sub and
//!   mul wrap (two's complement, as onnxruntime and numpy do), division truncates toward zero
//!   and reports division by zero, `Max`/`Min` propagate NaN (numpy `maximum`/`minimum`).
//!   Each numeric type has an accumulator ([`Num::Acc`]): `f64` for the float types (sums and
//!   dot products of f32 are accumulated in f64 and rounded once at the end, so the oracle is
//!   at least as accurate as any kernel), and the type itself, wrapping, for integers (so that
//!   integer sums wrap exactly like a kernel working in the element type).
//! - [`Float`]: the float types with the math functions, computed in the element type
//!   (`f32::exp` for f32); only `erf` goes through f64 (see `erf.rs`).
//! - [`Scalar`]/[`CastElem`]: exact conversion between any two dtypes for `Cast`.
//!
//! The `for_*!` macros run a generic body once per dtype of a class, binding a type alias.

use crate::dtype::DType;
use crate::tensor::{Element, Tensor};

/// A type with wrapping ring arithmetic: the accumulator of sums and dot products.
pub trait Ring: Copy {
    fn zero() -> Self;
    fn one() -> Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// The value as f64 (for means and roots of integer sums).
    fn as_f64(self) -> f64;
}

/// The numeric element types.
pub trait Num: Element + PartialOrd + Ring {
    /// The type sums are accumulated in.
    type Acc: Ring;
    const IS_FLOAT: bool;
    /// The smallest and largest values (infinities for floats).
    const LOWEST: Self;
    const HIGHEST: Self;
    /// The most negative finite value (`-f32::MAX` for f32, `MIN` for integers).
    const MIN_FINITE: Self;
    fn to_acc(self) -> Self::Acc;
    fn from_acc(a: Self::Acc) -> Self;
    fn sub(self, o: Self) -> Self;
    fn div(self, o: Self) -> Result<Self, String>;
    fn pow(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs(self) -> Self;
    fn sign(self) -> Self;
    fn is_nan(self) -> bool;
    /// A f32 attribute (Clip bounds) converted into the type, saturating.
    fn from_f32_attr(v: f32) -> Self;
    /// NaN-propagating maximum (numpy `maximum`).
    fn max_nan(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            if self.is_nan() {
                self
            } else {
                o
            }
        } else if o > self {
            o
        } else {
            self
        }
    }
    /// NaN-propagating minimum (numpy `minimum`).
    fn min_nan(self, o: Self) -> Self {
        if self.is_nan() || o.is_nan() {
            if self.is_nan() {
                self
            } else {
                o
            }
        } else if o < self {
            o
        } else {
            self
        }
    }
}

macro_rules! impl_float_num {
    ($t:ty) => {
        impl Ring for $t {
            fn zero() -> Self {
                0.0
            }
            fn one() -> Self {
                1.0
            }
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn as_f64(self) -> f64 {
                f64::from(self)
            }
        }

        impl Num for $t {
            type Acc = f64;
            const IS_FLOAT: bool = true;
            const LOWEST: Self = <$t>::NEG_INFINITY;
            const HIGHEST: Self = <$t>::INFINITY;
            const MIN_FINITE: Self = <$t>::MIN;
            fn to_acc(self) -> f64 {
                self as f64
            }
            fn from_acc(a: f64) -> Self {
                a as $t
            }
            fn sub(self, o: Self) -> Self {
                self - o
            }
            fn div(self, o: Self) -> Result<Self, String> {
                Ok(self / o)
            }
            fn pow(self, o: Self) -> Self {
                self.powf(o)
            }
            fn neg(self) -> Self {
                -self
            }
            fn abs(self) -> Self {
                self.abs()
            }
            fn sign(self) -> Self {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else {
                    self // 0, -0 and NaN map to themselves (numpy sign)
                }
            }
            fn is_nan(self) -> bool {
                self.is_nan()
            }
            fn from_f32_attr(v: f32) -> Self {
                v as $t
            }
        }
    };
}
impl_float_num!(f32);
impl_float_num!(f64);

macro_rules! impl_int_num {
    ($t:ty, $signed:expr) => {
        impl Ring for $t {
            fn zero() -> Self {
                0
            }
            fn one() -> Self {
                1
            }
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
        impl Num for $t {
            type Acc = $t;
            const IS_FLOAT: bool = false;
            const LOWEST: Self = <$t>::MIN;
            const HIGHEST: Self = <$t>::MAX;
            const MIN_FINITE: Self = <$t>::MIN;
            fn to_acc(self) -> Self {
                self
            }
            fn from_acc(a: Self) -> Self {
                a
            }
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn div(self, o: Self) -> Result<Self, String> {
                if o == 0 {
                    return Err("integer division by zero".into());
                }
                Ok(self.wrapping_div(o))
            }
            /// Integer power; a negative exponent gives the truncated reciprocal power
            /// (0 unless the base is 1 or -1), as onnxruntime's `pow` through double does.
            #[allow(unused_comparisons)]
            fn pow(self, o: Self) -> Self {
                if o < 0 {
                    let one: $t = 1;
                    return if self == one {
                        one
                    } else if $signed && self.wrapping_add(one) == 0 {
                        // base -1: +1 for even exponents, -1 for odd.
                        if o % 2 == 0 {
                            one
                        } else {
                            self
                        }
                    } else {
                        0
                    };
                }
                let e = o as u128;
                self.wrapping_pow(e.min(u32::MAX as u128) as u32)
            }
            fn neg(self) -> Self {
                self.wrapping_neg()
            }
            #[allow(unused_comparisons)]
            fn abs(self) -> Self {
                if self < 0 {
                    self.wrapping_neg()
                } else {
                    self
                }
            }
            #[allow(unused_comparisons)]
            fn sign(self) -> Self {
                if self > 0 {
                    1
                } else if self < 0 {
                    (0 as $t).wrapping_sub(1)
                } else {
                    0
                }
            }
            fn is_nan(self) -> bool {
                false
            }
            fn from_f32_attr(v: f32) -> Self {
                v as $t
            }
        }
    };
}
impl_int_num!(i8, true);
impl_int_num!(u8, false);
impl_int_num!(i16, true);
impl_int_num!(u16, false);
impl_int_num!(i32, true);
impl_int_num!(u32, false);
impl_int_num!(i64, true);
impl_int_num!(u64, false);

/// The float element types and their math, computed in the element type.
pub trait Float: Num {
    fn exp(self) -> Self;
    fn exp_m1(self) -> Self;
    fn ln(self) -> Self;
    fn ln_1p(self) -> Self;
    fn sqrt(self) -> Self;
    fn tanh(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn round_even(self) -> Self;
    fn erf(self) -> Self;
}

macro_rules! impl_float {
    ($t:ty) => {
        impl Float for $t {
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            fn round_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            fn erf(self) -> Self {
                super::erf::erf(self as f64) as $t
            }
        }
    };
}
impl_float!(f32);
impl_float!(f64);

/// Any element value, widened without loss: the pivot of `Cast`.
#[derive(Clone, Copy, Debug)]
pub enum Scalar {
    F(f64),
    I(i128),
    B(bool),
}

/// Conversion through [`Scalar`] with ONNX Cast semantics: float to int truncates toward zero
/// (saturating, NaN to 0, as Rust `as`; ONNX leaves out-of-range undefined), int to int wraps
/// (two's complement, as numpy `astype`), anything to bool is `!= 0` (NaN is true).
pub trait CastElem: Element {
    fn to_scalar(self) -> Scalar;
    fn from_scalar(s: Scalar) -> Self;
}

macro_rules! impl_cast {
    ($t:ty, $variant:ident) => {
        impl CastElem for $t {
            fn to_scalar(self) -> Scalar {
                Scalar::$variant(self as _)
            }
            fn from_scalar(s: Scalar) -> Self {
                match s {
                    Scalar::F(v) => v as $t,
                    Scalar::I(v) => v as $t,
                    Scalar::B(b) => b as u8 as $t,
                }
            }
        }
    };
}
impl_cast!(f32, F);
impl_cast!(f64, F);
impl_cast!(i8, I);
impl_cast!(u8, I);
impl_cast!(i16, I);
impl_cast!(u16, I);
impl_cast!(i32, I);
impl_cast!(u32, I);
impl_cast!(i64, I);
impl_cast!(u64, I);

/// Half types widen exactly to f32 and narrow from f64 with one rounding (see `crate::half`);
/// integers and bools become floats first, as ONNX Cast does.
macro_rules! impl_half_cast {
    ($t:ty) => {
        impl CastElem for $t {
            fn to_scalar(self) -> Scalar {
                Scalar::F(f64::from(self.to_f32()))
            }
            fn from_scalar(s: Scalar) -> Self {
                match s {
                    Scalar::F(v) => <$t>::from_f64(v),
                    Scalar::I(v) => <$t>::from_f64(v as f64),
                    Scalar::B(b) => <$t>::from_f64(if b { 1.0 } else { 0.0 }),
                }
            }
        }
    };
}
impl_half_cast!(crate::half::F16);
impl_half_cast!(crate::half::BF16);

impl CastElem for bool {
    fn to_scalar(self) -> Scalar {
        Scalar::B(self)
    }
    fn from_scalar(s: Scalar) -> Self {
        match s {
            Scalar::F(v) => v != 0.0,
            Scalar::I(v) => v != 0,
            Scalar::B(b) => b,
        }
    }
}

/// Runs `$body` with `$T` aliased to the Rust type of dtype `$d` (every dtype).
#[macro_export]
#[doc(hidden)]
macro_rules! for_all_dtypes {
    ($d:expr, $T:ident => $body:expr) => {
        match $d {
            $crate::DType::F16 => {
                type $T = $crate::half::F16;
                $body
            }
            $crate::DType::BF16 => {
                type $T = $crate::half::BF16;
                $body
            }
            $crate::DType::F8E4M3FN => {
                type $T = $crate::narrow::F8E4M3FN;
                $body
            }
            $crate::DType::F8E4M3FNUZ => {
                type $T = $crate::narrow::F8E4M3FNUZ;
                $body
            }
            $crate::DType::F8E5M2 => {
                type $T = $crate::narrow::F8E5M2;
                $body
            }
            $crate::DType::F8E5M2FNUZ => {
                type $T = $crate::narrow::F8E5M2FNUZ;
                $body
            }
            $crate::DType::F8E8M0 => {
                type $T = $crate::narrow::F8E8M0;
                $body
            }
            $crate::DType::F4E2M1 => {
                type $T = $crate::narrow::F4E2M1;
                $body
            }
            $crate::DType::I4 => {
                type $T = $crate::narrow::I4;
                $body
            }
            $crate::DType::U4 => {
                type $T = $crate::narrow::U4;
                $body
            }
            $crate::DType::I2 => {
                type $T = $crate::narrow::I2;
                $body
            }
            $crate::DType::U2 => {
                type $T = $crate::narrow::U2;
                $body
            }
            d => $crate::for_num_dtypes!(d, $T => $body, bool => { type $T = bool; $body }),
        }
    };
}

/// Runs `$body` with `$T` aliased to the Rust type of numeric dtype `$d`; bool and the
/// storage-only half and narrow types run `$other` (every caller's `$other` is an "unsupported" error).
#[macro_export]
#[doc(hidden)]
macro_rules! for_num_dtypes {
    ($d:expr, $T:ident => $body:expr, bool => $other:expr) => {
        match $d {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::I8 => {
                type $T = i8;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::I16 => {
                type $T = i16;
                $body
            }
            $crate::DType::U16 => {
                type $T = u16;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            $crate::DType::Bool | $crate::DType::F16 | $crate::DType::BF16 => $other,
            $crate::DType::F8E4M3FN
            | $crate::DType::F8E4M3FNUZ
            | $crate::DType::F8E5M2
            | $crate::DType::F8E5M2FNUZ
            | $crate::DType::F8E8M0
            | $crate::DType::F4E2M1
            | $crate::DType::I4
            | $crate::DType::U4
            | $crate::DType::I2
            | $crate::DType::U2 => $other,
        }
    };
}

/// Runs `$body` with `$T` aliased to f32 or f64; other dtypes run `$other`.
#[macro_export]
#[doc(hidden)]
macro_rules! for_float_dtypes {
    ($d:expr, $T:ident => $body:expr, else => $other:expr) => {
        match $d {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            _ => $other,
        }
    };
}

/// The elements of `t` as a `T` slice, or an error naming the mismatch.
pub fn slice_of<T: Element>(t: &Tensor) -> Result<&[T], String> {
    t.as_slice::<T>().ok_or_else(|| format!("expected a {} tensor, got {}", T::DTYPE, t.ty()))
}

/// A tensor of `shape` from elements whose count is known to match.
pub fn tensor_of<T: Element>(shape: &[usize], v: Vec<T>) -> Result<Tensor, String> {
    let n = v.len();
    Tensor::new(shape.to_vec(), T::wrap(v)).ok_or_else(|| format!("internal: {n} elements do not fill shape {shape:?}"))
}

/// An error for a dtype an op cannot take (only reachable if inference let it through).
pub fn unsupported(what: &str, d: DType) -> String {
    format!("{what} does not support dtype {d}")
}
