//! Every failure of the `kiln` binary is one clear `error: ...` message and a non-zero exit,
//! never a panic: missing, truncated and random files, unknown ops, wrong inputs, bad flags.

mod common;

use common::*;
use kiln::io::npy;
use kiln::Tensor;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::process::Output;

/// Asserts a clean failure with exit code `code` and returns stderr.
fn fails(out: &Output, code: i32) -> String {
    let (_, stderr) = texts(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "stderr: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "stderr: {stderr}");
    stderr
}

/// Asserts an `error: ` message of at most a few lines (after any `note: ` lines) containing
/// every `needle`.
fn error_says(out: &Output, needles: &[&str]) {
    let all = fails(out, 1);
    let stderr: String = all.lines().skip_while(|l| l.starts_with("note: ")).collect::<Vec<_>>().join("\n");
    assert!(stderr.starts_with("error: "), "stderr: {all}");
    assert!(stderr.lines().count() <= 3, "stderr: {all}");
    for n in needles {
        assert!(stderr.contains(n), "{n:?} not in stderr: {stderr}");
    }
}

#[test]
fn missing_model_file() {
    let dir = scratch("err_missing");
    let path = dir.join("nope.onnx");
    error_says(&kiln(&["run", s(&path)]), &["cannot read", "nope.onnx", "No such file"]);
}

#[test]
fn truncated_model_file() {
    let dir = scratch("err_truncated");
    let bytes = add_model(&["2", "3"]).bytes();
    let path = dir.join("truncated.onnx");
    std::fs::write(&path, &bytes[..bytes.len() - 7]).unwrap();
    error_says(&kiln(&["run", s(&path)]), &["truncated.onnx"]);
}

#[test]
fn random_bytes_as_model() {
    let dir = scratch("err_random");
    let mut rng = StdRng::seed_from_u64(7);
    let bytes: Vec<u8> = (0..4096).map(|_| rng.gen()).collect();
    let path = dir.join("random.onnx");
    std::fs::write(&path, bytes).unwrap();
    for cmd in ["run", "inspect", "bench"] {
        error_says(&kiln(&[cmd, s(&path)]), &["random.onnx"]);
    }
}

#[test]
fn unknown_ops_are_all_listed_at_once() {
    let dir = scratch("err_unknown_ops");
    let model = ModelBuilder::new()
        .input("x", Elem::FLOAT, &["3"])
        .node("FrobnicateA", &["x"], &["a"])
        .node("Relu", &["a"], &["b"])
        .node("FrobnicateB", &["b"], &["c"])
        .output("c", Elem::FLOAT, &["3"])
        .write(&dir.join("unknown.onnx"));
    error_says(&kiln(&["run", s(&model)]), &["FrobnicateA", "FrobnicateB"]);
}

#[test]
fn wrong_input_shape() {
    let dir = scratch("err_shape");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let x = dir.join("x.npy");
    std::fs::write(&x, npy::encode(&Tensor::from_vec(vec![3, 2], vec![0f32; 6]))).unwrap();
    let arg = format!("x={}", s(&x));
    error_says(
        &kiln(&["run", s(&model), "--input", &arg]),
        &["input 'x': the model expects f32[2,3], but ", "x.npy holds f32[3,2]"],
    );
}

#[test]
fn wrong_input_dtype() {
    let dir = scratch("err_dtype");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let x = dir.join("x.npy");
    std::fs::write(&x, npy::encode(&Tensor::from_vec(vec![2, 3], vec![0f64; 6]))).unwrap();
    let arg = format!("x={}", s(&x));
    error_says(
        &kiln(&["run", s(&model), "--input", &arg]),
        &["input 'x': the model expects f32[2,3], but ", "x.npy holds f64[2,3]"],
    );
}

#[test]
fn unknown_input_name() {
    let dir = scratch("err_input_name");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let x = dir.join("x.npy");
    std::fs::write(&x, npy::encode(&Tensor::from_vec(vec![2, 3], vec![0f32; 6]))).unwrap();
    let arg = format!("q={}", s(&x));
    error_says(&kiln(&["run", s(&model), "--input", &arg]), &["unknown input 'q'", "x, y"]);
}

#[test]
fn too_many_input_files() {
    let dir = scratch("err_too_many");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let x = dir.join("x.npy");
    std::fs::write(&x, npy::encode(&Tensor::from_vec(vec![2, 3], vec![0f32; 6]))).unwrap();
    let out = kiln(&["run", s(&model), "--input", s(&x), "--input", s(&x), "--input", s(&x)]);
    error_says(&out, &["3 input files given", "2 input(s)"]);
}

#[test]
fn missing_and_malformed_input_files() {
    let dir = scratch("err_input_files");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let missing = format!("x={}", s(&dir.join("missing.npy")));
    error_says(&kiln(&["run", s(&model), "--input", &missing]), &["cannot read", "missing.npy"]);
    let bad = dir.join("bad.npy");
    std::fs::write(&bad, b"not numpy at all").unwrap();
    let arg = format!("x={}", s(&bad));
    error_says(&kiln(&["run", s(&model), "--input", &arg]), &["bad.npy", "not a .npy file"]);
    let txt = dir.join("x.txt");
    std::fs::write(&txt, b"1 2 3").unwrap();
    let arg = format!("x={}", s(&txt));
    error_says(&kiln(&["run", s(&model), "--input", &arg]), &["x.txt", "expected .npy or .pb"]);
}

#[test]
fn bad_shape_syntax() {
    let dir = scratch("err_shape_syntax");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let out = kiln(&["run", s(&model), "--shape", "x=2,three"]);
    let stderr = fails(&out, 2);
    assert!(stderr.contains("dim 'three' is not a non-negative integer"), "stderr: {stderr}");
    let out = kiln(&["inspect", s(&model), "--shape", "x"]);
    assert!(fails(&out, 2).contains("missing '='"));
}

#[test]
fn bad_opt_level() {
    let out = kiln(&["bench", "m.onnx", "--opt-level", "7"]);
    assert!(fails(&out, 2).contains("--opt-level"));
}
