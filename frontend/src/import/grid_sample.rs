//! `GridSample` (opsets 16, 20, 22; any number of spatial axes) as index arithmetic on the
//! run-time grid, following `onnx/reference/ops/op_grid_sample.py` step by step:
//!
//! 1. each grid component (stored in reverse axis order: `grid[.., 0]` is the last axis) is
//!    denormalised to a pixel coordinate (`align_corners` picks the corner or the edge mapping);
//! 2. `nearest` rounds it half to even (as PyTorch);
//! 3. a coordinate outside the border range (`[0, len-1]` with `align_corners`, else
//!    `[-0.5, len-0.5]`) is clamped to `[0, len-1]` (`border`) or reflected (`reflection`);
//! 4. the taps are `x` (nearest), `floor(x) + [0, 1]` (linear) or `floor(x) + [-1, 0, 1, 2]`
//!    (cubic, Keys a = -0.75), each mapped to a pixel on its own: outside is zero (`zeros`),
//!    clamped (`border`) or reflected again (`reflection`).
//!
//! Interpolation is separable, so the per-axis taps combine into one `Gather` of all tap tuples
//! and a weighted sum (see `super::sampling`). The grid is cast to X's dtype first (the reference
//! computes coordinates in f32 whatever the dtypes; FIXME: an f64 grid is not rounded to f32).

use super::build::{bin, cast, scalar, un};
use super::ctx::NodeCtx;
use super::sampling::{
    clamped_index, cubic_weights, gather_taps, linear_weights, reflect, tap_const, with_tap_axis, within, AxisTaps,
};
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, UnaryOp, ValueId};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Nearest,
    Linear,
    Cubic,
}

#[derive(Clone, Copy, PartialEq)]
enum Padding {
    Zeros,
    Border,
    Reflection,
}

struct Spec {
    mode: Mode,
    padding: Padding,
    align_corners: bool,
}

pub fn grid_sample(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, grid) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    let (xs, gs) = (imp.shape(x), imp.shape(grid));
    let r = xs.len();
    let dtype = imp.ty(x).dtype;
    if r < 3 || !dtype.is_float() {
        return Err(ctx.input_err(0, format!("must be float [N, C, spatial..], not {xs:?}")));
    }
    if gs.len() != r || gs[0] != xs[0] || gs[r - 1] != r - 2 || !imp.ty(grid).dtype.is_float() {
        return Err(ctx.input_err(1, format!("must be float [{}, out.., {}], not {gs:?}", xs[0], r - 2)));
    }
    let spec = spec(ctx)?;
    let grid = if imp.ty(grid).dtype == dtype { grid } else { cast(imp, ctx, grid, dtype, ctx.tmp("grid_cast"))? };
    let mut axes = Vec::with_capacity(r - 2);
    for (d, &len) in xs[2..].iter().enumerate() {
        let normalized = component(imp, ctx, grid, r - 3 - d)?;
        axes.push(axis_taps(imp, ctx, &spec, normalized, len)?);
    }
    let samples = gather_taps(imp, ctx, x, &axes)?;
    let perm: Vec<usize> = [vec![0, r - 1], (1..r - 1).collect()].concat();
    Ok(vec![imp.emit1(ctx, Op::Transpose { perm }, vec![samples], ctx.out(0))?])
}

fn spec(ctx: &NodeCtx) -> Result<Spec> {
    let mode = match ctx.string_or("mode", if ctx.opset >= 20 { "linear" } else { "bilinear" })?.as_str() {
        "nearest" => Mode::Nearest,
        "linear" | "bilinear" => Mode::Linear,
        "cubic" | "bicubic" => Mode::Cubic,
        other => return Err(ctx.attr_err("mode", format!("unknown mode '{other}'"))),
    };
    let padding = match ctx.string_or("padding_mode", "zeros")?.as_str() {
        "zeros" => Padding::Zeros,
        "border" => Padding::Border,
        "reflection" => Padding::Reflection,
        other => return Err(ctx.attr_err("padding_mode", format!("unknown mode '{other}'"))),
    };
    let align_corners = match ctx.int_or("align_corners", 0)? {
        0 => false,
        1 => true,
        other => return Err(ctx.attr_err("align_corners", format!("must be 0 or 1, not {other}"))),
    };
    Ok(Spec { mode, padding, align_corners })
}

/// Grid component `i` of the last axis: `[N, out..]`.
fn component(imp: &mut Importer, ctx: &NodeCtx, grid: ValueId, i: usize) -> Result<ValueId> {
    let gs = imp.shape(grid);
    let r = gs.len();
    let mut starts = vec![0; r];
    starts[r - 1] = i;
    let mut lens = gs.clone();
    lens[r - 1] = 1;
    let op = Op::Slice { starts, steps: vec![1; r], lens };
    let sliced = imp.emit1(ctx, op, vec![grid], ctx.tmp("grid_component"))?;
    imp.reshape(ctx, sliced, gs[..r - 1].to_vec(), ctx.tmp("normalized"))
}

/// The border range of an axis of `len` pixels.
fn borders(spec: &Spec, len: usize) -> (f64, f64) {
    if spec.align_corners {
        (0.0, len as f64 - 1.0)
    } else {
        (-0.5, len as f64 - 0.5)
    }
}

/// Steps 1-4 of the module docs for one axis.
fn axis_taps(imp: &mut Importer, ctx: &NodeCtx, spec: &Spec, n: ValueId, len: usize) -> Result<AxisTaps> {
    let mut x = denormalize(imp, ctx, spec, n, len)?;
    if spec.mode == Mode::Nearest {
        x = un(imp, ctx, UnaryOp::Round, x, ctx.tmp("rounded"))?;
    }
    let (lo, hi) = borders(spec, len);
    x = match spec.padding {
        Padding::Zeros => x,
        Padding::Border => {
            let inside = within(imp, ctx, x, lo, hi)?;
            let clamped =
                un(imp, ctx, UnaryOp::Clip { min: 0.0.into(), max: (len as f32 - 1.0).into() }, x, ctx.tmp("clamped"))?;
            super::build::select(imp, ctx, inside, x, clamped, ctx.tmp("bordered"))?
        }
        Padding::Reflection => reflect(imp, ctx, x, lo, hi)?,
    };
    let x = with_tap_axis(imp, ctx, x, "coord")?;
    let (pos, weight) = match spec.mode {
        Mode::Nearest => (x, None),
        Mode::Linear | Mode::Cubic => {
            let base = un(imp, ctx, UnaryOp::Floor, x, ctx.tmp("base"))?;
            let f = bin(imp, ctx, BinaryOp::Sub, x, base, ctx.tmp("frac"))?;
            let (offsets, w) = if spec.mode == Mode::Linear {
                (vec![0.0, 1.0], linear_weights(imp, ctx, f)?)
            } else {
                (vec![-1.0, 0.0, 1.0, 2.0], cubic_weights(imp, ctx, f)?)
            };
            let dtype = imp.ty(x).dtype;
            let offsets = tap_const(imp, ctx, dtype, imp.shape(x).len(), &offsets, "tap_offsets");
            (bin(imp, ctx, BinaryOp::Add, base, offsets, ctx.tmp("taps"))?, Some(w))
        }
    };
    tap_pixels(imp, ctx, spec, pos, len, weight)
}

/// `((n + 1) / 2) (len - 1)` with `align_corners`, else `((n + 1) len - 1) / 2`.
fn denormalize(imp: &mut Importer, ctx: &NodeCtx, spec: &Spec, n: ValueId, len: usize) -> Result<ValueId> {
    let dtype = imp.ty(n).dtype;
    let one = scalar(imp, ctx, "one", dtype, 1.0);
    let shifted = bin(imp, ctx, BinaryOp::Add, n, one, ctx.tmp("n_plus_1"))?;
    if spec.align_corners {
        let scale = scalar(imp, ctx, "half_extent", dtype, (len as f64 - 1.0) / 2.0);
        return bin(imp, ctx, BinaryOp::Mul, shifted, scale, ctx.tmp("coord"));
    }
    let len_c = scalar(imp, ctx, "len", dtype, len as f64);
    let scaled = bin(imp, ctx, BinaryOp::Mul, shifted, len_c, ctx.tmp("scaled"))?;
    let less = bin(imp, ctx, BinaryOp::Sub, scaled, one, ctx.tmp("less_one"))?;
    let half = scalar(imp, ctx, "half", dtype, 0.5);
    bin(imp, ctx, BinaryOp::Mul, less, half, ctx.tmp("coord"))
}

/// Integer-valued tap positions `[N, O.., T]` -> pixel indices per the padding mode.
fn tap_pixels(
    imp: &mut Importer,
    ctx: &NodeCtx,
    spec: &Spec,
    pos: ValueId,
    len: usize,
    weight: Option<ValueId>,
) -> Result<AxisTaps> {
    let (pos, inside) = match spec.padding {
        Padding::Zeros => (pos, Some(within(imp, ctx, pos, 0.0, len as f64 - 1.0)?)),
        Padding::Border => (pos, None),
        Padding::Reflection => {
            let (lo, hi) = borders(spec, len);
            (reflect(imp, ctx, pos, lo, hi)?, None)
        }
    };
    let index = clamped_index(imp, ctx, pos, len)?;
    Ok(AxisTaps { index, weight, inside })
}
