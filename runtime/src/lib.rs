//! kiln's runtime: a graph JIT-compiled in-process and run on tensors (being built).

use kiln_ir::{Graph, Tensor, TensorType};
use thiserror::Error;

/// Errors of compiling and running a model in-process.
#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Backend(#[from] kiln_backend::BackendError),
    /// Inputs do not match the model (count, name, dtype, shape).
    #[error("{0}")]
    Input(String),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// How to compile.
#[derive(Clone, Debug, Default)]
pub struct JitOptions {}

/// Figures about one compilation.
#[derive(Clone, Debug, Default)]
pub struct CompileStats {
    pub kernels: usize,
    pub code_bytes: usize,
    pub workspace_bytes: usize,
    pub weight_bytes: usize,
}

/// A compiled model, callable from several threads at once.
pub struct JitModel {
    graph: Graph,
}

impl JitModel {
    /// Compiles `graph` for the host CPU.
    pub fn compile(graph: Graph, opts: &JitOptions) -> Result<JitModel> {
        let _ = opts;
        Ok(JitModel { graph })
    }
    /// Types of the inputs, in graph order.
    pub fn input_types(&self) -> Vec<TensorType> {
        self.graph.inputs.iter().map(|&v| self.graph.ty(v).clone()).collect()
    }
    /// Types of the outputs, in graph order.
    pub fn output_types(&self) -> Vec<TensorType> {
        self.graph.outputs.iter().map(|&v| self.graph.ty(v).clone()).collect()
    }
    pub fn stats(&self) -> CompileStats {
        CompileStats::default()
    }
    /// Runs on `inputs` (graph order), checked against the input types.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        let _ = inputs;
        Err(RuntimeError::Input("not implemented".into()))
    }
}
