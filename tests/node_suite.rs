//! The ONNX backend node tests (onnx 1.23.2, ~1,884 tests) run through the `kiln` binary.
//!
//! Data: `scripts/gen-test-data.sh` -> `target/test-data/node` (or `$KILN_TEST_DATA/node`).
//! Expected passes: `tests/data/node_expected_pass.txt`; `KILN_BLESS=1` adds new passes to it.
//! Report: `target/test-reports/node_suite.txt`. See `tests/common/suite.rs` for the rules.
//! The suite runs twice, at the default `--opt-level 2` and at 0 (`run_suite_at_both_levels`): the same
//! expected-pass list must hold at both (report `node_suite_opt0.txt`), so the optimizer can
//! neither break a test nor hide a kernel bug behind a rewrite.

#[path = "common/suite.rs"]
mod suite;

use suite::{load_manifest, repo_root, run_suite_at_both_levels, NODE_TOLERANCE};

/// Fewer node tests than this means the data is stale or truncated, not a smaller suite.
const MIN_NODE_TESTS: usize = 1800;

#[test]
fn onnx_node_tests() {
    let cases = load_manifest("node", "", NODE_TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
    let filtered = std::env::var("KILN_SUITE_FILTER").is_ok_and(|v| !v.trim().is_empty());
    assert!(
        filtered || cases.len() >= MIN_NODE_TESTS,
        "only {} node tests in the data (expected ~1,884); regenerate with `{} --force`",
        cases.len(),
        suite::GEN_COMMAND
    );
    run_suite_at_both_levels("node_suite", cases, &repo_root().join("tests/data/node_expected_pass.txt"));
}
