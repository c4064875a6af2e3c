//! `NAME_run_parallel` in native objects, with the README's pthreads pool
//! (`tests/c/parallel_pool.c`, which the README must contain verbatim): the bundled example
//! compiled with `threads = 4` for x86-64 (the host's features) and AArch64 (under qemu), linked with
//! `tests/c/parallel_driver.c` and run at 1, 2, 3 and 4 threads.
//!
//! Checked: the object has no undefined symbol (the pool is the application's); some kernels
//! were cut into parts; the outputs are the same bytes at every thread count and as `NAME_run`'s
//! (the driver compares those itself), and agree with the JIT's within the target's tolerance.

#[path = "common/native.rs"]
mod native;

use kiln::{Model, Options, Tensor};
use native::{
    compare_within, native_options, repo_root, require_tools, undefined_symbols, Target, AARCH64, X86_64_NATIVE,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NAME: &str = "mobilenet_tiny";

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-native-threads-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Links the parallel driver with `object` (header next to it) for `t`.
fn link_parallel(object: &Path, t: &Target, dir: &Path) -> Result<PathBuf, String> {
    let exe = dir.join(format!("{NAME}_parallel.exe"));
    let out = Command::new(t.cc)
        .args(["-O1", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .args(t.cc_flags)
        .arg(format!("-I{}", dir.display()))
        .arg(format!("-I{}", repo_root().join("tests/c").display()))
        .arg(format!("-DKILN_NAME={NAME}"))
        .arg(format!("-DKILN_HEADER=\"{NAME}.h\""))
        .arg(repo_root().join("tests/c/parallel_driver.c"))
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

/// Runs the driver at `threads` (under `t`'s emulator) on `input`; the outputs of `types`.
fn run_at(exe: &Path, t: &Target, threads: usize, input: &Tensor, types: &[kiln::TensorType]) -> Vec<Tensor> {
    let mut cmd = match t.runner {
        Some(runner) => {
            let mut c = Command::new(runner);
            c.arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let mut child = cmd
        .arg(threads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    let bytes = input.to_le_bytes();
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().expect("driver output");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "{} at {threads} threads exited with {} (4: parallel and plain runs differ): {}",
        t.triple,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut at = 0;
    types
        .iter()
        .map(|ty| {
            let chunk = out.stdout.get(at..at + ty.byte_size()).expect("the driver wrote every output");
            at += ty.byte_size();
            Tensor::from_le_bytes(ty.dtype, ty.shape.clone(), chunk).expect("output bytes")
        })
        .collect()
}

fn check_target(t: &Target) {
    require_tools(t);
    let dir = scratch(t.triple);
    let model = Model::load(repo_root().join("examples/mobilenet_tiny.onnx")).expect("the example model");
    let input = kiln::io::read_tensor(&repo_root().join("examples/input.npy")).expect("examples/input.npy").tensor;
    let want = model.compile(&Options::default()).expect("JIT").run(std::slice::from_ref(&input)).expect("JIT run");
    let opts = Options { threads: 4, ..Options::default() };
    let obj = model.compile_object(&opts, &native_options(t, NAME)).unwrap_or_else(|e| panic!("{}: {e}", t.triple));
    assert_eq!(obj.stats.threads, 4);
    assert!(obj.stats.split_kernels > 0, "{}: no kernel was cut into parts", t.triple);
    assert!(obj.header.contains(&format!("#define {NAME}_THREADS 4")), "{}", obj.header);
    let object = dir.join(format!("{NAME}.o"));
    std::fs::write(&object, &obj.object).expect("write object");
    std::fs::write(dir.join(format!("{NAME}.h")), &obj.header).expect("write header");
    let undefined = undefined_symbols(t, &object).expect("nm");
    assert!(undefined.trim().is_empty(), "{}: undefined symbols:\n{undefined}", t.triple);
    let exe = link_parallel(&object, t, &dir).unwrap_or_else(|e| panic!("{}: {e}", t.triple));
    let types: Vec<kiln::TensorType> = obj.outputs.iter().map(|(_, ty)| ty.clone()).collect();
    let mut first: Option<Vec<Tensor>> = None;
    for threads in 1..=4 {
        let got = run_at(&exe, t, threads, &input, &types);
        match &first {
            None => first = Some(got.clone()),
            Some(f) => assert!(
                f.iter().zip(&got).all(|(a, b)| a.to_le_bytes() == b.to_le_bytes()),
                "{}: outputs at {threads} threads differ from 1 thread's",
                t.triple
            ),
        }
        for (w, g) in want.iter().zip(&got) {
            compare_within(w, g, t.tolerance).unwrap_or_else(|e| panic!("{} at {threads} threads: {e}", t.triple));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parallel_entry_runs_with_the_readme_pool_on_both_linux_targets() {
    // x86-64 with the host's features: the generic level (x86-64-v2) has no micro-kernels, and
    // only micro-kernels are cut into parts today.
    [X86_64_NATIVE, AARCH64].iter().for_each(check_target);
}

#[test]
fn readme_shows_the_pthreads_pool_verbatim() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let pool = std::fs::read_to_string(repo_root().join("tests/c/parallel_pool.c")).expect("parallel_pool.c");
    assert!(readme.contains(pool.trim_end()), "README.md must contain tests/c/parallel_pool.c verbatim");
    assert!(readme.contains("_run_parallel"), "README.md must show NAME_run_parallel");
}
