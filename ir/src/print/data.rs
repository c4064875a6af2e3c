//! Numbers and constant data as text, bit-exact both ways.
//!
//! [`TextElement`] is the one place where an element of each dtype is spelled and read back,
//! shared with the parser. Floats use Rust's shortest round-tripping repr; NaNs other than the
//! canonical one keep their payload as `nan(0x...)`.

use crate::tensor::{Tensor, TensorData};
use crate::with_data;
use std::fmt::Write;

/// An `f32` as text that parses back to the same bits.
pub(crate) fn fmt_f32(x: impl Into<f32>) -> String {
    let x: f32 = x.into();
    if x.is_nan() {
        if x.to_bits() == f32::NAN.to_bits() {
            "nan".to_string()
        } else {
            format!("nan(0x{:08x})", x.to_bits())
        }
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{x:?}")
    }
}

/// An `f64` as text that parses back to the same bits.
pub(crate) fn fmt_f64(x: impl Into<f64>) -> String {
    let x: f64 = x.into();
    if x.is_nan() {
        if x.to_bits() == f64::NAN.to_bits() {
            "nan".to_string()
        } else {
            format!("nan(0x{:016x})", x.to_bits())
        }
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{x:?}")
    }
}

/// Parses what [`fmt_f32`]/[`fmt_f64`] print: `inf`, `-inf`, `nan`, `nan(0x..)`, decimals.
/// `from_bits` turns a bit pattern into the float type; patterns that are not NaNs are refused.
fn parse_float<F: std::str::FromStr + Copy>(
    s: &str,
    nan: F,
    inf: F,
    neg_inf: F,
    from_bits: impl Fn(u64) -> Option<F>,
) -> Option<F> {
    match s {
        "nan" => Some(nan),
        "inf" => Some(inf),
        "-inf" => Some(neg_inf),
        _ => {
            if let Some(hex) = s.strip_prefix("nan(0x").and_then(|r| r.strip_suffix(')')) {
                return from_bits(u64::from_str_radix(hex, 16).ok()?);
            }
            // Rust also accepts "infinity", "NaN"...; only digits reach `parse` here.
            let body = s.strip_prefix('-').unwrap_or(s);
            if !body.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        }
    }
}

/// An element type that has a text spelling.
pub(crate) trait TextElement: Sized + Copy {
    fn to_text(self) -> String;
    fn from_text(s: &str) -> Option<Self>;
}

impl TextElement for f32 {
    fn to_text(self) -> String {
        fmt_f32(self)
    }
    fn from_text(s: &str) -> Option<Self> {
        let from_bits = |b: u64| u32::try_from(b).ok().map(f32::from_bits).filter(|x| x.is_nan());
        parse_float(s, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, from_bits)
    }
}

/// Float attributes spell as their float.
macro_rules! ieee_text_element {
    ($t:ty, $f:ty) => {
        impl TextElement for $t {
            fn to_text(self) -> String {
                self.get().to_text()
            }
            fn from_text(s: &str) -> Option<Self> {
                <$f>::from_text(s).map(<$t>::new)
            }
        }
    };
}
ieee_text_element!(crate::ieee::Ieee32, f32);
ieee_text_element!(crate::ieee::Ieee64, f64);

impl TextElement for f64 {
    fn to_text(self) -> String {
        fmt_f64(self)
    }
    fn from_text(s: &str) -> Option<Self> {
        let from_bits = |b: u64| Some(f64::from_bits(b)).filter(|x| x.is_nan());
        parse_float(s, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, from_bits)
    }
}

/// Half floats print as their (exact) f32 value; NaNs other than the canonical quiet one
/// (`0x7e00` / `0x7fc0`) print their 16 bits as `nan(0x....)`. Parsing rounds the f32 back,
/// which is exact for every printed value (other decimals round to nearest even).
macro_rules! half_text_element {
    ($t:ty, $canonical_nan:expr) => {
        impl TextElement for $t {
            fn to_text(self) -> String {
                let x = self.to_f32();
                if x.is_nan() && self.0 != $canonical_nan {
                    format!("nan(0x{:04x})", self.0)
                } else {
                    fmt_f32(x)
                }
            }
            fn from_text(s: &str) -> Option<Self> {
                if let Some(hex) = s.strip_prefix("nan(0x").and_then(|r| r.strip_suffix(')')) {
                    let h = <$t>::from_bits(u16::from_str_radix(hex, 16).ok()?);
                    return h.to_f32().is_nan().then_some(h);
                }
                f32::from_text(s).map(<$t>::from_f32)
            }
        }
    };
}
half_text_element!(crate::half::F16, 0x7e00);
half_text_element!(crate::half::BF16, 0x7fc0);

/// The narrow types print their stored byte: sub-byte integers as their decimal value, the
/// minifloats as their code in hex (`0x7e`), which round-trips every code (NaNs included)
/// without a decimal spelling per format. Parsing rejects values the type cannot hold.
macro_rules! narrow_text_element {
    (int: $($t:ident($inner:ty, $lo:expr, $hi:expr)),*; code: $($f:ident($bits:expr)),*) => {
        $(impl TextElement for crate::narrow::$t {
            fn to_text(self) -> String {
                self.0.to_string()
            }
            fn from_text(s: &str) -> Option<Self> {
                let v: $inner = s.parse().ok()?;
                ($lo..=$hi).contains(&v).then_some(crate::narrow::$t(v))
            }
        })*
        $(impl TextElement for crate::narrow::$f {
            fn to_text(self) -> String {
                format!("0x{:02x}", self.0)
            }
            fn from_text(s: &str) -> Option<Self> {
                let v = u16::from_str_radix(s.strip_prefix("0x")?, 16).ok()?;
                (v < 1 << $bits).then_some(crate::narrow::$f(v as u8))
            }
        })*
    };
}
narrow_text_element!(int: I4(i8, -8, 7), U4(u8, 0, 15), I2(i8, -2, 1), U2(u8, 0, 3);
    code: F8E4M3FN(8), F8E4M3FNUZ(8), F8E5M2(8), F8E5M2FNUZ(8), F8E8M0(8), F4E2M1(4));

impl TextElement for bool {
    fn to_text(self) -> String {
        self.to_string()
    }
    fn from_text(s: &str) -> Option<Self> {
        match s {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

macro_rules! int_text_element {
    ($($t:ty),*) => {$(
        impl TextElement for $t {
            fn to_text(self) -> String {
                self.to_string()
            }
            fn from_text(s: &str) -> Option<Self> {
                // `parse` accepts a leading '+'; the printer never writes one.
                if s.starts_with('+') { None } else { s.parse().ok() }
            }
        }
    )*};
}
int_text_element!(i8, u8, i16, u16, i32, u32, i64, u64, usize);

/// The data of a constant: `[1.0, 2.0]` when `exact` and small, `hex"..."` when `exact` and
/// large, otherwise a summary `<N elements, min a, max b>` that the parser refuses.
pub(super) fn fmt_tensor(tensor: &Tensor, exact: bool) -> String {
    let n = tensor.numel();
    if exact && n <= super::EXACT_LIMIT {
        let items: Vec<String> = with_data!(tensor.data(), v => v.iter().map(|x| x.to_text()).collect());
        return format!("[{}]", items.join(", "));
    }
    if exact {
        let mut hex = String::with_capacity(2 + 2 * n * tensor.dtype().size());
        hex.push_str("hex\"");
        for b in tensor.to_le_bytes() {
            let _ = write!(hex, "{b:02x}");
        }
        hex.push('"');
        return hex;
    }
    summary(tensor.data())
}

/// `<432 elements, min -0.53, max 0.61>`, plus `, N nan` when NaNs are present.
fn summary(data: &TensorData) -> String {
    let values: Vec<f64> = (0..data.len()).map(|i| data.get_f64(i)).collect();
    let nans = values.iter().filter(|x| x.is_nan()).count();
    let mut extremes = values.iter().enumerate().filter(|(_, x)| !x.is_nan());
    let mut text = format!("<{} elements", data.len());
    if let Some((first, _)) = extremes.next() {
        let (mut lo, mut hi) = (first, first);
        for (i, &x) in extremes {
            if x < values[lo] {
                lo = i;
            }
            if x > values[hi] {
                hi = i;
            }
        }
        let element = |i: usize| with_data!(data, v => v[i].to_text());
        let _ = write!(text, ", min {}, max {}", element(lo), element(hi));
    }
    if nans > 0 {
        let _ = write!(text, ", {nans} nan");
    }
    text.push('>');
    text
}
