//! The frontend's one error type.
//!
//! Every variant that concerns a node carries the node's name and op type, and the attribute or
//! input at fault, so a message reads like "node 'Conv_3' (Conv), attribute 'kernel_shape': ...".
//! `NeedsValue` is structured (not a string) because `kiln run` binds the named graph input's
//! value and retries the import.

use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// An op the frontend cannot import, as listed by [`FrontendError::UnsupportedOps`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsupportedOp {
    pub node: String,
    pub op_type: String,
    /// The ONNX domain ("" is the default `ai.onnx` domain).
    pub domain: String,
    /// Why, when it is not simply an unknown op (e.g. "mask output is used").
    pub reason: Option<String>,
}

impl fmt::Display for UnsupportedOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = if self.domain.is_empty() { "ai.onnx" } else { &self.domain };
        write!(f, "node '{}' ({} from {})", self.node, self.op_type, domain)?;
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        Ok(())
    }
}

fn list(ops: &[UnsupportedOp]) -> String {
    ops.iter().map(|o| o.to_string()).collect::<Vec<_>>().join("; ")
}

/// Errors of loading and importing ONNX models.
#[derive(Debug, Error)]
pub enum FrontendError {
    #[error("cannot read '{path}': {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("malformed ONNX model: {0}")]
    Parse(String),
    #[error("the model has no graph")]
    NoGraph,
    #[error("unsupported opset: domain '{domain}' version {version} (kiln imports ai.onnx {}..={})", crate::model::OPSETS.start(), crate::model::OPSETS.end())]
    Opset { domain: String, version: i64 },
    #[error("tensor '{tensor}': unsupported data type {dtype}")]
    UnsupportedDtype { tensor: String, dtype: String },
    #[error("tensor '{tensor}': {msg}")]
    Tensor { tensor: String, msg: String },
    #[error("tensor '{tensor}': external data: {msg}")]
    ExternalData { tensor: String, msg: String },
    #[error("input '{input}': {msg}")]
    Input { input: String, msg: String },
    #[error("input '{input}': dimension {dim} (axis {axis}) is not known; give the shape with --shape {input}=...")]
    UnresolvedDim { input: String, axis: usize, dim: String },
    #[error("{} unsupported op(s): {}", .0.len(), list(.0))]
    UnsupportedOps(Vec<UnsupportedOp>),
    #[error("node '{node}' ({op}), attribute '{attr}': {msg}")]
    Attribute { node: String, op: String, attr: String, msg: String },
    #[error("node '{node}' ({op}), input '{input}': {msg}")]
    NodeInput { node: String, op: String, input: String, msg: String },
    #[error("node '{node}' ({op}): {msg}")]
    Node { node: String, op: String, msg: String },
    #[error(
        "node '{node}' ({op}), input '{input}': must be known at compile time; it comes from graph \
         input '{graph_input}', whose value can be given (e.g. kiln run binds it)"
    )]
    NeedsValue { node: String, op: String, input: String, graph_input: String },
    #[error("node '{node}' ({op}), input '{input}': must be known at compile time but is data-dependent")]
    DataDependent { node: String, op: String, input: String },
    #[error("graph: {0}")]
    Graph(String),
}

pub type Result<T, E = FrontendError> = std::result::Result<T, E>;
