//! Float activations and predicates with no IR op of their own, written as short chains of
//! existing unary, binary and `Where` ops (the backend fuses such chains into one loop, so a
//! dedicated op would buy little): Celu, ThresholdedRelu, Gelu (erf and tanh forms), Shrink,
//! Swish, SwiGLU, Mish, IsInf, IsNaN. Formulas follow the ONNX reference implementations; where the
//! reference passes `x` through unchanged (Celu, ThresholdedRelu for `x > 0`) a `Where` keeps it
//! bit-exact instead of recomputing it through `alpha * (x / alpha)`.

use super::build::{bin, float_input, scalar, select, un};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, UnaryOp, ValueId};
use BinaryOp::{Add, Equal, Greater, Less, Mul, Sub};

/// `x > 0 ? x : alpha * (exp(x / alpha) - 1)`, via `Elu` with alpha 1.
pub fn celu(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let alpha = ctx.float_or("alpha", 1.0)?;
    if alpha == 0.0 || !alpha.is_finite() {
        return Err(ctx.attr_err("alpha", format!("{alpha} is not a finite non-zero number")));
    }
    let a = scalar(imp, ctx, "alpha", dt, alpha as f64);
    let zero = scalar(imp, ctx, "zero", dt, 0.0);
    let scaled = bin(imp, ctx, BinaryOp::Div, x, a, ctx.tmp("scaled"))?;
    let elu = un(imp, ctx, UnaryOp::Elu { alpha: 1.0.into() }, scaled, ctx.tmp("elu"))?;
    let neg = bin(imp, ctx, Mul, elu, a, ctx.tmp("negative_part"))?;
    let positive = bin(imp, ctx, Greater, x, zero, ctx.tmp("positive"))?;
    Ok(vec![select(imp, ctx, positive, x, neg, ctx.out(0))?])
}

/// `x > alpha ? x : 0`.
pub fn thresholded_relu(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let a = scalar(imp, ctx, "alpha", dt, ctx.float_or("alpha", 1.0)? as f64);
    let zero = scalar(imp, ctx, "zero", dt, 0.0);
    let above = bin(imp, ctx, Greater, x, a, ctx.tmp("above"))?;
    Ok(vec![select(imp, ctx, above, x, zero, ctx.out(0))?])
}

/// `0.5 * x * (1 + erf(x / sqrt 2))`, or with `approximate="tanh"`
/// `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))`.
pub fn gelu(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let inner = match ctx.string_or("approximate", "none")?.as_str() {
        "none" => {
            let r = scalar(imp, ctx, "inv_sqrt2", dt, std::f64::consts::FRAC_1_SQRT_2);
            let s = bin(imp, ctx, Mul, x, r, ctx.tmp("scaled"))?;
            un(imp, ctx, UnaryOp::Erf, s, ctx.tmp("erf"))?
        }
        "tanh" => tanh_form(imp, ctx, x, dt)?,
        other => return Err(ctx.attr_err("approximate", format!("'{other}' is not 'none' or 'tanh'"))),
    };
    let one = scalar(imp, ctx, "one", dt, 1.0);
    let half = scalar(imp, ctx, "half", dt, 0.5);
    let gate = bin(imp, ctx, Add, inner, one, ctx.tmp("gate"))?;
    let hx = bin(imp, ctx, Mul, x, half, ctx.tmp("half_x"))?;
    Ok(vec![bin(imp, ctx, Mul, hx, gate, ctx.out(0))?])
}

/// `tanh(sqrt(2/pi) * (x + 0.044715 x^3))`.
fn tanh_form(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, dt: DType) -> Result<ValueId> {
    let c = scalar(imp, ctx, "cubic_coeff", dt, 0.044715);
    let k = scalar(imp, ctx, "sqrt_2_over_pi", dt, (2.0 / std::f64::consts::PI).sqrt());
    let x2 = bin(imp, ctx, Mul, x, x, ctx.tmp("x2"))?;
    let x3 = bin(imp, ctx, Mul, x2, x, ctx.tmp("x3"))?;
    let cx3 = bin(imp, ctx, Mul, x3, c, ctx.tmp("cx3"))?;
    let sum = bin(imp, ctx, Add, x, cx3, ctx.tmp("poly"))?;
    let arg = bin(imp, ctx, Mul, sum, k, ctx.tmp("tanh_arg"))?;
    un(imp, ctx, UnaryOp::Tanh, arg, ctx.tmp("tanh"))
}

/// `x < -lambd ? x + bias : (x > lambd ? x - bias : 0)`.
pub fn shrink(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let lambd = ctx.float_or("lambd", 0.5)? as f64;
    let bias = scalar(imp, ctx, "bias", dt, ctx.float_or("bias", 0.0)? as f64);
    let (lo, hi) = (scalar(imp, ctx, "neg_lambd", dt, -lambd), scalar(imp, ctx, "lambd", dt, lambd));
    let zero = scalar(imp, ctx, "zero", dt, 0.0);
    let below = bin(imp, ctx, Less, x, lo, ctx.tmp("below"))?;
    let above = bin(imp, ctx, Greater, x, hi, ctx.tmp("above"))?;
    let up = bin(imp, ctx, Add, x, bias, ctx.tmp("plus_bias"))?;
    let down = bin(imp, ctx, Sub, x, bias, ctx.tmp("minus_bias"))?;
    let upper = select(imp, ctx, above, down, zero, ctx.tmp("upper"))?;
    Ok(vec![select(imp, ctx, below, up, upper, ctx.out(0))?])
}

/// `x * sigmoid(alpha * x)`.
pub fn swish(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    Ok(vec![swish_of(imp, ctx, x, dt, ctx.out(0))?])
}

/// `swish_alpha(a) * b` for same-shaped `a` and `b` (no broadcasting, as ONNX requires).
pub fn swiglu(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (a, dt) = float_input(imp, ctx)?;
    let b = imp.input(ctx, 1)?;
    if imp.ty(b) != imp.ty(a) {
        return Err(ctx.input_err(1, format!("must have the type of input 0 ({}), got {}", imp.ty(a), imp.ty(b))));
    }
    let s = swish_of(imp, ctx, a, dt, ctx.tmp("swish"))?;
    Ok(vec![bin(imp, ctx, Mul, s, b, ctx.out(0))?])
}

/// `x * sigmoid(alpha * x)` named `name`, alpha from the node's attribute (default 1).
fn swish_of(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, dt: DType, name: String) -> Result<ValueId> {
    let alpha = ctx.float_or("alpha", 1.0)?;
    let arg = if alpha == 1.0 {
        x
    } else {
        let a = scalar(imp, ctx, "alpha", dt, alpha as f64);
        bin(imp, ctx, Mul, x, a, ctx.tmp("scaled"))?
    };
    let s = un(imp, ctx, UnaryOp::Sigmoid, arg, ctx.tmp("sigmoid"))?;
    bin(imp, ctx, Mul, x, s, name)
}

/// `x * tanh(softplus(x))`.
pub fn mish(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, _) = float_input(imp, ctx)?;
    let sp = un(imp, ctx, UnaryOp::Softplus, x, ctx.tmp("softplus"))?;
    let t = un(imp, ctx, UnaryOp::Tanh, sp, ctx.tmp("tanh"))?;
    Ok(vec![bin(imp, ctx, Mul, x, t, ctx.out(0))?])
}

/// `x == +inf` and/or `x == -inf` as `detect_positive` / `detect_negative` ask (neither: all
/// false, as a comparison with NaN).
pub fn is_inf(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, dt) = float_input(imp, ctx)?;
    let (pos, neg) = (ctx.bool_or("detect_positive", true)?, ctx.bool_or("detect_negative", true)?);
    let target = match (pos, neg) {
        (true, false) => f64::INFINITY,
        (false, true) => f64::NEG_INFINITY,
        (false, false) => f64::NAN,
        (true, true) => {
            let a = un(imp, ctx, UnaryOp::Abs, x, ctx.tmp("abs"))?;
            let inf = scalar(imp, ctx, "inf", dt, f64::INFINITY);
            return Ok(vec![bin(imp, ctx, Equal, a, inf, ctx.out(0))?]);
        }
    };
    let t = scalar(imp, ctx, "target", dt, target);
    Ok(vec![bin(imp, ctx, Equal, x, t, ctx.out(0))?])
}

/// `!(x == x)`.
pub fn is_nan(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, _) = float_input(imp, ctx)?;
    let same = bin(imp, ctx, Equal, x, x, ctx.tmp("self_equal"))?;
    Ok(vec![un(imp, ctx, UnaryOp::Not, same, ctx.out(0))?])
}
