//! Kernel family `winograd`: the two transforms of Winograd F(m x m, 3x3), m = 2 or 4 (see
//! `kiln_ir::winograd`), that surround the batched MatMul `[a*a, M, C] x [a*a, C, T]`
//! (`a = m + 2`) the graph optimizer substitutes for a 3x3 stride-1 convolution.
//!
//! Both transforms are memory-bound (a few adds per element moved), so the kernels aim at
//! streaming: four consecutive tiles per `f32x4`, no unrolling beyond one tile group, and the
//! only stack buffer is `a` padded input rows (at most ~7 KiB, see
//! `kiln_ir::winograd::MAX_WIDTH`). The matrices themselves are in [`matrix`].
//!
//! - [`input`]: `x [N, C, H, W] -> V [a*a, C, T]`. Per `(n, c, th)` the `a` input rows of the
//!   tile row are copied into a zero-padded row buffer (rows outside the input become zeros), so
//!   every tile group then reads the buffer without bounds checks. The patch columns of four
//!   tiles (stride m) are gathered into lanes with shuffles: de-interleaving for m = 2, 4x4
//!   transposes for m = 4.
//! - [`output`]: `Mt [a*a, M, T] (+ bias [M]) -> y [N, M, OH, OW]`. Four tiles per vector give
//!   output columns `m*tw + j` in lanes; shuffles turn them back into runs of consecutive
//!   columns (an interleave for m = 2, a 4x4 transpose for m = 4). Tiles cut by the right edge
//!   and the tail of a row run the same arithmetic on scalars. As the base of `Op::Fused` the
//!   epilogue is applied in registers at every store ([`emit_output_with`]), in the
//!   `[N, M, OH, OW]` view the conv kernels use.

mod input;
mod matrix;
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

/// The 4x4 transpose of `rows` (lane `j` of row `i` becomes lane `i` of column `j`).
fn transpose4(b: &mut FunctionBuilder, rows: [Value; 4]) -> [Value; 4] {
    let [c0, c1] = transpose_pair(b, rows, [0, 4, 1, 5]);
    let [c2, c3] = transpose_pair(b, rows, [2, 6, 3, 7]);
    [c0, c1, c2, c3]
}

/// The first two columns of the 4x4 transpose of `rows` (half the shuffles of [`transpose4`]).
fn transpose_first_two(b: &mut FunctionBuilder, rows: [Value; 4]) -> [Value; 2] {
    transpose_pair(b, rows, [0, 4, 1, 5])
}

/// Two columns of the 4x4 transpose of `r`: `half` interleaves lanes 0-1 (`[0, 4, 1, 5]`,
/// columns 0 and 1) or lanes 2-3 (`[2, 6, 3, 7]`, columns 2 and 3) of row pairs (0, 1) and
/// (2, 3), then the two interleaves are split into columns.
fn transpose_pair(b: &mut FunctionBuilder, r: [Value; 4], half: [u8; 4]) -> [Value; 2] {
    let t0 = shuffle(b, r[0], r[1], half);
    let t1 = shuffle(b, r[2], r[3], half);
    [shuffle(b, t0, t1, [0, 1, 4, 5]), shuffle(b, t0, t1, [2, 3, 6, 7])]
}
