//! kiln's ONNX frontend: ModelProto -> IR graph with static shapes.
//!
//! [`OnnxModel`] parses a model (`proto`), inlines its model-local functions (`inline`), lists
//! its real inputs, and imports it: an all-at-once scan for unsupported ops (`scan`),
//! initializers and `TensorProto` decoding (`tensor_proto`, `external`), input specialisation to
//! static shapes (`specialize`), then one node at a time into `kiln_ir` ops (`import`, one file
//! per op family), folding constant subgraphs as it goes (`fold`). Errors (`error`) name node,
//! op type and attribute or input.

pub mod error;
mod external;
mod fold;
mod import;
mod inline;
mod limits;
mod model;
mod proto;
mod scan;
mod specialize;
mod tensor_proto;

pub use error::{FrontendError, Result, UnsupportedOp};
pub use fold::DEFAULT_FOLD_LIMIT;
pub use limits::MAX_TENSOR_BYTES;
pub use model::{OnnxModel, OPSETS};

use kiln_ir::{DType, Graph, Tensor};
use std::collections::HashMap;

/// One dimension of a graph input as the model declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    Fixed(usize),
    Symbolic(String),
    Unknown,
}

/// A graph input as declared by the model (initializers excluded).
#[derive(Clone, Debug)]
pub struct InputInfo {
    pub name: String,
    pub dtype: Option<DType>,
    pub dims: Vec<Dim>,
}

/// What to specialise at import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Shapes of graph inputs (`--shape NAME=D0,D1`), overriding or fixing declared dims.
    pub shapes: HashMap<String, Vec<usize>>,
    /// Graph inputs whose values are known at compile time; they become constants.
    pub values: HashMap<String, Tensor>,
}

/// The result of an import: the graph and what was decided on the user's behalf.
#[derive(Clone, Debug)]
pub struct Imported {
    pub graph: Graph,
    /// Human-readable notes, e.g. "input 'x': symbolic dim 'N' (axis 0) set to 1".
    pub notes: Vec<String>,
}

/// Reads a serialized ONNX `TensorProto` (the `.pb` files of the ONNX test data).
/// External data is not resolved (there is no model folder); use a model for that.
pub fn tensor_from_pb(bytes: &[u8]) -> Result<(String, Tensor)> {
    let t = proto::parse_tensor(bytes)?;
    Ok((t.name.clone(), tensor_proto::tensor_from_proto(&t, None)?))
}

/// Serializes a tensor as an ONNX `TensorProto`.
///
/// # Panics
/// When the message would exceed protobuf's 2 GiB limit; [`try_tensor_to_pb`] reports that
/// as an error instead.
pub fn tensor_to_pb(name: &str, tensor: &Tensor) -> Vec<u8> {
    try_tensor_to_pb(name, tensor).expect("tensor fits a protobuf message")
}

pub use tensor_proto::try_tensor_to_pb;
