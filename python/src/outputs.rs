//! The outputs of a run as numpy arrays, by output name.
//!
//! Each output tensor's typed vector is moved into a numpy array (`PyArray::from_vec` keeps
//! the Rust allocation as the array's memory): no copy. float16 crosses as its bits (uint16)
//! viewed as float16; the types numpy lacks are widened first (see [`crate::dtypes`]).

use crate::dtypes::widened;
use crate::errors::{raise, Kind};
use kiln::{Tensor, TensorData};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// `{name: array}` for the outputs of one run, in graph order.
pub fn to_dict<'py>(py: Python<'py>, names: &[String], outputs: Vec<Tensor>) -> PyResult<Bound<'py, PyDict>> {
    if names.len() != outputs.len() {
        let msg = format!("the model returned {} outputs for {} names", outputs.len(), names.len());
        return Err(raise(Kind::Internal, msg));
    }
    let dict = PyDict::new(py);
    for (name, tensor) in names.iter().zip(outputs) {
        dict.set_item(name, to_numpy(py, tensor)?)?;
    }
    Ok(dict)
}

/// One tensor as a numpy array of its shape.
pub fn to_numpy<'py>(py: Python<'py>, tensor: Tensor) -> PyResult<Bound<'py, PyAny>> {
    if let Some(wide) = widened(tensor.dtype()) {
        let cast = tensor.cast(wide).map_err(|e| raise(Kind::Internal, format!("widening an output: {e}")))?;
        return to_numpy(py, cast);
    }
    let shape = PyTuple::new(py, tensor.shape())?;
    flat(py, tensor.into_data())?.call_method1("reshape", (shape,))
}

/// The elements as a one-dimensional array, moved without a copy.
fn flat<'py>(py: Python<'py>, data: TensorData) -> PyResult<Bound<'py, PyAny>> {
    Ok(match data {
        TensorData::F32(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::F64(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::I8(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::U8(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::I16(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::U16(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::I32(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::U32(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::I64(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::U64(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::Bool(v) => PyArray1::from_vec(py, v).into_any(),
        TensorData::F16(v) => {
            // Same size and alignment: collected in place, no copy.
            let bits: Vec<u16> = v.into_iter().map(|h| h.0).collect();
            PyArray1::from_vec(py, bits).call_method1("view", ("float16",))?
        }
        other => {
            let msg = format!("output of type {} reached numpy unconverted", other.dtype());
            return Err(raise(Kind::Internal, msg));
        }
    })
}
