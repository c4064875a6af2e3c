//! Symbols for profilers: with `KILN_PERF_MAP=1` in the environment, every JIT-compiled function
//! is appended to `/tmp/perf-<pid>.map`, the format `perf report` reads for JIT code
//! (`START SIZE NAME` per line, hex start and size). Kernels are named
//! `kiln_k<i>_<op>:<first node>`, so `perf record kiln bench model.onnx` followed by
//! `perf report` shows time per kernel. The node is the ONNX node's name even for nodes the
//! optimizer created (`kiln::provenance` renames them before the JIT), so a kernel can be found
//! in the model; `kiln bench --profile` gives the same table without perf.
//!
//! Off by default: the file is a side effect a library must not have unasked. Failing to write
//! it never fails compilation; profiling is best effort.

use cranelift_jit::JITModule;
use kiln_backend::FunctionSymbol;
use std::io::Write;

/// The environment variable that turns the map on.
pub const PERF_MAP_ENV: &str = "KILN_PERF_MAP";

/// Appends `functions` (finalized in `module`) to this process's perf map, if enabled.
pub fn write_if_enabled(module: &JITModule, functions: &[FunctionSymbol]) {
    if std::env::var_os(PERF_MAP_ENV).is_none_or(|v| v.is_empty() || v == "0") {
        return;
    }
    let lines: String = functions
        .iter()
        .map(|f| format!("{:x} {:x} {}\n", module.get_finalized_function(f.id) as usize, f.size, f.name))
        .collect();
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
    if let Err(e) = file.and_then(|mut f| f.write_all(lines.as_bytes())) {
        eprintln!("kiln: could not write the perf map {path}: {e}");
    }
}
