//! Constant weights prepacked at compile time into the micro-kernels' panel layout, stored that
//! way in JIT memory and in `.rodata`, so no run ever packs a weight (BLIS packs B per call;
//! XNNPACK and oneDNN pack once at operator creation; kiln packs once at compile time).
//!
//! Layout ([`PackedB`]): for each group, for each panel of `nr` columns (the last one narrower,
//! rounded up to whole vectors and zero-filled), the panel's K rows of its columns, contiguous:
//! the micro-kernel reads one panel front to back with a single pointer. K is in the kernel's
//! reduction order: for a convolution `(kh, kw, c)`, matching the implicit GEMM's taps.

/// How the constant B sits in its tensor, as (reduction index k, column j) of group g.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightLayout {
    /// `[groups, K, N]` row-major (MatMul B, Gemm B, batched constant B).
    Kn,
    /// `[groups, N, K]` row-major (Gemm B with `transB`).
    Nk,
    /// Convolution weights `[M, C/groups, KH, KW]` (ONNX OIHW); k = `(kh * KW + kw) * C/g + c`,
    /// column j = output channel `g * M/groups + j`.
    Oihw { cg: usize, kh: usize, kw: usize },
}

/// A packing of one constant B; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PackedB {
    pub layout: WeightLayout,
    /// Reduction length (per group).
    pub k: usize,
    /// Columns per group.
    pub n: usize,
    pub groups: usize,
    /// Columns of a full panel (a multiple of `lanes`).
    pub nr: usize,
    /// f32 lanes of the target's vectors.
    pub lanes: usize,
}

impl PackedB {
    /// Columns per group after packing (full panels plus the rounded-up last one).
    pub fn padded_n(&self) -> usize {
        self.n.div_ceil(self.lanes) * self.lanes
    }

    /// Floats of the packed tensor.
    pub fn len(&self) -> usize {
        self.groups * self.k * self.padded_n()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes between the packed groups.
    pub fn group_bytes(&self) -> i64 {
        4 * (self.k * self.padded_n()) as i64
    }

    /// Where column `j` of reduction row `k` of group `g` sits in the constant: `first + j *
    /// step` (every layout is affine in the column).
    fn column_walk(&self, g: usize, k: usize) -> (usize, usize) {
        match self.layout {
            WeightLayout::Kn => ((g * self.k + k) * self.n, 1),
            WeightLayout::Nk => (g * self.n * self.k + k, self.k),
            WeightLayout::Oihw { cg, kh, kw } => {
                let (tap, c) = (k / cg, k % cg);
                let (y, x) = (tap / kw, tap % kw);
                let per_m = cg * kh * kw;
                (g * self.n * per_m + (c * kh + y) * kw + x, per_m)
            }
        }
    }

    /// Packs `w` (the constant in its [`WeightLayout`]); elements outside `w` read as zero.
    pub fn pack(&self, w: &[f32]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each_packed(w, |x| out.push(x));
        out
    }

    /// [`pack`](Self::pack) as little-endian bytes, written straight into the data object's
    /// buffer (weights are megabytes: no intermediate copy).
    pub fn pack_le_bytes(&self, w: &[f32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 * self.len());
        self.for_each_packed(w, |x| out.extend_from_slice(&x.to_le_bytes()));
        out
    }

    /// Calls `f` on every packed element in order.
    fn for_each_packed(&self, w: &[f32], mut f: impl FnMut(f32)) {
        let padded = self.padded_n();
        for g in 0..self.groups {
            let mut j0 = 0;
            while j0 < padded {
                let width = self.nr.min(padded - j0);
                let real = self.n.saturating_sub(j0).min(width);
                for k in 0..self.k {
                    let (first, step) = self.column_walk(g, k);
                    (j0..j0 + real).for_each(|j| f(w.get(first + j * step).copied().unwrap_or(0.0)));
                    (real..width).for_each(|_| f(0.0));
                }
                j0 += width;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_are_contiguous_and_the_tail_is_zero_filled() {
        // B = [K=2, N=5] row-major, panels of 4 columns, 4 lanes: panel 0 = cols 0..4, panel 1 =
        // col 4 plus three zero columns.
        let w: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let p = PackedB { layout: WeightLayout::Kn, k: 2, n: 5, groups: 1, nr: 4, lanes: 4 };
        assert_eq!(p.len(), 16);
        let packed = p.pack(&w);
        assert_eq!(&packed[..8], &[0.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 8.0]);
        assert_eq!(&packed[8..], &[4.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn transposed_and_conv_layouts_read_the_same_matrix() {
        // A conv with M=3, C=2, 1x2 kernel: k = kw*2 + c; column = m.
        let w: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let conv =
            PackedB { layout: WeightLayout::Oihw { cg: 2, kh: 1, kw: 2 }, k: 4, n: 3, groups: 1, nr: 4, lanes: 4 };
        let packed = conv.pack(&w);
        // k=1 (kw=0, c=1), m=2: w[((2*2+1)*1+0)*2+0] = w[10].
        assert_eq!(packed[4 + 2], 10.0);
        let nk = PackedB { layout: WeightLayout::Nk, k: 3, n: 2, groups: 1, nr: 4, lanes: 4 };
        let t: Vec<f32> = (0..6).map(|i| i as f32).collect(); // [N=2, K=3]
        assert_eq!(nk.pack(&t)[..8], [0.0, 3.0, 0.0, 0.0, 1.0, 4.0, 0.0, 0.0]);
        let bytes: Vec<u8> = nk.pack(&t).iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(nk.pack_le_bytes(&t), bytes, "the bytes are the packed floats");
    }
}
