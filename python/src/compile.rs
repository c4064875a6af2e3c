//! `kiln.compile(model, shapes=None, opt_level=2, threads=None)`: the model JIT-compiled for
//! this CPU, as `kiln compile`'s sibling `kiln run` does it ([`kiln::Model::compile`]).
//!
//! `threads`: kiln's runtime runs a model on the calling thread (there is no intra-op thread
//! pool yet), so only `None` and `1` are accepted; anything else raises `ValueError` rather
//! than being ignored. Parallelism comes from calling `run` from several Python threads: it
//! releases the GIL, and a compiled model may run on many threads at once.

use crate::compiled::CompiledModel;
use crate::errors::detached;
use crate::model_arg;
use kiln::Options;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Compiles an ONNX model for this CPU. See the type stubs (`kiln/_kiln.pyi`) for details.
#[pyfunction]
#[pyo3(signature = (model, shapes=None, opt_level=2, threads=None))]
pub fn compile(
    py: Python<'_>,
    model: &Bound<'_, PyAny>,
    shapes: Option<&Bound<'_, PyDict>>,
    opt_level: i64,
    threads: Option<i64>,
) -> PyResult<CompiledModel> {
    check_threads(threads)?;
    let options = Options::with_opt_level(opt_level_of(opt_level)?);
    let model = model_arg::with_shapes(model_arg::load(model)?, shapes)?;
    let compiled = detached(py, "compiling", || model.compile(&options))?;
    CompiledModel::new(py, compiled)
}

/// The optimisation level, checked (0: no graph passes, 2: all of them).
pub fn opt_level_of(level: i64) -> PyResult<u8> {
    match u8::try_from(level) {
        Ok(l @ 0..=2) => Ok(l),
        _ => Err(PyValueError::new_err(format!("opt_level must be 0, 1 or 2, got {level}"))),
    }
}

fn check_threads(threads: Option<i64>) -> PyResult<()> {
    match threads {
        None | Some(1) => Ok(()),
        Some(n) => Err(PyValueError::new_err(format!(
            "threads={n}: kiln runs a model on the calling thread (no thread pool yet), so only \
             threads=None or threads=1 are accepted; for parallelism call run() from several \
             Python threads (it releases the GIL)"
        ))),
    }
}
