//! `TensorProto` <-> `kiln_ir::Tensor`.
//!
//! ONNX stores tensor data in one of three places: `raw_data` (dense little-endian), a typed
//! repeated field (`float_data`, `int32_data` for the narrow ints and bool, `int64_data`,
//! `double_data`, `uint64_data` for u32/u64; f16/bf16 bits and 8-bit float codes go in
//! `int32_data`, one per element), or an external file. The sub-byte types (INT4, UINT4, INT2,
//! UINT2, FLOAT4E2M1) are packed 2 or 4 per byte, low bits first, in `raw_data`, external data
//! and `int32_data` alike (one packed byte per `int32`); they are unpacked here, since kiln holds
//! them one per byte (`kiln_ir::narrow`). The element count implied by
//! `dims` is computed with checked arithmetic and compared with the data actually present
//! before anything is allocated from it, so a bogus header cannot make kiln allocate.

use crate::error::{FrontendError, Result};
use crate::external;
use crate::proto::{dtype_from_onnx, dtype_to_onnx};
use kiln_ir::narrow::{file_byte_len, from_file_bytes, to_file_bytes};
use kiln_ir::{DType, Tensor, TensorData, BF16, F16};
use onnx_protobuf::{Message, TensorProto};
use std::path::Path;

/// Converts a `TensorProto`; `base_dir` is the model's folder, for external data.
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor> {
    let name = display_name(t);
    let err = |msg: String| FrontendError::Tensor { tensor: name.clone(), msg };
    let dtype = dtype_from_onnx(t.data_type)
        .map_err(|dtype| FrontendError::UnsupportedDtype { tensor: name.clone(), dtype })?;
    if t.segment.is_some() {
        return Err(err("segmented tensors are not supported".into()));
    }
    let shape = checked_shape(&t.dims).map_err(err)?;
    let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let nbytes = numel.and_then(|n| file_byte_len(dtype, n));
    let (Some(numel), Some(nbytes)) = (numel, nbytes) else {
        return Err(err(format!("dims {:?} overflow", t.dims)));
    };
    let data = if t.data_location.value() == 1 {
        let bytes = external::read_external(t, &name, base_dir, nbytes)?;
        from_file_bytes(dtype, &bytes, numel)
    } else if !t.raw_data.is_empty() {
        if t.raw_data.len() != nbytes {
            let msg = format!("raw_data has {} bytes, dims {:?} of {dtype} need {nbytes}", t.raw_data.len(), t.dims);
            return Err(err(msg));
        }
        from_file_bytes(dtype, &t.raw_data, numel)
    } else {
        Some(typed_data(t, dtype, numel).map_err(err)?)
    };
    data.and_then(|d| Tensor::new(shape, d)).ok_or_else(|| err("data does not match dims".into()))
}

/// The tensor's name for messages.
pub fn display_name(t: &TensorProto) -> String {
    if t.name.is_empty() {
        "<unnamed>".to_string()
    } else {
        t.name.clone()
    }
}

fn checked_shape(dims: &[i64]) -> Result<Vec<usize>, String> {
    dims.iter().map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d} in dims {dims:?}"))).collect()
}

/// Reads the typed repeated field that holds `dtype`, checking it has `numel` elements.
fn typed_data(t: &TensorProto, dtype: DType, numel: usize) -> Result<TensorData, String> {
    if dtype.is_narrow() {
        return narrow_typed_data(t, dtype, numel);
    }
    let field_len = match dtype {
        DType::F32 => t.float_data.len(),
        DType::F64 => t.double_data.len(),
        DType::I64 => t.int64_data.len(),
        DType::U32 | DType::U64 => t.uint64_data.len(),
        _ => t.int32_data.len(),
    };
    if field_len != numel {
        return Err(format!("has {field_len} elements but dims {:?} need {numel}", t.dims));
    }
    Ok(match dtype {
        DType::F32 => TensorData::F32(t.float_data.clone()),
        DType::F64 => TensorData::F64(t.double_data.clone()),
        DType::I64 => TensorData::I64(t.int64_data.clone()),
        DType::I32 => TensorData::I32(t.int32_data.clone()),
        DType::U64 => TensorData::U64(t.uint64_data.clone()),
        DType::U32 => TensorData::U32(t.uint64_data.iter().map(|&x| x as u32).collect()),
        DType::Bool => TensorData::Bool(t.int32_data.iter().map(|&x| x != 0).collect()),
        // i8/u8/i16/u16 values are stored widened in int32_data; `as` wraps like ONNX's writers.
        DType::I8 => TensorData::I8(t.int32_data.iter().map(|&x| x as i8).collect()),
        DType::U8 => TensorData::U8(t.int32_data.iter().map(|&x| x as u8).collect()),
        DType::I16 => TensorData::I16(t.int32_data.iter().map(|&x| x as i16).collect()),
        DType::U16 => TensorData::U16(t.int32_data.iter().map(|&x| x as u16).collect()),
        // f16/bf16 bit patterns are stored as u16 values in int32_data.
        DType::F16 => TensorData::F16(t.int32_data.iter().map(|&x| F16(x as u16)).collect()),
        DType::BF16 => TensorData::BF16(t.int32_data.iter().map(|&x| BF16(x as u16)).collect()),
        _ => return Err(format!("internal: no typed field for {dtype}")),
    })
}

/// The narrow types' `int32_data`: one byte per entry (a code, or packed sub-byte values).
fn narrow_typed_data(t: &TensorProto, dtype: DType, numel: usize) -> Result<TensorData, String> {
    let bytes: Vec<u8> = t.int32_data.iter().map(|&x| x as u8).collect();
    from_file_bytes(dtype, &bytes, numel).ok_or_else(|| {
        let need = file_byte_len(dtype, numel).unwrap_or(usize::MAX);
        format!("int32_data has {} entries but dims {:?} of {dtype} need {need}", bytes.len(), t.dims)
    })
}

/// A `TensorProto` holding `tensor` as raw little-endian data.
pub fn tensor_to_proto(name: &str, tensor: &Tensor) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = name.to_string();
    t.data_type = dtype_to_onnx(tensor.dtype());
    t.dims = tensor.shape().iter().map(|&d| d as i64).collect();
    t.raw_data = to_file_bytes(tensor.data());
    t
}

/// Serializes `tensor` as a `TensorProto`; fails past protobuf's 2 GiB message limit (checked
/// here: rust-protobuf would write the oversized message, which readers then reject).
pub fn try_tensor_to_pb(name: &str, tensor: &Tensor) -> Result<Vec<u8>> {
    let err = |msg: String| FrontendError::Tensor { tensor: name.to_string(), msg };
    let bytes = file_byte_len(tensor.dtype(), tensor.numel()).unwrap_or(usize::MAX);
    if bytes >= i32::MAX as usize - 4096 {
        return Err(err(format!("{bytes} bytes exceed protobuf's 2 GiB message limit")));
    }
    tensor_to_proto(name, tensor).write_to_bytes().map_err(|e| err(e.to_string()))
}
