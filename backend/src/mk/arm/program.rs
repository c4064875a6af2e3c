//! Fused elementwise programs (`kiln_ir::Program`) on one NEON register, for the epilogues of
//! the NEON micro-kernels: bias and residual adds, BatchNorm-as-affine (mul/add), ReLU, Clip,
//! LeakyReLU, PReLU, HardSigmoid/HardSwish, neg/abs/sqrt/reciprocal, and exp, sigmoid (so
//! SiLU), tanh, erf (so GELU) and ELU through `super::math`.
//!
//! Registers: every step writes a fresh temporary from the free pool and operands whose last
//! use is that step return to it (the accumulator included). The extra operands arrive already
//! loaded in registers. When the pool runs dry, [`emit`] returns `None`; the generator then
//! refuses the kernel (the node keeps its Cranelift kernel).
//!
//! Semantics match the reference evaluator: AArch64 `fmax`/`fmin` propagate NaN (as its
//! `max_nan`/`min_nan`), PReLU selects on `x >= 0` (false for NaN, whose product is NaN too).
//! Steps without a lowering here (Max/Min, log, sin...) make [`supported`] false and the node
//! keeps its Cranelift kernel.

use super::asm::{Asm, Op3};
use kiln_ir::{BinaryOp, Operand, Program, Step, UnaryOp};

/// True when every step of `p` has a lowering here.
pub fn supported(p: &Program) -> bool {
    p.steps.iter().all(|s| match *s {
        Step::Unary(u, _) => matches!(
            u,
            UnaryOp::Relu
                | UnaryOp::LeakyRelu { .. }
                | UnaryOp::Clip { .. }
                | UnaryOp::HardSigmoid { .. }
                | UnaryOp::HardSwish
                | UnaryOp::Neg
                | UnaryOp::Abs
                | UnaryOp::Sqrt
                | UnaryOp::Reciprocal
                | UnaryOp::Exp
                | UnaryOp::Sigmoid
                | UnaryOp::Tanh
                | UnaryOp::Erf
                | UnaryOp::Elu { .. }
        ),
        Step::Binary(b, _, _) => {
            matches!(b, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::PRelu)
        }
    })
}

/// The free vector registers of an epilogue.
pub type Temps = crate::mk::temps::Temps<u8>;

/// Emits `p` on `x0` with the extra operands in registers `args` (`x1..`); returns the register
/// holding the result, or `None` when `temps` ran out. `x0` and every temporary but the result
/// are back in `temps` afterwards (the `args` registers are the caller's).
pub fn emit(asm: &mut Asm, p: &Program, x0: u8, args: &[u8], temps: &mut Temps) -> Option<u8> {
    let last = crate::mk::temps::LastUses::of(p);
    let mut regs: Vec<Option<u8>> = vec![None; p.steps.len()];
    for (i, step) in p.steps.iter().enumerate() {
        let val = |o: Operand, regs: &[Option<u8>]| -> Option<u8> {
            match o {
                Operand::Arg(0) => Some(x0),
                Operand::Arg(k) => args.get(k - 1).copied(),
                Operand::Reg(j) => regs[j],
            }
        };
        let d = match *step {
            Step::Unary(u, a) => unary(asm, u, val(a, &regs)?, temps)?,
            Step::Binary(b, a, c) => binary(asm, b, val(a, &regs)?, val(c, &regs)?, temps)?,
        };
        regs[i] = Some(d);
        for o in step.operands() {
            if !last.dies_at(o, i) {
                continue;
            }
            match o {
                Operand::Arg(0) => temps.give(x0),
                Operand::Reg(j) => temps.give(regs[j]?),
                Operand::Arg(_) => {}
            }
        }
    }
    match p.result() {
        Operand::Reg(j) => regs[j],
        _ => Some(x0),
    }
}

fn binary(asm: &mut Asm, op: BinaryOp, a: u8, b: u8, temps: &mut Temps) -> Option<u8> {
    let op3 = match op {
        BinaryOp::Add => Op3::Add,
        BinaryOp::Sub => Op3::Sub,
        BinaryOp::Mul => Op3::Mul,
        BinaryOp::Div => Op3::Div,
        BinaryOp::PRelu => return prelu(asm, a, b, temps),
        _ => return None,
    };
    let d = temps.take()?;
    asm.vop(op3, d, a, b);
    Some(d)
}

/// `a >= 0 ? a : a * slope` (NaN: the product, NaN as well).
fn prelu(asm: &mut Asm, a: u8, slope: u8, temps: &mut Temps) -> Option<u8> {
    let d = temps.take()?;
    let prod = temps.take()?;
    asm.vop(Op3::Mul, prod, a, slope);
    asm.fcmge_zero(d, a);
    asm.bsl(d, a, prod);
    temps.give(prod);
    Some(d)
}

fn unary(asm: &mut Asm, u: UnaryOp, x: u8, temps: &mut Temps) -> Option<u8> {
    let d = temps.take()?;
    match u {
        UnaryOp::Relu => {
            asm.vzero(d);
            asm.vop(Op3::Max, d, x, d);
        }
        UnaryOp::Clip { min, max } => clamp(asm, d, x, min.into(), max.into(), temps)?,
        UnaryOp::LeakyRelu { alpha } if (0.0..=1.0).contains(&alpha.get()) => {
            // max(alpha * x, x) equals x < 0 ? alpha * x : x for 0 <= alpha <= 1; NaN stays.
            asm.vconst(d, alpha.into());
            asm.vop(Op3::Mul, d, x, d);
            asm.vop(Op3::Max, d, d, x);
        }
        UnaryOp::LeakyRelu { alpha } => {
            let slope = temps.take()?;
            asm.vconst(slope, alpha.into());
            let r = prelu(asm, x, slope, temps)?;
            temps.give(slope);
            asm.vmov(d, r);
            temps.give(r);
        }
        UnaryOp::HardSigmoid { alpha, beta } => hard_sigmoid(asm, d, x, alpha.into(), beta.into(), temps)?,
        UnaryOp::HardSwish => {
            hard_sigmoid(asm, d, x, 1.0 / 6.0, 0.5, temps)?;
            asm.vop(Op3::Mul, d, d, x);
        }
        UnaryOp::Neg => asm.fneg(d, x),
        UnaryOp::Abs => asm.fabs(d, x),
        UnaryOp::Sqrt => asm.fsqrt(d, x),
        UnaryOp::Reciprocal => {
            asm.vconst(d, 1.0);
            asm.vop(Op3::Div, d, d, x);
        }
        UnaryOp::Exp => super::math::exp(asm, d, x, temps)?,
        UnaryOp::Sigmoid => super::math::sigmoid(asm, d, x, temps)?,
        UnaryOp::Tanh => super::math::tanh(asm, d, x, temps)?,
        UnaryOp::Erf => super::math::erf(asm, d, x, temps)?,
        UnaryOp::Elu { alpha } => super::math::elu(asm, d, x, alpha.get(), temps)?,
        _ => return None,
    }
    Some(d)
}

/// `d = min(max(x, lo), hi)` with NaN propagated; `d` must not be `x`. Infinite bounds cost
/// nothing.
fn clamp(asm: &mut Asm, d: u8, x: u8, lo: f32, hi: f32, temps: &mut Temps) -> Option<()> {
    let k = temps.take()?;
    let mut cur = x;
    if lo > f32::NEG_INFINITY {
        asm.vconst(k, lo);
        asm.vop(Op3::Max, d, cur, k);
        cur = d;
    }
    if hi < f32::INFINITY {
        asm.vconst(k, hi);
        asm.vop(Op3::Min, d, cur, k);
        cur = d;
    }
    asm.vmov(d, cur);
    temps.give(k);
    Some(())
}

/// `d = clamp(alpha * x + beta, 0, 1)`; `d` must not be `x`.
fn hard_sigmoid(asm: &mut Asm, d: u8, x: u8, alpha: f32, beta: f32, temps: &mut Temps) -> Option<()> {
    let k = temps.take()?;
    asm.vconst(d, beta);
    asm.vconst(k, alpha);
    asm.fmla(d, x, k);
    asm.vzero(k);
    asm.vop(Op3::Max, d, d, k);
    asm.vconst(k, 1.0);
    asm.vop(Op3::Min, d, d, k);
    temps.give(k);
    Some(())
}
