//! Splitting a micro-kernel into independent parts that run on different threads.
//!
//! A [`GemmTask`] is split along one axis of its row grid into contiguous chunks of rows: each
//! part is the same loop nest over fewer rows, with its pointers moved to the chunk's first row
//! (A, C and every epilogue operand step along the rows by their row strides). Parts write
//! disjoint rows of C and every element keeps its whole reduction inside one part, in the same
//! order, with the same tile; so the results are bitwise identical for any number of parts
//! (which is why the reduction is never split, unlike a K-split GEMM).
//!
//! Why parts are separate kernels, assembled at compile time, rather than one kernel taking a
//! row range at run time: the generators resolve every trip count, border tile (`Clip`) and
//! Winograd crop at compile time, and that is where their speed comes from; a part is just a
//! smaller task. The cost is code size (one copy per part, and parts are made only for kernels
//! with enough work, [`MIN_WORK_PER_PART`]).
//!
//! Per-axis details:
//! - chunk boundaries fall on whole register tiles (`th` rows along axis 0, `tw` along axis 1),
//!   so a part has no more leftover tiles than the whole kernel;
//! - a `Clip` (depthwise, pooling) keeps absolute output positions through its `origin`;
//! - a Winograd output crops at its extent minus the chunk's first pixel row;
//! - a `PadCopy` (padded convolutions, Winograd input) copies only the padded rows its chunk
//!   reads (its halo included) into its own scratch: parts then share no scratch, and the copy
//!   is split too instead of repeated;
//! - a kernel whose rows fit one tile (a fully connected layer at batch 1) is cut over its
//!   column panels instead (whole `nr`-column panels; B, C and the operands move along them).

use super::plan::MicroKernel;
use super::task::{AMode, BSource, GemmTask, PadCopy};

/// Multiply-adds below which a part is not worth a fork-join (about a microsecond of handing
/// out parts and joining, with the workers spinning): ~5 us of AVX-512 GEMM.
pub const MIN_WORK_PER_PART: usize = 1 << 17;
/// The same for the vector modes (depthwise, pooling, Winograd transforms), whose tap reads
/// are memory-bound and cost several times a GEMM's multiply-add.
pub const MIN_VECTOR_WORK_PER_PART: usize = 1 << 15;

/// Parts per thread when the work allows: threads claim parts as they come (`kiln_runtime::
/// pool`), so a thread that starts late, or shares its core with another process, takes fewer
/// parts instead of holding everyone up at the join.
pub const PARTS_PER_THREAD: usize = 2;

/// The kernel's work in multiply-adds (or tap reads).
fn work(t: &GemmTask) -> usize {
    let outer: usize = t.outer.iter().map(|o| o.count).product();
    outer * t.m() * t.n * (t.taps[0].0 * t.taps[1].0 * t.depth).max(1)
}

/// When to cut a kernel: the threads, and the least work of a part (broadcast-mode and
/// vector-mode tasks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitPolicy {
    pub threads: usize,
    pub min_work: usize,
    pub min_vector_work: usize,
}

impl SplitPolicy {
    /// The thresholds above for `threads` threads.
    pub fn for_threads(threads: usize) -> SplitPolicy {
        SplitPolicy { threads, min_work: MIN_WORK_PER_PART, min_vector_work: MIN_VECTOR_WORK_PER_PART }
    }
    /// Every kernel cut as finely as its tiles allow (tests: odd sizes get parts too).
    pub fn always(threads: usize) -> SplitPolicy {
        SplitPolicy { threads, min_work: 1, min_vector_work: 1 }
    }
}

/// The parts of `m` under `policy`: `m` itself when splitting does not pay or is not possible,
/// else at most [`PARTS_PER_THREAD`] `* threads` kernels over consecutive chunks of rows.
pub fn split(m: &MicroKernel, policy: &SplitPolicy) -> Vec<MicroKernel> {
    let threads = policy.threads;
    if threads < 2 {
        return vec![m.clone()];
    }
    let min = if m.task.a_mode.is_vector() { policy.min_vector_work } else { policy.min_work }.max(1);
    let want = balanced((PARTS_PER_THREAD * threads).min(work(&m.task) / min), threads);
    if want < 2 {
        return vec![m.clone()];
    }
    let t = &m.task;
    // Axis 0 when it has a tile row per part (or, with a pad copy, at least two: only axis 0
    // splits the copy), else the axis with more tiles (GEMMs and 1x1 convs are [1, M]).
    let blocks0 = t.rows[0].div_ceil(m.tile.th.max(1));
    let blocks1 = t.rows[1].div_ceil(m.tile.tw.max(1));
    let axis0 = blocks0 >= want || (t.pad.is_some() && blocks0 >= 2) || blocks0 >= blocks1;
    let axis = if axis0 { 0 } else { 1 };
    let step = if axis == 0 { m.tile.th } else { m.tile.tw }.max(1);
    let blocks = if axis == 0 { blocks0 } else { blocks1 };
    let parts = balanced(want.min(blocks), threads);
    if parts < 2 {
        return split_columns(m, want, threads);
    }
    if axis == 1 && t.pad.is_some() && t.rows[0] > 1 {
        return vec![m.clone()];
    }
    let chunks: Vec<(usize, usize)> = (0..parts)
        .map(|p| {
            let (b0, b1) = (p * blocks / parts, (p + 1) * blocks / parts);
            (b0 * step, (b1 * step).min(t.rows[axis]))
        })
        .collect();
    let split: Option<Vec<MicroKernel>> = chunks.iter().map(|&(r0, r1)| part(m, axis, r0, r1)).collect();
    split.unwrap_or_else(|| vec![m.clone()])
}

/// `m` cut into at most `want` parts over its column panels (whole register tiles of `nr`
/// columns), for kernels whose rows fit one tile (a fully connected layer at batch 1): B, C
/// and the epilogue operands move to the part's first column. Only broadcast-mode tasks
/// without a pad copy (which every part would repeat); else `m` whole.
fn split_columns(m: &MicroKernel, want: usize, threads: usize) -> Vec<MicroKernel> {
    let t = &m.task;
    let nr = m.tile.nv.max(1) * m.isa.lanes();
    let panels = t.n.div_ceil(nr);
    let parts = balanced(want.min(panels), threads);
    if parts < 2 || t.a_mode.is_vector() || t.pad.is_some() {
        return vec![m.clone()];
    }
    (0..parts)
        .map(|p| {
            let (j0, j1) = (p * panels / parts * nr, ((p + 1) * panels / parts * nr).min(t.n));
            let mut part = m.clone();
            let t = &mut part.task;
            let j = j0 as i64;
            t.n = j1 - j0;
            t.b.offset += match t.b_source {
                BSource::Packed => 4 * j * t.k() as i64,
                BSource::Strided { .. } => 4 * j,
            };
            t.c.offset += 4 * j;
            if let Some((op, _)) = &mut t.epilogue.addend {
                op.base.offset += j * op.strides.col;
            }
            for op in &mut t.epilogue.extras {
                op.base.offset += j * op.strides.col;
            }
            part
        })
        .collect()
}

/// `parts` rounded down to a multiple of `threads` when it is at least `threads`, so every
/// thread gets as many parts.
fn balanced(parts: usize, threads: usize) -> usize {
    if parts >= threads {
        parts / threads * threads
    } else {
        parts
    }
}

/// The part of `m` over rows `[r0, r1)` along `axis`, or `None` when it cannot be expressed.
fn part(m: &MicroKernel, axis: usize, r0: usize, r1: usize) -> Option<MicroKernel> {
    let mut p = m.clone();
    let t = &mut p.task;
    let s = r0 as i64;
    t.rows[axis] = r1 - r0;
    // With a pad window (axis 0) A starts at the window's first row, which is the chunk's.
    if t.pad.is_none() || axis == 1 {
        t.a.offset += s * t.a_rows[axis];
    }
    t.c.offset += s * t.c_rows[axis];
    if let Some((op, _)) = &mut t.epilogue.addend {
        op.base.offset += s * op.strides.rows[axis];
    }
    for op in &mut t.epilogue.extras {
        op.base.offset += s * op.strides.rows[axis];
    }
    if let Some(clip) = &mut t.clip {
        clip.origin[axis] += r0;
    }
    if let AMode::Winograd(w) = &mut t.a_mode {
        if w.output {
            let first_pixel = r0 * w.tile;
            w.extent[axis] = w.extent[axis].checked_sub(first_pixel)?;
        }
    }
    if let Some(pad) = t.pad {
        if axis == 0 {
            t.pad = Some(pad_window(&pad, t, r0, r1)?);
        }
    }
    Some(p)
}

/// The copy of the padded rows that grid rows `[r0, r1)` read (A then starts at the copy's
/// first row, which is the chunk's first row: A's offset stays as it is).
fn pad_window(pad: &PadCopy, t: &GemmTask, r0: usize, r1: usize) -> Option<PadCopy> {
    let row_bytes = 4 * ((pad.left + pad.w + pad.right) * pad.c) as i64;
    let (stride, tap) = (t.a_rows[0], t.taps[0].1);
    if row_bytes == 0 || stride % row_bytes != 0 || tap % row_bytes != 0 || t.taps[1].1 >= row_bytes {
        return None;
    }
    let (stride, dilation) = ((stride / row_bytes) as usize, (tap / row_bytes) as usize);
    let first = r0 * stride;
    let last = (r1 - 1) * stride + (t.taps[0].0 - 1) * dilation + 1;
    let height = pad.top + pad.h + pad.bottom;
    let end = last.min(height);
    let src_first = first.max(pad.top).min(pad.top + pad.h);
    let src_end = end.min(pad.top + pad.h).max(src_first);
    if src_end == src_first {
        return None;
    }
    let mut w = *pad;
    w.src.offset += 4 * ((src_first - pad.top) * pad.w * pad.c) as i64;
    w.h = src_end - src_first;
    w.top = src_first - first;
    w.bottom = end - src_end;
    Some(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelSpec;
    use crate::mk::{x86, MicroIsa};
    use kiln_ir::{DType, Op, TensorType};

    fn matmul(m: usize, k: usize, n: usize) -> MicroKernel {
        let spec = KernelSpec {
            node: "mm".into(),
            op: Op::MatMul,
            inputs: vec![TensorType::new(DType::F32, vec![m, k]), TensorType::new(DType::F32, vec![k, n])],
            outputs: vec![TensorType::new(DType::F32, vec![m, n])],
        };
        crate::mk::plan(&spec, &[false, true], Some(MicroIsa::X86(x86::Level::Avx512))).expect("a plan")
    }

    #[test]
    fn small_kernels_stay_whole_and_large_ones_split_on_whole_tiles() {
        assert_eq!(split(&matmul(3, 5, 17), &SplitPolicy::for_threads(4)).len(), 1);
        let big = matmul(333, 256, 64);
        assert_eq!(split(&big, &SplitPolicy::for_threads(1)).len(), 1);
        let parts = split(&big, &SplitPolicy::for_threads(2));
        assert_eq!(parts.len(), 2 * PARTS_PER_THREAD);
        let step = big.tile.tw;
        let rows: Vec<usize> = parts.iter().map(|p| p.task.m()).collect();
        assert_eq!(rows.iter().sum::<usize>(), 333, "{rows:?}");
        assert!(rows[..rows.len() - 1].iter().all(|r| r % step == 0), "{rows:?} tile {:?}", big.tile);
        let mut first = 0;
        for (p, r) in parts.iter().zip(&rows) {
            assert_eq!(p.task.c.offset, first as i64 * big.task.c_rows[1]);
            assert_eq!(p.task.a.offset, first as i64 * big.task.a_rows[1]);
            first += r;
        }
    }

    #[test]
    fn a_pad_window_covers_the_halo_of_its_rows() {
        // 3x3 conv, stride 1, pads 1: 5 image rows padded to 7; output rows 2..4 read padded
        // rows 2..6, i.e. image rows 1..5 with no top pad and one bottom pad row.
        let pad = PadCopy {
            src: super::super::plan::param(0),
            src_outer: [0, 0],
            h: 5,
            w: 5,
            c: 2,
            top: 1,
            left: 1,
            bottom: 1,
            right: 1,
            fill: 0.0.into(),
        };
        let mut t = matmul(4, 4, 4).task;
        let row = 4 * 7 * 2;
        t.a_rows = [row, 8];
        t.taps = [(3, row), (3, 8)];
        let w = pad_window(&pad, &t, 2, 5).expect("a window");
        assert_eq!((w.top, w.h, w.bottom), (0, 4, 1));
        assert_eq!(w.src.offset, 4 * 5 * 2);
        let first = pad_window(&pad, &t, 0, 2).expect("a window");
        assert_eq!((first.top, first.h, first.bottom), (1, 3, 0));
    }
}
