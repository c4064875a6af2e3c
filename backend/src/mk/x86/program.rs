//! Fused elementwise programs (`kiln_ir::Program`) on one vector register, for the epilogues of
//! the x86 micro-kernels: bias, BatchNorm-as-affine, ReLU/Clip/HardSwish and friends, residual
//! adds, applied to each accumulator right before its store.
//!
//! Registers: every step writes a fresh temporary taken from the free pool, and operands whose
//! last use is that step return to the pool afterwards (the accumulator included), so a program
//! needs at most a few temporaries beyond the accumulators. Lowerings never write their
//! destination before reading all operands except where noted, so aliasing is never an issue.
//! When the pool runs dry, [`emit`] returns `None` and the caller applies the epilogue from memory
//! instead (with every register free).
//!
//! Semantics match the Cranelift kernels (`crate::kernels::elementwise::float`) and so the
//! reference evaluator: Relu, LeakyRelu, Clip, HardSigmoid keep NaN (the x86 `max`/`min` return
//! their second operand when either is NaN, so the input always goes second); exp, sigmoid,
//! tanh, erf and elu are [`super::math`]'s ports of the Cranelift kernels' functions. Steps
//! without a lowering here (Max/Min with NaN propagation and signed zeros, log, trigonometry)
//! make [`supported`] false and the node keeps its Cranelift kernel.

use super::asm::{Asm, Level, Op3, Src, V};
use kiln_ir::{BinaryOp, Operand, Program, Step, UnaryOp};

/// True when every step of `p` has a lowering here.
pub fn supported(p: &Program) -> bool {
    p.steps.iter().all(|s| match *s {
        Step::Unary(u, _) => unary_supported(u),
        Step::Binary(b, _, _) => {
            matches!(b, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::PRelu)
        }
    })
}

fn unary_supported(u: UnaryOp) -> bool {
    matches!(
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
    )
}

/// The free vector registers of an epilogue.
pub type Temps = crate::mk::temps::Temps<V>;

/// A step operand: in a register, or a memory/constant source.
#[derive(Clone, Copy, Debug)]
enum Val {
    Reg(V),
    Src(Src),
}

impl Val {
    fn src(self) -> Src {
        match self {
            Val::Reg(v) => Src::Reg(v),
            Val::Src(s) => s,
        }
    }
}

/// Emits `p` on the accumulator `x0` with arguments `args` (`x1..`, as sources); returns the
/// register holding the result, or `None` when `temps` ran out (the caller then falls back).
/// `x0` and every temporary but the result are back in `temps` afterwards.
pub fn emit(asm: &mut Asm, p: &Program, x0: V, args: &[Src], temps: &mut Temps) -> Option<V> {
    let last = crate::mk::temps::LastUses::of(p);
    let mut regs: Vec<Option<V>> = vec![None; p.steps.len()];
    for (i, step) in p.steps.iter().enumerate() {
        let val = |o: Operand, regs: &[Option<V>]| -> Option<Val> {
            match o {
                Operand::Arg(0) => Some(Val::Reg(x0)),
                Operand::Arg(k) => args.get(k - 1).map(|&s| Val::Src(s)),
                Operand::Reg(j) => regs[j].map(Val::Reg),
            }
        };
        let d = match *step {
            Step::Unary(u, a) => unary(asm, u, val(a, &regs)?, temps)?,
            Step::Binary(b, a, c) => binary(asm, b, val(a, &regs)?, val(c, &regs)?, temps)?,
        };
        regs[i] = Some(d);
        for o in step.operands() {
            let dies = last.dies_at(o, i);
            match o {
                Operand::Arg(0) if dies => temps.give(x0),
                Operand::Reg(j) if dies => temps.give(regs[j]?),
                _ => {}
            }
        }
    }
    match p.result() {
        Operand::Reg(j) => regs[j],
        _ => Some(x0),
    }
}

/// `a` in a register: itself, or loaded into a new temporary.
fn in_reg(asm: &mut Asm, a: Val, temps: &mut Temps) -> Option<(V, bool)> {
    match a {
        Val::Reg(v) => Some((v, false)),
        Val::Src(s) => {
            let t = temps.take()?;
            asm.vset(t, s);
            Some((t, true))
        }
    }
}

/// Releases a temporary made by [`in_reg`].
fn release(temps: &mut Temps, (v, owned): (V, bool)) {
    if owned {
        temps.give(v);
    }
}

fn binary(asm: &mut Asm, op: BinaryOp, a: Val, b: Val, temps: &mut Temps) -> Option<V> {
    if op == BinaryOp::PRelu {
        return prelu(asm, a, b, temps);
    }
    let op3 = match op {
        BinaryOp::Add => Op3::Add,
        BinaryOp::Sub => Op3::Sub,
        BinaryOp::Mul => Op3::Mul,
        BinaryOp::Div => Op3::Div,
        _ => return None,
    };
    let commutes = matches!(op, BinaryOp::Add | BinaryOp::Mul);
    let (a, b) = match (a, b) {
        (Val::Src(_), Val::Reg(_)) if commutes => (b, a),
        _ => (a, b),
    };
    let ra = in_reg(asm, a, temps)?;
    let d = temps.take()?;
    asm.vop(op3, d, ra.0, b.src());
    release(temps, ra);
    Some(d)
}

/// `a < 0 ? a * slope : a`.
fn prelu(asm: &mut Asm, a: Val, slope: Val, temps: &mut Temps) -> Option<V> {
    let ra = in_reg(asm, a, temps)?;
    let d = temps.take()?;
    asm.vop(Op3::Mul, d, ra.0, slope.src());
    let zero = asm.constant(0.0);
    match asm.level {
        Level::Avx512 => {
            // k2 = !(a < 0) (NLT_US, true for NaN): keep a there.
            asm.vcmp_k(2, ra.0, zero, 5);
            asm.vblend_k(d, 2, d, ra.0);
        }
        Level::Avx2 => {
            let m = temps.take()?;
            asm.vcmp_v(m, ra.0, zero, 5); // NLT_US: a >= 0 or NaN
            asm.vblendv(d, d, ra.0, m);
            temps.give(m);
        }
    }
    release(temps, ra);
    Some(d)
}

fn unary(asm: &mut Asm, u: UnaryOp, a: Val, temps: &mut Temps) -> Option<V> {
    let ra = in_reg(asm, a, temps)?;
    let x = ra.0;
    let d = temps.take()?;
    match u {
        UnaryOp::Relu => max_with(asm, d, 0.0, x),
        UnaryOp::Clip { min, max } => clamp(asm, d, x, min.into(), max.into(), temps)?,
        UnaryOp::LeakyRelu { alpha } if (0.0..=1.0).contains(&alpha.get()) => {
            // max(alpha * x, x) equals x < 0 ? alpha * x : x for 0 <= alpha <= 1; NaN stays.
            let k = asm.constant(alpha.into());
            asm.vop(Op3::Mul, d, x, k);
            asm.vop(Op3::Max, d, d, Src::Reg(x));
        }
        UnaryOp::LeakyRelu { alpha } => {
            let k = asm.constant(alpha.into());
            let slope = temps.take()?;
            asm.vset(slope, k);
            let r = prelu(asm, Val::Reg(x), Val::Reg(slope), temps)?;
            temps.give(slope);
            asm.vmov(d, r);
            temps.give(r);
        }
        UnaryOp::HardSigmoid { alpha, beta } => {
            affine(asm, d, x, alpha.into(), beta.into());
            clamp(asm, d, d, 0.0, 1.0, temps)?;
        }
        UnaryOp::HardSwish => {
            affine(asm, d, x, 1.0 / 6.0, 0.5);
            clamp(asm, d, d, 0.0, 1.0, temps)?;
            asm.vop(Op3::Mul, d, d, Src::Reg(x));
        }
        UnaryOp::Neg => {
            let sign = asm.constant_bits(0x8000_0000);
            asm.vop(Op3::Xor, d, x, sign);
        }
        UnaryOp::Abs => {
            let mask = asm.constant_bits(0x7FFF_FFFF);
            asm.vop(Op3::And, d, x, mask);
        }
        UnaryOp::Sqrt => asm.vsqrt(d, x),
        UnaryOp::Reciprocal => {
            let one = asm.constant(1.0);
            asm.vset(d, one);
            asm.vop(Op3::Div, d, d, Src::Reg(x));
        }
        UnaryOp::Exp => super::math::exp(asm, d, x, temps)?,
        UnaryOp::Sigmoid => super::math::sigmoid(asm, d, x, temps)?,
        UnaryOp::Tanh => super::math::tanh(asm, d, x, temps)?,
        UnaryOp::Erf => super::math::erf(asm, d, x, temps)?,
        UnaryOp::Elu { alpha } => super::math::elu(asm, d, x, alpha.into(), temps)?,
        _ => return None,
    }
    release(temps, ra);
    Some(d)
}

/// `d = max(k, x)` with `x` second, so NaN in `x` is kept (`d` must not be `x`).
fn max_with(asm: &mut Asm, d: V, k: f32, x: V) {
    if k == 0.0 {
        asm.vzero(d);
    } else {
        let c = asm.constant(k);
        asm.vset(d, c);
    }
    asm.vop(Op3::Max, d, d, Src::Reg(x));
}

/// `d = min(max(x, lo), hi)` keeping NaN; `d` may be `x`. Infinite bounds cost nothing.
fn clamp(asm: &mut Asm, d: V, x: V, lo: f32, hi: f32, temps: &mut Temps) -> Option<()> {
    let t = temps.take()?;
    let mut cur = x;
    if lo > f32::NEG_INFINITY {
        let c = asm.constant(lo);
        asm.vset(t, c);
        asm.vop(Op3::Max, t, t, Src::Reg(cur));
        asm.vmov(d, t);
        cur = d;
    }
    if hi < f32::INFINITY {
        let c = asm.constant(hi);
        asm.vset(t, c);
        asm.vop(Op3::Min, t, t, Src::Reg(cur));
        cur = t;
    }
    asm.vmov(d, cur);
    temps.give(t);
    Some(())
}

/// `d = alpha * x + beta` (`d` must not be `x`).
fn affine(asm: &mut Asm, d: V, x: V, alpha: f32, beta: f32) {
    let a = asm.constant(alpha);
    let b = asm.constant(beta);
    asm.vset(d, a);
    asm.vfma213(d, x, b);
}
