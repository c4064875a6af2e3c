//! The nine `light_*` models onnx ships compiled into native objects for both Linux targets
//! (x86-64-v2, and AArch64 under qemu), linked with the C driver and run on their test inputs;
//! every output must equal the JIT's within 1e-5 relative, and no object may have an undefined
//! symbol. Object, code, weight and workspace sizes are printed per model and target.
//!
//! Data: `scripts/gen-test-data.sh` -> `target/test-data/light`.

#[path = "common/native.rs"]
mod native;
#[path = "common/suite.rs"]
mod suite;

use native::{check_on_target, read_inputs, require_tools, specialise, TARGETS};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The light models in onnx 1.23.2.
const LIGHT_MODELS: usize = 9;

/// One model through the JIT and both targets; returns a size line per target.
fn check_model(case: &suite::Case, scratch: &std::path::Path) -> Result<Vec<String>, String> {
    let given = read_inputs(&case.dir, &case.inputs)?;
    let model = kiln::Model::load(case.dir.join("model.onnx")).map_err(|e| e.to_string())?;
    let (model, jit, inputs) = specialise(model, &given, &kiln::Options::default())?;
    let want = jit.run(&inputs).map_err(|e| format!("JIT run: {e}"))?;
    drop(jit);
    let mut lines = Vec::new();
    for t in TARGETS {
        let dir = scratch.join(t.triple);
        let obj =
            check_on_target(&model, &inputs, &want, &t, "model", &dir).map_err(|e| format!("{}: {e}", t.triple))?;
        let s = &obj.stats;
        lines.push(format!(
            "native {} {}: object {} B, code {} B, weights {} B, workspace {} B",
            case.name, t.triple, s.object_bytes, s.code_bytes, s.weight_bytes, s.workspace_bytes
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(lines)
}

#[test]
fn light_models_run_natively_on_both_targets() {
    TARGETS.iter().for_each(require_tools);
    let cases = suite::load_manifest("light", "light/", suite::NODE_TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        cases.len(),
        LIGHT_MODELS,
        "light model count changed; regenerate with `{} --force`",
        suite::GEN_COMMAND
    );
    let scratch = suite::report_root().join("scratch").join("native_models");
    let (next, failures) = (AtomicUsize::new(0), Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..suite::WORKERS {
            s.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let started = std::time::Instant::now();
                    match check_model(case, &scratch.join(case.name.replace('/', "__"))) {
                        Ok(lines) => lines
                            .iter()
                            .for_each(|l| native::progress(&format!("{l} ({:.1}s)", started.elapsed().as_secs_f64()))),
                        Err(e) => failures.lock().unwrap().push(format!("{}: {e}", case.name)),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {LIGHT_MODELS} light models failed natively:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
