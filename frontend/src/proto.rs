//! Parsing ONNX protobuf bytes and mapping ONNX element types to kiln's.
//!
//! Choice of crate, on evidence (onnx-protobuf 0.2.3 over rust-protobuf =3.4.0, read in the
//! registry sources):
//! - Schema: the messages are generated from the IR v10 `onnx.proto` (`Version::IR_VERSION = 10`,
//!   `DataType` up to `INT4 = 22`). IR v11 additions (FLOAT4E2M1 = 23, device configuration
//!   fields) are not in the schema, but protobuf keeps unknown fields and an unknown `data_type`
//!   is just an `i32` here, so such models parse and kiln reports the dtype as unsupported, which
//!   it would anyway for codes it does not know. Since then kiln reads FLOAT4E2M1 (23),
//!   FLOAT8E8M0 (24), UINT2 (25) and INT2 (26) the same way (as `i32` codes), as storage types
//!   like f16/bf16 (see `kiln_ir::half`, `kiln_ir::minifloat`). Nothing kiln imports is missing.
//! - Copies: `TensorProto::raw_data` is a `Vec<u8>` (no `bytes::Bytes` zero-copy), so weights
//!   are copied once out of the file buffer and once more into typed `Tensor` storage. prost with
//!   `Bytes` would save one copy; for edge models (MBs to a few hundred MBs) that is not worth a
//!   second protobuf stack, and large weights should be external data, which is read straight
//!   into the tensor (see `external`).
//! - Hostile input: rust-protobuf checks a length-delimited field's length against the bytes
//!   left before allocating (`read_exact_to_vec` returns `TruncatedMessage`), caps the
//!   pre-reservation of packed repeated fields at 10 MB, and limits message nesting to 100
//!   levels, so random or truncated bytes give an error without huge allocations (tested in
//!   `tests/robustness.rs`). Parsing also runs behind `catch_unwind` as a last guard.

use crate::error::{FrontendError, Result};
use kiln_ir::DType;
use onnx_protobuf::{Message, ModelProto, TensorProto};

/// Parses a `ModelProto`; any protobuf error (or panic inside the parser) is a `Parse` error.
pub fn parse_model(bytes: &[u8]) -> Result<ModelProto> {
    parse_message::<ModelProto>(bytes)
}

/// Parses a standalone `TensorProto` (the `.pb` files of the ONNX test data).
pub fn parse_tensor(bytes: &[u8]) -> Result<TensorProto> {
    parse_message::<TensorProto>(bytes)
}

fn parse_message<M: Message>(bytes: &[u8]) -> Result<M> {
    match std::panic::catch_unwind(|| M::parse_from_bytes(bytes)) {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => Err(FrontendError::Parse(e.to_string())),
        Err(_) => Err(FrontendError::Parse("the protobuf parser panicked".into())),
    }
}

/// The kiln dtype of an ONNX `TensorProto.DataType` code, or the ONNX name of an unsupported one.
pub fn dtype_from_onnx(code: i32) -> Result<DType, String> {
    Ok(match code {
        1 => DType::F32,
        2 => DType::U8,
        3 => DType::I8,
        4 => DType::U16,
        5 => DType::I16,
        6 => DType::I32,
        7 => DType::I64,
        9 => DType::Bool,
        10 => DType::F16,
        11 => DType::F64,
        12 => DType::U32,
        13 => DType::U64,
        16 => DType::BF16,
        17 => DType::F8E4M3FN,
        18 => DType::F8E4M3FNUZ,
        19 => DType::F8E5M2,
        20 => DType::F8E5M2FNUZ,
        21 => DType::U4,
        22 => DType::I4,
        23 => DType::F4E2M1,
        24 => DType::F8E8M0,
        25 => DType::U2,
        26 => DType::I2,
        other => return Err(onnx_dtype_name(other)),
    })
}

/// The ONNX data type code of a kiln dtype.
pub fn dtype_to_onnx(dtype: DType) -> i32 {
    match dtype {
        DType::F32 => 1,
        DType::U8 => 2,
        DType::I8 => 3,
        DType::U16 => 4,
        DType::I16 => 5,
        DType::I32 => 6,
        DType::I64 => 7,
        DType::Bool => 9,
        DType::F64 => 11,
        DType::U32 => 12,
        DType::U64 => 13,
        DType::F16 => 10,
        DType::BF16 => 16,
        DType::F8E4M3FN => 17,
        DType::F8E4M3FNUZ => 18,
        DType::F8E5M2 => 19,
        DType::F8E5M2FNUZ => 20,
        DType::U4 => 21,
        DType::I4 => 22,
        DType::F4E2M1 => 23,
        DType::F8E8M0 => 24,
        DType::U2 => 25,
        DType::I2 => 26,
    }
}

/// The ONNX spelling of a data type code, for messages.
pub fn onnx_dtype_name(code: i32) -> String {
    let name = match code {
        0 => "UNDEFINED",
        1 => "FLOAT",
        2 => "UINT8",
        3 => "INT8",
        4 => "UINT16",
        5 => "INT16",
        6 => "INT32",
        7 => "INT64",
        8 => "STRING",
        9 => "BOOL",
        10 => "FLOAT16",
        11 => "DOUBLE",
        12 => "UINT32",
        13 => "UINT64",
        14 => "COMPLEX64",
        15 => "COMPLEX128",
        16 => "BFLOAT16",
        17 => "FLOAT8E4M3FN",
        18 => "FLOAT8E4M3FNUZ",
        19 => "FLOAT8E5M2",
        20 => "FLOAT8E5M2FNUZ",
        21 => "UINT4",
        22 => "INT4",
        23 => "FLOAT4E2M1",
        24 => "FLOAT8E8M0",
        25 => "UINT2",
        26 => "INT2",
        _ => return format!("data type code {code}"),
    };
    name.to_string()
}
