//! Constant data: `[1.0, 2.0]`, `hex"0000803f..."`, or a summary, which cannot be parsed.
//!
//! Nothing is allocated from a shape: elements come from the text, and their count is then
//! compared with the type's (overflow-checked), so a text claiming a huge shape fails with a
//! message instead of exhausting memory or panicking.

use super::cursor::{Cursor, PResult};
use super::syntax::{comma_list, parse_type, Decl};
use crate::dtype::{DType, TensorType};
use crate::print::TextElement;
use crate::tensor::{Element, Tensor, TensorData};

/// The data after `= const`, optionally preceded by the constant's own type when it differs
/// from the value's.
pub(super) fn parse_const(cur: &mut Cursor, decl: &Decl) -> PResult<Tensor> {
    let ty = match cur.peek_word() {
        Some(w) if w != "hex" => parse_type(cur)?,
        _ => decl.ty.clone(),
    };
    match cur.peek() {
        Some('[') => list(cur, decl, &ty),
        Some('<') => Err(cur.error(format!(
            "constant %{} is summarised; only text printed with data (`print_graph(g, true)`) can be parsed",
            decl.id
        ))),
        _ => hex(cur, decl, &ty),
    }
}

fn list(cur: &mut Cursor, decl: &Decl, ty: &TensorType) -> PResult<Tensor> {
    cur.expect('[', "to start the constant data")?;
    let words = comma_list(cur, ']', "constant data", |c| c.expect_word("an element"))?;
    let data = elements(ty.dtype, &words)
        .map_err(|w| cur.error(format!("constant %{}: `{w}` is not a {}", decl.id, ty.dtype)))?;
    Tensor::new(ty.shape.clone(), data).ok_or_else(|| {
        cur.error(format!(
            "constant %{}: {} elements given but type {ty} needs {}",
            decl.id,
            words.len(),
            numel_text(ty)
        ))
    })
}

fn hex(cur: &mut Cursor, decl: &Decl, ty: &TensorType) -> PResult<Tensor> {
    if cur.peek_word() != Some("hex") {
        return cur.expected("constant data: `[..]` or `hex\"..\"`");
    }
    cur.word();
    let text = cur.string()?;
    let bytes = decode_hex(&text).ok_or_else(|| {
        cur.error(format!("constant %{}: the hex data has an odd length or a non-hex digit", decl.id))
    })?;
    Tensor::from_le_bytes(ty.dtype, ty.shape.clone(), &bytes).ok_or_else(|| {
        cur.error(format!(
            "constant %{}: {} bytes given but type {ty} needs {} elements of {} bytes",
            decl.id,
            bytes.len(),
            numel_text(ty),
            ty.dtype.size()
        ))
    })
}

/// The element count of `ty`, or "too many" when it overflows.
fn numel_text(ty: &TensorType) -> String {
    ty.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).map_or("too many".to_string(), |n| n.to_string())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// The words as elements of `dtype`; the error is the first word that does not parse.
fn elements<'a>(dtype: DType, words: &[&'a str]) -> Result<TensorData, &'a str> {
    fn typed<'a, T: Element + TextElement>(words: &[&'a str]) -> Result<TensorData, &'a str> {
        words.iter().map(|w| T::from_text(w).ok_or(*w)).collect::<Result<Vec<T>, _>>().map(T::wrap)
    }
    match dtype {
        DType::F32 => typed::<f32>(words),
        DType::F64 => typed::<f64>(words),
        DType::I8 => typed::<i8>(words),
        DType::U8 => typed::<u8>(words),
        DType::I16 => typed::<i16>(words),
        DType::U16 => typed::<u16>(words),
        DType::I32 => typed::<i32>(words),
        DType::U32 => typed::<u32>(words),
        DType::I64 => typed::<i64>(words),
        DType::U64 => typed::<u64>(words),
        DType::Bool => typed::<bool>(words),
        DType::F16 => typed::<crate::half::F16>(words),
        DType::BF16 => typed::<crate::half::BF16>(words),
        DType::F8E4M3FN => typed::<crate::narrow::F8E4M3FN>(words),
        DType::F8E4M3FNUZ => typed::<crate::narrow::F8E4M3FNUZ>(words),
        DType::F8E5M2 => typed::<crate::narrow::F8E5M2>(words),
        DType::F8E5M2FNUZ => typed::<crate::narrow::F8E5M2FNUZ>(words),
        DType::F8E8M0 => typed::<crate::narrow::F8E8M0>(words),
        DType::F4E2M1 => typed::<crate::narrow::F4E2M1>(words),
        DType::I4 => typed::<crate::narrow::I4>(words),
        DType::U4 => typed::<crate::narrow::U4>(words),
        DType::I2 => typed::<crate::narrow::I2>(words),
        DType::U2 => typed::<crate::narrow::U2>(words),
    }
}
