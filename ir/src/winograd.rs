//! Winograd F(2x2, 3x3): a 3x3 stride-1 convolution as two cheap transforms around a batched
//! matrix product, so the heavy part runs in the (fast) batched MatMul kernel:
//!
//! `conv3x3_s1(x, w, b) == WinogradOutput(MatMul(U, WinogradInput(x)), b)`, `U = winograd_weights(w)`.
//!
//! - The output is cut into 2x2 tiles, `T = N * ceil(OH/2) * ceil(OW/2)` of them, tile index
//!   `t = (n*TH + th)*TW + tw`. Tile `(n, th, tw)` reads the 4x4 input patch `d` starting at row
//!   `2*th - top`, column `2*tw - left` (zero outside the input).
//! - `Op::WinogradInput`: `V[4i+j, c, t] = (B^T d B)[i][j]` -> `V: [16, C, T]`.
//! - [`winograd_weights`]: `U[4i+j, m, c] = (G g G^T)[i][j]` for the 3x3 filter `g = w[m, c]` ->
//!   `U: [16, M, C]`, computed once at compile time.
//! - `MatMul(U, V)`: 16 independent `[M, C] x [C, T]` products -> `Mt: [16, M, T]`.
//! - `Op::WinogradOutput`: each output tile is `A^T m A + bias`, cropped at the bottom and right
//!   edges when OH or OW is odd.
//!
//! Why F(2,3) and not F(4,3): its transforms use only 0, +-1 and +-1/2, so the error stays within
//! a few ulps of the direct convolution (F(4,3) loses ~2 decimal digits), and it is the variant
//! whose tiles vectorise simply over four consecutive tiles with 128-bit vectors.
//!
//! The matrices are shared with the reference evaluator (`crate::eval::winograd`) so both sides
//! use exactly the same definitions.

use crate::dtype::{DType, TensorType};
use crate::op::{ConvAttrs, Op};
use crate::tensor::Tensor;

/// `B^T` of F(2x2, 3x3) (input transform).
pub const B_T: [[f64; 4]; 4] =
    [[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, -1.0, 1.0, 0.0], [0.0, 1.0, 0.0, -1.0]];
/// `G` of F(2x2, 3x3) (filter transform).
pub const G: [[f64; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];
/// `A^T` of F(2x2, 3x3) (output transform).
pub const A_T: [[f64; 4]; 2] = [[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]];

/// Widest input row (plus left pad) the Winograd path accepts: the backend's input transform
/// stages four padded input rows on the stack (about `4 * 4 * (W + 12)` bytes, ~4 KiB here).
pub const MAX_WIDTH: usize = 256;

/// Number of 2x2 tiles along an output axis of length `len`.
pub fn tiles(len: usize) -> usize {
    len.div_ceil(2)
}

/// `T = N * ceil(OH/2) * ceil(OW/2)`, or `None` on overflow.
pub fn tile_count(n: usize, out_hw: [usize; 2]) -> Option<usize> {
    n.checked_mul(tiles(out_hw[0]))?.checked_mul(tiles(out_hw[1]))
}

/// True when the convolution `attrs` on input `x` with weights `w` can run as Winograd
/// F(2x2, 3x3): f32, 2-D, kernel 3x3, strides 1, dilations 1, group 1, every pad <= 2, the
/// weights `[M, C, 3, 3]` matching the input channels, and an input row no wider than
/// [`MAX_WIDTH`] (with its left pad).
pub fn winograd_applies(attrs: &ConvAttrs, x: &TensorType, w: &TensorType) -> bool {
    let shapes_ok = x.dtype == DType::F32
        && w.dtype == DType::F32
        && x.rank() == 4
        && w.rank() == 4
        && w.shape[1] == x.shape[1]
        && w.shape[2..] == [3, 3];
    let attrs_ok = attrs.kernel == [3, 3]
        && attrs.strides == [1, 1]
        && attrs.dilations == [1, 1]
        && attrs.group == 1
        && attrs.pads.len() == 4
        && attrs.pads.iter().all(|&p| p <= 2);
    shapes_ok && attrs_ok && x.shape[3] + attrs.pads[1] <= MAX_WIDTH && conv_out_hw(attrs, x).is_some()
}

/// The conv's output `[OH, OW]` for a 3x3 stride-1 window, or `None` when it does not fit.
fn conv_out_hw(attrs: &ConvAttrs, x: &TensorType) -> Option<[usize; 2]> {
    let oh = (x.shape[2] + attrs.pads[0] + attrs.pads[2]).checked_sub(2).filter(|&v| v > 0)?;
    let ow = (x.shape[3] + attrs.pads[1] + attrs.pads[3]).checked_sub(2).filter(|&v| v > 0)?;
    Some([oh, ow])
}

/// The `(WinogradInput, WinogradOutput)` ops replacing the convolution `attrs` on `x` with
/// weights `w`, or `None` when [`winograd_applies`] is false.
pub fn winograd_ops(attrs: &ConvAttrs, x: &TensorType, w: &TensorType) -> Option<(Op, Op)> {
    if !winograd_applies(attrs, x, w) {
        return None;
    }
    let out_hw = conv_out_hw(attrs, x)?;
    let input = Op::WinogradInput { pads: attrs.pads.clone(), out_hw };
    let output = Op::WinogradOutput { out_shape: [x.shape[0], w.shape[0], out_hw[0], out_hw[1]] };
    Some((input, output))
}

/// The transformed filters `U: f32 [16, M, C]` of `w: f32 [M, C, 3, 3]`:
/// `U[4i+j, m, c] = (G g G^T)[i][j]` with `g = w[m, c]`, computed in f64 and rounded once.
pub fn winograd_weights(w: &Tensor) -> Result<Tensor, String> {
    let shape = w.shape();
    if shape.len() != 4 || shape[2..] != [3, 3] {
        return Err(format!("weights w {} must have shape [M, C, 3, 3]", w.ty()));
    }
    let ws = w.as_slice::<f32>().ok_or_else(|| format!("weights w {} must be f32", w.ty()))?;
    let (m, c) = (shape[0], shape[1]);
    let mut u = vec![0f32; 16 * m * c];
    for (mc, g) in ws.chunks_exact(9).enumerate() {
        let gg = transform_filter(g);
        for (k, v) in gg.iter().enumerate() {
            u[k * m * c + mc] = *v as f32;
        }
    }
    Ok(Tensor::from_vec(vec![16, m, c], u))
}

/// `G g G^T` for one 3x3 filter (row-major), flattened to 16 values `4i+j`.
fn transform_filter(g: &[f32]) -> [f64; 16] {
    let mut gg = [[0f64; 3]; 4]; // G g
    for (i, row) in G.iter().enumerate() {
        for j in 0..3 {
            gg[i][j] = (0..3).map(|k| row[k] * g[3 * k + j] as f64).sum();
        }
    }
    let mut out = [0f64; 16]; // (G g) G^T
    for i in 0..4 {
        for (j, grow) in G.iter().enumerate() {
            out[4 * i + j] = (0..3).map(|k| gg[i][k] * grow[k]).sum();
        }
    }
    out
}
