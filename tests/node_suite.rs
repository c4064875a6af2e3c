//! The ONNX backend node tests (onnx 1.23.2, ~1,884 tests) run through the `kiln` binary.
//!
//! Data: `scripts/gen-test-data.sh` -> `target/test-data/node` (or `$KILN_TEST_DATA/node`).
//! Expected passes: `tests/data/node_expected_pass.txt`; `KILN_BLESS=1` rewrites it.
//! Report: `target/test-reports/node_suite.txt`. See `tests/common/suite.rs` for the rules.
//! The suite runs twice, at the default `--opt-level 2` and at 0 (no graph rewrites): the same
//! expected-pass list must hold at both (report `node_suite_opt0.txt`), so the optimizer can
//! neither break a test nor hide a kernel bug behind a rewrite.

#[path = "common/suite.rs"]
mod suite;

use suite::{load_manifest, repo_root, run_suite, NODE_TOLERANCE};

/// Fewer node tests than this means the data is stale or truncated, not a smaller suite.
const MIN_NODE_TESTS: usize = 1800;

#[test]
fn onnx_node_tests() {
    let cases = load_manifest("node", "", NODE_TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cases.len() >= MIN_NODE_TESTS,
        "only {} node tests in the data (expected ~1,884); regenerate with `{} --force`",
        cases.len(),
        suite::GEN_COMMAND
    );
    let expected = repo_root().join("tests/data/node_expected_pass.txt");
    run_suite("node_suite", &cases, &expected);
    let unoptimized: Vec<_> = cases.into_iter().map(|c| suite::Case { opt_level: 0, ..c }).collect();
    if std::env::var("KILN_BLESS").is_ok_and(|v| v == "1") {
        return; // the list is blessed from the default level only
    }
    run_suite("node_suite_opt0", &unoptimized, &expected);
}
