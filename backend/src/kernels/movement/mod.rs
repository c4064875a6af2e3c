//! Kernel family `movement`: Identity, Reshape, Transpose, Concat, Split, Slice, Gather, Expand
//! and Pad, for every dtype (elements move as integers of their byte size).
//!
//! Everything but Gather is a set of strided box copies known at compile time ([`copy`]):
//! Transpose permutes the source strides, Slice scales them by its steps (negative included),
//! Expand zeroes them on broadcast axes, Concat/Split offset one side per operand, and Pad cuts
//! each axis's index map into affine runs ([`axis_map`]) and copies each combination. Axes
//! contiguous in both buffers merge, so dense runs (Reshape, Concat/Split slabs, a Transpose
//! keeping the innermost axis) copy 16 bytes at a time; other inner axes copy element by
//! element. Gather reads its indices at run time ([`gather`]).

mod axis_map;
mod copy;
mod gather;

use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use axis_map::{pad_segments, Segment};
use copy::{copy_block, copy_bytes, fill, Block};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{strides_of, DType, Op, PadMode, Tensor, TensorType};

/// Byte strides of a dense row-major `shape` with elements of `esize` bytes.
fn byte_strides(shape: &[usize], esize: usize) -> Vec<i64> {
    strides_of(shape).into_iter().map(|s| (s * esize) as i64).collect()
}

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    if cx.ptr != types::I64 {
        return Err(spec.unsupported("only 64-bit targets are supported"));
    }
    if spec.inputs.is_empty() || spec.outputs.is_empty() {
        return Err(spec.unsupported("expected at least one input and one output"));
    }
    validate(spec)?;
    let x = &spec.inputs[0];
    let esize = x.dtype.size();
    let (src, dst) = (cx.inputs[0], cx.outputs[0]);
    let b = &mut *cx.b;
    match &spec.op {
        Op::Identity | Op::Reshape { .. } => copy_bytes(b, src, dst, x.byte_size()),
        Op::Transpose { perm } => {
            let in_s = byte_strides(&x.shape, esize);
            let sizes = spec.outputs[0].shape.clone();
            let src_strides = perm.iter().map(|&p| in_s[p]).collect();
            let block = Block { sizes: sizes.clone(), src_strides, dst_strides: byte_strides(&sizes, esize) };
            copy_block(b, src, dst, &block, esize);
        }
        Op::Slice { starts, steps, lens } => {
            let in_s = byte_strides(&x.shape, esize);
            let offset: i64 = starts.iter().zip(&in_s).map(|(&s, &st)| s as i64 * st).sum();
            let src_strides = steps.iter().zip(&in_s).map(|(&k, &st)| k * st).collect();
            let block = Block { sizes: lens.clone(), src_strides, dst_strides: byte_strides(lens, esize) };
            let src = b.ins().iadd_imm_s(src, offset);
            copy_block(b, src, dst, &block, esize);
        }
        Op::Expand { .. } => {
            let out = &spec.outputs[0].shape;
            let block = Block {
                sizes: out.clone(),
                src_strides: broadcast_strides(&x.shape, out, esize),
                dst_strides: byte_strides(out, esize),
            };
            copy_block(b, src, dst, &block, esize);
        }
        Op::Concat { axis } => emit_concat(b, &cx.inputs, dst, &spec.inputs, &spec.outputs[0], *axis),
        Op::Split { axis, .. } => emit_split(b, src, &cx.outputs, x, &spec.outputs, *axis),
        Op::Pad { mode, pads, value } => emit_pad(b, src, dst, x, &spec.outputs[0], *mode, pads, value.get()),
        Op::Gather { axis } => emit_gather(b, cx.inputs[1], src, dst, spec, *axis)?,
        other => return Err(spec.unsupported(format!("`{}` is not a movement op", other.name()))),
    }
    Ok(())
}

/// Rejects attribute lengths and axes that do not fit the operand ranks (the verifier should
/// have caught them; a kernel must not index out of bounds either way).
fn validate(spec: &KernelSpec) -> Result<()> {
    let r = spec.inputs[0].shape.len();
    let out_r = spec.outputs[0].shape.len();
    let bad = |attr: &str| Err(spec.unsupported(format!("attribute `{attr}` does not fit rank {r}")));
    match &spec.op {
        Op::Transpose { perm } if perm.len() != r || out_r != r || perm.iter().any(|&p| p >= r) => bad("perm"),
        Op::Slice { starts, steps, lens } if starts.len() != r || steps.len() != r || lens.len() != r => bad("starts"),
        Op::Pad { pads, .. } if pads.len() != 2 * r || out_r != r => bad("pads"),
        Op::Concat { axis } | Op::Split { axis, .. } if *axis >= r.max(out_r) || r != out_r => bad("axis"),
        Op::Expand { .. } if r > out_r => bad("shape"),
        Op::Concat { .. } if spec.inputs.iter().any(|t| t.shape.len() != r) => bad("axis"),
        Op::Split { .. } if spec.outputs.iter().any(|t| t.shape.len() != r) => bad("axis"),
        _ => Ok(()),
    }
}

/// Byte strides of `shape` read through a numpy broadcast to `out` (0 on broadcast axes).
fn broadcast_strides(shape: &[usize], out: &[usize], esize: usize) -> Vec<i64> {
    let dense = byte_strides(shape, esize);
    let skip = out.len() - shape.len();
    (0..out.len()).map(|k| if k < skip || shape[k - skip] == 1 { 0 } else { dense[k - skip] }).collect()
}

fn emit_concat(b: &mut FunctionBuilder, srcs: &[Value], dst: Value, ins: &[TensorType], out: &TensorType, axis: usize) {
    let esize = out.dtype.size();
    let out_s = byte_strides(&out.shape, esize);
    let mut at = 0usize;
    for (&src, t) in srcs.iter().zip(ins) {
        let block =
            Block { sizes: t.shape.clone(), src_strides: byte_strides(&t.shape, esize), dst_strides: out_s.clone() };
        let d = b.ins().iadd_imm_s(dst, at as i64 * out_s[axis]);
        copy_block(b, src, d, &block, esize);
        at += t.shape[axis];
    }
}

fn emit_split(b: &mut FunctionBuilder, src: Value, dsts: &[Value], x: &TensorType, outs: &[TensorType], axis: usize) {
    let esize = x.dtype.size();
    let in_s = byte_strides(&x.shape, esize);
    let mut at = 0usize;
    for (&dst, t) in dsts.iter().zip(outs) {
        let block =
            Block { sizes: t.shape.clone(), src_strides: in_s.clone(), dst_strides: byte_strides(&t.shape, esize) };
        let s = b.ins().iadd_imm_s(src, at as i64 * in_s[axis]);
        copy_block(b, s, dst, &block, esize);
        at += t.shape[axis];
    }
}

/// The pad value converted to `dtype` (`as` semantics), as the bit pattern of one element.
fn pad_bits(value: f64, dtype: DType) -> i64 {
    let bytes = Tensor::from_f64(dtype, vec![1], &[value]).to_le_bytes();
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(&bytes);
    i64::from_le_bytes(word)
}

#[allow(clippy::too_many_arguments)]
fn emit_pad(
    b: &mut FunctionBuilder,
    src: Value,
    dst: Value,
    x: &TensorType,
    out: &TensorType,
    mode: PadMode,
    pads: &[i64],
    value: f64,
) {
    let esize = x.dtype.size();
    let r = x.shape.len();
    let per_axis: Vec<Vec<Segment>> =
        (0..r).map(|a| pad_segments(x.shape[a], pads[a], pads[r + a], out.shape[a], mode)).collect();
    if per_axis.iter().any(|s| s.iter().any(|g| g.src_start.is_none())) {
        fill(b, dst, out.numel(), esize, pad_bits(value, x.dtype));
    }
    let (in_s, out_s) = (byte_strides(&x.shape, esize), byte_strides(&out.shape, esize));
    for combo in cartesian(&per_axis) {
        if combo.iter().any(|g| g.src_start.is_none()) {
            continue;
        }
        let src_off: i64 = combo.iter().zip(&in_s).map(|(g, &s)| g.src_start.unwrap_or(0) * s).sum();
        let dst_off: i64 = combo.iter().zip(&out_s).map(|(g, &s)| g.out_start as i64 * s).sum();
        let block = Block {
            sizes: combo.iter().map(|g| g.len).collect(),
            src_strides: combo.iter().zip(&in_s).map(|(g, &s)| g.step * s).collect(),
            dst_strides: out_s.clone(),
        };
        let s = b.ins().iadd_imm_s(src, src_off);
        let d = b.ins().iadd_imm_s(dst, dst_off);
        copy_block(b, s, d, &block, esize);
    }
}

/// Every combination picking one segment per axis (one empty combination for rank 0).
fn cartesian(per_axis: &[Vec<Segment>]) -> Vec<Vec<Segment>> {
    let mut out: Vec<Vec<Segment>> = vec![vec![]];
    for segs in per_axis {
        out = out.into_iter().flat_map(|c| segs.iter().map(move |s| [c.clone(), vec![*s]].concat())).collect();
    }
    out
}

fn emit_gather(
    b: &mut FunctionBuilder,
    idx: Value,
    data: Value,
    out: Value,
    spec: &KernelSpec,
    axis: usize,
) -> Result<()> {
    let x = &spec.inputs[0];
    let ind = spec.inputs.get(1).ok_or_else(|| spec.unsupported("gather needs indices"))?;
    let idx_size = match ind.dtype {
        DType::I32 => 4,
        DType::I64 => 8,
        d => return Err(spec.unsupported(format!("indices of dtype {d}"))),
    };
    if axis >= x.shape.len() {
        return Err(spec.unsupported(format!("axis {axis} out of range for rank {}", x.shape.len())));
    }
    let dims = gather::GatherDims {
        outer: x.shape[..axis].iter().product(),
        dim: x.shape[axis],
        inner: x.shape[axis + 1..].iter().product(),
        count: ind.numel(),
    };
    gather::emit(b, data, idx, out, &dims, x.dtype.size(), idx_size);
    Ok(())
}
