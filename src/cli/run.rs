//! `kiln run`: compile, run once, print the outputs and optionally write them to files.

use super::args::RunArgs;
use super::output::describe;
use super::prepare::prepare;
use anyhow::{Context, Result};
use kiln::io::{write_tensor, TensorFormat};

pub fn run(args: &RunArgs) -> Result<()> {
    let p = prepare(&args.model, &args.inputs.inputs, &args.jit.features)?;
    let outputs = p.compiled.run(&p.inputs)?;
    let names = p.compiled.output_names();
    for (i, t) in outputs.iter().enumerate() {
        println!("{}", describe(names.get(i).map_or("?", String::as_str), t));
    }
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let ext = p.format.unwrap_or(TensorFormat::Npy).extension();
        for (i, t) in outputs.iter().enumerate() {
            let path = dir.join(format!("output_{i}.{ext}"));
            write_tensor(&path, names.get(i).map_or("", String::as_str), t)?;
        }
        eprintln!("wrote {} output(s) to {}", outputs.len(), dir.display());
    }
    Ok(())
}
