//! Constant lookup tables in stack slots: the sampling plan of one axis (source offsets,
//! weights) written into a stack slot by immediate stores at kernel entry, read by the loops.
//!
//! Why stack slots: a kernel cannot define data objects (it sees only a `FunctionBuilder`), and
//! immediates stored once at entry cost one instruction per entry, which is cheap next to the
//! per-pixel work they replace (no coordinate math, no rounding, no clamping in the loops). The
//! size is capped by [`MAX_TABLE_BYTES`] so a kernel never needs a large stack frame.

use crate::emit::flags;
use cranelift_codegen::ir::{types, InstBuilder, StackSlot, StackSlotData, StackSlotKind, Value};
use cranelift_frontend::FunctionBuilder;

/// Total bytes of all tables of one kernel (stack frame budget for small edge-CPU threads).
pub const MAX_TABLE_BYTES: usize = 32 * 1024;

/// One table entry.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Word {
    /// 4 bytes, read with `sload32`.
    I32(i32),
    /// 4 bytes, read as `f32`.
    F32(f32),
    /// 8 bytes, read as `i64`.
    I64(i64),
}

impl Word {
    fn size(self) -> u32 {
        match self {
            Word::I64(_) => 8,
            _ => 4,
        }
    }
}

/// A table of fixed-size records, one per output position.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub words: Vec<Word>,
    /// Bytes per record (every record has the same layout).
    pub record: i64,
}

impl Table {
    pub fn bytes(&self) -> usize {
        self.words.iter().map(|w| w.size() as usize).sum()
    }
}

/// A table materialised in a stack slot.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub slot: StackSlot,
    pub record: i64,
}

/// Allocates a stack slot for `t` and stores every entry into it (in the current block, which
/// must dominate every use: the kernel's entry block).
pub fn materialise(b: &mut FunctionBuilder, t: &Table) -> Slot {
    let size = t.bytes().max(8) as u32;
    let slot = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 3));
    let base = b.ins().stack_addr(types::I64, slot, 0);
    let mut at = 0i32;
    for &w in &t.words {
        let v = match w {
            Word::I32(i) => b.ins().iconst(types::I32, i as u32 as i64),
            Word::F32(f) => b.ins().f32const(f),
            Word::I64(i) => b.ins().iconst(types::I64, i),
        };
        b.ins().store(flags(), v, base, at);
        at += w.size() as i32;
    }
    Slot { slot, record: t.record }
}

/// The address of record `i` (an `i64` loop counter) of `s`.
pub fn record_addr(b: &mut FunctionBuilder, s: Slot, i: Value) -> Value {
    let base = b.ins().stack_addr(types::I64, s.slot, 0);
    let off = b.ins().imul_imm_s(i, s.record);
    b.ins().iadd(base, off)
}

/// Reads an `I32` entry at byte `at` of a record, sign-extended to `i64`.
pub fn load_i32(b: &mut FunctionBuilder, rec: Value, at: i32) -> Value {
    b.ins().sload32(flags(), rec, at)
}

/// Reads an `F32` entry at byte `at` of a record.
pub fn load_f32(b: &mut FunctionBuilder, rec: Value, at: i32) -> Value {
    b.ins().load(types::F32, flags(), rec, at)
}

/// Reads an `I64` entry at byte `at` of a record.
pub fn load_i64(b: &mut FunctionBuilder, rec: Value, at: i32) -> Value {
    b.ins().load(types::I64, flags(), rec, at)
}
