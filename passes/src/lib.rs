//! kiln's graph passes: classic passes (batch-norm folding, memory planning) and the
//! equality-saturation optimizer (`egraph`) with its rule families (`rules`). The pipeline is an
//! explicit list.

pub mod egraph;
pub mod fold_batch_norm;
pub mod memory;
pub mod rules;

pub use egraph::{optimize, OptConfig, OptReport, PassError};
pub use fold_batch_norm::fold_batch_norm;
pub use memory::{plan_memory, MemoryPlan};
pub use rules::all_rules;
