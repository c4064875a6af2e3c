//! `kiln bench`: compile time and run latency (min, median, p90). With `--json` the last line
//! printed is one JSON object, for scripts.

use super::args::BenchArgs;
use super::prepare::prepare_with;
use super::profile::{print_profile, DEFAULT_RUNS};
use anyhow::Result;
use std::time::{Duration, Instant};

/// Default timed runs when `--iters` is not given.
const DEFAULT_ITERS: u64 = 20;
/// Without `--iters`, timing stops once this much time has been spent running (warmup included),
/// after at least one timed run.
const TIME_BUDGET: Duration = Duration::from_secs(10);

pub fn bench(args: &BenchArgs) -> Result<()> {
    let options =
        kiln::Options { jit_features: args.jit.features.clone(), profile: args.profile, ..args.model.options() };
    let p = prepare_with(&args.model, &args.inputs.inputs, options)?;
    let start = Instant::now();
    let mut outputs = p.compiled.run(&p.inputs)?;
    // Runs reuse the first run's output buffers where the model allows it (no data-dependent
    // outputs), as a deployment does; otherwise each run allocates its outputs.
    let reuse = p.compiled.run_into(&p.inputs, &mut outputs).is_ok();
    let mut run = || -> Result<()> {
        if reuse {
            p.compiled.run_into(&p.inputs, &mut outputs)?;
        } else {
            p.compiled.run(&p.inputs)?;
        }
        Ok(())
    };
    for _ in 0..args.warmup {
        run()?;
    }
    let mut times_ms = Vec::new();
    for _ in 0..args.iters.unwrap_or(DEFAULT_ITERS) {
        let t = Instant::now();
        run()?;
        times_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if args.iters.is_none() && start.elapsed() > TIME_BUDGET {
            break;
        }
    }
    times_ms.sort_by(f64::total_cmp);
    let stats = p.compiled.stats();
    let compile_ms = stats.compile_time.as_secs_f64() * 1e3;
    let (min, median, p90) = (percentile(&times_ms, 0.0), percentile(&times_ms, 0.5), percentile(&times_ms, 0.9));
    println!(
        "compile: {compile_ms:.2} ms ({} kernel calls, {} distinct kernels, workspace {} bytes)",
        stats.kernel_calls, stats.kernels, stats.workspace_bytes
    );
    println!("threads: {}", stats.threads);
    println!("latency over {} runs: min {min:.3} ms, median {median:.3} ms, p90 {p90:.3} ms", times_ms.len());
    if args.profile {
        print_profile(&p.compiled, &p.inputs, args.iters.map_or(DEFAULT_RUNS, |n| n as usize))?;
    }
    if args.json {
        let json = serde_json::json!({
            "model": args.model.model.display().to_string(),
            "compile_ms": compile_ms,
            "min_ms": min,
            "median_ms": median,
            "p90_ms": p90,
            "iters": times_ms.len(),
            "kernels": stats.kernels,
            "kernel_calls": stats.kernel_calls,
            "workspace_bytes": stats.workspace_bytes,
            "opt_level": args.model.opt_level,
            "threads": stats.threads,
        });
        println!("{json}");
    }
    Ok(())
}

/// The `q`-quantile of sorted values (nearest rank); 0 for no values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 0.5), 6.0);
        assert_eq!(percentile(&v, 0.9), 9.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
