//! `kiln inspect`: the IR after a pipeline stage, then a summary of it.

use super::args::{InspectArgs, StageArg};
use super::prepare::load_model;
use anyhow::{Context, Result};
use kiln::{summary::summarize, Options, Stage};

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let lowered = model.lower(&Options::with_opt_level(args.model.opt_level))?;
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
    Ok(())
}
