//! Kernel family `fused`: the two ops only the graph optimizer creates (see `kiln_ir::fused`).
//!
//! - `Op::Elementwise` ([`elementwise`]): a straight-line program as one broadcasting loop nest
//!   through the shared elementwise driver, `f32x4` for f32.
//! - `Op::Fused { base, base_inputs, epilogue }`: the base conv/gemm/matmul kernel with the
//!   epilogue ([`epilogue::FusedEpilogue`]) applied in registers right where the base stores
//!   its results (after the conv bias / gemm `alpha*AB + beta*C`), so the result is written once.
//!
//! Fused in registers:
//! - conv 1-D/2-D, row-buffered path (`conv::padded`, dense and depthwise: `store_block`);
//! - conv 1-D/2-D, direct path for huge rows (`conv::direct`, vector and scalar stores);
//! - conv 1x1 as GEMM (`conv::pointwise`) when every extra operand is linear across `OH*OW`
//!   (per-channel, scalar, same-shape residual: all the usual ones);
//! - gemm and matmul on every path of the matmul family (f32 register tiles, transB dot
//!   products, the scalar loop for f64/integers and other layouts).
//!
//! Fallback (base into the output buffer, then one in-place pass of the epilogue over it
//! through the elementwise driver): conv of spatial rank >= 3 (`conv::nd`), and 1x1 convs with
//! an operand that is not linear across `OH*OW` (e.g. a `[OW]` row broadcast over rows).
//!
//! Programs run on f32 (vectorised), f64 and the integer/bool dtypes (scalar), with the same
//! per-element lowerings as the standalone Unary/Binary kernels ([`program`]).

mod consts;
mod elementwise;
pub(crate) mod epilogue;
pub(crate) mod program;

use crate::emit::clif_type;
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::elementwise::driver::{emit_map, Operand};
use crate::kernels::{conv, matmul};
use cranelift_codegen::ir::{types, Value};
use epilogue::FusedEpilogue;
use kiln_ir::{Op, Program};
use program::Emitter;

/// Emits the kernel body of an `Op::Elementwise` or `Op::Fused` node.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    match &spec.op {
        Op::Elementwise(p) => elementwise::emit(cx, spec, p),
        Op::Fused { base, base_inputs, epilogue } => emit_fused(cx, spec, base, *base_inputs, epilogue),
        _ => Err(spec.unsupported("not a fused op")),
    }
}

fn emit_fused(cx: &mut KernelCtx, spec: &KernelSpec, base: &Op, base_inputs: usize, program: &Program) -> Result<()> {
    if base_inputs > spec.inputs.len() || spec.outputs.len() != 1 {
        return Err(spec.unsupported(format!(
            "attribute base_inputs={base_inputs} with {} inputs and {} outputs",
            spec.inputs.len(),
            spec.outputs.len()
        )));
    }
    if cx.ptr != types::I64 {
        return Err(spec.unsupported("only 64-bit targets are supported"));
    }
    let epi = bind_epilogue(cx, spec, base_inputs, program)?;
    let base_spec = KernelSpec {
        node: spec.node.clone(),
        op: base.clone(),
        inputs: spec.inputs[..base_inputs].to_vec(),
        outputs: spec.outputs.clone(),
    };
    let mut base_cx = KernelCtx {
        b: &mut *cx.b,
        ptr: cx.ptr,
        inputs: cx.inputs[..base_inputs].to_vec(),
        outputs: cx.outputs.clone(),
        has_fma: cx.has_fma,
        has_vector_round: cx.has_vector_round,
    };
    let in_registers = match base {
        Op::Conv(_) => conv::emit_with(&mut base_cx, &base_spec, Some(&epi))?,
        Op::Gemm { .. } | Op::MatMul => matmul::emit_with(&mut base_cx, &base_spec, Some(&epi))?,
        Op::WinogradOutput { .. } => crate::kernels::winograd::emit_output_with(&mut base_cx, &base_spec, Some(&epi))?,
        other => {
            return Err(spec.unsupported(format!(
                "attribute base: no fused kernel for {} (conv, gemm or matmul only)",
                other.name()
            )))
        }
    };
    if !in_registers {
        epilogue_pass(cx, spec, base_inputs, epi.emitter());
    }
    Ok(())
}

/// Checks the epilogue's program and operands against `spec` and binds them to the kernel's
/// parameters.
fn bind_epilogue(cx: &KernelCtx, spec: &KernelSpec, base_inputs: usize, program: &Program) -> Result<FusedEpilogue> {
    let out = &spec.outputs[0];
    let extras: Vec<(Value, &[usize])> = spec.inputs[base_inputs..]
        .iter()
        .zip(&cx.inputs[base_inputs..])
        .map(|(t, &p)| (p, t.shape.as_slice()))
        .collect();
    for (k, t) in spec.inputs[base_inputs..].iter().enumerate() {
        if t.dtype != out.dtype {
            return Err(spec.unsupported(format!("epilogue argument x{} is {t}, the result is {out}", k + 1)));
        }
        if !elementwise::broadcasts_into(&t.shape, &out.shape) {
            return Err(
                spec.unsupported(format!("epilogue argument x{} {t} does not broadcast to the result {out}", k + 1))
            );
        }
    }
    let emitter = Emitter::new(spec, program, out.dtype, 1 + extras.len(), cx.has_vector_round)?;
    Ok(FusedEpilogue::new(emitter, &out.shape, &extras))
}

/// The fallback: applies the epilogue in place over the output the base kernel wrote (each
/// element is loaded and stored at the same index, so reading `x0` from the output is safe).
fn epilogue_pass(cx: &mut KernelCtx, spec: &KernelSpec, base_inputs: usize, emitter: &Emitter) {
    let out_t = &spec.outputs[0];
    let ty = clif_type(out_t.dtype);
    let out = Operand { ptr: cx.outputs[0], ty, shape: out_t.shape.clone() };
    let mut inputs = vec![out.clone()];
    inputs.extend(spec.inputs[base_inputs..].iter().zip(&cx.inputs[base_inputs..]).map(|(t, &ptr)| Operand {
        ptr,
        ty,
        shape: t.shape.clone(),
    }));
    let lanes = if emitter.vectorizable() { 4 } else { 1 };
    emit_map(cx.b, &out, &inputs, lanes, &mut |b, v| emitter.emit(b, v));
}
