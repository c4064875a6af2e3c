//! NonZero, Unique and NonMaxSuppression: the data-dependent ops (see [`crate::dynamic`]).
//!
//! Results are written at their static bound with zeros past the run-time extent, plus the
//! length result, exactly what the backend kernels write. Elements compare as the kernels do:
//! floats by IEEE `==`/`<` (so `-0 == 0`, and a NaN equals nothing, which makes every NaN its
//! own Unique slice; numpy merges NaNs), integers exactly. Slices compare lexicographically,
//! skipping positions where neither element is less than the other.

use super::movement::{take, FILL};
use super::num::tensor_of;
use crate::tensor::Tensor;
use std::cmp::Ordering;

/// Element values in a form that compares like the kernels do.
enum Keys {
    F(Vec<f64>),
    I(Vec<i128>),
}

impl Keys {
    fn of(t: &Tensor) -> Keys {
        match (t.dtype(), t.as_slice::<u64>()) {
            (_, Some(v)) => Keys::I(v.iter().map(|&x| x as i128).collect()),
            (d, _) if d.is_float() => Keys::F(t.to_f64_vec()),
            _ => Keys::I((0..t.numel()).map(|i| t.data().get_i64(i) as i128).collect()),
        }
    }
    fn cmp(&self, i: usize, j: usize) -> Option<Ordering> {
        match self {
            Keys::F(v) => v[i].partial_cmp(&v[j]),
            Keys::I(v) => Some(v[i].cmp(&v[j])),
        }
    }
    fn eq(&self, i: usize, j: usize) -> bool {
        self.cmp(i, j) == Some(Ordering::Equal)
    }
    fn nonzero(&self, i: usize) -> bool {
        match self {
            Keys::F(v) => v[i] != 0.0,
            Keys::I(v) => v[i] != 0,
        }
    }
}

fn scalar_i64(v: i64) -> Tensor {
    Tensor::from_vec(vec![], vec![v])
}

/// NonZero: the multi-indices of the non-zero elements, one per column of `[rank, numel]`.
pub fn non_zero(x: &Tensor) -> Result<Vec<Tensor>, String> {
    let (shape, n) = (x.shape(), x.numel());
    let keys = Keys::of(x);
    let hits: Vec<usize> = (0..n).filter(|&i| keys.nonzero(i)).collect();
    let strides = crate::tensor::strides_of(shape);
    let mut out = vec![0i64; shape.len() * n];
    for (col, &i) in hits.iter().enumerate() {
        for (d, (&s, &dim)) in strides.iter().zip(shape).enumerate() {
            out[d * n + col] = ((i / s) % dim) as i64;
        }
    }
    Ok(vec![tensor_of(&[shape.len(), n], out)?, scalar_i64(hits.len() as i64)])
}

/// The `(outer, n, inner)` sizes around `axis`.
fn around(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

/// Unique slices along `axis`: y, first indices, inverse indices, counts, length.
pub fn unique(x: &Tensor, axis: usize, sorted: bool) -> Result<Vec<Tensor>, String> {
    let (outer, n, inner) = around(x.shape(), axis);
    let keys = Keys::of(x);
    let at = |s: usize, e: usize| (e / inner * n + s) * inner + e % inner;
    let slice_cmp = |a: usize, b: usize| {
        (0..outer * inner).find_map(|e| match keys.cmp(at(a, e), at(b, e)) {
            Some(Ordering::Equal) | None => None,
            o => o,
        })
    };
    let same = |a: usize, b: usize| (0..outer * inner).all(|e| keys.eq(at(a, e), at(b, e)));
    let first: Vec<usize> = (0..n).map(|i| (0..=i).find(|&j| same(j, i)).unwrap_or(i)).collect();
    let uniques: Vec<usize> = (0..n).filter(|&i| first[i] == i).collect();
    let pos = |u: usize| match sorted {
        true => uniques.iter().filter(|&&v| slice_cmp(v, u) == Some(Ordering::Less)).count(),
        false => uniques.iter().filter(|&&v| v < u).count(),
    };
    let mut indices = vec![0i64; n];
    let mut counts = vec![0i64; n];
    let mut pos_of = vec![0usize; n];
    for &u in &uniques {
        pos_of[u] = pos(u);
        indices[pos_of[u]] = u as i64;
    }
    let inverse: Vec<i64> = (0..n).map(|i| pos_of[first[i]] as i64).collect();
    inverse.iter().for_each(|&p| counts[p as usize] += 1);
    let mut src = vec![FILL; x.numel()];
    for (p, &u) in indices.iter().enumerate().take(uniques.len()) {
        (0..outer * inner).for_each(|e| src[at(p, e)] = at(u as usize, e));
    }
    let y = take(x, &src, 0.0, x.shape())?;
    let (idx, inv, cnt) = (tensor_of(&[n], indices)?, tensor_of(&[n], inverse)?, tensor_of(&[n], counts)?);
    Ok(vec![y, idx, inv, cnt, scalar_i64(uniques.len() as i64)])
}

/// The inputs of a NonMaxSuppression after validation, as plain numbers.
struct Nms<'a> {
    boxes: &'a [f32],
    scores: &'a [f32],
    n: usize,
    center: bool,
    iou: f32,
    score: f32,
    keep: usize,
}

/// NonMaxSuppression: `[batch, class, box]` rows, per class in descending score order (ties:
/// lower box index first), greedily dropping boxes whose IoU with a kept one exceeds the
/// threshold, at most `min(max_per_class, max_boxes)` per class.
pub fn non_max_suppression(inputs: &[&Tensor], center: bool, max_boxes: usize) -> Result<Vec<Tensor>, String> {
    let (bshape, c) = (inputs[0].shape(), inputs[1].shape()[1]);
    let max_out = inputs[2].data().get_i64(0).clamp(0, i64::MAX) as u64;
    let keep = (max_out.min(max_boxes as u64)) as usize;
    let nms = Nms {
        boxes: super::num::slice_of::<f32>(inputs[0])?,
        scores: super::num::slice_of::<f32>(inputs[1])?,
        n: bshape[1],
        center,
        iou: super::num::slice_of::<f32>(inputs[3])?[0],
        score: super::num::slice_of::<f32>(inputs[4])?[0],
        keep,
    };
    let rows = bshape[0] * c * bshape[1].min(max_boxes);
    let mut out = Vec::with_capacity(rows * 3);
    for b in 0..bshape[0] {
        for class in 0..c {
            for k in nms.select(b, class, c) {
                out.extend([b as i64, class as i64, k as i64]);
            }
        }
    }
    let len = out.len() / 3;
    out.resize(rows * 3, 0);
    Ok(vec![tensor_of(&[rows, 3], out)?, scalar_i64(len as i64)])
}

impl Nms<'_> {
    fn select(&self, b: usize, class: usize, classes: usize) -> Vec<usize> {
        let s = &self.scores[(b * classes + class) * self.n..][..self.n];
        let mut order: Vec<usize> = (0..self.n).filter(|&i| s[i] > self.score).collect();
        order.sort_by(|&i, &j| s[j].partial_cmp(&s[i]).unwrap_or(Ordering::Equal).then(i.cmp(&j)));
        let mut kept: Vec<usize> = Vec::new();
        for i in order {
            if kept.len() >= self.keep {
                break;
            }
            if kept.iter().all(|&k| !self.suppresses(b, i, k)) {
                kept.push(i);
            }
        }
        kept
    }

    /// `[ymin, xmin, ymax, xmax]` (min/max ordered) of box `i` of batch `b`.
    fn corners(&self, b: usize, i: usize) -> [f32; 4] {
        let v = &self.boxes[(b * self.n + i) * 4..][..4];
        if self.center {
            let (hw, hh) = (v[2] / 2.0, v[3] / 2.0);
            return [v[1] - hh, v[0] - hw, v[1] + hh, v[0] + hw];
        }
        [v[0].min(v[2]), v[1].min(v[3]), v[0].max(v[2]), v[1].max(v[3])]
    }

    /// The reference's `suppress_by_iou`: IoU strictly above the threshold.
    fn suppresses(&self, b: usize, i: usize, j: usize) -> bool {
        let (p, q) = (self.corners(b, i), self.corners(b, j));
        let (x0, x1) = (p[1].max(q[1]), p[3].min(q[3]));
        let (y0, y1) = (p[0].max(q[0]), p[2].min(q[2]));
        if x1 <= x0 || y1 <= y0 {
            return false;
        }
        let inter = (x1 - x0) * (y1 - y0);
        let area_p = (p[3] - p[1]) * (p[2] - p[0]);
        let area_q = (q[3] - q[1]) * (q[2] - q[0]);
        let union = area_p + area_q - inter;
        if inter <= 0.0 || area_p <= 0.0 || area_q <= 0.0 || union <= 0.0 {
            return false;
        }
        inter / union > self.iou
    }
}
