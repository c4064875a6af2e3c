//! Matrix products: Gemm and batched MatMul with numpy batch broadcasting.
//!
//! Products accumulate in [`Num::Acc`] (f64 for floats, rounded once; wrapping element type
//! for integers). Gemm then computes `alpha * AB + beta * C` in f64 for floats; for integers
//! `alpha`/`beta` of 1 keep exact wrapping arithmetic, other values go through f64 and
//! truncate.

use super::elementwise::broadcast_index;
use super::num::{slice_of, tensor_of, unsupported, Num, Ring};
use crate::tensor::{Element, Tensor};

/// `out[i][j] = sum_k a[i][k] * b[k][j]` for row-major `a` [m,k] and `b` [k,n], in `Acc`.
fn product<T: Num>(a: &[T::Acc], b: &[T::Acc], m: usize, k: usize, n: usize) -> Vec<T::Acc> {
    let mut out = vec![<T::Acc as Ring>::zero(); m * n];
    for i in 0..m {
        let row = &mut out[i * n..(i + 1) * n];
        for kk in 0..k {
            let aik = a[i * k + kk];
            let brow = &b[kk * n..(kk + 1) * n];
            for (o, &bv) in row.iter_mut().zip(brow) {
                *o = o.add(aik.mul(bv));
            }
        }
    }
    out
}

/// The `[rows, cols]` matrix `v` in accumulator type, transposed when `trans`.
fn to_acc<T: Num>(v: &[T], rows: usize, cols: usize, trans: bool) -> Vec<T::Acc> {
    if !trans {
        return v.iter().map(|x| x.to_acc()).collect();
    }
    (0..cols).flat_map(|c| (0..rows).map(move |r| v[r * cols + c].to_acc())).collect()
}

pub fn gemm(
    a: &Tensor,
    b: &Tensor,
    c: Option<&Tensor>,
    (alpha, beta): (f32, f32),
    (trans_a, trans_b): (bool, bool),
    out_shape: &[usize],
) -> Result<Tensor, String> {
    let d = a.dtype();
    crate::for_num_dtypes!(d, T => {
        let (m, n) = (out_shape[0], out_shape[1]);
        let k = if trans_a { a.shape()[0] } else { a.shape()[1] };
        let am = to_acc::<T>(slice_of::<T>(a)?, a.shape()[0], a.shape()[1], trans_a);
        let bm = to_acc::<T>(slice_of::<T>(b)?, b.shape()[0], b.shape()[1], trans_b);
        let p = product::<T>(&am, &bm, m, k, n);
        let cv: Option<(Vec<usize>, &[T])> = match c {
            Some(c) => Some((broadcast_index(c.shape(), out_shape), slice_of::<T>(c)?)),
            None => None,
        };
        let out: Vec<T> = (0..m * n)
            .map(|i| {
                let c_i = cv.as_ref().map(|(idx, c)| c[idx[i]]);
                if T::IS_FLOAT {
                    // Round once: alpha * AB + beta * C in f64.
                    let cterm = c_i.map_or(0.0, |c| beta as f64 * c.as_f64());
                    T::from_f64(alpha as f64 * p[i].as_f64() + cterm)
                } else {
                    let ab = scale::<T>(T::from_acc(p[i]), alpha);
                    c_i.map_or(ab, |c| ab.add(scale::<T>(c, beta)))
                }
            })
            .collect();
        tensor_of(out_shape, out)
    }, bool => Err(unsupported("gemm", d)))
}

/// `factor * v`: exact for integers when `factor` is 1.
fn scale<T: Num>(v: T, factor: f32) -> T {
    if factor == 1.0 {
        v
    } else {
        T::from_f64(factor as f64 * v.as_f64())
    }
}

pub fn matmul(a: &Tensor, b: &Tensor, out_shape: &[usize]) -> Result<Tensor, String> {
    let d = a.dtype();
    crate::for_num_dtypes!(d, T => matmul_t::<T>(a, b, out_shape), bool => Err(unsupported("matmul", d)))
}

fn matmul_t<T: Num>(a: &Tensor, b: &Tensor, out_shape: &[usize]) -> Result<Tensor, String> {
    let (ra, rb, ro) = (a.shape().len(), b.shape().len(), out_shape.len());
    let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
    let batch = &out_shape[..ro - 2];
    let ia = broadcast_index(&a.shape()[..ra - 2], batch);
    let ib = broadcast_index(&b.shape()[..rb - 2], batch);
    let av: Vec<T::Acc> = slice_of::<T>(a)?.iter().map(|x| x.to_acc()).collect();
    let bv: Vec<T::Acc> = slice_of::<T>(b)?.iter().map(|x| x.to_acc()).collect();
    let mut out = Vec::with_capacity(ia.len() * m * n);
    for (&pa, &pb) in ia.iter().zip(&ib) {
        let p = product::<T>(&av[pa * m * k..][..m * k], &bv[pb * k * n..][..k * n], m, k, n);
        out.extend(p.into_iter().map(T::from_acc));
    }
    tensor_of(out_shape, out)
}
