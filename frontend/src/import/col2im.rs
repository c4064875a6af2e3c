//! `Col2Im` (opset 18, any number of image axes): the scatter-add of sliding blocks back into an
//! image, turned into a gather-add because the positions depend only on constants (the image and
//! block shapes, which must be known at compile time, and the attributes).
//!
//! At import we walk the reference's loops (`col2im_naive_implementation`: every block offset
//! `k` and block position `l` adds `data[n, c*K + k, l]` to the image pixel
//! `l_i * stride_i - pad_begin_i + k_i * dilation_i`, if inside) and record, for each image pixel,
//! the flat `k * L + l` of its contributions. The table is `[P, M]` (`M` = most contributions to
//! one pixel), padded with the index of an appended zero column, so the op is one `Gather` along
//! the last axis of `data` viewed as `[N, C, K*L + 1]` and a `ReduceSum` over `M`. The table is
//! bounded by `build::MAX_TABLE_ELEMENTS`.

use super::build::{check_table, unravel};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{DType, Op, ReduceKind, Tensor, ValueId};

/// Shapes and attributes of one Col2Im, one entry per image axis.
struct Geometry {
    image: Vec<usize>,
    block: Vec<usize>,
    dilations: Vec<usize>,
    strides: Vec<usize>,
    pads: Vec<usize>,
    /// Block positions per axis.
    cols: Vec<usize>,
}

pub fn col2im(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let xs = imp.shape(x);
    let g = geometry(imp, ctx)?;
    let k: usize = g.block.iter().product();
    let l: usize = g.cols.iter().product();
    if xs.len() != 3 || k == 0 || !xs[1].is_multiple_of(k) || xs[2] != l {
        return Err(ctx.input_err(0, format!("shape {xs:?} must be [N, C * {k}, {l}] for these blocks")));
    }
    let (n, c) = (xs[0], xs[1] / k);
    let lists = contributions(&g, l);
    let m = lists.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let pixels = lists.len();
    check_table(ctx, "Col2Im index table", pixels.checked_mul(m))?;
    let table: Vec<f64> =
        lists.iter().flat_map(|v| (0..m).map(|j| v.get(j).copied().unwrap_or(k * l) as f64)).collect();
    let table = imp.constant(ctx.tmp("col2im_table"), Tensor::from_f64(DType::I64, vec![pixels, m], &table));
    let flat = imp.reshape(ctx, x, vec![n, c, k * l], ctx.tmp("columns"))?;
    let dtype = imp.ty(x).dtype;
    let zero = imp.constant(ctx.tmp("zero_column"), Tensor::from_f64(dtype, vec![n, c, 1], &vec![0.0; n * c]));
    let padded = imp.emit1(ctx, Op::Concat { axis: 2 }, vec![flat, zero], ctx.tmp("columns_and_zero"))?;
    let picked = imp.emit1(ctx, Op::Gather { axis: 2 }, vec![padded, table], ctx.tmp("contributions"))?;
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![3], keepdims: false };
    let summed = imp.emit1(ctx, sum, vec![picked], ctx.tmp("pixels"))?;
    let out_shape = [vec![n, c], g.image.clone()].concat();
    Ok(vec![imp.reshape(ctx, summed, out_shape, ctx.out(0))?])
}

fn geometry(imp: &Importer, ctx: &NodeCtx) -> Result<Geometry> {
    let positive = |i: usize, v: Vec<i64>| -> Result<Vec<usize>> {
        v.iter()
            .map(|&d| usize::try_from(d).ok().filter(|&d| d > 0).ok_or_else(|| ctx.input_err(i, "must be > 0")))
            .collect()
    };
    let image = positive(1, imp.const_input(ctx, 1)?.to_i64_vec())?;
    let block = positive(2, imp.const_input(ctx, 2)?.to_i64_vec())?;
    let r = image.len();
    if block.len() != r || r == 0 {
        return Err(ctx.input_err(2, format!("block_shape {block:?} must match image_shape {image:?}")));
    }
    let attr = |name: &str, default: usize, len: usize| -> Result<Vec<usize>> {
        let v = ctx.usizes(name)?.unwrap_or_else(|| vec![default; len]);
        if v.len() != len || (default == 1 && v.contains(&0)) {
            return Err(ctx.attr_err(name, format!("{v:?} must have {len} entries (> 0 for strides/dilations)")));
        }
        Ok(v)
    };
    let (dilations, strides, pads) = (attr("dilations", 1, r)?, attr("strides", 1, r)?, attr("pads", 0, 2 * r)?);
    let mut cols = Vec::with_capacity(r);
    for i in 0..r {
        let span = dilations[i] * (block[i] - 1) + 1;
        let room = (image[i] + pads[i] + pads[i + r]).checked_sub(span);
        let n = room.map(|room| room / strides[i] + 1);
        cols.push(n.ok_or_else(|| ctx.input_err(2, format!("block {block:?} does not fit image {image:?}")))?);
    }
    Ok(Geometry { image, block, dilations, strides, pads, cols })
}

/// For every image pixel (row-major), the flat `k * L + l` indices adding into it, in the
/// reference's loop order.
fn contributions(g: &Geometry, l_total: usize) -> Vec<Vec<usize>> {
    let r = g.image.len();
    let mut lists = vec![Vec::new(); g.image.iter().product()];
    let k_total: usize = g.block.iter().product();
    for k in 0..k_total {
        let offset = unravel(k, &g.block);
        for l in 0..l_total {
            let col = unravel(l, &g.cols);
            let mut flat = 0usize;
            let mut inside = true;
            for i in 0..r {
                let pos = (col[i] * g.strides[i] + offset[i] * g.dilations[i]) as i64 - g.pads[i] as i64;
                inside &= pos >= 0 && (pos as usize) < g.image[i];
                flat = flat * g.image[i] + pos.max(0) as usize;
            }
            if inside {
                lists[flat].push(k * l_total + l);
            }
        }
    }
    lists
}
