//! `kiln run`: compile, run once, print the outputs (see [`super::output`]) and optionally
//! write them to files named after the graph's outputs. `--output-dir` is created and probed
//! before compiling, so a typo costs no compile time.

use super::args::RunArgs;
use super::output::{describe, top_k};
use super::prepare::prepare;
use anyhow::{Context, Result};
use kiln::io::{output_file_names, write_tensor, TensorFormat};
use std::path::Path;

pub fn run(args: &RunArgs) -> Result<()> {
    if let Some(dir) = &args.output_dir {
        check_writable(dir)?;
    }
    let p = prepare(&args.model, &args.inputs.inputs, &args.jit.features)?;
    let outputs = p.compiled.run(&p.inputs)?;
    let names = p.compiled.output_names();
    let name = |i: usize| names.get(i).map_or("?", String::as_str);
    for (i, t) in outputs.iter().enumerate() {
        println!("{}", describe(name(i), t));
        if let Some(k) = args.top_k {
            top_k(name(i), t, k as usize).iter().for_each(|line| println!("{line}"));
        }
    }
    if let Some(dir) = &args.output_dir {
        let ext = p.format.unwrap_or(TensorFormat::Npy).extension();
        let files = output_file_names(names, ext);
        for ((t, file), i) in outputs.iter().zip(&files).zip(0..) {
            let path = dir.join(file);
            write_tensor(&path, name(i), t)?;
            eprintln!("wrote {} (output '{}')", path.display(), name(i));
        }
    }
    Ok(())
}

/// Creates `dir` if needed and checks a file can be written in it.
fn check_writable(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("--output-dir: cannot create {}", dir.display()))?;
    let probe = dir.join(format!(".kiln-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("--output-dir: cannot write in {}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
