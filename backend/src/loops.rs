//! Loop-building helpers shared by all kernels.
//!
//! Cranelift neither unrolls nor vectorises, and its LICM hoists invariants only out of loops
//! shaped `header: brif(i >= end, exit, body)` (exit target first); every loop is built here in
//! that shape.

use cranelift_codegen::ir::{condcodes::IntCC, types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// Emits `for i in (start..end).step_by(step) { body(i) }` with `i64` counters.
/// `body` may create blocks; it must leave the builder in a block that falls through
/// (not terminated).
pub fn for_range(
    b: &mut FunctionBuilder,
    start: Value,
    end: Value,
    step: i64,
    body: impl FnOnce(&mut FunctionBuilder, Value),
) {
    let header = b.create_block();
    let body_block = b.create_block();
    let exit = b.create_block();
    b.append_block_param(header, types::I64);
    b.ins().jump(header, &[start.into()]);

    b.switch_to_block(header);
    let i = b.block_params(header)[0];
    let done = b.ins().icmp(IntCC::SignedGreaterThanOrEqual, i, end);
    b.ins().brif(done, exit, &[], body_block, &[]);

    b.switch_to_block(body_block);
    body(b, i);
    let next = b.ins().iadd_imm_s(i, step);
    b.ins().jump(header, &[next.into()]);

    b.seal_block(body_block);
    b.seal_block(header);
    b.switch_to_block(exit);
    b.seal_block(exit);
}

/// `for_range` over constant bounds. A loop that cannot run (`start >= end`) is not emitted at
/// all: its body could be large (unrolled windows) and would cost compile time for nothing.
pub fn for_count(
    b: &mut FunctionBuilder,
    start: i64,
    end: i64,
    step: i64,
    body: impl FnOnce(&mut FunctionBuilder, Value),
) {
    if start >= end {
        return;
    }
    let s = b.ins().iconst(types::I64, start);
    let e = b.ins().iconst(types::I64, end);
    for_range(b, s, e, step, body);
}
