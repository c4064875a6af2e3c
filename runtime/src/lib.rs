//! kiln's runtime: a graph JIT-compiled in-process and run on tensors.
//!
//! [`JitModel::compile`] plans the arena ([`kiln_passes::plan_memory`]), compiles the graph with
//! [`kiln_backend::compile_graph`] into a `cranelift_jit::JITModule` for the host ISA, finalizes
//! it and keeps the entry pointer. [`JitModel::run`] checks the inputs, allocates a 64-byte
//! aligned workspace and the output tensors for this call, and calls the entry.
//!
//! # Threads
//! With [`JitOptions::threads`] above 1 the graph is compiled for that many threads (kernels
//! worth it cut into parts, `kiln_backend::compile`) and the model owns a [`pool::ThreadPool`]
//! whose descriptor every run passes to the parallel entry; the results are the same bits as at
//! one thread.
//!
//! # Thread safety
//! `JitModel` is `Send + Sync`: after `finalize_definitions` the code and the weights are
//! immutable (weights are read-only data; the backend declares no writable globals), the entry
//! only writes to the workspace and outputs passed to it, and every `run` allocates its own
//! workspace and outputs. So concurrent calls share nothing mutable.
//!
//! # Stack
//! `run` executes the model on the calling thread, and some kernels keep scratch buffers on the
//! stack (conv row buffers: up to 320 KiB per call, `kiln_backend::kernels::conv`). Rust's spawned
//! threads (2 MiB) and main threads (8 MiB) have room; a thread created with a smaller stack does
//! not. FIXME: move kernel scratch into the planned workspace, as native objects for small
//! devices will need.

mod jit_memory;
mod peak;
mod perf_map;
pub mod pool;
pub mod profile;
mod workspace;

pub use peak::{measure_fma_peak, probe_widths, FmaProbe};
pub use perf_map::PERF_MAP_ENV;
pub use pool::physical_cores;

use cranelift_jit::{JITBuilder, JITModule};
use kiln_ir::{Graph, Tensor, TensorData, TensorType};
use thiserror::Error;
use workspace::WorkspacePool;

/// Errors of compiling and running a model in-process.
#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Backend(#[from] kiln_backend::BackendError),
    /// Inputs do not match the model (count, name, dtype, shape).
    #[error("{0}")]
    Input(String),
    /// The outputs of a run do not fit the graph's bounded outputs (a compiler bug).
    #[error("output: {0}")]
    Output(String),
    /// The entry function reported a failure.
    #[error("model returned status {0}")]
    Status(i32),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// How to compile.
#[derive(Clone, Debug, Default)]
pub struct JitOptions {
    /// CPU feature edits on the host's set (`-avx512f` runs the AVX2 micro-kernels, `-avx2`
    /// Cranelift's kernels only), as `kiln compile --features` takes them.
    pub features: Vec<String>,
    /// Threads a run uses (the caller's included); 0 and 1: one, with no pool.
    pub threads: usize,
    /// Also compile the probed entry, which [`JitModel::run_profiled`] times step by step
    /// (see [`profile`]); the plain entry that `run` calls is the same either way.
    pub profile: bool,
}

/// Figures about one compilation.
#[derive(Clone, Debug, Default)]
pub struct CompileStats {
    pub kernels: usize,
    /// Distinct kernels that are machine-code micro-kernels, and their ISA (`avx512`, `avx2`).
    pub micro_kernels: usize,
    pub micro_isa: Option<&'static str>,
    pub code_bytes: usize,
    pub workspace_bytes: usize,
    pub weight_bytes: usize,
    /// Threads a run uses, and the kernels cut into parts for them.
    pub threads: usize,
    pub split_kernels: usize,
}

pub(crate) type EntryFn =
    unsafe extern "C" fn(*const *const u8, *const *mut u8, *mut u8, *const pool::Descriptor) -> i32;

/// A compiled model, callable from several threads at once.
pub struct JitModel {
    graph: Graph,
    /// Owns the code and data the entry points into; never touched after finalize, freed on drop
    /// (`jit_memory::release`).
    module: Option<JITModule>,
    entry: EntryFn,
    stats: CompileStats,
    workspaces: WorkspacePool,
    /// The workers of runs with more than one thread.
    pool: Option<pool::ThreadPool>,
    /// With [`JitOptions::profile`]: the probed entry and what its steps are.
    probed: Option<profile::Probed>,
}

impl Drop for JitModel {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the entry pointer and every pointer into the module's memory are this
            // model's own, and no run is in progress (`drop` has the model exclusively).
            unsafe { jit_memory::release(module) };
        }
    }
}

// SAFETY: see the module docs: code and read-only data are immutable after finalize, the entry
// writes only to per-call buffers, and `JITModule` is only kept to own the memory (never used).
unsafe impl Send for JitModel {}
// SAFETY: as above; `run` takes `&self` and shares nothing mutable between calls.
unsafe impl Sync for JitModel {}

impl JitModel {
    /// Compiles `graph` for the host CPU.
    pub fn compile(graph: Graph, opts: &JitOptions) -> Result<JitModel> {
        let isa = kiln_backend::isa::host_isa_with(&opts.features)?;
        let caps = kiln_backend::TargetCaps::of(&*isa);
        let mut builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
        builder.memory_provider(Box::new(jit_memory::arena_for(&graph)?));
        if opts.profile {
            builder.symbol(kiln_backend::PROBE_SYMBOL, profile::probe_address());
        }
        let mut module = JITModule::new(builder);
        let legal = kiln_backend::legalize(&graph, caps)?;
        let lowered = legal.as_ref().unwrap_or(&graph);
        let plan = kiln_passes::plan_memory(lowered);
        let threads = opts.threads.max(1);
        let compiled = if opts.profile {
            kiln_backend::compile_graph_probed(&mut module, lowered, &plan, "kiln_", threads)?
        } else {
            kiln_backend::compile_graph_parallel(&mut module, lowered, &plan, "kiln_", "kiln_entry", threads)?
        };
        jit_memory::finalize(&mut module)?;
        perf_map::write_if_enabled(&module, &compiled.functions);
        let probed = compiled.probed_entry.map(|id| {
            // SAFETY: the probed entry was defined with the parallel entry's signature.
            let entry = unsafe { std::mem::transmute::<*const u8, EntryFn>(module.get_finalized_function(id)) };
            profile::Probed::new(entry, lowered, &compiled)
        });
        let code = module.get_finalized_function(compiled.parallel_entry);
        // SAFETY: the parallel entry was defined with exactly this signature by `compile_graph`.
        let entry = unsafe { std::mem::transmute::<*const u8, EntryFn>(code) };
        let stats = CompileStats {
            kernels: compiled.kernels,
            micro_kernels: compiled.micro_kernels,
            micro_isa: compiled.micro_isa,
            code_bytes: compiled.code_bytes,
            workspace_bytes: compiled.workspace_size,
            weight_bytes: compiled.weight_bytes,
            threads,
            split_kernels: compiled.split_kernels,
        };
        let workspaces = WorkspacePool::new(stats.workspace_bytes);
        let pool = (threads > 1 && compiled.split_kernels > 0).then(|| pool::ThreadPool::new(threads));
        Ok(JitModel { graph, module: Some(module), entry, stats, workspaces, pool, probed })
    }
    /// Types of the inputs, in graph order.
    pub fn input_types(&self) -> Vec<TensorType> {
        self.graph.inputs.iter().map(|&v| self.graph.ty(v).clone()).collect()
    }
    /// Types of the outputs, in graph order, without the hidden length outputs of
    /// data-dependent ops; a bounded output has its upper bound here and its exact shape in the
    /// result of [`JitModel::run`] (see `kiln_ir::dynamic`).
    pub fn output_types(&self) -> Vec<TensorType> {
        kiln_ir::dynamic::visible_output_types(&self.graph)
    }
    pub fn stats(&self) -> CompileStats {
        self.stats.clone()
    }
    /// Runs on `inputs` (graph order), checked against the input types.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        self.check_inputs(inputs)?;
        // Tensors hold typed vectors, whose memory is the dense little-endian layout the kernels
        // expect on the little-endian hosts kiln JITs for: no copies in or out.
        let in_ptrs: Vec<*const u8> = inputs.iter().map(|t| data_ptr(t.data())).collect();
        // SAFETY: the pointers address the checked input tensors, alive for the call.
        unsafe { self.run_ptrs(&in_ptrs) }
    }

    /// Runs on inputs given by address (graph order), for callers whose input memory is not a
    /// [`Tensor`] (numpy arrays in kiln's Python package): the outputs are allocated and trimmed
    /// as [`JitModel::run`] does.
    ///
    /// # Safety
    /// `inputs` has one pointer per graph input, each addressing a live, dense, row-major,
    /// little-endian buffer of that input's type ([`JitModel::input_types`]), aligned for its
    /// element type and not written to during the call.
    pub unsafe fn run_ptrs(&self, inputs: &[*const u8]) -> Result<Vec<Tensor>> {
        let expected = self.graph.inputs.len();
        if inputs.len() != expected {
            return Err(RuntimeError::Input(format!("expected {expected} inputs, got {}", inputs.len())));
        }
        let out_types: Vec<TensorType> = self.graph.outputs.iter().map(|&v| self.graph.ty(v).clone()).collect();
        let mut out_data: Vec<TensorData> = out_types.iter().map(|t| TensorData::zeros(t.dtype, t.numel())).collect();
        let out_ptrs: Vec<*mut u8> = out_data.iter_mut().map(data_ptr_mut).collect();
        let mut workspace = self.workspaces.take();
        // SAFETY: every pointer addresses a live buffer of the size the compiled code expects
        // (inputs by the caller's contract, outputs and workspace sized from the graph and plan).
        let status =
            unsafe { (self.entry)(inputs.as_ptr(), out_ptrs.as_ptr(), workspace.as_mut_ptr(), self.parallel()) };
        self.workspaces.give(workspace);
        if status != 0 {
            return Err(RuntimeError::Status(status));
        }
        let outputs = out_types
            .iter()
            .zip(out_data)
            .map(|(t, d)| {
                Tensor::new(t.shape.clone(), d).ok_or_else(|| RuntimeError::Input("output size mismatch".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        kiln_ir::dynamic::trim_outputs(&self.graph, outputs).map_err(RuntimeError::Output)
    }

    /// Runs on `inputs` writing into `outputs`, which must have the types of every graph output
    /// (as a first [`JitModel::run`] returns them, for a graph without data-dependent outputs):
    /// repeated runs then reuse their buffers (no allocation, no page faults on fresh memory), as
    /// onnxruntime's IO binding does.
    pub fn run_into(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> Result<()> {
        self.check_inputs(inputs)?;
        let want: Vec<TensorType> = self.graph.outputs.iter().map(|&v| self.graph.ty(v).clone()).collect();
        if outputs.len() != want.len() || outputs.iter().zip(&want).any(|(t, w)| t.ty() != *w) {
            return Err(RuntimeError::Input("run_into: the outputs must have every graph output's type".into()));
        }
        let in_ptrs: Vec<*const u8> = inputs.iter().map(|t| data_ptr(t.data())).collect();
        let out_ptrs: Vec<*mut u8> = outputs.iter_mut().map(|t| t.as_mut_ptr()).collect();
        let mut workspace = self.workspaces.take();
        // SAFETY: as in `run`; the outputs were checked to have exactly the graph's types.
        let status =
            unsafe { (self.entry)(in_ptrs.as_ptr(), out_ptrs.as_ptr(), workspace.as_mut_ptr(), self.parallel()) };
        self.workspaces.give(workspace);
        if status != 0 {
            return Err(RuntimeError::Status(status));
        }
        Ok(())
    }

    /// The descriptor runs pass to the parallel entry (null: one thread).
    fn parallel(&self) -> *const pool::Descriptor {
        self.pool.as_ref().map_or(std::ptr::null(), |p| p.descriptor())
    }

    /// Runs the probed entry (compiled with [`JitOptions::profile`]) `runs` times on `inputs`
    /// and returns the time of every step; see [`profile`].
    pub fn run_profiled(&self, inputs: &[Tensor], runs: usize) -> Result<profile::Profile> {
        self.check_inputs(inputs)?;
        let Some(probed) = &self.probed else {
            return Err(RuntimeError::Input("run_profiled: compiled without JitOptions::profile".into()));
        };
        let in_ptrs: Vec<*const u8> = inputs.iter().map(|t| data_ptr(t.data())).collect();
        let out_types: Vec<TensorType> = self.graph.outputs.iter().map(|&v| self.graph.ty(v).clone()).collect();
        let mut out_data: Vec<TensorData> = out_types.iter().map(|t| TensorData::zeros(t.dtype, t.numel())).collect();
        let out_ptrs: Vec<*mut u8> = out_data.iter_mut().map(data_ptr_mut).collect();
        let mut workspace = self.workspaces.take();
        // SAFETY: as in `run_ptrs`: checked inputs, outputs and workspace sized for the graph.
        let result = unsafe { probed.run(runs, &in_ptrs, &out_ptrs, workspace.as_mut_ptr(), self.parallel()) };
        self.workspaces.give(workspace);
        result.map_err(RuntimeError::Status)
    }

    fn check_inputs(&self, inputs: &[Tensor]) -> Result<()> {
        let want = self.input_types();
        if inputs.len() != want.len() {
            return Err(RuntimeError::Input(format!("expected {} inputs, got {}", want.len(), inputs.len())));
        }
        for ((t, ty), &v) in inputs.iter().zip(&want).zip(&self.graph.inputs) {
            let name = &self.graph.value(v).name;
            if t.dtype() != ty.dtype {
                return Err(RuntimeError::Input(format!(
                    "input `{name}`: expected dtype {}, got {}",
                    ty.dtype,
                    t.dtype()
                )));
            }
            if t.shape() != ty.shape.as_slice() {
                return Err(RuntimeError::Input(format!(
                    "input `{name}`: expected shape {:?}, got {:?}",
                    ty.shape,
                    t.shape()
                )));
            }
        }
        Ok(())
    }
}

/// The address of a tensor's elements.
fn data_ptr(d: &TensorData) -> *const u8 {
    kiln_ir::with_data!(d, v => v.as_ptr().cast())
}

/// The mutable address of a tensor's elements.
fn data_ptr_mut(d: &mut TensorData) -> *mut u8 {
    kiln_ir::with_data!(d, v => v.as_mut_ptr().cast())
}

#[cfg(not(target_endian = "little"))]
compile_error!("kiln's runtime passes tensor memory to kernels as little-endian bytes");
