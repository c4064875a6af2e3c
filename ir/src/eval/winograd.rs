//! Winograd F(2x2, 3x3) transforms (`Op::WinogradInput`, `Op::WinogradOutput`): plain loops over
//! tiles with the matrices of [`crate::winograd`], each result computed in f64 from the f32
//! operands and rounded once (the transforms are short sums of +-1 terms, so this is the exact
//! result rounded to f32). Shapes and attributes are validated by `infer_types` first.

use super::num::{slice_of, tensor_of};
use crate::tensor::Tensor;
use crate::winograd::{tiles, A_T, B_T};

/// `V[4i+j, c, t] = (B^T d B)[i][j]` for every channel `c` and tile `t`; `d` is the 4x4 input
/// patch of tile `t` (zero outside the input).
pub fn winograd_input(x: &Tensor, pads: &[usize], out_hw: [usize; 2], out_shape: &[usize]) -> Result<Tensor, String> {
    let xs = slice_of::<f32>(x)?;
    let [n, c, h, w] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let (th_n, tw_n) = (tiles(out_hw[0]), tiles(out_hw[1]));
    let t_n = out_shape[2];
    let mut v = vec![0f32; 16 * c * t_n];
    for ni in 0..n {
        for ci in 0..c {
            let plane = &xs[(ni * c + ci) * h * w..][..h * w];
            for th in 0..th_n {
                for tw in 0..tw_n {
                    let t = (ni * th_n + th) * tw_n + tw;
                    let d = patch(plane, [h, w], 2 * th as i64 - pads[0] as i64, 2 * tw as i64 - pads[1] as i64);
                    let r = sandwich4(&B_T, &d);
                    for (k, val) in r.iter().enumerate() {
                        v[(k * c + ci) * t_n + t] = *val as f32;
                    }
                }
            }
        }
    }
    tensor_of(out_shape, v)
}

/// The 4x4 patch of `plane` whose top-left element is at `(row, col)`, zero outside.
fn patch(plane: &[f32], hw: [usize; 2], row: i64, col: i64) -> [[f64; 4]; 4] {
    let mut d = [[0f64; 4]; 4];
    for (i, drow) in d.iter_mut().enumerate() {
        for (j, e) in drow.iter_mut().enumerate() {
            let (r, c) = (row + i as i64, col + j as i64);
            if r >= 0 && c >= 0 && (r as usize) < hw[0] && (c as usize) < hw[1] {
                *e = plane[r as usize * hw[1] + c as usize] as f64;
            }
        }
    }
    d
}

/// `M d M^T` for a 4x4 `M` (here `B^T`), flattened to 16 values `4i+j`.
fn sandwich4(m: &[[f64; 4]; 4], d: &[[f64; 4]; 4]) -> [f64; 16] {
    let mut md = [[0f64; 4]; 4];
    for i in 0..4 {
        for j in 0..4 {
            md[i][j] = (0..4).map(|k| m[i][k] * d[k][j]).sum();
        }
    }
    let mut out = [0f64; 16];
    for i in 0..4 {
        for j in 0..4 {
            out[4 * i + j] = (0..4).map(|k| md[i][k] * m[j][k]).sum();
        }
    }
    out
}

/// `y[n, m, 2th+i, 2tw+j] = (A^T M A)[i][j] + bias[m]`, tiles cropped at the bottom/right edges.
pub fn winograd_output(mt: &Tensor, bias: Option<&Tensor>, out_shape: &[usize; 4]) -> Result<Tensor, String> {
    let ms = slice_of::<f32>(mt)?;
    let bs = bias.map(slice_of::<f32>).transpose()?;
    let [n, m, oh, ow] = *out_shape;
    let (th_n, tw_n) = (tiles(oh), tiles(ow));
    let t_n = mt.shape()[2];
    let mut y = vec![0f32; n * m * oh * ow];
    for ni in 0..n {
        for mi in 0..m {
            let b = bs.map_or(0.0, |b| b[mi] as f64);
            let plane = &mut y[(ni * m + mi) * oh * ow..][..oh * ow];
            for th in 0..th_n {
                for tw in 0..tw_n {
                    let t = (ni * th_n + th) * tw_n + tw;
                    let tile: [f64; 16] = std::array::from_fn(|k| ms[(k * m + mi) * t_n + t] as f64);
                    for i in 0..2 {
                        for j in 0..2 {
                            let (r, c) = (2 * th + i, 2 * tw + j);
                            if r < oh && c < ow {
                                plane[r * ow + c] = (output_entry(&tile, i, j) + b) as f32;
                            }
                        }
                    }
                }
            }
        }
    }
    tensor_of(out_shape, y)
}

/// `(A^T M A)[i][j]` for the 4x4 tile `M` (flattened `4k+l`).
fn output_entry(tile: &[f64; 16], i: usize, j: usize) -> f64 {
    let mut s = 0.0;
    for k in 0..4 {
        for l in 0..4 {
            s += A_T[i][k] * tile[4 * k + l] * A_T[j][l];
        }
    }
    s
}
