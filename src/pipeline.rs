//! The compilation pipeline as an explicit list of stages:
//! import (frontend) -> verify -> graph optimizer (egg equality saturation, `kiln_passes`) ->
//! JIT (runtime).
//!
//! The optimizer is one stage, not a sequence of passes: every rule family enabled at the
//! optimisation level rewrites one e-graph together and the cost model picks the result (see
//! `kiln_passes::egraph`). Level 0 skips it entirely, which is the baseline `kiln bench
//! --opt-level 0` measures against.
//!
//! Each stage's graph is kept (constants are shared `Arc`s, so this is cheap) so that
//! `kiln inspect` and [`crate::CompiledModel::ir`] can show the IR after any stage. The verifier
//! runs after every stage when [`Options::verify`] is set (debug builds and tests), as in
//! cranelift's `verify_if`: a failure is a kiln bug and is reported with the IR around it.
//!
//! Memory planning (`kiln_passes::plan_memory`) is not listed here: the runtime plans the arena
//! of the graph it is given, as the plan is part of code generation rather than a graph rewrite.

use crate::error::{Error, Result};
use crate::options::Options;
use kiln_frontend::{ImportOptions, OnnxModel};
use kiln_ir::Graph;
use std::fmt;

/// A point in the pipeline whose graph can be inspected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The graph as the frontend imported it.
    Import,
    /// The graph after every graph pass enabled at the chosen optimisation level.
    Optimized,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 2] = [Stage::Import, Stage::Optimized];

    /// The stage's name on the command line and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Import => "import",
            Stage::Optimized => "optimized",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the graph optimizer did: e-graph size, iterations, stop reason, times, kernel counts.
pub use kiln_passes::OptReport;

/// Runs the equality-saturation optimizer with the rule families of `opts.opt_level`
/// (1: algebra and folding; 2: also fusion and layout), its cost model priced for a target
/// whose micro-kernels have `micro_bits`-wide vectors (or none).
fn optimize(graph: &Graph, opts: &Options, micro_bits: Option<u32>) -> Result<(Graph, OptReport)> {
    let mut rules = kiln_passes::all_rules(opts.opt_level);
    rules.retain(|r| !opts.disabled_rules.iter().any(|d| d == r.name.as_str()));
    let cfg = kiln_passes::OptConfig {
        level: opts.opt_level,
        node_limit: opts.egraph_node_limit,
        iter_limit: opts.egraph_iter_limit,
        time_limit: opts.egraph_time_limit,
        cost: kiln_passes::egraph::CostModel::for_target(micro_bits),
    };
    Ok(kiln_passes::optimize(graph, &rules, &cfg)?)
}

/// The graphs of every stage up to (not including) code generation, plus the import's notes.
#[derive(Clone, Debug)]
pub struct Lowered {
    /// One graph per [`Stage`], in pipeline order.
    pub stages: Vec<(Stage, Graph)>,
    /// What the frontend decided on the user's behalf (e.g. symbolic dims set to 1).
    pub notes: Vec<String>,
    /// The optimizer's report; `None` at `--opt-level 0`, which runs no graph rewrites.
    pub optimizer: Option<OptReport>,
}

impl Lowered {
    /// The graph after `stage`.
    pub fn graph(&self, stage: Stage) -> Option<&Graph> {
        self.stages.iter().find(|(s, _)| *s == stage).map(|(_, g)| g)
    }
    /// The graph code generation receives (the last stage's).
    pub fn last(&self) -> Option<&Graph> {
        self.stages.last().map(|(_, g)| g)
    }
}

/// The micro-kernel vector width of the host JIT with `opts.jit_features` (see [`lower`]).
pub fn host_micro_bits(opts: &Options) -> Result<Option<u32>> {
    let isa = kiln_backend::isa::host_isa_with(&opts.jit_features)?;
    Ok(kiln_backend::isa::micro_vector_bits(&*isa))
}

/// Runs import and the graph passes, the optimizer priced for a target whose micro-kernels
/// have `micro_bits`-wide vectors (`None`: Cranelift kernels only).
pub fn lower(onnx: &OnnxModel, spec: &ImportOptions, opts: &Options, micro_bits: Option<u32>) -> Result<Lowered> {
    let imported = onnx.import(spec)?;
    verify_stage(Stage::Import.name(), &imported.graph, opts)?;
    let (graph, optimizer) = if opts.opt_level == 0 {
        (imported.graph.clone(), None)
    } else {
        let (graph, report) = optimize(&imported.graph, opts, micro_bits)?;
        verify_stage(Stage::Optimized.name(), &graph, opts)?;
        (graph, Some(report))
    };
    let stages = vec![(Stage::Import, imported.graph), (Stage::Optimized, graph)];
    Ok(Lowered { stages, notes: imported.notes, optimizer })
}

/// Compiles the last stage's graph for the host CPU (restricted by `opts.jit_features`).
pub fn jit(lowered: &Lowered, opts: &Options) -> Result<kiln_runtime::JitModel> {
    // Nodes the optimizer created carry the name of the ONNX node they come from, so the perf
    // map's kernel names and `kiln bench --profile` point back into the model.
    let graph = match (lowered.graph(Stage::Import), lowered.last()) {
        (Some(import), Some(last)) => crate::provenance::with_onnx_names(import, last),
        _ => lowered.last().cloned().unwrap_or_default(),
    };
    let jit =
        kiln_runtime::JitOptions { features: opts.jit_features.clone(), threads: opts.threads, profile: opts.profile };
    Ok(kiln_runtime::JitModel::compile(graph, &jit)?)
}

fn verify_stage(stage: &'static str, graph: &Graph, opts: &Options) -> Result<()> {
    if !opts.verify {
        return Ok(());
    }
    kiln_ir::verify(graph).map_err(|source| Error::Verify { stage, ir: kiln_ir::print_graph(graph, false), source })
}
