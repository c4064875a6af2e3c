//! `HannWindow`, `HammingWindow` and `BlackmanWindow` fold to constants at import: their only
//! input is the window length, which must be known at compile time (every shape is static in
//! kiln), and the values are the ONNX reference's cosine sums over `n / N`, with `N = size`
//! when `periodic` (the default) and `size - 1` otherwise, computed in f64 and converted to
//! `output_datatype` (default float). Lengths are capped at [`build::MAX_TABLE_ELEMENTS`].

use super::build::check_table;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use kiln_ir::{DType, Tensor, ValueId};
use std::f64::consts::PI;

pub fn window(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let size = window_size(imp, ctx)?;
    let dtype = output_dtype(ctx)?;
    let periodic = ctx.bool_or("periodic", true)?;
    let denom = if periodic { size as f64 } else { size as f64 - 1.0 };
    let coeffs: &[f64] = match ctx.op() {
        "HannWindow" => &[0.5, -0.5],
        "HammingWindow" => &[25.0 / 46.0, -21.0 / 46.0],
        _ => &[0.42, -0.5, 0.08],
    };
    let vals: Vec<f64> = (0..size)
        .map(|n| {
            let phase = 2.0 * PI * n as f64 / denom;
            coeffs.iter().enumerate().map(|(k, c)| c * (k as f64 * phase).cos()).sum()
        })
        .collect();
    Ok(vec![imp.constant(ctx.out(0), Tensor::from_f64(dtype, vec![size], &vals))])
}

/// The constant scalar `size` input as a length.
fn window_size(imp: &Importer, ctx: &NodeCtx) -> Result<usize> {
    let t = imp.const_input(ctx, 0)?;
    if !t.dtype().is_int() || t.numel() != 1 {
        return Err(
            ctx.input_err(0, format!("size must be one integer, got {} of shape {:?}", t.dtype().name(), t.shape()))
        );
    }
    let n = t.to_i64_vec()[0];
    let n = usize::try_from(n).map_err(|_| ctx.input_err(0, format!("size {n} is negative")))?;
    check_table(ctx, "window", Some(n))
}

/// `output_datatype` (an ONNX element type code; float by default).
fn output_dtype(ctx: &NodeCtx) -> Result<DType> {
    let code = ctx.int_or("output_datatype", 1)?;
    let code = i32::try_from(code).map_err(|_| ctx.attr_err("output_datatype", format!("bad type code {code}")))?;
    dtype_from_onnx(code)
        .map_err(|_| ctx.attr_err("output_datatype", format!("unsupported type {}", onnx_dtype_name(code))))
}
