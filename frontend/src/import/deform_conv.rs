//! `DeformConv` (opsets 19, 22; any number of spatial axes) as bilinear sampling followed by
//! one grouped `MatMul`, following `onnx/reference/ops/op_deform_conv.py`.
//!
//! The offsets are run-time data, so every sampling position is computed with IR ops. For
//! offset group `g`, kernel tap `k` and output position `o`, spatial axis `d` samples at
//!
//! `p_d = -pad_begin_d + stride_d o_d + dilation_d k_d + offset[n, g, k, d, o]`
//!
//! and reads the input bilinearly with zero outside the image: taps `floor(p) + [0, 1]` with
//! weights `[1 - f, f]`, a tap outside `[0, len - 1]` contributing zero (the reference's
//! `GridSample` with `align_corners = 1` and `zeros` padding, whose normalisation round trip
//! is the identity on `p`). Treating each offset group as its own image (`X` viewed as
//! `[N G, C / G, S..]`, which is free since a group's channels are contiguous) lets
//! `super::sampling::gather_taps` read every tap of every channel with one `Gather`, giving
//! samples `[N G, K, O, C / G]` (`K`, `O`: the kernel taps and output positions, flattened).
//!
//! The samples are multiplied by the optional mask, rearranged into per-group columns
//! `[N, group, O, C/group K]` and multiplied by the weights as `[group, C/group K, M/group]`,
//! then the bias is added. The largest tensor built, the gathered taps `[N C K O 2^dims]`, is
//! bounded by [`MAX_TABLE_ELEMENTS`] before anything is emitted.
//!
//! One deliberate difference: the reference divides by `len - 1` to normalise a coordinate,
//! which is NaN for an axis of length 1; kiln samples that axis at `p` like any other.

use super::build::{bin, cast, un, MAX_TABLE_ELEMENTS};
use super::ctx::NodeCtx;
use super::sampling::{clamped_index, gather_taps, linear_weights, tap_const, with_tap_axis, within, AxisTaps};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, Tensor, UnaryOp, ValueId};

/// Attributes, defaulted from the weight shape.
struct Spec {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: Vec<usize>,
    group: usize,
    offset_group: usize,
}

/// Sizes derived from the inputs: batch, channels, output channels, image and output extents.
struct Dims {
    n: usize,
    c: usize,
    m: usize,
    image: Vec<usize>,
    out: Vec<usize>,
    taps: usize,
    positions: usize,
}

pub fn deform_conv(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, w, offset) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?, imp.input(ctx, 2)?);
    let (xs, ws, dtype) = (imp.shape(x), imp.shape(w), imp.ty(x).dtype);
    if xs.len() < 3 || !dtype.is_float() {
        return Err(ctx.input_err(0, format!("must be float [N, C, spatial..], not {} {xs:?}", dtype.name())));
    }
    if ws.len() != xs.len() {
        return Err(ctx.input_err(1, format!("must be [M, C / group, kernel..] of rank {}, not {ws:?}", xs.len())));
    }
    let spec = spec(ctx, &ws)?;
    let dims = dims(imp, ctx, &spec, &xs, &ws, offset)?;
    let (bias, mask) = (imp.opt_input(ctx, 3)?, imp.opt_input(ctx, 4)?);
    check_optional(imp, ctx, &spec, &dims, bias, mask)?;
    let gathered = [dims.n, dims.c, dims.taps, dims.positions, 1 << dims.image.len().min(20)];
    if gathered.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).is_none_or(|e| e > MAX_TABLE_ELEMENTS) {
        return Err(ctx.err(format!("the bilinear taps {gathered:?} exceed {MAX_TABLE_ELEMENTS} elements")));
    }
    let same = |imp: &mut Importer, v: ValueId, name: &str| -> Result<ValueId> {
        if imp.ty(v).dtype == dtype {
            return Ok(v);
        }
        cast(imp, ctx, v, dtype, ctx.tmp(name))
    };
    let offset = same(imp, offset, "offset_cast")?;
    let axes =
        (0..dims.image.len()).map(|d| axis_taps(imp, ctx, &spec, &dims, offset, d)).collect::<Result<Vec<_>>>()?;
    let groups = spec.offset_group;
    let view = [vec![dims.n * groups, dims.c / groups], dims.image.clone()].concat();
    let view = imp.reshape(ctx, x, view, ctx.tmp("offset_group_images"))?;
    let samples = gather_taps(imp, ctx, view, &axes)?;
    let mask = match mask {
        Some(m) => Some(same(imp, m, "mask_cast")?),
        None => None,
    };
    let columns = columns(imp, ctx, &spec, &dims, samples, mask)?;
    let w = same(imp, w, "weight_cast")?;
    let weights = grouped_weights(imp, ctx, &spec, &dims, w)?;
    let products = imp.emit1(ctx, Op::MatMul, vec![columns, weights], ctx.tmp("products"))?;
    let bias = match bias {
        Some(b) => Some(same(imp, b, "bias_cast")?),
        None => None,
    };
    Ok(vec![output(imp, ctx, &dims, products, bias)?])
}

fn spec(ctx: &NodeCtx, ws: &[usize]) -> Result<Spec> {
    let nd = ws.len() - 2;
    let kernel = ctx.usizes("kernel_shape")?.unwrap_or_else(|| ws[2..].to_vec());
    if kernel != ws[2..] {
        return Err(ctx.attr_err("kernel_shape", format!("{kernel:?} differs from the weight's {:?}", &ws[2..])));
    }
    let list = |name: &str, len: usize, default: usize, min: usize| -> Result<Vec<usize>> {
        let v = ctx.usizes(name)?.unwrap_or_else(|| vec![default; len]);
        if v.len() != len || v.iter().any(|&e| e < min) {
            return Err(ctx.attr_err(name, format!("must be {len} values >= {min}, not {v:?}")));
        }
        Ok(v)
    };
    let positive = |name: &str| -> Result<usize> {
        let v = ctx.int_or(name, 1)?;
        usize::try_from(v).ok().filter(|&v| v > 0).ok_or_else(|| ctx.attr_err(name, format!("{v} must be > 0")))
    };
    Ok(Spec {
        kernel,
        strides: list("strides", nd, 1, 1)?,
        dilations: list("dilations", nd, 1, 1)?,
        pads: list("pads", 2 * nd, 0, 0)?,
        group: positive("group")?,
        offset_group: positive("offset_group")?,
    })
}

/// Checks the channel, group and offset shapes; the output extents are the offset's.
fn dims(imp: &Importer, ctx: &NodeCtx, s: &Spec, xs: &[usize], ws: &[usize], offset: ValueId) -> Result<Dims> {
    let nd = xs.len() - 2;
    let (n, c, m) = (xs[0], xs[1], ws[0]);
    if ws[1].checked_mul(s.group) != Some(c) || m % s.group != 0 {
        return Err(ctx.attr_err("group", format!("{} does not split X {xs:?} and W {ws:?} evenly", s.group)));
    }
    if c % s.offset_group != 0 {
        return Err(ctx.attr_err("offset_group", format!("{} does not divide the {c} channels", s.offset_group)));
    }
    let mut out = Vec::with_capacity(nd);
    for d in 0..nd {
        let extent = (s.kernel[d].max(1) - 1).saturating_mul(s.dilations[d]).saturating_add(1);
        let padded = xs[2 + d].saturating_add(s.pads[d]).saturating_add(s.pads[nd + d]);
        if s.kernel[d] == 0 || padded < extent {
            return Err(ctx.attr_err("kernel_shape", format!("kernel {:?} does not fit the padded input", s.kernel)));
        }
        out.push((padded - extent) / s.strides[d] + 1);
    }
    let taps: usize = s.kernel.iter().product();
    let want = [vec![n, s.offset_group * taps * nd], out.clone()].concat();
    if imp.shape(offset) != want || !imp.ty(offset).dtype.is_float() {
        return Err(ctx.input_err(2, format!("offset must be float {want:?}, not {:?}", imp.shape(offset))));
    }
    let positions = out.iter().product();
    Ok(Dims { n, c, m, image: xs[2..].to_vec(), out, taps, positions })
}

fn check_optional(
    imp: &Importer,
    ctx: &NodeCtx,
    s: &Spec,
    d: &Dims,
    bias: Option<ValueId>,
    mask: Option<ValueId>,
) -> Result<()> {
    if let Some(b) = bias {
        if imp.shape(b) != [d.m] || !imp.ty(b).dtype.is_float() {
            return Err(ctx.input_err(3, format!("B must be float [{}], not {:?}", d.m, imp.shape(b))));
        }
    }
    if let Some(mk) = mask {
        let want = [vec![d.n, s.offset_group * d.taps], d.out.clone()].concat();
        if imp.shape(mk) != want || !imp.ty(mk).dtype.is_float() {
            return Err(ctx.input_err(4, format!("mask must be float {want:?}, not {:?}", imp.shape(mk))));
        }
    }
    Ok(())
}

/// The bilinear taps of spatial axis `axis` for every (group image, kernel tap, position).
fn axis_taps(imp: &mut Importer, ctx: &NodeCtx, s: &Spec, d: &Dims, offset: ValueId, axis: usize) -> Result<AxisTaps> {
    let nd = d.image.len();
    let images = d.n * s.offset_group;
    let split = imp.reshape(ctx, offset, vec![images, d.taps, nd, d.positions], ctx.tmp("offset_split"))?;
    let mut starts = vec![0; 4];
    starts[2] = axis;
    let lens = vec![images, d.taps, 1, d.positions];
    let op = Op::Slice { starts, steps: vec![1; 4], lens };
    let component = imp.emit1(ctx, op, vec![split], ctx.tmp("offset_component"))?;
    let component = imp.reshape(ctx, component, vec![images, d.taps, d.positions], ctx.tmp("offset_axis"))?;
    let dtype = imp.ty(offset).dtype;
    let base = imp.constant(ctx.tmp("base_position"), base_positions(s, d, axis, dtype));
    let pos = bin(imp, ctx, BinaryOp::Add, component, base, ctx.tmp("position"))?;
    let pos = with_tap_axis(imp, ctx, pos, "position_column")?;
    let floor = un(imp, ctx, UnaryOp::Floor, pos, ctx.tmp("position_floor"))?;
    let frac = bin(imp, ctx, BinaryOp::Sub, pos, floor, ctx.tmp("position_frac"))?;
    let weight = linear_weights(imp, ctx, frac)?;
    let steps = tap_const(imp, ctx, dtype, 4, &[0.0, 1.0], "tap_steps");
    let taps = bin(imp, ctx, BinaryOp::Add, floor, steps, ctx.tmp("tap_positions"))?;
    let len = d.image[axis];
    let inside = within(imp, ctx, taps, 0.0, len as f64 - 1.0)?;
    let index = clamped_index(imp, ctx, taps, len)?;
    Ok(AxisTaps { index, weight: Some(weight), inside: Some(inside) })
}

/// `-pad_begin + stride o + dilation k` along `axis` as `[1, K, O]`.
fn base_positions(s: &Spec, d: &Dims, axis: usize, dtype: DType) -> Tensor {
    let along = |shape: &[usize], flat: usize| -> usize {
        let inner: usize = shape[axis + 1..].iter().product();
        (flat / inner) % shape[axis]
    };
    let mut vals = Vec::with_capacity(d.taps * d.positions);
    for k in 0..d.taps {
        let tap = (s.dilations[axis] * along(&s.kernel, k)) as f64;
        for o in 0..d.positions {
            let at = (s.strides[axis] * along(&d.out, o)) as f64;
            vals.push(at + tap - s.pads[axis] as f64);
        }
    }
    Tensor::from_f64(dtype, vec![1, d.taps, d.positions], &vals)
}

/// Samples `[N G, K, O, C/G]` (times the mask) as per-group columns `[N, group, O, C/group K]`.
fn columns(
    imp: &mut Importer,
    ctx: &NodeCtx,
    s: &Spec,
    d: &Dims,
    samples: ValueId,
    mask: Option<ValueId>,
) -> Result<ValueId> {
    let og = s.offset_group;
    let split = vec![d.n, og, d.taps, d.positions, d.c / og];
    let mut samples = imp.reshape(ctx, samples, split, ctx.tmp("samples_by_group"))?;
    if let Some(mk) = mask {
        let mk = imp.reshape(ctx, mk, vec![d.n, og, d.taps, d.positions, 1], ctx.tmp("mask_column"))?;
        samples = bin(imp, ctx, BinaryOp::Mul, samples, mk, ctx.tmp("masked_samples"))?;
    }
    let op = Op::Transpose { perm: vec![0, 3, 1, 4, 2] };
    let moved = imp.emit1(ctx, op, vec![samples], ctx.tmp("samples_channel_tap"))?;
    let per_group = d.c / s.group * d.taps;
    let rows = imp.reshape(ctx, moved, vec![d.n, d.positions, s.group, per_group], ctx.tmp("rows"))?;
    imp.emit1(ctx, Op::Transpose { perm: vec![0, 2, 1, 3] }, vec![rows], ctx.tmp("columns"))
}

/// `W` `[M, C/group, kernel..]` as `[group, C/group K, M/group]`.
fn grouped_weights(imp: &mut Importer, ctx: &NodeCtx, s: &Spec, d: &Dims, w: ValueId) -> Result<ValueId> {
    let shape = vec![s.group, d.m / s.group, d.c / s.group * d.taps];
    let w = imp.reshape(ctx, w, shape, ctx.tmp("weight_groups"))?;
    imp.emit1(ctx, Op::Transpose { perm: vec![0, 2, 1] }, vec![w], ctx.tmp("weight_columns"))
}

/// `[N, group, O, M/group]` -> `[N, M, out..]`, plus the bias.
fn output(imp: &mut Importer, ctx: &NodeCtx, d: &Dims, products: ValueId, bias: Option<ValueId>) -> Result<ValueId> {
    let op = Op::Transpose { perm: vec![0, 1, 3, 2] };
    let moved = imp.emit1(ctx, op, vec![products], ctx.tmp("channels_first"))?;
    let shape = [vec![d.n, d.m], d.out.clone()].concat();
    let y = imp.reshape(ctx, moved, shape, ctx.tmp("unbiased"))?;
    let Some(b) = bias else {
        return imp.emit1(ctx, Op::Identity, vec![y], ctx.out(0));
    };
    let column = [vec![d.m], vec![1; d.out.len()]].concat();
    let b = imp.reshape(ctx, b, column, ctx.tmp("bias_column"))?;
    bin(imp, ctx, BinaryOp::Add, y, b, ctx.out(0))
}
