//! `kiln bench --profile` (a kernel table without perf) and the perf map's kernel names, which
//! keep the ONNX node a kernel comes from even after the optimizer renamed it.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// `Relu(x @ w + b)` then `Sigmoid` of that: the optimizer fuses the first three into one
/// node, which it names `opt.<op>.<n>`.
fn mlp(dir: &Path) -> PathBuf {
    ModelBuilder::new()
        .input("x", Elem::FLOAT, &["4", "8"])
        .initializer_f32("w", &[8, 16], &[0.25; 128])
        .initializer_f32("b", &[16], &[0.5; 16])
        .node("MatMul", &["x", "w"], &["xw"])
        .node("Add", &["xw", "b"], &["h"])
        .node("Relu", &["h"], &["r"])
        .node("Sigmoid", &["r"], &["y"])
        .output("y", Elem::FLOAT, &["4", "16"])
        .write(&dir.join("mlp.onnx"))
}

#[test]
fn bench_profile_prints_a_kernel_table() {
    let dir = scratch("bench_profile");
    let model = mlp(&dir);
    let out = kiln(&["bench", s(&model), "--iters", "7", "--warmup", "1", "--profile", "--opt-level", "0"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("profile over 7 runs"), "{stdout}");
    let table: Vec<&str> = stdout.lines().skip_while(|l| !l.starts_with("kernel ")).collect();
    let header: Vec<&str> = table.first().map(|h| h.split_whitespace().collect()).unwrap_or_default();
    assert_eq!(header, ["kernel", "first", "ONNX", "node", "calls", "total", "ms", "share", "GFLOP/s"], "{stdout}");
    // Opt level 0: one kernel per ONNX node, each called once per run.
    let rows = &table[1..];
    assert_eq!(rows.len(), 4, "{stdout}");
    let mut share = 0.0;
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols.len(), 7, "{row}");
        assert_eq!(cols[3], "7", "calls: {row}");
        share += cols[5].trim_end_matches('%').parse::<f64>().expect("share");
    }
    assert!((share - 100.0).abs() < 0.5, "shares add up to 100%: {share}\n{stdout}");
    let matmul = rows.iter().find(|r| r.contains(" matmul ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(matmul.split_whitespace().nth(2).is_some_and(|n| n.starts_with("MatMul")), "ONNX node name: {matmul}");
    let gflops = matmul.split_whitespace().last().unwrap();
    assert!(gflops.parse::<f64>().is_ok_and(|g| g > 0.0), "matmul GFLOP/s: {matmul}");
}

#[test]
fn perf_map_names_keep_the_onnx_node_name() {
    // The bundled example: at opt level 2 its convs become channels-last fused convs, which the
    // optimizer names `opt.fused_conv_nhwc.<n>`.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mobilenet_tiny.onnx");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["bench", s(&example), "--iters", "1", "--warmup", "0"])
        .env("KILN_PERF_MAP", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run kiln");
    let pid = child.id();
    let out = child.wait_with_output().expect("kiln exits");
    assert!(out.status.success());
    let path = format!("/tmp/perf-{pid}.map");
    let map = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let _ = std::fs::remove_file(&path);
    let kernels: Vec<&str> =
        map.lines().filter_map(|l| l.split_whitespace().nth(2)).filter(|n| n.starts_with("kiln_k")).collect();
    assert!(kernels.len() > 10, "{map}");
    for name in &kernels {
        let (kernel, node) = name.split_once(':').unwrap_or_else(|| panic!("{name}: no node\n{map}"));
        // Only the layout pass's reorders have no ONNX node of their own.
        if !kernel.ends_with("_transpose") {
            assert!(!node.starts_with("opt."), "{name}: the optimizer's name, not the ONNX node's\n{map}");
        }
    }
    assert!(kernels.iter().any(|k| k.contains("conv") && k.ends_with(":conv_2_node")), "the first conv: {map}");
}
