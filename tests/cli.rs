//! The `kiln` binary end to end: run with .npy and .pb inputs, outputs written and read back,
//! specialisation on input shapes and values, random inputs, inspect and bench.

mod common;

use common::*;
use kiln::io::{npy, read_tensor, write_tensor};
use kiln::Tensor;
use std::path::Path;
use std::process::Output;

fn write_npy(dir: &Path, name: &str, t: &Tensor) -> String {
    let path = dir.join(name);
    std::fs::write(&path, npy::encode(t)).expect("write npy");
    s(&path).to_string()
}

/// Runs `kiln run MODEL --input NAME=FILE... --output-dir OUT_DIR`.
fn run_named(model: &Path, inputs: &[(&str, &str)], out_dir: &Path) -> Output {
    let named: Vec<String> = inputs.iter().map(|(name, file)| format!("{name}={file}")).collect();
    let mut args = vec!["run", s(model)];
    for input in &named {
        args.extend(["--input", input.as_str()]);
    }
    args.extend(["--output-dir", s(out_dir)]);
    kiln(&args)
}

fn x_and_y() -> (Tensor, Tensor) {
    let x = Tensor::from_vec(vec![2, 3], vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let y = Tensor::from_vec(vec![2, 3], vec![0.5f32, -1.0, 0.25, 8.0, -5.0, 0.0]);
    (x, y)
}

fn sum(x: &Tensor, y: &Tensor) -> Vec<f32> {
    let (a, b) = (x.as_slice::<f32>().unwrap(), y.as_slice::<f32>().unwrap());
    a.iter().zip(b).map(|(a, b)| a + b).collect()
}

#[test]
fn run_with_npy_inputs_writes_npy_outputs() {
    let dir = scratch("run_npy");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let (x, y) = x_and_y();
    let (xf, yf) = (write_npy(&dir, "x.npy", &x), write_npy(&dir, "y.npy", &y));
    let out_dir = dir.join("out");
    let out = run_named(&model, &[("x", &xf), ("y", &yf)], &out_dir);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("z: f32[2,3] = [1.5, 1, 3.25"), "stdout: {stdout}");
    let z = read_tensor(&out_dir.join("z.npy")).expect("z.npy").tensor;
    assert_eq!(z.shape(), &[2, 3]);
    assert_eq!(z.as_slice::<f32>().unwrap(), sum(&x, &y).as_slice());
}

#[test]
fn run_with_positional_pb_inputs_writes_pb_outputs() {
    let dir = scratch("run_pb");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let (x, y) = x_and_y();
    // Written with onnx_protobuf directly, not through kiln, so reading is checked independently.
    std::fs::write(dir.join("input_0.pb"), f32_pb("x", &[2, 3], x.as_slice().unwrap())).unwrap();
    std::fs::write(dir.join("input_1.pb"), f32_pb("y", &[2, 3], y.as_slice().unwrap())).unwrap();
    let out_dir = dir.join("out");
    let (i0, i1) = (dir.join("input_0.pb"), dir.join("input_1.pb"));
    let out = kiln(&["run", s(&model), "--input", s(&i0), "--input", s(&i1), "--output-dir", s(&out_dir)]);
    assert!(out.status.success(), "stderr: {}", texts(&out).1);
    let z = read_tensor(&out_dir.join("z.pb")).expect("z.pb");
    assert_eq!(z.name.as_deref(), Some("z"));
    assert_eq!(z.tensor.as_slice::<f32>().unwrap(), sum(&x, &y).as_slice());
}

#[test]
fn input_file_shape_fixes_symbolic_dims() {
    let dir = scratch("run_symbolic");
    let model = ModelBuilder::new()
        .input("x", Elem::FLOAT, &["N", "2"])
        .node("Relu", &["x"], &["y"])
        .output("y", Elem::FLOAT, &["N", "2"])
        .write(&dir.join("relu.onnx"));
    let x = Tensor::from_vec(vec![3, 2], vec![-1.0f32, 2.0, -3.0, 4.0, 0.5, -0.5]);
    let xf = write_npy(&dir, "x.npy", &x);
    let out_dir = dir.join("out");
    let out = kiln(&["run", s(&model), "--input", &xf, "--output-dir", s(&out_dir)]);
    assert!(out.status.success(), "stderr: {}", texts(&out).1);
    let y = read_tensor(&out_dir.join("y.npy")).unwrap().tensor;
    assert_eq!(y.shape(), &[3, 2]);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[0.0, 2.0, 0.0, 4.0, 0.5, 0.0]);
}

#[test]
fn shape_input_given_as_file_is_bound_as_a_constant() {
    let dir = scratch("run_needs_value");
    let model = ModelBuilder::new()
        .input("x", Elem::FLOAT, &["2", "3"])
        .input("shape", Elem::INT64, &["2"])
        .node("Reshape", &["x", "shape"], &["y"])
        .output("y", Elem::FLOAT, &["A", "B"])
        .write(&dir.join("reshape.onnx"));
    let (x, _) = x_and_y();
    let xf = write_npy(&dir, "x.npy", &x);
    let shape = write_npy(&dir, "shape.npy", &Tensor::from_vec(vec![2], vec![3i64, 2]));
    let out_dir = dir.join("out");
    let out = run_named(&model, &[("x", &xf), ("shape", &shape)], &out_dir);
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("note: input 'shape' determines a shape; specialising on its value"), "stderr: {stderr}");
    let y = read_tensor(&out_dir.join("y.npy")).unwrap().tensor;
    assert_eq!(y.shape(), &[3, 2]);
    assert_eq!(y.as_slice::<f32>().unwrap(), x.as_slice::<f32>().unwrap());
}

#[test]
fn outputs_are_written_in_graph_output_order() {
    let dir = scratch("run_two_outputs");
    let model = ModelBuilder::new()
        .input("x", Elem::FLOAT, &["3"])
        .node("Neg", &["x"], &["neg"])
        .node("Abs", &["x"], &["abs"])
        .output("neg", Elem::FLOAT, &["3"])
        .output("abs", Elem::FLOAT, &["3"])
        .write(&dir.join("two.onnx"));
    let xf = write_npy(&dir, "x.npy", &Tensor::from_vec(vec![3], vec![1.0f32, -2.0, 3.0]));
    let out_dir = dir.join("out");
    let out = kiln(&["run", s(&model), "--input", &xf, "--output-dir", s(&out_dir)]);
    assert!(out.status.success(), "stderr: {}", texts(&out).1);
    let read = |name: &str| read_tensor(&out_dir.join(format!("{name}.npy"))).unwrap().tensor;
    assert_eq!(read("neg").as_slice::<f32>().unwrap(), &[-1.0, 2.0, -3.0]);
    assert_eq!(read("abs").as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0]);
}

#[test]
fn without_inputs_runs_on_seeded_random_values_and_writes_nothing() {
    let dir = scratch("run_random");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let first = kiln(&["run", s(&model)]);
    let second = kiln(&["run", s(&model)]);
    let (stdout, stderr) = texts(&first);
    assert!(first.status.success(), "stderr: {stderr}");
    assert!(stderr.contains("seeded random f32[2,3]"), "stderr: {stderr}");
    assert!(stdout.starts_with("z: f32[2,3] = ["), "stdout: {stdout}");
    assert_eq!(first.stdout, second.stdout, "random inputs are seeded");
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1, "only the model is in the directory");
}

#[test]
fn written_outputs_match_kiln_io_round_trip() {
    let dir = scratch("io_round_trip");
    let t = Tensor::from_vec(vec![2, 2], vec![1i32, -2, 3, -4]);
    let path = dir.join("t.npy");
    write_tensor(&path, "t", &t).unwrap();
    assert_eq!(read_tensor(&path).unwrap().tensor, t);
}

#[test]
fn inspect_prints_the_ir_and_a_summary() {
    let dir = scratch("inspect");
    let model = ModelBuilder::new()
        .input("a", Elem::FLOAT, &["2", "3"])
        .initializer_f32("b", &[3, 4], &[0.5; 12])
        .node("MatMul", &["a", "b"], &["c"])
        .node("Relu", &["c"], &["d"])
        .output("d", Elem::FLOAT, &["2", "4"])
        .write(&dir.join("mm.onnx"));
    for stage in ["import", "optimized"] {
        let out = kiln(&["inspect", s(&model), "--stage", stage]);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "stderr: {stderr}");
        assert!(stdout.contains("matmul"), "stdout: {stdout}");
        assert!(stdout.contains("relu"), "stdout: {stdout}");
        // 2*2*4*3 = 48 for the matmul, 8 for the relu.
        assert!(stdout.contains("flops:   56 (estimated)"), "stdout: {stdout}");
        assert!(stdout.contains("params:  12 (48 B)"), "stdout: {stdout}");
        assert!(stdout.contains(&format!("# after stage '{stage}' (opt level 2)")), "stdout: {stdout}");
    }
    let out = kiln(&["inspect", s(&model), "--opt-level", "0"]);
    assert!(texts(&out).0.contains("# after stage 'optimized' (opt level 0)"), "{}", texts(&out).1);
}

#[test]
fn bench_json_is_the_last_line() {
    let dir = scratch("bench");
    let model = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let out = kiln(&["bench", s(&model), "--iters", "5", "--warmup", "1", "--json", "--opt-level", "1"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let last = stdout.lines().last().expect("some output");
    let json: serde_json::Value = serde_json::from_str(last).expect("last line is JSON");
    for key in ["compile_ms", "median_ms", "min_ms", "p90_ms", "kernels", "workspace_bytes"] {
        assert!(json[key].is_number(), "{key} in {json}");
    }
    assert_eq!(json["iters"], 5);
    assert_eq!(json["opt_level"], 1);
    assert!(json["min_ms"].as_f64() <= json["median_ms"].as_f64());
    assert!(json["median_ms"].as_f64() <= json["p90_ms"].as_f64());
}

#[test]
fn help_teaches_with_examples() {
    let out = kiln(&["run", "--help"]);
    let (stdout, _) = texts(&out);
    assert!(out.status.success());
    assert!(stdout.contains("Examples:") && stdout.contains("--input x=x.npy"), "{stdout}");
}
