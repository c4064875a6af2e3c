//! The optimizer's driver: graph -> e-graph -> equality saturation -> DAG extraction -> graph.
//!
//! [`optimize`] verifies the input, builds the e-graph (`convert`), runs an `egg::Runner` with
//! the explicit limits of [`OptConfig`] and egg's `SimpleScheduler` (the default
//! `BackoffScheduler` bans rules that match more than 1,000 times per iteration, and kiln's
//! rules legitimately match once per node of a big graph), extracts with the cost model
//! (`extract`, `cost`), converts back and verifies the result. With no rules it is an identity
//! up to node order (and the sharing of identical nodes): no constant folding happens either.
//!
//! Default limits: 20,000 e-nodes (algebra rules keep a 1,000-node graph at 1,800 e-nodes;
//! fusion's sub-chain alternatives reach the limit on it in 3 iterations, ~165 ms in release),
//! 12 iterations (rules compose one step per iteration; chains of a dozen rewrites are already
//! unusual) and 10 s of saturation time. The node and iteration limits are the real bounds: they
//! are deterministic, so the optimized graph is reproducible. The time limit is only a safety
//! net, and a run that stops on it (reported as `TimeLimit`) may differ from run to run. It was
//! 1 s until a loaded CI machine (load 6 on 2 cores) stopped a 300-node Inception on it while the
//! same model compiled in another process did not, and the two builds differed in the last bits;
//! saturation there takes 0.2 s unloaded, so 10 s is only reached by a runaway rule set. The stop
//! reason is reported; hitting a limit is not an error, the e-graph so far is extracted.

use super::analysis::EGraph;
use super::analysis::TensorAnalysis;
use super::convert::{to_egraph, to_graph};
use super::cost::CostModel;
use super::error::PassError;
use super::extract::extract;
use super::lang::TensorLang;
use super::rule::Rewrite;
use egg::{Runner, SimpleScheduler, StopReason};
use kiln_ir::{Graph, Op};
use std::time::{Duration, Instant};

/// What to run and within which limits.
#[derive(Clone, Debug)]
pub struct OptConfig {
    /// Optimization level: 0 no rewrites, 1 algebra and folding, 2 adds fusion and layout
    /// (what `rules::all_rules` gathers).
    pub level: u8,
    /// Runner stops when the e-graph has more e-nodes.
    pub node_limit: usize,
    /// Runner stops after this many iterations.
    pub iter_limit: usize,
    /// Runner stops after this much saturation time.
    pub time_limit: Duration,
    /// The cost model extraction minimises.
    pub cost: CostModel,
}

impl Default for OptConfig {
    fn default() -> Self {
        OptConfig {
            level: 2,
            node_limit: 20_000,
            iter_limit: 12,
            time_limit: Duration::from_secs(10),
            cost: CostModel::default(),
        }
    }
}

/// What the optimizer did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptReport {
    pub egraph_nodes: usize,
    pub egraph_classes: usize,
    pub iterations: usize,
    /// egg's stop reason (`Saturated`, `IterationLimit(n)`, `NodeLimit(n)`, `TimeLimit(s)`), or
    /// `NoRules`.
    pub stop_reason: String,
    pub saturation_ms: f64,
    pub extract_ms: f64,
    pub total_ms: f64,
    /// Nodes that are not `Reshape`/`Identity` aliases, before and after.
    pub kernels_before: usize,
    pub kernels_after: usize,
    /// Number of rules run.
    pub rules: usize,
    /// Cost model estimate (microseconds) of the extracted graph.
    pub cost_after_us: f64,
    /// Extraction passes run (see `extract`).
    pub extract_passes: usize,
}

/// Optimizes `graph` with `rules` (see the module docs).
pub fn optimize(graph: &Graph, rules: &[Rewrite], cfg: &OptConfig) -> Result<(Graph, OptReport), PassError> {
    let start = Instant::now();
    kiln_ir::verify(graph).map_err(PassError::InvalidInput)?;
    let rules: &[Rewrite] = if cfg.level == 0 { &[] } else { rules };
    let (eg, roots) = to_egraph(graph, !rules.is_empty())?;
    let sat = Instant::now();
    let (eg, iterations, stop_reason) = saturate(eg, rules, cfg);
    let saturation_ms = ms(sat);
    let ext = Instant::now();
    let extraction = extract(&eg, &roots, &cfg.cost)?;
    let extract_ms = ms(ext);
    let out = to_graph(&eg, &extraction, graph, &roots)?;
    kiln_ir::verify(&out).map_err(PassError::Verify)?;
    let report = OptReport {
        egraph_nodes: eg.total_size(),
        egraph_classes: eg.number_of_classes(),
        iterations,
        stop_reason,
        saturation_ms,
        extract_ms,
        total_ms: ms(start),
        kernels_before: kernels(graph),
        kernels_after: kernels(&out),
        rules: rules.len(),
        cost_after_us: extraction.cost,
        extract_passes: extraction.passes,
    };
    Ok((out, report))
}

/// Runs the rules to saturation or a limit: the e-graph, iterations run and the stop reason.
fn saturate(eg: EGraph, rules: &[Rewrite], cfg: &OptConfig) -> (EGraph, usize, String) {
    if rules.is_empty() {
        return (eg, 0, "NoRules".to_string());
    }
    let runner: Runner<TensorLang, TensorAnalysis> = Runner::default()
        .with_egraph(eg)
        .with_scheduler(SimpleScheduler)
        .with_node_limit(cfg.node_limit)
        .with_iter_limit(cfg.iter_limit)
        .with_time_limit(cfg.time_limit)
        .run(rules);
    let reason = match &runner.stop_reason {
        Some(StopReason::Saturated) => "Saturated".to_string(),
        Some(r) => format!("{r:?}"),
        None => "Unknown".to_string(),
    };
    (runner.egraph, runner.iterations.len(), reason)
}

/// Nodes that are kernels: everything but `Reshape` and `Identity` aliases.
pub fn kernels(graph: &Graph) -> usize {
    graph.nodes.iter().filter(|(_, n)| !matches!(n.op, Op::Reshape { .. } | Op::Identity)).count()
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
