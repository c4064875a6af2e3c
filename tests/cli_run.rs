//! `kiln run`'s output: every value of small outputs, a summary of large ones in a notation that
//! shows tiny values, `--top-k`, files named after the graph's outputs (sanitised), and
//! `--output-dir` checked before compiling.

mod common;

use common::*;
use kiln::io::{npy, read_tensor};
use kiln::Tensor;
use std::path::Path;

fn write_npy(dir: &Path, name: &str, t: &Tensor) -> String {
    let path = dir.join(name);
    std::fs::write(&path, npy::encode(t)).expect("write npy");
    s(&path).to_string()
}

/// `y = Relu(x)` over f32 `[n]`, with the output named `name`.
fn relu(dir: &Path, n: usize, name: &str) -> std::path::PathBuf {
    let dims = [n.to_string()];
    let dims = [dims[0].as_str()];
    ModelBuilder::new()
        .input("x", Elem::FLOAT, &dims)
        .node("Relu", &["x"], &[name])
        .output(name, Elem::FLOAT, &dims)
        .write(&dir.join("relu.onnx"))
}

#[test]
fn small_outputs_print_every_value_and_tiny_ones_are_visible() {
    let dir = scratch("run_small");
    let model = relu(&dir, 12, "y");
    let mut values: Vec<f32> = (0..12).map(|i| i as f32).collect();
    values[1] = 3.5e-9;
    let xf = write_npy(&dir, "x.npy", &Tensor::from_vec(vec![12], values));
    let out = kiln(&["run", s(&model), "--input", &xf]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(stdout.trim_end(), "y: f32[12] = [0, 3.5e-9, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]");
}

#[test]
fn large_outputs_print_a_summary() {
    let dir = scratch("run_large");
    let model = relu(&dir, 1000, "y");
    let values: Vec<f32> = (0..1000).map(|i| i as f32 - 500.0).collect();
    let xf = write_npy(&dir, "x.npy", &Tensor::from_vec(vec![1000], values));
    let out = kiln(&["run", s(&model), "--input", &xf]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    // Relu: 500 zeros, then 1..=499; mean 124750 / 1000.
    assert_eq!(
        stdout.trim_end(),
        "y: f32[1000] (1000 values) min 0, max 499, mean 124.75; first [0, 0, 0, 0, 0, 0, 0, 0, ...]"
    );
}

#[test]
fn top_k_prints_the_best_classes() {
    let dir = scratch("run_top_k");
    let model = relu(&dir, 5, "scores");
    let xf = write_npy(&dir, "x.npy", &Tensor::from_vec(vec![5], vec![0.1f32, 0.9, -1.0, 0.5, 2e-7]));
    let out = kiln(&["run", s(&model), "--input", &xf, "--top-k", "3"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("top 3 of scores: #1 0.9, #3 0.5, #0 0.1"), "{stdout}");
    let out = kiln(&["run", s(&model), "--top-k", "0"]);
    assert_eq!(out.status.code(), Some(2), "--top-k 0 is a usage error");
}

#[test]
fn output_files_are_named_after_the_graph_outputs() {
    let dir = scratch("run_output_names");
    let model = relu(&dir, 3, "/model/Relu_output:0");
    let out_dir = dir.join("out");
    let out = kiln(&["run", s(&model), "--output-dir", s(&out_dir)]);
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let file = out_dir.join("_model_Relu_output_0.npy");
    assert!(stderr.contains(&format!("wrote {} (output '/model/Relu_output:0')", file.display())), "{stderr}");
    assert_eq!(read_tensor(&file).expect("the output file").tensor.shape(), &[3]);
    let entries: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "only the output (no probe file left)");
}

#[test]
fn output_dir_is_checked_before_compiling() {
    let dir = scratch("run_bad_output_dir");
    let model = relu(&dir, 3, "y");
    let blocker = dir.join("a_file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let out = kiln(&["run", s(&model), "--output-dir", s(&blocker.join("out"))]);
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.starts_with("error: --output-dir: cannot create"), "{stderr}");
    assert!(!stderr.contains("note:") && stdout.is_empty(), "nothing compiled or ran: {stderr}{stdout}");
}
