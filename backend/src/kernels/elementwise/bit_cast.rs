//! One element of BitCast (scalar or vector lanes): the same bits read as another dtype of the
//! same size. A reinterpreting copy: integer dtypes of one size share a Cranelift type, so only
//! int <-> float needs a `bitcast` instruction (same lane count, so byte order never matters).
//! Bytes read as bool become `x != 0`, so a bool buffer holds only 0/1 as every other kernel and
//! the reference evaluator assume (that case runs scalar).

use crate::emit::clif_type;
use cranelift_codegen::ir::{condcodes::IntCC, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::DType;

/// `x` (of dtype `from`) reinterpreted as `to`.
pub(super) fn reinterpret(b: &mut FunctionBuilder, x: Value, from: DType, to: DType) -> Value {
    if to == DType::Bool && from != DType::Bool {
        return b.ins().icmp_imm_u(IntCC::NotEqual, x, 0);
    }
    let ty = b.func.dfg.value_type(x);
    let want = clif_type(to).by(ty.lane_count()).unwrap_or(ty);
    if want == ty {
        x
    } else {
        b.ins().bitcast(want, MemFlagsData::new(), x)
    }
}
