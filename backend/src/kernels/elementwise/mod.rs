//! Kernel family `elementwise`: Unary, Binary (numpy broadcasting), Where, Cast and BitCast.
//!
//! All of them run through one broadcasting loop driver ([`driver`]) that merges contiguous axes
//! and hoists broadcast operands; the files here only say what happens to one element:
//! [`float`] for float math (the same code serves `f32`, `f32x4` and `f64`), [`int`] for
//! integers and bools, [`cast`] for conversions. `f32` ops are vectorised with `f32x4`; every
//! other dtype, and every op whose output dtype differs from its inputs (comparisons, Where's
//! byte condition), runs scalar loops: keeping bool masks out of vectors keeps the lowering
//! simple and portable, at the cost of speed on those rarer ops.
//!
//! [`driver`], [`float`] and [`int`] are crate-visible because the fused kernels
//! (`crate::kernels::fused`) build their programs and epilogue loops from the same pieces.

mod bit_cast;
mod cast;
pub(crate) mod driver;
pub(crate) mod float;
mod half;
pub(crate) mod int;
mod minifloat;

use crate::emit::clif_type;
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use driver::{emit_map, Operand};
use kiln_ir::{DType, Op};

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    check_arity(spec)?;
    if cx.ptr != types::I64 {
        return Err(spec.unsupported("only 64-bit targets are supported"));
    }
    let out_t = &spec.outputs[0];
    let out = Operand { ptr: cx.outputs[0], ty: clif_type(out_t.dtype), shape: out_t.shape.clone() };
    let inputs: Vec<Operand> = spec
        .inputs
        .iter()
        .zip(&cx.inputs)
        .map(|(t, &ptr)| Operand { ptr, ty: clif_type(t.dtype), shape: t.shape.clone() })
        .collect();
    let in_dtype = spec.inputs.last().map(|t| t.dtype).unwrap_or(DType::F32);
    let has_round = cx.has_vector_round;
    let mut body = element_body(spec, in_dtype, out_t.dtype, has_round)?;
    let lanes = lanes_of(spec);
    emit_map(cx.b, &out, &inputs, lanes, &mut *body);
    Ok(())
}

/// Vector lanes of the inner loop: 4 when every operand is f32 (so `f32x4` works end to end);
/// for integer/bool And/Or/Xor a full 128-bit vector of the element type (`i8x16`..`i64x2`),
/// since `band`/`bor`/`bxor` lower for every integer lane type; else 1 (scalar).
fn lanes_of(spec: &KernelSpec) -> usize {
    let all = |d: DType| spec.inputs.iter().chain(&spec.outputs).all(|t| t.dtype == d);
    match (&spec.op, spec.outputs[0].dtype) {
        (_, DType::F32) if all(DType::F32) => 4,
        (Op::BitCast { to }, _) if *to != DType::Bool => 16 / to.size(),
        (Op::Binary(op), d) if int::is_bitwise(*op) && all(d) && (d.is_int() || d == DType::Bool) => 16 / d.size(),
        _ => 1,
    }
}

fn check_arity(spec: &KernelSpec) -> Result<()> {
    let want = match spec.op {
        Op::Unary(_) | Op::Cast { .. } | Op::BitCast { .. } => 1,
        Op::Binary(_) => 2,
        _ => 3,
    };
    if spec.inputs.len() != want || spec.outputs.len() != 1 {
        return Err(spec.unsupported(format!(
            "expected {want} inputs and 1 output, got {} and {}",
            spec.inputs.len(),
            spec.outputs.len()
        )));
    }
    if matches!(spec.op, Op::Binary(_)) && spec.inputs[0].dtype != spec.inputs[1].dtype {
        return Err(spec.unsupported("operands of different dtypes"));
    }
    Ok(())
}

/// A per-element function for the driver.
type Element = Box<dyn FnMut(&mut FunctionBuilder, &[Value]) -> Value>;

/// Chooses the per-element code of `spec` by op and dtype; errors name unsupported combinations.
fn element_body(spec: &KernelSpec, dtype: DType, out: DType, has_round: bool) -> Result<Element> {
    let unsupported = |what: &str| spec.unsupported(format!("{what} on {dtype}"));
    match spec.op.clone() {
        Op::Unary(_) | Op::Binary(_) if dtype.is_storage_only() => {
            Err(unsupported("arithmetic (a storage-only type: the frontend computes it in f32)"))
        }
        Op::Unary(u) if dtype.is_float() => {
            float::check_unary(u).map_err(|m| unsupported(m))?;
            Ok(Box::new(move |b, v| float::unary(b, u, v[0], has_round)))
        }
        Op::Unary(u) => {
            int::check_unary(u, dtype).map_err(|m| unsupported(m))?;
            Ok(Box::new(move |b, v| int::unary(b, u, v[0], dtype)))
        }
        Op::Binary(op) if dtype.is_float() => {
            float::check_binary(op).map_err(|m| unsupported(m))?;
            Ok(Box::new(move |b, v| float::binary(b, op, v[0], v[1], has_round)))
        }
        Op::Binary(op) => {
            int::check_binary(op, dtype).map_err(|m| unsupported(m))?;
            Ok(Box::new(move |b, v| int::binary(b, op, v[0], v[1], dtype)))
        }
        Op::Where => {
            if spec.inputs[0].dtype != DType::Bool || spec.inputs[1].dtype != spec.inputs[2].dtype {
                return Err(spec.unsupported("where needs a bool condition and equal x/y dtypes"));
            }
            Ok(Box::new(|b, v| {
                let c = b.ins().icmp_imm_u(cranelift_codegen::ir::condcodes::IntCC::NotEqual, v[0], 0);
                b.ins().select(c, v[1], v[2])
            }))
        }
        Op::Cast { to } => {
            let from = spec.inputs[0].dtype;
            Ok(Box::new(move |b, v| cast::convert(b, v[0], from, to)))
        }
        Op::BitCast { to } => {
            if spec.inputs[0].dtype.size() != to.size() {
                return Err(unsupported("bit_cast to a different element size"));
            }
            Ok(Box::new(move |b, v| bit_cast::reinterpret(b, v[0], dtype, to)))
        }
        _ => Err(spec.unsupported(format!("not an elementwise op (output {out})"))),
    }
}
