//! [`Model`]: a loaded ONNX model plus the specialisation requested for it.
//!
//! Specialisation is by value (`with_shape`, `with_value` consume and return the model) so a
//! model can be cloned cheaply (the parsed ONNX is shared) and specialised in several ways.

use crate::compiled::CompiledModel;
use crate::error::{Error, Result};
use crate::native::{CompiledObject, NativeOptions};
use crate::options::Options;
use crate::pipeline::{self, Lowered};
use kiln_frontend::{ImportOptions, InputInfo, OnnxModel};
use kiln_ir::Tensor;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// A parsed ONNX model and how to specialise it at import.
#[derive(Clone)]
pub struct Model {
    onnx: Arc<OnnxModel>,
    spec: ImportOptions,
    /// Sizes of symbolic dims by name (`with_dim`), applied by [`crate::dims::resolve`].
    dims: BTreeMap<String, usize>,
    path: Option<PathBuf>,
}

impl Model {
    /// Reads and parses an ONNX model file; external data is found next to it.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Read { path: path.into(), source })?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let onnx = OnnxModel::from_bytes(&bytes, Some(base))
            .map_err(|e| Error::Model { path: path.into(), source: Box::new(e) })?;
        Ok(Model {
            onnx: Arc::new(onnx),
            spec: ImportOptions::default(),
            dims: BTreeMap::new(),
            path: Some(path.into()),
        })
    }

    /// Parses model bytes; `base_dir` locates external data.
    pub fn from_bytes(bytes: &[u8], base_dir: Option<&Path>) -> Result<Model> {
        let onnx = OnnxModel::from_bytes(bytes, base_dir)?;
        Ok(Model { onnx: Arc::new(onnx), spec: ImportOptions::default(), dims: BTreeMap::new(), path: None })
    }

    /// The file the model was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The graph inputs as declared (names, dtypes, dims; initializers excluded), in order.
    pub fn inputs(&self) -> Vec<InputInfo> {
        self.onnx.inputs()
    }

    /// The graph outputs as declared (names, dtypes, dims), in order.
    pub fn outputs(&self) -> Vec<InputInfo> {
        self.onnx.outputs()
    }

    /// The graph output names, in order.
    pub fn output_names(&self) -> Vec<String> {
        self.onnx.output_names()
    }

    /// Fixes the shape of input `name` (its symbolic dims, or all of them).
    pub fn with_shape(mut self, name: &str, dims: &[usize]) -> Model {
        self.spec.shapes.insert(name.to_string(), dims.to_vec());
        self
    }

    /// Fixes the symbolic dim `name` (as the model names it, e.g. `batch`) in every input
    /// that uses it. Given shapes fix names too: `with_shape("x", ..)` sets the names of x's
    /// symbolic dims for the other inputs (see [`crate::dims`]).
    pub fn with_dim(mut self, name: &str, size: usize) -> Model {
        self.dims.insert(name.to_string(), size);
        self
    }

    /// Makes input `name` a compile-time constant with the given value.
    pub fn with_value(mut self, name: &str, value: Tensor) -> Model {
        self.spec.values.insert(name.to_string(), value);
        self
    }

    /// True when input `name` has been given a compile-time value.
    pub fn has_value(&self, name: &str) -> bool {
        self.spec.values.contains_key(name)
    }

    /// Imports and runs the graph passes for the host JIT, without generating code (for
    /// inspection).
    pub fn lower(&self, opts: &Options) -> Result<Lowered> {
        self.lower_for(opts, pipeline::host_micro_bits(opts)?)
    }

    /// [`Model::lower`] priced for a target whose micro-kernels have `micro_bits`-wide vectors
    /// (512: AVX-512, 256: AVX2, 128: NEON, `None`: Cranelift kernels only).
    pub fn lower_for(&self, opts: &Options, micro_bits: Option<u32>) -> Result<Lowered> {
        self.check_names()?;
        let (spec, notes) = crate::dims::resolve(&self.inputs(), &self.outputs(), &self.spec, &self.dims)?;
        let mut lowered = pipeline::lower(&self.onnx, &spec, opts, micro_bits)?;
        lowered.notes.splice(0..0, notes);
        Ok(lowered)
    }

    /// Runs the whole pipeline and JIT-compiles the model for the host CPU.
    pub fn compile(&self, opts: &Options) -> Result<CompiledModel> {
        let start = Instant::now();
        let lowered = self.lower(opts)?;
        let jit = pipeline::jit(&lowered, opts)?;
        Ok(CompiledModel::new(jit, lowered, start.elapsed()))
    }

    /// Runs the pipeline and compiles the model into a native object file with a C header
    /// (see [`crate::native`]); the default C name is the model file's stem.
    pub fn compile_object(&self, opts: &Options, native: &NativeOptions) -> Result<CompiledObject> {
        let lowered = self.lower_for(opts, crate::native::micro_bits(native)?)?;
        let file = |f: fn(&Path) -> Option<&std::ffi::OsStr>| {
            self.path.as_deref().and_then(f).and_then(|s| s.to_str()).map(str::to_string)
        };
        let stem = file(Path::file_stem).unwrap_or_else(|| "model".into());
        let source = file(Path::file_name).unwrap_or_else(|| "model bytes".into());
        crate::native::compile(lowered, &stem, &source, native, opts.threads)
    }

    fn check_names(&self) -> Result<()> {
        let inputs = self.inputs();
        let given = self.spec.shapes.keys().chain(self.spec.values.keys());
        for name in given {
            if !inputs.iter().any(|i| &i.name == name) {
                let known: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
                return Err(Error::UnknownInput { name: name.clone(), known: known.join(", ") });
            }
        }
        Ok(())
    }
}
