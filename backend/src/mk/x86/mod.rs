//! x86-64 micro-kernels (AVX-512F and AVX2+FMA), assembled with iced-x86.
//!
//! - [`asm`]: registers by number and width-generic instruction forms over iced's assembler;
//! - [`frame`]: the System V and Windows calling conventions (prologue, epilogue, parameters);
//! - [`gemm`]: the generator of `GemmTask` kernels;
//! - [`program`]: fused elementwise epilogues on one vector register; [`math`]: exp, sigmoid,
//!   tanh, erf, elu for them;
//! - [`peak`]: the FMA peak probe of `kiln calibrate`.

pub mod asm;
pub mod frame;
pub mod gemm;
pub mod math;
pub mod peak;
pub mod program;
pub mod winograd;

pub use asm::Level;
pub use frame::CallConv;
