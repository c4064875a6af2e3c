//! The scalar GEMM: a plain triple loop over any strides, for f64 and integer matmuls and for
//! f32 layouts the vector tiles do not cover. Integer products wrap (two's complement), as
//! onnxruntime's do.

use super::{Epilogue, GemmShape};
use crate::emit::{addr, clif_type, load, store};
use crate::loops::for_count;
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::DType;

/// Emits `out[i, j] = alpha * sum_k A[i, k] B[k, j] + beta * C[i, j]` element by element.
/// alpha/beta apply to floats only (Gemm on integers is rejected by the IR dtypes); a fused
/// epilogue applies to every dtype.
pub(super) fn gemm_scalar(
    b: &mut FunctionBuilder,
    dtype: DType,
    a: Value,
    bm: Value,
    out: Value,
    s: &GemmShape,
    e: &Epilogue,
) {
    let ty = clif_type(dtype);
    let size = dtype.size() as i64;
    let s = *s;
    let e = *e;
    for_count(b, 0, s.m as i64, 1, |b, i| {
        for_count(b, 0, s.n as i64, 1, |b, j| {
            let acc = b.declare_var(ty);
            let zero = zero_of(b, dtype);
            b.def_var(acc, zero);
            let pa = addr(b, a, i, s.a_strides.0 * size);
            let pb = addr(b, bm, j, s.b_strides.1 * size);
            for_count(b, 0, s.k as i64, 1, |b, kk| {
                let xa = addr(b, pa, kk, s.a_strides.1 * size);
                let xb = addr(b, pb, kk, s.b_strides.0 * size);
                let x = load(b, ty, xa, 0);
                let y = load(b, ty, xb, 0);
                let cur = b.use_var(acc);
                let next = if dtype.is_float() {
                    let p = b.ins().fmul(x, y);
                    b.ins().fadd(cur, p)
                } else {
                    let p = b.ins().imul(x, y);
                    b.ins().iadd(cur, p)
                };
                b.def_var(acc, next);
            });
            let mut val = b.use_var(acc);
            if dtype.is_float() {
                val = float_epilogue(b, dtype, &e, val, i, j);
            }
            val = e.apply_fused(b, val, i, j);
            let row = b.ins().imul_imm_s(i, s.n as i64);
            let idx = b.ins().iadd(row, j);
            let po = addr(b, out, idx, size);
            store(b, val, po, 0);
        });
    });
}

fn zero_of(b: &mut FunctionBuilder, dtype: DType) -> Value {
    match dtype {
        DType::F32 => b.ins().f32const(0.0),
        DType::F64 => b.ins().f64const(0.0),
        _ => b.ins().iconst(clif_type(dtype), 0),
    }
}

fn float_epilogue(b: &mut FunctionBuilder, dtype: DType, e: &Epilogue, val: Value, i: Value, j: Value) -> Value {
    let k = |b: &mut FunctionBuilder, x: f32| {
        if dtype == DType::F32 {
            b.ins().f32const(x)
        } else {
            b.ins().f64const(x as f64)
        }
    };
    let mut val = val;
    if e.alpha != 1.0 {
        let al = k(b, e.alpha);
        val = b.ins().fmul(val, al);
    }
    if let (Some((c, (crs, ccs))), true) = (e.c, e.beta != 0.0) {
        let ri = b.ins().imul_imm_s(i, crs);
        let cj = b.ins().imul_imm_s(j, ccs);
        let idx = b.ins().iadd(ri, cj);
        let pc = addr(b, c, idx, dtype.size() as i64);
        let mut cv = load(b, clif_type(dtype), pc, 0);
        if e.beta != 1.0 {
            let be = k(b, e.beta);
            cv = b.ins().fmul(cv, be);
        }
        val = b.ins().fadd(val, cv);
    }
    val
}
