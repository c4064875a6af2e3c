//! The vector modes of the NEON generator: depthwise convolution ([`AMode::Vector`]: each tap
//! one `fmla` of an input vector of channels by the tap's weight vector) and pooling
//! ([`AMode::VectorMax`] with `fmaxnm`, which ignores NaN inputs as the reference does, and
//! [`AMode::VectorSum`] with `fadd`, scaled by the epilogue's alpha).
//!
//! Taps are unrolled (a few dozen at most). With a [`Clip`](crate::mk::task::Clip), tiles whose
//! every tap reads inside the image run in loops, and border tiles are emitted one by one at
//! their grid positions with the taps outside the image left out at compile time, so no load
//! ever leaves the input (A's base points at the padded origin and is never dereferenced there).

use super::asm::{Op3, Width};
use super::gemm::{Gen, Micro};
use crate::mk::task::AMode;

const VB: i64 = 16;

/// A run of `count` tiles of `size` along one grid axis; `start` is the tile's position when
/// it is a single border tile whose taps are resolved at compile time.
#[derive(Clone, Copy, Debug)]
pub(super) struct Segment {
    pub(super) count: usize,
    pub(super) size: usize,
    pub(super) start: Option<usize>,
}

/// `tiles` (start, size) as segments: runs of equal interior tiles as loops, the others one by
/// one at their positions.
fn group_inside(tiles: Vec<(usize, usize)>, inside: impl Fn(usize, usize) -> bool) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (start, size) in tiles {
        match out.last_mut() {
            Some(seg) if seg.start.is_none() && seg.size == size && inside(start, size) => seg.count += 1,
            _ if inside(start, size) => out.push(Segment { count: 1, size, start: None }),
            _ => out.push(Segment { count: 1, size, start: Some(start) }),
        }
    }
    out
}

impl Gen<'_, '_> {
    /// The tiles along grid axis `axis` (tile size `t`): loops of equal tiles, and with a clip
    /// the border tiles one by one.
    pub(super) fn segments(&self, axis: usize, t: usize) -> Vec<Segment> {
        let (rows, t) = (self.task.rows[axis], t.max(1));
        let mut tiles: Vec<(usize, usize)> = (0..rows / t).map(|k| (k * t, t)).collect();
        if rows % t != 0 {
            tiles.push((rows / t * t, rows % t));
        }
        if let AMode::Winograd(w) = self.task.a_mode {
            // Output tiles past the extent are cropped: emitted one by one.
            let crop = w.output;
            return group_inside(tiles, |start, size| !crop || (start + size) * w.tile <= w.extent[axis]);
        }
        let Some(clip) = self.task.clip else {
            return group_inside(tiles, |_, _| true);
        };
        let taps = self.task.taps[axis].0;
        group_inside(tiles, |start, size| (start..start + size).all(|o| (0..taps).all(|i| clip.valid(axis, o, i))))
    }

    /// True when row `r` of the tile is inside the output: always, but for the cropped last
    /// tiles of a Winograd output transform.
    pub(super) fn output_valid(&self, mk: &Micro, r: usize) -> bool {
        let AMode::Winograd(w) = self.task.a_mode else { return true };
        let at = [mk.row_base + r / mk.tw, r % mk.tw];
        (0..2).all(|d| mk.pos[d].is_none_or(|t0| t0 * w.tile + at[d] < w.extent[d]))
    }

    /// True when tap `tap` of tile row `r` reads inside the image.
    fn tap_valid(&self, mk: &Micro, r: usize, tap: [usize; 2]) -> bool {
        let Some(clip) = self.task.clip else { return true };
        let at = [r / mk.tw, r % mk.tw];
        (0..2).all(|d| mk.pos[d].is_none_or(|o0| clip.valid(d, o0 + at[d], tap[d])))
    }

    /// Every tap of a vector-mode tile, unrolled.
    pub(super) fn vector_taps(&mut self, mk: &Micro) {
        let [(t1, s1), (t2, s2)] = self.task.taps;
        for i in 0..t1 * t2 {
            let tap = [i / t2, i % t2];
            let a_off = tap[0] as i64 * s1 + tap[1] as i64 * s2;
            let rows: Vec<usize> = (0..mk.mr()).filter(|&r| self.tap_valid(mk, r, tap)).collect();
            if rows.is_empty() {
                continue;
            }
            if self.task.a_mode == AMode::Vector {
                let b_off = i as i64 * mk.nv as i64 * VB;
                for v in 0..mk.nv {
                    self.asm.vload(mk.b_reg(v), self.regs.bk, b_off + v as i64 * VB, Width::Q);
                }
            }
            for r in rows {
                for v in 0..mk.nv {
                    self.vector_fold(mk, r, v, a_off);
                }
            }
        }
    }

    /// Folds the input vector of row `r`, vector `v` at tap offset `a_off` into its accumulator.
    fn vector_fold(&mut self, mk: &Micro, r: usize, v: usize, a_off: i64) {
        let (t, base, off) = (mk.a_reg(r), self.regs.rows[r], a_off + v as i64 * VB);
        if mk.masked && v == mk.nv - 1 {
            self.load_partial(t, base, off, mk.spare());
        } else {
            self.asm.vload(t, base, off, Width::Q);
        }
        let acc = mk.acc(r, v);
        match self.task.a_mode {
            AMode::VectorMax => self.asm.vop(Op3::MaxNm, acc, acc, t),
            AMode::VectorSum => self.asm.vop(Op3::Add, acc, acc, t),
            _ => self.asm.fmla(acc, mk.b_reg(v), t),
        }
    }
}
