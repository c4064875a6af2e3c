//! The node tests of the data-dependent ops (NonZero, Unique, NonMaxSuppression) compiled into
//! native objects for both Linux targets, linked with the C driver and run: the object writes
//! bounded outputs at their bound plus the length outputs (`kiln_ir::dynamic`), and after
//! `CompiledObject::trim_outputs` every output must equal the JIT's.

#[path = "common/native.rs"]
mod native;
#[path = "common/suite.rs"]
mod suite;

use native::{check_on_target, read_inputs, require_tools, specialise, Target, TARGETS};

/// Test-name prefixes of the data-dependent ops.
const PREFIXES: [&str; 3] = ["test_nonzero_", "test_unique_", "test_nonmaxsuppression_"];

fn check_case(case: &suite::Case, scratch: &std::path::Path) -> Result<(), String> {
    let given = read_inputs(&case.dir, &case.inputs)?;
    let model = kiln::Model::load(case.dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let (model, jit, inputs) = specialise(model, &given, &kiln::Options::default())?;
    let want = jit.run(&inputs).map_err(|e| format!("JIT run: {e}"))?;
    for t in TARGETS {
        let dir = scratch.join(t.triple);
        check_on_target(&model, &inputs, &want, &t, ("node", false), &dir).map_err(|e| format!("{}: {e}", t.triple))?;
    }
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

#[test]
fn data_dependent_node_tests_run_natively_on_both_targets() {
    TARGETS.iter().for_each(|t: &Target| require_tools(t));
    let manifest = suite::load_manifest("node", "", suite::NODE_TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
    let cases: Vec<&suite::Case> = manifest.iter().filter(|c| PREFIXES.iter().any(|p| c.name.starts_with(p))).collect();
    assert_eq!(cases.len(), 18, "NonZero, Unique and NonMaxSuppression node tests in the data");
    let scratch = suite::report_root().join("scratch").join("native_dynamic");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check_case(c, &scratch.join(&c.name)).err().map(|e| format!("{}: {e}", c.name)))
        .collect();
    assert!(failures.is_empty(), "{} failed natively:\n{}", failures.len(), failures.join("\n"));
}
