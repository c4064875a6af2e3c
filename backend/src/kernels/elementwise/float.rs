//! One element of a float Unary or Binary op. The same code serves `f32`, `f32x4` and `f64`
//! (constants follow the value's type). Transcendentals exist in `crate::math` for f32 only: on
//! f64 they are computed in f32 and widened back (FIXME: f64-accurate versions; today about
//! 1e-7 relative, not 1e-16).

use crate::math::{self, fconst, select_float};
use cranelift_codegen::ir::{condcodes::FloatCC, types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{BinaryOp, UnaryOp};

fn ty(b: &FunctionBuilder, v: Value) -> cranelift_codegen::ir::Type {
    b.func.dfg.value_type(v)
}

/// Ok when `u` has a float lowering.
pub(crate) fn check_unary(u: UnaryOp) -> Result<(), &'static str> {
    match u {
        UnaryOp::Not => Err("not (bool only)"),
        _ => Ok(()),
    }
}

/// Ok when `op` has a float lowering.
pub(crate) fn check_binary(op: BinaryOp) -> Result<(), &'static str> {
    match op {
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => Err("bitwise op (integers and bool only)"),
        _ => Ok(()),
    }
}

/// Applies an f32 math function to `x`, through f32 when `x` is f64.
fn via_f32(b: &mut FunctionBuilder, x: Value, f: impl FnOnce(&mut FunctionBuilder, Value) -> Value) -> Value {
    if ty(b, x) == types::F64 {
        let n = b.ins().fdemote(types::F32, x);
        let y = f(b, n);
        b.ins().fpromote(types::F64, y)
    } else {
        f(b, x)
    }
}

/// `lo <= x <= hi` clamp keeping NaN (Cast's saturation uses it too: NaN converts to 0 afterwards).
pub(super) fn clamp(b: &mut FunctionBuilder, x: Value, lo: f64, hi: f64) -> Value {
    let t = ty(b, x);
    let l = fconst(b, t, lo);
    let h = fconst(b, t, hi);
    let under = b.ins().fcmp(FloatCC::LessThan, x, l);
    let x = select_float(b, under, l, x);
    let over = b.ins().fcmp(FloatCC::GreaterThan, x, h);
    select_float(b, over, h, x)
}

/// `x < 0 ? neg : x`.
fn if_negative(b: &mut FunctionBuilder, x: Value, neg: Value) -> Value {
    let t = ty(b, x);
    let zero = fconst(b, t, 0.0);
    let lt = b.ins().fcmp(FloatCC::LessThan, x, zero);
    select_float(b, lt, neg, x)
}

/// `a * x + c` with constants.
fn affine(b: &mut FunctionBuilder, x: Value, a: f64, c: f64) -> Value {
    let t = ty(b, x);
    let ka = fconst(b, t, a);
    let kc = fconst(b, t, c);
    let m = b.ins().fmul(x, ka);
    b.ins().fadd(m, kc)
}

/// One element of float unary op `u`.
pub(crate) fn unary(b: &mut FunctionBuilder, u: UnaryOp, x: Value, has_round: bool) -> Value {
    let t = ty(b, x);
    match u {
        UnaryOp::Neg => b.ins().fneg(x),
        UnaryOp::Abs => b.ins().fabs(x),
        UnaryOp::Relu => {
            let zero = fconst(b, t, 0.0);
            if_negative(b, x, zero)
        }
        UnaryOp::LeakyRelu { alpha } => {
            let k = fconst(b, t, alpha.get() as f64);
            let s = b.ins().fmul(x, k);
            if_negative(b, x, s)
        }
        UnaryOp::HardSigmoid { alpha, beta } => {
            let y = affine(b, x, alpha.get() as f64, beta.get() as f64);
            clamp(b, y, 0.0, 1.0)
        }
        UnaryOp::HardSwish => {
            let y = affine(b, x, 1.0 / 6.0, 0.5);
            let y = clamp(b, y, 0.0, 1.0);
            b.ins().fmul(x, y)
        }
        UnaryOp::Clip { min, max } => clamp(b, x, min.get() as f64, max.get() as f64),
        UnaryOp::Elu { alpha } => {
            let e = via_f32(b, x, math::exp);
            let one = fconst(b, t, 1.0);
            let em1 = b.ins().fsub(e, one);
            let k = fconst(b, t, alpha.get() as f64);
            let neg = b.ins().fmul(em1, k);
            if_negative(b, x, neg)
        }
        UnaryOp::Sigmoid => via_f32(b, x, math::sigmoid),
        UnaryOp::Tanh => via_f32(b, x, math::tanh),
        UnaryOp::Erf => via_f32(b, x, math::erf),
        UnaryOp::Exp => via_f32(b, x, math::exp),
        UnaryOp::Log => via_f32(b, x, math::log),
        UnaryOp::Sin => via_f32(b, x, math::sin),
        UnaryOp::Cos => via_f32(b, x, math::cos),
        UnaryOp::Sqrt => b.ins().sqrt(x),
        UnaryOp::Reciprocal => {
            let one = fconst(b, t, 1.0);
            b.ins().fdiv(one, x)
        }
        UnaryOp::Floor => math::floor(b, x, has_round),
        UnaryOp::Ceil => math::ceil(b, x, has_round),
        UnaryOp::Round => math::round_even(b, x, has_round),
        UnaryOp::Sign => sign(b, x),
        UnaryOp::Softplus => via_f32(b, x, softplus),
        UnaryOp::Softsign => {
            let a = b.ins().fabs(x);
            let one = fconst(b, t, 1.0);
            let d = b.ins().fadd(a, one);
            b.ins().fdiv(x, d)
        }
        // Rejected by `check_unary`; kept total: identity.
        UnaryOp::Not => x,
    }
}

/// `1`, `-1`, or `x` itself for zeros (keeps -0) and NaN.
fn sign(b: &mut FunctionBuilder, x: Value) -> Value {
    let t = ty(b, x);
    let zero = fconst(b, t, 0.0);
    let one = fconst(b, t, 1.0);
    let m_one = fconst(b, t, -1.0);
    let pos = b.ins().fcmp(FloatCC::GreaterThan, x, zero);
    let neg = b.ins().fcmp(FloatCC::LessThan, x, zero);
    let y = select_float(b, neg, m_one, x);
    select_float(b, pos, one, y)
}

/// `log(1 + e^x)` as `max(x, 0) + log(1 + e^{-|x|})`, which never overflows.
fn softplus(b: &mut FunctionBuilder, x: Value) -> Value {
    let t = ty(b, x);
    let zero = fconst(b, t, 0.0);
    let pos = b.ins().fcmp(FloatCC::GreaterThan, x, zero);
    let relu = select_float(b, pos, x, zero);
    let a = b.ins().fabs(x);
    let na = b.ins().fneg(a);
    let e = math::exp(b, na);
    let one = fconst(b, t, 1.0);
    let s = b.ins().fadd(e, one);
    let l = math::log(b, s);
    b.ins().fadd(relu, l)
}

/// One element of float binary op `op` (comparisons give an `i8` 0/1: scalar only).
pub(crate) fn binary(b: &mut FunctionBuilder, op: BinaryOp, x: Value, y: Value, has_round: bool) -> Value {
    let cmp = |b: &mut FunctionBuilder, cc: FloatCC| b.ins().fcmp(cc, x, y);
    match op {
        BinaryOp::Add => b.ins().fadd(x, y),
        BinaryOp::Sub => b.ins().fsub(x, y),
        BinaryOp::Mul => b.ins().fmul(x, y),
        BinaryOp::Div => b.ins().fdiv(x, y),
        BinaryOp::Max => b.ins().fmax(x, y),
        BinaryOp::Min => b.ins().fmin(x, y),
        BinaryOp::PRelu => {
            let s = b.ins().fmul(x, y);
            if_negative(b, x, s)
        }
        BinaryOp::Pow => pow(b, x, y, has_round),
        BinaryOp::Equal => cmp(b, FloatCC::Equal),
        BinaryOp::Less => cmp(b, FloatCC::LessThan),
        BinaryOp::LessOrEqual => cmp(b, FloatCC::LessThanOrEqual),
        BinaryOp::Greater => cmp(b, FloatCC::GreaterThan),
        BinaryOp::GreaterOrEqual => cmp(b, FloatCC::GreaterThanOrEqual),
        // Rejected by `check_binary`; kept total.
        BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => x,
    }
}

/// `x^y` as `e^{y log|x|}` with C `pow` special cases: `y = 0` or `x = 1` give 1; negative `x`
/// gives the sign of `(-1)^y` for integral `y` and NaN otherwise. Relative error grows with
/// `|y log|x||` (about 1e-7 times it), as every exp/log-based pow in f32.
fn pow(b: &mut FunctionBuilder, x: Value, y: Value, has_round: bool) -> Value {
    if ty(b, x) == types::F64 {
        let xs = b.ins().fdemote(types::F32, x);
        let ys = b.ins().fdemote(types::F32, y);
        let r = pow(b, xs, ys, has_round);
        return b.ins().fpromote(types::F64, r);
    }
    let t = ty(b, x);
    let a = b.ins().fabs(x);
    let l = math::log(b, a);
    let p = b.ins().fmul(y, l);
    let mag = math::exp(b, p);
    let fy = math::floor(b, y, has_round);
    let integral = b.ins().fcmp(FloatCC::Equal, fy, y);
    let half = fconst(b, t, 0.5);
    let hy = b.ins().fmul(y, half);
    let fhy = math::floor(b, hy, has_round);
    let odd = b.ins().fcmp(FloatCC::NotEqual, fhy, hy);
    let neg_mag = b.ins().fneg(mag);
    let signed = select_float(b, odd, neg_mag, mag);
    let nan = fconst(b, t, f64::NAN);
    let neg_result = select_float(b, integral, signed, nan);
    let zero = fconst(b, t, 0.0);
    let x_neg = b.ins().fcmp(FloatCC::LessThan, x, zero);
    let r = select_float(b, x_neg, neg_result, mag);
    let one = fconst(b, t, 1.0);
    let y_zero = b.ins().fcmp(FloatCC::Equal, y, zero);
    let x_one = b.ins().fcmp(FloatCC::Equal, x, one);
    let r = select_float(b, y_zero, one, r);
    select_float(b, x_one, one, r)
}
