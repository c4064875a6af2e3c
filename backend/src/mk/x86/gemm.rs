//! The x86-64 generator of [`GemmTask`] kernels (AVX-512F or AVX2+FMA): the whole loop nest in
//! machine code for one exact shape, around one register-blocked micro-kernel.
//!
//! Loop nest, outermost first (every trip count is a constant of the shape):
//! 1. the task's outer loops (batch, images, groups); at the start of each image, the
//!    zero-padded copy of the input into scratch when the task has one ([`PadCopy`]);
//! 2. column panels of `nv` vectors (`NR = nv * lanes` columns), then the narrower last panel;
//! 3. rows of tiles along the first row-grid axis (`th` at a time, then the leftover);
//! 4. tiles along the second axis (`tw` at a time, then the leftover);
//! 5. the micro-kernel: `th * tw` rows by `nv` vectors of accumulators, over the taps and the
//!    contiguous depth (unrolled by [`unroll`]), then the epilogue and the stores.
//!
//! B's panel stays hot in L1/L2 across the row tiles of level 3-4 (the BLIS order for a
//! prepacked B); A rows are read in place through constant displacements from one pointer (row
//! `r` of a tile is `(r / tw) * stride1 + (r % tw) * stride2` bytes away), so A is never packed:
//! for convolutions that is the implicit GEMM over the (padded) NHWC image, with no im2col.
//! On AVX-512 each A element is an embedded-broadcast memory operand of its FMAs
//! (`vfmadd231ps zmm, zmm, dword bcst [mem]`); on AVX2 it is broadcast once into a register.
//!
//! Every leftover (rows, columns, the partial last vector of N) gets its own specialised copy of
//! the micro-kernel, so no tile ever reads or writes outside its operands: partial vectors use
//! masked loads and stores (AVX-512 `k1`, AVX2 `vmaskmovps`), which never fault on the masked
//! lanes. Pointers advance by constant strides as loops iterate and are moved back when a loop
//! ends, so each loop level sees the same pointer values on every iteration of its parent.

use super::asm::{Asm, Level, Op3, Src, G, M, V};
use super::frame::{CallConv, Frame, ALLOCATABLE};
use super::program::{self, Temps};
use crate::mk::task::{AMode, BSource, GemmTask, Operand, PadCopy};
use crate::mk::tile::Tile;

/// Where a pointer or counter lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Reg(G),
    Mem(M),
}

/// One pointer movement: add `delta` bytes to `loc`.
type Moves = Vec<(Loc, i64)>;

/// Assembles the kernel of `task` with register tile `tile` for `level` and `conv`; the kernel
/// takes `params` pointer parameters.
pub fn assemble(level: Level, conv: CallConv, params: usize, task: &GemmTask, tile: Tile) -> Result<Vec<u8>, String> {
    super::asm::assemble(level, |asm| Gen::new(asm, level, conv, params, task, tile).emit())
}

/// Reduction steps unrolled per loop iteration.
fn unroll(mr: usize, nv: usize) -> usize {
    if mr * nv >= 12 {
        4
    } else {
        8
    }
}

/// The pointers and counters of the generated code.
pub(super) struct Regs {
    pub(super) a: G,
    pub(super) ak: G,
    pub(super) b: G,
    pub(super) bk: G,
    pub(super) c: G,
    ops: Vec<G>,
    k: Loc,
    t1: Loc,
    t2: Loc,
    r2: Loc,
    r1: Loc,
    panel: Loc,
    outer: Vec<Loc>,
    pad_src: M,
    /// K blocking: the current block's byte offset along A's depth, and the block counter.
    kb_off: M,
    kb_ctr: Loc,
}

/// Which part of a blocked reduction a copy of the loop nest computes (see [`Gen::k_blocks`]):
/// with its depth. `Whole`: unblocked; `First` starts the accumulators at zero and stores them
/// raw, `Middle` adds to C and stores raw, `Last` adds to C and applies the epilogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KPhase {
    Whole(usize),
    First(usize),
    Middle(usize),
    Last(usize),
}

impl KPhase {
    fn depth(self) -> usize {
        match self {
            KPhase::Whole(d) | KPhase::First(d) | KPhase::Middle(d) | KPhase::Last(d) => d,
        }
    }
    /// True when the accumulators start from C (a previous block's partial sums).
    fn accumulates(self) -> bool {
        matches!(self, KPhase::Middle(_) | KPhase::Last(_))
    }
    /// True when the epilogue runs (the reduction is complete).
    fn finishes(self) -> bool {
        matches!(self, KPhase::Whole(_) | KPhase::Last(_))
    }
}

/// Reduction blocks of `depth`: `(block, blocks, last)` when blocking pays (long contiguous
/// reductions: the A block of a row tile and B's block of a panel then stay in L1/L2 across
/// the panels, as BLIS's KC loop), else `None`.
fn k_blocking(task: &GemmTask) -> Option<(usize, usize, usize)> {
    let plain = task.taps.iter().all(|&(n, _)| n == 1) && task.a_mode == AMode::Broadcast;
    if !plain || task.b_source != BSource::Packed || task.depth <= KC_MAX * 2 {
        return None;
    }
    let blocks = task.depth.div_ceil(KC_MAX);
    let block = task.depth.div_ceil(blocks).div_ceil(8) * 8;
    let blocks = task.depth.div_ceil(block);
    Some((block, blocks, task.depth - (blocks - 1) * block))
}

/// Longest reduction block (floats): B's block of a 32-column panel is 64 KiB.
const KC_MAX: usize = 512;

pub(super) struct Gen<'a, 't> {
    phase: KPhase,
    pub(super) asm: &'a mut Asm,
    pub(super) level: Level,
    pub(super) task: &'t GemmTask,
    tile: Tile,
    lanes: usize,
    pub(super) vb: i64,
    pub(super) frame: Frame,
    pub(super) regs: Regs,
}

impl<'a, 't> Gen<'a, 't> {
    fn new(asm: &'a mut Asm, level: Level, conv: CallConv, params: usize, task: &'t GemmTask, tile: Tile) -> Self {
        let nops = task.epilogue.operands().count();
        let mut gprs = ALLOCATABLE.iter().copied();
        let mut next = || gprs.next();
        let (a, ak, b, bk, c) = (next(), next(), next(), next(), next());
        let ops: Vec<G> = (0..nops).filter_map(|_| next()).collect();
        // Counters: innermost first get the remaining registers, the rest are stack slots.
        let wanted = 6 + task.outer.len();
        let mut slots = 0;
        let mut counters = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            counters.push(match next() {
                Some(g) => Loc::Reg(g),
                None => {
                    slots += 1;
                    Loc::Mem(M::at(G(4), 0)) // placeholder, fixed below
                }
            });
        }
        let frame = Frame::new(conv, params, slots + 3);
        let mut slot = 0;
        for c in counters.iter_mut() {
            if let Loc::Mem(_) = c {
                *c = Loc::Mem(frame.slot(slot));
                slot += 1;
            }
        }
        let pad_src = frame.slot(slots);
        let (kb_off, kb_ctr) = (frame.slot(slots + 1), Loc::Mem(frame.slot(slots + 2)));
        let unwrap = |g: Option<G>| g.unwrap_or(G(0));
        let regs = Regs {
            a: unwrap(a),
            ak: unwrap(ak),
            b: unwrap(b),
            bk: unwrap(bk),
            c: unwrap(c),
            ops,
            k: counters[0],
            t1: counters[1],
            t2: counters[2],
            r2: counters[3],
            r1: counters[4],
            panel: counters[5],
            outer: counters[6..].to_vec(),
            pad_src,
            kb_off,
            kb_ctr,
        };
        Gen {
            phase: KPhase::Whole(task.depth),
            asm,
            level,
            task,
            tile,
            lanes: level.lanes(),
            vb: level.vbytes(),
            frame,
            regs,
        }
    }

    fn emit(&mut self) {
        if self.regs.ops.len() != self.task.epilogue.operands().count() {
            self.asm.fail("too many epilogue operands for the general registers");
            return;
        }
        self.frame.prologue(self.asm);
        self.load_pointers();
        if self.level == Level::Avx512 && self.tail_lanes() != 0 {
            self.asm.set_mask(1, (1u32 << self.tail_lanes()) - 1, self.regs.ak);
        }
        self.outer_body(0);
        self.frame.epilogue(self.asm);
    }

    fn load_pointers(&mut self) {
        let t = self.task;
        let load = |g: G, p: crate::mk::task::Base, asm: &mut Asm, frame: &Frame| {
            asm.load_gpr(g, frame.param(p.param));
            asm.add_imm(g, p.offset);
        };
        load(self.regs.a, t.a, self.asm, &self.frame);
        load(self.regs.b, t.b, self.asm, &self.frame);
        load(self.regs.c, t.c, self.asm, &self.frame);
        for (i, op) in t.epilogue.operands().enumerate() {
            load(self.regs.ops[i], op.base, self.asm, &self.frame);
        }
        if let Some(p) = &t.pad {
            load(self.regs.ak, p.src, self.asm, &self.frame);
            self.asm.store_gpr(self.regs.pad_src, self.regs.ak);
        }
    }

    /// Columns in the partial last vector of N (0 when N is a multiple of the lanes).
    pub(super) fn tail_lanes(&self) -> usize {
        self.task.n % self.lanes
    }

    // ---- loops ----

    fn init(&mut self, ctr: Loc, count: usize) {
        match ctr {
            Loc::Reg(g) => self.asm.mov_imm(g, count as i64),
            Loc::Mem(m) => self.asm.store_imm(m, count as i32),
        }
    }

    fn dec(&mut self, ctr: Loc) {
        match ctr {
            Loc::Reg(g) => self.asm.dec(g),
            Loc::Mem(m) => self.asm.dec_mem(m),
        }
    }

    fn advance(&mut self, moves: &Moves, times: i64) {
        for &(loc, d) in moves {
            match loc {
                Loc::Reg(g) => self.asm.add_imm(g, d * times),
                Loc::Mem(m) => self.asm.add_mem_imm(m, d * times),
            }
        }
    }

    /// Runs `body` `count` times, advancing `moves` after each run (no restore).
    fn repeat(&mut self, count: usize, ctr: Loc, moves: &Moves, body: &dyn Fn(&mut Self)) {
        match count {
            0 => {}
            1 => {
                body(self);
                self.advance(moves, 1);
            }
            _ => {
                self.init(ctr, count);
                let mut top = self.asm.label();
                self.asm.bind(&mut top);
                body(self);
                self.advance(moves, 1);
                self.dec(ctr);
                self.asm.jnz(top);
            }
        }
    }

    /// The moves of every pointer for one step of `rows` rows along row-grid axis `axis`.
    fn row_moves(&self, axis: usize, rows: usize) -> Moves {
        let t = self.task;
        let r = rows as i64;
        let mut m = vec![(Loc::Reg(self.regs.a), r * t.a_rows[axis]), (Loc::Reg(self.regs.c), r * t.c_rows[axis])];
        for (i, op) in t.epilogue.operands().enumerate() {
            m.push((Loc::Reg(self.regs.ops[i]), r * op.strides.rows[axis]));
        }
        m
    }

    fn panel_moves(&self, nv: usize) -> Moves {
        let t = self.task;
        let cols = (nv * self.lanes) as i64;
        let b = match t.b_source {
            BSource::Packed => cols * 4 * t.k() as i64,
            BSource::Strided { .. } => cols * 4,
        };
        let mut m = vec![(Loc::Reg(self.regs.b), b), (Loc::Reg(self.regs.c), cols * 4)];
        if t.a_mode.is_vector() {
            m.push((Loc::Reg(self.regs.a), cols * 4));
        }
        for (i, op) in t.epilogue.operands().enumerate() {
            m.push((Loc::Reg(self.regs.ops[i]), cols * op.strides.col));
        }
        m
    }

    fn outer_moves(&self, l: usize) -> Moves {
        let t = self.task;
        let o = &t.outer[l];
        let mut m = vec![(Loc::Reg(self.regs.a), o.a), (Loc::Reg(self.regs.b), o.b), (Loc::Reg(self.regs.c), o.c)];
        for (i, op) in t.epilogue.operands().enumerate() {
            m.push((Loc::Reg(self.regs.ops[i]), op.strides.outer.get(l).copied().unwrap_or(0)));
        }
        if let (Some(p), 0) = (&t.pad, l) {
            m.push((Loc::Mem(self.regs.pad_src), p.src_outer[0]));
        }
        m
    }

    /// The body at outer depth `l`: the pad copy at the start of each image, then the deeper
    /// loops or the panels.
    fn outer_body(&mut self, l: usize) {
        let t = self.task;
        if l == t.outer.len().min(1) {
            if let Some(p) = t.pad {
                self.pad_copy(&p);
            }
        }
        if l == t.outer.len() {
            return self.k_blocks();
        }
        let count = t.outer[l].count;
        let moves = self.outer_moves(l);
        let ctr = self.regs.outer[l];
        self.repeat(count, ctr, &moves, &|g: &mut Self| g.outer_body(l + 1));
        self.advance(&moves, -(count as i64));
    }

    /// Column panels: `(count, vectors, masked last vector)` parts.
    fn panel_parts(&self) -> Vec<(usize, usize, bool)> {
        let vectors = self.task.n.div_ceil(self.lanes);
        let nv = self.tile.nv;
        let (full, rest) = (vectors / nv, vectors % nv);
        let partial = self.tail_lanes() != 0;
        let mut parts = Vec::new();
        if rest > 0 {
            parts.push((full, nv, false));
            parts.push((1, rest, partial));
        } else if partial {
            parts.push((full - 1, nv, false));
            parts.push((1, nv, true));
        } else {
            parts.push((full, nv, false));
        }
        parts.retain(|p| p.0 > 0);
        parts
    }

    /// The panels, once per reduction block when the task blocks its reduction (see
    /// [`k_blocking`]): the first block, the middle ones in a loop, the last.
    fn k_blocks(&mut self) {
        let Some((block, blocks, last)) = k_blocking(self.task) else {
            self.phase = KPhase::Whole(self.task.depth);
            return self.panels();
        };
        let off = self.regs.kb_off;
        self.asm.store_imm(off, 0);
        let step = vec![(Loc::Mem(off), 4 * block as i64)];
        self.phase = KPhase::First(block);
        self.panels();
        self.advance(&step, 1);
        self.phase = KPhase::Middle(block);
        let ctr = self.regs.kb_ctr;
        self.repeat(blocks - 2, ctr, &step, &|g: &mut Self| g.panels());
        self.phase = KPhase::Last(last);
        self.panels();
    }

    fn panels(&mut self) {
        let mut total: Moves = Vec::new();
        for (count, nv, masked) in self.panel_parts() {
            let moves = self.panel_moves(nv);
            let ctr = self.regs.panel;
            self.repeat(count, ctr, &moves, &|g: &mut Self| g.row_tiles(nv, masked));
            total.extend(moves.iter().map(|&(l, d)| (l, d * count as i64)));
        }
        self.advance(&total, -1);
    }

    /// How the tiles along grid axis `axis` (tile size `t`) are emitted: runs of equal tiles as
    /// loops, and with a [`Clip`](crate::mk::task::Clip) the border tiles one by one, at known positions.
    fn segments(&self, axis: usize, t: usize) -> Vec<Segment> {
        let rows = self.task.rows[axis];
        let mut tiles: Vec<(usize, usize)> = (0..rows / t).map(|k| (k * t, t)).collect();
        if rows % t != 0 {
            tiles.push((rows / t * t, rows % t));
        }
        let crop = match self.task.a_mode {
            AMode::Winograd(w) if w.output => Some(w),
            _ => None,
        };
        if let Some(w) = crop {
            let inside = |start: usize, size: usize| (start + size) * w.tile <= w.extent[axis];
            return group_inside(tiles, inside);
        }
        let Some(clip) = self.task.clip else {
            return [(rows / t, t), (usize::from(rows % t != 0), rows % t)]
                .into_iter()
                .filter(|&(c, s)| c > 0 && s > 0)
                .map(|(count, size)| Segment { count, size, start: None })
                .collect();
        };
        let taps = self.task.taps[axis].0;
        let inside =
            |start: usize, size: usize| (start..start + size).all(|o| (0..taps).all(|i| clip.valid(axis, o, i)));
        group_inside(tiles, inside)
    }

    fn row_tiles(&mut self, nv: usize, masked: bool) {
        let mut total: Moves = Vec::new();
        for seg in self.segments(0, self.tile.th) {
            let moves = self.row_moves(0, seg.size);
            let ctr = self.regs.r1;
            self.repeat(seg.count, ctr, &moves, &|g: &mut Self| g.col_tiles(seg.size, seg.start, nv, masked));
            total.extend(moves.iter().map(|&(l, d)| (l, d * seg.count as i64)));
        }
        self.advance(&total, -1);
    }

    fn col_tiles(&mut self, th: usize, row0: Option<usize>, nv: usize, masked: bool) {
        let mut total: Moves = Vec::new();
        for seg in self.segments(1, self.tile.tw) {
            let moves = self.row_moves(1, seg.size);
            let ctr = self.regs.r2;
            let pos = [row0, seg.start];
            self.repeat(seg.count, ctr, &moves, &|g: &mut Self| g.micro(th, seg.size, nv, masked, pos));
            total.extend(moves.iter().map(|&(l, d)| (l, d * seg.count as i64)));
        }
        self.advance(&total, -1);
    }

    // ---- the micro-kernel ----

    fn micro(&mut self, th: usize, tw: usize, nv: usize, masked: bool, pos: [Option<usize>; 2]) {
        let free = self.level.vregs().saturating_sub(th * tw * nv + nv + 1);
        let mk = Micro { th, tw, nv, masked, bcst: free.clamp(1, 2), pos, sub: 1, row_base: 0 };
        if let AMode::Winograd(w) = self.task.a_mode {
            return self.winograd(&mk, &w);
        }
        let start = (self.task.a_mode == AMode::VectorMax).then(|| self.asm.constant(f32::MIN));
        if self.phase.accumulates() {
            self.load_partial_sums(&mk);
        } else {
            for i in 0..mk.mr() * nv {
                match start {
                    Some(c) => self.asm.vset(V(i as u8), c),
                    None => self.asm.vzero(V(i as u8)),
                }
            }
        }
        if matches!(self.phase, KPhase::Whole(_)) {
            self.asm.mov(self.regs.ak, self.regs.a);
            self.asm.mov(self.regs.bk, self.regs.b);
        } else {
            // This block's part of A (kb_off bytes along the depth) and of the packed panel
            // (kb_off times the panel's width).
            let (ak, bk, off) = (self.regs.ak, self.regs.bk, self.regs.kb_off);
            self.asm.load_gpr(ak, off);
            self.asm.imul_imm(bk, ak, (nv * self.lanes) as i32);
            self.asm.add_reg(ak, self.regs.a);
            self.asm.add_reg(bk, self.regs.b);
        }
        let partial_loads = matches!(self.task.b_source, BSource::Strided { .. }) || self.task.a_mode.is_vector();
        if self.level == Level::Avx2 && masked && partial_loads {
            let m = self.asm.lane_mask(self.tail_lanes());
            self.asm.vset(mk.mask_reg(), m);
        }
        self.taps(&mk);
        self.epilogue(&mk);
    }

    fn taps(&mut self, mk: &Micro) {
        let [(t1, s1), (t2, s2)] = self.task.taps;
        if self.task.a_mode.is_vector() {
            // Depthwise and pooling: one step per tap, unrolled (at most a few dozen taps).
            for i in 0..t1 * t2 {
                let a_off = (i / t2) as i64 * s1 + (i % t2) as i64 * s2;
                self.vector_step(mk, [i / t2, i % t2], a_off, i as i64 * self.b_step(mk.nv));
            }
            return;
        }
        let depth_bytes = 4 * self.task.depth as i64;
        let ak = self.regs.ak;
        let inner = |g: &mut Self| {
            let (ctr2, moves2) = (g.regs.t2, vec![(Loc::Reg(ak), s2 - depth_bytes)]);
            if t2 > 1 || t1 > 1 {
                g.repeat(t2, ctr2, &moves2, &|g: &mut Self| g.depth(mk));
            } else {
                g.depth(mk);
            }
        };
        if t1 > 1 {
            let moves1 = vec![(Loc::Reg(ak), s1 - t2 as i64 * s2)];
            let ctr1 = self.regs.t1;
            self.repeat(t1, ctr1, &moves1, &inner);
        } else {
            inner(self);
        }
    }

    /// B bytes per reduction step in the current panel.
    fn b_step(&self, nv: usize) -> i64 {
        match self.task.b_source {
            BSource::Packed => (nv * self.lanes * 4) as i64,
            BSource::Strided { row } => row,
        }
    }

    fn depth(&mut self, mk: &Micro) {
        let d = self.phase.depth();
        let u = unroll(mk.mr(), mk.nv);
        let (q, rem) = (d / u, d % u);
        let bstep = self.b_step(mk.nv);
        let moves = vec![(Loc::Reg(self.regs.ak), 4 * u as i64), (Loc::Reg(self.regs.bk), bstep * u as i64)];
        let ctr = self.regs.k;
        self.repeat(q, ctr, &moves, &|g: &mut Self| (0..u).for_each(|s| g.kstep(mk, s)));
        for s in 0..rem {
            self.kstep(mk, s);
        }
        let tail = vec![(Loc::Reg(self.regs.ak), 4 * rem as i64), (Loc::Reg(self.regs.bk), bstep * rem as i64)];
        self.advance(&tail, 1);
    }

    /// One reduction step `s` of the unrolled block: B vectors, then every row's FMAs. (No
    /// software prefetch: B is a sequential stream the hardware prefetcher follows; explicit
    /// `prefetcht0` per line measured 5-20% slower at every conv shape of ResNet-18.)
    fn kstep(&mut self, mk: &Micro, s: usize) {
        let bstep = self.b_step(mk.nv);
        let strided = matches!(self.task.b_source, BSource::Strided { .. });
        for v in 0..mk.nv {
            let m = M::at(self.regs.bk, s as i64 * bstep + v as i64 * self.vb);
            let partial = strided && mk.masked && v == mk.nv - 1;
            match (partial, self.level) {
                (false, _) => self.asm.vload(mk.b_reg(v), m),
                (true, Level::Avx512) => self.asm.vload_k(mk.b_reg(v), m, 1),
                (true, Level::Avx2) => self.asm.vload_maskv(mk.b_reg(v), m, mk.mask_reg()),
            }
        }
        for r in 0..mk.mr() {
            let am = M::at(self.regs.ak, mk.row_offset(r, self.task.a_rows) + 4 * s as i64);
            match self.level {
                Level::Avx512 => {
                    for v in 0..mk.nv {
                        self.asm.vfma(mk.acc(r, v), mk.b_reg(v), Src::Bcst(am));
                    }
                }
                Level::Avx2 => {
                    self.asm.vbroadcast(mk.bcst_reg(r), am);
                    for v in 0..mk.nv {
                        self.asm.vfma(mk.acc(r, v), mk.b_reg(v), Src::Reg(mk.bcst_reg(r)));
                    }
                }
            }
        }
    }

    /// One tap of a depthwise tile: the tap's weight vectors, then every row's input vectors
    /// multiplied in (partial last vector: masked loads).
    fn vector_step(&mut self, mk: &Micro, tap: [usize; 2], a_off: i64, b_off: i64) {
        let rows: Vec<usize> = (0..mk.mr()).filter(|&r| self.tap_valid(mk, r, tap)).collect();
        if rows.is_empty() {
            return;
        }
        if self.task.a_mode != AMode::Vector {
            return self.pool_step(mk, &rows, a_off);
        }
        for v in 0..mk.nv {
            self.asm.vload(mk.b_reg(v), M::at(self.regs.bk, b_off + v as i64 * self.vb));
        }
        for r in rows {
            for v in 0..mk.nv {
                let m = M::at(self.regs.ak, mk.row_offset(r, self.task.a_rows) + a_off + v as i64 * self.vb);
                let partial = mk.masked && v == mk.nv - 1;
                match (partial, self.level) {
                    (false, _) => self.asm.vfma(mk.acc(r, v), mk.b_reg(v), Src::Mem(m)),
                    (true, Level::Avx512) => self.asm.vfma_k(mk.acc(r, v), mk.b_reg(v), m, 1),
                    (true, Level::Avx2) => {
                        self.asm.vload_maskv(mk.bcst_reg(r), m, mk.mask_reg());
                        self.asm.vfma(mk.acc(r, v), mk.b_reg(v), Src::Reg(mk.bcst_reg(r)));
                    }
                }
            }
        }
    }

    /// One tap of a pooling tile: every row's input vectors folded into the accumulators by
    /// max (input first, so a NaN input keeps the accumulator) or by add; the B registers are
    /// the load temporaries.
    fn pool_step(&mut self, mk: &Micro, rows: &[usize], a_off: i64) {
        let max = self.task.a_mode == AMode::VectorMax;
        for &r in rows {
            for v in 0..mk.nv {
                let m = M::at(self.regs.ak, mk.row_offset(r, self.task.a_rows) + a_off + v as i64 * self.vb);
                let (acc, t) = (mk.acc(r, v), mk.b_reg(v));
                let partial = mk.masked && v == mk.nv - 1;
                match (partial, self.level) {
                    (false, _) => self.asm.vload(t, m),
                    (true, Level::Avx512) => self.asm.vload_k(t, m, 1),
                    (true, Level::Avx2) => self.asm.vload_maskv(t, m, mk.mask_reg()),
                }
                if max {
                    self.asm.vop(Op3::Max, acc, t, Src::Reg(acc));
                } else {
                    self.asm.vop(Op3::Add, acc, acc, Src::Reg(t));
                }
            }
        }
    }

    /// True when row `r` of the tile is inside the output: always, but for the cropped last
    /// tiles of a Winograd output transform.
    fn output_valid(&self, mk: &Micro, r: usize) -> bool {
        let AMode::Winograd(w) = self.task.a_mode else { return true };
        let at = [mk.row_base + r / mk.tw, r % mk.tw];
        (0..2).all(|d| mk.pos[d].is_none_or(|t0| t0 * w.tile + at[d] < w.extent[d]))
    }

    /// True when tap `tap` of tile row `r` reads inside the image (always without a [`Clip`](crate::mk::task::Clip),
    /// and along an axis where the tile runs in a loop of interior tiles).
    fn tap_valid(&self, mk: &Micro, r: usize, tap: [usize; 2]) -> bool {
        let Some(clip) = self.task.clip else { return true };
        let at = [r / mk.tw, r % mk.tw];
        (0..2).all(|d| mk.pos[d].is_none_or(|o0| clip.valid(d, o0 + at[d], tap[d])))
    }

    // ---- epilogue ----

    pub(super) fn epilogue(&mut self, mk: &Micro) {
        if !self.phase.finishes() {
            return self.store_partial_sums(mk);
        }
        let e = &self.task.epilogue;
        let first_temp = mk.mr() * mk.nv;
        let mut temps = Temps::new((first_temp..self.level.vregs()).rev().map(|i| V(i as u8)));
        let in_registers = match &e.program {
            Some(p) => self.program_fits(p, temps.len()),
            None => true,
        };
        for r in 0..mk.mr() {
            if !self.output_valid(mk, r) {
                continue;
            }
            for v in 0..mk.nv {
                let acc = mk.acc(r, v);
                self.scale_and_add(mk, r, v, acc, &mut temps);
                let res = match (&e.program, in_registers) {
                    (Some(p), true) => self.apply_program(p, mk, r, v, acc, &mut temps),
                    _ => acc,
                };
                self.store(mk, r, v, res, &mut temps);
                temps.give(res);
                temps.give(acc);
            }
        }
        if let (Some(p), false) = (&e.program, in_registers) {
            self.program_from_memory(p, mk);
        }
    }

    /// The accumulators of a blocked reduction's later blocks start from C.
    fn load_partial_sums(&mut self, mk: &Micro) {
        let mask = V((self.level.vregs() - 1) as u8);
        for r in 0..mk.mr() {
            for v in 0..mk.nv {
                let (m, acc) = (self.c_mem(mk, r, v), mk.acc(r, v));
                match (mk.masked && v == mk.nv - 1, self.level) {
                    (false, _) => self.asm.vload(acc, m),
                    (true, Level::Avx512) => self.asm.vload_k(acc, m, 1),
                    (true, Level::Avx2) => {
                        let lanes = self.asm.lane_mask(self.tail_lanes());
                        self.asm.vset(mask, lanes);
                        self.asm.vload_maskv(acc, m, mask);
                    }
                }
            }
        }
    }

    /// A blocked reduction's partial sums, stored raw (the last block applies the epilogue).
    fn store_partial_sums(&mut self, mk: &Micro) {
        let first_temp = mk.mr() * mk.nv;
        let mut temps = Temps::new((first_temp..self.level.vregs()).rev().map(|i| V(i as u8)));
        for r in 0..mk.mr() {
            for v in 0..mk.nv {
                self.store(mk, r, v, mk.acc(r, v), &mut temps);
            }
        }
    }

    /// Whether `p` can run with `free` temporaries plus those its argument loads need.
    fn program_fits(&self, p: &kiln_ir::Program, free: usize) -> bool {
        if !program::supported(p) {
            return false;
        }
        let loads = self.task.epilogue.extras.len() + 1;
        if free <= loads {
            return false;
        }
        let mut dry = Asm::scratch(self.level);
        let mut temps = Temps::new((0..free - loads).map(|i| V((i + 1) as u8)));
        let args: Vec<Src> = self.task.epilogue.extras.iter().map(|_| Src::Mem(M::at(G(0), 0))).collect();
        program::emit(&mut dry, p, V(0), &args, &mut temps).is_some()
    }

    /// `acc = alpha * acc + beta * addend`.
    fn scale_and_add(&mut self, mk: &Micro, r: usize, v: usize, acc: V, temps: &mut Temps) {
        let e = &self.task.epilogue;
        if e.alpha != 1.0.into() {
            let k = self.asm.constant(e.alpha.into());
            self.asm.vop(Op3::Mul, acc, acc, k);
        }
        if let Some((op, beta)) = &e.addend {
            let (src, owned) = self.operand_src(0, op, mk, r, v, temps);
            if *beta == 1.0.into() {
                self.asm.vop(Op3::Add, acc, acc, src);
            } else {
                let t = match src {
                    Src::Reg(t) => t,
                    other => {
                        let t = temps.take().unwrap_or(V(0));
                        self.asm.vset(t, other);
                        temps.give(t);
                        t
                    }
                };
                let k = self.asm.constant(beta.get());
                self.asm.vfma(acc, t, k);
            }
            if let (Some(t), true) = (reg_of(src), owned) {
                temps.give(t);
            }
        }
    }

    /// The source of epilogue operand `i` (addend first) at tile element (r, v), loading it
    /// into a temporary when it cannot be a memory operand; returns whether a temporary is held.
    fn operand_src(
        &mut self,
        i: usize,
        op: &Operand,
        mk: &Micro,
        r: usize,
        v: usize,
        temps: &mut Temps,
    ) -> (Src, bool) {
        let col_off = v as i64 * self.lanes as i64 * op.strides.col;
        let m = M::at(self.regs.ops[i], mk.row_offset(r, op.strides.rows) + col_off);
        let partial = mk.masked && v == mk.nv - 1 && op.strides.col != 0;
        match (op.strides.col == 0, partial, self.level) {
            (true, _, Level::Avx512) => (Src::Bcst(m), false),
            (false, false, _) => (Src::Mem(m), false),
            (true, _, Level::Avx2) => {
                let t = temps.take().unwrap_or(V(0));
                self.asm.vbroadcast(t, m);
                (Src::Reg(t), true)
            }
            (false, true, Level::Avx512) => {
                let t = temps.take().unwrap_or(V(0));
                self.asm.vload_k(t, m, 1);
                (Src::Reg(t), true)
            }
            (false, true, Level::Avx2) => {
                let t = temps.take().unwrap_or(V(0));
                let mask = self.asm.lane_mask(self.tail_lanes());
                self.asm.vset(t, mask);
                self.asm.vload_maskv(t, m, t);
                (Src::Reg(t), true)
            }
        }
    }

    fn apply_program(&mut self, p: &kiln_ir::Program, mk: &Micro, r: usize, v: usize, acc: V, temps: &mut Temps) -> V {
        let extras = self.task.epilogue.extras.clone();
        let first = usize::from(self.task.epilogue.addend.is_some());
        let mut args = Vec::with_capacity(extras.len());
        let mut held = Vec::new();
        for (k, op) in extras.iter().enumerate() {
            let (src, owned) = self.operand_src(first + k, op, mk, r, v, temps);
            if owned {
                held.extend(reg_of(src));
            }
            args.push(src);
        }
        let res = program::emit(self.asm, p, acc, &args, temps).unwrap_or(acc);
        for t in held {
            temps.give(t);
        }
        res
    }

    fn c_mem(&self, mk: &Micro, r: usize, v: usize) -> M {
        M::at(self.regs.c, mk.row_offset(r, self.task.c_rows) + v as i64 * self.vb)
    }

    fn store(&mut self, mk: &Micro, r: usize, v: usize, val: V, temps: &mut Temps) {
        let m = self.c_mem(mk, r, v);
        let partial = mk.masked && v == mk.nv - 1;
        match (partial, self.level) {
            (false, _) => self.asm.vstore(m, val),
            (true, Level::Avx512) => self.asm.vstore_k(m, val, 1),
            (true, Level::Avx2) => {
                let t = temps.take().unwrap_or(V(15));
                let mask = self.asm.lane_mask(self.tail_lanes());
                self.asm.vset(t, mask);
                self.asm.vstore_maskv(m, val, t);
                temps.give(t);
            }
        }
    }

    /// The fallback when the program needs more registers than the tile leaves: every stored
    /// element is loaded back (from L1) and the program runs with all registers free.
    fn program_from_memory(&mut self, p: &kiln_ir::Program, mk: &Micro) {
        let rows: Vec<usize> = (0..mk.mr()).filter(|&r| self.output_valid(mk, r)).collect();
        for r in rows {
            for v in 0..mk.nv {
                let mut temps = Temps::new((1..self.level.vregs()).rev().map(|i| V(i as u8)));
                let m = self.c_mem(mk, r, v);
                let x = V(0);
                let partial = mk.masked && v == mk.nv - 1;
                match (partial, self.level) {
                    (false, _) => self.asm.vload(x, m),
                    (true, Level::Avx512) => self.asm.vload_k(x, m, 1),
                    (true, Level::Avx2) => {
                        let mask = self.asm.lane_mask(self.tail_lanes());
                        self.asm.vset(x, mask);
                        self.asm.vload_maskv(x, m, x);
                    }
                }
                let res = self.apply_program(p, mk, r, v, x, &mut temps);
                self.store(mk, r, v, res, &mut temps);
            }
        }
    }

    // ---- padded copy ----

    /// Copies one image into the zero-padded scratch the task's A reads (see [`PadCopy`]).
    fn pad_copy(&mut self, p: &PadCopy) {
        let (dst, src) = (self.regs.ak, self.regs.bk);
        let (row_ctr, fill_ctr) = (self.regs.t1, self.regs.k);
        let wp = p.left + p.w + p.right;
        self.asm.mov(dst, self.regs.a);
        self.asm.load_gpr(src, self.regs.pad_src);
        let f = p.fill;
        self.fill(dst, None, p.top * wp * p.c, fill_ctr, f.into());
        let body = |g: &mut Self| {
            g.fill(dst, None, p.left * p.c, fill_ctr, f.into());
            g.fill(dst, Some(src), p.w * p.c, fill_ctr, f.into());
            g.fill(dst, None, p.right * p.c, fill_ctr, f.into());
        };
        self.repeat(p.h, row_ctr, &Vec::new(), &body);
        self.fill(dst, None, p.bottom * wp * p.c, fill_ctr, f.into());
    }

    /// Writes `n` floats at `dst` (`value`, or copied from `src`), advancing the pointers.
    fn fill(&mut self, dst: G, src: Option<G>, n: usize, ctr: Loc, value: f32) {
        if n == 0 {
            return;
        }
        let (lanes, vb) = (self.lanes, self.vb);
        let zero = V(0);
        if src.is_none() {
            self.set_fill(zero, value);
        }
        let block = 4;
        let chunk = |g: &mut Self, vectors: usize| {
            for i in 0..vectors {
                let off = i as i64 * vb;
                let x = match src {
                    Some(s) => {
                        g.asm.vload(V(1 + i as u8), M::at(s, off));
                        V(1 + i as u8)
                    }
                    None => zero,
                };
                g.asm.vstore(M::at(dst, off), x);
            }
        };
        let mut moves = vec![(Loc::Reg(dst), block as i64 * vb)];
        if let Some(s) = src {
            moves.push((Loc::Reg(s), block as i64 * vb));
        }
        let full = n / lanes;
        self.repeat(full / block, ctr, &moves, &|g: &mut Self| chunk(g, block));
        chunk(self, full % block);
        let rest_moves: Moves = moves.iter().map(|&(l, _)| (l, (full % block) as i64 * vb)).collect();
        self.advance(&rest_moves, 1);
        let tail = n % lanes;
        if tail > 0 {
            self.partial_fill(dst, src, tail, value);
            let tail_moves: Moves = moves.iter().map(|&(l, _)| (l, 4 * tail as i64)).collect();
            self.advance(&tail_moves, 1);
        }
    }

    /// `d = value` in every lane.
    fn set_fill(&mut self, d: V, value: f32) {
        if value == 0.0 {
            self.asm.vzero(d);
        } else {
            let c = self.asm.constant(value);
            self.asm.vset(d, c);
        }
    }

    /// Writes the first `n < lanes` floats of one vector at `dst` (`value` or from `src`).
    fn partial_fill(&mut self, dst: G, src: Option<G>, n: usize, value: f32) {
        let x = V(1);
        match self.level {
            Level::Avx512 => {
                let Some(scratch) = self.regs.spare_gpr() else {
                    return self.asm.fail("no general register free for the pad copy's mask");
                };
                self.asm.set_mask(3, (1u32 << n) - 1, scratch);
                match src {
                    Some(s) => self.asm.vload_k(x, M::at(s, 0), 3),
                    None => self.set_fill(x, value),
                }
                self.asm.vstore_k(M::at(dst, 0), x, 3);
            }
            Level::Avx2 => {
                let mask = V(2);
                let m = self.asm.lane_mask(n);
                self.asm.vset(mask, m);
                match src {
                    Some(s) => self.asm.vload_maskv(x, M::at(s, 0), mask),
                    None => self.set_fill(x, value),
                }
                self.asm.vstore_maskv(M::at(dst, 0), x, mask);
            }
        }
    }
}

impl Regs {
    /// A general register free during the pad copy (a tile or tap counter not in use yet).
    fn spare_gpr(&self) -> Option<G> {
        [self.t2, self.r2, self.r1, self.panel].into_iter().find_map(|l| match l {
            Loc::Reg(g) => Some(g),
            Loc::Mem(_) => None,
        })
    }
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

fn reg_of(s: Src) -> Option<V> {
    match s {
        Src::Reg(v) => Some(v),
        _ => None,
    }
}

/// One specialised copy of the micro-kernel: `th x tw` rows by `nv` vectors, the last vector
/// partial when `masked`. Vector registers: accumulators first, then B, then (AVX2) the mask
/// register when partial loads need one, then one or two broadcast registers (two when they
/// fit: consecutive rows then never wait on one register's reuse).
#[derive(Clone, Copy, Debug)]
pub(super) struct Micro {
    pub(super) th: usize,
    pub(super) tw: usize,
    pub(super) nv: usize,
    pub(super) masked: bool,
    pub(super) bcst: usize,
    /// The tile's first grid position per axis when placed individually (border tiles of a
    /// [`Clip`](crate::mk::task::Clip), cropped Winograd output tiles), `None` inside a loop of
    /// interior tiles.
    pub(super) pos: [Option<usize>; 2],
    /// Rows and pixels inside one grid step (1; `m` for a Winograd output tile, whose grid
    /// strides span `m` pixels), and the first row of this part of it.
    pub(super) sub: usize,
    pub(super) row_base: usize,
}

/// A run of `count` tiles of `size` along one grid axis; `start` is the first one's position
/// when the run is a single border tile whose taps are resolved at compile time.
#[derive(Clone, Copy, Debug)]
struct Segment {
    count: usize,
    size: usize,
    start: Option<usize>,
}

impl Micro {
    fn mr(&self) -> usize {
        self.th * self.tw
    }
    fn acc(&self, r: usize, v: usize) -> V {
        V((r * self.nv + v) as u8)
    }
    fn b_reg(&self, v: usize) -> V {
        V((self.mr() * self.nv + v) as u8)
    }
    /// The broadcast register of row `r`.
    fn bcst_reg(&self, r: usize) -> V {
        V((self.mr() * self.nv + self.nv + 1 + r % self.bcst.max(1)) as u8)
    }
    fn mask_reg(&self) -> V {
        V((self.mr() * self.nv + self.nv) as u8)
    }
    /// Byte offset of tile row `r` for grid strides `s`.
    fn row_offset(&self, r: usize, s: [i64; 2]) -> i64 {
        let sub = self.sub.max(1) as i64;
        ((self.row_base + r / self.tw) as i64 * s[0] + (r % self.tw) as i64 * s[1]) / sub
    }
}
