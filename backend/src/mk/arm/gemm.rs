//! The AArch64 NEON generator of [`GemmTask`] kernels: the whole loop nest in machine code for
//! one exact shape, around one register-blocked micro-kernel (`th * tw` rows by `nv` vectors of
//! 4 columns).
//!
//! Loop nest, outermost first (every trip count is a constant of the shape), as the x86
//! generator: the task's outer loops (with the zero-padded copy of each image when the task has
//! a [`PadCopy`]), column panels of `nv` vectors, rows of tiles along the first grid axis, tiles
//! along the second, then the micro-kernel over the taps and the contiguous depth.
//!
//! The micro-kernel keeps one pointer per tile row (`x` registers, set from A's row offsets at
//! the tile's start) and reads A with post-indexed loads: four reduction steps at a time as one
//! `ldr q` per row, each lane then multiplied in with `fmla v.4s, b.4s, a.s[i]` (by element), so
//! A needs one register per row and no broadcast instruction (as XNNPACK's `ld128` kernels).
//! A depth that is not a multiple of 4 ends with single-step `ldr s` loads. B vectors are plain
//! `ldr q` from the packed panel (or the row-major B in place).
//!
//! NEON has no masked loads or stores, so the partial last vector of N (1 to 3 columns) is read
//! and written lane-exactly: `s` (one lane), `d` (two), `d` plus one `s` (three). Every row and
//! column leftover gets its own specialised copy of the micro-kernel, so no access ever leaves
//! its operand. Pointers advance by constant strides as loops iterate and are moved back when a
//! loop ends, so each loop level sees the same pointer values on every iteration of its parent.
//!
//! Covered: broadcast-mode tasks (GEMM, MatMul, implicit-GEMM convolution with taps, groups and
//! padded copies), the vector modes of `super::vector` (depthwise, pooling) and the Winograd
//! transforms of `super::winograd`.

use super::asm::{Asm, Width, SP, TMP2};
use super::frame::{Frame, ALLOCATABLE};
use crate::mk::task::{AMode, BSource, Base, GemmTask, Operand, PadCopy};
use crate::mk::tile::Tile;
use dynasmrt::DynamicLabel;

const LANES: usize = 4;
const VB: i64 = 16;
const VREGS: usize = 32;

/// True when the NEON generator covers the shape of `task` (clipped taps only in the vector
/// modes, padded copies only in the broadcast and Winograd modes, as plans make them).
pub fn supports(task: &GemmTask) -> bool {
    let mode = match task.a_mode {
        AMode::Broadcast => task.clip.is_none(),
        AMode::Vector | AMode::VectorMax | AMode::VectorSum => task.pad.is_none(),
        AMode::Winograd(_) => task.clip.is_none(),
    };
    mode && task.depth > 0 && task.n > 0
}

/// Assembles the kernel of `task` with register tile `tile`; it takes `params` pointers.
pub fn assemble(params: usize, task: &GemmTask, tile: Tile) -> Result<Vec<u8>, String> {
    if !supports(task) {
        return Err("task shape not covered by the NEON generator".into());
    }
    let mut asm = Asm::new();
    match Gen::new(&mut asm, params, task, tile) {
        Some(mut g) => g.emit(),
        None => asm.fail("not enough general registers for the NEON kernel"),
    }
    asm.finish()
}

/// Where a pointer or counter lives: a register, or a frame slot (`sp` offset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Reg(u8),
    Mem(i64),
}

/// Pointer movements: add `delta` bytes to `loc`.
type Moves = Vec<(Loc, i64)>;

pub(super) struct Regs {
    pub(super) a: u8,
    b: u8,
    pub(super) c: u8,
    ak: u8,
    pub(super) bk: u8,
    pub(super) ops: Vec<u8>,
    /// Row pointers of the micro-kernel.
    pub(super) rows: Vec<u8>,
    k: Loc,
    t1: Loc,
    t2: Loc,
    r2: Loc,
    r1: Loc,
    panel: Loc,
    outer: Vec<Loc>,
    pad_src: Loc,
}

pub(super) struct Gen<'a, 't> {
    pub(super) asm: &'a mut Asm,
    pub(super) task: &'t GemmTask,
    tile: Tile,
    pub(super) frame: Frame,
    pub(super) regs: Regs,
}

/// One specialised copy of the micro-kernel. Vector registers: accumulators, then the `nv` B
/// vectors, then one A register per row, then one spare (partial B loads).
/// `pos`: the tile's first grid position per axis when placed individually (border tiles of a
/// [`Clip`](crate::mk::task::Clip)), `None` inside a loop of interior tiles.
#[derive(Clone, Copy, Debug)]
pub(super) struct Micro {
    pub(super) th: usize,
    pub(super) tw: usize,
    pub(super) nv: usize,
    pub(super) masked: bool,
    pub(super) pos: [Option<usize>; 2],
    /// Rows and pixels inside one grid step (1; `m` for a Winograd output tile, whose grid
    /// strides span `m` pixels), and the first row of this part of it.
    pub(super) sub: usize,
    pub(super) row_base: usize,
}

impl Micro {
    pub(super) fn mr(&self) -> usize {
        self.th * self.tw
    }
    pub(super) fn acc(&self, r: usize, v: usize) -> u8 {
        (r * self.nv + v) as u8
    }
    pub(super) fn b_reg(&self, v: usize) -> u8 {
        (self.mr() * self.nv + v) as u8
    }
    pub(super) fn a_reg(&self, r: usize) -> u8 {
        (self.mr() * self.nv + self.nv + r) as u8
    }
    pub(super) fn spare(&self) -> u8 {
        (self.mr() * self.nv + self.nv + self.mr()) as u8
    }
    fn fits(&self) -> bool {
        self.mr() * self.nv + self.nv + self.mr() < VREGS
    }
    /// Byte offset of tile row `r` for grid strides `s`.
    pub(super) fn row_offset(&self, r: usize, s: [i64; 2]) -> i64 {
        let sub = self.sub.max(1) as i64;
        ((self.row_base + r / self.tw) as i64 * s[0] + (r % self.tw) as i64 * s[1]) / sub
    }
}

impl<'a, 't> Gen<'a, 't> {
    fn new(asm: &'a mut Asm, params: usize, task: &'t GemmTask, tile: Tile) -> Option<Self> {
        let mut free = ALLOCATABLE.iter().copied();
        let mut take = || free.next();
        let (a, b, c, ak, bk) = (take()?, take()?, take()?, take()?, take()?);
        let ops: Vec<u8> = (0..task.epilogue.operands().count()).map(|_| take()).collect::<Option<_>>()?;
        let rows: Vec<u8> = (0..tile.mr()).map(|_| take()).collect::<Option<_>>()?;
        let wanted = 6 + task.outer.len();
        let mut slots = 0;
        let mut counters = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            counters.push(match take() {
                Some(g) => Loc::Reg(g),
                None => {
                    slots += 1;
                    Loc::Mem(slots as i64 - 1)
                }
            });
        }
        let frame = Frame::new(params, slots + 1);
        let fix = |l: Loc| match l {
            Loc::Mem(i) => Loc::Mem(frame.slot(i as usize)),
            r => r,
        };
        let counters: Vec<Loc> = counters.into_iter().map(fix).collect();
        let pad_src = Loc::Mem(frame.slot(slots));
        let regs = Regs {
            a,
            b,
            c,
            ak,
            bk,
            ops,
            rows,
            k: counters[0],
            t1: counters[1],
            t2: counters[2],
            r2: counters[3],
            r1: counters[4],
            panel: counters[5],
            outer: counters[6..].to_vec(),
            pad_src,
        };
        Some(Gen { asm, task, tile, frame, regs })
    }

    fn emit(&mut self) {
        self.frame.prologue(self.asm);
        self.load_pointers();
        self.outer_body(0);
        self.frame.epilogue(self.asm);
    }

    fn load_base(&mut self, g: u8, p: Base) {
        self.asm.ldr_x(g, SP, self.frame.param(p.param));
        self.asm.add_imm(g, g, p.offset);
    }

    fn load_pointers(&mut self) {
        let t = self.task;
        self.load_base(self.regs.a, t.a);
        self.load_base(self.regs.b, t.b);
        self.load_base(self.regs.c, t.c);
        for (i, op) in t.epilogue.operands().enumerate() {
            self.load_base(self.regs.ops[i], op.base);
        }
        if let (Some(p), Loc::Mem(off)) = (&t.pad, self.regs.pad_src) {
            self.load_base(TMP2, p.src);
            self.asm.str_x(TMP2, SP, off);
        }
    }

    /// Columns in the partial last vector of N (0 when N is a multiple of 4).
    pub(super) fn tail_lanes(&self) -> usize {
        self.task.n % LANES
    }

    // ---- loops ----

    fn init(&mut self, ctr: Loc, count: usize) {
        match ctr {
            Loc::Reg(g) => self.asm.mov_imm(g, count as i64),
            Loc::Mem(off) => {
                self.asm.mov_imm(TMP2, count as i64);
                self.asm.str_x(TMP2, SP, off);
            }
        }
    }

    /// Decrements `ctr` and branches to `top` while it is not zero.
    fn dec_loop(&mut self, ctr: Loc, top: DynamicLabel) {
        match ctr {
            Loc::Reg(g) => self.asm.dec_bne(g, top),
            Loc::Mem(off) => {
                self.asm.ldr_x(TMP2, SP, off);
                self.asm.subs1(TMP2);
                self.asm.str_x(TMP2, SP, off);
                self.asm.bne(top);
            }
        }
    }

    fn advance(&mut self, moves: &Moves, times: i64) {
        for &(loc, d) in moves {
            match loc {
                Loc::Reg(g) => self.asm.add_imm(g, g, d * times),
                Loc::Mem(off) if d * times != 0 => {
                    self.asm.ldr_x(TMP2, SP, off);
                    self.asm.add_imm(TMP2, TMP2, d * times);
                    self.asm.str_x(TMP2, SP, off);
                }
                Loc::Mem(_) => {}
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
                self.asm.align16();
                let top = self.asm.label();
                self.asm.bind(top);
                body(self);
                self.advance(moves, 1);
                self.dec_loop(ctr, top);
            }
        }
    }

    fn op_moves(&self, m: &mut Moves, delta: impl Fn(&Operand) -> i64) {
        for (i, op) in self.task.epilogue.operands().enumerate() {
            m.push((Loc::Reg(self.regs.ops[i]), delta(op)));
        }
    }

    /// The moves for one step of `rows` rows along row-grid axis `axis`.
    fn row_moves(&self, axis: usize, rows: usize) -> Moves {
        let (t, r) = (self.task, rows as i64);
        let mut m = vec![(Loc::Reg(self.regs.a), r * t.a_rows[axis]), (Loc::Reg(self.regs.c), r * t.c_rows[axis])];
        self.op_moves(&mut m, |op| r * op.strides.rows[axis]);
        m
    }

    fn panel_moves(&self, nv: usize) -> Moves {
        let t = self.task;
        let cols = (nv * LANES) as i64;
        let b = match t.b_source {
            BSource::Packed => cols * 4 * t.k() as i64,
            BSource::Strided { .. } => cols * 4,
        };
        let mut m = vec![(Loc::Reg(self.regs.b), b), (Loc::Reg(self.regs.c), cols * 4)];
        if t.a_mode.is_vector() {
            m.push((Loc::Reg(self.regs.a), cols * 4));
        }
        self.op_moves(&mut m, |op| cols * op.strides.col);
        m
    }

    fn outer_moves(&self, l: usize) -> Moves {
        let o = &self.task.outer[l];
        let regs = &self.regs;
        let mut m = vec![(Loc::Reg(regs.a), o.a), (Loc::Reg(regs.b), o.b), (Loc::Reg(regs.c), o.c)];
        self.op_moves(&mut m, |op| op.strides.outer.get(l).copied().unwrap_or(0));
        if let (Some(p), 0) = (&self.task.pad, l) {
            m.push((regs.pad_src, p.src_outer[0]));
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
            return self.panels();
        }
        let count = t.outer[l].count;
        let moves = self.outer_moves(l);
        let ctr = self.regs.outer[l];
        self.repeat(count, ctr, &moves, &|g: &mut Self| g.outer_body(l + 1));
        self.advance(&moves, -(count as i64));
    }

    /// Column panels: `(count, vectors, partial last vector)` parts.
    fn panel_parts(&self) -> Vec<(usize, usize, bool)> {
        let vectors = self.task.n.div_ceil(LANES);
        let nv = self.tile.nv.max(1);
        let (full, rest) = (vectors / nv, vectors % nv);
        let partial = self.tail_lanes() != 0;
        let mut parts = if rest > 0 {
            vec![(full, nv, false), (1, rest, partial)]
        } else if partial {
            vec![(full - 1, nv, false), (1, nv, true)]
        } else {
            vec![(full, nv, false)]
        };
        parts.retain(|p| p.0 > 0);
        parts
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
            let mk = Micro { th, tw: seg.size, nv, masked, pos: [row0, seg.start], sub: 1, row_base: 0 };
            self.repeat(seg.count, ctr, &moves, &|g: &mut Self| g.micro(mk));
            total.extend(moves.iter().map(|&(l, d)| (l, d * seg.count as i64)));
        }
        self.advance(&total, -1);
    }

    // ---- the micro-kernel ----

    fn micro(&mut self, mk: Micro) {
        if let AMode::Winograd(w) = self.task.a_mode {
            return self.winograd(&mk, &w);
        }
        if !mk.fits() || mk.mr() > self.regs.rows.len() {
            return self.asm.fail("tile does not fit the NEON register file");
        }
        let start = if self.task.a_mode == AMode::VectorMax { f32::MIN } else { 0.0 };
        for i in 0..mk.mr() * mk.nv {
            self.asm.vconst(i as u8, start);
        }
        self.asm.mov(self.regs.bk, self.regs.b);
        for r in 0..mk.mr() {
            let off = mk.row_offset(r, self.task.a_rows);
            self.asm.add_imm(self.regs.rows[r], self.regs.a, off);
        }
        if self.task.a_mode.is_vector() {
            self.vector_taps(&mk);
        } else {
            self.taps(&mk);
        }
        self.epilogue(&mk);
    }

    fn row_ptr_moves(&self, mk: &Micro, delta: i64) -> Moves {
        self.regs.rows[..mk.mr()].iter().map(|&g| (Loc::Reg(g), delta)).collect()
    }

    fn taps(&mut self, mk: &Micro) {
        let [(t1, s1), (t2, s2)] = self.task.taps;
        let depth_bytes = 4 * self.task.depth as i64;
        // With one tap the row pointers are dead after the depth: no moves.
        let moves2 = if t1 * t2 > 1 { self.row_ptr_moves(mk, s2 - depth_bytes) } else { Vec::new() };
        let moves1 = if t1 > 1 { self.row_ptr_moves(mk, s1 - t2 as i64 * s2) } else { Vec::new() };
        let inner = |g: &mut Self| g.repeat(t2, g.regs.t2, &moves2, &|g: &mut Self| g.depth(mk));
        self.repeat(t1, self.regs.t1, &moves1, &inner);
    }

    /// B bytes per reduction step in the current panel.
    fn b_step(&self, nv: usize) -> i64 {
        match self.task.b_source {
            BSource::Packed => nv as i64 * VB,
            BSource::Strided { row } => row,
        }
    }

    /// The contiguous depth of one tap: blocks of 4 steps, then single steps.
    fn depth(&mut self, mk: &Micro) {
        let d = self.task.depth;
        let bstep = self.b_step(mk.nv);
        let moves = vec![(Loc::Reg(self.regs.bk), 4 * bstep)];
        self.repeat(d / 4, self.regs.k, &moves, &|g: &mut Self| g.block4(mk, bstep));
        for s in 0..d % 4 {
            for r in 0..mk.mr() {
                self.asm.vload_post(mk.a_reg(r), self.regs.rows[r], Width::S);
            }
            self.load_b(mk, s as i64 * bstep);
            self.fmas(mk, 0);
        }
        self.advance(&vec![(Loc::Reg(self.regs.bk), (d % 4) as i64 * bstep)], 1);
    }

    /// Four reduction steps: one `q` of A per row, then per step the B vectors and the FMAs by
    /// element.
    fn block4(&mut self, mk: &Micro, bstep: i64) {
        for r in 0..mk.mr() {
            self.asm.vload_post(mk.a_reg(r), self.regs.rows[r], Width::Q);
        }
        for s in 0..4 {
            self.load_b(mk, s as i64 * bstep);
            self.fmas(mk, s as u32);
        }
    }

    fn fmas(&mut self, mk: &Micro, lane: u32) {
        for r in 0..mk.mr() {
            for v in 0..mk.nv {
                self.asm.fmla_lane(mk.acc(r, v), mk.b_reg(v), mk.a_reg(r), lane);
            }
        }
    }

    fn load_b(&mut self, mk: &Micro, off: i64) {
        let strided = matches!(self.task.b_source, BSource::Strided { .. });
        for v in 0..mk.nv {
            let at = off + v as i64 * VB;
            if strided && mk.masked && v == mk.nv - 1 {
                self.load_partial(mk.b_reg(v), self.regs.bk, at, mk.spare());
            } else {
                self.asm.vload(mk.b_reg(v), self.regs.bk, at, Width::Q);
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
        if let Loc::Mem(off) = self.regs.pad_src {
            self.asm.ldr_x(src, SP, off);
        }
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
    fn fill(&mut self, dst: u8, src: Option<u8>, n: usize, ctr: Loc, value: f32) {
        if n == 0 {
            return;
        }
        if src.is_none() {
            self.asm.vconst(0, value);
        }
        let one = |g: &mut Self, w: Width| match src {
            Some(s) => {
                g.asm.vload_post(1, s, w);
                g.asm.vstore_post(1, dst, w);
            }
            None => g.asm.vstore_post(0, dst, w),
        };
        self.repeat(n / LANES, ctr, &Vec::new(), &|g: &mut Self| one(g, Width::Q));
        for _ in 0..n % LANES {
            one(self, Width::S);
        }
    }
}
