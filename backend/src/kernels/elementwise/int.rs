//! One element of an integer or bool Unary or Binary op (scalar lanes only).
//!
//! Arithmetic wraps (two's complement, as Rust's `wrapping_*`). Division never traps, although
//! Cranelift's `sdiv`/`udiv` trap: a zero divisor gives 0 (ONNX leaves it undefined) and
//! `MIN / -1` gives `MIN` (the wrapped result). Pow uses square-and-multiply over the exponent's
//! bits; a negative exponent gives `1/x^|y|` truncated toward zero (1, -1 or 0).

use cranelift_codegen::ir::{condcodes::IntCC, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{BinaryOp, DType, UnaryOp};

/// Ok when `u` has a lowering for `dtype`.
pub(crate) fn check_unary(u: UnaryOp, dtype: DType) -> Result<(), &'static str> {
    match (u, dtype) {
        (UnaryOp::Not, DType::Bool) => Ok(()),
        (UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sign | UnaryOp::Relu, d) if d.is_signed_int() => Ok(()),
        (UnaryOp::Abs | UnaryOp::Sign | UnaryOp::Relu | UnaryOp::Clip { .. }, d) if d.is_int() => Ok(()),
        _ => Err("unary op"),
    }
}

/// Ok when `op` has a lowering for `dtype`.
pub(crate) fn check_binary(op: BinaryOp, dtype: DType) -> Result<(), &'static str> {
    match dtype {
        DType::Bool if is_bitwise(op) || matches!(op, BinaryOp::Equal) => Ok(()),
        DType::Bool => Err("binary op"),
        _ => Ok(()),
    }
}

/// And/Or/Xor: bitwise on every integer width, logical on bool (bytes 0/1 stay 0/1). They are
/// the same instruction on scalars and on vectors of any lane type.
pub(crate) fn is_bitwise(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor)
}

fn zero_like(b: &mut FunctionBuilder, x: Value) -> Value {
    let t = b.func.dfg.value_type(x);
    b.ins().iconst(t, 0)
}

/// One element of integer/bool unary op `u`.
pub(crate) fn unary(b: &mut FunctionBuilder, u: UnaryOp, x: Value, dtype: DType) -> Value {
    let signed = dtype.is_signed_int();
    let zero = zero_like(b, x);
    match u {
        UnaryOp::Clip { min, max } => clip(b, x, attr_as(min.into(), dtype), attr_as(max.into(), dtype), signed),
        UnaryOp::Not => b.ins().bxor_imm_u(x, 1),
        UnaryOp::Neg => b.ins().ineg(x),
        UnaryOp::Abs if signed => {
            let n = b.ins().ineg(x);
            let lt = b.ins().icmp(IntCC::SignedLessThan, x, zero);
            b.ins().select(lt, n, x)
        }
        UnaryOp::Relu if signed => {
            let lt = b.ins().icmp(IntCC::SignedLessThan, x, zero);
            b.ins().select(lt, zero, x)
        }
        UnaryOp::Sign => {
            let t = b.func.dfg.value_type(x);
            let pos_cc = if signed { IntCC::SignedGreaterThan } else { IntCC::UnsignedGreaterThan };
            let pos = b.ins().icmp(pos_cc, x, zero);
            let neg = b.ins().icmp(IntCC::SignedLessThan, x, zero);
            let pos = widen_flag(b, pos, t);
            let neg = if signed { widen_flag(b, neg, t) } else { zero };
            b.ins().isub(pos, neg)
        }
        // Unsigned Abs/Relu are the identity; others are rejected by `check_unary`.
        _ => x,
    }
}

/// An f32 attribute converted to `dtype` as Rust `as` does (saturating), as immediate bits.
fn attr_as(v: f32, dtype: DType) -> i64 {
    match dtype {
        DType::I8 => v as i8 as i64,
        DType::U8 => v as u8 as i64,
        DType::I16 => v as i16 as i64,
        DType::U16 => v as u16 as i64,
        DType::I32 => v as i32 as i64,
        DType::U32 => v as u32 as i64,
        DType::U64 => v as u64 as i64,
        _ => v as i64,
    }
}

/// `min(max(x, lo), hi)` in the integer order of the dtype.
fn clip(b: &mut FunctionBuilder, x: Value, lo: i64, hi: i64, signed: bool) -> Value {
    let t = b.func.dfg.value_type(x);
    let lo = b.ins().iconst(t, lo & mask(t.bits()));
    let hi = b.ins().iconst(t, hi & mask(t.bits()));
    let (lt, gt) = if signed {
        (IntCC::SignedLessThan, IntCC::SignedGreaterThan)
    } else {
        (IntCC::UnsignedLessThan, IntCC::UnsignedGreaterThan)
    };
    let under = b.ins().icmp(lt, x, lo);
    let x = b.ins().select(under, lo, x);
    let over = b.ins().icmp(gt, x, hi);
    b.ins().select(over, hi, x)
}

/// An `i8` 0/1 flag as integer type `t`.
fn widen_flag(b: &mut FunctionBuilder, f: Value, t: cranelift_codegen::ir::Type) -> Value {
    if t.bits() > 8 {
        b.ins().uextend(t, f)
    } else {
        f
    }
}

/// One element of integer/bool binary op `op`.
pub(crate) fn binary(b: &mut FunctionBuilder, op: BinaryOp, x: Value, y: Value, dtype: DType) -> Value {
    let signed = dtype.is_signed_int();
    let cc = |s: IntCC, u: IntCC| if signed { s } else { u };
    match op {
        BinaryOp::Add => b.ins().iadd(x, y),
        BinaryOp::Sub => b.ins().isub(x, y),
        BinaryOp::Mul => b.ins().imul(x, y),
        BinaryOp::Div => div(b, x, y, signed),
        BinaryOp::Pow => pow(b, x, y, dtype),
        BinaryOp::Max => {
            let gt = b.ins().icmp(cc(IntCC::SignedGreaterThan, IntCC::UnsignedGreaterThan), x, y);
            b.ins().select(gt, x, y)
        }
        BinaryOp::Min => {
            let lt = b.ins().icmp(cc(IntCC::SignedLessThan, IntCC::UnsignedLessThan), x, y);
            b.ins().select(lt, x, y)
        }
        BinaryOp::PRelu if signed => {
            let zero = zero_like(b, x);
            let lt = b.ins().icmp(IntCC::SignedLessThan, x, zero);
            let s = b.ins().imul(x, y);
            b.ins().select(lt, s, x)
        }
        BinaryOp::PRelu => x,
        BinaryOp::Equal => b.ins().icmp(IntCC::Equal, x, y),
        BinaryOp::Less => b.ins().icmp(cc(IntCC::SignedLessThan, IntCC::UnsignedLessThan), x, y),
        BinaryOp::LessOrEqual => b.ins().icmp(cc(IntCC::SignedLessThanOrEqual, IntCC::UnsignedLessThanOrEqual), x, y),
        BinaryOp::Greater => b.ins().icmp(cc(IntCC::SignedGreaterThan, IntCC::UnsignedGreaterThan), x, y),
        BinaryOp::GreaterOrEqual => {
            b.ins().icmp(cc(IntCC::SignedGreaterThanOrEqual, IntCC::UnsignedGreaterThanOrEqual), x, y)
        }
        BinaryOp::And => b.ins().band(x, y),
        BinaryOp::Or => b.ins().bor(x, y),
        BinaryOp::Xor => b.ins().bxor(x, y),
    }
}

/// Non-trapping division truncating toward zero (see the module docs).
fn div(b: &mut FunctionBuilder, x: Value, y: Value, signed: bool) -> Value {
    let t = b.func.dfg.value_type(x);
    let zero = b.ins().iconst(t, 0);
    let one = b.ins().iconst(t, 1);
    let y_zero = b.ins().icmp(IntCC::Equal, y, zero);
    if !signed {
        let safe = b.ins().select(y_zero, one, y);
        let q = b.ins().udiv(x, safe);
        return b.ins().select(y_zero, zero, q);
    }
    let m_one = b.ins().iconst(t, -1i64 & mask(t.bits()));
    let y_m1 = b.ins().icmp(IntCC::Equal, y, m_one);
    let bad = b.ins().bor(y_zero, y_m1);
    let safe = b.ins().select(bad, one, y);
    let q = b.ins().sdiv(x, safe);
    let neg = b.ins().ineg(x);
    let q = b.ins().select(y_m1, neg, q);
    b.ins().select(y_zero, zero, q)
}

/// All-ones mask of the low `bits` bits (an `iconst` immediate for a narrow type).
fn mask(bits: u32) -> i64 {
    if bits >= 64 {
        -1
    } else {
        (1i64 << bits) - 1
    }
}

/// `x^y` by square-and-multiply over the bits of `y` (wrapping), unrolled; negative `y`
/// (signed types) gives `1/x^|y|` truncated: 1 for x = 1, +-1 for x = -1, else 0
/// (division by zero for x = 0 gives 0, like Div).
fn pow(b: &mut FunctionBuilder, x: Value, y: Value, dtype: DType) -> Value {
    let t = b.func.dfg.value_type(x);
    let one = b.ins().iconst(t, 1);
    let mut result = one;
    let mut base = x;
    for bit in 0..t.bits() {
        let set = b.ins().band_imm_u(y, (1u64 << bit) as i64);
        let m = b.ins().imul(result, base);
        result = b.ins().select(set, m, result);
        base = b.ins().imul(base, base);
    }
    if !dtype.is_signed_int() {
        return result;
    }
    let zero = b.ins().iconst(t, 0);
    let m_one = b.ins().iconst(t, -1i64 & mask(t.bits()));
    let odd = b.ins().band_imm_u(y, 1);
    let minus_one_pow = b.ins().select(odd, m_one, one);
    let x_one = b.ins().icmp(IntCC::Equal, x, one);
    let x_m1 = b.ins().icmp(IntCC::Equal, x, m_one);
    let neg = b.ins().select(x_m1, minus_one_pow, zero);
    let neg = b.ins().select(x_one, one, neg);
    let y_neg = b.ins().icmp(IntCC::SignedLessThan, y, zero);
    b.ins().select(y_neg, neg, result)
}
