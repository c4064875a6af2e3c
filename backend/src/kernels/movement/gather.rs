//! Gather: `out[o, j, k] = data[o, idx[j], k]` with `o` over the axes before `axis`, `j` over
//! the (flattened) indices and `k` over the axes after it, copied as one contiguous run.
//!
//! Indices are read at run time (i32 or i64). Negative indices wrap once (ONNX); indices still
//! out of range are clamped to `[0, dim-1]` so the kernel stays memory-safe whatever the data
//! (the reference evaluator reports them as errors instead).

use super::copy::copy_bytes;
use crate::emit::flags;
use crate::loops::for_count;
use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// Sizes of a Gather: product of the axes before `axis`, the axis, the product after it, and
/// the number of indices.
pub(crate) struct GatherDims {
    pub outer: usize,
    pub dim: usize,
    pub inner: usize,
    pub count: usize,
}

/// Emits the Gather loops; `idx_size` is 4 (i32) or 8 (i64).
pub(crate) fn emit(
    b: &mut FunctionBuilder,
    data: Value,
    idx: Value,
    out: Value,
    g: &GatherDims,
    esize: usize,
    idx_size: usize,
) {
    if g.dim == 0 || g.outer * g.count * g.inner == 0 {
        return;
    }
    let row = (g.inner * esize) as i64;
    for_count(b, 0, g.outer as i64, 1, |b, o| {
        for_count(b, 0, g.count as i64, 1, |b, j| {
            let i = load_index(b, idx, j, idx_size, g.dim as i64);
            let src_row = b.ins().imul_imm_s(o, g.dim as i64);
            let src_row = b.ins().iadd(src_row, i);
            let src_off = b.ins().imul_imm_s(src_row, row);
            let src = b.ins().iadd(data, src_off);
            let dst_row = b.ins().imul_imm_s(o, g.count as i64);
            let dst_row = b.ins().iadd(dst_row, j);
            let dst_off = b.ins().imul_imm_s(dst_row, row);
            let dst = b.ins().iadd(out, dst_off);
            copy_bytes(b, src, dst, row as usize);
        });
    });
}

/// Index `j` as i64, wrapped once if negative and clamped into `[0, dim)`.
fn load_index(b: &mut FunctionBuilder, idx: Value, j: Value, idx_size: usize, dim: i64) -> Value {
    let off = b.ins().imul_imm_s(j, idx_size as i64);
    let addr = b.ins().iadd(idx, off);
    let i = if idx_size == 4 {
        let v = b.ins().load(types::I32, flags(), addr, 0);
        b.ins().sextend(types::I64, v)
    } else {
        b.ins().load(types::I64, flags(), addr, 0)
    };
    let zero = b.ins().iconst(types::I64, 0);
    let neg = b.ins().icmp(IntCC::SignedLessThan, i, zero);
    let wrapped = b.ins().iadd_imm_s(i, dim);
    let i = b.ins().select(neg, wrapped, i);
    let neg = b.ins().icmp(IntCC::SignedLessThan, i, zero);
    let i = b.ins().select(neg, zero, i);
    let max = b.ins().iconst(types::I64, dim - 1);
    let big = b.ins().icmp(IntCC::SignedGreaterThan, i, max);
    b.ins().select(big, max, i)
}
