//! Element types of tensors.
//!
//! `F16` and `BF16` are storage types (see [`crate::half`]): tensors of them exist, move and
//! convert, but arithmetic is done in f32. That is why [`DType::is_float`] stays false for them
//! (it means "a type kernels compute in") and [`DType::is_half`] names them.
//!
//! The 8-bit floats (`F8E4M3FN`, `F8E4M3FNUZ`, `F8E5M2`, `F8E5M2FNUZ`, `F8E8M0`), the 4-bit
//! float `F4E2M1` and the 2/4-bit integers (`I4`, `U4`, `I2`, `U2`) are storage types too
//! ([`DType::is_narrow`], conversions in [`crate::minifloat`]): only Cast, Q/DQ (through f32)
//! and data movement touch them. Inside kiln (IR, kernels, runtime tensors) every one of them is
//! held UNPACKED, one element per byte: the sub-byte integers as their value (sign-extended for
//! `I4`/`I2`), `F4E2M1` as its 4-bit code in the low bits. ONNX files pack 2 or 4 of them per
//! byte (low bits first); only the file readers and writers pack and unpack
//! ([`crate::narrow::pack`], [`crate::narrow::unpack`]). So [`DType::size`] stays a whole
//! number of bytes, strides and offsets stay byte-granular, and no kernel handles packing.

use std::fmt;
use std::str::FromStr;

/// The element type of a tensor. Closed: every stage handles each variant or reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    F32,
    F64,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    Bool,
    F16,
    BF16,
    F8E4M3FN,
    F8E4M3FNUZ,
    F8E5M2,
    F8E5M2FNUZ,
    F8E8M0,
    F4E2M1,
    I4,
    U4,
    I2,
    U2,
}

impl DType {
    /// Every dtype, in declaration order.
    pub const ALL: [DType; 23] = [
        DType::F32,
        DType::F64,
        DType::I8,
        DType::U8,
        DType::I16,
        DType::U16,
        DType::I32,
        DType::U32,
        DType::I64,
        DType::U64,
        DType::Bool,
        DType::F16,
        DType::BF16,
        DType::F8E4M3FN,
        DType::F8E4M3FNUZ,
        DType::F8E5M2,
        DType::F8E5M2FNUZ,
        DType::F8E8M0,
        DType::F4E2M1,
        DType::I4,
        DType::U4,
        DType::I2,
        DType::U2,
    ];

    /// Bytes per element (bool is stored as one byte, 0 or 1; the narrow types unpacked, one
    /// byte each).
    pub fn size(self) -> usize {
        if self.is_narrow() {
            return 1;
        }
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
            _ => 1,
        }
    }
    /// True for f32 and f64.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
    /// True for f16 and bf16: floats stored in 16 bits, computed in f32.
    pub fn is_half(self) -> bool {
        matches!(self, DType::F16 | DType::BF16)
    }
    /// True for the 8-bit and 4-bit floats (stored as their code, one byte each).
    pub fn is_minifloat(self) -> bool {
        use DType::*;
        matches!(self, F8E4M3FN | F8E4M3FNUZ | F8E5M2 | F8E5M2FNUZ | F8E8M0 | F4E2M1)
    }
    /// True for the 2- and 4-bit integers (held unpacked, one byte each).
    pub fn is_sub_byte_int(self) -> bool {
        matches!(self, DType::I4 | DType::U4 | DType::I2 | DType::U2)
    }
    /// True for the signed sub-byte integers (sign-extended when unpacked).
    pub fn is_signed_narrow(self) -> bool {
        matches!(self, DType::I4 | DType::I2)
    }
    /// True for the narrow storage types: minifloats and sub-byte integers.
    pub fn is_narrow(self) -> bool {
        self.is_minifloat() || self.is_sub_byte_int()
    }
    /// True for every type kernels do not compute in (half and narrow types).
    pub fn is_storage_only(self) -> bool {
        self.is_half() || self.is_narrow()
    }
    /// Bits per element in ONNX files when they pack several per byte (4 or 2), else `None`.
    pub fn packed_bits(self) -> Option<u32> {
        match self {
            DType::I4 | DType::U4 | DType::F4E2M1 => Some(4),
            DType::I2 | DType::U2 => Some(2),
            _ => None,
        }
    }
    /// True for the signed and unsigned integer types (not bool, not the floats, not the
    /// storage-only narrow integers).
    pub fn is_int(self) -> bool {
        !self.is_float() && !self.is_storage_only() && self != DType::Bool
    }
    /// True for the signed integer types.
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }
    /// The short name used in the IR text (`f32`, `i64`, `bool`...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::I16 => "i16",
            DType::U16 => "u16",
            DType::I32 => "i32",
            DType::U32 => "u32",
            DType::I64 => "i64",
            DType::U64 => "u64",
            DType::Bool => "bool",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F8E4M3FN => "f8e4m3fn",
            DType::F8E4M3FNUZ => "f8e4m3fnuz",
            DType::F8E5M2 => "f8e5m2",
            DType::F8E5M2FNUZ => "f8e5m2fnuz",
            DType::F8E8M0 => "f8e8m0",
            DType::F4E2M1 => "f4e2m1",
            DType::I4 => "i4",
            DType::U4 => "u4",
            DType::I2 => "i2",
            DType::U2 => "u2",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DType::ALL.into_iter().find(|d| d.name() == s).ok_or_else(|| format!("unknown dtype `{s}`"))
    }
}

/// A dtype plus a static shape: the type of every IR value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl TensorType {
    pub fn new(dtype: DType, shape: impl Into<Vec<usize>>) -> Self {
        TensorType { dtype, shape: shape.into() }
    }
    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
    /// Number of bytes of a dense row-major buffer of this type.
    pub fn byte_size(&self) -> usize {
        self.numel() * self.dtype.size()
    }
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}
