//! AArch64 NEON micro-kernels, assembled with dynasmrt.
//!
//! - [`asm`]: registers by number and the instruction forms the generator needs, with every
//!   immediate range-checked (large offsets and constants through `x16`);
//! - [`frame`]: the AAPCS64 prologue/epilogue (x19-x28 and d8-d15 saved), parameters, slots;
//! - [`gemm`]: the generator of broadcast-mode `GemmTask` kernels (GEMM, MatMul, implicit-GEMM
//!   NHWC convolution), A read four steps at a time and multiplied in by element;
//! - [`epilogue`]: alpha, addend and fused programs before the stores, lane-exact tails;
//! - [`vector`]: the vector modes (depthwise convolution, max and average pooling) with their
//!   border taps skipped at compile time;
//! - [`winograd`]: the channels-last Winograd input and output transforms;
//! - [`program`]: fused elementwise epilogues on one vector register;
//! - [`math`]: exp, sigmoid, tanh, erf and elu for those epilogues.
//!
//! Assembler choice: dynasmrt (with the `dynasm!` macro) is maintained, has a complete,
//! table-generated AArch64 encoder including every NEON form the kernels need (`fmla v.4s,
//! v.4s, v.s[i]` by element, post-indexed `ldr q`, lane inserts), dynamic register numbers and
//! labels resolved in place, and a `VecAssembler` that yields plain bytes without mapping
//! executable memory (the host is usually x86: the bytes go into an AArch64 object). Its
//! run-time immediate encoders panic when a value does not fit, so [`asm`] checks every
//! immediate first; plans additionally run under `catch_unwind`. No SVE (dynasm has none).

pub mod asm;
pub mod epilogue;
pub mod frame;
pub mod gemm;
pub mod math;
pub mod program;
pub mod vector;
pub mod winograd;
