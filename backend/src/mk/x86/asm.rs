//! A thin layer over iced-x86's `CodeAssembler` for the x86-64 micro-kernel generators.
//!
//! Registers are numbers ([`G`] for general-purpose, [`V`] for vector registers), and each
//! method is one instruction form the generators need, width-generic: the same call emits the
//! zmm (AVX-512F, 16 lanes, 32 registers) or ymm (AVX2+FMA, 8 lanes, 16 registers) form, so one
//! generator serves both ISA levels. Only AVX-512F instructions are used on the zmm path (no DQ,
//! BW or VL), so any AVX-512 CPU runs it.
//!
//! Errors from iced (an operand combination it cannot encode) are kept, not raised per call: the
//! first one is reported by [`Asm::finish`], so generator code reads as straight-line assembly.
//!
//! Constants live in a pool after the code, one full vector per value (so AVX2 arithmetic can
//! take them as memory operands), 64-byte aligned, addressed RIP-relative: the kernel has no
//! relocations and no data section. Alignment needs the code's length, so [`assemble`] runs the
//! generator twice (the code does not change when only the padding before the pool does:
//! RIP-relative operands always encode a 32-bit displacement).

use iced_x86::code_asm::*;

/// The x86 ISA levels with machine-code kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    /// zmm registers, 16 f32 lanes, 32 registers, k-register masks, embedded broadcasts.
    Avx512,
    /// ymm registers, 8 f32 lanes, 16 registers, `vmaskmovps` for partial vectors.
    Avx2,
}

impl Level {
    /// f32 lanes per vector.
    pub fn lanes(self) -> usize {
        match self {
            Level::Avx512 => 16,
            Level::Avx2 => 8,
        }
    }
    /// Vector registers.
    pub fn vregs(self) -> usize {
        match self {
            Level::Avx512 => 32,
            Level::Avx2 => 16,
        }
    }
    /// Bytes per vector.
    pub fn vbytes(self) -> i64 {
        4 * self.lanes() as i64
    }
}

/// A general-purpose register by hardware number (0 = rax, 1 = rcx, ... 4 = rsp, 15 = r15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct G(pub u8);

/// A vector register by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V(pub u8);

pub const RSP: G = G(4);

/// A memory operand `[base + disp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct M {
    pub base: G,
    pub disp: i32,
}

impl M {
    pub fn at(base: G, disp: i64) -> M {
        // Plans keep every displacement within i32 (`gemm_plan::fits_disp32`); clamp defensively.
        M { base, disp: disp.clamp(i32::MIN as i64, i32::MAX as i64) as i32 }
    }
    pub fn plus(self, more: i64) -> M {
        M::at(self.base, self.disp as i64 + more)
    }
}

/// A vector source operand.
#[derive(Clone, Copy, Debug)]
pub enum Src {
    Reg(V),
    /// A full vector in memory.
    Mem(M),
    /// One f32 in memory, broadcast (AVX-512 embedded broadcast; not encodable on AVX2).
    Bcst(M),
    /// A pooled constant, every lane equal (see [`Asm::constant`]).
    Const(CodeLabel),
}

const ZMM: [AsmRegisterZmm; 32] = [
    zmm0, zmm1, zmm2, zmm3, zmm4, zmm5, zmm6, zmm7, zmm8, zmm9, zmm10, zmm11, zmm12, zmm13, zmm14, zmm15, zmm16, zmm17,
    zmm18, zmm19, zmm20, zmm21, zmm22, zmm23, zmm24, zmm25, zmm26, zmm27, zmm28, zmm29, zmm30, zmm31,
];
const YMM: [AsmRegisterYmm; 16] =
    [ymm0, ymm1, ymm2, ymm3, ymm4, ymm5, ymm6, ymm7, ymm8, ymm9, ymm10, ymm11, ymm12, ymm13, ymm14, ymm15];
const XMM: [AsmRegisterXmm; 16] =
    [xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15];
const GPR: [AsmRegister64; 16] = [rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15];
const GPR32: [AsmRegister32; 16] =
    [eax, ecx, edx, ebx, esp, ebp, esi, edi, r8d, r9d, r10d, r11d, r12d, r13d, r14d, r15d];
const KREG: [AsmRegisterK; 8] = [k0, k1, k2, k3, k4, k5, k6, k7];

/// The assembler of one kernel: iced's `CodeAssembler`, the ISA level, the constant pool and
/// the first error.
pub struct Asm {
    a: CodeAssembler,
    pub level: Level,
    consts: Vec<(Vec<u32>, CodeLabel)>,
    pool_pad: usize,
    err: Option<String>,
}

/// Assembles the kernel `emit` generates at `level` into position-independent bytes with its
/// constant pool 64-byte aligned after the code (see the module docs). The code is assembled a
/// second time, with the padding, only when there is a pool to align.
pub fn assemble(level: Level, emit: impl Fn(&mut Asm)) -> Result<Vec<u8>, String> {
    let (first, pool_len) = Asm::run(level, 0, &emit)?;
    let code_len = first.len() - pool_len;
    let pad = (64 - code_len % 64) % 64;
    if pad == 0 || pool_len == 0 {
        return Ok(first);
    }
    Asm::run(level, pad, &emit).map(|(bytes, _)| bytes)
}

impl Asm {
    /// A throwaway assembler, for dry runs that only ask whether something can be emitted.
    pub fn scratch(level: Level) -> Asm {
        let a = CodeAssembler::new(64).unwrap_or_else(|_| unreachable_bitness());
        Asm { a, level, consts: Vec::new(), pool_pad: 0, err: None }
    }

    /// Runs the generator and assembles; returns the bytes and the pool's length.
    fn run(level: Level, pool_pad: usize, emit: &impl Fn(&mut Asm)) -> Result<(Vec<u8>, usize), String> {
        let a = CodeAssembler::new(64).map_err(|e| e.to_string())?;
        let mut asm = Asm { a, level, consts: Vec::new(), pool_pad, err: None };
        emit(&mut asm);
        asm.finish()
    }

    /// Emits the padding and the constant pool, then assembles.
    fn finish(mut self) -> Result<(Vec<u8>, usize), String> {
        let lanes = self.level.lanes();
        let pad = vec![0xCCu8; self.pool_pad];
        if !pad.is_empty() {
            let r = self.a.db(&pad);
            self.ok(r);
        }
        let consts = std::mem::take(&mut self.consts);
        let pool_len = consts.len() * lanes * 4;
        for (lanes_bits, mut label) in consts {
            let r = self.a.set_label(&mut label);
            self.ok(r);
            let r = self.a.dd(&lanes_bits);
            self.ok(r);
        }
        if let Some(e) = self.err.take() {
            return Err(format!("assembling: {e}"));
        }
        let bytes = self.a.assemble(0).map_err(|e| format!("assembling: {e}"))?;
        Ok((bytes, pool_len))
    }

    fn ok(&mut self, r: Result<(), IcedError>) {
        if let Err(e) = r {
            self.err.get_or_insert_with(|| e.to_string());
        }
    }

    /// Records a generator error (an operand form the level cannot encode).
    pub fn fail(&mut self, msg: impl Into<String>) {
        self.err.get_or_insert_with(|| msg.into());
    }

    fn mem(&self, m: M) -> AsmMemoryOperand {
        GPR[m.base.0 as usize] + m.disp
    }

    /// The pooled constant `v` (every lane), deduplicated by bit pattern.
    pub fn constant(&mut self, v: f32) -> Src {
        self.constant_lanes(&vec![v.to_bits(); self.level.lanes()])
    }

    /// The pooled vector with lane `i` = `bits[i]` (one entry per lane), deduplicated.
    pub fn constant_lanes(&mut self, bits: &[u32]) -> Src {
        if let Some((_, l)) = self.consts.iter().find(|(b, _)| b.as_slice() == bits) {
            return Src::Const(*l);
        }
        let l = self.a.create_label();
        self.consts.push((bits.to_vec(), l));
        Src::Const(l)
    }

    /// The mask vector of the first `n` lanes (all ones there, zero elsewhere), for AVX2's
    /// `vmaskmovps`.
    pub fn lane_mask(&mut self, n: usize) -> Src {
        let bits: Vec<u32> = (0..self.level.lanes()).map(|i| if i < n { u32::MAX } else { 0 }).collect();
        self.constant_lanes(&bits)
    }

    /// The pooled integer-pattern constant `bits` (e.g. a sign mask) in every lane.
    pub fn constant_bits(&mut self, bits: u32) -> Src {
        self.constant(f32::from_bits(bits))
    }

    // ---- labels and control flow ----

    pub fn label(&mut self) -> CodeLabel {
        self.a.create_label()
    }
    pub fn bind(&mut self, l: &mut CodeLabel) {
        let r = self.a.set_label(l);
        self.ok(r);
    }
    pub fn jnz(&mut self, l: CodeLabel) {
        let r = self.a.jne(l);
        self.ok(r);
    }
    pub fn ret(&mut self) {
        let r = self.a.ret();
        self.ok(r);
    }

    // ---- general-purpose registers ----

    pub fn push(&mut self, g: G) {
        let r = self.a.push(GPR[g.0 as usize]);
        self.ok(r);
    }
    pub fn pop(&mut self, g: G) {
        let r = self.a.pop(GPR[g.0 as usize]);
        self.ok(r);
    }
    /// `d = s`.
    pub fn mov(&mut self, d: G, s: G) {
        if d != s {
            let r = self.a.mov(GPR[d.0 as usize], GPR[s.0 as usize]);
            self.ok(r);
        }
    }
    /// `d = imm`.
    pub fn mov_imm(&mut self, d: G, imm: i64) {
        let r = if (0..=u32::MAX as i64).contains(&imm) {
            self.a.mov(GPR32[d.0 as usize], imm as u32)
        } else {
            self.a.mov(GPR[d.0 as usize], imm)
        };
        self.ok(r);
    }
    /// `d = [m]` (64-bit).
    pub fn load_gpr(&mut self, d: G, m: M) {
        let r = self.a.mov(GPR[d.0 as usize], qword_ptr(self.mem(m)));
        self.ok(r);
    }
    /// `[m] = s` (64-bit).
    pub fn store_gpr(&mut self, m: M, s: G) {
        let r = self.a.mov(qword_ptr(self.mem(m)), GPR[s.0 as usize]);
        self.ok(r);
    }
    /// `[m] = imm` (64-bit, imm fits i32).
    pub fn store_imm(&mut self, m: M, imm: i32) {
        let r = self.a.mov(qword_ptr(self.mem(m)), imm);
        self.ok(r);
    }
    /// `d += imm` (any i64; no instruction for 0).
    pub fn add_imm(&mut self, d: G, imm: i64) {
        if imm == 0 {
            return;
        }
        let r = if i32::try_from(imm).is_ok() {
            self.a.add(GPR[d.0 as usize], imm as i32)
        } else {
            // Never reached by planned kernels (displacements fit i32); correct regardless.
            let r1 = self.a.push(rax);
            self.ok(r1);
            let r2 = self.a.mov(rax, imm);
            self.ok(r2);
            let r3 = self.a.add(GPR[d.0 as usize], rax);
            self.ok(r3);
            self.a.pop(rax)
        };
        self.ok(r);
    }
    /// `d += s`.
    pub fn add_reg(&mut self, d: G, s: G) {
        let r = self.a.add(GPR[d.0 as usize], GPR[s.0 as usize]);
        self.ok(r);
    }
    /// `d = s * imm`.
    pub fn imul_imm(&mut self, d: G, s: G, imm: i32) {
        let r = self.a.imul_3(GPR[d.0 as usize], GPR[s.0 as usize], imm);
        self.ok(r);
    }
    /// `d = base + disp`.
    pub fn lea(&mut self, d: G, base: G, disp: i64) {
        if disp == 0 {
            return self.mov(d, base);
        }
        let r = self.a.lea(GPR[d.0 as usize], qword_ptr(self.mem(M::at(base, disp))));
        self.ok(r);
    }
    /// `[m] += imm` (64-bit; imm fits i32).
    pub fn add_mem_imm(&mut self, m: M, imm: i64) {
        if imm == 0 {
            return;
        }
        if let Ok(i) = i32::try_from(imm) {
            let r = self.a.add(qword_ptr(self.mem(m)), i);
            self.ok(r);
        } else {
            self.fail(format!("stack pointer step {imm} exceeds 32 bits"));
        }
    }
    /// `d -= 1`, setting ZF for [`Asm::jnz`].
    pub fn dec(&mut self, d: G) {
        let r = self.a.dec(GPR[d.0 as usize]);
        self.ok(r);
    }
    /// `[m] -= 1` (64-bit), setting ZF.
    pub fn dec_mem(&mut self, m: M) {
        let r = self.a.dec(qword_ptr(self.mem(m)));
        self.ok(r);
    }
    /// `k = imm` (a lane mask; AVX-512 only), through `eax`.
    pub fn set_mask(&mut self, k: u8, lanes: u32, scratch: G) {
        let r = self.a.mov(GPR32[scratch.0 as usize], lanes);
        self.ok(r);
        let r = self.a.kmovw(KREG[k as usize], GPR32[scratch.0 as usize]);
        self.ok(r);
    }
    /// `[m] = xmm{x}` (the low 128 bits, for the Windows callee-saved registers).
    pub fn store_xmm(&mut self, m: M, x: usize) {
        let r = self.a.vmovups(xmmword_ptr(self.mem(m)), XMM[x]);
        self.ok(r);
    }
    /// `xmm{x} = [m]`.
    pub fn load_xmm(&mut self, x: usize, m: M) {
        let r = self.a.vmovups(XMM[x], xmmword_ptr(self.mem(m)));
        self.ok(r);
    }
    pub fn vzeroupper(&mut self) {
        let r = self.a.vzeroupper();
        self.ok(r);
    }

    // ---- vectors ----

    /// `d = 0`.
    pub fn vzero(&mut self, d: V) {
        let i = d.0 as usize;
        let r = match self.level {
            Level::Avx512 => self.a.vpxord(ZMM[i], ZMM[i], ZMM[i]),
            Level::Avx2 => self.a.vxorps(YMM[i], YMM[i], YMM[i]),
        };
        self.ok(r);
    }
    /// `d = s` (register copy).
    pub fn vmov(&mut self, d: V, s: V) {
        if d == s {
            return;
        }
        let (d, s) = (d.0 as usize, s.0 as usize);
        let r = match self.level {
            Level::Avx512 => self.a.vmovaps(ZMM[d], ZMM[s]),
            Level::Avx2 => self.a.vmovaps(YMM[d], YMM[s]),
        };
        self.ok(r);
    }
    /// `d = [m]` (full vector, unaligned).
    pub fn vload(&mut self, d: V, m: M) {
        let (i, mem) = (d.0 as usize, self.mem(m));
        let r = match self.level {
            Level::Avx512 => self.a.vmovups(ZMM[i], zmmword_ptr(mem)),
            Level::Avx2 => self.a.vmovups(YMM[i], ymmword_ptr(mem)),
        };
        self.ok(r);
    }
    /// `d = src` for any source (a load, a broadcast or a pooled constant).
    pub fn vset(&mut self, d: V, s: Src) {
        match s {
            Src::Reg(v) => self.vmov(d, v),
            Src::Mem(m) => self.vload(d, m),
            Src::Bcst(m) => self.vbroadcast(d, m),
            Src::Const(l) => {
                let i = d.0 as usize;
                let r = match self.level {
                    Level::Avx512 => self.a.vmovups(ZMM[i], zmmword_ptr(l)),
                    Level::Avx2 => self.a.vmovups(YMM[i], ymmword_ptr(l)),
                };
                self.ok(r);
            }
        }
    }
    /// `d = [m]` on the lanes of mask `k` (AVX-512), zero elsewhere; masked-off lanes never fault.
    pub fn vload_k(&mut self, d: V, m: M, k: u8) {
        let (i, mem) = (d.0 as usize, self.mem(m));
        let r = self.a.vmovups(with_k(ZMM[i], k).z(), zmmword_ptr(mem));
        self.ok(r);
    }
    /// `d = [m]` on the lanes where `mask`'s sign bit is set (AVX2 `vmaskmovps`), zero elsewhere.
    pub fn vload_maskv(&mut self, d: V, m: M, mask: V) {
        let (i, mem) = (d.0 as usize, self.mem(m));
        let r = self.a.vmaskmovps(YMM[i], YMM[mask.0 as usize], ymmword_ptr(mem));
        self.ok(r);
    }
    /// `[m] = s` (full vector, unaligned).
    pub fn vstore(&mut self, m: M, s: V) {
        let (i, mem) = (s.0 as usize, self.mem(m));
        let r = match self.level {
            Level::Avx512 => self.a.vmovups(zmmword_ptr(mem), ZMM[i]),
            Level::Avx2 => self.a.vmovups(ymmword_ptr(mem), YMM[i]),
        };
        self.ok(r);
    }
    /// `[m] = s` on the lanes of mask `k` (AVX-512).
    pub fn vstore_k(&mut self, m: M, s: V, k: u8) {
        let (i, mem) = (s.0 as usize, self.mem(m));
        let r = self.a.vmovups(mem_k(zmmword_ptr(mem), k), ZMM[i]);
        self.ok(r);
    }
    /// `[m] = s` on the lanes where `mask`'s sign bit is set (AVX2).
    pub fn vstore_maskv(&mut self, m: M, s: V, mask: V) {
        let mem = self.mem(m);
        let r = self.a.vmaskmovps(ymmword_ptr(mem), YMM[mask.0 as usize], YMM[s.0 as usize]);
        self.ok(r);
    }
    /// `d = broadcast([m])` (one f32 to every lane).
    pub fn vbroadcast(&mut self, d: V, m: M) {
        let (i, mem) = (d.0 as usize, self.mem(m));
        let r = match self.level {
            Level::Avx512 => self.a.vbroadcastss(ZMM[i], dword_ptr(mem)),
            Level::Avx2 => self.a.vbroadcastss(YMM[i], dword_ptr(mem)),
        };
        self.ok(r);
    }
    /// `acc += a * s` (`vfmadd231ps`).
    pub fn vfma(&mut self, acc: V, a: V, s: Src) {
        self.op3(Op3::Fma231, acc, a, s);
    }
    /// `acc += a * [m]` on the lanes of mask `k` only (AVX-512; masked-off lanes of `[m]`
    /// never fault and `acc` keeps them).
    pub fn vfma_k(&mut self, acc: V, a: V, m: M, k: u8) {
        let mem = zmmword_ptr(self.mem(m));
        let r = self.a.vfmadd231ps(with_k(ZMM[acc.0 as usize], k), ZMM[a.0 as usize], mem);
        self.ok(r);
    }
    /// `d = a * d + s` (`vfmadd213ps`).
    pub fn vfma213(&mut self, d: V, a: V, s: Src) {
        self.op3(Op3::Fma213, d, a, s);
    }
    /// `d = a <op> s`.
    pub fn vop(&mut self, op: Op3, d: V, a: V, s: Src) {
        self.op3(op, d, a, s);
    }
    /// `d = sqrt(a)`.
    pub fn vsqrt(&mut self, d: V, a: V) {
        let (d, a) = (d.0 as usize, a.0 as usize);
        let r = match self.level {
            Level::Avx512 => self.a.vsqrtps(ZMM[d], ZMM[a]),
            Level::Avx2 => self.a.vsqrtps(YMM[d], YMM[a]),
        };
        self.ok(r);
    }
    /// `d = round(a)` with the SSE4.1/AVX-512 rounding immediate (0 nearest, 1 floor, 2 ceil,
    /// 3 truncate; bit 3 suppresses the inexact exception).
    pub fn vround(&mut self, d: V, a: V, mode: u32) {
        let (d, a) = (d.0 as usize, a.0 as usize);
        let r = match self.level {
            Level::Avx512 => self.a.vrndscaleps(ZMM[d], ZMM[a], mode | 8),
            Level::Avx2 => self.a.vroundps(YMM[d], YMM[a], mode | 8),
        };
        self.ok(r);
    }
    /// `d = a * 2^floor(b)` lane-wise (AVX-512 `vscalefps`).
    pub fn vscalef(&mut self, d: V, a: V, b: V) {
        let r = self.a.vscalefps(ZMM[d.0 as usize], ZMM[a.0 as usize], ZMM[b.0 as usize]);
        self.ok(r);
    }
    /// `d = (int32) a` rounded to nearest.
    pub fn vcvt_to_i32(&mut self, d: V, a: V) {
        let (d, a) = (d.0 as usize, a.0 as usize);
        let r = match self.level {
            Level::Avx512 => self.a.vcvtps2dq(ZMM[d], ZMM[a]),
            Level::Avx2 => self.a.vcvtps2dq(YMM[d], YMM[a]),
        };
        self.ok(r);
    }
    /// `d = a << imm` on 32-bit lanes.
    pub fn vpslld(&mut self, d: V, a: V, imm: u32) {
        let (d, a) = (d.0 as usize, a.0 as usize);
        let r = match self.level {
            Level::Avx512 => self.a.vpslld(ZMM[d], ZMM[a], imm),
            Level::Avx2 => self.a.vpslld(YMM[d], YMM[a], imm),
        };
        self.ok(r);
    }
    /// `d = a >> imm` on 32-bit lanes, arithmetic.
    pub fn vpsrad(&mut self, d: V, a: V, imm: u32) {
        let (d, a) = (d.0 as usize, a.0 as usize);
        let r = match self.level {
            Level::Avx512 => self.a.vpsrad(ZMM[d], ZMM[a], imm),
            Level::Avx2 => self.a.vpsrad(YMM[d], YMM[a], imm),
        };
        self.ok(r);
    }
    /// `d = a + b` on 32-bit integer lanes.
    pub fn vpaddd(&mut self, d: V, a: V, s: Src) {
        self.op3(Op3::AddI32, d, a, s);
    }
    /// `k = a <cmp> s` (AVX-512 compare into a mask register; `pred` is the `vcmpps` immediate).
    pub fn vcmp_k(&mut self, k: u8, a: V, s: Src, pred: u32) {
        let a = ZMM[a.0 as usize];
        let r = match s {
            Src::Reg(b) => self.a.vcmpps(KREG[k as usize], a, ZMM[b.0 as usize], pred),
            Src::Mem(m) => self.a.vcmpps(KREG[k as usize], a, zmmword_ptr(self.mem(m)), pred),
            Src::Bcst(m) => self.a.vcmpps(KREG[k as usize], a, dword_bcst(self.mem(m)), pred),
            Src::Const(l) => self.a.vcmpps(KREG[k as usize], a, zmmword_ptr(l), pred),
        };
        self.ok(r);
    }
    /// `d = k ? s : a` per lane (AVX-512 `vblendmps`).
    pub fn vblend_k(&mut self, d: V, k: u8, a: V, s: V) {
        let r = self.a.vblendmps(with_k(ZMM[d.0 as usize], k), ZMM[a.0 as usize], ZMM[s.0 as usize]);
        self.ok(r);
    }
    /// `d = a <cmp> s` as an all-ones/zero lane mask (AVX2 `vcmpps` into a register).
    pub fn vcmp_v(&mut self, d: V, a: V, s: Src, pred: u32) {
        let (d, a) = (YMM[d.0 as usize], YMM[a.0 as usize]);
        let r = match s {
            Src::Reg(b) => self.a.vcmpps(d, a, YMM[b.0 as usize], pred),
            Src::Mem(m) => self.a.vcmpps(d, a, ymmword_ptr(self.mem(m)), pred),
            Src::Const(l) => self.a.vcmpps(d, a, ymmword_ptr(l), pred),
            Src::Bcst(_) => {
                self.fail("embedded broadcast on AVX2");
                return;
            }
        };
        self.ok(r);
    }
    /// `d = mask ? s : a` per lane (AVX2 `vblendvps`, mask's sign bits).
    pub fn vblendv(&mut self, d: V, a: V, s: V, mask: V) {
        let r = self.a.vblendvps(YMM[d.0 as usize], YMM[a.0 as usize], YMM[s.0 as usize], YMM[mask.0 as usize]);
        self.ok(r);
    }

    fn op3(&mut self, op: Op3, d: V, a: V, s: Src) {
        let r = match self.level {
            Level::Avx512 => {
                let (d, a) = (ZMM[d.0 as usize], ZMM[a.0 as usize]);
                match s {
                    Src::Reg(b) => op.zmm(&mut self.a, d, a, ZMM[b.0 as usize]),
                    Src::Mem(m) => {
                        let mem = zmmword_ptr(self.mem(m));
                        op.zmm_mem(&mut self.a, d, a, mem)
                    }
                    Src::Bcst(m) => {
                        let mem = dword_bcst(self.mem(m));
                        op.zmm_mem(&mut self.a, d, a, mem)
                    }
                    Src::Const(l) => op.zmm_mem(&mut self.a, d, a, zmmword_ptr(l)),
                }
            }
            Level::Avx2 => {
                let (d, a) = (YMM[d.0 as usize], YMM[a.0 as usize]);
                match s {
                    Src::Reg(b) => op.ymm(&mut self.a, d, a, YMM[b.0 as usize]),
                    Src::Mem(m) => {
                        let mem = ymmword_ptr(self.mem(m));
                        op.ymm_mem(&mut self.a, d, a, mem)
                    }
                    Src::Const(l) => op.ymm_mem(&mut self.a, d, a, ymmword_ptr(l)),
                    Src::Bcst(_) => {
                        self.fail("embedded broadcast on AVX2");
                        return;
                    }
                }
            }
        };
        self.ok(r);
    }
}

/// The three-operand vector instructions the generators use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op3 {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
    /// Bitwise and (`vpandd` / `vandps`).
    And,
    /// Bitwise and-not: `!a & s` (`vpandnd` / `vandnps`).
    AndNot,
    /// Bitwise or.
    Or,
    /// Bitwise xor.
    Xor,
    /// 32-bit integer add.
    AddI32,
    /// 32-bit integer subtract.
    SubI32,
    Fma231,
    Fma213,
    /// `d = a * d - s` (`vfmsub213ps`).
    Fms213,
    /// `d = -(a * d) + s` (`vfnmadd213ps`).
    Fnma213,
    /// `d = d - a * s` (`vfnmadd231ps`).
    Fnma231,
}

/// One arm per instruction and operand width; the macro keeps the four forms in one place.
macro_rules! op3_dispatch {
    ($self:ident, $asm:ident, $d:ident, $a:ident, $s:ident, $($variant:ident => $instr:ident),+ $(,)?) => {
        match $self {
            $(Op3::$variant => $asm.$instr($d, $a, $s),)+
        }
    };
}

impl Op3 {
    fn zmm(
        self,
        asm: &mut CodeAssembler,
        d: AsmRegisterZmm,
        a: AsmRegisterZmm,
        s: AsmRegisterZmm,
    ) -> Result<(), IcedError> {
        op3_dispatch!(self, asm, d, a, s,
            Add => vaddps, Sub => vsubps, Mul => vmulps, Div => vdivps,
            Max => vmaxps, Min => vminps, And => vpandd, AndNot => vpandnd,
            Or => vpord, Xor => vpxord, AddI32 => vpaddd, SubI32 => vpsubd,
            Fma231 => vfmadd231ps, Fma213 => vfmadd213ps,
            Fms213 => vfmsub213ps, Fnma213 => vfnmadd213ps, Fnma231 => vfnmadd231ps)
    }
    fn zmm_mem(
        self,
        asm: &mut CodeAssembler,
        d: AsmRegisterZmm,
        a: AsmRegisterZmm,
        s: AsmMemoryOperand,
    ) -> Result<(), IcedError> {
        op3_dispatch!(self, asm, d, a, s,
            Add => vaddps, Sub => vsubps, Mul => vmulps, Div => vdivps,
            Max => vmaxps, Min => vminps, And => vpandd, AndNot => vpandnd,
            Or => vpord, Xor => vpxord, AddI32 => vpaddd, SubI32 => vpsubd,
            Fma231 => vfmadd231ps, Fma213 => vfmadd213ps,
            Fms213 => vfmsub213ps, Fnma213 => vfnmadd213ps, Fnma231 => vfnmadd231ps)
    }
    fn ymm(
        self,
        asm: &mut CodeAssembler,
        d: AsmRegisterYmm,
        a: AsmRegisterYmm,
        s: AsmRegisterYmm,
    ) -> Result<(), IcedError> {
        op3_dispatch!(self, asm, d, a, s,
            Add => vaddps, Sub => vsubps, Mul => vmulps, Div => vdivps,
            Max => vmaxps, Min => vminps, And => vandps, AndNot => vandnps,
            Or => vorps, Xor => vxorps, AddI32 => vpaddd, SubI32 => vpsubd,
            Fma231 => vfmadd231ps, Fma213 => vfmadd213ps,
            Fms213 => vfmsub213ps, Fnma213 => vfnmadd213ps, Fnma231 => vfnmadd231ps)
    }
    fn ymm_mem(
        self,
        asm: &mut CodeAssembler,
        d: AsmRegisterYmm,
        a: AsmRegisterYmm,
        s: AsmMemoryOperand,
    ) -> Result<(), IcedError> {
        op3_dispatch!(self, asm, d, a, s,
            Add => vaddps, Sub => vsubps, Mul => vmulps, Div => vdivps,
            Max => vmaxps, Min => vminps, And => vandps, AndNot => vandnps,
            Or => vorps, Xor => vxorps, AddI32 => vpaddd, SubI32 => vpsubd,
            Fma231 => vfmadd231ps, Fma213 => vfmadd213ps,
            Fms213 => vfmsub213ps, Fnma213 => vfnmadd213ps, Fnma231 => vfnmadd231ps)
    }
}

/// `CodeAssembler::new(64)` fails only for a bitness other than 16, 32 or 64.
fn unreachable_bitness() -> CodeAssembler {
    panic!("iced-x86 rejected bitness 64")
}

/// `r{k}`: the register with opmask `k` (1..=7; 0 means no mask).
fn with_k(r: AsmRegisterZmm, k: u8) -> AsmRegisterZmm {
    match k {
        1 => r.k1(),
        2 => r.k2(),
        3 => r.k3(),
        4 => r.k4(),
        5 => r.k5(),
        6 => r.k6(),
        7 => r.k7(),
        _ => r,
    }
}

/// `[m]{k}`: the memory operand with opmask `k` (1..=7).
fn mem_k(m: AsmMemoryOperand, k: u8) -> AsmMemoryOperand {
    match k {
        1 => m.k1(),
        2 => m.k2(),
        3 => m.k3(),
        4 => m.k4(),
        5 => m.k5(),
        6 => m.k6(),
        7 => m.k7(),
        _ => m,
    }
}
