//! The exception hierarchy, the mapping from [`kiln::Error`] onto it, and [`guard`], which turns
//! a panic into an exception instead of letting it reach the interpreter.
//!
//! ```text
//! KilnError                 every error kiln raises
//! ├── ModelError            the model cannot be read or imported (malformed bytes, unsupported
//! │                         op or dtype, bad attribute: the message names node, op, attribute)
//! ├── ShapeError            shapes: an unknown symbolic dim, a shape that does not fit an input
//! ├── InputError            what run() was given: missing/unknown input, dtype, shape, count
//! ├── CompileError          code generation, target, CPU features, C name
//! ├── RunError              the compiled model failed while running
//! └── InternalError         a kiln bug: invalid IR, optimizer failure, a caught panic
//! ```
//! The message is kiln's own (the error and its causes joined by `: `, as the CLI prints them).
//! Each exception also has `node`, `op`, `attribute` and `input` attributes, `None` unless the
//! error names them, so tests can check them without parsing messages.

use kiln::{Error, FrontendError};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

pyo3::create_exception!(kiln, KilnError, PyException, "Base class of every error kiln raises.");
pyo3::create_exception!(kiln, ModelError, KilnError, "The model cannot be read or imported.");
pyo3::create_exception!(kiln, ShapeError, KilnError, "A shape is unknown or does not fit.");
pyo3::create_exception!(kiln, InputError, KilnError, "An input does not fit the model.");
pyo3::create_exception!(kiln, CompileError, KilnError, "Code generation or target failed.");
pyo3::create_exception!(kiln, RunError, KilnError, "The compiled model failed while running.");
pyo3::create_exception!(kiln, InternalError, KilnError, "A bug in kiln (please report it).");

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("KilnError", py.get_type::<KilnError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add("ShapeError", py.get_type::<ShapeError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add("CompileError", py.get_type::<CompileError>())?;
    m.add("RunError", py.get_type::<RunError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}

/// The class of an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Model,
    Shape,
    Input,
    Compile,
    Run,
    Internal,
    Other,
}

/// What an error names, set as attributes of the exception.
#[derive(Default)]
struct Named {
    node: Option<String>,
    op: Option<String>,
    attribute: Option<String>,
    input: Option<String>,
}

/// An exception of `kind` with `msg` and the attributes of `named` (all `None` here).
pub fn raise(kind: Kind, msg: impl Into<String>) -> PyErr {
    build(kind, msg.into(), Named::default())
}

/// An [`InputError`] about input `name`: `input 'NAME': MSG`.
pub fn input_error(name: &str, msg: impl std::fmt::Display) -> PyErr {
    named_input(Kind::Input, name, format!("input '{name}': {msg}"))
}

/// An exception of `kind` whose `input` attribute is `name`.
pub fn named_input(kind: Kind, name: &str, msg: String) -> PyErr {
    build(kind, msg, input(name))
}

/// The exception for a kiln error: its class, kiln's message, what it names.
pub fn to_py(e: &Error) -> PyErr {
    let (kind, named) = classify(e);
    let mut msg = chain(e);
    if let Some(hint) = python_hint(e) {
        msg = format!("{msg} ({hint})");
    }
    build(kind, msg, named)
}

/// Runs `f`, turning a panic into an [`InternalError`] (the interpreter must never abort).
pub fn guard<T>(what: &str, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(internal(what, &panic_text(payload))))
}

/// Runs `f` with the GIL released (other Python threads run meanwhile), a panic caught as in
/// [`guard`]; exceptions are built after the GIL is taken back.
pub fn detached<T: Send>(py: Python<'_>, what: &str, f: impl FnOnce() -> kiln::Result<T> + Send) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(f)).map_err(panic_text)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(to_py(&e)),
        Err(text) => Err(internal(what, &text)),
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn internal(what: &str, text: &str) -> PyErr {
    raise(Kind::Internal, format!("internal error while {what} (a kiln bug, please report it): {text}"))
}

fn build(kind: Kind, msg: String, named: Named) -> PyErr {
    let err = match kind {
        Kind::Model => ModelError::new_err(msg),
        Kind::Shape => ShapeError::new_err(msg),
        Kind::Input => InputError::new_err(msg),
        Kind::Compile => CompileError::new_err(msg),
        Kind::Run => RunError::new_err(msg),
        Kind::Internal => InternalError::new_err(msg),
        Kind::Other => KilnError::new_err(msg),
    };
    Python::attach(|py| {
        let value = err.value(py);
        let attrs = [("node", named.node), ("op", named.op), ("attribute", named.attribute), ("input", named.input)];
        for (key, v) in attrs {
            // Setting an attribute on a fresh exception instance cannot fail in practice; if it
            // did, the exception without it is still the right one to raise.
            let _ = value.setattr(key, v);
        }
    });
    err
}

/// The error and its causes, joined by `: ` (anyhow's `{:#}`, as the CLI prints errors).
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        cause = c.source();
    }
    parts.join(": ")
}

fn classify(e: &Error) -> (Kind, Named) {
    match e {
        Error::Read { .. } => (Kind::Model, Named::default()),
        Error::Model { source, .. } => classify_frontend(source),
        Error::Frontend(f) => classify_frontend(f),
        Error::UnknownInput { name, .. } => (Kind::Input, input(name)),
        Error::Input { name, .. } => (Kind::Input, input(name)),
        Error::Shape { input: name, .. } => (Kind::Shape, input(name)),
        Error::UnknownDim { .. } => (Kind::Shape, Named::default()),
        Error::InputCount { .. } => (Kind::Input, Named::default()),
        Error::Runtime(r) => classify_runtime(r),
        Error::Native(b) => classify_backend(b),
        Error::Verify { .. } | Error::Optimizer(_) => (Kind::Internal, Named::default()),
        _ => (Kind::Other, Named::default()),
    }
}

fn input(name: &str) -> Named {
    Named { input: Some(name.to_string()), ..Named::default() }
}

fn node(node: &str, op: &str) -> Named {
    Named { node: Some(node.into()), op: Some(op.into()), ..Named::default() }
}

fn classify_frontend(e: &FrontendError) -> (Kind, Named) {
    use FrontendError as F;
    match e {
        F::Input { input: i, .. } | F::UnresolvedDim { input: i, .. } => (Kind::Shape, input(i)),
        F::NeedsValue { node: n, op, input: i, .. } => (Kind::Shape, Named { input: Some(i.clone()), ..node(n, op) }),
        F::DataDependent { node: n, op, input: i } => (Kind::Shape, Named { input: Some(i.clone()), ..node(n, op) }),
        F::Attribute { node: n, op, attr, .. } => (Kind::Model, Named { attribute: Some(attr.clone()), ..node(n, op) }),
        F::NodeInput { node: n, op, input: i, .. } => (Kind::Model, Named { input: Some(i.clone()), ..node(n, op) }),
        F::Node { node: n, op, .. } => (Kind::Model, node(n, op)),
        F::UnsupportedOps(ops) if ops.len() == 1 => (Kind::Model, node(&ops[0].node, &ops[0].op_type)),
        _ => (Kind::Model, Named::default()),
    }
}

fn classify_runtime(e: &kiln::RuntimeError) -> (Kind, Named) {
    match e {
        kiln::RuntimeError::Backend(b) => classify_backend(b),
        kiln::RuntimeError::Input(_) => (Kind::Input, Named::default()),
        _ => (Kind::Run, Named::default()),
    }
}

fn classify_backend(e: &kiln::BackendError) -> (Kind, Named) {
    match e {
        kiln::BackendError::Unsupported { node: n, op, .. } => (Kind::Compile, node(n, op)),
        kiln::BackendError::Internal { .. } => (Kind::Internal, Named::default()),
        _ => (Kind::Compile, Named::default()),
    }
}

/// The Python spelling of advice the message gives for the CLI.
fn python_hint(e: &Error) -> Option<String> {
    let f = match e {
        Error::Frontend(f) | Error::Model { source: f, .. } => f,
        Error::Shape { input, msg } if msg.contains("is not known") => {
            return Some(format!("from Python: kiln.compile(model, shapes={{'{input}': [...]}})"));
        }
        _ => return None,
    };
    match f.as_ref() {
        FrontendError::UnresolvedDim { input, .. } => {
            Some(format!("from Python: kiln.compile(model, shapes={{'{input}': [...]}})"))
        }
        _ => None,
    }
}
