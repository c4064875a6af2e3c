//! `CenterCropPad` as one constant-mode `Pad` whose pads are negative (crop) or positive (zero
//! padding) per axis: with `d = |target - dim|`, the begin side gets `d / 2` (rounded down) and
//! the end side the rest, as in the ONNX reference. The target `shape` must be a compile-time
//! constant (kiln's shapes are static).

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{DType, Op, PadMode, ValueId};

pub fn center_crop_pad(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let dims = imp.shape(x);
    let rank = dims.len();
    let axes = axes_in_order(ctx, rank)?;
    let target = target_shape(imp, ctx, axes.len())?;
    let mut pads = vec![0i64; 2 * rank];
    for (&a, &t) in axes.iter().zip(&target) {
        let d = t - dims[a] as i64;
        let sign = d.signum();
        let (begin, end) = (d.abs() / 2, d.abs() - d.abs() / 2);
        pads[a] = sign * begin;
        pads[rank + a] = sign * end;
    }
    Ok(vec![imp.emit1(ctx, Op::Pad { mode: PadMode::Constant, pads, value: 0.0.into() }, vec![x], ctx.out(0))?])
}

/// The constant `shape` input: one non-negative length per axis in `axes`.
fn target_shape(imp: &Importer, ctx: &NodeCtx, n_axes: usize) -> Result<Vec<i64>> {
    let t = imp.const_input(ctx, 1)?;
    if !matches!(t.dtype(), DType::I32 | DType::I64) || t.numel() != n_axes {
        return Err(ctx.input_err(
            1,
            format!(
                "shape must hold {n_axes} integers (one per axis), got {} of shape {:?}",
                t.dtype().name(),
                t.shape()
            ),
        ));
    }
    let v = t.to_i64_vec();
    if let Some(bad) = v.iter().find(|&&s| !(0..=1 << 40).contains(&s)) {
        return Err(ctx.input_err(1, format!("target length {bad} is out of range")));
    }
    Ok(v)
}

/// The `axes` attribute normalised but kept in its given order (it pairs with `shape`), or every
/// axis.
fn axes_in_order(ctx: &NodeCtx, rank: usize) -> Result<Vec<usize>> {
    let Some(given) = ctx.ints("axes")? else { return Ok((0..rank).collect()) };
    let axes = given.iter().map(|&a| ctx.axis("axes", a, rank)).collect::<Result<Vec<_>>>()?;
    if (1..axes.len()).any(|i| axes[..i].contains(&axes[i])) {
        return Err(ctx.attr_err("axes", format!("{given:?} repeats an axis")));
    }
    Ok(axes)
}
