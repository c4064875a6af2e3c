//! kiln: an ONNX compiler for edge CPUs. This crate is the public API and the pipeline.
//!
//! ```no_run
//! let model = kiln::Model::load("model.onnx")?.with_shape("x", &[1, 3, 224, 224]);
//! let compiled = model.compile(&kiln::Options::default())?;
//! let x = kiln::Tensor::zeros(&compiled.input_types()[0]);
//! let outputs = compiled.run(&[x])?;
//! # Ok::<(), kiln::Error>(())
//! ```
//!
//! - [`Model`]: a loaded model and its specialisation (input shapes, compile-time values);
//! - [`pipeline`]: the explicit list of stages, import -> verify -> passes -> JIT;
//! - [`CompiledModel`]: runs on [`Tensor`]s, from several threads at once;
//! - [`native`]: [`Model::compile_object`], a self-contained native object and C header;
//! - [`io`]: tensors in `.npy` and ONNX `.pb` files;
//! - [`summary`]: op counts, parameters and FLOPs of a graph (`kiln inspect`).

pub mod compiled;
pub mod cpus;
pub mod dims;
pub mod error;
pub mod io;
pub mod layouts;
pub mod model;
pub mod native;
pub mod options;
pub mod pipeline;
pub mod provenance;
pub mod summary;

pub use compiled::{CompiledModel, Stats};
pub use error::{Error, Result};
pub use kiln_backend::BackendError;
pub use kiln_frontend::{Dim, FrontendError, InputInfo, UnsupportedOp};
pub use kiln_ir::{DType, Graph, Tensor, TensorData, TensorType};
pub use kiln_runtime::RuntimeError;
pub use model::Model;
pub use native::{CompiledObject, Cpu, NativeOptions, ObjectStats};
pub use options::Options;
pub use pipeline::{Lowered, Stage};
