//! A thin layer over dynasmrt's AArch64 assembler for the NEON generator: registers by number,
//! one method per instruction form the generator needs, and every immediate checked before it
//! reaches dynasm (whose run-time encoders panic on an out-of-range immediate): offsets and
//! constants that do not fit an instruction go through the scratch register `x16`
//! ([`TMP`], mov/movk), so any displacement a plan produces assembles.
//!
//! Constants (alpha, clip bounds...) are materialised in place (`movz/movk w16` then
//! `dup v.4s, w16`): the kernel has no data, no literal pool and no relocation.

// `dynasm!` converts dynamic register numbers with `.into()`, which clippy flags on `u8`.
#![allow(clippy::useless_conversion)]

use dynasmrt::aarch64::Aarch64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};

/// The scratch register of the helpers (the veneer register x16, free inside a leaf).
pub const TMP: u8 = 16;
/// A second scratch register for the generator's own address computations (x17).
pub const TMP2: u8 = 17;
/// The stack pointer as a base register number (encoded as 31 in `XSP`).
pub const SP: u8 = 31;

/// The size of one vector memory access: a full `q`, the low two lanes (`d`) or one (`s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    Q,
    D,
    S,
}

impl Width {
    pub fn bytes(self) -> i64 {
        match self {
            Width::Q => 16,
            Width::D => 8,
            Width::S => 4,
        }
    }
}

/// Three-operand vector arithmetic on `.4s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op3 {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    /// `fmaxnm`: the number when one operand is a quiet NaN (max pooling ignores NaN inputs).
    MaxNm,
}

/// The assembler of one kernel and its first error.
pub struct Asm {
    ops: VecAssembler<Aarch64Relocation>,
    err: Option<String>,
}

impl Default for Asm {
    fn default() -> Self {
        Asm::new()
    }
}

impl Asm {
    pub fn new() -> Asm {
        Asm { ops: VecAssembler::new(0), err: None }
    }

    /// Records the first generator error (the kernel is then refused).
    pub fn fail(&mut self, msg: &str) {
        if self.err.is_none() {
            self.err = Some(msg.to_string());
        }
    }

    pub fn failed(&self) -> bool {
        self.err.is_some()
    }

    /// The machine code, or the first error.
    pub fn finish(self) -> Result<Vec<u8>, String> {
        if let Some(e) = self.err {
            return Err(e);
        }
        self.ops.finalize().map_err(|e| format!("dynasm: {e:?}"))
    }

    pub fn label(&mut self) -> DynamicLabel {
        self.ops.new_dynamic_label()
    }

    pub fn bind(&mut self, l: DynamicLabel) {
        dynasm!(self.ops ; .arch aarch64 ; =>l);
    }

    /// Aligns the next instruction to 16 bytes (loop heads) with `nop`s.
    pub fn align16(&mut self) {
        while !self.ops.offset().0.is_multiple_of(16) {
            dynasm!(self.ops ; .arch aarch64 ; nop);
        }
    }

    /// `subs x{c}, x{c}, #1; b.ne l`.
    pub fn dec_bne(&mut self, c: u8, l: DynamicLabel) {
        dynasm!(self.ops ; .arch aarch64 ; subs X(c), XSP(c), 1 ; b.ne =>l);
    }

    /// `subs x{c}, x{c}, #1`.
    pub fn subs1(&mut self, c: u8) {
        dynasm!(self.ops ; .arch aarch64 ; subs X(c), XSP(c), 1);
    }

    pub fn bne(&mut self, l: DynamicLabel) {
        dynasm!(self.ops ; .arch aarch64 ; b.ne =>l);
    }

    pub fn ret(&mut self) {
        dynasm!(self.ops ; .arch aarch64 ; ret);
    }

    // ---- general registers ----

    /// `x{d} = v` with movz/movn and movk (1 to 4 instructions).
    pub fn mov_imm(&mut self, d: u8, v: i64) {
        let u = v as u64;
        let inverted = v < 0;
        let chunks: Vec<u32> = (0..4).map(|i| ((u >> (16 * i)) & 0xffff) as u32).collect();
        let fill = if inverted { 0xffff } else { 0 };
        let first = chunks.iter().position(|&c| c != fill).unwrap_or(0);
        let c0 = chunks[first];
        let s0 = (16 * first) as u32;
        if inverted {
            let n = !c0 & 0xffff;
            dynasm!(self.ops ; .arch aarch64 ; movn X(d), n, lsl s0);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; movz X(d), c0, lsl s0);
        }
        for (i, &c) in chunks.iter().enumerate().skip(first + 1) {
            if c != fill {
                let s = (16 * i) as u32;
                dynasm!(self.ops ; .arch aarch64 ; movk X(d), c, lsl s);
            }
        }
    }

    /// `x{d} = x{n} + v` (`n` may be [`SP`] only when `v` fits 24 bits).
    pub fn add_imm(&mut self, d: u8, n: u8, v: i64) {
        let a = v.unsigned_abs();
        if v == 0 && d == n {
            return;
        }
        if a < 1 << 12 || (a.is_multiple_of(4096) && a < 1 << 24) {
            let (imm, shift) = if a < 1 << 12 { (a as u32, 0) } else { ((a >> 12) as u32, 12) };
            // XSP: register 31 is sp here (the generator never names xzr in these).
            if v < 0 {
                dynasm!(self.ops ; .arch aarch64 ; sub XSP(d), XSP(n), imm, lsl shift);
            } else {
                dynasm!(self.ops ; .arch aarch64 ; add XSP(d), XSP(n), imm, lsl shift);
            }
            return;
        }
        if n == SP || d == SP {
            return self.fail("stack adjustment too large");
        }
        self.mov_imm(TMP, v);
        dynasm!(self.ops ; .arch aarch64 ; add X(d), X(n), X(TMP));
    }

    pub fn mov(&mut self, d: u8, n: u8) {
        if d != n {
            dynasm!(self.ops ; .arch aarch64 ; mov X(d), X(n));
        }
    }

    /// `x{d} = [x{base} + off]` (64-bit).
    pub fn ldr_x(&mut self, d: u8, base: u8, off: i64) {
        match self.gpr_offset(base, off) {
            Some(o) if base == SP => dynasm!(self.ops ; .arch aarch64 ; ldr X(d), [XSP(base), o]),
            Some(o) => dynasm!(self.ops ; .arch aarch64 ; ldr X(d), [X(base), o]),
            None => self.fail("frame offset too large"),
        }
    }

    /// `[x{base} + off] = x{s}` (64-bit).
    pub fn str_x(&mut self, s: u8, base: u8, off: i64) {
        match self.gpr_offset(base, off) {
            Some(o) if base == SP => dynasm!(self.ops ; .arch aarch64 ; str X(s), [XSP(base), o]),
            Some(o) => dynasm!(self.ops ; .arch aarch64 ; str X(s), [X(base), o]),
            None => self.fail("frame offset too large"),
        }
    }

    fn gpr_offset(&self, _base: u8, off: i64) -> Option<u32> {
        (off >= 0 && off % 8 == 0 && off < 8 * 4096).then_some(off as u32)
    }

    /// Saves (or restores) `x{a}, x{b}` at `[sp + off]`.
    pub fn pair_x(&mut self, a: u8, b: u8, off: i32, store: bool) {
        if store {
            dynasm!(self.ops ; .arch aarch64 ; stp X(a), X(b), [sp, off]);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; ldp X(a), X(b), [sp, off]);
        }
    }

    /// Saves (or restores) `d{a}, d{b}` at `[sp + off]`.
    pub fn pair_d(&mut self, a: u8, b: u8, off: i32, store: bool) {
        if store {
            dynasm!(self.ops ; .arch aarch64 ; stp D(a), D(b), [sp, off]);
        } else {
            dynasm!(self.ops ; .arch aarch64 ; ldp D(a), D(b), [sp, off]);
        }
    }

    // ---- vector memory ----

    /// Loads `w` bytes at `[x{base} + off]` into `v{t}` (upper lanes zeroed for `d`/`s`).
    pub fn vload(&mut self, t: u8, base: u8, off: i64, w: Width) {
        self.vmem(t, base, off, w, true);
    }

    /// Stores the low `w` bytes of `v{t}` at `[x{base} + off]`.
    pub fn vstore(&mut self, t: u8, base: u8, off: i64, w: Width) {
        self.vmem(t, base, off, w, false);
    }

    fn vmem(&mut self, t: u8, base: u8, off: i64, w: Width, load: bool) {
        let size = w.bytes();
        if off >= 0 && off % size == 0 && off / size < 4096 {
            let o = off as u32;
            match (w, load) {
                (Width::Q, true) => dynasm!(self.ops ; .arch aarch64 ; ldr Q(t), [X(base), o]),
                (Width::D, true) => dynasm!(self.ops ; .arch aarch64 ; ldr D(t), [X(base), o]),
                (Width::S, true) => dynasm!(self.ops ; .arch aarch64 ; ldr S(t), [X(base), o]),
                (Width::Q, false) => dynasm!(self.ops ; .arch aarch64 ; str Q(t), [X(base), o]),
                (Width::D, false) => dynasm!(self.ops ; .arch aarch64 ; str D(t), [X(base), o]),
                (Width::S, false) => dynasm!(self.ops ; .arch aarch64 ; str S(t), [X(base), o]),
            }
            return;
        }
        self.mov_imm(TMP, off);
        match (w, load) {
            (Width::Q, true) => dynasm!(self.ops ; .arch aarch64 ; ldr Q(t), [X(base), X(TMP)]),
            (Width::D, true) => dynasm!(self.ops ; .arch aarch64 ; ldr D(t), [X(base), X(TMP)]),
            (Width::S, true) => dynasm!(self.ops ; .arch aarch64 ; ldr S(t), [X(base), X(TMP)]),
            (Width::Q, false) => dynasm!(self.ops ; .arch aarch64 ; str Q(t), [X(base), X(TMP)]),
            (Width::D, false) => dynasm!(self.ops ; .arch aarch64 ; str D(t), [X(base), X(TMP)]),
            (Width::S, false) => dynasm!(self.ops ; .arch aarch64 ; str S(t), [X(base), X(TMP)]),
        }
    }

    /// Loads `w` bytes at `[x{p}]` into `v{t}` and advances `x{p}` by them (post-index).
    pub fn vload_post(&mut self, t: u8, p: u8, w: Width) {
        match w {
            Width::Q => dynasm!(self.ops ; .arch aarch64 ; ldr Q(t), [X(p)], 16),
            Width::D => dynasm!(self.ops ; .arch aarch64 ; ldr D(t), [X(p)], 8),
            Width::S => dynasm!(self.ops ; .arch aarch64 ; ldr S(t), [X(p)], 4),
        }
    }

    /// Stores `v{t}` at `[x{p}]` and advances `x{p}` (post-index).
    pub fn vstore_post(&mut self, t: u8, p: u8, w: Width) {
        match w {
            Width::Q => dynasm!(self.ops ; .arch aarch64 ; str Q(t), [X(p)], 16),
            Width::D => dynasm!(self.ops ; .arch aarch64 ; str D(t), [X(p)], 8),
            Width::S => dynasm!(self.ops ; .arch aarch64 ; str S(t), [X(p)], 4),
        }
    }

    // ---- vector arithmetic ----

    /// `acc += b * a[lane]` (fmla by element).
    pub fn fmla_lane(&mut self, acc: u8, b: u8, a: u8, lane: u32) {
        dynasm!(self.ops ; .arch aarch64 ; fmla V(acc).S4, V(b).S4, V(a).S[lane]);
    }

    /// `acc += b * a` lane by lane.
    pub fn fmla(&mut self, acc: u8, b: u8, a: u8) {
        dynasm!(self.ops ; .arch aarch64 ; fmla V(acc).S4, V(b).S4, V(a).S4);
    }

    pub fn vop(&mut self, op: Op3, d: u8, n: u8, m: u8) {
        match op {
            Op3::Add => dynasm!(self.ops ; .arch aarch64 ; fadd V(d).S4, V(n).S4, V(m).S4),
            Op3::Sub => dynasm!(self.ops ; .arch aarch64 ; fsub V(d).S4, V(n).S4, V(m).S4),
            Op3::Mul => dynasm!(self.ops ; .arch aarch64 ; fmul V(d).S4, V(n).S4, V(m).S4),
            Op3::Div => dynasm!(self.ops ; .arch aarch64 ; fdiv V(d).S4, V(n).S4, V(m).S4),
            Op3::Max => dynasm!(self.ops ; .arch aarch64 ; fmax V(d).S4, V(n).S4, V(m).S4),
            Op3::Min => dynasm!(self.ops ; .arch aarch64 ; fmin V(d).S4, V(n).S4, V(m).S4),
            Op3::MaxNm => dynasm!(self.ops ; .arch aarch64 ; fmaxnm V(d).S4, V(n).S4, V(m).S4),
        }
    }

    pub fn fneg(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; fneg V(d).S4, V(n).S4);
    }

    pub fn fabs(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; fabs V(d).S4, V(n).S4);
    }

    pub fn fsqrt(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; fsqrt V(d).S4, V(n).S4);
    }

    /// `d = n >= 0 ? ... `: the lane mask `n >= 0` (all ones where true, false for NaN).
    pub fn fcmge_zero(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; fcmge V(d).S4, V(n).S4, 0.0);
    }

    /// Bitwise select: `d = mask(d) ? n : m`.
    pub fn bsl(&mut self, d: u8, n: u8, m: u8) {
        dynasm!(self.ops ; .arch aarch64 ; bsl V(d).B16, V(n).B16, V(m).B16);
    }

    pub fn vzero(&mut self, d: u8) {
        dynasm!(self.ops ; .arch aarch64 ; movi V(d).D2, 0);
    }

    pub fn vmov(&mut self, d: u8, n: u8) {
        if d != n {
            dynasm!(self.ops ; .arch aarch64 ; mov V(d).B16, V(n).B16);
        }
    }

    /// Every lane of `v{d}` = `value` (through `w16`).
    pub fn vconst(&mut self, d: u8, value: f32) {
        if value.to_bits() == 0 {
            return self.vzero(d);
        }
        let bits = value.to_bits();
        let (lo, hi) = (bits & 0xffff, bits >> 16);
        dynasm!(self.ops ; .arch aarch64 ; movz W(TMP), lo ; movk W(TMP), hi, lsl 16 ; dup V(d).S4, W(TMP));
    }

    /// Every lane of `v{d}` = the 32-bit pattern `bits` (through `w16`).
    pub fn vconst_bits(&mut self, d: u8, bits: u32) {
        self.vconst(d, f32::from_bits(bits));
    }

    /// `acc -= b * a` lane by lane.
    pub fn fmls(&mut self, acc: u8, b: u8, a: u8) {
        dynasm!(self.ops ; .arch aarch64 ; fmls V(acc).S4, V(b).S4, V(a).S4);
    }

    /// Round to nearest, ties to even.
    pub fn frintn(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; frintn V(d).S4, V(n).S4);
    }

    /// Float to signed 32-bit integer (toward zero; exact for integral values).
    pub fn fcvtzs(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; fcvtzs V(d).S4, V(n).S4);
    }

    /// 32-bit integer lanes: `d = n + m`.
    pub fn add_i32(&mut self, d: u8, n: u8, m: u8) {
        dynasm!(self.ops ; .arch aarch64 ; add V(d).S4, V(n).S4, V(m).S4);
    }

    /// 32-bit integer lanes: `d = n - m`.
    pub fn sub_i32(&mut self, d: u8, n: u8, m: u8) {
        dynasm!(self.ops ; .arch aarch64 ; sub V(d).S4, V(n).S4, V(m).S4);
    }

    /// 32-bit integer lanes: `d = n >> 1` (arithmetic).
    pub fn sshr1(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; sshr V(d).S4, V(n).S4, 1);
    }

    /// 32-bit integer lanes: `d = n << 23` (into a float's exponent field).
    pub fn shl23(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; shl V(d).S4, V(n).S4, 23);
    }

    /// Bitwise `d = n & m`.
    pub fn and(&mut self, d: u8, n: u8, m: u8) {
        dynasm!(self.ops ; .arch aarch64 ; and V(d).B16, V(n).B16, V(m).B16);
    }

    /// Bitwise `d = n ^ m`.
    pub fn eor(&mut self, d: u8, n: u8, m: u8) {
        dynasm!(self.ops ; .arch aarch64 ; eor V(d).B16, V(n).B16, V(m).B16);
    }

    /// The lane mask `n > m` (false for NaN).
    pub fn fcmgt(&mut self, d: u8, n: u8, m: u8) {
        dynasm!(self.ops ; .arch aarch64 ; fcmgt V(d).S4, V(n).S4, V(m).S4);
    }

    /// Every lane of `v{d}` = lane 0 of `v{n}`.
    pub fn dup_lane0(&mut self, d: u8, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; dup V(d).S4, V(n).S[0]);
    }

    /// Lane 0 of `v{d}` (scalar `s{d}`) = lane `lane` of `v{n}`.
    pub fn dup_scalar(&mut self, d: u8, n: u8, lane: u32) {
        dynasm!(self.ops ; .arch aarch64 ; dup S(d), V(n).S[lane]);
    }

    /// Lane `lane` of `v{d}` = lane 0 of `v{n}`.
    pub fn ins_lane(&mut self, d: u8, lane: u32, n: u8) {
        dynasm!(self.ops ; .arch aarch64 ; ins V(d).S[lane], V(n).S[0]);
    }
}
