//! kiln element types as numpy dtypes.
//!
//! The types numpy has (float16/32/64, the integers, bool) map one to one and cross the
//! boundary without conversion. The rest (bfloat16, the float8 and float4 types, int4/uint4,
//! int2/uint2) have no numpy dtype without extra packages, so `run` takes and returns them
//! widened: float32 for the float types, int8/uint8 for the narrow integers, converted with
//! ONNX Cast semantics ([`kiln::Tensor::cast`]). `TensorInfo.dtype` is always the numpy dtype
//! `run` takes or returns, `TensorInfo.type` kiln's own name of the element type.

use kiln::DType;
use numpy::PyArrayDescr;
use pyo3::prelude::*;

/// The numpy name of the dtype `run` takes and returns for `d`.
pub fn numpy_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::F64 => "float64",
        DType::F16 => "float16",
        DType::I8 => "int8",
        DType::U8 => "uint8",
        DType::I16 => "int16",
        DType::U16 => "uint16",
        DType::I32 => "int32",
        DType::U32 => "uint32",
        DType::I64 => "int64",
        DType::U64 => "uint64",
        DType::Bool => "bool",
        DType::I4 | DType::I2 => "int8",
        DType::U4 | DType::U2 => "uint8",
        _ => "float32",
    }
}

/// The dtype values of `d` are widened to when crossing into numpy, if numpy lacks `d`.
pub fn widened(d: DType) -> Option<DType> {
    match d {
        DType::BF16
        | DType::F8E4M3FN
        | DType::F8E4M3FNUZ
        | DType::F8E5M2
        | DType::F8E5M2FNUZ
        | DType::F8E8M0
        | DType::F4E2M1 => Some(DType::F32),
        DType::I4 | DType::I2 => Some(DType::I8),
        DType::U4 | DType::U2 => Some(DType::U8),
        _ => None,
    }
}

/// The numpy dtype object for `d`.
pub fn numpy_dtype<'py>(py: Python<'py>, d: DType) -> PyResult<Bound<'py, PyArrayDescr>> {
    PyArrayDescr::new(py, numpy_name(d))
}
