//! The transform matrices of F(2,3) and F(4,3) (`kiln_ir::winograd::{F2, F4}`) as straight-line
//! arithmetic on `f32x4` or `f32` values, with the common subexpressions of each matrix shared
//! by hand (F(4,3)'s `B^T` takes 20 operations instead of 34 for the naive row sums). Constants
//! are multiplied, never fused with `fma`: without FMA hardware (baseline x86-64) Cranelift turns
//! `fma` into a libcall, which neither the JIT nor a self-contained object may have. The backend
//! tests check these formulas against the reference evaluator, which uses the matrices directly.

use crate::emit::f32x4c;
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// `B^T` applied to the `tile + 2` values `d` (a row or column of an input patch).
pub(super) fn input(b: &mut FunctionBuilder, tile: usize, d: &[Value]) -> Vec<Value> {
    match tile {
        2 => input_f2(b, d).to_vec(),
        _ => input_f4(b, d).to_vec(),
    }
}

/// `A^T` applied to the `tile + 2` values `v` (a row or column of a transform-domain block).
pub(super) fn output(b: &mut FunctionBuilder, tile: usize, v: &[Value]) -> Vec<Value> {
    match tile {
        2 => output_f2(b, v).to_vec(),
        _ => output_f4(b, v).to_vec(),
    }
}

/// F(2,3) `B^T d`: `[d0 - d2, d1 + d2, d2 - d1, d1 - d3]`.
fn input_f2(b: &mut FunctionBuilder, d: &[Value]) -> [Value; 4] {
    [b.ins().fsub(d[0], d[2]), b.ins().fadd(d[1], d[2]), b.ins().fsub(d[2], d[1]), b.ins().fsub(d[1], d[3])]
}

/// F(4,3) `B^T d`:
/// `[4d0 - 5d2 + d4, (d3 + d4) - 4(d1 + d2), (d4 - d3) + 4(d1 - d2), (d4 - d2) + 2(d3 - d1),
///   (d4 - d2) - 2(d3 - d1), 4d1 - 5d3 + d5]`.
fn input_f4(b: &mut FunctionBuilder, d: &[Value]) -> [Value; 6] {
    let four = scale(b, d[0], 4.0);
    let five = scale(b, d[0], 5.0);
    let two = scale(b, d[0], 2.0);
    let x = b.ins().fmul(d[0], four);
    let y = b.ins().fmul(d[2], five);
    let r0 = b.ins().fsub(x, y);
    let r0 = b.ins().fadd(r0, d[4]);
    let s12 = b.ins().fadd(d[1], d[2]);
    let s34 = b.ins().fadd(d[3], d[4]);
    let s12x4 = b.ins().fmul(s12, four);
    let r1 = b.ins().fsub(s34, s12x4);
    let d12 = b.ins().fsub(d[1], d[2]);
    let d43 = b.ins().fsub(d[4], d[3]);
    let d12x4 = b.ins().fmul(d12, four);
    let r2 = b.ins().fadd(d43, d12x4);
    let d42 = b.ins().fsub(d[4], d[2]);
    let d31 = b.ins().fsub(d[3], d[1]);
    let d31x2 = b.ins().fmul(d31, two);
    let r3 = b.ins().fadd(d42, d31x2);
    let r4 = b.ins().fsub(d42, d31x2);
    let x = b.ins().fmul(d[1], four);
    let y = b.ins().fmul(d[3], five);
    let r5 = b.ins().fsub(x, y);
    let r5 = b.ins().fadd(r5, d[5]);
    [r0, r1, r2, r3, r4, r5]
}

/// F(2,3) `A^T v`: `[v0 + v1 + v2, v1 - v2 - v3]`.
fn output_f2(b: &mut FunctionBuilder, v: &[Value]) -> [Value; 2] {
    let s12 = b.ins().fadd(v[1], v[2]);
    let y0 = b.ins().fadd(v[0], s12);
    let d12 = b.ins().fsub(v[1], v[2]);
    let y1 = b.ins().fsub(d12, v[3]);
    [y0, y1]
}

/// F(4,3) `A^T v`: with `s = v1 + v2`, `d = v1 - v2`, `S = v3 + v4`, `D = v3 - v4`:
/// `[v0 + s + S, d + 2D, s + 4S, d + 8D + v5]`.
fn output_f4(b: &mut FunctionBuilder, v: &[Value]) -> [Value; 4] {
    let (two, four, eight) = (scale(b, v[0], 2.0), scale(b, v[0], 4.0), scale(b, v[0], 8.0));
    let s = b.ins().fadd(v[1], v[2]);
    let d = b.ins().fsub(v[1], v[2]);
    let big_s = b.ins().fadd(v[3], v[4]);
    let big_d = b.ins().fsub(v[3], v[4]);
    let y0 = b.ins().fadd(v[0], s);
    let y0 = b.ins().fadd(y0, big_s);
    let x = b.ins().fmul(big_d, two);
    let y1 = b.ins().fadd(d, x);
    let x = b.ins().fmul(big_s, four);
    let y2 = b.ins().fadd(s, x);
    let x = b.ins().fmul(big_d, eight);
    let y3 = b.ins().fadd(d, x);
    let y3 = b.ins().fadd(y3, v[5]);
    [y0, y1, y2, y3]
}

/// The constant `k` with the type of `like` (`f32x4` splat or `f32`).
fn scale(b: &mut FunctionBuilder, like: Value, k: f32) -> Value {
    if b.func.dfg.value_type(like).is_vector() {
        f32x4c(b, k)
    } else {
        b.ins().f32const(k)
    }
}
