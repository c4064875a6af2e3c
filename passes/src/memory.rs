//! Static memory planning: where each intermediate value lives in the workspace arena.

use kiln_ir::Graph;

/// Byte offsets into one arena for every value that needs arena storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryPlan {
    /// Per value (indexed by `ValueId::index()`): its arena offset, or `None` for values that
    /// live elsewhere (graph inputs, graph outputs, constants).
    pub offsets: Vec<Option<usize>>,
    /// Total arena bytes needed.
    pub arena_size: usize,
}

/// Plans the arena of `graph` (being built).
pub fn plan_memory(graph: &Graph) -> MemoryPlan {
    let _ = graph;
    MemoryPlan::default()
}
