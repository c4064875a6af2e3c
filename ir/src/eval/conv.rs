//! Convolution, generic over the spatial rank (1-D, 2-D, 3-D...), with groups, dilations and
//! explicit pads.
//!
//! Inputs are widened to f64 once and every output channel plane is accumulated in f64
//! (starting from the bias), then rounded to the element type: one rounding per output.
//! The loop order (output channel, input channel, kernel offset, output rows, contiguous
//! innermost output axis with its valid range precomputed) keeps the inner loop branch-free,
//! so a 224x224x64 -> 64 3x3 convolution takes about a second in release.

use super::movement::for_each_index;
use super::num::{slice_of, tensor_of, unsupported, Num};
use crate::op::ConvAttrs;
use crate::tensor::{strides_of, Tensor};

/// Geometry of one spatial axis: output position `o` and kernel offset `k` read input
/// `o * stride + k * dilation - pad`.
#[derive(Clone, Copy)]
pub struct Axis {
    pub input: usize,
    pub output: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad: usize,
}

impl Axis {
    /// The input position read by output `o` at kernel offset `k`, if inside the input.
    pub fn input_pos(&self, o: usize, k: usize) -> Option<usize> {
        (o * self.stride + k * self.dilation).checked_sub(self.pad).filter(|&i| i < self.input)
    }
    /// The range of outputs whose input position at kernel offset `k` is inside the input.
    pub fn valid_outputs(&self, k: usize) -> std::ops::Range<usize> {
        let off = k * self.dilation; // input = o * stride + off - pad
        let lo = if off >= self.pad { 0 } else { (self.pad - off).div_ceil(self.stride) };
        let hi_excl =
            if self.input + self.pad <= off { 0 } else { (self.input + self.pad - off).div_ceil(self.stride) };
        lo.min(self.output)..hi_excl.min(self.output).max(lo.min(self.output))
    }
}

pub fn conv(a: &ConvAttrs, x: &Tensor, w: &Tensor, b: Option<&Tensor>, out_shape: &[usize]) -> Result<Tensor, String> {
    let d = x.dtype();
    crate::for_float_dtypes!(d, T => conv_t::<T>(a, x, w, b, out_shape), else => Err(unsupported("conv", d)))
}

fn conv_t<T: Num>(
    a: &ConvAttrs,
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    out_shape: &[usize],
) -> Result<Tensor, String> {
    let xs: Vec<f64> = slice_of::<T>(x)?.iter().map(|v| v.to_f64()).collect();
    let ws: Vec<f64> = slice_of::<T>(w)?.iter().map(|v| v.to_f64()).collect();
    let bias: Option<Vec<f64>> = b.map(|b| b.to_f64_vec());
    let ns = out_shape.len() - 2;
    let axes: Vec<Axis> = (0..ns)
        .map(|i| Axis {
            input: x.shape()[2 + i],
            output: out_shape[2 + i],
            stride: a.strides[i],
            dilation: a.dilations[i],
            pad: a.pads[i],
        })
        .collect();
    let (n, c, m) = (x.shape()[0], x.shape()[1], out_shape[1]);
    let (cg, mg) = (c / a.group, m / a.group);
    let in_plane: usize = x.shape()[2..].iter().product();
    let out_plane: usize = out_shape[2..].iter().product();
    let k_plane: usize = a.kernel.iter().product();
    let mut out = Vec::with_capacity(n * m * out_plane);
    let mut acc = vec![0.0f64; out_plane];
    for ni in 0..n {
        for mi in 0..m {
            acc.fill(bias.as_ref().map_or(0.0, |b| b[mi]));
            let g = mi / mg;
            for ci in 0..cg {
                let xp = &xs[(ni * c + g * cg + ci) * in_plane..][..in_plane];
                let wp = &ws[(mi * cg + ci) * k_plane..][..k_plane];
                accumulate_plane(&mut acc, xp, wp, &a.kernel, &axes);
            }
            out.extend(acc.iter().map(|&v| T::from_f64(v)));
        }
    }
    tensor_of(out_shape, out)
}

/// `acc[o] += sum_k w[k] * x[in(o, k)]` over one input plane and one kernel plane.
fn accumulate_plane(acc: &mut [f64], x: &[f64], w: &[f64], kernel: &[usize], axes: &[Axis]) {
    let ns = axes.len();
    let in_st = strides_of(&axes.iter().map(|a| a.input).collect::<Vec<_>>());
    let out_dims: Vec<usize> = axes.iter().map(|a| a.output).collect();
    let out_st = strides_of(&out_dims);
    let last = axes[ns - 1];
    let mut ki = 0;
    for_each_index(kernel, |kpos| {
        let wv = w[ki];
        ki += 1;
        let range = last.valid_outputs(kpos[ns - 1]);
        if range.is_empty() {
            return;
        }
        // Input offset of output `o` on the last axis: o * stride + koff - pad (>= 0 in range).
        let koff = kpos[ns - 1] * last.dilation;
        for_each_index(&out_dims[..ns - 1], |opos| {
            let mut in_base = 0usize;
            let mut out_base = 0usize;
            for i in 0..ns - 1 {
                match axes[i].input_pos(opos[i], kpos[i]) {
                    Some(p) => in_base += p * in_st[i],
                    None => return,
                }
                out_base += opos[i] * out_st[i];
            }
            let first_in = in_base + range.start * last.stride + koff - last.pad;
            let row = &mut acc[out_base + range.start..out_base + range.end];
            if last.stride == 1 {
                for (a, &xv) in row.iter_mut().zip(&x[first_in..]) {
                    *a += wv * xv;
                }
            } else {
                for (a, &xv) in row.iter_mut().zip(x[first_in..].iter().step_by(last.stride)) {
                    *a += wv * xv;
                }
            }
        });
    });
}
