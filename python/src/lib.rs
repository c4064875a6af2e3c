//! kiln's Python package: `import kiln`, the [`kiln`] crate's public API through PyO3.
//!
//! - [`compile`](compile::compile) JIT-compiles a model (a path, bytes or anything with
//!   `SerializeToString`, such as `onnx.ModelProto`) into a [`compiled::CompiledModel`], whose
//!   `run` takes numpy arrays and returns numpy arrays;
//! - [`object::compile_object`] builds a native object file, its C header and size figures;
//! - [`errors`]: the `kiln.KilnError` hierarchy every failure is raised as (panics included:
//!   nothing aborts the interpreter).
//!
//! # Why this crate is not a member of the Cargo workspace
//! It is its own workspace (`[workspace]` in its Cargo.toml, `exclude = ["python"]` in the root
//! manifest) with its own `Cargo.lock`, started as a copy of the root one so the shared
//! dependencies have the same versions. Reasons: (1) a cdylib built with PyO3 for an extension
//! module cannot link a test harness or doctests (Python's symbols come from the interpreter that
//! loads it), so `cargo test --workspace` would need it excluded anyway; (2) `cargo build
//! --workspace` would run PyO3's build script, which looks for a Python interpreter, on every
//! developer machine and CI job, and build PyO3 and numpy on 2 cores for nothing; (3) the
//! package is built by maturin (`pip install ./python`), which drives cargo itself. The profiles
//! are copied from the root manifest so that with `CARGO_TARGET_DIR=target` (scripts/test.sh)
//! the release build of kiln and its dependencies is shared with the workspace's.
//!
//! # abi3
//! PyO3's `abi3-py39` feature builds against the stable ABI: one wheel serves every CPython
//! from 3.9, and no Python headers or libpython are needed to build it.

mod compile;
mod compiled;
mod dtypes;
mod errors;
mod feeds;
mod model_arg;
mod object;
mod outputs;

use pyo3::prelude::*;

/// The native half of the `kiln` package; `kiln/__init__.py` re-exports it.
#[pymodule]
fn _kiln(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compile::compile, m)?)?;
    m.add_function(wrap_pyfunction!(object::compile_object, m)?)?;
    m.add_class::<compiled::CompiledModel>()?;
    m.add_class::<compiled::TensorInfo>()?;
    m.add_class::<object::CompiledObject>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
