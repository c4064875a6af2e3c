//! Winograd F(m x m, 3x3) transforms (`Op::WinogradInput`, `Op::WinogradOutput`): plain loops
//! over tiles with the matrices of [`crate::winograd`], each result computed in f64 from the f32
//! operands and rounded once (the transforms are short sums of small exact terms, so this is the
//! exact result rounded to f32). Shapes and attributes are validated by `infer_types` first.

use super::num::{slice_of, tensor_of};
use crate::tensor::Tensor;
use crate::winograd::{matrices, tiles, Matrices};

fn variant(tile: usize) -> Result<&'static Matrices, String> {
    matrices(tile).ok_or_else(|| format!("attribute `tile`: {tile} is not 2 or 4"))
}

/// `V[a*i+j, c, t] = (B^T d B)[i][j]` for every channel `c` and tile `t`; `d` is the a x a input
/// patch of tile `t` (zero outside the input).
pub fn winograd_input(
    x: &Tensor,
    pads: &[usize],
    out_hw: [usize; 2],
    tile: usize,
    out_shape: &[usize],
) -> Result<Tensor, String> {
    let mats = variant(tile)?;
    let xs = slice_of::<f32>(x)?;
    let [n, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let (th_n, tw_n) = (tiles(out_hw[0], tile), tiles(out_hw[1], tile));
    let t_n = out_shape[2];
    let mut v = vec![0f32; mats.slots() * c * t_n];
    for ni in 0..n {
        for ci in 0..c {
            let plane = &xs[(ni * c + ci) * h * w..][..h * w];
            for th in 0..th_n {
                for tw in 0..tw_n {
                    let t = (ni * th_n + th) * tw_n + tw;
                    let at = [(tile * th) as i64 - pads[0] as i64, (tile * tw) as i64 - pads[1] as i64];
                    let d = patch(plane, [h, w], at, mats.alpha());
                    for (k, val) in sandwich(mats.b_t, &d).iter().enumerate() {
                        v[(k * c + ci) * t_n + t] = *val as f32;
                    }
                }
            }
        }
    }
    tensor_of(out_shape, v)
}

/// The `a x a` patch of `plane` whose top-left element is at `(row, col)`, zero outside.
fn patch(plane: &[f32], hw: [usize; 2], [row, col]: [i64; 2], a: usize) -> Vec<Vec<f64>> {
    (0..a as i64)
        .map(|i| {
            (0..a as i64)
                .map(|j| {
                    let (r, c) = (row + i, col + j);
                    let inside = r >= 0 && c >= 0 && (r as usize) < hw[0] && (c as usize) < hw[1];
                    if inside {
                        plane[r as usize * hw[1] + c as usize] as f64
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// `M d M^T` for a square `M` (here `B^T`), flattened to `a*a` values `a*i+j`.
fn sandwich(m: &[&[f64]], d: &[Vec<f64>]) -> Vec<f64> {
    let a = m.len();
    let md: Vec<Vec<f64>> = (0..a).map(|i| (0..a).map(|j| (0..a).map(|k| m[i][k] * d[k][j]).sum()).collect()).collect();
    (0..a * a).map(|ij| (0..a).map(|k| md[ij / a][k] * m[ij % a][k]).sum()).collect()
}

/// `y[n, m, tile*th+i, tile*tw+j] = (A^T M A)[i][j] + bias[m]`, tiles cropped at the edges.
pub fn winograd_output(
    mt: &Tensor,
    bias: Option<&Tensor>,
    out_shape: &[usize; 4],
    tile: usize,
) -> Result<Tensor, String> {
    let mats = variant(tile)?;
    let ms = slice_of::<f32>(mt)?;
    let bs = bias.map(slice_of::<f32>).transpose()?;
    let [n, m, oh, ow] = *out_shape;
    let (th_n, tw_n) = (tiles(oh, tile), tiles(ow, tile));
    let t_n = mt.shape()[2];
    let mut y = vec![0f32; n * m * oh * ow];
    for ni in 0..n {
        for mi in 0..m {
            let b = bs.map_or(0.0, |b| b[mi] as f64);
            let plane = &mut y[(ni * m + mi) * oh * ow..][..oh * ow];
            for th in 0..th_n {
                for tw in 0..tw_n {
                    let t = (ni * th_n + th) * tw_n + tw;
                    let block: Vec<f64> = (0..mats.slots()).map(|k| ms[(k * m + mi) * t_n + t] as f64).collect();
                    for i in 0..tile {
                        for j in 0..tile {
                            let (r, c) = (tile * th + i, tile * tw + j);
                            if r < oh && c < ow {
                                plane[r * ow + c] = (output_entry(mats, &block, i, j) + b) as f32;
                            }
                        }
                    }
                }
            }
        }
    }
    tensor_of(out_shape, y)
}

/// `(A^T M A)[i][j]` for the a x a block `M` (flattened `a*k+l`).
fn output_entry(mats: &Matrices, block: &[f64], i: usize, j: usize) -> f64 {
    let a = mats.alpha();
    let mut s = 0.0;
    for k in 0..a {
        for l in 0..a {
            s += mats.a_t[i][k] * block[a * k + l] * mats.a_t[j][l];
        }
    }
    s
}
