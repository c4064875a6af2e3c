//! Kernel family `winograd`: the two transforms of Winograd F(2x2, 3x3) (see `kiln_ir::winograd`)
//! that surround the batched MatMul `[16, M, C] x [16, C, T]` the graph optimizer substitutes for
//! a 3x3 stride-1 convolution.
//!
//! Both transforms are memory-bound (16 adds or subtracts per element moved), so the kernels aim
//! at streaming: four consecutive tiles per `f32x4`, no unrolling beyond one tile group, and the
//! only stack buffer is four padded input rows (at most ~4 KiB, see
//! `kiln_ir::winograd::MAX_WIDTH`).
//!
//! - [`input`]: `x [N, C, H, W] -> V [16, C, T]`. Per `(n, c, th)` the four input rows of the tile
//!   row are copied into a zero-padded row buffer (rows outside the input become zeros), so every
//!   tile group then reads the buffer without bounds checks; the stride-2 patch columns of four
//!   tiles are de-interleaved with two shuffles per vector pair.
//! - [`output`]: `Mt [16, M, T] (+ bias [M]) -> y [N, M, OH, OW]`. Four tiles per vector give
//!   the even and odd output columns, re-interleaved with shuffles into two stores of four
//!   consecutive columns; tiles cut by an odd OW and the tail of a row run the same arithmetic
//!   on scalars. As the base of `Op::Fused` the epilogue is applied in registers at every store
//!   ([`emit_output_with`]), in the `[N, M, OH, OW]` view the conv kernels use.

mod input;
mod output;

use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::fused::epilogue::FusedEpilogue;
use cranelift_codegen::ir::{types, ConstantData, Endianness, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, Op};

/// Emits the kernel body of a `WinogradInput` or `WinogradOutput` node.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    match &spec.op {
        Op::WinogradInput { .. } => input::emit(cx, spec),
        Op::WinogradOutput { .. } => emit_output_with(cx, spec, None).map(|_| ()),
        _ => Err(spec.unsupported("not a winograd transform")),
    }
}

/// Emits `WinogradOutput`, applying `fused` (the epilogue of an `Op::Fused` whose base this is)
/// in registers before every store. Returns true: the epilogue, if any, has been applied.
pub(crate) fn emit_output_with(cx: &mut KernelCtx, spec: &KernelSpec, fused: Option<&FusedEpilogue>) -> Result<bool> {
    output::emit(cx, spec, fused)?;
    Ok(true)
}

/// Checks what both transforms need: f32 operands and a 64-bit target.
fn check_common(cx: &KernelCtx, spec: &KernelSpec) -> Result<()> {
    if spec.inputs.iter().chain(&spec.outputs).any(|t| t.dtype != DType::F32) {
        return Err(spec.unsupported("only f32 operands are supported"));
    }
    if cx.ptr != types::I64 {
        return Err(spec.unsupported("only 64-bit targets are supported"));
    }
    Ok(())
}

/// Lanes `idx` (0..4 from `x`, 4..8 from `y`) of the two `f32x4` vectors, as one `f32x4`.
fn shuffle(b: &mut FunctionBuilder, x: Value, y: Value, idx: [u8; 4]) -> Value {
    let le = MemFlagsData::new().with_endianness(Endianness::Little);
    let bytes: Vec<u8> = idx.iter().flat_map(|&l| (0..4).map(move |k| 4 * l + k)).collect();
    let mask = b.func.dfg.immediates.push(ConstantData::from(bytes));
    let xb = b.ins().bitcast(types::I8X16, le, x);
    let yb = b.ins().bitcast(types::I8X16, le, y);
    let s = b.ins().shuffle(xb, yb, mask);
    b.ins().bitcast(types::F32X4, le, s)
}
