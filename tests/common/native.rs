//! Helpers of the native-object tests (`tests/native_*.rs`): build a kiln object into an
//! executable with the C driver `tests/c/driver.c` and a C compiler of the target, run it
//! (AArch64 under `qemu-aarch64`), and compare its outputs with the JIT's.
//!
//! Why a C driver and a subprocess: the object is meant to be linked by C applications, so the
//! test links it exactly like one (the generated header, `cc`, nothing else of kiln's) and runs
//! it on the target's CPU or an emulator of it. Inputs go in on stdin and outputs come back on
//! stdout as raw bytes in graph order, so the driver needs no file format.
//!
//! The cross tools come from Debian (`gcc-aarch64-linux-gnu`, `qemu-user`), installed by
//! `scripts/test.sh`; a missing tool fails the test with that hint, never skips it.
#![allow(dead_code)]

use kiln::{CompiledObject, Cpu, Dim, Model, NativeOptions, Options, Tensor, TensorType};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to build and run objects of one triple on this (x86-64 Linux) machine.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub triple: &'static str,
    /// The CPU level objects are compiled for.
    pub cpu: Cpu,
    pub cc: &'static str,
    pub cc_flags: &'static [&'static str],
    /// The emulator the executable runs under, if any.
    pub runner: Option<&'static str>,
    pub nm: &'static str,
    /// The tolerance of its outputs against the JIT's (see [`compare_within`]).
    pub tolerance: NativeTolerance,
}

/// x86-64 Linux at the generic level (x86-64-v2: no AVX, no FMA), so the tests cover the
/// kernels' mul+add and libcall-free paths that the host JIT (with FMA) never takes.
pub const X86_64: Target = Target {
    triple: "x86_64-unknown-linux-gnu",
    cpu: Cpu::Generic,
    cc: "cc",
    cc_flags: &[],
    runner: None,
    nm: "nm",
    tolerance: SAME_ISA,
};

/// x86-64 Linux with the host's features: the same instructions as the host JIT (FMA included),
/// so the outputs agree to rounding even where a long chain of mul+add would drift away.
pub const X86_64_NATIVE: Target = Target { cpu: Cpu::Native, ..X86_64 };

/// AArch64 Linux at the generic level (Armv8-A, NEON), linked statically, run under qemu.
pub const AARCH64: Target = Target {
    triple: "aarch64-unknown-linux-gnu",
    cpu: Cpu::Generic,
    cc: "aarch64-linux-gnu-gcc",
    cc_flags: &["-static"],
    runner: Some("qemu-aarch64"),
    nm: "aarch64-linux-gnu-nm",
    tolerance: SAME_ISA,
};

/// Both Linux targets.
pub const TARGETS: [Target; 2] = [X86_64, AARCH64];

/// How close a native output must be to the JIT's: elementwise within `rtol` of the larger
/// magnitude, or within `normwise` of the output's largest finite magnitude (for elements that
/// cancel to about zero, whose error is in ulps of the terms, not of the result).
#[derive(Clone, Copy, Debug)]
pub struct NativeTolerance {
    pub rtol: f64,
    pub normwise: f64,
}

/// The relative tolerance of native outputs against the JIT's (the acceptance).
pub const RTOL: f64 = 1e-5;

/// Objects whose kernels are the JIT's own, or sum in the same order: [`RTOL`], and a normwise
/// term 10x tighter.
pub const SAME_ISA: NativeTolerance = NativeTolerance { rtol: RTOL, normwise: 1e-6 };

/// Where the object's kernels sum in another order than the JIT's: an AArch64 object's kernels
/// are 4-lane code with their own tiles and K order, where the host JIT runs 16-lane AVX-512
/// micro-kernels, so a deep random-weight network's outputs differ by the rounding of two
/// different summations, not by the ulps of one. Measured on `light-random`: 1.4e-4 relative on
/// an alexnet logit of -0.089, the sum of 9216 products of size ~1 (K = 9216: sqrt(K) * 2^-24 of
/// the terms' size, absolute). Both sides are checked against the reference evaluator elsewhere
/// (node suite, micro-kernel tests).
pub const CROSS_ISA: NativeTolerance = NativeTolerance { rtol: 1e-4, normwise: 1e-5 };

/// The workspace root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The C driver.
pub fn driver_source() -> PathBuf {
    repo_root().join("tests/c/driver.c")
}

/// Fails with an installation hint when a tool of `t` is missing.
pub fn require_tools(t: &Target) {
    for tool in [Some(t.cc), t.runner, Some(t.nm)].into_iter().flatten() {
        let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        assert!(
            found.is_ok(),
            "`{tool}` not found: the native tests need the Debian packages gcc-aarch64-linux-gnu and qemu-user \
             (scripts/test.sh installs them)"
        );
    }
}

/// The options that compile `name` for `t`.
pub fn native_options(t: &Target, name: &str) -> NativeOptions {
    NativeOptions {
        target: Some(t.triple.to_string()),
        cpu: Some(t.cpu),
        features: vec![],
        name: Some(name.to_string()),
    }
}

/// Writes the object and header into `dir` and links them with the driver; returns the
/// executable.
pub fn build(obj: &CompiledObject, t: &Target, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let object = dir.join(format!("{}.o", obj.name));
    std::fs::write(&object, &obj.object).map_err(|e| format!("{}: {e}", object.display()))?;
    std::fs::write(dir.join(format!("{}.h", obj.name)), &obj.header).map_err(|e| format!("header: {e}"))?;
    link(&object, &obj.name, t, dir)
}

/// Compiles the driver for the object `object` (whose header `NAME.h` is next to it) with `t`'s
/// compiler, warnings as errors; returns the executable.
pub fn link(object: &Path, name: &str, t: &Target, dir: &Path) -> Result<PathBuf, String> {
    let exe = dir.join(format!("{name}.exe"));
    let include = object.parent().unwrap_or(Path::new("."));
    let out = Command::new(t.cc)
        .args(["-O1", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(t.cc_flags)
        .arg(format!("-I{}", include.display()))
        .arg(format!("-DKILN_NAME={name}"))
        .arg(format!("-DKILN_HEADER=\"{name}.h\""))
        .arg(driver_source())
        .arg(object)
        .arg("-o")
        .arg(&exe)
        .output()
        .map_err(|e| format!("running {}: {e}", t.cc))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", t.cc, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(exe)
}

/// What `nm -u` prints for `object` (must be empty: the object is self-contained).
pub fn undefined_symbols(t: &Target, object: &Path) -> Result<String, String> {
    let out = Command::new(t.nm).arg("-u").arg(object).output().map_err(|e| format!("running {}: {e}", t.nm))?;
    if !out.status.success() {
        return Err(format!("{} -u failed: {}", t.nm, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs the executable on `inputs` (graph order) and splits stdout into tensors of `outputs`'
/// types. `threads` also runs the driver's two-thread check.
pub fn run(
    exe: &Path,
    t: &Target,
    inputs: &[Tensor],
    outputs: &[TensorType],
    threads: bool,
) -> Result<Vec<Tensor>, String> {
    let mut cmd = match t.runner {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    };
    if threads {
        cmd.arg("threads");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let stdin_bytes: Vec<u8> = inputs.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(&stdin_bytes));
    let out = child.wait_with_output().map_err(|e| format!("{}: {e}", exe.display()))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(format!("{} exited with {}: {}", exe.display(), out.status, String::from_utf8_lossy(&out.stderr)));
    }
    split_outputs(&out.stdout, outputs)
}

fn split_outputs(bytes: &[u8], types: &[TensorType]) -> Result<Vec<Tensor>, String> {
    let want: usize = types.iter().map(TensorType::byte_size).sum();
    if bytes.len() != want {
        return Err(format!("the driver wrote {} bytes, the outputs take {want}", bytes.len()));
    }
    let mut at = 0;
    let mut tensors = Vec::new();
    for ty in types {
        let chunk = &bytes[at..at + ty.byte_size()];
        at += ty.byte_size();
        tensors.push(Tensor::from_le_bytes(ty.dtype, ty.shape.clone(), chunk).ok_or("bad output bytes")?);
    }
    Ok(tensors)
}

/// Compares a native output with the JIT's at [`SAME_ISA`].
pub fn compare(want: &Tensor, got: &Tensor) -> Result<(), String> {
    compare_within(want, got, SAME_ISA)
}

/// Compares a native output with the JIT's: floats within `tol` (NaN equals NaN, infinities
/// must match), integers and bools exactly.
pub fn compare_within(want: &Tensor, got: &Tensor, tol: NativeTolerance) -> Result<(), String> {
    if want.ty() != got.ty() {
        return Err(format!("type {} instead of {}", got.ty(), want.ty()));
    }
    if !want.dtype().is_float() {
        return match want.to_i64_vec() == got.to_i64_vec() {
            true => Ok(()),
            false => Err("integer values differ".into()),
        };
    }
    let want_f = want.to_f64_vec();
    // Elementwise relative, or normwise: an output that cancels to ~0 (an inverse DFT's zero
    // bins) differs between FMA and mul+add targets by ulps of the terms, not of the result.
    let peak = want_f.iter().filter(|v| v.is_finite()).fold(0f64, |m, v| m.max(v.abs()));
    for (i, (w, g)) in want_f.into_iter().zip(got.to_f64_vec()).enumerate() {
        let relative = (w - g).abs() <= tol.rtol * w.abs().max(g.abs());
        let normwise = (w - g).abs() <= tol.normwise * peak;
        let close = (w.is_nan() && g.is_nan()) || w == g || relative || normwise;
        if !close {
            return Err(format!("element {i}: native {g}, JIT {w} (tolerance {tol:?}, peak {peak})"));
        }
    }
    Ok(())
}

/// A model specialised for some input tensors: symbolic dims fixed to the tensors' shapes and,
/// when the import needs an input's value (it determines a shape), that value bound, as
/// `kiln run` does. Returns the model and the runtime inputs in the compiled order.
pub fn specialise(
    mut model: Model,
    given: &HashMap<String, Tensor>,
    opts: &Options,
) -> Result<(Model, kiln::CompiledModel, Vec<Tensor>), String> {
    for info in model.inputs() {
        let symbolic = info.dims.iter().any(|d| !matches!(d, Dim::Fixed(_)));
        if let (true, Some(t)) = (symbolic, given.get(&info.name)) {
            model = model.with_shape(&info.name, t.shape());
        }
    }
    for _ in 0..=given.len() {
        match model.compile(opts) {
            Ok(jit) => {
                let inputs = jit.input_names().iter().map(|n| given.get(n).cloned().ok_or(n.clone()));
                let inputs = inputs.collect::<Result<Vec<_>, _>>().map_err(|n| format!("no tensor for input {n}"))?;
                return Ok((model, jit, inputs));
            }
            Err(e) => match e.needs_value_input().and_then(|n| given.get(n).map(|t| (n.to_string(), t))) {
                Some((name, t)) if !model.has_value(&name) => model = model.with_value(&name, t.clone()),
                _ => return Err(format!("JIT compile: {e}")),
            },
        }
    }
    Err("could not bind the inputs the import needs".into())
}

/// Everything one model goes through on one target: compile the object, check `nm -u`, link,
/// run (with `threads`, also the driver's two-thread check), compare with `jit_outputs`.
/// Returns the object for its figures.
pub fn check_on_target(
    model: &Model,
    inputs: &[Tensor],
    jit_outputs: &[Tensor],
    t: &Target,
    (name, threads): (&str, bool),
    dir: &Path,
) -> Result<CompiledObject, String> {
    let obj =
        model.compile_object(&Options::default(), &native_options(t, name)).map_err(|e| format!("compile: {e}"))?;
    let exe = build(&obj, t, dir)?;
    let undefined = undefined_symbols(t, &dir.join(format!("{name}.o")))?;
    if !undefined.trim().is_empty() {
        return Err(format!("nm -u: {undefined}"));
    }
    let types: Vec<TensorType> = obj.outputs.iter().map(|(_, ty)| ty.clone()).collect();
    let outputs = obj.trim_outputs(run(&exe, t, inputs, &types, threads)?)?;
    for (j, (want, got)) in jit_outputs.iter().zip(&outputs).enumerate() {
        compare_within(want, got, t.tolerance).map_err(|e| format!("output {j}: {e}"))?;
    }
    Ok(obj)
}

/// Reads an ONNX test directory's `test_data_set_0/input_N.pb` for `names`.
pub fn read_inputs(dir: &Path, names: &[String]) -> Result<HashMap<String, Tensor>, String> {
    let set = dir.join("test_data_set_0");
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let path = set.join(format!("input_{i}.pb"));
            let file = kiln::io::read_tensor(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok((n.clone(), file.tensor))
        })
        .collect()
}

/// A line on stderr past the test harness's capture, so figures show in CI logs.
pub fn progress(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}
