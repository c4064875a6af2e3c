//! kiln's graph passes: memory planning and the
//! equality-saturation optimizer (`egraph`) with its rule families (`rules`). The pipeline is an
//! explicit list.

pub mod egraph;
pub mod memory;
pub mod rules;

pub use egraph::{optimize, OptConfig, OptReport, PassError};
pub use memory::{plan_memory, MemoryPlan};
pub use rules::all_rules;
