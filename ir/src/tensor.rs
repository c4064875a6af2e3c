//! Dense row-major tensors: the data of constants, of evaluator values and of runtime I/O.
//!
//! Data is kept typed (`TensorData` has one `Vec` per dtype) so the reference evaluator can
//! compute in the element type exactly as ONNX defines it. Conversions to and from little-endian
//! bytes serve the backend (weights in read-only data) and the file formats.

use crate::dtype::{DType, TensorType};
use crate::half::{BF16, F16};
use crate::narrow::{F4E2M1, F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ, F8E8M0, I2, I4, U2, U4};
use std::fmt;

/// Typed element storage.
#[derive(Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    U16(Vec<u16>),
    I32(Vec<i32>),
    U32(Vec<u32>),
    I64(Vec<i64>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    /// f16 bits (see [`crate::half`]).
    F16(Vec<F16>),
    /// bf16 bits.
    BF16(Vec<BF16>),
    F8E4M3FN(Vec<F8E4M3FN>),
    F8E4M3FNUZ(Vec<F8E4M3FNUZ>),
    F8E5M2(Vec<F8E5M2>),
    F8E5M2FNUZ(Vec<F8E5M2FNUZ>),
    F8E8M0(Vec<F8E8M0>),
    F4E2M1(Vec<F4E2M1>),
    I4(Vec<I4>),
    U4(Vec<U4>),
    I2(Vec<I2>),
    U2(Vec<U2>),
}

/// Runs `$body` with `$v` bound to the inner `Vec` of a `TensorData`, whatever its dtype.
#[macro_export]
macro_rules! with_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            $crate::TensorData::F32($v) => $body,
            $crate::TensorData::F64($v) => $body,
            $crate::TensorData::I8($v) => $body,
            $crate::TensorData::U8($v) => $body,
            $crate::TensorData::I16($v) => $body,
            $crate::TensorData::U16($v) => $body,
            $crate::TensorData::I32($v) => $body,
            $crate::TensorData::U32($v) => $body,
            $crate::TensorData::I64($v) => $body,
            $crate::TensorData::U64($v) => $body,
            $crate::TensorData::Bool($v) => $body,
            $crate::TensorData::F16($v) => $body,
            $crate::TensorData::BF16($v) => $body,
            $crate::TensorData::F8E4M3FN($v) => $body,
            $crate::TensorData::F8E4M3FNUZ($v) => $body,
            $crate::TensorData::F8E5M2($v) => $body,
            $crate::TensorData::F8E5M2FNUZ($v) => $body,
            $crate::TensorData::F8E8M0($v) => $body,
            $crate::TensorData::F4E2M1($v) => $body,
            $crate::TensorData::I4($v) => $body,
            $crate::TensorData::U4($v) => $body,
            $crate::TensorData::I2($v) => $body,
            $crate::TensorData::U2($v) => $body,
        }
    };
}

/// Conversion of an element type to and from `f64`, used by generic evaluator code.
pub trait Element: Copy + PartialEq + fmt::Debug + Send + Sync + 'static {
    const DTYPE: DType;
    fn to_f64(self) -> f64;
    /// Converts with ONNX Cast semantics for this target (saturating for floats to ints is
    /// not specified by ONNX; Rust's `as` saturates and maps NaN to 0).
    fn from_f64(v: f64) -> Self;
    fn wrap(v: Vec<Self>) -> TensorData;
    fn unwrap(d: &TensorData) -> Option<&Vec<Self>>;
    fn write_le(self, out: &mut Vec<u8>);
    fn read_le(bytes: &[u8]) -> Self;
}

macro_rules! impl_element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$variant(v)
            }
            fn unwrap(d: &TensorData) -> Option<&Vec<Self>> {
                match d {
                    TensorData::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element size"))
            }
        }
    };
}
impl_element!(f32, F32);
impl_element!(f64, F64);
impl_element!(i8, I8);
impl_element!(u8, U8);
impl_element!(i16, I16);
impl_element!(u16, U16);
impl_element!(i32, I32);
impl_element!(u32, U32);
impl_element!(i64, I64);
impl_element!(u64, U64);

impl Element for bool {
    const DTYPE: DType = DType::Bool;
    fn to_f64(self) -> f64 {
        if self {
            1.0
        } else {
            0.0
        }
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn wrap(v: Vec<Self>) -> TensorData {
        TensorData::Bool(v)
    }
    fn unwrap(d: &TensorData) -> Option<&Vec<Self>> {
        match d {
            TensorData::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self as u8);
    }
    fn read_le(bytes: &[u8]) -> Self {
        bytes[0] != 0
    }
}

/// The half types: converted through f32 (exact) and from f64 with one rounding.
macro_rules! impl_half_element {
    ($t:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$t;
            fn to_f64(self) -> f64 {
                f64::from(self.to_f32())
            }
            fn from_f64(v: f64) -> Self {
                $t::from_f64(v)
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
                out.extend_from_slice(&self.0.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                $t(u16::from_le_bytes(bytes.try_into().expect("element size")))
            }
        }
    };
}
impl_half_element!(F16);
impl_half_element!(BF16);

impl TensorData {
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F64(_) => DType::F64,
            TensorData::I8(_) => DType::I8,
            TensorData::U8(_) => DType::U8,
            TensorData::I16(_) => DType::I16,
            TensorData::U16(_) => DType::U16,
            TensorData::I32(_) => DType::I32,
            TensorData::U32(_) => DType::U32,
            TensorData::I64(_) => DType::I64,
            TensorData::U64(_) => DType::U64,
            TensorData::Bool(_) => DType::Bool,
            TensorData::F16(_) => DType::F16,
            TensorData::BF16(_) => DType::BF16,
            TensorData::F8E4M3FN(_) => DType::F8E4M3FN,
            TensorData::F8E4M3FNUZ(_) => DType::F8E4M3FNUZ,
            TensorData::F8E5M2(_) => DType::F8E5M2,
            TensorData::F8E5M2FNUZ(_) => DType::F8E5M2FNUZ,
            TensorData::F8E8M0(_) => DType::F8E8M0,
            TensorData::F4E2M1(_) => DType::F4E2M1,
            TensorData::I4(_) => DType::I4,
            TensorData::U4(_) => DType::U4,
            TensorData::I2(_) => DType::I2,
            TensorData::U2(_) => DType::U2,
        }
    }
    pub fn len(&self) -> usize {
        with_data!(self, v => v.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `n` zero elements of `dtype`.
    pub fn zeros(dtype: DType, n: usize) -> TensorData {
        Self::from_f64_iter(dtype, std::iter::repeat(0.0).take(n))
    }
    /// Elements converted from `f64` into `dtype` (`as` semantics).
    pub fn from_f64_iter(dtype: DType, it: impl Iterator<Item = f64>) -> TensorData {
        fn conv<T: Element>(it: impl Iterator<Item = f64>) -> TensorData {
            T::wrap(it.map(T::from_f64).collect())
        }
        match dtype {
            DType::F32 => conv::<f32>(it),
            DType::F64 => conv::<f64>(it),
            DType::I8 => conv::<i8>(it),
            DType::U8 => conv::<u8>(it),
            DType::I16 => conv::<i16>(it),
            DType::U16 => conv::<u16>(it),
            DType::I32 => conv::<i32>(it),
            DType::U32 => conv::<u32>(it),
            DType::I64 => conv::<i64>(it),
            DType::U64 => conv::<u64>(it),
            DType::Bool => conv::<bool>(it),
            DType::F16 => conv::<F16>(it),
            DType::BF16 => conv::<BF16>(it),
            DType::F8E4M3FN => conv::<F8E4M3FN>(it),
            DType::F8E4M3FNUZ => conv::<F8E4M3FNUZ>(it),
            DType::F8E5M2 => conv::<F8E5M2>(it),
            DType::F8E5M2FNUZ => conv::<F8E5M2FNUZ>(it),
            DType::F8E8M0 => conv::<F8E8M0>(it),
            DType::F4E2M1 => conv::<F4E2M1>(it),
            DType::I4 => conv::<I4>(it),
            DType::U4 => conv::<U4>(it),
            DType::I2 => conv::<I2>(it),
            DType::U2 => conv::<U2>(it),
        }
    }
    /// Element `i` as `f64` (exact for all but i64/u64 beyond 2^53).
    pub fn get_f64(&self, i: usize) -> f64 {
        with_data!(self, v => v[i].to_f64())
    }
    /// Element `i` as `i64` (floats truncated).
    pub fn get_i64(&self, i: usize) -> i64 {
        match self {
            TensorData::I64(v) => v[i],
            TensorData::U64(v) => v[i] as i64,
            other => other.get_f64(i) as i64,
        }
    }
    /// Little-endian bytes, dense.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * self.dtype().size());
        with_data!(self, v => for x in v { x.write_le(&mut out) });
        out
    }
    /// Parses dense little-endian bytes; `None` when the length is not a multiple of the size.
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> Option<TensorData> {
        fn conv<T: Element>(bytes: &[u8], size: usize) -> TensorData {
            T::wrap(bytes.chunks_exact(size).map(T::read_le).collect())
        }
        let size = dtype.size();
        if bytes.len() % size != 0 {
            return None;
        }
        Some(match dtype {
            DType::F32 => conv::<f32>(bytes, size),
            DType::F64 => conv::<f64>(bytes, size),
            DType::I8 => conv::<i8>(bytes, size),
            DType::U8 => conv::<u8>(bytes, size),
            DType::I16 => conv::<i16>(bytes, size),
            DType::U16 => conv::<u16>(bytes, size),
            DType::I32 => conv::<i32>(bytes, size),
            DType::U32 => conv::<u32>(bytes, size),
            DType::I64 => conv::<i64>(bytes, size),
            DType::U64 => conv::<u64>(bytes, size),
            DType::Bool => conv::<bool>(bytes, size),
            DType::F16 => conv::<F16>(bytes, size),
            DType::BF16 => conv::<BF16>(bytes, size),
            DType::F8E4M3FN => conv::<F8E4M3FN>(bytes, size),
            DType::F8E4M3FNUZ => conv::<F8E4M3FNUZ>(bytes, size),
            DType::F8E5M2 => conv::<F8E5M2>(bytes, size),
            DType::F8E5M2FNUZ => conv::<F8E5M2FNUZ>(bytes, size),
            DType::F8E8M0 => conv::<F8E8M0>(bytes, size),
            DType::F4E2M1 => conv::<F4E2M1>(bytes, size),
            DType::I4 => conv::<I4>(bytes, size),
            DType::U4 => conv::<U4>(bytes, size),
            DType::I2 => conv::<I2>(bytes, size),
            DType::U2 => conv::<U2>(bytes, size),
        })
    }
}

/// A dense row-major tensor with a static shape.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// A tensor of `shape` over `data`; `None` when the element count does not match.
    pub fn new(shape: impl Into<Vec<usize>>, data: TensorData) -> Option<Tensor> {
        let shape = shape.into();
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
        (numel == data.len()).then_some(Tensor { shape, data })
    }
    /// A tensor from a typed vector.
    ///
    /// # Panics
    /// When the element count does not match the shape (a caller bug, not an input error).
    pub fn from_vec<T: Element>(shape: impl Into<Vec<usize>>, v: Vec<T>) -> Tensor {
        Tensor::new(shape, T::wrap(v)).expect("tensor element count matches shape")
    }
    /// A rank-0 tensor.
    pub fn scalar<T: Element>(v: T) -> Tensor {
        Tensor::from_vec(Vec::<usize>::new(), vec![v])
    }
    /// Zeros of the given type.
    pub fn zeros(ty: &TensorType) -> Tensor {
        Tensor { shape: ty.shape.clone(), data: TensorData::zeros(ty.dtype, ty.numel()) }
    }
    /// A tensor of `dtype` from `f64` values (`as` semantics).
    ///
    /// # Panics
    /// When the element count does not match the shape.
    pub fn from_f64(dtype: DType, shape: impl Into<Vec<usize>>, v: &[f64]) -> Tensor {
        Tensor::new(shape, TensorData::from_f64_iter(dtype, v.iter().copied()))
            .expect("tensor element count matches shape")
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }
    pub fn ty(&self) -> TensorType {
        TensorType::new(self.dtype(), self.shape.clone())
    }
    pub fn data(&self) -> &TensorData {
        &self.data
    }
    /// The address of the elements, for code that writes them in place (a compiled model's
    /// outputs); the element count and type cannot change through it.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        crate::with_data!(&mut self.data, v => v.as_mut_ptr().cast())
    }
    pub fn into_data(self) -> TensorData {
        self.data
    }
    pub fn numel(&self) -> usize {
        self.data.len()
    }
    /// The elements as a typed slice, when `T` is the tensor's dtype.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        T::unwrap(&self.data).map(|v| v.as_slice())
    }
    /// All elements as `f64`.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        (0..self.numel()).map(|i| self.data.get_f64(i)).collect()
    }
    /// All elements as `i64` (floats truncated).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        (0..self.numel()).map(|i| self.data.get_i64(i)).collect()
    }
    /// The same data with another shape of equal element count.
    pub fn reshaped(&self, shape: impl Into<Vec<usize>>) -> Option<Tensor> {
        Tensor::new(shape, self.data.clone())
    }
    /// Converts to another dtype with ONNX Cast semantics: the reference evaluator's Cast
    /// ([`crate::eval::elementwise::cast`]), the one definition of the conversion rules.
    pub fn cast(&self, dtype: DType) -> Result<Tensor, String> {
        crate::eval::elementwise::cast(self, dtype)
    }
    /// Dense little-endian bytes.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.data.to_le_bytes()
    }
    /// A tensor from dense little-endian bytes; `None` when the size does not match.
    pub fn from_le_bytes(dtype: DType, shape: impl Into<Vec<usize>>, bytes: &[u8]) -> Option<Tensor> {
        Tensor::new(shape, TensorData::from_le_bytes(dtype, bytes)?)
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({}", self.ty())?;
        let n = self.numel().min(8);
        let vals: Vec<f64> = (0..n).map(|i| self.data.get_f64(i)).collect();
        write!(f, " {:?}{})", vals, if self.numel() > n { "..." } else { "" })
    }
}

/// Row-major strides (in elements) of `shape`.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Numpy-style broadcast of two shapes; `None` when they are incompatible.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}
