//! The `model` and `shapes` arguments: a path (`str`/`os.PathLike`), bytes (`bytes`,
//! `bytearray`, `memoryview`) or any object with `SerializeToString()` (an `onnx.ModelProto`,
//! duck-typed so the package does not import onnx), and a dict of input shapes.

use crate::errors::{guard, to_py};
use kiln::Model;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString};
use std::path::PathBuf;

/// Loads the model argument; shapes are applied by [`with_shapes`].
pub fn load(model: &Bound<'_, PyAny>) -> PyResult<Model> {
    if let Some(bytes) = bytes_of(model)? {
        return guard("parsing the model", || Model::from_bytes(&bytes, None).map_err(|e| to_py(&e)));
    }
    if model.is_instance_of::<PyString>() || model.hasattr("__fspath__")? {
        let path: PathBuf = model.extract()?;
        return guard("loading the model", || Model::load(&path).map_err(|e| to_py(&e)));
    }
    let type_name = model.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "model must be a path (str or os.PathLike), bytes, or an onnx.ModelProto (anything with \
         SerializeToString()), got {type_name}"
    )))
}

/// The model's bytes, when it was given as bytes or as a protobuf message.
fn bytes_of(model: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    if let Ok(b) = model.cast::<PyBytes>() {
        return Ok(Some(b.as_bytes().to_vec()));
    }
    if let Ok(b) = model.cast::<PyByteArray>() {
        return Ok(Some(b.to_vec()));
    }
    if model.get_type().name()? == "memoryview" {
        return Ok(Some(model.call_method0("tobytes")?.cast::<PyBytes>()?.as_bytes().to_vec()));
    }
    if model.hasattr("SerializeToString")? {
        let serialized = model.call_method0("SerializeToString")?;
        let bytes = serialized
            .cast::<PyBytes>()
            .map_err(|_| PyTypeError::new_err("model.SerializeToString() did not return bytes"))?;
        return Ok(Some(bytes.as_bytes().to_vec()));
    }
    Ok(None)
}

/// Applies `shapes` (`{input name: sequence of ints}`); names are checked when compiling.
pub fn with_shapes(mut model: Model, shapes: Option<&Bound<'_, PyDict>>) -> PyResult<Model> {
    let Some(shapes) = shapes else { return Ok(model) };
    for (name, dims) in shapes.iter() {
        let name: String =
            name.extract().map_err(|_| PyTypeError::new_err("shapes: keys must be input names (str)"))?;
        let dims: Vec<usize> = dims
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("shapes['{name}']: expected a sequence of non-negative ints")))?;
        model = model.with_shape(&name, &dims);
    }
    Ok(model)
}
