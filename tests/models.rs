//! Whole-model tests through the `kiln` binary: the nine `light_*` models onnx ships (seeded
//! inputs, onnxruntime reference outputs) and the `simple`, `pytorch-converted` and
//! `pytorch-operator` model tests with their shipped data, and `light-random`: the light models
//! with seeded random weights (`scripts/gen_light_random.py`), whose outputs are not near-constant.
//!
//! Data: `scripts/gen-test-data.sh` -> `target/test-data/{light,simple,...}`.
//! Expected passes: `tests/data/models_expected_pass.txt` (names `category/test`);
//! `KILN_BLESS=1` adds new passes to it. Report: `target/test-reports/models.txt`.

#[path = "common/suite.rs"]
mod suite;

use suite::{load_manifest, repo_root, run_suite_at_both_levels, Case, Tolerance, NODE_TOLERANCE};

/// The light models are compared with onnxruntime within 1e-3 relative; the absolute term only
/// absorbs values that should be zero.
const LIGHT_TOLERANCE: Tolerance = Tolerance { rtol: 1e-3, atol: 1e-6 };
/// The random-weight light models compare both the softmax and the logits (std about 3) with
/// onnxruntime run without graph optimizations. rtol 1e-3 leaves room for f32 summation-order
/// differences over 50-120 layers (fan-ins up to 9216) yet catches any wrong kernel, which moves
/// outputs by far more; atol 1e-5 only absorbs logits that cross zero and tail probabilities
/// (the smallest are ~1e-10: a wrong kernel reorders the large ones, which the rtol term checks).
const LIGHT_RANDOM_TOLERANCE: Tolerance = Tolerance { rtol: 1e-3, atol: 1e-5 };
/// (category, expected number of tests in onnx 1.23.2, tolerance). light-random has 8: vgg19 is
/// left out (see `EXCLUDED` in scripts/gen_light_random.py).
const CATEGORIES: [(&str, usize, Tolerance); 5] = [
    ("light", 9, LIGHT_TOLERANCE),
    ("light-random", 9, LIGHT_RANDOM_TOLERANCE),
    ("simple", 23, NODE_TOLERANCE),
    ("pytorch-converted", 82, NODE_TOLERANCE),
    ("pytorch-operator", 35, NODE_TOLERANCE),
];

#[test]
fn onnx_model_tests() {
    let mut cases: Vec<Case> = Vec::new();
    for (category, expected_count, tolerance) in CATEGORIES {
        let found = load_manifest(category, &format!("{category}/"), tolerance).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            found.len(),
            expected_count,
            "{category}: test count changed; regenerate with `{} --force`",
            suite::GEN_COMMAND
        );
        // Pass counts are printed per category: these are whole models, not single ops.
        cases.extend(found.into_iter().map(|case| Case { op: category.to_string(), ..case }));
    }
    run_suite_at_both_levels("models", cases, &repo_root().join("tests/data/models_expected_pass.txt"));
}
