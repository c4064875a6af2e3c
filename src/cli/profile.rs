//! `kiln bench --profile`: the time of every kernel, from the probed entry (see
//! `kiln_runtime::profile`), as a table sorted by total time:
//!
//! ```text
//! kernel                       first ONNX node      calls   total ms  share  GFLOP/s
//! k2 fused_conv_nhwc           conv_12_node            20     12.031  31.2%    14.20
//! ```
//!
//! A kernel is one generated function; several nodes of one shape share it, so `calls` is its
//! calls per run times the runs, and the first node is the first one calling it (named after
//! the ONNX node it comes from, `kiln::provenance`). Copies are one row. GFLOP/s uses the
//! estimate of `kiln::summary::node_flops`; `-` for kernels that do no arithmetic.

use anyhow::Result;
use kiln::summary::node_flops;
use kiln::{CompiledModel, Tensor};
use kiln_runtime::profile::Profile;
use std::time::Duration;

/// Profiled runs when `--iters` is not given.
pub const DEFAULT_RUNS: usize = 10;

/// One row of the table.
struct Row {
    kernel: String,
    first_node: String,
    calls: usize,
    total: Duration,
    flops: u64,
}

/// Profiles `runs` runs and prints the table.
pub fn print_profile(compiled: &CompiledModel, inputs: &[Tensor], runs: usize) -> Result<()> {
    let profile = compiled.profile(inputs, runs)?;
    let rows = rows(&profile);
    let timed: Duration = rows.iter().map(|r| r.total).sum();
    println!(
        "profile over {} runs (probed entry; {:.3} ms per run, {:.3} ms of it in kernels):",
        profile.runs,
        ms(profile.wall) / profile.runs as f64,
        ms(timed) / profile.runs as f64
    );
    println!(
        "{:<32} {:<28} {:>7} {:>10} {:>6} {:>8}",
        "kernel", "first ONNX node", "calls", "total ms", "share", "GFLOP/s"
    );
    for r in &rows {
        let share = 100.0 * r.total.as_secs_f64() / timed.as_secs_f64().max(f64::MIN_POSITIVE);
        let gflops = if r.flops == 0 || r.total.is_zero() {
            "-".to_string()
        } else {
            format!("{:.2}", r.flops as f64 / r.total.as_secs_f64() / 1e9)
        };
        println!(
            "{:<32} {:<28} {:>7} {:>10.3} {:>5.1}% {:>8}",
            r.kernel,
            r.first_node,
            r.calls,
            ms(r.total),
            share,
            gflops
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The steps grouped by kernel (copies together), sorted by total time, largest first.
fn rows(profile: &Profile) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for step in &profile.steps {
        let node = profile.graph.node(step.node);
        let (kernel, first_node) = match &step.kernel {
            Some(symbol) => split_symbol(symbol),
            None => ("copy".to_string(), node.name.clone()),
        };
        let flops = node_flops(&profile.graph, node).saturating_mul(profile.runs as u64);
        match rows.iter_mut().find(|r| r.kernel == kernel) {
            Some(r) => {
                r.calls += profile.runs;
                r.total += step.total;
                r.flops = r.flops.saturating_add(flops);
            }
            None => rows.push(Row { kernel, first_node, calls: profile.runs, total: step.total, flops }),
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.total));
    rows
}

/// `kiln_k2_fused_conv_nhwc:conv_12_node` -> (`k2 fused_conv_nhwc`, `conv_12_node`).
fn split_symbol(symbol: &str) -> (String, String) {
    let bare = symbol.strip_prefix("kiln_").unwrap_or(symbol);
    let (kernel, node) = bare.split_once(':').unwrap_or((bare, ""));
    (kernel.replacen('_', " ", 1), node.to_string())
}

#[cfg(test)]
mod tests {
    use super::split_symbol;

    #[test]
    fn symbols_split_into_kernel_and_node() {
        let (k, n) = split_symbol("kiln_k2_fused_conv_nhwc:conv_12_node");
        assert_eq!((k.as_str(), n.as_str()), ("k2 fused_conv_nhwc", "conv_12_node"));
    }
}
