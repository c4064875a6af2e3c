//! Specialisation of graph inputs to static types, or to constants.
//!
//! The IR has static shapes only, so every symbolic or unknown dim of a graph input must be
//! fixed at import: by `ImportOptions::shapes`, else axis 0 (the batch, by overwhelming
//! convention) defaults to 1 with a note telling how to choose another, else it is an error
//! naming the input and axis. Inputs with a value in `ImportOptions::values` become constants,
//! which lets shape parameters fed by graph inputs fold.

use crate::error::{FrontendError, Result};
use crate::proto::{dtype_from_onnx, onnx_dtype_name};
use crate::{Dim, ImportOptions};
use kiln_ir::{Tensor, TensorType};

/// What a graph input becomes.
pub enum Binding {
    /// A run-time input of this type.
    Runtime(TensorType),
    /// A constant with the user's value.
    Value(Tensor),
}

/// A graph input as declared: element type code and dims (`None`: no shape declared).
pub struct Declared<'a> {
    pub name: &'a str,
    pub elem: Option<i32>,
    pub dims: Option<Vec<Dim>>,
}

/// Decides the type (or value) of one graph input; notes defaults taken on the user's behalf.
pub fn specialize(decl: &Declared, opts: &ImportOptions, notes: &mut Vec<String>) -> Result<Binding> {
    let err = |msg: String| FrontendError::Input { input: decl.name.to_string(), msg };
    let elem =
        decl.elem.ok_or_else(|| err("is not a tensor (sequences, maps and optionals are not supported)".into()))?;
    let dtype =
        dtype_from_onnx(elem).map_err(|_| err(format!("element type {} is not supported", onnx_dtype_name(elem))))?;
    if let Some(v) = opts.values.get(decl.name) {
        if v.dtype() != dtype {
            return Err(err(format!("given value is {}, the model declares {dtype}", v.dtype())));
        }
        check_fits(decl, v.shape()).map_err(err)?;
        return Ok(Binding::Value(v.clone()));
    }
    if let Some(shape) = opts.shapes.get(decl.name) {
        check_fits(decl, shape).map_err(err)?;
        return Ok(Binding::Runtime(TensorType::new(dtype, shape.clone())));
    }
    let dims =
        decl.dims.as_ref().ok_or_else(|| err(format!("declares no shape; give it with --shape {}=...", decl.name)))?;
    let shape = dims
        .iter()
        .enumerate()
        .map(|(axis, d)| resolve_dim(decl.name, axis, d, notes))
        .collect::<Result<Vec<usize>>>()?;
    Ok(Binding::Runtime(TensorType::new(dtype, shape)))
}

fn resolve_dim(input: &str, axis: usize, dim: &Dim, notes: &mut Vec<String>) -> Result<usize> {
    let described = match dim {
        Dim::Fixed(d) => return Ok(*d),
        Dim::Symbolic(s) => format!("symbolic dim '{s}'"),
        Dim::Unknown => "unknown dim".to_string(),
    };
    if axis == 0 {
        notes.push(format!("input '{input}': {described} (axis 0) set to 1; use --shape {input}=..."));
        return Ok(1);
    }
    let dim = match dim {
        Dim::Symbolic(s) => format!("'{s}'"),
        _ => "?".to_string(),
    };
    Err(FrontendError::UnresolvedDim { input: input.to_string(), axis, dim })
}

/// A given shape must have the declared rank and agree with every fixed dim.
fn check_fits(decl: &Declared, shape: &[usize]) -> Result<(), String> {
    let Some(dims) = &decl.dims else { return Ok(()) };
    if dims.len() != shape.len() {
        return Err(format!("given shape {shape:?} has rank {}, the model declares rank {}", shape.len(), dims.len()));
    }
    for (axis, (d, &s)) in dims.iter().zip(shape).enumerate() {
        if let Dim::Fixed(f) = d {
            if *f != s {
                return Err(format!("given shape {shape:?} has {s} at axis {axis}, the model fixes it to {f}"));
            }
        }
    }
    Ok(())
}
