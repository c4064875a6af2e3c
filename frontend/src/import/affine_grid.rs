//! `AffineGrid` (opset 20; 2-D and 3-D) as one `MatMul` of the run-time `theta` with a constant
//! grid: the output size must be known at compile time, so the homogeneous base grid
//! `[x, y, (z,) 1]` of every output pixel (the reference's `construct_original_grid`, computed in
//! f64 then stored in theta's dtype) is a constant `[1, P, R+1]`, and
//! `grid[n, p, :] = base[p, :] . theta[n]^T`. A constant theta folds the whole op away.
//!
//! Normalised coordinates: `-1 + i * 2/(len-1)` with `align_corners`, else pixel centres
//! `-1 + (i + 1/2) * 2/len`; a one-pixel axis with `align_corners` (a division by zero in the
//! reference) gives -1, as `linspace(-1, 1, 1)` would.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, Tensor, ValueId};

pub fn affine_grid(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let theta = imp.input(ctx, 0)?;
    let (ts, dtype) = (imp.shape(theta), imp.ty(theta).dtype);
    let size = imp.const_input(ctx, 1)?.to_i64_vec();
    let spatial: Vec<usize> = size.iter().skip(2).map(|&d| usize::try_from(d).unwrap_or(0)).collect();
    let r = spatial.len();
    if !(r == 2 || r == 3) || spatial.contains(&0) {
        return Err(ctx.input_err(1, format!("size {size:?} must be [N, C, (D,) H, W] with positive dims")));
    }
    if ts.len() != 3 || ts[1] != r || ts[2] != r + 1 || size[0] != ts[0] as i64 || !dtype.is_float() {
        return Err(ctx.input_err(0, format!("theta {ts:?} must be float [{}, {r}, {}]", size[0], r + 1)));
    }
    let align_corners = match ctx.int_or("align_corners", 0)? {
        0 => false,
        1 => true,
        other => return Err(ctx.attr_err("align_corners", format!("must be 0 or 1, not {other}"))),
    };
    let points: usize = spatial.iter().product();
    super::build::check_table(ctx, "AffineGrid base grid", points.checked_mul(r + 1))?;
    let base = base_grid(&spatial, align_corners);
    let base = imp.constant(ctx.tmp("base_grid"), Tensor::from_f64(dtype, vec![1, points, r + 1], &base));
    let theta_t = imp.emit1(ctx, Op::Transpose { perm: vec![0, 2, 1] }, vec![theta], ctx.tmp("theta_t"))?;
    let grid = imp.emit1(ctx, Op::MatMul, vec![base, theta_t], ctx.tmp("grid_flat"))?;
    let shape = [vec![ts[0]], spatial, vec![r]].concat();
    Ok(vec![imp.reshape(ctx, grid, shape, ctx.out(0))?])
}

/// Normalised coordinate `i` of an axis of `len` pixels.
fn coordinate(i: usize, len: usize, align_corners: bool) -> f64 {
    if align_corners {
        if len == 1 {
            return -1.0;
        }
        -1.0 + i as f64 * (2.0 / (len as f64 - 1.0))
    } else {
        let step = 2.0 / len as f64;
        (-1.0 + step / 2.0) + i as f64 * step
    }
}

/// `[P, R+1]` row-major: for each pixel (row-major over `spatial`), its coordinates from the
/// last axis to the first (x first), then 1.
fn base_grid(spatial: &[usize], align_corners: bool) -> Vec<f64> {
    let r = spatial.len();
    let points: usize = spatial.iter().product();
    let mut out = Vec::with_capacity(points * (r + 1));
    for p in 0..points {
        let mut rest = p;
        let mut idx = vec![0; r];
        for d in (0..r).rev() {
            idx[d] = rest % spatial[d];
            rest /= spatial[d];
        }
        out.extend((0..r).rev().map(|d| coordinate(idx[d], spatial[d], align_corners)));
        out.push(1.0);
    }
    out
}
