//! `Op::Elementwise`: a whole chain of unary/binary ops as one broadcasting loop nest.
//!
//! The shared driver (`elementwise::driver::emit_map`) merges contiguous axes, hoists broadcast
//! operands out of the inner loop and calls a per-element body; the checked program
//! ([`super::program::Emitter`]) is exactly that body, so every intermediate stays in a
//! register. f32 programs run `f32x4` inner loops with a scalar tail; other dtypes run scalar.

use super::program::Emitter;
use crate::emit::clif_type;
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::elementwise::driver::{emit_map, Operand};
use cranelift_codegen::ir::types;
use kiln_ir::Program;

/// Emits the kernel body of an `Op::Elementwise` node running `program`.
pub(super) fn emit(cx: &mut KernelCtx, spec: &KernelSpec, program: &Program) -> Result<()> {
    if spec.inputs.is_empty() || spec.outputs.len() != 1 {
        return Err(spec.unsupported(format!(
            "expected at least 1 input and 1 output, got {} and {}",
            spec.inputs.len(),
            spec.outputs.len()
        )));
    }
    if cx.ptr != types::I64 {
        return Err(spec.unsupported("only 64-bit targets are supported"));
    }
    let out_t = &spec.outputs[0];
    let dtype = out_t.dtype;
    for (k, t) in spec.inputs.iter().enumerate() {
        if t.dtype != dtype {
            return Err(spec.unsupported(format!("argument x{k} is {t}, the output is {out_t}: one dtype expected")));
        }
        if !broadcasts_into(&t.shape, &out_t.shape) {
            return Err(spec.unsupported(format!("argument x{k} {t} does not broadcast to the output {out_t}")));
        }
    }
    let emitter = Emitter::new(spec, program, dtype, spec.inputs.len(), cx.has_vector_round)?;
    let ty = clif_type(dtype);
    let out = Operand { ptr: cx.outputs[0], ty, shape: out_t.shape.clone() };
    let inputs: Vec<Operand> =
        spec.inputs.iter().zip(&cx.inputs).map(|(t, &ptr)| Operand { ptr, ty, shape: t.shape.clone() }).collect();
    let lanes = if emitter.vectorizable() { 4 } else { 1 };
    emit_map(cx.b, &out, &inputs, lanes, &mut |b, v| emitter.emit(b, v));
    Ok(())
}

/// True when `shape` broadcasts (numpy rules) to exactly `out`: rank not larger, and every
/// dimension, aligned from the right, equal to the output's or 1.
pub(super) fn broadcasts_into(shape: &[usize], out: &[usize]) -> bool {
    shape.len() <= out.len() && shape.iter().rev().zip(out.iter().rev()).all(|(&s, &o)| s == o || s == 1)
}
