//! The model tests that ship inside the onnx Python package (`simple`, `pytorch-operator`,
//! `pytorch-converted`): each is imported, evaluated with the IR's reference evaluator
//! (`kiln_ir::eval_graph`) on its stored inputs and compared with its stored outputs. This
//! checks the frontend's semantics (opset rewrites, parameter resolution) end to end.
//!
//! `onnx_model_suite_passing.txt` lists the tests expected to pass (as tract's `node.txt`):
//! a listed test that fails is a regression, and a missing list is an error. Tests not listed
//! are run too and reported, so a newly passing test shows up; `KILN_BLESS_SUITE=1` adds the
//! passing tests to the list. Blessing never drops a test unless it is named, and failed:
//! `KILN_BLESS_REMOVE=simple/test_x,...`; what leaves the list is always printed. (The data
//! is found through the venv's Python: `common::onnx_backend_test_data`.)
mod common;
use kiln_frontend::{tensor_from_pb, FrontendError, ImportOptions, OnnxModel};
use kiln_ir::Tensor;
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    common::onnx_backend_test_data()
}

fn read_pbs(dir: &Path, prefix: &str) -> Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    for i in 0.. {
        let p = dir.join(format!("{prefix}_{i}.pb"));
        if !p.exists() {
            break;
        }
        let bytes = std::fs::read(&p).map_err(|e| e.to_string())?;
        out.push(tensor_from_pb(&bytes).map_err(|e| format!("{}: {e}", p.display()))?.1);
    }
    Ok(out)
}

fn close(got: &Tensor, want: &Tensor) -> Result<(), String> {
    if got.ty() != want.ty() {
        return Err(format!("type {} but expected {}", got.ty(), want.ty()));
    }
    let (g, w) = (got.to_f64_vec(), want.to_f64_vec());
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-4 + 1e-3 * b.abs();
        if !ok {
            return Err(format!("element {i}: {a} but expected {b}"));
        }
    }
    Ok(())
}

/// Imports and evaluates one test directory.
fn run(dir: &Path) -> Result<(), String> {
    let model = OnnxModel::load(&dir.join("model.onnx")).map_err(|e| format!("load: {e}"))?;
    let data = dir.join("test_data_set_0");
    let inputs = read_pbs(&data, "input")?;
    let expected = read_pbs(&data, "output")?;
    let mut opts = ImportOptions::default();
    let names: Vec<String> = model.inputs().into_iter().map(|i| i.name).collect();
    for (info, t) in model.inputs().iter().zip(&inputs) {
        opts.shapes.insert(info.name.clone(), t.shape().to_vec());
    }
    // As `kiln run` does: an input whose value a shape parameter needs is bound and the import
    // retried.
    let graph = loop {
        match model.import(&opts) {
            Ok(imported) => break imported.graph,
            Err(FrontendError::NeedsValue { graph_input, .. }) if !opts.values.contains_key(&graph_input) => {
                let i = names.iter().position(|n| *n == graph_input).ok_or("unknown graph input")?;
                opts.values.insert(graph_input, inputs[i].clone());
            }
            Err(e) => return Err(format!("import: {e}")),
        }
    };
    kiln_ir::verify(&graph).map_err(|e| format!("verify: {e}"))?;
    let runtime: Vec<Tensor> =
        names.iter().zip(&inputs).filter(|(n, _)| !opts.values.contains_key(*n)).map(|(_, t)| t.clone()).collect();
    let got = kiln_ir::eval_graph(&graph, &runtime).map_err(|e| format!("eval: {e}"))?;
    if got.len() != expected.len() {
        return Err(format!("{} outputs, expected {}", got.len(), expected.len()));
    }
    for (i, (g, w)) in got.iter().zip(&expected).enumerate() {
        close(g, w).map_err(|e| format!("output {i}: {e}"))?;
    }
    Ok(())
}

fn all_tests() -> Vec<(String, PathBuf)> {
    let mut tests = Vec::new();
    for category in ["simple", "pytorch-operator", "pytorch-converted"] {
        let dir = data_dir().join(category);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries {
            let path = e.unwrap().path();
            let name = format!("{category}/{}", path.file_name().unwrap().to_string_lossy());
            tests.push((name, path));
        }
    }
    tests.sort();
    tests
}

#[test]
fn onnx_shipped_model_tests() {
    let list_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/onnx_model_suite_passing.txt");
    let listed = std::fs::read_to_string(&list_path)
        .unwrap_or_else(|e| panic!("cannot read the pass list {}: {e}", list_path.display()));
    let listed: Vec<&str> = listed.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let mut passing = Vec::new();
    let mut regressions = Vec::new();
    for (name, dir) in all_tests() {
        match run(&dir) {
            Ok(()) => passing.push(name),
            Err(e) => {
                eprintln!("FAIL {name}: {e}");
                if listed.contains(&name.as_str()) {
                    regressions.push((name, e));
                }
            }
        }
    }
    eprintln!("{} of {} shipped model tests pass", passing.len(), all_tests().len());
    let removed = bless_if_asked(&list_path, &listed, &passing, &regressions);
    let regressions: Vec<String> =
        regressions.iter().filter(|(n, _)| !removed.contains(n)).map(|(n, e)| format!("{n}: {e}")).collect();
    assert!(regressions.is_empty(), "listed tests now fail:\n{}", regressions.join("\n"));
    assert!(listed.len() >= 100, "the list of passing tests has only {} entries", listed.len());
}

/// `KILN_BLESS_SUITE=1` adds `passing` to the list; `KILN_BLESS_REMOVE=a,b` takes the named tests
/// off it when they are among `regressions` (listed, and failed in this run). Prints what was
/// added and what left the list; returns the names that left.
fn bless_if_asked(path: &Path, listed: &[&str], passing: &[String], regressions: &[(String, String)]) -> Vec<String> {
    let add = std::env::var_os("KILN_BLESS_SUITE").is_some();
    let asked = std::env::var("KILN_BLESS_REMOVE").unwrap_or_default();
    let asked: Vec<&str> = asked.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    if !add && asked.is_empty() {
        return Vec::new();
    }
    let mut list: std::collections::BTreeSet<String> = listed.iter().map(|s| s.to_string()).collect();
    let added: Vec<String> =
        if add { passing.iter().filter(|n| !list.contains(*n)).cloned().collect() } else { vec![] };
    list.extend(added.iter().cloned());
    let removed: Vec<String> =
        regressions.iter().map(|(n, _)| n.clone()).filter(|n| asked.contains(&n.as_str())).collect();
    for name in &removed {
        list.remove(name);
    }
    let kept: Vec<&&str> = asked.iter().filter(|n| !removed.iter().any(|r| r == **n)).collect();
    let text = format!("{}\n{}\n", LIST_HEADER, list.into_iter().collect::<Vec<_>>().join("\n"));
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    eprintln!("blessed {}: added {}: {}", path.display(), added.len(), added.join(" "));
    eprintln!("left the list: {}: {}", removed.len(), removed.join(" "));
    if !kept.is_empty() {
        eprintln!("KILN_BLESS_REMOVE: kept (passed, or not on the list): {kept:?}");
    }
    removed
}

/// The first line of the pass list.
const LIST_HEADER: &str =
    "# Passing tests. KILN_BLESS_SUITE=1 adds new passes, KILN_BLESS_REMOVE=name,... removes (see onnx_model_suite.rs).";
