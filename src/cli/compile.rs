//! `kiln compile`: the model as a native object file plus its C header, for the host or a
//! cross target. Prints the target, the CPU features chosen (so the user knows what the object
//! may execute) and the sizes: code, weights (against the model's own), workspace and the
//! object file; with `--json` the same as one JSON object.
//!
//! A named `--cpu` (`x86-64-v3`, `cortex-a76`, see [`kiln::cpus`]) is the generic baseline plus
//! its features, applied before `--features`. The header is written after the object, and the
//! object is removed again when that fails, so a failed run leaves no half of the pair behind.

use super::args::{CompileArgs, CpuArg};
use super::prepare::load_model;
use anyhow::{bail, Context, Result};
use kiln::native::host_triple;
use kiln::{CompiledObject, Cpu, NativeOptions};
use std::path::{Path, PathBuf};

pub fn compile(args: &CompileArgs) -> Result<()> {
    let model = load_model(&args.model)?;
    let native = native_options(args)?;
    let compiled = model.compile_object(&args.model.options(), &native)?;
    for note in &compiled.notes {
        eprintln!("note: {note}");
    }
    if args.target.as_deref() == Some(host_triple().as_str()) && args.cpu.is_none() {
        eprintln!(
            "note: {} is this machine's triple, so --cpu native was used (this CPU's features); \
             --cpu generic gives {} instead, for running the object on other {} machines",
            compiled.triple,
            Cpu::Generic.describe(&compiled.triple),
            arch_name(&compiled.triple)
        );
    }
    let header = args.header.clone().unwrap_or_else(|| header_path(&args.output));
    write_pair(&args.output, &compiled.object, &header, compiled.header.as_bytes())?;
    let cpu = cpu_text(args.cpu, &compiled);
    if args.json {
        println!("{}", json(&compiled, &cpu, &args.output, &header));
    } else {
        print_text(&compiled, &cpu, &args.output, &header);
    }
    Ok(())
}

/// The target, CPU level and feature edits `args` ask for.
fn native_options(args: &CompileArgs) -> Result<NativeOptions> {
    let triple = args.target.clone().unwrap_or_else(host_triple);
    let (cpu, mut features) = match args.cpu {
        None => (None, Vec::new()),
        Some(CpuArg::Native) => (Some(Cpu::Native), Vec::new()),
        Some(CpuArg::Generic) => (Some(Cpu::Generic), Vec::new()),
        Some(CpuArg::Named(named)) => {
            if !triple.starts_with(named.arch) {
                bail!(
                    "--cpu {} is an {} CPU, but the target {triple} is {}",
                    named.name,
                    arch_name(named.arch),
                    arch_name(&triple)
                );
            }
            let edits = named.features.iter().map(|f| format!("+{f}")).collect();
            (Some(Cpu::Generic), edits)
        }
    };
    features.extend(args.features.iter().cloned());
    Ok(NativeOptions { target: args.target.clone(), cpu, features, name: args.name.clone() })
}

fn arch_name(triple: &str) -> &'static str {
    if triple.starts_with("x86_64") {
        "x86-64"
    } else if triple.starts_with("aarch64") {
        "AArch64"
    } else {
        "unknown-architecture"
    }
}

/// `generic (x86-64-v2)`, `native (the host CPU)`, or `x86-64-v3 (generic plus avx, ...)`.
fn cpu_text(arg: Option<CpuArg>, compiled: &CompiledObject) -> String {
    match arg {
        Some(CpuArg::Named(named)) if named.features.is_empty() => {
            format!("{} (generic: {})", named.name, compiled.cpu.describe(&compiled.triple))
        }
        Some(CpuArg::Named(named)) => format!("{} (generic plus {})", named.name, named.features.join(", ")),
        _ => format!("{} ({})", compiled.cpu.name(), compiled.cpu.describe(&compiled.triple)),
    }
}

fn print_text(compiled: &CompiledObject, cpu: &str, object: &Path, header: &Path) {
    let st = &compiled.stats;
    let features =
        if compiled.features.is_empty() { "none beyond the baseline".to_string() } else { compiled.features.join(",") };
    println!("target: {}", compiled.triple);
    println!("cpu: {cpu}");
    println!("features: {features}");
    println!("kernels: {}", st.kernels);
    println!("micro-kernels: {}", st.micro_kernels);
    println!("micro-kernel isa: {}", st.micro_isa.unwrap_or("none"));
    println!("code bytes: {}", st.code_bytes);
    println!("weight bytes: {} ({})", st.weight_bytes, weights_against_model(st.weight_bytes, st.model_weight_bytes));
    println!("workspace bytes: {}", st.workspace_bytes);
    println!("object bytes: {}", st.object_bytes);
    println!("symbols: {0}_run, {0}_workspace_size", compiled.name);
    println!("wrote {} and {}", object.display(), header.display());
}

/// `the model's own: 1200 bytes, x1.03` and why they differ.
fn weights_against_model(object: usize, model: usize) -> String {
    if model == 0 {
        return "the model has no weights".into();
    }
    let ratio = object as f64 / model as f64;
    format!("the model's own: {model}, x{ratio:.2}: folded constants and weights prepacked for the kernels")
}

fn json(compiled: &CompiledObject, cpu: &str, object: &Path, header: &Path) -> serde_json::Value {
    let st = &compiled.stats;
    serde_json::json!({
        "target": compiled.triple,
        "cpu": cpu,
        "features": compiled.features,
        "name": compiled.name,
        "kernels": st.kernels,
        "micro_kernels": st.micro_kernels,
        "micro_isa": st.micro_isa,
        "code_bytes": st.code_bytes,
        "weight_bytes": st.weight_bytes,
        "model_weight_bytes": st.model_weight_bytes,
        "workspace_bytes": st.workspace_bytes,
        "object_bytes": st.object_bytes,
        "object": object.display().to_string(),
        "header": header.display().to_string(),
    })
}

/// `OUT.o` -> `OUT.h`.
fn header_path(object: &Path) -> PathBuf {
    object.with_extension("h")
}

/// Writes the object, then the header; removes the object when the header cannot be written.
fn write_pair(object: &Path, object_bytes: &[u8], header: &Path, header_bytes: &[u8]) -> Result<()> {
    write(object, object_bytes)?;
    if let Err(e) = write(header, header_bytes) {
        let _ = std::fs::remove_file(object);
        bail!("{e:#} (so {} was not kept either)", object.display());
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
