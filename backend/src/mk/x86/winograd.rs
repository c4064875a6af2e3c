//! The channels-last Winograd transforms ([`Winograd`]) as micro-kernel bodies of the GEMM
//! generator's loop nest: one tile by one vector of channels per call, at full vector width.
//!
//! Both transforms are two 1-D passes through the `stage` scratch (the `a x a` intermediate
//! does not fit the register file): input `V = B^T d B` as rows `u = d B` then columns
//! `B^T u`; output `y = A^T m A` as `u = m A` per slot row, then per output row `A^T u`, each
//! output row going through the GEMM's epilogue (bias, fused program, masked and cropped
//! stores). The matrices are `kiln_ir::winograd`'s, shared with the reference evaluator; each
//! product is emitted as the sparse linear combination it is (moves, adds and subtracts for
//! the unit coefficients, FMAs with pooled constants for the others).

use super::asm::{Level, Op3, Src, M, V};
use super::gemm::{Gen, Micro};
use crate::mk::task::Winograd;

impl Gen<'_, '_> {
    /// The body of one Winograd tile (see the module docs).
    pub(super) fn winograd(&mut self, mk: &Micro, w: &Winograd) {
        let Some(mats) = kiln_ir::winograd::matrices(w.tile) else {
            return self.asm.fail(format!("no Winograd matrices for tile {}", w.tile));
        };
        let stage = self.regs.bk;
        self.asm.load_gpr(stage, self.frame.param(w.stage.param));
        self.asm.add_imm(stage, w.stage.offset);
        let mask = V(12);
        if self.level == Level::Avx2 && mk.masked {
            let lanes = self.asm.lane_mask(self.tail_lanes());
            self.asm.vset(mask, lanes);
        }
        if w.output {
            self.output_transform(mk, w, mats.a_t, mask);
        } else {
            self.input_transform(mk, w, mats.b_t, mask);
        }
    }

    fn input_transform(&mut self, mk: &Micro, w: &Winograd, b_t: &[&[f64]], mask: V) {
        let a = w.alpha();
        let [(_, row), (_, pixel)] = self.task.taps;
        let (src, dst, stage, vb) = (self.regs.a, self.regs.c, self.regs.bk, self.vb);
        for r in 0..a {
            for c in 0..a {
                self.load_part(V(c as u8), M::at(src, r as i64 * row + c as i64 * pixel), mk.masked, mask);
            }
            for j in 0..a {
                self.combine(V((6 + j) as u8), b_t[j], 0);
                self.asm.vstore(M::at(stage, ((r * a + j) as i64) * vb), V((6 + j) as u8));
            }
        }
        for j in 0..a {
            for r in 0..a {
                self.asm.vload(V(r as u8), M::at(stage, ((r * a + j) as i64) * vb));
            }
            for i in 0..a {
                let out = V((6 + i) as u8);
                self.combine(out, b_t[i], 0);
                self.store_part(M::at(dst, ((i * a + j) as i64) * w.slot_bytes), out, mk.masked);
            }
        }
    }

    fn output_transform(&mut self, mk: &Micro, w: &Winograd, a_t: &[&[f64]], mask: V) {
        let (a, m) = (w.alpha(), w.tile);
        let (src, stage, vb) = (self.regs.a, self.regs.bk, self.vb);
        for r in 0..a {
            for c in 0..a {
                self.load_part(V(c as u8), M::at(src, ((r * a + c) as i64) * w.slot_bytes), mk.masked, mask);
            }
            for j in 0..m {
                self.combine(V((6 + j) as u8), a_t[j], 0);
                self.asm.vstore(M::at(stage, ((r * m + j) as i64) * vb), V((6 + j) as u8));
            }
        }
        for i in 0..m {
            for j in 0..m {
                for r in 0..a {
                    self.asm.vload(V((m + r) as u8), M::at(stage, ((r * m + j) as i64) * vb));
                }
                self.combine(V(j as u8), a_t[i], m);
            }
            let row = Micro { th: 1, tw: m, sub: m, row_base: i, ..*mk };
            self.epilogue(&row);
        }
    }

    /// `d = sum_k coeffs[k] * V(first + k)`, sparse: unit coefficients as moves, adds and
    /// subtracts, the others as multiplies or FMAs with pooled constants; `d` is not a source.
    fn combine(&mut self, d: V, coeffs: &[f64], first: usize) {
        let mut started = false;
        for (k, &c) in coeffs.iter().enumerate().filter(|(_, &c)| c != 0.0) {
            let s = V((first + k) as u8);
            match (started, c) {
                (false, 1.0) => self.asm.vmov(d, s),
                (false, -1.0) => {
                    let sign = self.asm.constant_bits(0x8000_0000);
                    self.asm.vop(Op3::Xor, d, s, sign);
                }
                (false, _) => {
                    let k = self.asm.constant(c as f32);
                    self.asm.vop(Op3::Mul, d, s, k);
                }
                (true, 1.0) => self.asm.vop(Op3::Add, d, d, Src::Reg(s)),
                (true, -1.0) => self.asm.vop(Op3::Sub, d, d, Src::Reg(s)),
                (true, _) => {
                    let k = self.asm.constant(c as f32);
                    self.asm.vfma(d, s, k);
                }
            }
            started = true;
        }
        if !started {
            self.asm.vzero(d);
        }
    }

    /// `d = [m]`, only the lanes of the partial last vector when `partial` (zero elsewhere).
    fn load_part(&mut self, d: V, m: M, partial: bool, mask: V) {
        match (partial, self.level) {
            (false, _) => self.asm.vload(d, m),
            (true, Level::Avx512) => self.asm.vload_k(d, m, 1),
            (true, Level::Avx2) => self.asm.vload_maskv(d, m, mask),
        }
    }

    /// `[m] = s`, only the lanes of the partial last vector when `partial`.
    fn store_part(&mut self, m: M, s: V, partial: bool) {
        match (partial, self.level) {
            (false, _) => self.asm.vstore(m, s),
            (true, Level::Avx512) => self.asm.vstore_k(m, s, 1),
            (true, Level::Avx2) => self.asm.vstore_maskv(m, s, V(12)),
        }
    }
}
