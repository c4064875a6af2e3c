//! Where a JIT-compiled model's code and data live, and their release.
//!
//! The kernels address the model's weights and each other PC-relatively (32-bit offsets, as
//! Cranelift does for colocated symbols), so code and data must lie within ±2 GiB of each
//! other. Cranelift's default `SystemMemoryProvider` maps code and data separately, wherever
//! the system puts them: with several large models compiled in one process (hundreds of MB of
//! weights each) they end up farther apart, and `finalize_definitions` panics on the
//! relocation. So every model gets one `ArenaMemoryProvider`: a contiguous range reserved up
//! front (address space only on Linux and macOS, committed page by page as the JIT fills it;
//! the `region` crate commits the whole reservation on Windows), sized from the graph and never
//! above 2 GiB, so every offset fits. A model that outgrows its arena gets an
//! error, not a panic; the memory is freed when the model is dropped ([`release`]).

use cranelift_jit::{ArenaMemoryProvider, JITModule};
use kiln_backend::BackendError;
use kiln_ir::Graph;

/// The largest arena: PC-relative offsets are signed 32-bit.
const MAX_ARENA: usize = (2 << 30) - (1 << 20);

/// Room for code and small data besides the weights.
const CODE_ROOM: usize = 128 << 20;

/// The arena for `graph`: its constants twice (prepacked weights are padded to whole register
/// tiles, and a weight read both packed and in place is stored both ways), plus room for code.
pub fn arena_for(graph: &Graph) -> Result<ArenaMemoryProvider, BackendError> {
    let size = graph.constant_bytes().saturating_mul(2).saturating_add(CODE_ROOM).min(MAX_ARENA);
    ArenaMemoryProvider::new_with_size(size)
        .map_err(|e| BackendError::Module(format!("reserving {} MiB of JIT memory: {e}", size >> 20)))
}

/// Finalizes `module`: relocations, protections. Cranelift panics on a relocation out of range
/// (a model that outgrew its arena); that becomes an error.
pub fn finalize(module: &mut JITModule) -> Result<(), BackendError> {
    let finalized = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| module.finalize_definitions()));
    match finalized {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(BackendError::Module(format!("finalizing: {e}"))),
        Err(_) => Err(BackendError::Module("finalizing: a relocation is out of range of the JIT's memory".into())),
    }
}

/// Frees the memory of a model's module.
///
/// # Safety
/// No pointer into the module's code or data is used afterwards.
pub unsafe fn release(module: JITModule) {
    // SAFETY: the caller's contract.
    unsafe { module.free_memory() };
}
