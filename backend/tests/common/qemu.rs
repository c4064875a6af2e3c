//! AArch64 harness: compile a graph through `compile_graph` into an AArch64 object (NEON
//! micro-kernels where the plan has them), link it with `tests/c/guard_driver.c` by
//! `aarch64-linux-gnu-gcc -static`, run it under `qemu-aarch64` on the inputs, and compare the
//! outputs with the reference evaluator. The driver puts guard bytes before and after every
//! buffer (inputs, outputs, workspace) and fails the run when one was written.
//!
//! Why one graph per batch of cases: a link and an emulator start cost tens of milliseconds,
//! so tests put many independent nodes (one per shape) in one graph and run it once.
//! The cross tools come from Debian (`gcc-aarch64-linux-gnu`, `qemu-user`); a missing tool
//! fails the test with that hint, never skips it.

use super::graph::assert_matches_reference;
use cranelift_object::{ObjectBuilder, ObjectModule};
use kiln_ir::{Graph, Tensor};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const TRIPLE: &str = "aarch64-unknown-linux-gnu";

/// What one AArch64 run gave.
pub struct ArmRun {
    pub outputs: Vec<Tensor>,
    pub micro_kernels: usize,
    /// Distinct kernels of the (legalized) graph.
    pub kernels: usize,
    pub micro_isa: Option<&'static str>,
    /// The object file (kept for disassembly).
    pub object: PathBuf,
}

/// The AArch64 object of `graph` (legalized for the target as `kiln` does) and its stats.
pub fn compile_object(graph: &Graph) -> Result<(Vec<u8>, kiln_backend::CompiledGraph, Graph), String> {
    let isa = kiln_backend::isa_for_triple(TRIPLE, &[]).map_err(|e| e.to_string())?;
    let caps = kiln_backend::TargetCaps::of(&*isa);
    let legal = kiln_backend::legalize(graph, caps).map_err(|e| e.to_string())?;
    let lowered = legal.unwrap_or_else(|| graph.clone());
    let builder =
        ObjectBuilder::new(isa, "kiln_t", cranelift_module::default_libcall_names()).map_err(|e| e.to_string())?;
    let mut module = ObjectModule::new(builder);
    let plan = kiln_passes::plan_memory(&lowered);
    let compiled =
        kiln_backend::compile_graph_as(&mut module, &lowered, &plan, "t_", "kiln_t_run").map_err(|e| e.to_string())?;
    let bytes = module.finish().emit().map_err(|e| e.to_string())?;
    Ok((bytes, compiled, lowered))
}

fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("neon-{}-{n}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn tool(cmd: &mut Command, name: &str) -> Result<std::process::Output, String> {
    cmd.output().map_err(|e| {
        format!("`{name}`: {e}: the AArch64 tests need the Debian packages gcc-aarch64-linux-gnu and qemu-user")
    })
}

/// Compiles `graph` for AArch64, runs it under qemu on `inputs` and returns its outputs.
pub fn run_aarch64(graph: &Graph, inputs: &[Tensor]) -> Result<ArmRun, String> {
    let (bytes, compiled, lowered) = compile_object(graph)?;
    let dir = scratch_dir();
    let (obj, exe) = (dir.join("model.o"), dir.join("model"));
    std::fs::write(&obj, bytes).map_err(|e| e.to_string())?;
    let driver = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c/guard_driver.c");
    let cc = tool(
        Command::new("aarch64-linux-gnu-gcc").args(["-O1", "-static", "-o"]).arg(&exe).arg(&driver).arg(&obj),
        "aarch64-linux-gnu-gcc",
    )?;
    if !cc.status.success() {
        return Err(format!("link failed: {}", String::from_utf8_lossy(&cc.stderr)));
    }
    let out_types: Vec<_> = lowered.outputs.iter().map(|&v| lowered.ty(v).clone()).collect();
    let mut args = vec![compiled.workspace_size.to_string(), inputs.len().to_string()];
    args.extend(inputs.iter().map(|t| t.ty().byte_size().to_string()));
    args.push(out_types.len().to_string());
    args.extend(out_types.iter().map(|t| t.byte_size().to_string()));
    let mut child = Command::new("qemu-aarch64")
        .arg(&exe)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("qemu-aarch64: {e}: install the Debian package qemu-user"))?;
    let stdin: Vec<u8> = inputs.iter().flat_map(|t| t.to_le_bytes()).collect();
    let mut pipe = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || pipe.write_all(&stdin));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(format!("run failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    let mut at = 0;
    let mut outputs = Vec::new();
    for t in &out_types {
        let end = at + t.byte_size();
        let bytes = out.stdout.get(at..end).ok_or("short output")?;
        outputs.push(Tensor::from_le_bytes(t.dtype, t.shape.clone(), bytes).ok_or("bad output bytes")?);
        at = end;
    }
    Ok(ArmRun {
        outputs,
        micro_kernels: compiled.micro_kernels,
        kernels: compiled.kernels,
        micro_isa: compiled.micro_isa,
        object: obj,
    })
}

/// Runs `graph` on AArch64 under qemu, asserts every output matches the reference within
/// `rtol`/`atol` and that at least `micro` distinct kernels were NEON micro-kernels.
pub fn check_aarch64(graph: &Graph, inputs: &[Tensor], micro: usize, rtol: f64, atol: f64) -> ArmRun {
    let run = run_aarch64(graph, inputs).unwrap_or_else(|e| panic!("aarch64: {e}"));
    assert!(run.micro_kernels >= micro, "{} NEON micro-kernels, expected at least {micro}", run.micro_kernels);
    if micro > 0 {
        assert_eq!(run.micro_isa, Some("neon"));
    }
    assert_matches_reference(graph, inputs, &run.outputs, "aarch64", (rtol, atol));
    run
}
