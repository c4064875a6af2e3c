//! `kiln inspect`: the IR after a pipeline stage, then a summary of it; with `--io` only the
//! declared signatures (no import, so it works on a model whose dims are not yet known, which
//! is when a user needs it); with `--json` the same figures as one JSON object.

use super::args::{InspectArgs, StageArg};
use super::prepare::load_model;
use anyhow::{Context, Result};
use kiln::dims::{dim_text, signature};
use kiln::{summary::summarize, Dim, InputInfo, Model, Stage};
use serde_json::{json, Value};

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    if args.io {
        print_io(&model, args.json);
        return Ok(());
    }
    let lowered = model.lower(&args.model.options())?;
    for note in &lowered.notes {
        eprintln!("note: {note}");
    }
    let stage = match args.stage {
        StageArg::Import => Stage::Import,
        StageArg::Optimized => Stage::Optimized,
    };
    let graph = lowered.graph(stage).with_context(|| format!("no graph for stage '{stage}'"))?;
    let optimizer = if stage == Stage::Optimized { lowered.optimizer.as_ref() } else { None };
    if args.json {
        println!("{}", summary_json(graph, stage, args.model.opt_level, optimizer));
        return Ok(());
    }
    print!("{}", kiln_ir::print_graph(graph, false));
    println!();
    println!("# after stage '{stage}' (opt level {})", args.model.opt_level);
    println!("{}", summarize(graph));
    println!("{}", kiln::layouts::layouts(graph));
    if stage == Stage::Optimized {
        print_optimizer_report(optimizer);
    }
    Ok(())
}

/// The declared inputs and outputs, and the symbolic dim names with how to set them.
fn print_io(model: &Model, as_json: bool) {
    let (inputs, outputs) = (model.inputs(), model.outputs());
    if as_json {
        let list = |infos: &[InputInfo]| infos.iter().map(info_json).collect::<Vec<_>>();
        println!("{}", json!({ "inputs": list(&inputs), "outputs": list(&outputs) }));
        return;
    }
    println!("inputs:");
    inputs.iter().for_each(|i| println!("  {}", signature(i)));
    println!("outputs:");
    outputs.iter().for_each(|o| println!("  {}", signature(o)));
    let mut names: Vec<String> = (inputs.iter().flat_map(|i| &i.dims))
        .filter_map(|d| match d {
            Dim::Symbolic(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    names.dedup();
    names.sort();
    names.dedup();
    if !names.is_empty() {
        println!("symbolic dims: {} (set with --dim NAME=SIZE or --shape INPUT=DIMS)", names.join(", "));
    }
}

/// `{"name": "x", "dtype": "f32", "dims": [1, "N", null]}`: sizes as numbers, names as strings,
/// unknown dims as null.
fn info_json(info: &InputInfo) -> Value {
    let dims: Vec<Value> = info
        .dims
        .iter()
        .map(|d| match d {
            Dim::Fixed(v) => json!(v),
            Dim::Symbolic(s) => json!(s),
            Dim::Unknown => Value::Null,
        })
        .collect();
    let text: Vec<String> = info.dims.iter().map(dim_text).collect();
    json!({ "name": info.name, "dtype": info.dtype.map(|d| d.to_string()), "dims": dims, "shape": text.join(",") })
}

fn summary_json(
    graph: &kiln::Graph,
    stage: Stage,
    opt_level: u8,
    optimizer: Option<&kiln::pipeline::OptReport>,
) -> Value {
    let s = summarize(graph);
    let nodes: usize = s.op_counts.values().sum();
    let optimizer = optimizer.map(|r| {
        json!({
            "rules": r.rules,
            "iterations": r.iterations,
            "stop_reason": r.stop_reason,
            "stop_reason_text": stop_reason_words(&r.stop_reason),
            "egraph_nodes": r.egraph_nodes,
            "egraph_classes": r.egraph_classes,
            "total_ms": r.total_ms,
            "saturation_ms": r.saturation_ms,
            "extract_ms": r.extract_ms,
            "kernels_before": r.kernels_before,
            "kernels_after": r.kernels_after,
        })
    });
    json!({
        "stage": stage.name(),
        "opt_level": opt_level,
        "inputs": s.inputs,
        "outputs": s.outputs,
        "nodes": nodes,
        "op_counts": s.op_counts,
        "params": s.params,
        "param_bytes": s.param_bytes,
        "flops": s.flops,
        "optimizer": optimizer,
    })
}

/// The optimizer's figures (`# optimizer: ...` lines), or why there are none.
fn print_optimizer_report(report: Option<&kiln::pipeline::OptReport>) {
    let Some(r) = report else {
        println!("# optimizer: off (opt level 0)");
        return;
    };
    let reason = stop_reason_words(&r.stop_reason);
    println!("# optimizer: {} rules, {} iterations, stopped: {reason}", r.rules, r.iterations);
    println!("# e-graph: {} nodes in {} classes", r.egraph_nodes, r.egraph_classes);
    println!("# time: {:.1} ms (saturation {:.1} ms, extraction {:.1} ms)", r.total_ms, r.saturation_ms, r.extract_ms);
    println!("# kernels: {} before, {} after", r.kernels_before, r.kernels_after);
}

/// egg's stop reason (`Saturated`, `IterationLimit(12)`, `NodeLimit(20000)`, `TimeLimit(10.0)`,
/// kiln's `NoRules`) in words, with the flag that moves the limit.
pub fn stop_reason_words(reason: &str) -> String {
    let arg = reason.split_once('(').map(|(_, a)| a.trim_end_matches(')')).unwrap_or("");
    match reason.split('(').next().unwrap_or(reason) {
        "Saturated" => "saturated (no rule rewrites anything more)".into(),
        "IterationLimit" => format!("iteration limit reached ({arg} iterations; --egraph-iter-limit)"),
        "NodeLimit" => format!("node limit reached (the e-graph has {arg} nodes or more; --egraph-node-limit)"),
        "TimeLimit" => format!("time limit reached ({arg} s; --egraph-time-limit-ms)"),
        "NoRules" => "no rules to run (every rule of this level disabled)".into(),
        other => format!("{other} {arg}").trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::stop_reason_words;

    #[test]
    fn stop_reasons_read_as_words() {
        assert_eq!(stop_reason_words("Saturated"), "saturated (no rule rewrites anything more)");
        assert!(stop_reason_words("IterationLimit(12)").starts_with("iteration limit reached (12 iterations"));
        assert!(stop_reason_words("NodeLimit(20000)").contains("20000 nodes"));
        assert!(stop_reason_words("TimeLimit(10.0)").contains("10.0 s"));
    }
}
