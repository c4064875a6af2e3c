//! The calling convention side of an x86-64 kernel: prologue, epilogue, where each parameter is
//! and stack slots for loop counters.
//!
//! Kernels are leaf functions called from Cranelift code with the target's default convention:
//! - System V (Linux, macOS): pointer arguments in rdi, rsi, rdx, rcx, r8, r9, then on the stack;
//!   rbx, rbp, r12-r15 callee-saved; every vector register caller-saved.
//! - Windows x64: arguments in rcx, rdx, r8, r9, then on the stack above 32 bytes of shadow
//!   space; rdi and rsi callee-saved too, and the low 128 bits of xmm6-xmm15.
//!
//! The prologue pushes every callee-saved general register (the generators use all fifteen),
//! reserves a frame, saves xmm6-15 on Windows, and spills the register arguments into frame
//! slots, so a parameter is always a memory operand ([`Frame::param`]) and loading pointers
//! never has to order register moves. The epilogue restores, clears the upper vector halves
//! (`vzeroupper`, so SSE code after the call pays no transition penalty) and returns.

use super::asm::{Asm, G, M, RSP};

/// The x86-64 calling conventions kiln emits kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallConv {
    SystemV,
    Windows,
}

const SYSV_ARGS: [G; 6] = [G(7), G(6), G(2), G(1), G(8), G(9)];
const WIN_ARGS: [G; 4] = [G(1), G(2), G(8), G(9)];
const SYSV_SAVED: [G; 6] = [G(3), G(5), G(12), G(13), G(14), G(15)];
const WIN_SAVED: [G; 8] = [G(3), G(5), G(6), G(7), G(12), G(13), G(14), G(15)];

/// The registers a kernel may use freely after the prologue: all but rsp.
pub const ALLOCATABLE: [G; 15] =
    [G(0), G(1), G(2), G(3), G(5), G(6), G(7), G(8), G(9), G(10), G(11), G(12), G(13), G(14), G(15)];

/// The stack frame of one kernel: parameter slots, then counter slots, then (Windows) the
/// xmm6-15 save area.
#[derive(Clone, Debug)]
pub struct Frame {
    conv: CallConv,
    params: usize,
    slots: usize,
    size: i64,
}

impl Frame {
    /// A frame for `params` pointer parameters and `slots` 8-byte counter slots.
    pub fn new(conv: CallConv, params: usize, slots: usize) -> Frame {
        let xmm = if conv == CallConv::Windows { 10 * 16 } else { 0 };
        let raw = 8 * (params + slots) as i64 + xmm;
        // Keep rsp 16-byte aligned inside the kernel (entry rsp is 8 mod 16, then the pushes).
        let pushes = saved(conv).len() as i64;
        let size = raw + (16 - (8 + 8 * pushes + raw) % 16) % 16;
        Frame { conv, params, slots, size }
    }

    /// The memory holding parameter `i` after the prologue.
    pub fn param(&self, i: usize) -> M {
        let regs = args(self.conv).len();
        if i < regs {
            return M::at(RSP, 8 * i as i64);
        }
        let entry = self.size + 8 * saved(self.conv).len() as i64;
        let above = match self.conv {
            CallConv::SystemV => 8,
            CallConv::Windows => 8 + 32,
        };
        M::at(RSP, entry + above + 8 * (i - regs) as i64)
    }

    /// Counter slot `i` (`i < slots`).
    pub fn slot(&self, i: usize) -> M {
        debug_assert!(i < self.slots);
        M::at(RSP, 8 * (self.params + i) as i64)
    }

    fn xmm_area(&self) -> i64 {
        8 * (self.params + self.slots) as i64
    }

    pub fn prologue(&self, asm: &mut Asm) {
        for &g in saved(self.conv) {
            asm.push(g);
        }
        asm.add_imm(RSP, -self.size);
        if self.conv == CallConv::Windows {
            for (k, x) in (6..16).enumerate() {
                asm.store_xmm(M::at(RSP, self.xmm_area() + 16 * k as i64), x);
            }
        }
        for (i, &g) in args(self.conv).iter().enumerate().take(self.params) {
            asm.store_gpr(self.param(i), g);
        }
    }

    pub fn epilogue(&self, asm: &mut Asm) {
        if self.conv == CallConv::Windows {
            for (k, x) in (6..16).enumerate() {
                asm.load_xmm(x, M::at(RSP, self.xmm_area() + 16 * k as i64));
            }
        }
        asm.add_imm(RSP, self.size);
        for &g in saved(self.conv).iter().rev() {
            asm.pop(g);
        }
        asm.vzeroupper();
        asm.ret();
    }
}

fn args(conv: CallConv) -> &'static [G] {
    match conv {
        CallConv::SystemV => &SYSV_ARGS,
        CallConv::Windows => &WIN_ARGS,
    }
}

fn saved(conv: CallConv) -> &'static [G] {
    match conv {
        CallConv::SystemV => &SYSV_SAVED,
        CallConv::Windows => &WIN_SAVED,
    }
}
