//! `MelWeightMatrix` (opset 17) computed at import as a constant `[dft_length/2 + 1,
//! num_mel_bins]` tensor: its five inputs are scalars fixed by a model's audio front-end, so
//! they must be compile-time constants (a run-time input is a `NeedsValue` error naming it).
//!
//! The values follow `onnx/reference/ops/op_mel_weight_matrix.py` step by step, including its
//! numpy types, because the triangle edges are *integer* bins and one ulp can move an edge:
//!
//! - `2595 log1p(hz / 700)` is evaluated in the edge frequency's own precision (f32 for a
//!   float input, as numpy keeps a float32 0-d array float32 against Python ints) and only the
//!   division by `np.log(10)` (a float64) widens it to f64;
//! - the rest is f64, the bins are `((dft_length + 1) * hz) // sample_rate` with numpy's float
//!   floor division ([`numpy_floor_divide`]) truncated to integers;
//! - the triangles are written in the reference's loop order (a later write wins), and a bin
//!   index is resolved as numpy indexing would: negative values count from the end, anything
//!   else outside the rows is an error (the reference raises `IndexError`).
//!
//! The result is converted to `output_datatype` (default float). The table is bounded by
//! [`check_table`].

use super::build::check_table;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use kiln_ir::{DType, Tensor, ValueId};

pub fn mel_weight_matrix(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let mel_bins = non_negative(ctx, int_scalar(imp, ctx, 0, "num_mel_bins")?, 0, "num_mel_bins")?;
    let dft_length = non_negative(ctx, int_scalar(imp, ctx, 1, "dft_length")?, 1, "dft_length")?;
    let sample_rate = int_scalar(imp, ctx, 2, "sample_rate")?;
    if sample_rate == 0 {
        return Err(ctx.input_err(2, "sample_rate must not be 0"));
    }
    let lower = mel_of_edge(imp, ctx, 3, "lower_edge_hertz")?;
    let upper = mel_of_edge(imp, ctx, 4, "upper_edge_hertz")?;
    let dtype = output_dtype(ctx)?;
    let rows = dft_length / 2 + 1;
    check_table(ctx, "mel weight matrix", rows.checked_mul(mel_bins))?;
    let bins = frequency_bins(ctx, mel_bins, dft_length, sample_rate, lower, upper)?;
    let table = triangles(ctx, &bins, rows, mel_bins)?;
    Ok(vec![imp.constant(ctx.out(0), Tensor::from_f64(dtype, vec![rows, mel_bins], &table))])
}

/// The constant integer scalar input `i`.
fn int_scalar(imp: &Importer, ctx: &NodeCtx, i: usize, what: &str) -> Result<i64> {
    let t = imp.const_input(ctx, i)?;
    if !t.dtype().is_int() || t.numel() != 1 {
        return Err(ctx.input_err(i, format!("{what} must be one integer, not {} {:?}", t.dtype().name(), t.shape())));
    }
    Ok(t.to_i64_vec()[0])
}

fn non_negative(ctx: &NodeCtx, v: i64, i: usize, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| ctx.input_err(i, format!("{what} {v} is negative")))
}

/// `2595 * log1p(hz / 700) / log(10)` for the constant float scalar input `i`, with the
/// reference's precision (module docs).
fn mel_of_edge(imp: &Importer, ctx: &NodeCtx, i: usize, what: &str) -> Result<f64> {
    let t = imp.const_input(ctx, i)?;
    if !t.dtype().is_float() || t.numel() != 1 {
        return Err(ctx.input_err(i, format!("{what} must be one float, not {} {:?}", t.dtype().name(), t.shape())));
    }
    let hz = t.to_f64_vec()[0];
    let mel = if t.dtype() == DType::F32 {
        (2595.0f32 * (hz as f32 / 700.0f32).ln_1p()) as f64
    } else {
        2595.0 * (hz / 700.0).ln_1p()
    };
    Ok(mel / std::f64::consts::LN_10)
}

/// numpy's `a // b` for float64 (`npy_divmod`): the floor of the exact quotient, computed from
/// `fmod` so that it agrees with `a % b`.
fn numpy_floor_divide(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return a / b;
    }
    let rest = a % b;
    let mut div = (a - rest) / b;
    if rest != 0.0 && (b < 0.0) != (rest < 0.0) {
        div -= 1.0;
    }
    if div == 0.0 {
        return 0.0f64.copysign(a / b);
    }
    let floor = div.floor();
    if div - floor > 0.5 {
        floor + 1.0
    } else {
        floor
    }
}

/// The `num_mel_bins + 2` triangle edges as spectrogram bin indices.
fn frequency_bins(
    ctx: &NodeCtx,
    mel_bins: usize,
    dft_length: usize,
    sample_rate: i64,
    low_mel: f64,
    high_mel: f64,
) -> Result<Vec<i64>> {
    let count = mel_bins + 2;
    let step = (high_mel - low_mel) / count as f64;
    (0..count)
        .map(|i| {
            let mel = i as f64 * step + low_mel;
            let hz = 700.0 * (mel / 2595.0 * std::f64::consts::LN_10).exp_m1();
            let bin = numpy_floor_divide((dft_length as f64 + 1.0) * hz, sample_rate as f64);
            if !bin.is_finite() || bin.abs() >= 9.0e18 {
                return Err(ctx.err(format!("mel edge {i} falls on the non-finite bin {bin}")));
            }
            Ok(bin as i64)
        })
        .collect()
}

/// The `[rows, mel_bins]` triangles, written as the reference's loops do.
fn triangles(ctx: &NodeCtx, bins: &[i64], rows: usize, mel_bins: usize) -> Result<Vec<f64>> {
    let mut out = vec![0.0; rows * mel_bins];
    let row = |j: i64| -> Result<usize> {
        let wrapped = if j < 0 { j + rows as i64 } else { j };
        usize::try_from(wrapped).ok().filter(|&r| r < rows).ok_or_else(|| {
            ctx.err(format!("a mel triangle reaches spectrogram bin {j}, outside the {rows} bins of dft_length"))
        })
    };
    for i in 0..mel_bins {
        let (lo, center, hi) = (bins[i], bins[i + 1], bins[i + 2]);
        let low_to_center = center - lo;
        if low_to_center == 0 {
            out[row(center)? * mel_bins + i] = 1.0;
        } else {
            for j in lo..=center {
                out[row(j)? * mel_bins + i] = (j - lo) as f64 / low_to_center as f64;
            }
        }
        let center_to_high = hi - center;
        if center_to_high > 0 {
            for j in center..hi {
                out[row(j)? * mel_bins + i] = (hi - j) as f64 / center_to_high as f64;
            }
        }
    }
    Ok(out)
}

/// `output_datatype` (an ONNX element type code; float by default).
fn output_dtype(ctx: &NodeCtx) -> Result<DType> {
    let code = ctx.int_or("output_datatype", 1)?;
    let code = i32::try_from(code).map_err(|_| ctx.attr_err("output_datatype", format!("bad type code {code}")))?;
    dtype_from_onnx(code)
        .map_err(|_| ctx.attr_err("output_datatype", format!("unsupported type {}", onnx_dtype_name(code))))
}
