//! `kiln.compile_object(...)`: the model as a native object file and its C header, as
//! `kiln compile` builds them ([`kiln::Model::compile_object`]), returned in memory as a
//! `kiln.CompiledObject` (object bytes, header text, C name, target, CPU, features, sizes).

use crate::compile::opt_level_of;
use crate::compiled::TensorInfo;
use crate::errors::detached;
use crate::model_arg;
use kiln::{Cpu, NativeOptions, Options, TensorType};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

/// A model compiled into a native object; see `kiln.compile_object`.
#[pyclass(frozen, module = "kiln")]
pub struct CompiledObject {
    /// The object file (ELF, Mach-O or COFF by the target).
    #[pyo3(get)]
    object: Py<PyBytes>,
    /// The C header describing the object's ABI.
    #[pyo3(get)]
    header: String,
    /// The C name: the object exports `{name}_run` and `{name}_workspace_size`.
    #[pyo3(get)]
    name: String,
    #[pyo3(get)]
    target: String,
    /// `native` or `generic`.
    #[pyo3(get)]
    cpu: String,
    /// The CPU features the code may use.
    #[pyo3(get)]
    features: Vec<String>,
    /// Sizes: kernels, code_bytes, weight_bytes, model_weight_bytes, workspace_bytes, object_bytes.
    #[pyo3(get)]
    stats: Py<PyDict>,
    #[pyo3(get)]
    inputs: Vec<Py<TensorInfo>>,
    #[pyo3(get)]
    outputs: Vec<Py<TensorInfo>>,
    /// What the importer decided on the caller's behalf.
    #[pyo3(get)]
    notes: Vec<String>,
}

#[pymethods]
impl CompiledObject {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let size = self.object.bind(py).as_bytes().len();
        Ok(format!("CompiledObject(name={:?}, target={:?}, object=<{size} bytes>)", self.name, self.target))
    }
}

/// Compiles an ONNX model into a native object and C header. See `kiln/_kiln.pyi`.
#[pyfunction]
#[pyo3(signature = (model, target=None, cpu=None, features=None, name=None, shapes=None, opt_level=2))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments.
pub fn compile_object(
    py: Python<'_>,
    model: &Bound<'_, PyAny>,
    target: Option<String>,
    cpu: Option<String>,
    features: Option<&Bound<'_, PyAny>>,
    name: Option<String>,
    shapes: Option<&Bound<'_, PyDict>>,
    opt_level: i64,
) -> PyResult<CompiledObject> {
    let native = NativeOptions { target, cpu: cpu_of(cpu.as_deref())?, features: features_of(features)?, name };
    let options = Options::with_opt_level(opt_level_of(opt_level)?);
    let model = model_arg::with_shapes(model_arg::load(model)?, shapes)?;
    let compiled = detached(py, "compiling the object", || model.compile_object(&options, &native))?;
    to_py(py, compiled)
}

fn cpu_of(cpu: Option<&str>) -> PyResult<Option<Cpu>> {
    match cpu {
        None => Ok(None),
        Some("native") => Ok(Some(Cpu::Native)),
        Some("generic") => Ok(Some(Cpu::Generic)),
        Some(other) => Err(PyValueError::new_err(format!("cpu must be 'native' or 'generic', got {other:?}"))),
    }
}

/// `features`: a comma list (`"+avx2,-fma"`) or a sequence of such strings.
fn features_of(features: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<String>> {
    let Some(f) = features else { return Ok(Vec::new()) };
    if let Ok(s) = f.cast::<PyString>() {
        return Ok(vec![s.extract::<String>()?]);
    }
    f.extract::<Vec<String>>()
        .map_err(|_| PyTypeError::new_err("features must be a string (\"+avx2,-fma\") or a list of strings"))
}

fn to_py(py: Python<'_>, c: kiln::CompiledObject) -> PyResult<CompiledObject> {
    let stats = PyDict::new(py);
    stats.set_item("kernels", c.stats.kernels)?;
    stats.set_item("code_bytes", c.stats.code_bytes)?;
    stats.set_item("weight_bytes", c.stats.weight_bytes)?;
    stats.set_item("model_weight_bytes", c.stats.model_weight_bytes)?;
    stats.set_item("workspace_bytes", c.stats.workspace_bytes)?;
    stats.set_item("object_bytes", c.stats.object_bytes)?;
    Ok(CompiledObject {
        object: PyBytes::new(py, &c.object).unbind(),
        header: c.header,
        name: c.name,
        target: c.triple,
        cpu: c.cpu.name().to_string(),
        features: c.features,
        stats: stats.unbind(),
        inputs: infos(py, &c.inputs)?,
        outputs: infos(py, &c.outputs)?,
        notes: c.notes,
    })
}

fn infos(py: Python<'_>, named: &[(String, TensorType)]) -> PyResult<Vec<Py<TensorInfo>>> {
    named.iter().map(|(n, t)| Py::new(py, TensorInfo::new(py, n, t)?)).collect()
}
