//! ArgMax / ArgMin along one axis: a scalar scan per output keeping the best value and its
//! index (first occurrence, or last with `select_last_index`); output i64.

use crate::emit::{addr, c64, clif_type, load, store};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::split_at_axis;
use crate::loops::for_count;
use cranelift_codegen::ir::{
    condcodes::{FloatCC, IntCC},
    types, InstBuilder,
};
use kiln_ir::DType;

/// Emits ArgMax (`max`) or ArgMin along `axis`.
pub(super) fn emit(cx: &mut KernelCtx, spec: &KernelSpec, axis: usize, max: bool, last: bool) -> Result<()> {
    let shape = &spec.inputs[0].shape;
    let dtype = spec.inputs[0].dtype;
    if dtype == DType::Bool {
        return Err(spec.unsupported("dtype bool"));
    }
    let (outer, len, inner) = split_at_axis(spec, shape, axis)?;
    let (x, y) = (cx.inputs[0], cx.outputs[0]);
    let ty = clif_type(dtype);
    let size = dtype.size() as i64;
    let cc_f = match (max, last) {
        (true, false) => FloatCC::GreaterThan,
        (true, true) => FloatCC::GreaterThanOrEqual,
        (false, false) => FloatCC::LessThan,
        (false, true) => FloatCC::LessThanOrEqual,
    };
    let signed = dtype.is_signed_int();
    let cc_i = match (max, last, signed) {
        (true, false, true) => IntCC::SignedGreaterThan,
        (true, true, true) => IntCC::SignedGreaterThanOrEqual,
        (false, false, true) => IntCC::SignedLessThan,
        (false, true, true) => IntCC::SignedLessThanOrEqual,
        (true, false, false) => IntCC::UnsignedGreaterThan,
        (true, true, false) => IntCC::UnsignedGreaterThanOrEqual,
        (false, false, false) => IntCC::UnsignedLessThan,
        (false, true, false) => IntCC::UnsignedLessThanOrEqual,
    };
    let total = (outer * inner) as i64;
    if len == 0 {
        return Err(spec.unsupported("reduction over an empty axis"));
    }
    for_count(cx.b, 0, total, 1, |b, oi| {
        let o = b.ins().udiv_imm_s(oi, inner as i64);
        let i = b.ins().urem_imm_s(oi, inner as i64);
        let base = b.ins().imul_imm_s(o, (len * inner) as i64);
        let base = b.ins().iadd(base, i);
        let px = addr(b, x, base, size);
        let best = b.declare_var(ty);
        let idx = b.declare_var(types::I64);
        let first = load(b, ty, px, 0);
        b.def_var(best, first);
        let zero = c64(b, 0);
        b.def_var(idx, zero);
        for_count(b, 1, len as i64, 1, |b, a| {
            let p = addr(b, px, a, inner as i64 * size);
            let v = load(b, ty, p, 0);
            let cur = b.use_var(best);
            let better = if dtype.is_float() { b.ins().fcmp(cc_f, v, cur) } else { b.ins().icmp(cc_i, v, cur) };
            let nb = b.ins().select(better, v, cur);
            b.def_var(best, nb);
            let ci = b.use_var(idx);
            let ni = b.ins().select(better, a, ci);
            b.def_var(idx, ni);
        });
        let r = b.use_var(idx);
        let py = addr(b, y, oi, 8);
        store(b, r, py, 0);
    });
    Ok(())
}
