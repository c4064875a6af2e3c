//! kiln's code generator: lowers an IR graph to Cranelift through one code path generic over
//! `cranelift_module::Module`, so the JIT and native objects are the same code.
//!
//! Output per graph: one kernel function per distinct [`kernel::KernelSpec`], the weights as
//! read-only data objects, and one entry function
//! `extern "C" fn(inputs: *const *const u8, outputs: *const *mut u8, workspace: *mut u8) -> i32`
//! that calls the kernels on buffers of the workspace (the arena laid out by the memory plan).
//! [`native`] wraps the same code into a self-contained object file with a C header.

pub mod compile;
pub mod emit;
pub mod entry;
pub mod error;
pub mod flat_split;
pub mod isa;
pub mod kernel;
pub mod kernels;
pub mod legalize;
pub mod loops;
pub mod math;
pub mod mk;
pub mod native;
pub mod parallel;
pub mod weights;

pub use compile::{
    compile_graph, compile_graph_as, compile_graph_parallel, compile_graph_probed, CompiledGraph, FunctionSymbol,
    PROBE_SYMBOL,
};
pub use error::{BackendError, Result};
pub use isa::{host_isa, isa_for_triple};
pub use kernel::{define_kernel, KernelSpec, TargetCaps};
pub use legalize::legalize;
