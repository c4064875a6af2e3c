//! A deterministic sample of the ONNX node tests compiled into native objects for both Linux
//! targets (x86-64-v2, and AArch64 under qemu), linked with the C driver and run; every output
//! must equal the JIT's within 1e-5 relative, and every object must have no undefined symbol.
//!
//! The sample is every [`EVERY`]-th test of `tests/data/node_expected_pass.txt` (the tests the
//! JIT passes), so it spreads over all op families and changes only when that list does. The
//! whole list would take too long under qemu for CI; `tests/node_suite.rs` covers it via the JIT.
//! The sample is also compiled for aarch64-apple-darwin and x86_64-pc-windows-msvc, which
//! checks those objects have no undefined symbols (no libcalls) and no writable data.

#[path = "common/native.rs"]
mod native;
#[path = "common/suite.rs"]
mod suite;

use native::{check_on_target, read_inputs, repo_root, require_tools, specialise, Target, TARGETS};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Targets whose objects are compiled (and so checked self-contained) but not run.
const INSPECTED_TRIPLES: [&str; 2] = ["aarch64-apple-darwin", "x86_64-pc-windows-msvc"];
/// Sample every N-th expected-pass test.
const EVERY: usize = 2;
/// Fewer sampled tests than this means the list or the data shrank, not a smaller sample.
const MIN_SAMPLE: usize = 350;

/// The sampled test names, in list order.
fn sample() -> Vec<String> {
    let path = repo_root().join("tests/data/node_expected_pass.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    names.step_by(EVERY).map(str::to_string).collect()
}

/// One node test through the JIT and both targets.
fn check_case(case: &suite::Case, scratch: &std::path::Path) -> Result<(), String> {
    let given = read_inputs(&case.dir, &case.inputs)?;
    let model = kiln::Model::load(case.dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let (model, jit, inputs) = specialise(model, &given, &kiln::Options::default())?;
    let want = jit.run(&inputs).map_err(|e| format!("JIT run: {e}"))?;
    for t in TARGETS {
        let dir = scratch.join(t.triple);
        check_on_target(&model, &inputs, &want, &t, ("node", true), &dir).map_err(|e| format!("{}: {e}", t.triple))?;
        let _ = std::fs::remove_dir_all(&dir);
    }
    // Mach-O and COFF are only compiled: `compile_object` itself refuses undefined symbols and
    // writable data, so success means a self-contained object.
    for triple in INSPECTED_TRIPLES {
        let opts = kiln::NativeOptions { target: Some(triple.into()), ..kiln::NativeOptions::default() };
        model.compile_object(&kiln::Options::default(), &opts).map_err(|e| format!("{triple}: {e}"))?;
    }
    // Kept only when a target failed, for a look at the object, header and driver.
    let _ = std::fs::remove_dir_all(scratch);
    Ok(())
}

#[test]
fn node_test_sample_runs_natively_on_both_targets() {
    TARGETS.iter().for_each(|t: &Target| require_tools(t));
    let manifest = suite::load_manifest("node", "", suite::NODE_TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
    let names = sample();
    let cases: Vec<&suite::Case> = names
        .iter()
        .map(|n| manifest.iter().find(|c| &c.name == n).unwrap_or_else(|| panic!("{n}: not in the node test data")))
        .collect();
    assert!(cases.len() >= MIN_SAMPLE, "only {} sampled node tests", cases.len());
    let scratch = suite::report_root().join("scratch").join("native_nodes");
    let (next, failures) = (AtomicUsize::new(0), Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..suite::WORKERS {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    if let Err(e) = check_case(case, &scratch.join(&case.name)) {
                        failures.lock().unwrap().push(format!("{}: {e}", case.name));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let passed = cases.len() - failures.len();
    for t in TARGETS {
        suite::progress(&format!(
            "native node sample: {passed} of {} tests equal the JIT on {}",
            cases.len(),
            t.triple
        ));
    }
    suite::progress(&format!(
        "native node sample: {passed} of {} compiled for {}",
        cases.len(),
        INSPECTED_TRIPLES.join(", ")
    ));
    assert!(
        failures.is_empty(),
        "{} of {} sampled node tests failed natively:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
