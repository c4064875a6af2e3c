//! The backend's error type.

use thiserror::Error;

/// Errors of code generation.
#[derive(Debug, Error)]
pub enum BackendError {
    /// The op (or this form of it: dtype, rank, attribute) has no lowering.
    #[error("node {node} ({op}): unsupported: {msg}")]
    Unsupported { node: String, op: String, msg: String },
    /// Cranelift rejected or panicked on a function.
    #[error("kernel {kernel}: code generation failed: {msg}")]
    Codegen { kernel: String, msg: String },
    /// The target triple or a CPU feature is not available.
    #[error("target: {0}")]
    Target(String),
    /// Declaring or defining a symbol failed.
    #[error("module: {0}")]
    Module(String),
}

pub type Result<T, E = BackendError> = std::result::Result<T, E>;
