//! The IR text form round-trips on every model of the test data: for each model that imports,
//! `print(parse(print(g))) == print(g)` with every constant written out, and the parsed graph
//! verifies. This is what lets snapshots and hand-written tests be IR text.
//!
//! Models whose import needs a graph input's value (a Reshape shape fed from an input, say) are
//! specialised on the value from their `test_data_set_0`, as `kiln run` does. Models that do not
//! import (unsupported ops) are counted, and the test asserts a floor on how many round-tripped so
//! that a broken import cannot make it pass vacuously.

#[path = "common/suite.rs"]
mod suite;

use kiln_frontend::{FrontendError, ImportOptions, OnnxModel};
use kiln_ir::{parse_graph, print_graph, verify, Graph, Tensor};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Fewest node-test models that must import and round-trip (today about 1,000 import).
const MIN_NODE_MODELS: usize = 600;

/// The graph-input values stored with a test, by name.
fn test_inputs(dir: &Path) -> HashMap<String, Tensor> {
    let mut values = HashMap::new();
    for i in 0.. {
        let Ok(bytes) = std::fs::read(dir.join(format!("test_data_set_0/input_{i}.pb"))) else { break };
        if let Ok((name, tensor)) = kiln_frontend::tensor_from_pb(&bytes) {
            values.insert(name, tensor);
        }
    }
    values
}

/// Imports `model.onnx` of `dir`, binding graph-input values the import asks for.
fn import(dir: &Path) -> Option<Graph> {
    let model = OnnxModel::load(&dir.join("model.onnx")).ok()?;
    let available = test_inputs(dir);
    let mut opts = ImportOptions::default();
    for _ in 0..=available.len() {
        match model.import(&opts) {
            Ok(imported) => return Some(imported.graph),
            Err(FrontendError::NeedsValue { graph_input, .. }) => {
                let value = available.get(&graph_input)?.clone();
                opts.values.insert(graph_input, value);
            }
            Err(_) => return None,
        }
    }
    None
}

/// Asserts the round trip of one graph; `what` names it in failures.
fn assert_round_trip(graph: &Graph, what: &str) {
    let text = print_graph(graph, true);
    let parsed = parse_graph(&text).unwrap_or_else(|e| panic!("{what}: printed IR does not parse: {e}"));
    verify(&parsed).unwrap_or_else(|e| panic!("{what}: parsed IR does not verify: {e}"));
    let again = print_graph(&parsed, true);
    if again != text {
        let line = text.lines().zip(again.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{what}: round trip changed line {}:\n  before: {}\n  after:  {}",
            line + 1,
            text.lines().nth(line).unwrap_or(""),
            again.lines().nth(line).unwrap_or("")
        );
    }
}

/// Test directories (those holding a `model.onnx`) of one data category.
fn model_dirs(category: &str) -> Vec<PathBuf> {
    let root = suite::data_root().join(category);
    let entries = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}; generate it with `{}`", root.display(), suite::GEN_COMMAND));
    let mut dirs: Vec<PathBuf> =
        entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.join("model.onnx").is_file()).collect();
    dirs.sort();
    dirs
}

/// Round-trips every importable model of `category`; returns how many did.
fn round_trip_category(category: &str) -> usize {
    let mut done = 0;
    for dir in model_dirs(category) {
        if let Some(graph) = import(&dir) {
            assert_round_trip(&graph, &format!("{category}/{}", dir.file_name().unwrap().to_string_lossy()));
            done += 1;
        }
    }
    suite::progress(&format!("ir round trip: {category}: {done} models"));
    done
}

#[test]
fn every_light_model_round_trips() {
    assert_eq!(round_trip_category("light"), 9, "all nine light models must import and round-trip");
}

#[test]
fn node_and_model_tests_round_trip() {
    let node = round_trip_category("node");
    assert!(node >= MIN_NODE_MODELS, "only {node} node-test models round-tripped (floor {MIN_NODE_MODELS})");
    for category in ["simple", "pytorch-converted", "pytorch-operator"] {
        assert!(round_trip_category(category) > 0, "{category}: no model round-tripped");
    }
}
