//! The library's one error type, [`Error`], wrapping the errors of the crates it drives.
//!
//! Every variant names what the user gave (a path, an input name) so that one line of
//! `error: ...` in the CLI is enough to act on. Causes are kept as `source()` rather than
//! repeated in the message, so printing the chain (`{:#}` in anyhow) never says a thing twice.

use std::path::PathBuf;
use thiserror::Error;

/// Errors of loading, compiling and running models, and of reading and writing tensors.
#[derive(Debug, Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The model file is not a model kiln can import.
    #[error("{}", path.display())]
    Model {
        path: PathBuf,
        #[source]
        source: Box<kiln_frontend::FrontendError>,
    },
    /// Importing the model with the requested specialisation failed.
    #[error(transparent)]
    Frontend(Box<kiln_frontend::FrontendError>),
    /// A stage produced IR that breaks an invariant: a bug in kiln, shown with the IR.
    #[error("internal: invalid IR after stage '{stage}': {source}\n{ir}")]
    Verify {
        stage: &'static str,
        ir: String,
        #[source]
        source: kiln_ir::IrError,
    },
    /// Compiling or running the JIT-compiled model failed.
    #[error(transparent)]
    Runtime(#[from] kiln_runtime::RuntimeError),
    /// Compiling a native object failed (target, feature, name or code generation).
    #[error(transparent)]
    Native(#[from] kiln_backend::BackendError),
    /// The graph optimizer failed (a kiln bug: rules must only produce valid graphs).
    #[error("internal: graph optimizer: {0}")]
    Optimizer(#[from] kiln_passes::PassError),
    /// A tensor file (`.npy`, `.pb`) is malformed or unsupported.
    #[error("{}: {msg}", path.display())]
    TensorFile { path: PathBuf, msg: String },
    /// Bytes that are not a valid `.npy` file (the path is added by [`crate::io`]).
    #[error("{0}")]
    Npy(String),
    /// A tensor file extension kiln does not know.
    #[error("{}: unknown tensor file type (expected .npy or .pb)", path.display())]
    TensorFormat { path: PathBuf },
    /// A name that is not a graph input of the model.
    #[error("unknown input '{name}' (the model's inputs are: {known})")]
    UnknownInput { name: String, known: String },
    /// An input's shape cannot be determined, or two given sizes of one named dim disagree.
    #[error("input '{input}': {msg}")]
    Shape { input: String, msg: String },
    /// A dim name (`--dim NAME=SIZE`) that no input of the model uses.
    #[error("no input has a symbolic dim '{name}' (the model's symbolic dims: {known})")]
    UnknownDim { name: String, known: String },
    /// An input tensor does not fit the compiled model.
    #[error("input '{name}': {msg}")]
    Input { name: String, msg: String },
    /// The number of input tensors does not match the model.
    #[error("the model takes {expected} input(s) ({names}), got {got}")]
    InputCount { expected: usize, got: usize, names: String },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

// Boxed: the frontend's errors are large, and `Result<_, Error>` is returned everywhere.
impl From<kiln_frontend::FrontendError> for Error {
    fn from(e: kiln_frontend::FrontendError) -> Self {
        Error::Frontend(Box::new(e))
    }
}

impl Error {
    /// True when the error is a bug in kiln rather than a property of the input: a panic caught
    /// while generating code ([`kiln_backend::BackendError::Internal`]), IR a stage broke
    /// ([`Error::Verify`]) or an optimizer failure ([`Error::Optimizer`]). The CLI reports
    /// these as `internal error` with exit code 101, as it does an uncaught panic.
    pub fn is_internal(&self) -> bool {
        match self {
            Error::Verify { .. } | Error::Optimizer(_) => true,
            Error::Native(b) | Error::Runtime(kiln_runtime::RuntimeError::Backend(b)) => b.is_internal(),
            _ => false,
        }
    }

    /// The graph input whose value the import needs to know at compile time (it determines a
    /// shape), when that is why compilation failed. `kiln run` then binds the value and retries.
    pub fn needs_value_input(&self) -> Option<&str> {
        match self {
            Error::Frontend(e) => match e.as_ref() {
                kiln_frontend::FrontendError::NeedsValue { graph_input, .. } => Some(graph_input),
                _ => None,
            },
            _ => None,
        }
    }
}
