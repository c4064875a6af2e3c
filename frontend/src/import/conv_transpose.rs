//! `ConvTranspose` as the direct convolution it equals, so every conv kernel, fusion and the
//! cost model apply unchanged:
//!
//! 1. zeros inserted between input elements (stride `s`): reshape to `[.., D, 1, ..]`, pad the
//!    new axes with `s - 1` zeros, reshape to `[.., D*s, ..]` (skipped when every stride is 1);
//! 2. a border pad of `dil*(k-1) - pad_begin` before and `dil*(k-1) - pad_end + output_padding
//!    - (s-1)` after (the `s-1` trailing zeros of step 1 are not part of the dilated input); a
//!    negative amount crops, which the IR's `Pad` allows;
//! 3. a stride-1 `Conv` with the node's dilations and group, on the weights
//!    `[C, M/g, k..]` regrouped to `[M, C/g, k..]` and flipped along every spatial axis (folded
//!    at import when the weights are constant and small enough, else computed in the graph).
//!
//! `output_shape` and `auto_pad` fix the pads as the operator spec states (SAME_UPPER puts the
//! odd padding at the end; otherwise at the beginning).

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{ConvAttrs, Op, PadMode, ValueId};

/// Per-axis geometry of the transposed convolution, after attribute resolution.
struct Geometry {
    strides: Vec<usize>,
    dilations: Vec<usize>,
    kernel: Vec<usize>,
    /// Begin then end pads of the transposed conv (cropping of its full output; negative when
    /// `output_shape` asks for more than the full output, which then grows by zeros).
    pads: Vec<i64>,
    output_padding: Vec<usize>,
}

pub fn conv_transpose(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, w) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let (xs, ws) = (imp.shape(x), imp.shape(w));
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(ctx.input_err(1, format!("weights {ws:?} and input {xs:?} need the same rank >= 3")));
    }
    let group = usize::try_from(ctx.int_or("group", 1)?).ok().filter(|&g| g > 0 && xs[1] % g == 0 && ws[0] == xs[1]);
    let group = group.ok_or_else(|| {
        ctx.attr_err("group", format!("must divide the {} input channels of the weights {ws:?}", xs[1]))
    })?;
    let geo = geometry(ctx, &xs[2..], &ws[2..])?;
    let dilated = insert_zeros(imp, ctx, x, &geo.strides)?;
    let bordered = border(imp, ctx, dilated, &geo)?;
    let weights = regroup_and_flip(imp, ctx, w, group)?;
    let n = geo.kernel.len();
    let attrs =
        ConvAttrs { kernel: geo.kernel, strides: vec![1; n], dilations: geo.dilations, pads: vec![0; 2 * n], group };
    let mut ins = vec![bordered, weights];
    ins.extend(imp.opt_input(ctx, 2)?);
    Ok(vec![imp.emit1(ctx, Op::Conv(attrs), ins, ctx.out(0))?])
}

fn geometry(ctx: &NodeCtx, input: &[usize], wk: &[usize]) -> Result<Geometry> {
    let n = input.len();
    let per_axis = |name: &str, default: usize| -> Result<Vec<usize>> {
        let v = ctx.usizes(name)?.unwrap_or_else(|| vec![default; n]);
        if v.len() != n {
            return Err(ctx.attr_err(name, format!("{v:?} needs {n} entries")));
        }
        Ok(v)
    };
    let kernel = ctx.usizes("kernel_shape")?.unwrap_or_else(|| wk.to_vec());
    if kernel != wk {
        return Err(ctx.attr_err("kernel_shape", format!("{kernel:?} differs from the weights' {wk:?}")));
    }
    if kernel.contains(&0) || input.contains(&0) {
        return Err(ctx.attr_err("kernel_shape", format!("kernel {kernel:?} and input {input:?} must be non-empty")));
    }
    let (strides, dilations) = (per_axis("strides", 1)?, per_axis("dilations", 1)?);
    if strides.contains(&0) || dilations.contains(&0) {
        return Err(ctx.attr_err("strides", "strides and dilations must be positive"));
    }
    let output_padding = per_axis("output_padding", 0)?;
    let full: Vec<usize> =
        (0..n).map(|i| strides[i] * (input[i] - 1) + output_padding[i] + (kernel[i] - 1) * dilations[i] + 1).collect();
    let pads = resolve_pads(ctx, input, &strides, &full)?;
    Ok(Geometry { strides, dilations, kernel, pads, output_padding })
}

/// Begin-then-end pads from `pads`, `output_shape` or `auto_pad` (see the module docs).
fn resolve_pads(ctx: &NodeCtx, input: &[usize], strides: &[usize], full: &[usize]) -> Result<Vec<i64>> {
    let n = input.len();
    let auto_pad = ctx.string_or("auto_pad", "NOTSET")?;
    let wanted = match (ctx.usizes("output_shape")?, auto_pad.as_str()) {
        (Some(s), _) => Some(s.get(s.len().saturating_sub(n)..).unwrap_or(&[]).to_vec()),
        (None, "SAME_UPPER" | "SAME_LOWER") => Some((0..n).map(|i| input[i] * strides[i]).collect()),
        (None, "NOTSET" | "VALID") => None,
        (None, other) => return Err(ctx.attr_err("auto_pad", format!("unknown value '{other}'"))),
    };
    let Some(out) = wanted else {
        let pads = ctx.usizes("pads")?.unwrap_or_else(|| vec![0; 2 * n]);
        if pads.len() != 2 * n || (0..n).any(|i| pads[i] + pads[n + i] >= full[i]) {
            return Err(ctx.attr_err("pads", format!("{pads:?} must be {} values leaving an output", 2 * n)));
        }
        return Ok(pads.iter().map(|&p| p as i64).collect());
    };
    if out.len() != n || (0..n).any(|i| out[i] == 0 || out[i] > 2 * full[i]) {
        return Err(ctx.attr_err("output_shape", format!("{out:?} must be {n} positive sizes up to twice {full:?}")));
    }
    let mut pads = vec![0; 2 * n];
    for i in 0..n {
        // The reference's floor division (total may be negative).
        let total = full[i] as i64 - out[i] as i64;
        let (small, large) = (total.div_euclid(2), total - total.div_euclid(2));
        (pads[i], pads[n + i]) = if auto_pad == "SAME_UPPER" { (small, large) } else { (large, small) };
    }
    Ok(pads)
}

/// Zeros between the spatial elements of `x` (`s - 1` after each), see the module docs.
fn insert_zeros(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, strides: &[usize]) -> Result<ValueId> {
    if strides.iter().all(|&s| s == 1) {
        return Ok(x);
    }
    let xs = imp.shape(x);
    let spread: Vec<usize> = xs[..2].iter().copied().chain(xs[2..].iter().flat_map(|&d| [d, 1])).collect();
    let spread = imp.reshape(ctx, x, spread, ctx.tmp("spread"))?;
    let rank = 2 + 2 * strides.len();
    let mut pads = vec![0i64; 2 * rank];
    for (i, &s) in strides.iter().enumerate() {
        pads[rank + 3 + 2 * i] = s as i64 - 1;
    }
    let op = Op::Pad { mode: PadMode::Constant, pads, value: 0.0.into() };
    let filled = imp.emit1(ctx, op, vec![spread], ctx.tmp("zero_filled"))?;
    let merged: Vec<usize> = xs[..2].iter().copied().chain(xs[2..].iter().zip(strides).map(|(&d, &s)| d * s)).collect();
    imp.reshape(ctx, filled, merged, ctx.tmp("dilated"))
}

/// The border pad (negative = crop) that turns the transposed conv into a direct one.
fn border(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, g: &Geometry) -> Result<ValueId> {
    let n = g.kernel.len();
    let rank = n + 2;
    let mut pads = vec![0i64; 2 * rank];
    for i in 0..n {
        let reach = (g.dilations[i] * (g.kernel[i] - 1)) as i64;
        pads[2 + i] = reach - g.pads[i];
        pads[rank + 2 + i] = reach - g.pads[n + i] + g.output_padding[i] as i64 - (g.strides[i] as i64 - 1);
    }
    if pads.iter().all(|&p| p == 0) {
        return Ok(x);
    }
    imp.emit1(ctx, Op::Pad { mode: PadMode::Constant, pads, value: 0.0.into() }, vec![x], ctx.tmp("bordered"))
}

/// `[C, M/g, k..]` -> `[M, C/g, k..]` (per group, input and output channels swapped), flipped
/// along every spatial axis.
fn regroup_and_flip(imp: &mut Importer, ctx: &NodeCtx, w: ValueId, group: usize) -> Result<ValueId> {
    let ws = imp.shape(w);
    let (c, mg, k) = (ws[0], ws[1], ws[2..].to_vec());
    let split = [vec![group, c / group, mg], k.clone()].concat();
    let split = imp.reshape(ctx, w, split, ctx.tmp("w_groups"))?;
    let perm: Vec<usize> = [0, 2, 1].into_iter().chain(3..3 + k.len()).collect();
    let swapped = imp.emit1(ctx, Op::Transpose { perm }, vec![split], ctx.tmp("w_swapped"))?;
    let merged = imp.reshape(ctx, swapped, [vec![group * mg, c / group], k.clone()].concat(), ctx.tmp("w_merged"))?;
    let starts = [vec![0, 0], k.iter().map(|&d| d - 1).collect()].concat();
    let steps = [vec![1, 1], vec![-1; k.len()]].concat();
    let lens = [vec![group * mg, c / group], k].concat();
    imp.emit1(ctx, Op::Slice { starts, steps, lens }, vec![merged], ctx.tmp("w_flipped"))
}
