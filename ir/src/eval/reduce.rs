//! Reductions: every `ReduceKind`, ArgMax/ArgMin, Softmax and LogSoftmax.
//!
//! Sums (Sum, Mean, L1, L2, SumSquare, LogSum, LogSumExp, Prod) accumulate in [`Num::Acc`]:
//! f64 for floats, rounded once at the end; the element type, wrapping, for integers. Integer
//! Mean, L2 and LogSum compute the final division/root/log in f64 and truncate (numpy
//! `mean(dtype=int)`, `sqrt(..).astype(int)`). Max/Min propagate NaN. Over an empty set:
//! Sum 0, Prod 1, Max lowest, Min highest, Mean NaN (0 for integers), LogSum -inf.

use super::num::{slice_of, tensor_of, unsupported, Float, Num, Ring};
use crate::op::ReduceKind;
use crate::tensor::Tensor;

/// For every input element, the flat index of the output element it reduces into.
fn reduce_map(shape: &[usize], axes: &[usize]) -> (Vec<usize>, usize) {
    let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).collect();
    let out_n: usize = kept.iter().map(|&a| shape[a]).product();
    let mut map = Vec::with_capacity(shape.iter().product());
    super::movement::for_each_index(shape, |pos| {
        map.push(kept.iter().fold(0usize, |acc, &a| acc * shape[a] + pos[a]));
    });
    (map, out_n)
}

pub fn reduce(kind: ReduceKind, x: &Tensor, axes: &[usize], out_shape: &[usize]) -> Result<Tensor, String> {
    let d = x.dtype();
    if d == crate::DType::Bool {
        // Max is "any", Min is "all" (opset 20).
        let v = slice_of::<bool>(x)?;
        let (map, n) = reduce_map(x.shape(), axes);
        let is_max = match kind {
            ReduceKind::Max => true,
            ReduceKind::Min => false,
            _ => return Err(unsupported(kind.name(), d)),
        };
        let mut out = vec![!is_max; n];
        for (k, &o) in map.iter().enumerate() {
            out[o] = if is_max { out[o] || v[k] } else { out[o] && v[k] };
        }
        return tensor_of(out_shape, out);
    }
    crate::for_num_dtypes!(d, T => reduce_num::<T>(kind, x, axes, out_shape), bool => Err(unsupported(kind.name(), d)))
}

fn reduce_num<T: Num>(kind: ReduceKind, x: &Tensor, axes: &[usize], out_shape: &[usize]) -> Result<Tensor, String> {
    let v = slice_of::<T>(x)?;
    let (map, n) = reduce_map(x.shape(), axes);
    let count = v.len().checked_div(n).unwrap_or(0);
    let out: Vec<T> = match kind {
        ReduceKind::Max | ReduceKind::Min => {
            let is_max = kind == ReduceKind::Max;
            let mut out = vec![if is_max { T::LOWEST } else { T::HIGHEST }; n];
            for (k, &o) in map.iter().enumerate() {
                out[o] = if is_max { out[o].max_nan(v[k]) } else { out[o].min_nan(v[k]) };
            }
            out
        }
        ReduceKind::LogSumExp => log_sum_exp(v, &map, n),
        _ => {
            let elem = |a: T| -> T::Acc {
                match kind {
                    ReduceKind::L1 => a.abs().to_acc(),
                    ReduceKind::L2 | ReduceKind::SumSquare => a.to_acc().mul(a.to_acc()),
                    _ => a.to_acc(),
                }
            };
            let init = if kind == ReduceKind::Prod { <T::Acc as Ring>::one() } else { <T::Acc as Ring>::zero() };
            let mut acc = vec![init; n];
            for (k, &o) in map.iter().enumerate() {
                acc[o] = if kind == ReduceKind::Prod { acc[o].mul(elem(v[k])) } else { acc[o].add(elem(v[k])) };
            }
            acc.into_iter().map(|a| finish::<T>(kind, a, count)).collect()
        }
    };
    tensor_of(out_shape, out)
}

/// The final step of a sum-like reduction of `count` elements.
fn finish<T: Num>(kind: ReduceKind, acc: T::Acc, count: usize) -> T {
    let via_f64 = |f: f64| <T as crate::tensor::Element>::from_f64(f);
    match kind {
        ReduceKind::Mean => via_f64(acc.as_f64() / count as f64),
        ReduceKind::L2 => via_f64(acc.as_f64().sqrt()),
        ReduceKind::LogSum => via_f64(acc.as_f64().ln()),
        _ => T::from_acc(acc),
    }
}

/// `m + ln(sum(exp(x - m)))` with `m` the largest finite element (0 when there is none).
fn log_sum_exp<T: Num>(v: &[T], map: &[usize], n: usize) -> Vec<T> {
    let mut m = vec![f64::NEG_INFINITY; n];
    for (k, &o) in map.iter().enumerate() {
        let a = v[k].as_f64();
        if a.is_finite() && a > m[o] {
            m[o] = a;
        }
    }
    let m: Vec<f64> = m.into_iter().map(|a| if a.is_finite() { a } else { 0.0 }).collect();
    let mut s = vec![0.0f64; n];
    for (k, &o) in map.iter().enumerate() {
        s[o] += (v[k].as_f64() - m[o]).exp();
    }
    s.iter().zip(&m).map(|(&s, &m)| <T as crate::tensor::Element>::from_f64(m + s.ln())).collect()
}

/// The `(outer, len, inner)` decomposition of a shape around `axis`.
fn around(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// ArgMax (`max = true`) or ArgMin; NaN counts as the extreme (numpy); ties pick the first
/// index, or the last with `select_last_index`.
pub fn arg_reduce(x: &Tensor, axis: usize, max: bool, last: bool, out_shape: &[usize]) -> Result<Tensor, String> {
    let d = x.dtype();
    crate::for_num_dtypes!(d, T => {
        let v = slice_of::<T>(x)?;
        let (outer, len, inner) = around(x.shape(), axis);
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| v[(o * len + j) * inner + i];
                let mut best = 0usize;
                for j in 1..len {
                    let (a, b) = (at(j), at(best));
                    let beats = if b.is_nan() {
                        last && a.is_nan()
                    } else if a.is_nan() {
                        true
                    } else if max {
                        a > b || (last && a == b)
                    } else {
                        a < b || (last && a == b)
                    };
                    if beats {
                        best = j;
                    }
                }
                out.push(best as i64);
            }
        }
        tensor_of(out_shape, out)
    }, bool => Err(unsupported("arg_max/arg_min", d)))
}

/// Softmax (or LogSoftmax with `log`) along `axis`: `exp(x - max)` in the element type, the sum
/// in f64.
pub fn softmax(x: &Tensor, axis: usize, log: bool) -> Result<Tensor, String> {
    let d = x.dtype();
    crate::for_float_dtypes!(d, T => softmax_t::<T>(x, axis, log), else => Err(unsupported("softmax", d)))
}

fn softmax_t<T: Float>(x: &Tensor, axis: usize, log: bool) -> Result<Tensor, String> {
    let v = slice_of::<T>(x)?;
    let (outer, len, inner) = around(x.shape(), axis);
    let mut out = v.to_vec();
    for o in 0..outer {
        for i in 0..inner {
            let ix = |j: usize| (o * len + j) * inner + i;
            let m = (0..len).map(|j| v[ix(j)]).fold(T::LOWEST, |a, b| a.max_nan(b));
            let sum: f64 = (0..len).map(|j| v[ix(j)].sub(m).exp().as_f64()).sum();
            for j in 0..len {
                let s = v[ix(j)].sub(m);
                out[ix(j)] = if log { s.sub(T::from_f64(sum.ln())) } else { s.exp().div(T::from_f64(sum))? };
            }
        }
    }
    tensor_of(x.shape(), out)
}
