//! Choosing the register tile of a [`GemmTask`]: `th x tw` rows of the row grid by `nv` vectors
//! of columns, accumulated in `th * tw * nv` vector registers.
//!
//! The choice is made per kernel, for its exact shape (as libxsmm and oneDNN's brgemm pick
//! blocks per shape rather than one MRxNR for all): the tile minimising the estimated cycles of
//! the whole task, where each full or leftover tile costs its FMAs at a measured efficiency plus
//! its stores and loop overhead. Leftover tiles (rows or columns) are costed at their own
//! smaller size, so a 7x7 output picks a block spanning output rows (no waste) and a 24-column
//! output a tail of one vector, not a padded two.
//!
//! Efficiencies of full tiles are measurements ([`AVX512_EFF`], [`AVX2_EFF`]: `examples/
//! mk_tiles` at 512^3 on an Emerald Rapids core, best of 15 interleaved rounds), because the
//! simple bound `max(FMAs / 2, loads / ports)` mispredicts them by up to 30%: on AVX-512 14x2 is
//! best and more B vectors (6x4) lose although they load less; on AVX2 6x2 beats 12x1 by 15%.
//! Shapes not measured (leftovers, depthwise tiles, NEON) use that bound at 80%.
//! Register budget: accumulators plus the B vectors (plus a broadcast register on AVX2) leave
//! two registers free for the epilogue (AVX-512) or one (AVX2). On NEON, A takes one register
//! per tile row (four reduction steps per `ldr q`, multiplied in by element), so accumulators,
//! B vectors, row registers and one spare must fit the 32 registers, with at most
//! [`MAX_ROWS_PER_ROW_A`] rows (one row pointer each in a general register).

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
    /// Sustained loads per cycle in the micro-kernel (broadcast operands fused into the FMA
    /// sustain more than separate broadcast instructions).
    pub loads_per_cycle: f64,
    /// True when A takes one register per tile row (NEON: four reduction steps of a row in one
    /// vector, multiplied in by element) instead of broadcast registers; such tiles keep at
    /// most [`MAX_ROWS_PER_ROW_A`] rows (one row pointer each in a general register).
    pub a_per_row: bool,
}

/// The most rows of a tile whose A takes a register (and a row pointer) per row.
pub const MAX_ROWS_PER_ROW_A: usize = 12;

impl RegisterFile {
    /// Accumulators plus B vectors plus broadcast registers must fit, leaving `reserve` free.
    fn fits(&self, mr: usize, nv: usize) -> bool {
        if self.a_per_row {
            // Accumulators, B vectors, one A register per row and one spare.
            return mr <= MAX_ROWS_PER_ROW_A && mr * nv + nv + mr < self.vregs;
        }
        let reserve = if self.bcst_operand { 2 } else { 1 };
        let bcst = if self.bcst_operand { 0 } else { 1 };
        mr * nv + nv + bcst + reserve <= self.vregs
    }
}

/// Measured efficiency (fraction of the FMA peak) of full `mr x nv` tiles on AVX-512.
pub const AVX512_EFF: [((usize, usize), f64); 18] = [
    ((14, 2), 0.99),
    ((12, 2), 0.95),
    ((8, 2), 0.86),
    ((6, 2), 0.77),
    ((4, 2), 0.63),
    ((28, 1), 0.87),
    ((24, 1), 0.92),
    ((16, 1), 0.96),
    ((14, 1), 0.89),
    ((12, 1), 0.96),
    ((8, 1), 0.79),
    ((6, 1), 0.76),
    ((4, 1), 0.53),
    ((8, 3), 0.86),
    ((6, 3), 0.79),
    ((4, 3), 0.64),
    ((6, 4), 0.74),
    ((4, 4), 0.67),
];

/// Measured efficiency of full `mr x nv` tiles on AVX2.
pub const AVX2_EFF: [((usize, usize), f64); 6] =
    [((6, 2), 0.80), ((4, 2), 0.71), ((12, 1), 0.70), ((8, 1), 0.64), ((6, 1), 0.60), ((4, 1), 0.46)];

/// The measured tiles of `rf` for broadcast-mode (dense) kernels; empty when none were.
fn measured(rf: &RegisterFile, vector_a: bool) -> &'static [((usize, usize), f64)] {
    match (vector_a, rf.lanes) {
        (false, 16) => &AVX512_EFF,
        (false, 8) => &AVX2_EFF,
        _ => &[],
    }
}

/// The fraction of the FMA peak an `mr x nv` tile reaches: measured, or the bound at 80%.
fn tile_efficiency(rf: &RegisterFile, mr: usize, nv: usize, vector_a: bool) -> f64 {
    if let Some(&(_, e)) = measured(rf, vector_a).iter().find(|((m, n), _)| (*m, *n) == (mr, nv)) {
        return e;
    }
    let fmas = (mr * nv) as f64 / 2.0;
    let a_loads = if vector_a { mr * nv } else { mr };
    let bound = fmas.max((a_loads + nv) as f64 / rf.loads_per_cycle).max(4.0);
    0.8 * fmas / bound
}

/// Cycles of one `mr x nv` tile over reduction length `k`.
fn tile_cycles(rf: &RegisterFile, mr: usize, nv: usize, k: usize, vector_a: bool) -> f64 {
    let fma_cycles = (mr * nv) as f64 / 2.0;
    k as f64 * fma_cycles / tile_efficiency(rf, mr, nv, vector_a) + (mr * nv) as f64 + 12.0
}

/// Full blocks and the leftover of `n` split by `b`: `[(count, size)]` with nonzero entries.
fn splits(n: usize, b: usize) -> Vec<(usize, usize)> {
    [(n / b, b), (usize::from(n % b != 0), n % b)].into_iter().filter(|&(c, s)| c > 0 && s > 0).collect()
}

/// Model cycles of the whole task with tile `t`.
fn task_cycles(task: &GemmTask, rf: &RegisterFile, t: Tile) -> f64 {
    let vectors = task.n.div_ceil(rf.lanes);
    let k = task.k();
    let vector_a = task.a_mode.is_vector();
    let mut total = 0.0;
    for (pc, nv) in splits(vectors, t.nv) {
        for (c1, th) in splits(task.rows[0], t.th) {
            for (c2, tw) in splits(task.rows[1], t.tw) {
                total += (pc * c1 * c2) as f64 * tile_cycles(rf, th * tw, nv, k, vector_a);
            }
        }
    }
    total
}

/// The cheapest tile for `task` on `rf` (see the module docs): among the measured shapes and
/// those covering the whole row grid when the ISA has measurements, else among all that fit.
pub fn choose(task: &GemmTask, rf: &RegisterFile) -> Tile {
    let table = measured(rf, task.a_mode.is_vector());
    let allowed = |t: &Tile| {
        let whole = t.th == task.rows[0] && t.tw == task.rows[1];
        table.is_empty() || whole || table.iter().any(|((m, n), _)| (*m, *n) == (t.mr(), t.nv))
    };
    cheapest(task, rf, &allowed).or_else(|| cheapest(task, rf, &|_: &Tile| true)).unwrap_or(Tile {
        th: 1,
        tw: 1,
        nv: 1,
    })
}

fn cheapest(task: &GemmTask, rf: &RegisterFile, allowed: &dyn Fn(&Tile) -> bool) -> Option<Tile> {
    let vectors = task.n.div_ceil(rf.lanes).max(1);
    let mut best: Option<(f64, Tile)> = None;
    for nv in 1..=vectors.min(6) {
        for th in 1..=task.rows[0].clamp(1, 28) {
            for tw in 1..=task.rows[1].clamp(1, 28) {
                let t = Tile { th, tw, nv };
                if !rf.fits(th * tw, nv) || !allowed(&t) {
                    continue;
                }
                let cycles = task_cycles(task, rf, t);
                if best.is_none_or(|(c, _)| cycles < c - 1e-9) {
                    best = Some((cycles, t));
                }
            }
        }
    }
    best.map(|(_, t)| t)
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
            clip: None,
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

    pub const AVX512: RegisterFile =
        RegisterFile { lanes: 16, vregs: 32, bcst_operand: true, loads_per_cycle: 2.2, a_per_row: false };
    pub const AVX2: RegisterFile =
        RegisterFile { lanes: 8, vregs: 16, bcst_operand: false, loads_per_cycle: 1.6, a_per_row: false };
    pub const NEON: RegisterFile =
        RegisterFile { lanes: 4, vregs: 32, bcst_operand: false, loads_per_cycle: 2.0, a_per_row: true };

    #[test]
    fn large_gemm_fills_the_register_file() {
        let t = choose(&task([1, 512], 512, 512), &AVX512);
        assert!(t.mr() * t.nv >= 24, "{t:?}");
        assert!(AVX512.fits(t.mr(), t.nv));
        let t2 = choose(&task([1, 512], 512, 512), &AVX2);
        assert!(t2.mr() * t2.nv >= 10 && AVX2.fits(t2.mr(), t2.nv), "{t2:?}");
    }

    #[test]
    fn neon_tiles_keep_a_register_per_row_and_fill_the_file() {
        let t = choose(&task([1, 512], 512, 512), &NEON);
        assert!(t.mr() * t.nv >= 18 && t.mr() <= MAX_ROWS_PER_ROW_A, "{t:?}");
        assert!(t.mr() * t.nv + t.nv + t.mr() < 32, "{t:?}");
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
                for rf in [AVX512, AVX2, NEON] {
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
            for rf in [AVX512, AVX2, NEON] {
                let t = super::choose(&task([1, m], n, k), &rf);
                eprintln!("{m}x{n}x{k} lanes {} -> {t:?}", rf.lanes);
            }
        }
        for (r, n, k) in [([7, 7], 512, 4608), ([14, 14], 256, 2304), ([28, 28], 128, 1152), ([56, 56], 64, 576)] {
            for rf in [AVX512, AVX2] {
                let t = super::choose(&task(r, n, k), &rf);
                eprintln!(
                    "{r:?}x{n}x{k} lanes {} -> {t:?} eff {:.2}",
                    rf.lanes,
                    super::efficiency(&task(r, n, k), &rf, t)
                );
            }
        }
    }
}
