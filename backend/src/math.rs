//! Transcendental functions as Cranelift IR, with no libcalls (objects must link without libm).
//!
//! Each function works on `f32` and on `f32x4` values alike (the type of `x` decides).

use cranelift_codegen::ir::Value;
use cranelift_frontend::FunctionBuilder;

/// `e^x` (being built).
pub fn exp(b: &mut FunctionBuilder, x: Value) -> Value {
    let _ = b;
    x
}
