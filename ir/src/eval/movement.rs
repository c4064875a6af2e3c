//! Data movement: Concat, Split, Slice, Reshape, Transpose, Gather, Expand, Pad.
//!
//! Each op computes, for every output element, the flat index it reads in the input (or
//! [`FILL`] for a constant-padded element) and then [`take`] copies elements of any dtype.
//! One index computation per op keeps the semantics in one place and makes every op work for
//! every dtype without per-type code.

use super::elementwise::broadcast_index;
use super::num::{slice_of, tensor_of, CastElem, Scalar};
use crate::op::PadMode;
use crate::tensor::{strides_of, Tensor};

/// The index that [`take`] replaces by the fill value.
pub const FILL: usize = usize::MAX;

/// A tensor of `shape` whose element `k` is `x[idx[k]]`, or `fill` (converted to the dtype with
/// Cast rules) where `idx[k] == FILL`.
pub fn take(x: &Tensor, idx: &[usize], fill: f64, shape: &[usize]) -> Result<Tensor, String> {
    crate::for_all_dtypes!(x.dtype(), T => {
        let v = slice_of::<T>(x)?;
        let f = <T as CastElem>::from_scalar(Scalar::F(fill));
        let out: Vec<T> = idx.iter().map(|&i| if i == FILL { f } else { v[i] }).collect();
        tensor_of(shape, out)
    })
}

/// Visits every multi-index of `shape` in row-major order.
pub fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    if shape.contains(&0) {
        return;
    }
    let mut pos = vec![0usize; shape.len()];
    loop {
        f(&pos);
        let mut a = shape.len();
        loop {
            if a == 0 {
                return;
            }
            a -= 1;
            pos[a] += 1;
            if pos[a] < shape[a] {
                break;
            }
            pos[a] = 0;
        }
    }
}

pub fn concat(xs: &[&Tensor], axis: usize, shape: &[usize]) -> Result<Tensor, String> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    crate::for_all_dtypes!(shape_dtype(xs)?, T => {
        let mut out: Vec<T> = Vec::with_capacity(shape.iter().product());
        for o in 0..outer {
            for x in xs {
                let chunk = x.shape()[axis] * inner;
                out.extend_from_slice(&slice_of::<T>(x)?[o * chunk..(o + 1) * chunk]);
            }
        }
        tensor_of(shape, out)
    })
}

fn shape_dtype(xs: &[&Tensor]) -> Result<crate::DType, String> {
    xs.first().map(|x| x.dtype()).ok_or_else(|| "no inputs".to_string())
}

pub fn split(x: &Tensor, axis: usize, sizes: &[usize]) -> Result<Vec<Tensor>, String> {
    let mut start = 0;
    let mut outs = Vec::with_capacity(sizes.len());
    for &len in sizes {
        let mut starts = vec![0; x.shape().len()];
        starts[axis] = start;
        let mut lens = x.shape().to_vec();
        lens[axis] = len;
        outs.push(slice(x, &starts, &vec![1; lens.len()], &lens)?);
        start += len;
    }
    Ok(outs)
}

/// Output element `i` along axis `a` reads input `starts[a] + i * steps[a]` (validated by
/// inference to stay in bounds).
pub fn slice(x: &Tensor, starts: &[usize], steps: &[i64], lens: &[usize]) -> Result<Tensor, String> {
    let st = strides_of(x.shape());
    let mut idx = Vec::with_capacity(lens.iter().product());
    for_each_index(lens, |pos| {
        let flat: i64 = (0..pos.len()).map(|a| (starts[a] as i64 + pos[a] as i64 * steps[a]) * st[a] as i64).sum();
        idx.push(flat as usize);
    });
    take(x, &idx, 0.0, lens)
}

pub fn transpose(x: &Tensor, perm: &[usize], shape: &[usize]) -> Result<Tensor, String> {
    let st = strides_of(x.shape());
    // Source stride of each output axis; the innermost axis is walked as a strided run (weight
    // layouts are folded through here at compile time, millions of elements per model).
    let src: Vec<usize> = perm.iter().map(|&a| st[a]).collect();
    let Some((&inner, outer)) = shape.split_last() else { return take(x, &[0], 0.0, shape) };
    let step = src[shape.len() - 1];
    let mut idx = Vec::with_capacity(x.numel());
    for_each_index(outer, |pos| {
        let base: usize = pos.iter().zip(&src).map(|(&p, &s)| p * s).sum();
        idx.extend((0..inner).map(|i| base + i * step));
    });
    take(x, &idx, 0.0, shape)
}

/// Gather along `axis`; negative indices wrap once, anything still out of range is an error.
pub fn gather(x: &Tensor, indices: &Tensor, axis: usize, shape: &[usize]) -> Result<Tensor, String> {
    let dim = x.shape()[axis];
    let ind: Vec<usize> = indices
        .to_i64_vec()
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + dim as i64 } else { i };
            if j < 0 || j >= dim as i64 {
                Err(format!("index {i} is out of range for axis {axis} of size {dim}"))
            } else {
                Ok(j as usize)
            }
        })
        .collect::<Result<_, _>>()?;
    let outer: usize = x.shape()[..axis].iter().product();
    let inner: usize = x.shape()[axis + 1..].iter().product();
    let mut idx = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for &j in &ind {
            idx.extend((0..inner).map(|k| (o * dim + j) * inner + k));
        }
    }
    take(x, &idx, 0.0, shape)
}

pub fn expand(x: &Tensor, shape: &[usize]) -> Result<Tensor, String> {
    take(x, &broadcast_index(x.shape(), shape), 0.0, shape)
}

/// Pad: negative pads crop first, then positive pads extend the cropped data with `mode`.
/// Reflect and wrap repeat periodically when the pad exceeds the data (numpy `np.pad`).
pub fn pad(x: &Tensor, mode: PadMode, pads: &[i64], value: f64, shape: &[usize]) -> Result<Tensor, String> {
    let r = x.shape().len();
    let st = strides_of(x.shape());
    let maps: Vec<Vec<Option<usize>>> =
        (0..r).map(|a| pad_axis_map(x.shape()[a], pads[a], pads[r + a], shape[a], mode)).collect();
    let mut idx = Vec::with_capacity(shape.iter().product());
    for_each_index(shape, |pos| {
        let mut flat = 0usize;
        for (a, map) in maps.iter().enumerate() {
            match map[pos[a]] {
                Some(i) => flat += i * st[a],
                None => {
                    idx.push(FILL);
                    return;
                }
            }
        }
        idx.push(flat);
    });
    take(x, &idx, value, shape)
}

/// Pad's map of one axis: for each of the `out` output coordinates, the input coordinate it reads
/// (in `[0, dim)`), or `None` for a constant-filled coordinate. `begin`/`end` are the axis's pads
/// (negative: crop). Public so the backend computes its compile-time copy plan with this very
/// function (as the iterator [`pad_axis_sources`]): one definition, so kernel and oracle cannot
/// drift apart.
pub fn pad_axis_map(dim: usize, begin: i64, end: i64, out: usize, mode: PadMode) -> Vec<Option<usize>> {
    pad_axis_sources(dim, begin, end, out, mode).collect()
}

/// [`pad_axis_map`] one coordinate at a time, so that a caller that compresses the map (the
/// backend's copy plan) needs no memory per coordinate: an axis may be 2^31 long.
pub fn pad_axis_sources(
    dim: usize,
    begin: i64,
    end: i64,
    out: usize,
    mode: PadMode,
) -> impl Iterator<Item = Option<usize>> {
    // In i128: pads may be as extreme as i64::MIN.
    let (pb, pe) = (begin as i128, end as i128);
    // The cropped data range [lo, lo + n) and the begin pad.
    let lo = (-pb).max(0);
    let n = dim as i128 - lo - (-pe).max(0);
    let pb = pb.max(0);
    (0..out as i128).map(move |o| source(o - pb, n, mode).map(|i| (lo + i) as usize))
}

/// The index in `[0, n)` that position `i` (relative to the data start) reads, or `None` for a
/// constant-padded position.
fn source(i: i128, n: i128, mode: PadMode) -> Option<i128> {
    if (0..n).contains(&i) {
        return Some(i);
    }
    if n <= 0 {
        return None;
    }
    match mode {
        PadMode::Constant => None,
        PadMode::Edge => Some(i.clamp(0, n - 1)),
        PadMode::Wrap => Some(i.rem_euclid(n)),
        PadMode::Reflect if n == 1 => Some(0),
        PadMode::Reflect => {
            let period = 2 * (n - 1);
            let j = i.rem_euclid(period);
            Some(if j < n { j } else { period - j })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every permutation of a [2, 3, 4] tensor, and a 1-D and a scalar one, against the
    /// definition: out[pos] = x[sum(pos[a] * stride[perm[a]])].
    #[test]
    fn transpose_matches_its_definition() {
        let dims = [2usize, 3, 4];
        let x = Tensor::from_vec(dims.to_vec(), (0..24).map(|i| i as f32).collect::<Vec<_>>());
        let perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        for perm in perms {
            let shape: Vec<usize> = perm.iter().map(|&a| dims[a]).collect();
            let got = transpose(&x, &perm, &shape).unwrap();
            let st = strides_of(&dims);
            let mut want = Vec::new();
            for_each_index(&shape, |pos| {
                want.push(pos.iter().zip(&perm).map(|(&p, &a)| p * st[a]).sum::<usize>() as f32)
            });
            assert_eq!(got.as_slice::<f32>(), Some(&want[..]), "perm {perm:?}");
        }
        let v = Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]);
        assert_eq!(transpose(&v, &[0], &[3]).unwrap(), v);
        let s = Tensor::from_vec(vec![], vec![5.0f32]);
        assert_eq!(transpose(&s, &[], &[]).unwrap(), s);
    }
}
