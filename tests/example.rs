//! The bundled example (`examples/mobilenet_tiny.onnx`, made by `examples/gen_mobilenet.py`)
//! through `kiln run`, compared with onnxruntime's output for the same input.
//!
//! Two runs: with the `.pb` input (the ONNX test-data format) and with `examples/input.npy`,
//! exactly as the README's first command does. References come from
//! `scripts/gen-test-data.sh` into `target/test-data/example`.

#[path = "common/suite.rs"]
mod suite;

use std::path::{Path, PathBuf};
use suite::{compare, compare_pb_files, data_root, output_files, repo_root, report_root, run_kiln, NODE_TOLERANCE};

fn example_model() -> PathBuf {
    repo_root().join("examples/mobilenet_tiny.onnx")
}

fn reference(file: &str) -> PathBuf {
    let path = data_root().join("example").join(file);
    assert!(path.is_file(), "test data missing: {}; generate it with `{}`", path.display(), suite::GEN_COMMAND);
    path
}

fn run_example(input: &Path, scratch: &str) -> PathBuf {
    let out_dir = report_root().join("scratch").join(scratch);
    let _ = std::fs::remove_dir_all(&out_dir);
    if let Err(status) = run_kiln(&example_model(), &[("input".to_string(), input.to_path_buf())], &out_dir) {
        panic!("kiln run {}: {} ({})", example_model().display(), status.label(), status.reason());
    }
    out_dir
}

#[test]
fn example_files_are_committed_and_small() {
    for file in ["examples/mobilenet_tiny.onnx", "examples/input.npy"] {
        let len = std::fs::metadata(repo_root().join(file)).map(|m| m.len()).unwrap_or(0);
        assert!(len > 0 && len < 2 << 20, "{file}: {len} bytes (must exist and be < 2 MB)");
    }
}

#[test]
fn example_pb_input_matches_onnxruntime() {
    let out_dir = run_example(&reference("input_0.pb"), "example_pb");
    let got = out_dir.join(&output_files(&example_model(), "pb")[0]);
    let result = compare_pb_files(&reference("output_0.pb"), &got, NODE_TOLERANCE);
    result.unwrap_or_else(|e| panic!("output_0.pb: {e}"));
}

#[test]
fn example_npy_input_matches_onnxruntime() {
    let out_dir = run_example(&repo_root().join("examples/input.npy"), "example_npy");
    let read = |p: &Path| {
        let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        kiln::io::npy::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let got = read(&out_dir.join(&output_files(&example_model(), "npy")[0]));
    let want = read(&reference("output_0.npy"));
    compare(&want, &got, NODE_TOLERANCE).unwrap_or_else(|e| panic!("output_0.npy: {e}"));
}
