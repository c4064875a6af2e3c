//! Winograd F(m x m, 3x3), m = 2 or 4: a 3x3 stride-1 convolution as two cheap transforms around
//! a batched matrix product, so the heavy part runs in the (fast) batched MatMul kernel:
//!
//! `conv3x3_s1(x, w, b) == WinogradOutput(MatMul(U, WinogradInput(x)), b)`, `U = winograd_weights(w)`.
//!
//! With output tile `m` (the ops' `tile` attribute) the input tile is `a = m + 2` wide:
//! - The output is cut into m x m tiles, `T = N * ceil(OH/m) * ceil(OW/m)` of them, tile index
//!   `t = (n*TH + th)*TW + tw`. Tile `(n, th, tw)` reads the a x a input patch `d` starting at row
//!   `m*th - top`, column `m*tw - left` (zero outside the input).
//! - `Op::WinogradInput`: `V[a*i+j, c, t] = (B^T d B)[i][j]` -> `V: [a*a, C, T]`.
//! - [`winograd_weights`]: `U[a*i+j, m, c] = (G g G^T)[i][j]` for the 3x3 filter `g = w[m, c]` ->
//!   `U: [a*a, M, C]`, computed once at compile time.
//! - `MatMul(U, V)`: a*a independent `[M, C] x [C, T]` products -> `Mt: [a*a, M, T]`.
//! - `Op::WinogradOutput`: each output tile is `A^T m A + bias`, cropped at the bottom and right
//!   edges when OH or OW is not a multiple of m.
//!
//! Why both sizes, as ncnn and MNN offer (and the layout rules choose per layer by cost):
//! - F(2,3) does 16 multiplications per 4 outputs (2.25x fewer than direct). Its transforms use
//!   only 0, +-1 and +-1/2, so the error stays within a few ulps of the direct convolution.
//! - F(4,3) does 36 per 16 (4x fewer) and its transform-domain tensor is 2.25x the activations
//!   instead of 4x, but its matrices hold 4, 5, 1/6 and 1/24 (points 0, +-1, +-2): the error grows
//!   to ~1e-5 relative on unit-scale data, still far inside what ONNX conformance and onnxruntime
//!   comparisons accept (1e-3), and its tiles make the MatMul's T 4x smaller, which costs
//!   efficiency on small feature maps. F(6,3) would lose another two digits; kiln stops at 4.
//!
//! The matrices are shared with the reference evaluator (`crate::eval::winograd`) so both sides
//! use exactly the same definitions.

use crate::dtype::{DType, TensorType};
use crate::op::{ConvAttrs, Op};
use crate::tensor::Tensor;

/// The transform matrices of one variant, as rows.
#[derive(Debug)]
pub struct Matrices {
    /// Output tile size m.
    pub tile: usize,
    /// `B^T` (a x a): the input transform.
    pub b_t: &'static [&'static [f64]],
    /// `G` (a x 3): the filter transform.
    pub g: &'static [&'static [f64]],
    /// `A^T` (m x a): the output transform.
    pub a_t: &'static [&'static [f64]],
}

impl Matrices {
    /// Input tile size `a = m + 2`.
    pub fn alpha(&self) -> usize {
        self.tile + 2
    }
    /// Transform slots `a * a` (the leading dimension of V, U and Mt).
    pub fn slots(&self) -> usize {
        self.alpha() * self.alpha()
    }
}

/// F(2x2, 3x3).
pub const F2: Matrices = Matrices {
    tile: 2,
    b_t: &[&[1.0, 0.0, -1.0, 0.0], &[0.0, 1.0, 1.0, 0.0], &[0.0, -1.0, 1.0, 0.0], &[0.0, 1.0, 0.0, -1.0]],
    g: &[&[1.0, 0.0, 0.0], &[0.5, 0.5, 0.5], &[0.5, -0.5, 0.5], &[0.0, 0.0, 1.0]],
    a_t: &[&[1.0, 1.0, 1.0, 0.0], &[0.0, 1.0, -1.0, -1.0]],
};

/// F(4x4, 3x3) with points 0, 1, -1, 2, -2, infinity (Lavin & Gray 2016).
pub const F4: Matrices = Matrices {
    tile: 4,
    b_t: &[
        &[4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
        &[0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
        &[0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
        &[0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
        &[0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
        &[0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
    ],
    g: &[
        &[1.0 / 4.0, 0.0, 0.0],
        &[-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
        &[-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
        &[1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
        &[1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
        &[0.0, 0.0, 1.0],
    ],
    a_t: &[
        &[1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        &[0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
        &[0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
        &[0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
    ],
};

/// The output tile sizes kiln implements.
pub const TILES: [usize; 2] = [2, 4];

/// The matrices of F(tile x tile, 3x3), or `None` for an unsupported tile size.
pub fn matrices(tile: usize) -> Option<&'static Matrices> {
    match tile {
        2 => Some(&F2),
        4 => Some(&F4),
        _ => None,
    }
}

/// Widest input row (plus left pad) the Winograd path accepts: the backend's input transform
/// stages `a` padded input rows on the stack (about `4 * a * (W + 24)` bytes, ~7 KiB at most).
pub const MAX_WIDTH: usize = 256;

/// Number of `tile`-wide tiles along an output axis of length `len`.
pub fn tiles(len: usize, tile: usize) -> usize {
    len.div_ceil(tile.max(1))
}

/// `T = N * ceil(OH/tile) * ceil(OW/tile)`, or `None` on overflow.
pub fn tile_count(n: usize, out_hw: [usize; 2], tile: usize) -> Option<usize> {
    n.checked_mul(tiles(out_hw[0], tile))?.checked_mul(tiles(out_hw[1], tile))
}

/// True when the convolution `attrs` on input `x` with weights `w` can run as Winograd
/// F(m x m, 3x3) (either size): f32, 2-D, kernel 3x3, strides 1, dilations 1, group 1, every
/// pad <= 2, the weights `[M, C, 3, 3]` matching the input channels, and an input row no wider
/// than [`MAX_WIDTH`] (with its left pad).
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

/// The `(WinogradInput, WinogradOutput)` ops of F(tile x tile, 3x3) replacing the convolution
/// `attrs` on `x` with weights `w`, or `None` when [`winograd_applies`] is false or the tile
/// size is not one of [`TILES`].
pub fn winograd_ops(attrs: &ConvAttrs, x: &TensorType, w: &TensorType, tile: usize) -> Option<(Op, Op)> {
    if !winograd_applies(attrs, x, w) || matrices(tile).is_none() {
        return None;
    }
    let out_hw = conv_out_hw(attrs, x)?;
    let input = Op::WinogradInput { pads: attrs.pads.clone(), out_hw, tile };
    let output = Op::WinogradOutput { out_shape: [x.shape[0], w.shape[0], out_hw[0], out_hw[1]], tile };
    Some((input, output))
}

/// The transformed filters `U: f32 [a*a, M, C]` of `w: f32 [M, C, 3, 3]` for F(tile x tile, 3x3):
/// `U[a*i+j, m, c] = (G g G^T)[i][j]` with `g = w[m, c]`, computed in f64 and rounded once.
pub fn winograd_weights(w: &Tensor, tile: usize) -> Result<Tensor, String> {
    let mats = matrices(tile).ok_or_else(|| format!("Winograd tile {tile} is not one of {TILES:?}"))?;
    let shape = w.shape();
    if shape.len() != 4 || shape[2..] != [3, 3] {
        return Err(format!("weights w {} must have shape [M, C, 3, 3]", w.ty()));
    }
    let ws = w.as_slice::<f32>().ok_or_else(|| format!("weights w {} must be f32", w.ty()))?;
    let (m, c) = (shape[0], shape[1]);
    let u = match tile {
        2 => transform_filters::<4>(mats.g, ws),
        _ => transform_filters::<6>(mats.g, ws),
    };
    Ok(Tensor::from_vec(vec![mats.slots(), m, c], u))
}

/// `G g G^T` of every 3x3 filter `g` in `ws` (row-major, `[M*C][9]`), laid out `[A*A][M*C]`:
/// f64 arithmetic rounded once. Monomorphised on the input tile size `A` so the loops unroll,
/// and blocked by [`FILTER_BLOCK`] filters so the `A*A` output rows are written in contiguous
/// runs (one value per row per filter jumps a megabyte for a 512x512 conv and ran 5x slower).
/// This runs once per filter of every chosen Winograd conv, millions of times for a ResNet.
fn transform_filters<const A: usize>(g_rows: &[&[f64]], ws: &[f32]) -> Vec<f32> {
    let g_mat: [[f64; 3]; A] = std::array::from_fn(|i| [g_rows[i][0], g_rows[i][1], g_rows[i][2]]);
    let filters = ws.len() / 9;
    let mut u = vec![0f32; A * A * filters];
    let mut block = vec![[0f32; FILTER_BLOCK]; A * A];
    for (b, chunk) in ws.chunks(9 * FILTER_BLOCK).enumerate() {
        let count = chunk.len() / 9;
        for (f, g) in chunk.chunks_exact(9).enumerate() {
            let gg: [[f64; 3]; A] = std::array::from_fn(|i| {
                let r = g_mat[i];
                std::array::from_fn(|j| r[0] * g[j] as f64 + r[1] * g[3 + j] as f64 + r[2] * g[6 + j] as f64)
            });
            for i in 0..A {
                for j in 0..A {
                    let v = gg[i][0] * g_mat[j][0] + gg[i][1] * g_mat[j][1] + gg[i][2] * g_mat[j][2];
                    block[A * i + j][f] = v as f32;
                }
            }
        }
        for (k, row) in block.iter().enumerate() {
            let start = k * filters + b * FILTER_BLOCK;
            u[start..start + count].copy_from_slice(&row[..count]);
        }
    }
    u
}

/// Filters transformed per block in [`transform_filters`].
const FILTER_BLOCK: usize = 64;
