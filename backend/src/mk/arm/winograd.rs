//! The channels-last Winograd transforms ([`Winograd`]) on NEON, as micro-kernel bodies of the
//! generator's loop nest: one tile by one vector of 4 channels per call (a port of the x86
//! transforms, `crate::mk::x86::winograd`).
//!
//! Both transforms are two 1-D passes through the `stage` scratch: input `V = B^T d B` as rows
//! `u = d B` then columns `B^T u`; output `y = A^T m A` as `u = m A` per slot row, then per
//! output row `A^T u`, each output row going through the generator's epilogue (bias, fused
//! program, lane-exact tail stores, cropped rows). The matrices are `kiln_ir::winograd`'s,
//! shared with the reference evaluator; each product is the sparse linear combination it is
//! (moves, adds, subtracts, negations for unit coefficients; `fmul`/`fmla` with a constant
//! materialised in `v31` for the others). Registers: sources `v0..`, results `v6..`, `v30` the
//! spare of partial loads and stores.

use super::asm::{Op3, Width, SP};
use super::gemm::{Gen, Micro};
use crate::mk::task::Winograd;

const VB: i64 = 16;
const CONST: u8 = 31;
const SPARE: u8 = 30;

impl Gen<'_, '_> {
    /// The body of one Winograd tile (see the module docs).
    pub(super) fn winograd(&mut self, mk: &Micro, w: &Winograd) {
        let Some(mats) = kiln_ir::winograd::matrices(w.tile) else {
            return self.asm.fail("no Winograd matrices for this tile size");
        };
        if w.alpha() > 6 {
            return self.asm.fail("Winograd tile too large for the NEON registers");
        }
        let stage = self.regs.bk;
        self.asm.ldr_x(stage, SP, self.frame.param(w.stage.param));
        self.asm.add_imm(stage, stage, w.stage.offset);
        if w.output {
            self.output_transform(mk, w, mats.a_t);
        } else {
            self.input_transform(mk, w, mats.b_t);
        }
    }

    fn input_transform(&mut self, mk: &Micro, w: &Winograd, b_t: &[&[f64]]) {
        let a = w.alpha();
        let [(_, row), (_, pixel)] = self.task.taps;
        let (src, dst, stage) = (self.regs.a, self.regs.c, self.regs.bk);
        for r in 0..a {
            for c in 0..a {
                self.load_part(c as u8, src, r as i64 * row + c as i64 * pixel, mk.masked);
            }
            for (j, &coeffs) in b_t.iter().enumerate().take(a) {
                self.combine((6 + j) as u8, coeffs, 0);
                self.asm.vstore((6 + j) as u8, stage, (r * a + j) as i64 * VB, Width::Q);
            }
        }
        for j in 0..a {
            for r in 0..a {
                self.asm.vload(r as u8, stage, (r * a + j) as i64 * VB, Width::Q);
            }
            for (i, &coeffs) in b_t.iter().enumerate().take(a) {
                let out = (6 + i) as u8;
                self.combine(out, coeffs, 0);
                let off = (i * a + j) as i64 * w.slot_bytes;
                if mk.masked {
                    self.store_partial(out, dst, off, SPARE);
                } else {
                    self.asm.vstore(out, dst, off, Width::Q);
                }
            }
        }
    }

    fn output_transform(&mut self, mk: &Micro, w: &Winograd, a_t: &[&[f64]]) {
        let (a, m) = (w.alpha(), w.tile);
        let (src, stage) = (self.regs.a, self.regs.bk);
        for r in 0..a {
            for c in 0..a {
                self.load_part(c as u8, src, (r * a + c) as i64 * w.slot_bytes, mk.masked);
            }
            for (j, &coeffs) in a_t.iter().enumerate().take(m) {
                self.combine((6 + j) as u8, coeffs, 0);
                self.asm.vstore((6 + j) as u8, stage, (r * m + j) as i64 * VB, Width::Q);
            }
        }
        for (i, &coeffs) in a_t.iter().enumerate().take(m) {
            for j in 0..m {
                for r in 0..a {
                    self.asm.vload((m + r) as u8, stage, (r * m + j) as i64 * VB, Width::Q);
                }
                self.combine(j as u8, coeffs, m);
            }
            let row = Micro { th: 1, tw: m, sub: m, row_base: i, ..*mk };
            self.epilogue(&row);
        }
    }

    /// `d = sum_k coeffs[k] * v(first + k)`, sparse; `d` is not a source.
    fn combine(&mut self, d: u8, coeffs: &[f64], first: usize) {
        let mut started = false;
        for (k, &c) in coeffs.iter().enumerate().filter(|(_, &c)| c != 0.0) {
            let s = (first + k) as u8;
            match (started, c) {
                (false, 1.0) => self.asm.vmov(d, s),
                (false, -1.0) => self.asm.fneg(d, s),
                (false, _) => {
                    self.asm.vconst(CONST, c as f32);
                    self.asm.vop(Op3::Mul, d, s, CONST);
                }
                (true, 1.0) => self.asm.vop(Op3::Add, d, d, s),
                (true, -1.0) => self.asm.vop(Op3::Sub, d, d, s),
                (true, _) => {
                    self.asm.vconst(CONST, c as f32);
                    self.asm.fmla(d, s, CONST);
                }
            }
            started = true;
        }
        if !started {
            self.asm.vzero(d);
        }
    }

    /// `v{d} = [base + off]`, only the tail lanes when `partial` (zero elsewhere).
    fn load_part(&mut self, d: u8, base: u8, off: i64, partial: bool) {
        if partial {
            self.asm.vzero(d);
            self.load_partial(d, base, off, SPARE);
        } else {
            self.asm.vload(d, base, off, Width::Q);
        }
    }
}
