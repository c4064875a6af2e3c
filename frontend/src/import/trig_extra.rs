//! Trigonometric and hyperbolic ops the IR has no unary op for, from `Sin`, `Cos`, `Exp`,
//! `Log`, `Sqrt` and arithmetic (each chain fuses into one elementwise loop in the backend):
//!
//! - `tan = sin / cos`, `sinh = (e^x - e^-x) / 2`, `cosh = (e^x + e^-x) / 2`;
//! - `asinh = sign(x) log(|x| + sqrt(x^2 + 1))` (the odd form avoids cancellation for x < 0),
//!   `acosh = log(x + sqrt(x^2 - 1))`, `atanh = log((1 + x) / (1 - x)) / 2`;
//! - `atan` by range reduction: `t = min(|x|, 1/|x|)` in [0, 1], halved once more with
//!   `u = t / (1 + sqrt(1 + t^2))` (so `atan t = 2 atan u`, `u <= tan(pi/8)`), then the Taylor
//!   series of `atan u` to `u^21` (truncation error below 1e-9), `pi/2 - atan t` where `|x| > 1`,
//!   and the sign of `x`;
//! - `asin x = atan(x / sqrt(1 - x^2))`, `acos x = 2 atan(sqrt((1 - x) / (1 + x)))` (exact at
//!   the ends: the quotients become infinities, whose atan is pi/2).
//!
//! Results match the libm functions to a few ulps of f32 on ordinary inputs; `sinh` near 0 loses
//! relative precision to cancellation (about 1e-3 at |x| = 1e-4).

use super::build::{bin, float_input, scalar, select, un};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, UnaryOp, ValueId};
use std::f64::consts::FRAC_PI_2;
use BinaryOp::{Add, Div, Greater, Min, Mul, Sub};

/// Imports the node by its op type (one of the ops named in the module docs).
pub fn trig(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let f = Chain { ctx, dt };
    let y = match ctx.op() {
        "Tan" => {
            let (s, c) = (f.un(imp, UnaryOp::Sin, x, "sin")?, f.un(imp, UnaryOp::Cos, x, "cos")?);
            bin(imp, ctx, Div, s, c, ctx.out(0))?
        }
        "Sinh" | "Cosh" => hyperbolic(imp, &f, x)?,
        "Asinh" => asinh(imp, &f, x)?,
        "Acosh" => {
            let root = f.root_of_square_plus(imp, x, -1.0)?;
            let s = f.bin(imp, Add, x, root, "sum")?;
            un(imp, ctx, UnaryOp::Log, s, ctx.out(0))?
        }
        "Atanh" => atanh(imp, &f, x)?,
        "Atan" => f.atan(imp, x, ctx.out(0))?,
        "Asin" => {
            let root = f.one_minus_square_root(imp, x)?;
            let q = f.bin(imp, Div, x, root, "tangent")?;
            f.atan(imp, q, ctx.out(0))?
        }
        "Acos" => acos(imp, &f, x)?,
        other => return Err(ctx.err(format!("'{other}' is not a trigonometric op this file imports"))),
    };
    Ok(vec![y])
}

fn hyperbolic(imp: &mut Importer, f: &Chain, x: ValueId) -> Result<ValueId> {
    let ctx = f.ctx;
    let e = f.un(imp, UnaryOp::Exp, x, "exp")?;
    let nx = f.un(imp, UnaryOp::Neg, x, "neg")?;
    let en = f.un(imp, UnaryOp::Exp, nx, "exp_neg")?;
    let op = if ctx.op() == "Sinh" { Sub } else { Add };
    let s = f.bin(imp, op, e, en, "combined")?;
    let half = f.c(imp, "half", 0.5);
    bin(imp, ctx, Mul, s, half, ctx.out(0))
}

fn asinh(imp: &mut Importer, f: &Chain, x: ValueId) -> Result<ValueId> {
    let a = f.un(imp, UnaryOp::Abs, x, "abs")?;
    let root = f.root_of_square_plus(imp, x, 1.0)?;
    let s = f.bin(imp, Add, a, root, "sum")?;
    let l = f.un(imp, UnaryOp::Log, s, "log")?;
    let sign = f.un(imp, UnaryOp::Sign, x, "sign")?;
    bin(imp, f.ctx, Mul, sign, l, f.ctx.out(0))
}

fn atanh(imp: &mut Importer, f: &Chain, x: ValueId) -> Result<ValueId> {
    let one = f.c(imp, "one", 1.0);
    let (p, m) = (f.bin(imp, Add, one, x, "one_plus")?, f.bin(imp, Sub, one, x, "one_minus")?);
    let q = f.bin(imp, Div, p, m, "ratio")?;
    let l = f.un(imp, UnaryOp::Log, q, "log")?;
    let half = f.c(imp, "half", 0.5);
    bin(imp, f.ctx, Mul, l, half, f.ctx.out(0))
}

fn acos(imp: &mut Importer, f: &Chain, x: ValueId) -> Result<ValueId> {
    let one = f.c(imp, "one", 1.0);
    let (p, m) = (f.bin(imp, Add, one, x, "one_plus")?, f.bin(imp, Sub, one, x, "one_minus")?);
    let q = f.bin(imp, Div, m, p, "ratio")?;
    let r = f.un(imp, UnaryOp::Sqrt, q, "half_angle_tan")?;
    let a = f.atan(imp, r, f.ctx.tmp("half_angle"))?;
    let two = f.c(imp, "two", 2.0);
    bin(imp, f.ctx, Mul, a, two, f.ctx.out(0))
}

/// Node-building shorthands for one node: intermediate names are `<out>::<suffix>`.
struct Chain<'c, 'n> {
    ctx: &'c NodeCtx<'n>,
    dt: DType,
}

impl Chain<'_, '_> {
    fn c(&self, imp: &mut Importer, suffix: &str, v: f64) -> ValueId {
        scalar(imp, self.ctx, suffix, self.dt, v)
    }
    fn un(&self, imp: &mut Importer, op: UnaryOp, x: ValueId, suffix: &str) -> Result<ValueId> {
        un(imp, self.ctx, op, x, self.ctx.tmp(suffix))
    }
    fn bin(&self, imp: &mut Importer, op: BinaryOp, a: ValueId, b: ValueId, suffix: &str) -> Result<ValueId> {
        bin(imp, self.ctx, op, a, b, self.ctx.tmp(suffix))
    }
    /// `sqrt(x^2 + k)`.
    fn root_of_square_plus(&self, imp: &mut Importer, x: ValueId, k: f64) -> Result<ValueId> {
        let sq = self.bin(imp, Mul, x, x, "square")?;
        let kc = self.c(imp, "shift", k);
        let s = self.bin(imp, Add, sq, kc, "square_shifted")?;
        self.un(imp, UnaryOp::Sqrt, s, "root")
    }
    /// `sqrt(1 - x^2)`.
    fn one_minus_square_root(&self, imp: &mut Importer, x: ValueId) -> Result<ValueId> {
        let sq = self.bin(imp, Mul, x, x, "square")?;
        let one = self.c(imp, "one", 1.0);
        let d = self.bin(imp, Sub, one, sq, "one_minus_square")?;
        self.un(imp, UnaryOp::Sqrt, d, "cosine")
    }
    /// `atan(x)` named `name` (see the module docs for the method).
    fn atan(&self, imp: &mut Importer, x: ValueId, name: String) -> Result<ValueId> {
        let a = self.un(imp, UnaryOp::Abs, x, "atan_abs")?;
        let inv = self.un(imp, UnaryOp::Reciprocal, a, "atan_inv")?;
        let t = self.bin(imp, Min, a, inv, "atan_reduced")?;
        let half = self.halve_angle(imp, t)?;
        let series = self.series(imp, half)?;
        let two = self.c(imp, "atan_two", 2.0);
        let at = self.bin(imp, Mul, series, two, "atan_small")?;
        let pi2 = self.c(imp, "atan_pi_2", FRAC_PI_2);
        let co = self.bin(imp, Sub, pi2, at, "atan_complement")?;
        let one = self.c(imp, "atan_one", 1.0);
        let big = self.bin(imp, Greater, a, one, "atan_big")?;
        let mag = select(imp, self.ctx, big, co, at, self.ctx.tmp("atan_magnitude"))?;
        let sign = self.un(imp, UnaryOp::Sign, x, "atan_sign")?;
        bin(imp, self.ctx, Mul, sign, mag, name)
    }
    /// `t / (1 + sqrt(1 + t^2))`.
    fn halve_angle(&self, imp: &mut Importer, t: ValueId) -> Result<ValueId> {
        let r = self.root_of_square_plus(imp, t, 1.0)?;
        let one = self.c(imp, "atan_half_one", 1.0);
        let d = self.bin(imp, Add, r, one, "atan_half_denominator")?;
        self.bin(imp, Div, t, d, "atan_half")
    }
    /// `u - u^3/3 + u^5/5 - .. + u^21/21` by Horner's rule in `u^2`.
    fn series(&self, imp: &mut Importer, u: ValueId) -> Result<ValueId> {
        let v = self.bin(imp, Mul, u, u, "atan_u2")?;
        let coeff = |k: usize| if k % 2 == 0 { 1.0 } else { -1.0 } / (2 * k + 1) as f64;
        let mut p = self.c(imp, "atan_c10", coeff(10));
        for k in (0..10).rev() {
            let pv = self.bin(imp, Mul, p, v, &format!("atan_p{k}"))?;
            let ck = self.c(imp, &format!("atan_c{k}"), coeff(k));
            p = self.bin(imp, Add, pv, ck, &format!("atan_q{k}"))?;
        }
        self.bin(imp, Mul, p, u, "atan_series")
    }
}
