//! kiln's graph passes: classic passes (dead code, constant folding, memory planning) now;
//! egg equality-saturation rewrites in a later issue. The pipeline is an explicit list.

pub mod fold_batch_norm;
pub mod memory;

pub use fold_batch_norm::fold_batch_norm;
pub use memory::{plan_memory, MemoryPlan};
