//! [`CompiledModel`]: a JIT-compiled model, its stage graphs and figures, callable from many
//! threads at once.
//!
//! Inputs are checked here (count, dtype, shape, each named) before they reach the runtime, so
//! a mismatch always reads the same whatever the backend.

use crate::error::{Error, Result};
use crate::pipeline::{Lowered, Stage};
use kiln_ir::{Graph, Tensor, TensorType};
use kiln_runtime::JitModel;
use std::time::Duration;

/// Figures about one compilation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Distinct kernel functions generated.
    pub kernels: usize,
    /// Kernel calls per run: the nodes of the compiled graph that are not aliases (a Reshape or
    /// Identity sharing its input's buffer costs no call). What fusion reduces.
    pub kernel_calls: usize,
    /// Bytes of machine code.
    pub code_bytes: usize,
    /// Bytes of weights (constants) in read-only data.
    pub weight_bytes: usize,
    /// Bytes of the per-call workspace arena.
    pub workspace_bytes: usize,
    /// Wall time of the whole pipeline, import to JIT.
    pub compile_time: Duration,
    /// Threads a run uses, and the kernels cut into parts for them.
    pub threads: usize,
    pub split_kernels: usize,
}

/// A model compiled for the host CPU.
pub struct CompiledModel {
    jit: JitModel,
    lowered: Lowered,
    input_names: Vec<String>,
    output_names: Vec<String>,
    compile_time: Duration,
}

impl CompiledModel {
    pub(crate) fn new(jit: JitModel, lowered: Lowered, compile_time: Duration) -> Self {
        let names = |f: fn(&Graph) -> &Vec<kiln_ir::ValueId>| {
            lowered.last().map(|g| f(g).iter().map(|&v| g.value(v).name.clone()).collect())
        };
        let input_names = names(|g| &g.inputs).unwrap_or_default();
        // Without the hidden length outputs of data-dependent ops, as the runtime returns them.
        let output_names = lowered.last().map(kiln_ir::dynamic::visible_output_names).unwrap_or_default();
        CompiledModel { jit, lowered, input_names, output_names, compile_time }
    }

    /// Runs the model on `inputs`, given in [`Self::input_names`] order.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.check_inputs(inputs)?;
        Ok(self.jit.run(inputs)?)
    }

    /// Runs the model on inputs given by address, in [`Self::input_names`] order, so a caller
    /// holding its input memory elsewhere (numpy arrays in kiln's Python package) need not copy
    /// it into [`Tensor`]s. The count is checked; the caller checks the types.
    ///
    /// # Safety
    /// Each pointer addresses a live, dense, row-major, little-endian buffer of that input's
    /// type ([`Self::input_types`]), aligned for its element type and not written to during the
    /// call.
    pub unsafe fn run_ptrs(&self, inputs: &[*const u8]) -> Result<Vec<Tensor>> {
        let expected = self.input_names.len();
        if inputs.len() != expected {
            let names = self.input_names.join(", ");
            return Err(Error::InputCount { expected, got: inputs.len(), names });
        }
        // SAFETY: the caller's contract is the runtime's.
        Ok(unsafe { self.jit.run_ptrs(inputs) }?)
    }

    /// Runs the model writing into `outputs` (as a first [`Self::run`] returned them; models
    /// without data-dependent outputs), reusing their buffers: what `kiln bench` times.
    pub fn run_into(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> Result<()> {
        self.check_inputs(inputs)?;
        Ok(self.jit.run_into(inputs, outputs)?)
    }

    /// Runs the model `runs` times timing every kernel call (compiled with
    /// [`crate::Options::profile`]; `kiln bench --profile`): each step's node, kernel symbol and
    /// total time.
    pub fn profile(&self, inputs: &[Tensor], runs: usize) -> Result<kiln_runtime::profile::Profile> {
        self.check_inputs(inputs)?;
        Ok(self.jit.run_profiled(inputs, runs)?)
    }

    /// Names of the runtime inputs (inputs bound with `with_value` are not among them).
    pub fn input_names(&self) -> &[String] {
        &self.input_names
    }
    /// Types of the runtime inputs, in order.
    pub fn input_types(&self) -> Vec<TensorType> {
        self.jit.input_types()
    }
    /// Names of the outputs, in graph order.
    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }
    /// Types of the outputs, in graph order.
    pub fn output_types(&self) -> Vec<TensorType> {
        self.jit.output_types()
    }
    /// Figures about the compilation.
    pub fn stats(&self) -> Stats {
        let s = self.jit.stats();
        let kernel_calls = self.ir(Stage::Optimized).map_or(0, |g| {
            let plan = kiln_passes::plan_memory(g);
            plan.aliases.iter().filter(|&&alias| !alias).count()
        });
        Stats {
            kernels: s.kernels,
            kernel_calls,
            code_bytes: s.code_bytes,
            weight_bytes: s.weight_bytes,
            workspace_bytes: s.workspace_bytes,
            compile_time: self.compile_time,
            threads: s.threads,
            split_kernels: s.split_kernels,
        }
    }
    /// The graph after `stage`.
    pub fn ir(&self, stage: Stage) -> Option<&Graph> {
        self.lowered.graph(stage)
    }
    /// What the frontend decided on the user's behalf while importing.
    pub fn notes(&self) -> &[String] {
        &self.lowered.notes
    }

    fn check_inputs(&self, inputs: &[Tensor]) -> Result<()> {
        let types = self.input_types();
        if inputs.len() != types.len() {
            let names = self.input_names.join(", ");
            return Err(Error::InputCount { expected: types.len(), got: inputs.len(), names });
        }
        for ((t, ty), name) in inputs.iter().zip(&types).zip(&self.input_names) {
            if t.dtype() != ty.dtype || t.shape() != ty.shape.as_slice() {
                let msg = format!("expected {ty}, got {}", t.ty());
                return Err(Error::Input { name: name.clone(), msg });
            }
        }
        Ok(())
    }
}
