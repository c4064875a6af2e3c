//! The passes crate's error type (one `thiserror` enum for the crate).
//!
//! Every variant names what failed: the node (ONNX name) and op, or the stage. A `Verify` error
//! after optimization is a bug in a rule or in the optimizer, never in the input graph: the input
//! is verified first and reported as `InvalidInput`.

use thiserror::Error;

/// Errors of the graph passes.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PassError {
    /// The graph given to a pass breaks an IR invariant.
    #[error("invalid input graph: {0}")]
    InvalidInput(kiln_ir::IrError),
    /// A node could not be converted or rebuilt.
    #[error("node {node} ({op}): {msg}")]
    Node { node: String, op: String, msg: String },
    /// Extraction found no finite-cost term for a class the graph needs.
    #[error("extraction: {0}")]
    Extract(String),
    /// The optimized graph breaks an IR invariant (an optimizer bug).
    #[error("optimized graph does not verify: {0}")]
    Verify(kiln_ir::IrError),
}

impl PassError {
    /// A node error; `node` is the node's name, `op` its op name.
    pub fn node(node: &str, op: &str, msg: impl Into<String>) -> Self {
        PassError::Node { node: node.to_string(), op: op.to_string(), msg: msg.into() }
    }
}
