//! The IR crate's error type.

use thiserror::Error;

/// Errors of the IR: inference, verification, parsing and evaluation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum IrError {
    /// An op cannot be applied to its inputs (shape, dtype, attribute).
    #[error("node {node} ({op}): {msg}")]
    Node { node: String, op: String, msg: String },
    /// The IR text is malformed.
    #[error("line {line}: {msg}")]
    Parse { line: usize, msg: String },
    /// An invariant of the graph does not hold.
    #[error("invalid IR: {0}")]
    Verify(String),
    /// Wrong inputs given to the evaluator.
    #[error("{0}")]
    Input(String),
}

impl IrError {
    /// A node error; `node` is the node's name, `op` its op name.
    pub fn node(node: &str, op: &str, msg: impl Into<String>) -> Self {
        IrError::Node { node: node.to_string(), op: op.to_string(), msg: msg.into() }
    }
}

pub type Result<T, E = IrError> = std::result::Result<T, E>;
