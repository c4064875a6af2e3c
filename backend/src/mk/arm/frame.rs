//! The AAPCS64 side of a NEON kernel: prologue, epilogue, where each parameter is, and stack
//! slots for loop counters that do not fit in registers.
//!
//! Kernels are leaf functions called from Cranelift code with the AAPCS64 convention: pointer
//! arguments in x0-x7, then on the stack (8 bytes each, from the caller's `sp`); x19-x28 and the
//! low 64 bits of v8-v15 (d8-d15) are callee-saved; x16/x17 are scratch; x18 (the platform
//! register on Apple targets) is never touched, nor x29/x30.
//!
//! The generator uses x0-x15 and x19-x28 freely ([`ALLOCATABLE`]) and up to 32 vector
//! registers, so the prologue always saves x19-x28 and d8-d15, then spills the register
//! arguments into frame slots: a parameter is then always `[sp + param(i)]`, and loading
//! pointers never has to order register moves. Frame layout from `sp`: x19-x28 (80 bytes),
//! d8-d15 (64), the parameter slots, the counter slots; 16-byte aligned.

use super::asm::{Asm, SP};

/// The general registers a kernel may use after the prologue.
pub const ALLOCATABLE: [u8; 26] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28];

const SAVED_BYTES: i64 = 80 + 64;
const ARG_REGS: usize = 8;

/// The stack frame of one kernel.
#[derive(Clone, Debug)]
pub struct Frame {
    params: usize,
    slots: usize,
    size: i64,
}

impl Frame {
    /// A frame for `params` pointer parameters and `slots` 8-byte slots.
    pub fn new(params: usize, slots: usize) -> Frame {
        let raw = SAVED_BYTES + 8 * (params + slots) as i64;
        Frame { params, slots, size: (raw + 15) / 16 * 16 }
    }

    /// The `sp` offset of parameter `i` after the prologue.
    pub fn param(&self, i: usize) -> i64 {
        if i < ARG_REGS {
            SAVED_BYTES + 8 * i as i64
        } else {
            self.size + 8 * (i - ARG_REGS) as i64
        }
    }

    /// The `sp` offset of slot `i`.
    pub fn slot(&self, i: usize) -> i64 {
        debug_assert!(i < self.slots);
        SAVED_BYTES + 8 * (self.params + i) as i64
    }

    pub fn prologue(&self, asm: &mut Asm) {
        asm.add_imm(SP, SP, -self.size);
        self.save_restore(asm, true);
        for i in 0..self.params.min(ARG_REGS) {
            asm.str_x(i as u8, SP, self.param(i));
        }
    }

    pub fn epilogue(&self, asm: &mut Asm) {
        self.save_restore(asm, false);
        asm.add_imm(SP, SP, self.size);
        asm.ret();
    }

    fn save_restore(&self, asm: &mut Asm, store: bool) {
        for k in 0..5u8 {
            asm.pair_x(19 + 2 * k, 20 + 2 * k, 16 * k as i32, store);
        }
        for k in 0..4u8 {
            asm.pair_d(8 + 2 * k, 9 + 2 * k, 80 + 16 * k as i32, store);
        }
    }
}
