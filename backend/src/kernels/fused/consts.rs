//! Keeps an in-register epilogue's constants out of the base kernel's hot loop.
//!
//! Why: the math lowerings build constants as `f32const` + `splat` (exp alone uses about 15).
//! Cranelift's LICM hoists those pure values out of every loop, to the kernel's entry, so each
//! becomes a vector register live across the conv's accumulation loop, which already needs all
//! 16 xmm registers: measured on a 3x3 conv with a HardSwish epilogue, +87% run time (SiLU
//! +110%), while a constant-free 6-op epilogue cost nothing.
//!
//! What: after the epilogue of one store site is emitted, every constant vector it created
//! (`splat` of an `f32const`/`f64const`/`iconst`), and every scalar float constant it uses
//! directly, is rewritten in place into a `stack_load` from a 16-byte stack slot holding that
//! constant, filled once in the kernel's entry block. Loads are not hoisted (they are not pure),
//! so the constants cost one L1 load at the use (x64 folds most into the arithmetic) instead of
//! a register for the whole kernel. Each distinct constant gets one slot, shared by all sites.

use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::ir::{
    types, Block, Function, Inst, InstBuilder, InstructionData, Opcode, ReplaceBuilder, StackSlot, StackSlotData,
    StackSlotKind, Type, Value, ValueDef,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The slots of the constants seen so far, keyed by lane type and lane bits; shared by the
/// clones of one epilogue.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConstSlots {
    slots: Rc<RefCell<HashMap<(Type, u64), StackSlot>>>,
}

impl ConstSlots {
    /// Rewrites the constants of the instructions of `block` after `after` (all of them when
    /// `None`) into loads (see the module docs).
    pub fn spill(&self, func: &mut Function, block: Block, after: Option<Inst>) {
        let insts: Vec<Inst> = match after {
            Some(a) => func.layout.block_insts(block).skip_while(|&i| i != a).skip(1).collect(),
            None => func.layout.block_insts(block).collect(),
        };
        let mut scalar_uses: Vec<Value> = Vec::new();
        for &inst in &insts {
            if let InstructionData::Unary { opcode: Opcode::Splat, arg } = func.dfg.insts[inst] {
                let ty = func.dfg.value_type(func.dfg.first_result(inst));
                if let Some(bits) = const_bits(func, arg) {
                    self.replace(func, inst, ty, bits);
                }
                continue;
            }
            scalar_uses.extend(func.dfg.inst_args(inst).iter().copied().filter(|&v| is_float_const(func, v)));
        }
        for &inst in &insts {
            let v = func.dfg.inst_results(inst).first().copied();
            if let (Some(v), Some(bits)) = (v, v.and_then(|v| float_const_bits(func, v))) {
                if scalar_uses.contains(&v) {
                    let ty = func.dfg.value_type(v);
                    self.replace(func, inst, ty, bits);
                }
            }
        }
    }

    /// Replaces `inst` (result type `ty`, lanes of `bits`) by a load from its constant's slot.
    fn replace(&self, func: &mut Function, inst: Inst, ty: Type, bits: u64) {
        let slot = self.slot(func, ty.lane_type(), bits);
        let f = &mut func.stencil;
        ReplaceBuilder::new(&mut f.dfg, &mut f.layout, inst).stack_load(types::I64, ty, slot, 0);
    }

    /// The slot holding 16 bytes of `lane` copies of `bits`, created and filled on first use.
    fn slot(&self, func: &mut Function, lane: Type, bits: u64) -> StackSlot {
        if let Some(&s) = self.slots.borrow().get(&(lane, bits)) {
            return s;
        }
        let slot = func.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 16, 4));
        let word = match lane.bytes() {
            4 => (bits & 0xffff_ffff) | (bits << 32),
            8 => bits,
            2 => (bits & 0xffff) * 0x0001_0001_0001_0001,
            _ => (bits & 0xff) * 0x0101_0101_0101_0101,
        };
        let entry = func.layout.entry_block().expect("a kernel has an entry block");
        let term = func.layout.last_inst(entry).expect("the entry block is terminated");
        let mut cur = FuncCursor::new(func).at_inst(term);
        let v = cur.ins().iconst(types::I64, word as i64);
        cur.ins().stack_store(types::I64, v, slot, 0);
        cur.ins().stack_store(types::I64, v, slot, 8);
        self.slots.borrow_mut().insert((lane, bits), slot);
        slot
    }
}

/// The bits of `v` when it is a float or integer constant.
fn const_bits(func: &Function, v: Value) -> Option<u64> {
    let ValueDef::Result(inst, _) = func.dfg.value_def(v) else { return None };
    match func.dfg.insts[inst] {
        InstructionData::UnaryImm { opcode: Opcode::Iconst, imm } => Some(imm.bits() as u64),
        _ => float_const_bits(func, v),
    }
}

/// The bits of `v` when it is an `f32const` or `f64const`.
fn float_const_bits(func: &Function, v: Value) -> Option<u64> {
    let ValueDef::Result(inst, _) = func.dfg.value_def(v) else { return None };
    match func.dfg.insts[inst] {
        InstructionData::UnaryIeee32 { opcode: Opcode::F32const, imm } => Some(imm.bits() as u64),
        InstructionData::UnaryIeee64 { opcode: Opcode::F64const, imm } => Some(imm.bits()),
        _ => None,
    }
}

fn is_float_const(func: &Function, v: Value) -> bool {
    float_const_bits(func, v).is_some()
}
