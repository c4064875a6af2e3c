//! Choosing the register tile of a [`GemmTask`]: `th x tw` rows of the row grid by `nv` vectors
//! of columns, accumulated in `th * tw * nv` vector registers.
//!
//! The choice is made per kernel, for its exact shape, by a small cycle model of the micro-kernel
//! (as libxsmm and oneDNN's brgemm pick blocks per shape rather than one MRxNR for all):
//! per reduction step a tile issues `mr * nv` FMAs (two per cycle), `nv` vector loads of B plus
//! `mr` broadcasts of A (about 2.5 loads per cycle), and each accumulator's FMA chain must not
//! wait on its own 4-cycle latency; per tile it also pays the stores and loop overhead. Tail
//! tiles (rows or columns left over) are costed at their own smaller size, so a 7x7 output picks
//! a 2x7 block (14 rows, no waste) and a 24-column output a tail of one vector, not a padded two.
//! Register budget: accumulators plus the B vectors (plus one broadcast register on AVX2) leave
//! two registers free for the epilogue (AVX-512) or one (AVX2).

use super::task::GemmTask;

/// A register tile; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    pub th: usize,
    pub tw: usize,
    pub nv: usize,
}

impl Tile {
    pub fn mr(&self) -> usize {
        self.th * self.tw
    }
}

/// What the tile model needs to know of the ISA.
#[derive(Clone, Copy, Debug)]
pub struct RegisterFile {
    pub lanes: usize,
    pub vregs: usize,
    /// True when A broadcasts are memory operands of the FMA (AVX-512); false when they need a
    /// register of their own (AVX2, NEON).
    pub bcst_operand: bool,
}

impl RegisterFile {
    /// Accumulators plus B vectors plus broadcast registers must fit, leaving `reserve` free.
    fn fits(&self, mr: usize, nv: usize) -> bool {
        let reserve = if self.bcst_operand { 2 } else { 1 };
        let bcst = if self.bcst_operand { 0 } else { 1 };
        mr * nv + nv + bcst + reserve <= self.vregs
    }
}

/// Cycles of one reduction step of an `mr x nv` tile; `vector_a`: every FMA loads its own A
/// vector (depthwise) instead of sharing one broadcast per row.
fn step_cycles(mr: usize, nv: usize, vector_a: bool) -> f64 {
    let fmas = (mr * nv) as f64 / 2.0;
    let a_loads = if vector_a { mr * nv } else { mr };
    let loads = (a_loads + nv) as f64 / 2.5;
    fmas.max(loads).max(4.0)
}

/// Cycles of one `mr x nv` tile over reduction length `k`.
fn tile_cycles(mr: usize, nv: usize, k: usize, vector_a: bool) -> f64 {
    k as f64 * step_cycles(mr, nv, vector_a) + (mr * nv) as f64 + 12.0
}

/// Full blocks and the leftover of `n` split by `b`: `[(count, size)]` with nonzero entries.
fn splits(n: usize, b: usize) -> Vec<(usize, usize)> {
    [(n / b, b), (usize::from(n % b != 0), n % b)].into_iter().filter(|&(c, s)| c > 0 && s > 0).collect()
}

/// Model cycles of the whole task with tile `t`.
fn task_cycles(task: &GemmTask, rf: &RegisterFile, t: Tile) -> f64 {
    let vectors = task.n.div_ceil(rf.lanes);
    let k = task.k();
    let vector_a = task.a_mode == super::task::AMode::Vector;
    let mut total = 0.0;
    for (pc, nv) in splits(vectors, t.nv) {
        for (c1, th) in splits(task.rows[0], t.th) {
            for (c2, tw) in splits(task.rows[1], t.tw) {
                total += (pc * c1 * c2) as f64 * tile_cycles(th * tw, nv, k, vector_a);
            }
        }
    }
    total
}

/// The cheapest tile for `task` on `rf` (see the module docs).
pub fn choose(task: &GemmTask, rf: &RegisterFile) -> Tile {
    let vectors = task.n.div_ceil(rf.lanes).max(1);
    let mut best = (f64::INFINITY, Tile { th: 1, tw: 1, nv: 1 });
    for nv in 1..=vectors.min(6) {
        for th in 1..=task.rows[0].clamp(1, 28) {
            for tw in 1..=task.rows[1].clamp(1, 28) {
                if !rf.fits(th * tw, nv) {
                    continue;
                }
                let t = Tile { th, tw, nv };
                let cycles = task_cycles(task, rf, t);
                if cycles < best.0 - 1e-9 {
                    best = (cycles, t);
                }
            }
        }
    }
    best.1
}

/// The model's cycles for `task` with its chosen tile, and the FMA-issue cycles a perfect
/// kernel would need (for the calibration report's expected efficiency).
pub fn efficiency(task: &GemmTask, rf: &RegisterFile, t: Tile) -> f64 {
    let ideal = (task.m() * task.n * task.k()) as f64 / (2.0 * rf.lanes as f64);
    ideal / task_cycles(task, rf, t)
}

#[cfg(test)]
pub mod tests_support {
    use super::*;
    use crate::mk::task::{BSource, Base, Epilogue};

    pub fn task(rows: [usize; 2], n: usize, k: usize) -> GemmTask {
        let base = Base { param: 0, offset: 0 };
        GemmTask {
            outer: vec![],
            pad: None,
            rows,
            a: base,
            a_rows: [0, 4 * k as i64],
            a_mode: crate::mk::task::AMode::Broadcast,
            taps: [(1, 0), (1, 0)],
            depth: k,
            b: base,
            b_source: BSource::Packed,
            n,
            c: base,
            c_rows: [0, 4 * n as i64],
            epilogue: Epilogue::none(),
        }
    }

    pub const AVX512: RegisterFile = RegisterFile { lanes: 16, vregs: 32, bcst_operand: true };
    pub const AVX2: RegisterFile = RegisterFile { lanes: 8, vregs: 16, bcst_operand: false };

    #[test]
    fn large_gemm_fills_the_register_file() {
        let t = choose(&task([1, 512], 512, 512), &AVX512);
        assert!(t.mr() * t.nv >= 24, "{t:?}");
        assert!(AVX512.fits(t.mr(), t.nv));
        let t2 = choose(&task([1, 512], 512, 512), &AVX2);
        assert!(t2.mr() * t2.nv >= 10 && AVX2.fits(t2.mr(), t2.nv), "{t2:?}");
    }

    #[test]
    fn small_grids_use_two_dimensional_blocks() {
        // A 7x7 output with 512 channels: a block spanning two output rows wastes nothing.
        let t = choose(&task([7, 7], 512, 4608), &AVX512);
        assert_eq!(t.tw, 7, "{t:?}");
        assert!(t.th * t.tw * t.nv >= 14, "{t:?}");
    }

    #[test]
    fn every_choice_fits_and_tiles_the_task() {
        for rows in [[1, 1], [1, 3], [5, 17], [3, 33], [1, 100]] {
            for n in [1, 3, 17, 33, 100] {
                for rf in [AVX512, AVX2] {
                    let t = choose(&task(rows, n, 5), &rf);
                    assert!(rf.fits(t.mr(), t.nv), "{rows:?} {n} {t:?}");
                    assert!(t.th <= rows[0] && t.tw <= rows[1] && t.nv <= n.div_ceil(rf.lanes), "{t:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod print_choices {
    use super::tests_support::*;
    #[test]
    fn print() {
        for (m, n, k) in [(512, 512, 512), (3136, 64, 576), (784, 128, 1152), (196, 256, 2304), (49, 512, 4608)] {
            for rf in [AVX512, AVX2] {
                let t = super::choose(&task([1, m], n, k), &rf);
                eprintln!("{m}x{n}x{k} lanes {} -> {t:?}", rf.lanes);
            }
        }
    }
}
