//! MaxPool's optional second output `Indices`: for every output element, the flat index into
//! the input (`(n * C + c) * prod(spatial) + spatial index`, the spatial index row-major, or
//! column-major with `storage_order=1`) of the first maximum of its window, as the ONNX
//! reference (`onnx/reference/ops/op_max_pool.py`) scans it: taps in row-major window order,
//! padding skipped, a later tap replacing the best only when strictly greater (so the first
//! maximum wins, and a NaN met first stays).
//!
//! Built from existing IR ops, one step per window tap:
//! - `xp`: the input padded at both ends (the end pad grown where `ceil_mode` lets the last
//!   window run past it); the padded values are never picked, so their value is irrelevant;
//! - `table`: a constant over the padded spatial extent holding each position's spatial index,
//!   -1 in the padding, which is how a tap knows it is valid;
//! - for each tap, a strided `Slice` of `xp` and of `table` (constant, so folded) at the tap's
//!   dilated offset, and a running `(best, index)` updated by `Where(valid & (unset | x > best))`;
//! - finally the `(n, c)` offset is added to the found indices (a window that saw no input, only
//!   possible with pads >= kernel, keeps -1 as the reference's 2-D loop does).
//!
//! A dedicated kernel would be faster, but this needs no IR, evaluator or backend change and
//! reuses the vectorised slice/compare/select kernels. The tap count is bounded by
//! [`MAX_TAPS`], the constant tables by `build::check_table`.

use super::build::{bin, check_table, select, unravel};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, PadMode, PoolAttrs, Tensor, ValueId};

/// Most window taps (kernel volume) the decomposition unrolls; each adds about seven nodes.
pub const MAX_TAPS: usize = 1024;

/// The `Indices` output (int64, the pooled output's shape) of MaxPool `attrs` over `x`.
pub fn max_pool_indices(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    attrs: &PoolAttrs,
    y: ValueId,
) -> Result<ValueId> {
    let column_major = match ctx.int_or("storage_order", 0)? {
        0 => false,
        1 => true,
        other => return Err(ctx.attr_err("storage_order", format!("{other} is not 0 or 1"))),
    };
    let taps = attrs.kernel.iter().try_fold(1usize, |a, &k| a.checked_mul(k)).filter(|&t| t <= MAX_TAPS);
    let taps = taps.ok_or_else(|| {
        ctx.attr_err("kernel_shape", format!("{:?} has more than {MAX_TAPS} taps for the Indices output", attrs.kernel))
    })?;
    let geo = Geometry::new(ctx, &imp.shape(x), &imp.shape(y), attrs)?;
    let xp = pad_input(imp, ctx, x, &geo)?;
    let table = imp.constant(ctx.tmp("index_table"), spatial_table(ctx, &geo, column_major)?);
    let (mut best, mut index) = (None, None);
    for t in 0..taps {
        let offsets = geo.tap_offsets(t, attrs);
        let xs = imp.emit1(ctx, geo.slice(&offsets, true), vec![xp], ctx.tmp(&format!("tap{t}")))?;
        let is = imp.emit1(ctx, geo.slice(&offsets, false), vec![table], ctx.tmp(&format!("tap{t}_index")))?;
        (best, index) = match (best, index) {
            (Some(b), Some(i)) => {
                let (b, i) = running_max(imp, ctx, t, (b, i), (xs, is))?;
                (Some(b), Some(i))
            }
            _ => (Some(xs), Some(is)),
        };
    }
    let index = index.ok_or_else(|| ctx.attr_err("kernel_shape", "has no taps"))?;
    add_channel_offset(imp, ctx, index, &geo)
}

/// The sizes the decomposition works with (spatial lists have one entry per spatial axis).
struct Geometry {
    batch: usize,
    channels: usize,
    input: Vec<usize>,
    output: Vec<usize>,
    begin: Vec<usize>,
    end: Vec<usize>,
    strides: Vec<usize>,
}

impl Geometry {
    fn new(ctx: &NodeCtx, x: &[usize], y: &[usize], a: &PoolAttrs) -> Result<Geometry> {
        let ns = x.len().saturating_sub(2);
        if x.len() < 3 || y.len() != x.len() || a.kernel.len() != ns {
            return Err(ctx.input_err(0, format!("shape {x:?} does not match a pooled output {y:?}")));
        }
        let (input, output) = (x[2..].to_vec(), y[2..].to_vec());
        let mut end = Vec::with_capacity(ns);
        for i in 0..ns {
            // Extent the last window reaches: (out - 1) * stride + (kernel - 1) * dilation + 1.
            let reach = output[i]
                .saturating_sub(1)
                .checked_mul(a.strides[i])
                .and_then(|s| s.checked_add(a.kernel[i].saturating_sub(1).checked_mul(a.dilations[i])?))
                .and_then(|s| s.checked_add(1));
            let have = a.pads[i].checked_add(input[i]);
            let (Some(reach), Some(have)) = (reach, have) else {
                return Err(ctx.attr_err("pads", "window arithmetic overflows"));
            };
            // Only what the windows read: past the begin pad and the input, `reach - have`.
            end.push(reach.saturating_sub(have));
        }
        let (begin, strides) = (a.pads[..ns].to_vec(), a.strides.clone());
        Ok(Geometry { batch: x[0], channels: x[1], input, output, begin, end, strides })
    }

    fn padded(&self) -> Vec<usize> {
        (0..self.input.len()).map(|i| self.begin[i] + self.input[i] + self.end[i]).collect()
    }

    /// The padded-coordinate start of tap `t` (row-major over the kernel) on every spatial axis.
    fn tap_offsets(&self, t: usize, a: &PoolAttrs) -> Vec<usize> {
        unravel(t, &a.kernel).iter().zip(&a.dilations).map(|(k, d)| k * d).collect()
    }

    /// The strided slice of one tap: of the padded input (`full`) or of the `[1, 1, ..]` table.
    fn slice(&self, offsets: &[usize], full: bool) -> Op {
        let lead = if full { vec![self.batch, self.channels] } else { vec![1, 1] };
        let steps = [1, 1].into_iter().chain(self.strides.iter().map(|&s| s as i64)).collect();
        Op::Slice {
            starts: [0, 0].iter().chain(offsets).copied().collect(),
            steps,
            lens: [lead, self.output.clone()].concat(),
        }
    }
}

/// `x` with the spatial begin/end pads of `geo` (any value: padding is never selected).
fn pad_input(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, geo: &Geometry) -> Result<ValueId> {
    if geo.begin.iter().chain(&geo.end).all(|&p| p == 0) {
        return Ok(x);
    }
    let as_i64 = |v: &[usize]| -> Vec<i64> { [0, 0].into_iter().chain(v.iter().map(|&p| p as i64)).collect() };
    let pads = [as_i64(&geo.begin), as_i64(&geo.end)].concat();
    imp.emit1(ctx, Op::Pad { mode: PadMode::Constant, pads, value: 0.0.into() }, vec![x], ctx.tmp("indices_padded"))
}

/// `[1, 1, padded..]` int64: each input position's spatial index (row- or column-major), -1
/// in the padding.
fn spatial_table(ctx: &NodeCtx, geo: &Geometry, column_major: bool) -> Result<Tensor> {
    let padded = geo.padded();
    let n = check_table(ctx, "MaxPool index table", padded.iter().try_fold(1usize, |a, &d| a.checked_mul(d)))?;
    let ns = padded.len();
    // Weight of each spatial axis in the flat index.
    let mut weight = vec![1usize; ns];
    for i in 0..ns {
        let (inner, outer) = if column_major { (0..i, i) } else { (i + 1..ns, i) };
        weight[outer] = inner.map(|j| geo.input[j]).product();
    }
    let mut values = Vec::with_capacity(n);
    for flat in 0..n {
        let (mut rest, mut index) = (flat, 0i64);
        for i in (0..ns).rev() {
            let p = (rest % padded[i]) as i64 - geo.begin[i] as i64;
            rest /= padded[i];
            if index >= 0 && p >= 0 && (p as usize) < geo.input[i] {
                index += p * weight[i] as i64;
            } else {
                index = -1;
            }
        }
        values.push(index);
    }
    Ok(Tensor::from_vec([vec![1, 1], padded].concat(), values))
}

/// One step of the scan: take tap `(xs, is)` where it is valid and either nothing was found yet
/// or it is strictly greater than the best so far.
fn running_max(
    imp: &mut Importer,
    ctx: &NodeCtx,
    t: usize,
    (best, index): (ValueId, ValueId),
    (xs, is): (ValueId, ValueId),
) -> Result<(ValueId, ValueId)> {
    let name = |s: &str| ctx.tmp(&format!("tap{t}_{s}"));
    let zero = imp.constant(name("zero"), Tensor::scalar(0i64));
    let valid = bin(imp, ctx, BinaryOp::GreaterOrEqual, is, zero, name("valid"))?;
    let unset = bin(imp, ctx, BinaryOp::Less, index, zero, name("unset"))?;
    let greater = bin(imp, ctx, BinaryOp::Greater, xs, best, name("greater"))?;
    let wanted = bin(imp, ctx, BinaryOp::Or, unset, greater, name("wanted"))?;
    let take = bin(imp, ctx, BinaryOp::And, valid, wanted, name("take"))?;
    let best = select(imp, ctx, take, xs, best, name("best"))?;
    let index = select(imp, ctx, take, is, index, name("index"))?;
    Ok((best, index))
}

/// `index + (n * C + c) * prod(input)` where `index >= 0`, named as output 1.
fn add_channel_offset(imp: &mut Importer, ctx: &NodeCtx, index: ValueId, geo: &Geometry) -> Result<ValueId> {
    let planes = check_table(ctx, "MaxPool channel offsets", geo.batch.checked_mul(geo.channels))?;
    let plane: usize = geo.input.iter().product();
    let offsets: Vec<i64> = (0..planes).map(|p| (p * plane) as i64).collect();
    let shape = [vec![geo.batch, geo.channels], vec![1; geo.input.len()]].concat();
    let offsets = imp.constant(ctx.tmp("channel_offsets"), Tensor::from_vec(shape, offsets));
    let zero = imp.constant(ctx.tmp("index_zero"), Tensor::scalar(0i64));
    let found = bin(imp, ctx, BinaryOp::GreaterOrEqual, index, zero, ctx.tmp("index_found"))?;
    let global = bin(imp, ctx, BinaryOp::Add, index, offsets, ctx.tmp("index_global"))?;
    select(imp, ctx, found, global, index, ctx.out(1))
}

#[cfg(test)]
#[path = "pool_indices_tests.rs"]
mod tests;
