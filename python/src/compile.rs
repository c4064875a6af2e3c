//! `kiln.compile(model, shapes=None, opt_level=2, threads=None)`: the model JIT-compiled for
//! this CPU, as `kiln compile`'s sibling `kiln run` does it ([`kiln::Model::compile`]).
//!
//! `threads`: the threads one run uses (`kiln::Options::threads`; `None`: the machine's
//! physical cores); 1 to 256, anything else raises `ValueError`. Calling `run` from several
//! Python threads also works: it releases the GIL, and a compiled model may run on many threads
//! at once (each call's parts then run on its own thread when the model's pool is busy).

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
    let mut options = Options::with_opt_level(opt_level_of(opt_level)?);
    options.threads = threads_of(threads)?.unwrap_or(options.threads);
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

fn threads_of(threads: Option<i64>) -> PyResult<Option<usize>> {
    match threads {
        None => Ok(None),
        Some(n @ 1..=256) => Ok(Some(n as usize)),
        Some(n) => Err(PyValueError::new_err(format!("threads={n}: give 1 to 256, or None for the physical cores"))),
    }
}
