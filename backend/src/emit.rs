//! Small builders shared by the heavy kernels: constants, element addresses, loads and stores,
//! vector splats and multiply-add, so kernel files read as loop nests rather than instruction
//! soup. All addresses are computed in `i64` (kiln targets 64-bit CPUs only).
//!
//! Memory flags: every access is `notrap` (buffers are sized by the plan) but never `aligned`:
//! vector accesses start at arbitrary elements, and an `aligned` flag could let x64 fold them into
//! SSE memory operands that fault on unaligned addresses.

use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::DType;

/// Flags of every kernel load and store.
pub fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// An `i64` constant.
pub fn c64(b: &mut FunctionBuilder, v: i64) -> Value {
    b.ins().iconst(types::I64, v)
}

/// An `f32` constant.
pub fn f32c(b: &mut FunctionBuilder, v: f32) -> Value {
    b.ins().f32const(v)
}

/// An `f32x4` with every lane `v`.
pub fn f32x4c(b: &mut FunctionBuilder, v: f32) -> Value {
    let s = b.ins().f32const(v);
    b.ins().splat(types::F32X4, s)
}

/// `base + idx * size` (idx in elements, `i64`).
pub fn addr(b: &mut FunctionBuilder, base: Value, idx: Value, size: i64) -> Value {
    let off = b.ins().imul_imm_s(idx, size);
    b.ins().iadd(base, off)
}

/// `base + k` bytes for a constant `k`.
pub fn offset(b: &mut FunctionBuilder, base: Value, bytes: i64) -> Value {
    if bytes == 0 {
        base
    } else {
        b.ins().iadd_imm_s(base, bytes)
    }
}

/// Loads a value of `ty` at `p + off` bytes.
pub fn load(b: &mut FunctionBuilder, ty: Type, p: Value, off: i64) -> Value {
    b.ins().load(ty, flags(), p, off as i32)
}

/// Stores `v` at `p + off` bytes.
pub fn store(b: &mut FunctionBuilder, v: Value, p: Value, off: i64) {
    b.ins().store(flags(), v, p, off as i32);
}

/// Loads element `index` (`i64`, in elements of `ty`) of the buffer at `base`.
pub fn load_at(b: &mut FunctionBuilder, ty: Type, base: Value, index: Value) -> Value {
    let p = addr(b, base, index, i64::from(ty.bytes()));
    b.ins().load(ty, flags(), p, 0)
}

/// Stores `v` as element `index` (`i64`, in elements of `v`'s type) of the buffer at `base`.
pub fn store_at(b: &mut FunctionBuilder, base: Value, index: Value, v: Value) {
    let size = b.func.dfg.value_type(v).bytes();
    let p = addr(b, base, index, i64::from(size));
    b.ins().store(flags(), v, p, 0);
}

/// Emits `if cond { body }`; the builder continues after it.
pub fn when(b: &mut FunctionBuilder, cond: Value, body: impl FnOnce(&mut FunctionBuilder)) {
    let (then, cont) = (b.create_block(), b.create_block());
    b.ins().brif(cond, then, &[], cont, &[]);
    b.switch_to_block(then);
    b.seal_block(then);
    body(b);
    b.ins().jump(cont, &[]);
    b.switch_to_block(cont);
    b.seal_block(cont);
}

/// Loads an `f32` at `p + off` and broadcasts it to `f32x4`.
pub fn load_splat(b: &mut FunctionBuilder, p: Value, off: i64) -> Value {
    let s = load(b, types::F32, p, off);
    b.ins().splat(types::F32X4, s)
}

/// `acc + x * y`, fused when the target has a single-instruction fma.
pub fn mul_add(b: &mut FunctionBuilder, has_fma: bool, x: Value, y: Value, acc: Value) -> Value {
    if has_fma {
        b.ins().fma(x, y, acc)
    } else {
        let m = b.ins().fmul(x, y);
        b.ins().fadd(acc, m)
    }
}

/// Sum of the four lanes of an `f32x4`.
pub fn hsum(b: &mut FunctionBuilder, v: Value) -> Value {
    let l0 = b.ins().extractlane(v, 0);
    let l1 = b.ins().extractlane(v, 1);
    let l2 = b.ins().extractlane(v, 2);
    let l3 = b.ins().extractlane(v, 3);
    let a = b.ins().fadd(l0, l1);
    let c = b.ins().fadd(l2, l3);
    b.ins().fadd(a, c)
}

/// The Cranelift scalar type of a dtype (bool as `i8`; f16/bf16 as their `i16` bits, since they
/// are storage types converted by integer code, see `kiln_ir::half`; the narrow storage types
/// as the `i8` each element is held in, see `kiln_ir::narrow`).
pub fn clif_type(dtype: DType) -> Type {
    if dtype.is_narrow() {
        return types::I8;
    }
    match dtype {
        DType::F16 | DType::BF16 => types::I16,
        DType::F32 => types::F32,
        DType::F64 => types::F64,
        DType::I8 | DType::U8 | DType::Bool => types::I8,
        DType::I16 | DType::U16 => types::I16,
        DType::I32 | DType::U32 => types::I32,
        DType::I64 | DType::U64 => types::I64,
        _ => types::I8,
    }
}

/// Copies `bytes` bytes from `src` to `dst` (8 bytes at a time, then single bytes).
pub fn copy_bytes(b: &mut FunctionBuilder, dst: Value, src: Value, bytes: usize) {
    let words = (bytes / 8) as i64;
    crate::loops::for_count(b, 0, words, 1, |b, i| {
        let s = addr(b, src, i, 8);
        let d = addr(b, dst, i, 8);
        let v = load(b, types::I64, s, 0);
        store(b, v, d, 0);
    });
    for k in (words * 8)..bytes as i64 {
        let v = load(b, types::I8, src, k);
        store(b, v, dst, k);
    }
}
