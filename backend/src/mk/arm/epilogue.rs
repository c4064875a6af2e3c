//! The epilogue of the NEON micro-kernel: `program(alpha * acc + beta * addend, extras...)`
//! on each accumulator right before its store, and the lane-exact loads and stores of the
//! partial last vector of N (NEON has no masks: 1 lane `s`, 2 lanes `d`, 3 lanes `d` plus one
//! `s` through a spare register).
//!
//! Registers: the accumulators stay where the micro-kernel left them; every other vector
//! register (the B and A registers, the spare) is a temporary here. alpha and beta are
//! materialised once per tile; epilogue operands are loaded per element (a per-column operand
//! as a vector, a per-row one as a scalar duplicated across lanes). A program that needs more
//! registers than the tile leaves makes the kernel fail to assemble, so the plan is dropped
//! and the node keeps its Cranelift kernel.

use super::asm::{Op3, Width};
use super::gemm::{Gen, Micro};
use super::program::{self, Temps};
use crate::mk::task::Operand;

const LANES: usize = 4;
const VB: i64 = 16;
const VREGS: usize = 32;

impl Gen<'_, '_> {
    /// Loads the tail lanes of one vector at `[base + off]` into `t` (`spare` is clobbered).
    pub(super) fn load_partial(&mut self, t: u8, base: u8, off: i64, spare: u8) {
        match self.tail_lanes() {
            1 => self.asm.vload(t, base, off, Width::S),
            2 => self.asm.vload(t, base, off, Width::D),
            _ => {
                self.asm.vload(t, base, off, Width::D);
                self.asm.vload(spare, base, off + 8, Width::S);
                self.asm.ins_lane(t, 2, spare);
            }
        }
    }

    /// Stores the tail lanes of `val` at `[base + off]` (`spare` is clobbered).
    pub(super) fn store_partial(&mut self, val: u8, base: u8, off: i64, spare: u8) {
        match self.tail_lanes() {
            1 => self.asm.vstore(val, base, off, Width::S),
            2 => self.asm.vstore(val, base, off, Width::D),
            _ => {
                self.asm.vstore(val, base, off, Width::D);
                self.asm.dup_scalar(spare, val, 2);
                self.asm.vstore(spare, base, off + 8, Width::S);
            }
        }
    }

    pub(super) fn epilogue(&mut self, mk: &Micro) {
        let mut temps = Temps::new((mk.mr() * mk.nv..VREGS).rev().map(|i| i as u8));
        if self.epilogue_tiles(mk, &mut temps).is_none() {
            self.asm.fail("epilogue needs more vector registers than the tile leaves");
        }
    }

    fn constant(&mut self, value: f32, temps: &mut Temps) -> Option<u8> {
        let t = temps.take()?;
        self.asm.vconst(t, value);
        Some(t)
    }

    fn epilogue_tiles(&mut self, mk: &Micro, temps: &mut Temps) -> Option<()> {
        let e = &self.task.epilogue;
        let alpha = if e.alpha != 1.0.into() { Some(self.constant(e.alpha.into(), temps)?) } else { None };
        let beta = match &e.addend {
            Some((_, b)) if *b != 1.0.into() => Some(self.constant(b.get(), temps)?),
            _ => None,
        };
        let rows: Vec<usize> = (0..mk.mr()).filter(|&r| self.output_valid(mk, r)).collect();
        for r in rows {
            for v in 0..mk.nv {
                let acc = mk.acc(r, v);
                if let Some(k) = alpha {
                    self.asm.vop(Op3::Mul, acc, acc, k);
                }
                if let Some((op, _)) = &e.addend {
                    let t = self.load_operand(0, op, mk, r, v, temps)?;
                    match beta {
                        Some(k) => self.asm.fmla(acc, t, k),
                        None => self.asm.vop(Op3::Add, acc, acc, t),
                    }
                    temps.give(t);
                }
                let res = match &e.program {
                    Some(p) => self.apply_program(p, mk, r, v, acc, temps)?,
                    None => acc,
                };
                self.store(mk, r, v, res, temps)?;
                temps.give(res);
                temps.give(acc);
            }
        }
        Some(())
    }

    fn apply_program(
        &mut self,
        p: &kiln_ir::Program,
        mk: &Micro,
        r: usize,
        v: usize,
        acc: u8,
        temps: &mut Temps,
    ) -> Option<u8> {
        let first = usize::from(self.task.epilogue.addend.is_some());
        let extras = &self.task.epilogue.extras;
        let mut args = Vec::with_capacity(extras.len());
        for (k, op) in extras.iter().enumerate() {
            args.push(self.load_operand(first + k, op, mk, r, v, temps)?);
        }
        let res = program::emit(self.asm, p, acc, &args, temps)?;
        args.into_iter().for_each(|t| temps.give(t));
        Some(res)
    }

    /// Epilogue operand `i` (addend first) at tile element (r, v), in a new temporary.
    fn load_operand(
        &mut self,
        i: usize,
        op: &Operand,
        mk: &Micro,
        r: usize,
        v: usize,
        temps: &mut Temps,
    ) -> Option<u8> {
        let t = temps.take()?;
        let base = self.regs.ops[i];
        let off = mk.row_offset(r, op.strides.rows) + (v * LANES) as i64 * op.strides.col;
        if op.strides.col == 0 {
            self.asm.vload(t, base, off, Width::S);
            self.asm.dup_lane0(t, t);
        } else if mk.masked && v == mk.nv - 1 {
            let spare = temps.take()?;
            self.load_partial(t, base, off, spare);
            temps.give(spare);
        } else {
            self.asm.vload(t, base, off, Width::Q);
        }
        Some(t)
    }

    fn store(&mut self, mk: &Micro, r: usize, v: usize, val: u8, temps: &mut Temps) -> Option<()> {
        let off = mk.row_offset(r, self.task.c_rows) + v as i64 * VB;
        if mk.masked && v == mk.nv - 1 {
            let spare = temps.take()?;
            self.store_partial(val, self.regs.c, off, spare);
            temps.give(spare);
        } else {
            self.asm.vstore(val, self.regs.c, off, Width::Q);
        }
        Some(())
    }
}
