//! Kernel family `resize`: ONNX Resize (nearest, n-linear, cubic; every coordinate
//! transformation mode, including tf_crop_and_resize with its extrapolation value).
//!
//! Design: every source index and weight depends only on shapes and attributes, so the sampling
//! plan is computed at compile time in Rust ([`taps`], f64 like the reference, then f32 weights)
//! and emitted as small per-axis tables ([`table`]: immediate stores into stack slots at kernel
//! entry). The generated code is a loop nest over the output whose body only reads the table
//! record of each resized axis and does loads, multiplies and adds: no per-pixel coordinate math,
//! rounding or clamping. Tables are per axis (sum of the output extents, not their product), so
//! they stay small for realistic images. When they would exceed [`table::MAX_TABLE_BYTES`]
//! (stack budget), the largest axes instead compute their sampling in the loop ([`computed`],
//! the same f64 arithmetic as the reference, once per output position of that axis).
//!
//! Nearest ([`nearest`]) is an exact element copy for every dtype (moved as integers). Linear
//! and cubic ([`interp`]) are f32 only and evaluate the separable product of all resized axes
//! directly (f32 accumulation instead of the reference's f64 passes), vectorised with `f32x4`
//! along the innermost axis when that axis is not resized (e.g. NHWC layouts).

mod computed;
mod interp;
mod nearest;
mod table;
mod taps;

use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use cranelift_codegen::ir::{types, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{strides_of, CoordMode, DType, Op, ResizeAttrs, ResizeMode};
use table::Table;
use taps::Tap;

/// One output axis of the loop nest.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Axis {
    /// Output extent.
    pub n: usize,
    /// Byte stride of the axis in the input and in the output.
    pub in_stride: i64,
    pub out_stride: i64,
}

/// Everything the nearest and interpolation emitters work from.
pub(crate) struct Job<'a> {
    /// Input and output pointers.
    pub src: Value,
    pub dst: Value,
    pub axes: Vec<Axis>,
    /// The sampling plan of each axis (`None`: unchanged).
    pub taps: Vec<Option<Vec<Tap>>>,
    pub attrs: &'a ResizeAttrs,
    /// The input shape.
    pub shape: &'a [usize],
}

/// Where a resized axis gets its per-position sampling from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    /// A table built at compile time, in a stack slot.
    Table(table::Slot),
    /// Computed in the loop ([`computed`]), for axes whose table would not fit.
    Computed(computed::Params),
}

/// Which resized axes keep a table (`true`) given each table's size in bytes: the largest
/// tables are dropped (computed in IR instead) until the rest fits [`table::MAX_TABLE_BYTES`].
pub(crate) fn keep_tables(bytes: &[Option<usize>]) -> Vec<bool> {
    let mut keep: Vec<bool> = bytes.iter().map(|b| b.is_some()).collect();
    let mut order: Vec<usize> = (0..bytes.len()).filter(|&k| bytes[k].is_some()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(bytes[k]));
    let mut total: usize = bytes.iter().flatten().sum();
    for k in order {
        if total <= table::MAX_TABLE_BYTES {
            break;
        }
        keep[k] = false;
        total -= bytes[k].unwrap_or(0);
    }
    keep
}

/// A resized axis: where its sampling comes from, and whether some position is a constant fill.
#[derive(Clone, Copy)]
pub(crate) struct Resized {
    pub src: Source,
    pub fills: bool,
}

/// The sampling of every axis of `job` from its compile-time table (`None`: axis copied
/// unchanged): tables kept by [`keep_tables`] are materialised in stack slots, the others are
/// computed in the loop. Shared by the nearest and the interpolating kernels.
pub(crate) fn resized_axes(
    b: &mut FunctionBuilder,
    job: &Job,
    tables: &[Option<(Table, bool)>],
) -> Vec<Option<Resized>> {
    let keep = keep_tables(&tables.iter().map(|t| t.as_ref().map(|(t, _)| t.bytes())).collect::<Vec<_>>());
    let mut resized = Vec::with_capacity(job.axes.len());
    for (k, t) in tables.iter().enumerate() {
        resized.push(t.as_ref().map(|(t, fills)| {
            let src = if keep[k] {
                Source::Table(table::materialise(b, t))
            } else {
                Source::Computed(computed::Params::of(job.attrs, k, job.shape[k], job.axes[k].in_stride))
            };
            Resized { src, fills: *fills }
        }));
    }
    resized
}

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    let Op::Resize(a) = &spec.op else {
        return Err(spec.unsupported(format!("`{}` is not a resize", spec.op.name())));
    };
    if cx.ptr != types::I64 {
        return Err(spec.unsupported("only 64-bit targets are supported"));
    }
    validate(spec, a)?;
    let x = &spec.inputs[0];
    if spec.outputs[0].numel() == 0 {
        return Ok(());
    }
    let taps: Vec<Option<Vec<Tap>>> = (0..x.shape.len())
        .map(|ax| taps::axis_taps(a, ax, x.shape[ax]))
        .collect::<std::result::Result<_, String>>()
        .map_err(|m| spec.unsupported(m))?;
    let axes = axes_of(&x.shape, &a.sizes, x.dtype.size());
    let job = Job { src: cx.inputs[0], dst: cx.outputs[0], axes, taps, attrs: a, shape: &x.shape };
    match a.mode {
        ResizeMode::Nearest(_) => nearest::emit(cx.b, &job, x.dtype),
        ResizeMode::Linear | ResizeMode::Cubic if x.dtype == DType::F32 => {
            let k = if a.mode == ResizeMode::Cubic { 4 } else { 2 };
            if x.byte_size() > i32::MAX as usize {
                return Err(spec.unsupported("input larger than 2 GiB"));
            }
            interp::emit(cx, &job, k)
        }
        _ => Err(spec.unsupported(format!("linear/cubic resize of {} (only f32)", x.dtype))),
    }
}

/// The loop-nest axes of an input of `shape` resized to `sizes`, elements of `esize` bytes.
fn axes_of(shape: &[usize], sizes: &[usize], esize: usize) -> Vec<Axis> {
    let (is, os) = (strides_of(shape), strides_of(sizes));
    (0..sizes.len())
        .map(|k| Axis { n: sizes[k], in_stride: (is[k] * esize) as i64, out_stride: (os[k] * esize) as i64 })
        .collect()
}

/// Rejects operands and attributes that do not fit each other (the verifier should have caught
/// them; the kernel must not index out of bounds or panic either way).
fn validate(spec: &KernelSpec, a: &ResizeAttrs) -> Result<()> {
    let (Some(x), Some(y)) = (spec.inputs.first(), spec.outputs.first()) else {
        return Err(spec.unsupported("expected one input and one output"));
    };
    let r = x.shape.len();
    let bad = |attr: &str, why: String| Err(spec.unsupported(format!("attribute `{attr}`: {why}")));
    if a.sizes.len() != r || y.shape != a.sizes {
        return bad("sizes", format!("{:?} does not match input rank {r} / output shape {:?}", a.sizes, y.shape));
    }
    if a.scales.len() != r || a.scales.iter().any(|s| !(s.get().is_finite() && s.get() > 0.0)) {
        return bad("scales", format!("{:?} must have {r} positive finite entries", a.scales));
    }
    if a.coord == CoordMode::TfCropAndResize && (a.roi.len() != 2 * r || a.roi.iter().any(|v| !v.get().is_finite())) {
        return bad("roi", format!("{:?} must have {} finite entries", a.roi, 2 * r));
    }
    if y.dtype != x.dtype {
        return Err(spec.unsupported(format!("output dtype {} differs from input {}", y.dtype, x.dtype)));
    }
    if x.shape.iter().zip(&a.sizes).any(|(&d, &s)| d == 0 && s != 0) {
        return bad("sizes", "an empty input axis cannot be resized to a non-empty one".to_string());
    }
    Ok(())
}
