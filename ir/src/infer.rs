//! Output types of every op from its input types (shape and dtype inference).
//!
//! Owned by the evaluator work; the frontend and the verifier call [`infer_types`].

use crate::dtype::TensorType;
use crate::op::Op;

/// The output types of `op` applied to inputs of types `inputs`, or a message saying which
/// shape, dtype or attribute does not fit (the caller adds node and op names).
pub fn infer_types(op: &Op, inputs: &[&TensorType]) -> Result<Vec<TensorType>, String> {
    let _ = inputs;
    Err(format!("shape inference for `{}` is not implemented yet", op.name()))
}
