//! NonZero (see `kiln_ir::dynamic`): one sequential pass over the input that appends the
//! multi-index of every non-zero element as the next column of the `[rank, numel]` result,
//! counting in the length output, then zeroes the unused columns. Zero means `== 0.0` for
//! floats (so `-0` is zero and NaN is not; f16/bf16 test their bits without the sign) and
//! `== 0` for integers and bools.

use crate::emit::flags;
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::loops::{for_count, for_range};
use cranelift_codegen::ir::{condcodes::FloatCC, condcodes::IntCC, types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{strides_of, DType};

/// Emits the NonZero kernel of `spec` (x -> indices, len).
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    let ([x], [_, _]) = (spec.inputs.as_slice(), spec.outputs.as_slice()) else {
        return Err(spec.unsupported("expected one input and two outputs"));
    };
    let (src, out, len) = (cx.inputs[0], cx.outputs[0], cx.outputs[1]);
    let (shape, n, dtype) = (x.shape.clone(), x.numel() as i64, x.dtype);
    let b = &mut *cx.b;
    let zero = b.ins().iconst(types::I64, 0);
    b.ins().store(flags(), zero, len, 0);
    for_count(b, 0, n, 1, |b, i| {
        let hit = is_nonzero(b, src, i, dtype);
        let (then, cont) = (b.create_block(), b.create_block());
        b.ins().brif(hit, then, &[], cont, &[]);
        b.switch_to_block(then);
        b.seal_block(then);
        append_column(b, out, len, i, &shape);
        b.ins().jump(cont, &[]);
        b.switch_to_block(cont);
        b.seal_block(cont);
    });
    let count = b.ins().load(types::I64, flags(), len, 0);
    let end = b.ins().iconst(types::I64, n);
    for d in 0..shape.len() as i64 {
        for_range(b, count, end, 1, |b, j| store_at(b, out, d * n, j, zero));
    }
    Ok(())
}

/// Writes the multi-index of flat position `i` as column `*len` and increments `*len`.
fn append_column(b: &mut FunctionBuilder, out: Value, len: Value, i: Value, shape: &[usize]) {
    let n: usize = shape.iter().product();
    let col = b.ins().load(types::I64, flags(), len, 0);
    for (d, (&stride, &dim)) in strides_of(shape).iter().zip(shape).enumerate() {
        let q = b.ins().udiv_imm_u(i, stride as i64);
        let coord = b.ins().urem_imm_u(q, dim as i64);
        store_at(b, out, (d * n) as i64, col, coord);
    }
    let next = b.ins().iadd_imm_s(col, 1);
    b.ins().store(flags(), next, len, 0);
}

/// `out[base + j] = v` for i64 elements.
fn store_at(b: &mut FunctionBuilder, out: Value, base: i64, j: Value, v: Value) {
    let k = b.ins().iadd_imm_s(j, base);
    let off = b.ins().imul_imm_s(k, 8);
    let addr = b.ins().iadd(out, off);
    b.ins().store(flags(), v, addr, 0);
}

/// True (an i8) when element `i` of `src` is not zero.
fn is_nonzero(b: &mut FunctionBuilder, src: Value, i: Value, dtype: DType) -> Value {
    let size = dtype.size() as i64;
    let off = b.ins().imul_imm_s(i, size);
    let addr = b.ins().iadd(src, off);
    match dtype {
        DType::F32 | DType::F64 => {
            let ty = if dtype == DType::F32 { types::F32 } else { types::F64 };
            let v = b.ins().load(ty, flags(), addr, 0);
            let z = if dtype == DType::F32 { b.ins().f32const(0.0) } else { b.ins().f64const(0.0) };
            b.ins().fcmp(FloatCC::NotEqual, v, z)
        }
        DType::F16 | DType::BF16 => {
            let v = b.ins().load(types::I16, flags(), addr, 0);
            let mag = b.ins().band_imm_u(v, 0x7fff);
            b.ins().icmp_imm_u(IntCC::NotEqual, mag, 0)
        }
        _ => {
            let ty = match size {
                1 => types::I8,
                2 => types::I16,
                4 => types::I32,
                _ => types::I64,
            };
            let v = b.ins().load(ty, flags(), addr, 0);
            b.ins().icmp_imm_u(IntCC::NotEqual, v, 0)
        }
    }
}
