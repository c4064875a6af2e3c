//! Normalisations along the channel axis (axis 1): BatchNorm (inference) and LRN.
//!
//! BatchNorm computes `(x - mean) / sqrt(var + eps) * scale + bias` in the element type, as the
//! ONNX reference does. LRN follows the ONNX formula: for channel `c` the square sum runs over
//! channels `[c - floor((size-1)/2), c + ceil((size-1)/2)]` clipped to the tensor (accumulated
//! in f64, rounded to the element type), then `y = x / (bias + alpha/size * square_sum)^beta`
//! in the element type. (The ONNX Python reference loops over the batch axis instead of the
//! channels, a bug; onnxruntime follows the formula, so do we.)

use super::num::{slice_of, tensor_of, unsupported, Float, Num, Ring};
use crate::tensor::{Element, Tensor};

/// `(outer, channels, inner)` of a tensor with channels on axis 1.
fn channel_split(shape: &[usize]) -> (usize, usize, usize) {
    (shape[0], shape[1], shape[2..].iter().product())
}

pub fn batch_norm(x: &Tensor, params: [&Tensor; 4], epsilon: f32) -> Result<Tensor, String> {
    let d = x.dtype();
    crate::for_float_dtypes!(d, T => {
        let v = slice_of::<T>(x)?;
        let [scale, bias, mean, var] = params.map(|p| slice_of::<T>(p));
        let (scale, bias, mean, var) = (scale?, bias?, mean?, var?);
        let eps = T::from_f64(epsilon as f64);
        let (_, c, inner) = channel_split(x.shape());
        let out: Result<Vec<T>, String> = v
            .iter()
            .enumerate()
            .map(|(k, &e)| {
                let ch = (k / inner) % c;
                let norm = e.sub(mean[ch]).div(var[ch].add(eps).sqrt())?;
                Ok(norm.mul(scale[ch]).add(bias[ch]))
            })
            .collect();
        tensor_of(x.shape(), out?)
    }, else => Err(unsupported("batch_norm", d)))
}

pub fn lrn(x: &Tensor, size: usize, alpha: f32, beta: f32, bias: f32) -> Result<Tensor, String> {
    let d = x.dtype();
    crate::for_float_dtypes!(d, T => lrn_t::<T>(x, size, alpha, beta, bias), else => Err(unsupported("lrn", d)))
}

fn lrn_t<T: Float>(x: &Tensor, size: usize, alpha: f32, beta: f32, bias: f32) -> Result<Tensor, String> {
    let v = slice_of::<T>(x)?;
    let (n, c, inner) = channel_split(x.shape());
    let (before, after) = ((size - 1) / 2, (size - 1).div_ceil(2));
    let scale = T::from_f64(alpha as f64 / size as f64);
    let (bias, beta) = (T::from_f64(bias as f64), T::from_f64(beta as f64));
    let mut out = Vec::with_capacity(v.len());
    for ni in 0..n {
        for ci in 0..c {
            let (lo, hi) = (ci.saturating_sub(before), (ci + after).min(c - 1));
            for i in 0..inner {
                let at = |cc: usize| v[(ni * c + cc) * inner + i];
                let sq: f64 = (lo..=hi).map(|cc| at(cc).to_f64() * at(cc).to_f64()).sum();
                let denom = bias.add(scale.mul(T::from_f64(sq))).pow(beta);
                out.push(at(ci).div(denom)?);
            }
        }
    }
    tensor_of(x.shape(), out)
}
