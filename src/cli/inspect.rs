//! `kiln inspect`: the IR after a pipeline stage, then a summary of it.

use super::args::{InspectArgs, StageArg};
use super::prepare::load_model;
use anyhow::{Context, Result};
use kiln::{summary::summarize, Stage};

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let lowered = model.lower(&args.model.options())?;
    for note in &lowered.notes {
        eprintln!("note: {note}");
    }
    let stage = match args.stage {
        StageArg::Import => Stage::Import,
        StageArg::Optimized => Stage::Optimized,
    };
    let graph = lowered.graph(stage).with_context(|| format!("no graph for stage '{stage}'"))?;
    print!("{}", kiln_ir::print_graph(graph, false));
    println!();
    println!("# after stage '{stage}' (opt level {})", args.model.opt_level);
    println!("{}", summarize(graph));
    println!("{}", kiln::layouts::layouts(graph));
    if stage == Stage::Optimized {
        print_optimizer_report(&lowered);
    }
    Ok(())
}

/// The optimizer's figures (`# optimizer: ...` lines), or why there are none.
fn print_optimizer_report(lowered: &kiln::pipeline::Lowered) {
    let Some(r) = &lowered.optimizer else {
        println!("# optimizer: off (opt level 0)");
        return;
    };
    println!("# optimizer: {} rules, {} iterations, stop reason: {}", r.rules, r.iterations, r.stop_reason);
    println!("# e-graph: {} nodes in {} classes", r.egraph_nodes, r.egraph_classes);
    println!("# time: {:.1} ms (saturation {:.1} ms, extraction {:.1} ms)", r.total_ms, r.saturation_ms, r.extract_ms);
    println!("# kernels: {} before, {} after", r.kernels_before, r.kernels_after);
}
