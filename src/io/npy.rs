//! NumPy `.npy` files: the format numpy's `np.save`/`np.load` use for one array.
//!
//! Layout: the magic `\x93NUMPY`, a version (1.0, 2.0 or 3.0), the header length (u16 for v1,
//! u32 for v2/v3, little-endian), then an ASCII (v3: UTF-8) Python dict literal
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` and the raw data.
//!
//! Reading parses the header with `ndarray-npy`'s [`Header`] (a maintained parser of numpy's
//! header dict, through `py_literal`), chosen over `npyz` on evidence: it refuses unknown keys
//! as numpy does, and keeps the shape as a list (npyz multiplies the dims unchecked while
//! parsing, an overflow panic in debug builds on a hostile shape). What stays here is kiln's own:
//! - a pre-check of magic, version and header length against the file's size, because the
//!   parser allocates the header length a file claims (up to 4 GiB for v2/v3) before reading;
//!   the header text then goes to the parser with its terminating newline, added when missing
//!   (numpy always writes it but does not require it on reading; ndarray-npy does);
//! - the mapping of numpy type strings onto kiln's dtypes, including the ones numpy lacks;
//! - the writer: twenty lines that produce numpy's own bytes (`np.save` output exactly, checked
//!   by `tests/api.rs`), which neither crate does (ndarray-npy drops numpy's trailing `, ` in
//!   the dict, npyz adds one inside the shape tuple).
//!
//! Supported: little-endian (or byte-sized) numeric and bool dtypes in C order, including
//! float16 (`<f2`). bfloat16 has no numpy dtype; kiln writes and reads it as 2-byte opaque
//! records (`|V2`, what numpy itself saves for ml_dtypes' bfloat16), so files round-trip and
//! numpy users recover the values with `arr.view(ml_dtypes.bfloat16)`. The 8/4/2-bit types are
//! written as `|V1` (unpacked, one byte each) but not read back, as that descr is ambiguous;
//! `.pb` files carry them with their type. Big-endian and
//! Fortran-order arrays are rejected with a message saying how to convert them, since silently
//! reordering would hide a copy the user did not ask for. Every malformed input is an error,
//! never a panic: lengths are checked before slicing and sizes multiplied with overflow checks.

use crate::error::{Error, Result};
use kiln_ir::{DType, Tensor};
use ndarray_npy::npy::header::{Header, Layout};
use py_literal::Value as PyValue;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses a whole `.npy` file.
pub fn decode(bytes: &[u8]) -> Result<Tensor> {
    let (version, text) = split_header(bytes).map_err(Error::Npy)?;
    let header = parse_header(version, text).map_err(|e| {
        let shown: String = String::from_utf8_lossy(text).trim_end().chars().take(200).collect();
        Error::Npy(format!("malformed .npy header ({e}): {shown}"))
    })?;
    let dtype = dtype_of_header(&header.type_descriptor).map_err(Error::Npy)?;
    if header.layout == Layout::Fortran {
        return Err(Error::Npy(
            "Fortran-order arrays are not supported; save a C-order copy (np.ascontiguousarray)".into(),
        ));
    }
    let data = &bytes[text_end(bytes, text)..];
    let numel = header.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let expected = numel.and_then(|n| n.checked_mul(dtype.size()));
    if expected != Some(data.len()) {
        let want = expected.map_or("more than addressable".to_string(), |n| n.to_string());
        let msg = format!("data is {} bytes but shape {:?} of {dtype} needs {want}", data.len(), header.shape);
        return Err(Error::Npy(msg));
    }
    Tensor::from_le_bytes(dtype, header.shape, data).ok_or_else(|| Error::Npy("data does not match the shape".into()))
}

/// Serialises a tensor as a `.npy` file (version 1.0, or 2.0 when the header needs it).
pub fn encode(tensor: &Tensor) -> Vec<u8> {
    let dims: Vec<String> = tensor.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", descr_of(tensor.dtype()));
    let v1 = 10 + dict.len() < usize::from(u16::MAX);
    let prefix = if v1 { 10 } else { 12 };
    let pad = (64 - (prefix + dict.len() + 1) % 64) % 64;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    let mut out = MAGIC.to_vec();
    if v1 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&tensor.to_le_bytes());
    out
}

/// The numpy type string kiln writes for `dtype`.
fn descr_of(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::I16 => "<i2",
        DType::U16 => "<u2",
        DType::I32 => "<i4",
        DType::U32 => "<u4",
        DType::I64 => "<i8",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
        DType::F16 => "<f2",
        // numpy has no bfloat16: its bits go out as 2-byte opaque records, which numpy loads
        // and `arr.view(ml_dtypes.bfloat16)` reinterprets.
        DType::BF16 => "|V2",
        // The 8/4/2-bit types have no numpy dtype either, and one opaque byte cannot say which
        // of them it is: they go out unpacked, one byte per element (the in-memory layout of
        // ml_dtypes arrays, so `arr.view(ml_dtypes.float8_e4m3fn)` etc. recovers them), and
        // reading `|V1` back is refused (see `dtype_of_descr`); `.pb` keeps the type.
        _ => "|V1",
    }
}

/// The dtype of a numpy type string; byte-sized types accept any byte-order mark.
fn dtype_of_descr(descr: &str) -> Result<DType, String> {
    let (order, code) = descr.split_at(descr.len().min(1));
    if code == "V1" {
        return Err(format!(
            "'{descr}' (one-byte opaque records) does not say which 8-, 4- or 2-bit type it holds; use a .pb file for these types"
        ));
    }
    let found = DType::ALL.into_iter().find(|&d| descr_of(d).get(1..) == Some(code));
    match (found, order) {
        (Some(DType::BF16), "|" | "<" | "=") => Ok(DType::BF16),
        (Some(d), "<") => Ok(d),
        (Some(d), "|" | "=" | ">") if d.size() == 1 => Ok(d),
        (Some(d), ">") => {
            Err(format!("big-endian data ('{descr}') is not supported; convert with arr.astype('{}')", descr_of(d)))
        }
        _ => Err(format!("unsupported dtype '{descr}' (supported: f2 f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1, V2 as bfloat16, little-endian)")),
    }
}

/// The dtype of the header's `descr`: a type string (a record dtype, a list, is refused).
fn dtype_of_header(descr: &PyValue) -> Result<DType, String> {
    match descr {
        PyValue::String(s) => dtype_of_descr(s),
        other => Err(format!("unsupported dtype {other} (structured arrays are not supported)")),
    }
}

/// Checks magic, version and header length against the file; returns the version and the
/// header text (its bytes inside `bytes`).
fn split_header(bytes: &[u8]) -> Result<(u8, &[u8]), String> {
    if bytes.len() < 10 || !bytes.starts_with(MAGIC) {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10usize),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        2 | 3 => return Err("truncated .npy header".into()),
        v => return Err(format!("unsupported .npy version {v}.{}", bytes[7])),
    };
    let end = start.checked_add(len).filter(|&e| e <= bytes.len()).ok_or("truncated .npy header")?;
    Ok((bytes[6], &bytes[start..end]))
}

/// Where the data starts: just past the header text (a subslice of `bytes`).
fn text_end(bytes: &[u8], text: &[u8]) -> usize {
    text.as_ptr() as usize - bytes.as_ptr() as usize + text.len()
}

/// Parses the header text of a version-`version` file with ndarray-npy: the text is framed as
/// a v2 (ASCII) or v3 (UTF-8) header of its own, its newline added when the file has none.
fn parse_header(version: u8, text: &[u8]) -> Result<Header, String> {
    let newline = usize::from(!text.ends_with(b"\n"));
    let len = u32::try_from(text.len() + newline).map_err(|_| "header too long".to_string())?;
    let mut framed = MAGIC.to_vec();
    framed.extend_from_slice(&[if version == 3 { 3 } else { 2 }, 0]);
    framed.extend_from_slice(&len.to_le_bytes());
    framed.extend_from_slice(text);
    framed.extend(std::iter::repeat_n(b'\n', newline));
    Header::from_reader(&mut framed.as_slice()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_with_spaces_and_double_quotes_parses() {
        let text = "{\"descr\": \"<i8\", \"shape\": (4,), \"fortran_order\": False}   \n";
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&[1, 0]);
        file.extend_from_slice(&(text.len() as u16).to_le_bytes());
        file.extend_from_slice(text.as_bytes());
        file.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0].repeat(4));
        assert_eq!(decode(&file).unwrap(), Tensor::from_vec(vec![4], vec![7i64; 4]));
    }

    /// The parser (pest, through py_literal) is recursive: a deep nest must be an error, not a
    /// stack overflow (which would abort the process).
    #[test]
    fn deeply_nested_headers_are_errors() {
        for depth in [1_000usize, 60_000] {
            let text = format!(
                "{{'descr': '<f4', 'fortran_order': False, 'shape': {}1{}, }}\n",
                "(".repeat(depth),
                ")".repeat(depth)
            );
            let mut file = MAGIC.to_vec();
            file.extend_from_slice(&[2, 0]);
            file.extend_from_slice(&(text.len() as u32).to_le_bytes());
            file.extend_from_slice(text.as_bytes());
            let err = decode(&file).unwrap_err().to_string();
            assert!(err.starts_with("malformed .npy header"), "depth {depth}: {}", &err[..err.len().min(200)]);
        }
    }

    #[test]
    fn header_padding_aligns_data_to_64_bytes() {
        for n in [0usize, 1, 7, 1000] {
            let t = Tensor::from_vec(vec![n], vec![1u8; n]);
            let bytes = encode(&t);
            assert_eq!((bytes.len() - n) % 64, 0, "n = {n}");
        }
    }

    #[test]
    fn descr_of_one_byte_types_ignores_byte_order() {
        assert_eq!(dtype_of_descr("<u1"), Ok(DType::U8));
        assert_eq!(dtype_of_descr("|b1"), Ok(DType::Bool));
        assert!(dtype_of_descr(">i4").unwrap_err().contains("big-endian"));
        assert!(dtype_of_descr("<c8").unwrap_err().contains("unsupported dtype"));
        assert!(dtype_of_descr("").is_err());
    }

    #[test]
    fn half_types_round_trip_bit_exactly() {
        use kiln_ir::{BF16, F16};
        assert_eq!(dtype_of_descr("<f2"), Ok(DType::F16));
        assert_eq!(dtype_of_descr("|V2"), Ok(DType::BF16));
        assert!(dtype_of_descr(">f2").unwrap_err().contains("big-endian"));
        let bits = [0x0001u16, 0x7c01, 0xfbff, 0x8000, 0x3c00];
        for t in [Tensor::from_vec(vec![5], bits.map(F16).to_vec()), Tensor::from_vec(vec![5], bits.map(BF16).to_vec())]
        {
            let bytes = encode(&t);
            assert_eq!(decode(&bytes).unwrap(), t);
        }
    }

    #[test]
    fn narrow_types_are_written_as_v1_and_refused_on_read() {
        let t = Tensor::from_vec(vec![3], vec![kiln_ir::I4(-8), kiln_ir::I4(7), kiln_ir::I4(0)]);
        let bytes = encode(&t);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("'|V1'"), "{text}");
        assert!(bytes.ends_with(&[0xf8, 0x07, 0x00]));
        let err = decode(&bytes).unwrap_err().to_string();
        assert!(err.contains("use a .pb file"), "{err}");
    }
}
