//! `kiln.CompiledModel` (a [`kiln::CompiledModel`] and its signature) and `kiln.TensorInfo`
//! (one input or output: name, numpy dtype, shape).
//!
//! `run` checks the feeds ([`crate::feeds`]), passes the arrays' own memory to the compiled
//! code (copying only an input that is not C-contiguous and aligned, or whose type numpy lacks),
//! releases the GIL while the model runs, and hands the output buffers to numpy without a copy
//! ([`crate::outputs`]). The model is shared (`Arc`), so several Python threads may run it at once.

use crate::dtypes::numpy_dtype;
use crate::errors::detached;
use crate::{feeds, outputs};
use kiln::TensorType;
use numpy::PyArrayDescr;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::Arc;

/// One input or output of a compiled model.
#[pyclass(frozen, module = "kiln")]
pub struct TensorInfo {
    /// The graph's name of the tensor.
    #[pyo3(get)]
    pub name: String,
    /// The numpy dtype `run` takes or returns.
    #[pyo3(get)]
    pub dtype: Py<PyArrayDescr>,
    /// The shape (fixed at compile time).
    #[pyo3(get)]
    pub shape: Py<PyTuple>,
    /// kiln's name of the element type (`f32`, `bf16`, ...).
    #[pyo3(get, name = "type")]
    pub kiln_type: String,
}

impl TensorInfo {
    pub fn new(py: Python<'_>, name: &str, ty: &TensorType) -> PyResult<TensorInfo> {
        Ok(TensorInfo {
            name: name.to_string(),
            dtype: numpy_dtype(py, ty.dtype)?.unbind(),
            shape: PyTuple::new(py, &ty.shape)?.unbind(),
            kiln_type: ty.dtype.name().to_string(),
        })
    }
}

#[pymethods]
impl TensorInfo {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let shape = self.shape.bind(py).repr()?;
        let dtype = self.dtype.bind(py).str()?;
        Ok(format!("TensorInfo(name={:?}, dtype={dtype}, shape={shape})", self.name))
    }
}

/// A model compiled for this CPU; see `kiln.compile`.
#[pyclass(frozen, module = "kiln")]
pub struct CompiledModel {
    model: Arc<kiln::CompiledModel>,
    input_types: Vec<TensorType>,
    inputs: Vec<Py<TensorInfo>>,
    outputs: Vec<Py<TensorInfo>>,
}

impl CompiledModel {
    pub fn new(py: Python<'_>, model: kiln::CompiledModel) -> PyResult<CompiledModel> {
        let input_types = model.input_types();
        let inputs = infos(py, model.input_names(), &input_types)?;
        let outputs = infos(py, model.output_names(), &model.output_types())?;
        Ok(CompiledModel { model: Arc::new(model), input_types, inputs, outputs })
    }
}

fn infos(py: Python<'_>, names: &[String], types: &[TensorType]) -> PyResult<Vec<Py<TensorInfo>>> {
    names.iter().zip(types).map(|(n, t)| Py::new(py, TensorInfo::new(py, n, t)?)).collect()
}

#[pymethods]
impl CompiledModel {
    /// The runtime inputs, in the order `run` takes a list.
    #[getter]
    fn inputs(&self, py: Python<'_>) -> Vec<Py<TensorInfo>> {
        self.inputs.iter().map(|i| i.clone_ref(py)).collect()
    }

    /// The outputs, in graph order.
    #[getter]
    fn outputs(&self, py: Python<'_>) -> Vec<Py<TensorInfo>> {
        self.outputs.iter().map(|i| i.clone_ref(py)).collect()
    }

    /// What the importer decided on the caller's behalf (e.g. symbolic dims set to 1).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.model.notes().to_vec()
    }

    /// Runs the model on `feeds` (a dict by input name, or a list in input order) and returns
    /// a dict of numpy arrays by output name.
    fn run<'py>(&self, py: Python<'py>, feeds: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let names = self.model.input_names();
        let prepared = feeds::prepare(py, feeds, names, &self.input_types)?;
        let pointers = prepared.pointers();
        let model = Arc::clone(&self.model);
        // SAFETY: `prepared` keeps every buffer alive (and unwritten by this crate) until the
        // call returns, and `feeds::prepare` checked each one's dtype, shape, contiguity and
        // alignment against the model's input types.
        let result = detached(py, "running the model", move || unsafe { model.run_ptrs(pointers.get()) });
        drop(prepared);
        outputs::to_dict(py, self.model.output_names(), result?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let list = |infos: &[Py<TensorInfo>]| -> PyResult<String> {
            let parts: PyResult<Vec<String>> = infos.iter().map(|i| i.get().__repr__(py)).collect();
            Ok(parts?.join(", "))
        };
        Ok(format!("CompiledModel(inputs=[{}], outputs=[{}])", list(&self.inputs)?, list(&self.outputs)?))
    }
}
