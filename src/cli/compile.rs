//! `kiln compile`: the model as a native object file plus its C header, for the host or a
//! cross target. Prints the target, the CPU features chosen (so the user knows what the object
//! may execute) and the sizes: code, weights, workspace and the object file.

use super::args::{CompileArgs, CpuArg};
use super::prepare::load_model;
use anyhow::{Context, Result};
use kiln::{Cpu, NativeOptions};
use std::path::PathBuf;

pub fn compile(args: &CompileArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let native = NativeOptions {
        target: args.target.clone(),
        cpu: args.cpu.map(|c| match c {
            CpuArg::Native => Cpu::Native,
            CpuArg::Generic => Cpu::Generic,
        }),
        features: args.features.clone(),
        name: args.name.clone(),
    };
    let compiled = model.compile_object(&args.model.options(), &native)?;
    for note in &compiled.notes {
        eprintln!("note: {note}");
    }
    let header = args.header.clone().unwrap_or_else(|| header_path(&args.output));
    write(&args.output, &compiled.object)?;
    write(&header, compiled.header.as_bytes())?;
    let features =
        if compiled.features.is_empty() { "none beyond the baseline".to_string() } else { compiled.features.join(",") };
    println!("target: {}", compiled.triple);
    println!("cpu: {} ({})", compiled.cpu.name(), compiled.cpu.describe(&compiled.triple));
    println!("features: {features}");
    println!("kernels: {}", compiled.stats.kernels);
    println!("micro-kernels: {}", compiled.stats.micro_kernels);
    println!("micro-kernel isa: {}", compiled.stats.micro_isa.unwrap_or("none"));
    println!("code bytes: {}", compiled.stats.code_bytes);
    println!("weight bytes: {}", compiled.stats.weight_bytes);
    println!("workspace bytes: {}", compiled.stats.workspace_bytes);
    println!("object bytes: {}", compiled.stats.object_bytes);
    println!("symbols: {0}_run, {0}_workspace_size", compiled.name);
    println!("wrote {} and {}", args.output.display(), header.display());
    Ok(())
}

/// `OUT.o` -> `OUT.h`.
fn header_path(object: &std::path::Path) -> PathBuf {
    object.with_extension("h")
}

fn write(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
