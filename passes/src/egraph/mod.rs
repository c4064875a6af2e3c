//! kiln's equality-saturation graph optimizer (egg 0.11).
//!
//! The pipeline, one module each:
//! - [`lang`]: the e-graph language, e-nodes carrying the IR's `Op` directly;
//! - [`analysis`]: per-class types, constant values (folding) and original names;
//! - [`rule`]: rules written as Rust functions that build [`Term`]s, and helpers for them;
//! - [`convert`]: `kiln_ir::Graph` to e-graph and back;
//! - [`cost`]: the analytic cost model; [`extract`]: DAG-aware greedy extraction;
//! - [`optimize`]: the driver with explicit limits and a report.
//!
//! Rule families live in `crate::rules` (algebra, folding, fusion, layout).

pub mod analysis;
pub mod convert;
pub mod cost;
pub mod error;
pub mod extract;
pub mod lang;
pub mod optimize;
pub mod rule;
pub mod testing;

pub use analysis::{ClassData, EGraph, TensorAnalysis};
pub use cost::CostModel;
pub use error::PassError;
pub use extract::{extract, Extraction};
pub use lang::{Discriminant, OpKey, TensorLang};
pub use optimize::{kernels, optimize, OptConfig, OptReport};
pub use rule::{children, const_key, constant, data, ops, rule, ty, Rewrite, Term, TermRef, Visit};
