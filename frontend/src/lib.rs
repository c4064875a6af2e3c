//! kiln's ONNX frontend: ModelProto -> IR graph with static shapes.
//!
//! Being built: see `OnnxModel` for the API the rest of kiln uses.

use kiln_ir::{DType, Graph, Tensor};
use std::collections::HashMap;
use std::path::Path;
use thiserror::Error;

/// Errors of loading and importing ONNX models.
#[derive(Debug, Error)]
pub enum FrontendError {
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = FrontendError> = std::result::Result<T, E>;

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

/// A parsed ONNX model, ready to import.
pub struct OnnxModel {
    _private: (),
}

impl OnnxModel {
    /// Reads and parses a model file; external data is resolved relative to its folder.
    pub fn load(path: &Path) -> Result<OnnxModel> {
        let _ = path;
        Err(FrontendError::Other("not implemented".into()))
    }
    /// Parses model bytes; `base_dir` locates external data.
    pub fn from_bytes(bytes: &[u8], base_dir: Option<&Path>) -> Result<OnnxModel> {
        let _ = (bytes, base_dir);
        Err(FrontendError::Other("not implemented".into()))
    }
    /// The graph inputs (initializers excluded), in order.
    pub fn inputs(&self) -> Vec<InputInfo> {
        Vec::new()
    }
    /// The graph output names, in order.
    pub fn output_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Imports into IR with the given specialisation.
    pub fn import(&self, opts: &ImportOptions) -> Result<Imported> {
        let _ = opts;
        Err(FrontendError::Other("not implemented".into()))
    }
}

/// Reads a serialized ONNX `TensorProto` (the `.pb` files of the ONNX test data).
pub fn tensor_from_pb(bytes: &[u8]) -> Result<(String, Tensor)> {
    let _ = bytes;
    Err(FrontendError::Other("not implemented".into()))
}

/// Serializes a tensor as an ONNX `TensorProto`.
pub fn tensor_to_pb(name: &str, tensor: &Tensor) -> Vec<u8> {
    let _ = (name, tensor);
    Vec::new()
}

#[doc(hidden)]
pub fn _unused(_: &HashMap<String, Vec<usize>>, _: &Graph) {}
