//! The `kiln` binary on a newcomer's shape questions: `inspect --io`, the "dimension not known"
//! error, named symbolic dims shared by inputs and `--dim`, bad and repeated `--shape`, scalar
//! shapes, and the help texts (per-command examples, defaults as values, stop reasons in words).

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// `x: f32[N,3,H]`, `mask: f32[N]` -> `y = x` (Identity), `m = Relu(mask)`.
fn two_inputs_sharing_n(dir: &Path) -> PathBuf {
    ModelBuilder::new()
        .input("x", Elem::FLOAT, &["N", "3", "H"])
        .input("mask", Elem::FLOAT, &["N"])
        .node("Relu", &["x"], &["y"])
        .node("Relu", &["mask"], &["m"])
        .output("y", Elem::FLOAT, &["N", "3", "H"])
        .output("m", Elem::FLOAT, &["N"])
        .write(&dir.join("two.onnx"))
}

#[test]
fn inspect_io_prints_the_signatures_with_symbolic_dims() {
    let dir = scratch("inspect_io");
    let model = two_inputs_sharing_n(&dir);
    let out = kiln(&["inspect", s(&model), "--io"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert_eq!(
        stdout,
        "inputs:\n  x: f32[N,3,H]\n  mask: f32[N]\noutputs:\n  y: f32[N,3,H]\n  m: f32[N]\n\
         symbolic dims: H, N (set with --dim NAME=SIZE or --shape INPUT=DIMS)\n"
    );
    let out = kiln(&["inspect", s(&model), "--io", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["inputs"][0]["name"], "x");
    assert_eq!(json["inputs"][0]["dims"], serde_json::json!(["N", 3, "H"]));
    assert_eq!(json["outputs"][1]["dtype"], "f32");
}

#[test]
fn an_unknown_dim_prints_the_signature_and_the_shape_line() {
    let dir = scratch("unknown_dim");
    let model = two_inputs_sharing_n(&dir);
    let out = kiln(&["run", s(&model)]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("error: input 'x': dimension H (axis 2) is not known"), "{stderr}");
    assert!(stderr.contains("inputs: x: f32[N,3,H], mask: f32[N]\n  outputs: y: f32[N,3,H], m: f32[N]"), "{stderr}");
    assert!(stderr.contains("--shape x=1,3,H (with H replaced by sizes), or --dim H=SIZE"), "{stderr}");
}

#[test]
fn a_named_dim_fixed_once_is_fixed_for_every_input() {
    let dir = scratch("shared_dims");
    let model = two_inputs_sharing_n(&dir);
    // Through x's --shape: mask gets N = 2 as well.
    let out = kiln(&["run", s(&model), "--shape", "x=2,3,4"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("seeded random f32[2]"), "mask is f32[2]: {stderr}");
    assert!(stdout.contains("m: f32[2] = ["), "{stdout}");
    // By name.
    let out = kiln(&["run", s(&model), "--dim", "N=3", "--dim", "H=5"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("y: f32[3,3,5]") && stdout.contains("m: f32[3]"), "{stdout}");
    // The axis-0 default (N = 1) also reaches mask, with one note.
    let out = kiln(&["run", s(&model), "--dim", "H=2"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("note: symbolic dim 'N' (axis 0 of input 'x') set to 1; use --dim N=..."), "{stderr}");
    assert!(stdout.contains("m: f32[1]"), "{stdout}");
}

#[test]
fn conflicting_and_unknown_dim_names_are_errors() {
    let dir = scratch("dim_errors");
    let model = two_inputs_sharing_n(&dir);
    let out = kiln(&["run", s(&model), "--shape", "x=2,3,4", "--shape", "mask=3"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("symbolic dim 'N' is 3 by axis 0 of input 'mask' but 2 by axis 0 of input 'x'"),
        "{stderr}"
    );
    let out = kiln(&["run", s(&model), "--dim", "batch=2"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no input has a symbolic dim 'batch' (the model's symbolic dims: H, N)"), "{stderr}");
    let out = kiln(&["run", s(&model), "--dim", "N=2", "--dim", "N=3"]);
    assert!(texts(&out).1.contains("--dim is given twice for 'N' (2 and 3)"), "{}", texts(&out).1);
}

#[test]
fn bad_dims_are_quoted_and_a_repeated_shape_is_an_error() {
    let dir = scratch("bad_shapes");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    for (arg, want) in
        [("x=1,x,3", "dim 'x' is not a non-negative integer"), ("x=2x3", "dim '2x3'"), ("x=2,,3", "empty dim")]
    {
        let out = kiln(&["run", s(&model), "--shape", arg]);
        let (_, stderr) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{arg}: {stderr}");
        assert!(stderr.contains(want) && stderr.contains("separated by commas"), "{arg}: {stderr}");
    }
    let out = kiln(&["run", s(&model), "--shape", "x=2,3", "--shape", "x=2,3"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--shape is given twice for input 'x' (x=2,3 and x=2,3); give it once"), "{stderr}");
}

#[test]
fn a_scalar_shape_is_written_with_no_dims() {
    let dir = scratch("scalar_shape");
    // `sr` is a scalar (rank 0), whose shape `--shape sr=` writes.
    let mut model = ModelBuilder::new().input("x", Elem::FLOAT, &["3"]).input("sr", Elem::FLOAT, &[]);
    model = model.node("Mul", &["x", "sr"], &["y"]).output("y", Elem::FLOAT, &["3"]);
    let path = model.write(&dir.join("scale.onnx"));
    let out = kiln(&["run", s(&path), "--shape", "sr="]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("seeded random f32[]"), "{stderr}");
    assert!(stdout.contains("y: f32[3] = ["), "{stdout}");
}

#[test]
fn each_command_has_its_own_help_examples_and_defaults_are_values() {
    for (cmd, example) in [
        ("run", "--top-k 5"),
        ("inspect", "--io"),
        ("compile", "--cpu x86-64-v3"),
        ("bench", "--profile"),
        ("calibrate", "--runs 5"),
    ] {
        let out = kiln(&[cmd, "--help"]);
        let (stdout, _) = texts(&out);
        assert!(out.status.success(), "{cmd}");
        let examples = stdout.split("Examples:").nth(1).unwrap_or_else(|| panic!("{cmd}: no examples\n{stdout}"));
        assert!(examples.contains(&format!("kiln {cmd} ")) && examples.contains(example), "{cmd}: {examples}");
        assert!(!stdout.contains("see `kiln inspect`") && !stdout.contains("see kiln inspect"), "{cmd}: {stdout}");
    }
    let out = kiln(&["run", "--help"]);
    let (stdout, _) = texts(&out);
    for default in ["[default: 20000]", "[default: 12]", "[default: 10000]", "[default: 2]"] {
        assert!(stdout.contains(default), "{default}: {stdout}");
    }
}

#[test]
fn the_optimizer_stop_reason_is_in_words() {
    let dir = scratch("stop_reason");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let out = kiln(&["inspect", s(&model), "--egraph-iter-limit", "1"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let line = stdout.lines().find(|l| l.starts_with("# optimizer:")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.contains("stopped: saturated (no rule rewrites anything more)")
            || line.contains("stopped: iteration limit reached (1 iterations; --egraph-iter-limit)"),
        "{line}"
    );
    let out = kiln(&["inspect", s(&model), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["stage"], "optimized");
    assert_eq!(json["flops"], 6);
    assert!(json["optimizer"]["stop_reason_text"].is_string(), "{json}");
}
