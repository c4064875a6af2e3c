//! Machine-code micro-kernels: the dense kernels (GEMM, MatMul, convolution) at the CPU's full
//! vector width, assembled at compile time for the exact shape.
//!
//! Why machine code: Cranelift emits 128-bit vectors only, a quarter of an AVX-512 core, and no
//! graph rewrite closes that gap. So the innermost loops of the dense kernels are generated as
//! raw machine code (as oneDNN does with Xbyak, libxsmm with its JIT, XNNPACK with per-ISA
//! micro-kernels) and handed to the module with `Module::define_function_bytes`: the JIT and
//! native objects take the same bytes through the same call, objects keep zero undefined
//! symbols and no writable data (x86: constants sit in the kernel's own bytes, RIP-relative;
//! NEON: constants are materialised by movz/movk, the kernel is pure code).
//! Cranelift stays the path for everything else, and for CPUs without the needed features
//! (baseline x86-64 has no AVX).
//!
//! - [`task`]: what a dense kernel computes, ISA-independent (a GEMM loop nest that also covers
//!   implicit-GEMM convolution over NHWC and batched MatMul);
//! - [`plan`]: from a node's `KernelSpec` to a task, the tile, the packed weights and the scratch
//!   it needs, or `None` (the node keeps its Cranelift kernel);
//! - [`conv`]: NHWC convolutions as implicit-GEMM tasks; [`pool`]: NHWC pooling;
//! - [`winograd`]: channels-last Winograd transforms;
//! - [`split`]: a kernel cut into parts over chunks of rows, for threads;
//! - [`tile`]: the register tile per shape, from a small cycle model;
//! - [`pack`]: weights prepacked at compile time into panels; [`temps`]: the epilogue register
//!   pool every generator allocates from;
//! - [`x86`]: the AVX-512F and AVX2+FMA generator, with iced-x86;
//! - [`arm`]: the AArch64 NEON generator, with dynasmrt (see its docs for that choice).
//!
//! Assembler choice: iced-x86's `code_asm` is a maintained, table-generated encoder covering
//! every EVEX form (masks, embedded broadcast, zmm16-31), with a decoder and formatter in the
//! same crate for disassembly in tests. dynasm's x64 backend stops at AVX2, and writing
//! encodings by hand is the bug farm these crates exist to avoid.

pub mod arm;
pub mod conv;
pub mod pack;
pub mod plan;
pub mod pool;
pub mod split;
pub mod task;
pub mod temps;
pub mod tile;
pub mod winograd;
pub mod x86;

pub use plan::{plan, MicroKernel};

/// An ISA with machine-code kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MicroIsa {
    X86(x86::Level),
    /// AArch64 Advanced SIMD (baseline on every AArch64 CPU): 4 f32 lanes, 32 registers.
    Neon,
}

impl MicroIsa {
    /// f32 lanes of one vector.
    pub fn lanes(self) -> usize {
        match self {
            MicroIsa::X86(l) => l.lanes(),
            MicroIsa::Neon => 4,
        }
    }
    /// The register file as the tile model sees it.
    pub fn register_file(self) -> tile::RegisterFile {
        match self {
            MicroIsa::X86(l) => {
                let avx512 = l == x86::Level::Avx512;
                tile::RegisterFile {
                    lanes: l.lanes(),
                    vregs: l.vregs(),
                    bcst_operand: avx512,
                    loads_per_cycle: if avx512 { 2.2 } else { 1.6 },
                    a_per_row: false,
                }
            }
            MicroIsa::Neon => {
                tile::RegisterFile { lanes: 4, vregs: 32, bcst_operand: false, loads_per_cycle: 2.0, a_per_row: true }
            }
        }
    }
    /// The name printed by `kiln compile` and `kiln calibrate`.
    pub fn name(self) -> &'static str {
        match self {
            MicroIsa::X86(x86::Level::Avx512) => "avx512",
            MicroIsa::X86(x86::Level::Avx2) => "avx2",
            MicroIsa::Neon => "neon",
        }
    }
}
