//! The backend's error type.
//!
//! A panic caught while generating code (in kiln's emitters, a micro-kernel generator or
//! Cranelift) is [`BackendError::Internal`], never [`BackendError::Codegen`]: it is a bug in
//! kiln whatever the input, so the CLI reports it as one (`internal error`, exit 101) and the
//! mutation test, the fuzzer and the suites count it as a crash rather than a clean refusal.

use thiserror::Error;

/// Errors of code generation.
#[derive(Debug, Error)]
pub enum BackendError {
    /// The op (or this form of it: dtype, rank, attribute) has no lowering.
    #[error("node {node} ({op}): unsupported: {msg}")]
    Unsupported { node: String, op: String, msg: String },
    /// Cranelift rejected a function with an error.
    #[error("kernel {kernel}: code generation failed: {msg}")]
    Codegen { kernel: String, msg: String },
    /// A panic caught while generating `kernel` (the entry function included): a kiln bug.
    /// The message says who panicked (`the kernel emitter panicked: ...`).
    #[error("kernel {kernel}: {msg}")]
    Internal { kernel: String, msg: String },
    /// The target triple or a CPU feature is not available.
    #[error("target: {0}")]
    Target(String),
    /// Declaring or defining a symbol failed.
    #[error("module: {0}")]
    Module(String),
}

impl BackendError {
    /// True for a caught panic ([`BackendError::Internal`]): a bug in kiln, not in the input.
    pub fn is_internal(&self) -> bool {
        matches!(self, BackendError::Internal { .. })
    }

    /// The same failure as a caught panic: a [`BackendError::Codegen`] becomes
    /// [`BackendError::Internal`] with its kernel and message; other kinds are returned as
    /// they are. Lets the code that names a kernel's errors name its panics too.
    pub(crate) fn into_internal(self) -> BackendError {
        match self {
            BackendError::Codegen { kernel, msg } => BackendError::Internal { kernel, msg },
            other => other,
        }
    }
}

pub type Result<T, E = BackendError> = std::result::Result<T, E>;
