//! The feeds of `CompiledModel.run`: a dict by input name or a list in input order, each value
//! checked against the compiled input (a numpy array of its dtype and shape; errors name the
//! input) and turned into an address the compiled code can read.
//!
//! An array is passed as is when it is C-contiguous and aligned: the compiled code reads the
//! array's own memory. Otherwise it is copied once (`numpy.ascontiguousarray`). Types numpy lacks
//! arrive widened (see [`crate::dtypes`]) and are converted into a kiln tensor of the real type.

use crate::dtypes::{numpy_dtype, numpy_name, widened};
use crate::errors::{input_error, raise, Kind};
use kiln::{Tensor, TensorType};
use numpy::{PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// One checked input: a numpy array used in place, or a converted tensor.
enum Feed<'py> {
    Array(Bound<'py, PyUntypedArray>),
    Owned { _tensor: Tensor, ptr: *const u8 },
}

/// The checked inputs, in the model's input order; they own (or keep alive) the memory
/// [`Prepared::pointers`] addresses.
pub struct Prepared<'py> {
    feeds: Vec<Feed<'py>>,
}

/// Input addresses, movable to the thread-free section where the model runs.
pub struct Pointers(Vec<*const u8>);

// SAFETY: the addresses are only read by the compiled code while the `Prepared` that owns the
// memory is kept alive by the caller (see `CompiledModel::run`).
unsafe impl Send for Pointers {}

impl Pointers {
    pub fn get(&self) -> &[*const u8] {
        &self.0
    }
}

impl Prepared<'_> {
    pub fn pointers(&self) -> Pointers {
        Pointers(self.feeds.iter().map(Feed::ptr).collect())
    }
}

impl Feed<'_> {
    fn ptr(&self) -> *const u8 {
        match self {
            // SAFETY: `as_array_ptr` addresses the live array object `self` holds a reference to.
            Feed::Array(a) => unsafe { (*a.as_array_ptr()).fields.data as *const u8 },
            Feed::Owned { ptr, .. } => *ptr,
        }
    }
}

/// Checks `feeds` against the inputs `names`/`types` and prepares them, in input order.
pub fn prepare<'py>(
    py: Python<'py>,
    feeds: &Bound<'py, PyAny>,
    names: &[String],
    types: &[TensorType],
) -> PyResult<Prepared<'py>> {
    let values = ordered(feeds, names)?;
    let feeds = values
        .iter()
        .zip(names.iter().zip(types))
        .map(|(value, (name, ty))| feed(py, value, name, ty))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Prepared { feeds })
}

/// The values of `feeds` in input order.
fn ordered<'py>(feeds: &Bound<'py, PyAny>, names: &[String]) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Ok(dict) = feeds.cast::<PyDict>() {
        return from_dict(dict, names);
    }
    if feeds.is_instance_of::<PyList>() || feeds.is_instance_of::<PyTuple>() {
        let values: Vec<Bound<'py, PyAny>> = feeds.try_iter()?.collect::<PyResult<_>>()?;
        if values.len() != names.len() {
            let msg = format!("the model takes {} input(s) ({}), got {}", names.len(), names.join(", "), values.len());
            return Err(raise(Kind::Input, msg));
        }
        return Ok(values);
    }
    let type_name = feeds.get_type().name()?;
    Err(raise(
        Kind::Input,
        format!("feeds must be a dict {{input name: array}} or a list of arrays in input order, got {type_name}"),
    ))
}

fn from_dict<'py>(dict: &Bound<'py, PyDict>, names: &[String]) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let known = names.join(", ");
    for key in dict.keys() {
        let key: String = key.extract().map_err(|_| raise(Kind::Input, "feeds: keys must be input names (str)"))?;
        if !names.contains(&key) {
            let msg = format!("unknown input '{key}' (the model's inputs are: {known})");
            return Err(crate::errors::named_input(Kind::Input, &key, msg));
        }
    }
    names
        .iter()
        .map(|name| {
            dict.get_item(name)?.ok_or_else(|| {
                let msg = format!("missing input '{name}' (the model's inputs are: {known})");
                crate::errors::named_input(Kind::Input, name, msg)
            })
        })
        .collect()
}

/// Checks one value against input `name` of type `ty`.
fn feed<'py>(py: Python<'py>, value: &Bound<'py, PyAny>, name: &str, ty: &TensorType) -> PyResult<Feed<'py>> {
    let array = value.cast::<PyUntypedArray>().map_err(|_| {
        let got = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        input_error(name, format!("expected a numpy.ndarray, got {got}"))
    })?;
    let expected = numpy_dtype(py, ty.dtype)?;
    if !array.dtype().is_equiv_to(&expected) {
        let got = array.dtype().str()?;
        return Err(input_error(name, format!("expected dtype {}, got {got}", numpy_name(ty.dtype))));
    }
    if array.shape() != ty.shape.as_slice() {
        let msg = format!("expected shape {}, got {}", tuple_text(&ty.shape), tuple_text(array.shape()));
        return Err(input_error(name, msg));
    }
    let array = contiguous(py, array)?;
    match widened(ty.dtype) {
        None => Ok(Feed::Array(array)),
        Some(wide) => narrowed(&array, wide, name, ty),
    }
}

/// `array` itself when the compiled code can read it in place, else a C-contiguous copy.
fn contiguous<'py>(py: Python<'py>, array: &Bound<'py, PyUntypedArray>) -> PyResult<Bound<'py, PyUntypedArray>> {
    if array.is_c_contiguous() && array.is_aligned() {
        return Ok(array.clone());
    }
    let numpy = py.import("numpy")?;
    Ok(numpy.call_method1("ascontiguousarray", (array,))?.cast_into::<PyUntypedArray>()?)
}

/// A widened array (float32, int8, uint8) converted into a tensor of the input's real type.
fn narrowed<'py>(
    array: &Bound<'py, PyUntypedArray>,
    wide: kiln::DType,
    name: &str,
    ty: &TensorType,
) -> PyResult<Feed<'py>> {
    let shape = ty.shape.clone();
    let tensor = match wide {
        kiln::DType::I8 => Tensor::from_vec(shape, elements::<i8>(array)?),
        kiln::DType::U8 => Tensor::from_vec(shape, elements::<u8>(array)?),
        _ => Tensor::from_vec(shape, elements::<f32>(array)?),
    };
    let mut tensor = tensor.cast(ty.dtype).map_err(|e| input_error(name, e))?;
    let ptr = tensor.as_mut_ptr() as *const u8;
    Ok(Feed::Owned { _tensor: tensor, ptr })
}

fn elements<T: numpy::Element + Copy>(array: &Bound<'_, PyUntypedArray>) -> PyResult<Vec<T>> {
    let typed = array.cast::<PyArrayDyn<T>>()?;
    Ok(typed.readonly().as_slice()?.to_vec())
}

/// A shape as Python prints a tuple: `(1, 3)`, `(5,)`, `()`.
pub fn tuple_text(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(usize::to_string).collect();
    match parts.len() {
        1 => format!("({},)", parts[0]),
        _ => format!("({})", parts.join(", ")),
    }
}
