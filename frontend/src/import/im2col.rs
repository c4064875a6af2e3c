//! Exact integer convolution for ConvInteger and QLinearConv, as im2col + an i32 `MatMul`.
//!
//! The IR's `Conv` is f32 only, and an f32 accumulator stops being exact once a sum passes
//! 2^24 (about 260 products of two values near 255), so an integer convolution cannot borrow
//! it. Instead the sliding windows are gathered at run time through a table known at compile
//! time, and the products are summed by the integer `MatMul` (the backend's scalar GEMM on
//! i32, wrapping like numpy's int32 matmul in the ONNX reference), which is exact for every K:
//!
//! 1. `x` (already centred, i32 `[N, C, D..]`) is viewed as `[N, C, P]` (`P` = prod of `D`) and
//!    padded with one zero at the end of the last axis: index `P` reads 0, which is what the
//!    reference's zero padding of the centred input gives;
//! 2. a constant i64 table `[K, L]` (`K` = kernel volume, `L` = output positions, both
//!    row-major) holds, per kernel offset and output position, the flat input index
//!    `sum_i (l_i * stride_i + k_i * dilation_i - pad_begin_i) * stride_of_axis_i`, or `P` when
//!    the position falls in the padding; `Gather` along axis 2 gives `[N, C, K, L]`;
//! 3. that is `[N, G, C/G * K, L]` per group, and the weights `[M, C/G, k..]` are
//!    `[G, M/G, C/G * K]`; the batched `MatMul` gives `[N, G, M/G, L]` = `[N, M, out..]`.
//!
//! The table is bounded by `build::MAX_TABLE_ELEMENTS`. Strides, dilations and pads (explicit,
//! or `auto_pad` with the dilated kernel, as the reference's `_conv_implementation`) are
//! resolved as for `Conv` (`nn::window`).

use super::build::{check_table, unravel};
use super::ctx::NodeCtx;
use super::nn::{window, Window};
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, PadMode, Tensor, ValueId};

/// Resolved window of one integer convolution, one entry per spatial axis.
pub struct Geometry {
    pub group: usize,
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    /// Begin pads, then end pads.
    pads: Vec<usize>,
    input: Vec<usize>,
    out: Vec<usize>,
}

/// Checks the shapes of `x` `[N, C, D..]` and `w` `[M, C/group, k..]` against the node's
/// attributes and resolves the window.
pub fn geometry(ctx: &NodeCtx, xs: &[usize], ws: &[usize], w_input: usize) -> Result<Geometry> {
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(ctx.input_err(w_input, format!("weights {ws:?} and input {xs:?} need the same rank >= 3")));
    }
    let group = usize::try_from(ctx.int_or("group", 1)?).ok().filter(|&g| g > 0);
    let group = group.ok_or_else(|| ctx.attr_err("group", "must be positive"))?;
    if ws[1].checked_mul(group) != Some(xs[1]) || !ws[0].is_multiple_of(group) {
        let msg = format!("{group} groups do not fit input channels {} and weights {ws:?}", xs[1]);
        return Err(ctx.attr_err("group", msg));
    }
    let kernel = ctx.usizes("kernel_shape")?.unwrap_or_else(|| ws[2..].to_vec());
    if kernel != ws[2..] || kernel.contains(&0) {
        return Err(ctx.attr_err("kernel_shape", format!("{kernel:?} must be the weights' non-empty {:?}", &ws[2..])));
    }
    let input = xs[2..].to_vec();
    let Window { strides, dilations, pads } = window(ctx, &input, &kernel)?;
    let span = dilated_kernel(ctx, &kernel, &dilations)?;
    let out = output_dims(ctx, &input, &span, &strides, &pads)?;
    Ok(Geometry { group, kernel, strides, dilations, pads, input, out })
}

/// `(k - 1) * dilation + 1` per axis, refusing sizes that overflow.
fn dilated_kernel(ctx: &NodeCtx, kernel: &[usize], dilations: &[usize]) -> Result<Vec<usize>> {
    let span = |(&k, &d): (&usize, &usize)| (k - 1).checked_mul(d).and_then(|s| s.checked_add(1));
    kernel.iter().zip(dilations).map(span).collect::<Option<_>>().ok_or_else(|| ctx.attr_err("dilations", "too large"))
}

/// `(D + pads - span) / stride + 1` per axis; an error when the kernel does not fit.
fn output_dims(
    ctx: &NodeCtx,
    input: &[usize],
    span: &[usize],
    strides: &[usize],
    pads: &[usize],
) -> Result<Vec<usize>> {
    let n = input.len();
    (0..n)
        .map(|a| {
            let padded = input[a].checked_add(pads[a]).and_then(|p| p.checked_add(pads[n + a]));
            let room = padded.and_then(|p| p.checked_sub(span[a]));
            room.map(|r| r / strides[a] + 1).ok_or_else(|| {
                ctx.attr_err("pads", format!("kernel span {span:?} does not fit input {input:?} with pads {pads:?}"))
            })
        })
        .collect()
}

/// The exact convolution of centred i32 `x` `[N, C, D..]` by centred i32 `w` `[M, C/G, k..]`:
/// i32 `[N, M, out..]` named `name` (see the module docs).
pub fn integer_conv(
    imp: &mut Importer,
    ctx: &NodeCtx,
    (x, w): (ValueId, ValueId),
    g: &Geometry,
    name: String,
) -> Result<ValueId> {
    let (xs, ws) = (imp.shape(x), imp.shape(w));
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    let kvol: usize = g.kernel.iter().product();
    let positions: usize = g.out.iter().product();
    let (p, table) = window_table(ctx, g, kvol, positions)?;
    let flat = imp.reshape(ctx, x, vec![n, c, p], ctx.tmp("x_flat"))?;
    let pads = vec![0, 0, 0, 0, 0, 1];
    let padded =
        imp.emit1(ctx, Op::Pad { mode: PadMode::Constant, pads, value: 0.0.into() }, vec![flat], ctx.tmp("x_zero"))?;
    let table = imp.constant(ctx.tmp("im2col_table"), Tensor::from_vec(vec![kvol, positions], table));
    let cols = imp.emit1(ctx, Op::Gather { axis: 2 }, vec![padded, table], ctx.tmp("columns"))?;
    let cg_k = (c / g.group) * kvol;
    let cols = imp.reshape(ctx, cols, vec![n, g.group, cg_k, positions], ctx.tmp("group_columns"))?;
    let w = imp.reshape(ctx, w, vec![g.group, m / g.group, cg_k], ctx.tmp("group_weights"))?;
    let y = imp.emit1(ctx, Op::MatMul, vec![w, cols], ctx.tmp("products"))?;
    imp.emit1(ctx, Op::Reshape { shape: [vec![n, m], g.out.clone()].concat() }, vec![y], name)
}

/// The input size `P` and the `[K, L]` gather table of flat input indices (`P` for padding).
fn window_table(ctx: &NodeCtx, g: &Geometry, kvol: usize, positions: usize) -> Result<(usize, Vec<i64>)> {
    let p = g.input.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let p = p.filter(|&p| p < i64::MAX as usize).ok_or_else(|| ctx.err("the input is too large to index"))?;
    check_table(ctx, "im2col index table", kvol.checked_mul(positions))?;
    let rank = g.input.len();
    let mut table = Vec::with_capacity(kvol * positions);
    for k in 0..kvol {
        let offset = unravel(k, &g.kernel);
        for l in 0..positions {
            let pos = unravel(l, &g.out);
            let mut flat = 0usize;
            let mut inside = true;
            for a in 0..rank {
                let at = pos[a] as i128 * g.strides[a] as i128 + offset[a] as i128 * g.dilations[a] as i128
                    - g.pads[a] as i128;
                inside &= at >= 0 && at < g.input[a] as i128;
                flat = flat * g.input[a] + if inside { at as usize } else { 0 };
            }
            table.push(if inside { flat as i64 } else { p as i64 });
        }
    }
    Ok((p, table))
}
