//! f32 GEMM micro-kernels on 128-bit vectors.
//!
//! - B contiguous along N (plain MatMul, Gemm without transB): 4x8 register tiles (4 rows of A
//!   broadcast, two f32x4 of B per k step, 8 accumulators), then a 4-wide vector column tile and
//!   scalar columns for the N tail, and the same column sweep with fewer rows for the M tail.
//! - B contiguous along K (Gemm with transB, fully-connected layers): dot products vectorised
//!   along K, four output columns at a time sharing each load of A.
//! - Anything else (A and B both transposed) falls back to the scalar loop.

use super::{scalar, Epilogue, GemmShape};
use crate::emit::{addr, c64, f32x4c, hsum, load, mul_add, store};
use crate::kernel::KernelCtx;
use crate::loops::for_count;
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::DType;

/// Rows of A per register tile.
const MR: usize = 4;

/// The operands every tile needs.
#[derive(Clone, Copy)]
struct Operands<'s> {
    a: Value,
    b: Value,
    out: Value,
    s: &'s GemmShape,
    e: &'s Epilogue<'s>,
    fma: bool,
}

/// Emits the f32 product (see the module docs for the strategy chosen).
pub(super) fn gemm_f32(cx: &mut KernelCtx, a: Value, b: Value, out: Value, s: &GemmShape, e: &Epilogue) {
    let ops = Operands { a, b, out, s, e, fma: cx.has_fma };
    if s.b_strides.1 == 1 {
        row_tiles(cx.b, ops);
    } else if s.b_strides.0 == 1 && s.a_strides.1 == 1 {
        dot_tiles(cx.b, ops);
    } else {
        scalar::gemm_scalar(cx.b, DType::F32, a, b, out, s, e);
    }
}

fn row_tiles(b: &mut FunctionBuilder, ops: Operands) {
    let m_full = (ops.s.m / MR * MR) as i64;
    for_count(b, 0, m_full, MR as i64, |b, i| column_sweep(b, ops, i, MR));
    if !ops.s.m.is_multiple_of(MR) {
        let i = c64(b, m_full);
        column_sweep(b, ops, i, ops.s.m % MR);
    }
}

/// All columns of `rows` rows starting at row `i`.
fn column_sweep(b: &mut FunctionBuilder, ops: Operands, i: Value, rows: usize) {
    let n = ops.s.n;
    let n8 = (n / 8 * 8) as i64;
    for_count(b, 0, n8, 8, |b, j| tile(b, ops, i, j, rows, types::F32X4, 2));
    let mut j0 = n8 as usize;
    if n - j0 >= 4 {
        let j = c64(b, j0 as i64);
        tile(b, ops, i, j, rows, types::F32X4, 1);
        j0 += 4;
    }
    for jj in j0..n {
        let j = c64(b, jj as i64);
        tile(b, ops, i, j, rows, types::F32, 1);
    }
}

/// One `rows x (nv * lanes)` tile at (i, j): accumulate over K, then epilogue and store.
fn tile(b: &mut FunctionBuilder, ops: Operands, i: Value, j: Value, rows: usize, ty: Type, nv: usize) {
    let s = ops.s;
    let zero = if ty == types::F32 { b.ins().f32const(0.0) } else { f32x4c(b, 0.0) };
    let acc: Vec<Vec<_>> = (0..rows)
        .map(|_| {
            (0..nv)
                .map(|_| {
                    let v = b.declare_var(ty);
                    b.def_var(v, zero);
                    v
                })
                .collect()
        })
        .collect();
    let a_rows: Vec<Value> = (0..rows)
        .map(|r| {
            let ir = b.ins().iadd_imm_s(i, r as i64);
            addr(b, ops.a, ir, s.a_strides.0 * 4)
        })
        .collect();
    let b_col = addr(b, ops.b, j, s.b_strides.1 * 4);
    for_count(b, 0, s.k as i64, 1, |b, kk| {
        let b_row = addr(b, b_col, kk, s.b_strides.0 * 4);
        let bv: Vec<Value> = (0..nv).map(|v| load(b, ty, b_row, v as i64 * 16)).collect();
        for (r, a_row) in a_rows.iter().enumerate() {
            let pa = addr(b, *a_row, kk, s.a_strides.1 * 4);
            let mut av = load(b, types::F32, pa, 0);
            if ty != types::F32 {
                av = b.ins().splat(ty, av);
            }
            for (v, &bvv) in bv.iter().enumerate() {
                let cur = b.use_var(acc[r][v]);
                let next = mul_add(b, ops.fma, av, bvv, cur);
                b.def_var(acc[r][v], next);
            }
        }
    });
    for (r, row_acc) in acc.iter().enumerate() {
        let ir = b.ins().iadd_imm_s(i, r as i64);
        let row_off = b.ins().imul_imm_s(ir, s.n as i64);
        let o_idx = b.ins().iadd(row_off, j);
        let po = addr(b, ops.out, o_idx, 4);
        for (v, &var) in row_acc.iter().enumerate() {
            let val = b.use_var(var);
            let jv = b.ins().iadd_imm_s(j, (v * 4) as i64);
            let val = epilogue(b, ops.e, val, ir, jv, ty);
            store(b, val, po, v as i64 * 16);
        }
    }
}

/// `alpha * val + beta * C[i, j..]`, then the fused epilogue if any, for a scalar or a vector
/// of consecutive columns.
pub(super) fn epilogue(b: &mut FunctionBuilder, e: &Epilogue, val: Value, i: Value, j: Value, ty: Type) -> Value {
    let splat = |b: &mut FunctionBuilder, x: f32| {
        let s = b.ins().f32const(x);
        if ty == types::F32 {
            s
        } else {
            b.ins().splat(ty, s)
        }
    };
    let mut val = val;
    if e.alpha != 1.0 {
        let al = splat(b, e.alpha);
        val = b.ins().fmul(val, al);
    }
    if let (Some((c, (crs, ccs))), true) = (e.c, e.beta != 0.0) {
        let ri = b.ins().imul_imm_s(i, crs);
        let cj = b.ins().imul_imm_s(j, ccs);
        let idx = b.ins().iadd(ri, cj);
        let pc = addr(b, c, idx, 4);
        let mut cv = if ty == types::F32 || ccs == 1 { load(b, ty, pc, 0) } else { crate::emit::load_splat(b, pc, 0) };
        if e.beta != 1.0 {
            let be = splat(b, e.beta);
            cv = b.ins().fmul(cv, be);
        }
        val = b.ins().fadd(val, cv);
    }
    e.apply_fused(b, val, i, j)
}

fn dot_tiles(b: &mut FunctionBuilder, ops: Operands) {
    let n4 = (ops.s.n / 4 * 4) as i64;
    let n = ops.s.n as i64;
    for_count(b, 0, ops.s.m as i64, 1, |b, i| {
        for_count(b, 0, n4, 4, |b, j| dot_block(b, ops, i, j, 4));
        for_count(b, n4, n, 1, |b, j| dot_block(b, ops, i, j, 1));
    });
}

/// Dot products of row `i` of A with `cols` consecutive rows of B^T starting at `j`.
fn dot_block(b: &mut FunctionBuilder, ops: Operands, i: Value, j: Value, cols: usize) {
    let s = ops.s;
    let k4 = (s.k / 4 * 4) as i64;
    let zero = f32x4c(b, 0.0);
    let acc: Vec<_> = (0..cols)
        .map(|_| {
            let v = b.declare_var(types::F32X4);
            b.def_var(v, zero);
            v
        })
        .collect();
    let a_row = addr(b, ops.a, i, s.a_strides.0 * 4);
    let b_rows: Vec<Value> = (0..cols)
        .map(|c| {
            let jc = b.ins().iadd_imm_s(j, c as i64);
            addr(b, ops.b, jc, s.b_strides.1 * 4)
        })
        .collect();
    for_count(b, 0, k4, 4, |b, kk| {
        let pa = addr(b, a_row, kk, 4);
        let av = load(b, types::F32X4, pa, 0);
        for (c, &br) in b_rows.iter().enumerate() {
            let pb = addr(b, br, kk, 4);
            let bv = load(b, types::F32X4, pb, 0);
            let cur = b.use_var(acc[c]);
            let next = mul_add(b, ops.fma, av, bv, cur);
            b.def_var(acc[c], next);
        }
    });
    for (c, &br) in b_rows.iter().enumerate() {
        let v = b.use_var(acc[c]);
        let mut sum = hsum(b, v);
        for kk in k4..s.k as i64 {
            let x = load(b, types::F32, a_row, kk * 4);
            let y = load(b, types::F32, br, kk * 4);
            sum = mul_add(b, ops.fma, x, y, sum);
        }
        let jc = b.ins().iadd_imm_s(j, c as i64);
        let val = epilogue(b, ops.e, sum, i, jc, types::F32);
        let row = b.ins().imul_imm_s(i, s.n as i64);
        let idx = b.ins().iadd(row, jc);
        let po = addr(b, ops.out, idx, 4);
        store(b, val, po, 0);
    }
}
