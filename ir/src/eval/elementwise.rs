//! Elementwise ops: Unary, Binary (numpy broadcasting), Where, Cast.
//!
//! Float math runs in the element type (f32 ops in f32), with the numerically stable form
//! where ONNX's reference uses one (`Softplus` is `logaddexp(0, x)`, `Elu` uses `expm1`).
//! Broadcasting maps every output element to the flat index of each operand
//! ([`broadcast_index`]), which keeps each op a plain loop.

use super::num::{slice_of, tensor_of, unsupported, CastElem, Float, Num};
use crate::dtype::DType;
use crate::op::{BinaryOp, Ieee32, UnaryOp};
use crate::tensor::{strides_of, Element, Tensor};

/// For every element of `out_shape` (row-major), the flat index of the element of a tensor of
/// shape `in_shape` that numpy broadcasting reads. `in_shape` must broadcast to `out_shape`.
pub fn broadcast_index(in_shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let n: usize = out_shape.iter().product();
    if in_shape == out_shape {
        return (0..n).collect();
    }
    let off = out_shape.len() - in_shape.len();
    let in_strides = strides_of(in_shape);
    // Stride of each output axis in the input; 0 where the input is broadcast.
    let strides: Vec<usize> =
        (0..out_shape.len()).map(|a| if a < off || in_shape[a - off] == 1 { 0 } else { in_strides[a - off] }).collect();
    let mut out = Vec::with_capacity(n);
    let mut pos = vec![0usize; out_shape.len()];
    let mut idx = 0usize;
    for _ in 0..n {
        out.push(idx);
        for a in (0..out_shape.len()).rev() {
            pos[a] += 1;
            idx += strides[a];
            if pos[a] < out_shape[a] {
                break;
            }
            idx -= strides[a] * pos[a];
            pos[a] = 0;
        }
    }
    out
}

pub fn unary(u: UnaryOp, x: &Tensor) -> Result<Tensor, String> {
    let d = x.dtype();
    if u == UnaryOp::Not {
        let v = slice_of::<bool>(x)?;
        return tensor_of(x.shape(), v.iter().map(|b| !b).collect());
    }
    if let Some(r) = crate::for_float_dtypes!(d, T => Some(unary_float::<T>(u, x)), else => None) {
        return r;
    }
    crate::for_num_dtypes!(d, T => unary_int::<T>(u, x), bool => Err(unsupported(u.name(), d)))
}

fn unary_int<T: Num>(u: UnaryOp, x: &Tensor) -> Result<Tensor, String> {
    let v = slice_of::<T>(x)?;
    let f: Box<dyn Fn(T) -> T> = match u {
        UnaryOp::Neg => Box::new(|a: T| a.neg()),
        UnaryOp::Abs => Box::new(|a: T| a.abs()),
        UnaryOp::Sign => Box::new(|a: T| a.sign()),
        UnaryOp::Relu => Box::new(|a: T| a.max_nan(T::zero())),
        UnaryOp::Clip { min, max } => {
            let (lo, hi) = (T::from_f32_attr(min.get()), T::from_f32_attr(max.get()));
            Box::new(move |a: T| a.max_nan(lo).min_nan(hi))
        }
        _ => return Err(unsupported(u.name(), x.dtype())),
    };
    tensor_of(x.shape(), v.iter().map(|&a| f(a)).collect())
}

fn unary_float<T: Float>(u: UnaryOp, x: &Tensor) -> Result<Tensor, String> {
    let v = slice_of::<T>(x)?;
    let c = |a: Ieee32| T::from_f64(a.get() as f64);
    let (zero, one) = (T::zero(), T::one());
    let f: Box<dyn Fn(T) -> T> = match u {
        UnaryOp::Neg => Box::new(|a: T| a.neg()),
        UnaryOp::Abs => Box::new(|a: T| Num::abs(a)),
        UnaryOp::Relu => Box::new(move |a: T| a.max_nan(zero)),
        UnaryOp::LeakyRelu { alpha } => Box::new(move |a: T| if a < zero { c(alpha).mul(a) } else { a }),
        UnaryOp::HardSigmoid { alpha, beta } => Box::new(move |a: T| hard_sigmoid(a, c(alpha), c(beta))),
        UnaryOp::HardSwish => {
            let (alpha, beta) = (T::from_f64(1.0 / 6.0), T::from_f64(0.5));
            Box::new(move |a: T| a.mul(hard_sigmoid(a, alpha, beta)))
        }
        UnaryOp::Clip { min, max } => Box::new(move |a: T| a.max_nan(c(min)).min_nan(c(max))),
        UnaryOp::Elu { alpha } => Box::new(move |a: T| if a > zero { a } else { c(alpha).mul(a.exp_m1()) }),
        UnaryOp::Sigmoid => Box::new(move |a: T| one.div(one.add(a.neg().exp())).unwrap_or(zero)),
        UnaryOp::Tanh => Box::new(|a: T| a.tanh()),
        UnaryOp::Erf => Box::new(|a: T| a.erf()),
        UnaryOp::Exp => Box::new(|a: T| a.exp()),
        UnaryOp::Log => Box::new(|a: T| a.ln()),
        UnaryOp::Sqrt => Box::new(|a: T| a.sqrt()),
        UnaryOp::Reciprocal => Box::new(move |a: T| one.div(a).unwrap_or(zero)),
        UnaryOp::Floor => Box::new(|a: T| a.floor()),
        UnaryOp::Ceil => Box::new(|a: T| a.ceil()),
        UnaryOp::Round => Box::new(|a: T| a.round_even()),
        UnaryOp::Sign => Box::new(|a: T| a.sign()),
        UnaryOp::Sin => Box::new(|a: T| a.sin()),
        UnaryOp::Cos => Box::new(|a: T| a.cos()),
        // logaddexp(0, x) = max(x, 0) + log1p(exp(-|x|)).
        UnaryOp::Softplus => {
            Box::new(move |a: T| if a.is_nan() { a } else { a.max_nan(zero).add(Num::abs(a).neg().exp().ln_1p()) })
        }
        UnaryOp::Softsign => Box::new(move |a: T| a.div(one.add(Num::abs(a))).unwrap_or(zero)),
        UnaryOp::Not => return Err(unsupported(u.name(), x.dtype())),
    };
    tensor_of(x.shape(), v.iter().map(|&a| f(a)).collect())
}

/// `max(0, min(1, alpha*x + beta))`, computed in the element type.
fn hard_sigmoid<T: Float>(x: T, alpha: T, beta: T) -> T {
    alpha.mul(x).add(beta).min_nan(T::one()).max_nan(T::zero())
}

pub fn binary(b: BinaryOp, x: &Tensor, y: &Tensor, out_shape: &[usize]) -> Result<Tensor, String> {
    let d = x.dtype();
    let ix = broadcast_index(x.shape(), out_shape);
    let iy = broadcast_index(y.shape(), out_shape);
    if b.is_comparison() {
        let run_bool = || compare::<bool>(b, x, y, &ix, &iy, out_shape);
        return crate::for_num_dtypes!(d, T => compare::<T>(b, x, y, &ix, &iy, out_shape),
            bool => if d == DType::Bool { run_bool() } else { Err(unsupported(b.name(), d)) });
    }
    if matches!(b, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor) {
        return bitwise(b, x, y, &ix, &iy, out_shape);
    }
    crate::for_num_dtypes!(d, T => arith::<T>(b, x, y, &ix, &iy, out_shape), bool => Err(unsupported(b.name(), d)))
}

/// And/Or/Xor on the little-endian bytes of each element: one definition for bool (bytes 0/1,
/// so the result stays 0/1) and every integer width, signed or not.
fn bitwise(b: BinaryOp, x: &Tensor, y: &Tensor, ix: &[usize], iy: &[usize], shape: &[usize]) -> Result<Tensor, String> {
    let d = x.dtype();
    if !(d == DType::Bool || d.is_int()) {
        return Err(unsupported(b.name(), d));
    }
    let f = |p: u8, q: u8| match b {
        BinaryOp::And => p & q,
        BinaryOp::Or => p | q,
        _ => p ^ q,
    };
    let (size, a, c) = (d.size(), x.to_le_bytes(), y.to_le_bytes());
    let mut out = Vec::with_capacity(ix.len() * size);
    for (&i, &j) in ix.iter().zip(iy) {
        out.extend((0..size).map(|k| f(a[i * size + k], c[j * size + k])));
    }
    Tensor::from_le_bytes(d, shape.to_vec(), &out).ok_or_else(|| format!("{}: bad result size", b.name()))
}

fn compare<T: Element + PartialOrd>(
    b: BinaryOp,
    x: &Tensor,
    y: &Tensor,
    ix: &[usize],
    iy: &[usize],
    shape: &[usize],
) -> Result<Tensor, String> {
    let (a, c) = (slice_of::<T>(x)?, slice_of::<T>(y)?);
    let f = |p: T, q: T| match b {
        BinaryOp::Equal => p == q,
        BinaryOp::Less => p < q,
        BinaryOp::LessOrEqual => p <= q,
        BinaryOp::Greater => p > q,
        _ => p >= q,
    };
    tensor_of(shape, ix.iter().zip(iy).map(|(&i, &j)| f(a[i], c[j])).collect())
}

fn arith<T: Num>(
    b: BinaryOp,
    x: &Tensor,
    y: &Tensor,
    ix: &[usize],
    iy: &[usize],
    shape: &[usize],
) -> Result<Tensor, String> {
    let (a, c) = (slice_of::<T>(x)?, slice_of::<T>(y)?);
    let f = |p: T, q: T| -> Result<T, String> {
        Ok(match b {
            BinaryOp::Add => p.add(q),
            BinaryOp::Sub => p.sub(q),
            BinaryOp::Mul => p.mul(q),
            BinaryOp::Div => p.div(q)?,
            BinaryOp::Pow => p.pow(q),
            BinaryOp::Max => p.max_nan(q),
            BinaryOp::Min => p.min_nan(q),
            BinaryOp::PRelu => {
                if p < T::zero() {
                    p.mul(q)
                } else {
                    p
                }
            }
            _ => return Err(unsupported(b.name(), T::DTYPE)),
        })
    };
    let out: Result<Vec<T>, String> = ix.iter().zip(iy).map(|(&i, &j)| f(a[i], c[j])).collect();
    tensor_of(shape, out?)
}

pub fn where_(c: &Tensor, x: &Tensor, y: &Tensor, shape: &[usize]) -> Result<Tensor, String> {
    let cond = slice_of::<bool>(c)?;
    let ic = broadcast_index(c.shape(), shape);
    let ix = broadcast_index(x.shape(), shape);
    let iy = broadcast_index(y.shape(), shape);
    crate::for_all_dtypes!(x.dtype(), T => {
        let (a, b) = (slice_of::<T>(x)?, slice_of::<T>(y)?);
        let v: Vec<T> = (0..ic.len()).map(|k| if cond[ic[k]] { a[ix[k]] } else { b[iy[k]] }).collect();
        tensor_of(shape, v)
    })
}

/// ONNX Cast; see [`CastElem`] for the conversion rules.
pub fn cast(x: &Tensor, to: DType) -> Result<Tensor, String> {
    fn run<S: CastElem, D: CastElem>(x: &Tensor) -> Result<Tensor, String> {
        let v = slice_of::<S>(x)?;
        tensor_of(x.shape(), v.iter().map(|&a| D::from_scalar(a.to_scalar())).collect::<Vec<D>>())
    }
    if x.dtype() == to {
        return Ok(x.clone()); // bit-exact, signalling NaNs included (as the kernel does)
    }
    crate::for_all_dtypes!(x.dtype(), S => crate::for_all_dtypes!(to, D => run::<S, D>(x)))
}

/// BitCast: the same little-endian bytes read as `to` (same element size, checked by
/// `infer_types`). Bytes read as bool are true when non-zero, as a bool buffer must hold 0/1.
pub fn bit_cast(x: &Tensor, to: DType) -> Result<Tensor, String> {
    Tensor::from_le_bytes(to, x.shape().to_vec(), &x.to_le_bytes())
        .ok_or_else(|| format!("bit_cast: {} bytes do not make {to} elements", x.to_le_bytes().len()))
}
