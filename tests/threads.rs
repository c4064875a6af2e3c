//! Threads in the JIT (`Options::threads`): outputs are the same bits at 1, 2, 3 and 4 threads
//! on the benchmark models and a sample of the ONNX node tests, and one `CompiledModel` called
//! from eight threads at once gives each caller its own correct result.
//!
//! Why bit equality and not a tolerance: kernels are cut into parts over rows of their outputs
//! (`kiln_backend::mk::split`) and no reduction is split, so any difference is a bug (a part
//! reading or writing the wrong rows, scratch shared between parts), never rounding. At one
//! thread nothing is cut, so 1 against N also checks every part against the whole kernel, which
//! the backend tests check against the reference evaluator. The models are where the kernels
//! are large enough to be cut (ResNet-18's convolutions, MobileNetV2's depthwise and pointwise
//! convolutions, Winograd transforms, pooling); the node sample covers the small kernels, which
//! stay whole, and the entry's inline path.
//!
//! Data: `scripts/gen-test-data.sh`; missing data fails with that command, never a skip.

#[path = "common/native.rs"]
mod native;
#[path = "common/suite.rs"]
mod suite;

use kiln::{CompiledModel, Model, Options, Tensor};
use std::path::PathBuf;

const THREADS: [usize; 4] = [1, 2, 3, 4];
const BENCH_MODELS: [&str; 7] =
    ["mobilenetv2", "resnet18", "efficientnet_b0", "yolov8n", "squeezenet1_1", "shufflenet_v2_x1_0", "densenet_style"];
/// Every N-th test of the node-test list the JIT passes.
const NODE_EVERY: usize = 8;

fn bench_dir(name: &str) -> PathBuf {
    let dir = suite::data_root().join("bench").join(name);
    let model = dir.join("model.onnx");
    assert!(model.is_file(), "test data missing: {}; generate it with `{}`", model.display(), suite::GEN_COMMAND);
    dir
}

fn options(threads: usize) -> Options {
    Options { threads, ..Options::default() }
}

fn compile(model: &Model, threads: usize, what: &str) -> CompiledModel {
    model.compile(&options(threads)).unwrap_or_else(|e| panic!("{what} at {threads} threads: compile: {e}"))
}

fn input_of(dir: &std::path::Path) -> Tensor {
    let path = dir.join("input.npy");
    kiln::io::read_tensor(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).tensor
}

/// The first output index whose bytes differ, if any.
fn first_difference(a: &[Tensor], b: &[Tensor]) -> Option<usize> {
    (a.len() != b.len()).then_some(0).or_else(|| a.iter().zip(b).position(|(x, y)| x.to_le_bytes() != y.to_le_bytes()))
}

#[test]
fn bench_models_give_the_same_bits_at_1_to_4_threads() {
    for name in BENCH_MODELS {
        let dir = bench_dir(name);
        let model = Model::load(dir.join("model.onnx")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = input_of(&dir);
        let mut reference: Option<Vec<Tensor>> = None;
        for threads in THREADS {
            let compiled = compile(&model, threads, name);
            let stats = compiled.stats();
            assert_eq!(stats.threads, threads, "{name}");
            if threads > 1 {
                assert!(stats.split_kernels > 0, "{name}: no kernel was cut into parts at {threads} threads");
            }
            let out = compiled.run(std::slice::from_ref(&input)).unwrap_or_else(|e| panic!("{name}: run: {e}"));
            match &reference {
                None => reference = Some(out),
                Some(want) => {
                    if let Some(i) = first_difference(want, &out) {
                        panic!("{name}: output {i} differs between 1 and {threads} threads");
                    }
                }
            }
            suite::progress(&format!("{name}: {threads} threads, {} kernels cut", stats.split_kernels));
        }
    }
}

#[test]
fn node_test_sample_gives_the_same_bits_at_1_to_4_threads() {
    let path = suite::repo_root().join("tests/data/node_expected_pass.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let names: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let wanted: std::collections::BTreeSet<&str> = names.iter().step_by(NODE_EVERY).copied().collect();
    let manifest = suite::load_manifest("node", "", suite::NODE_TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
    let cases: Vec<&suite::Case> = manifest.iter().filter(|c| wanted.contains(c.name.as_str())).collect();
    assert!(cases.len() >= 150, "only {} sampled node tests found (of {})", cases.len(), wanted.len());
    for case in cases {
        let given = native::read_inputs(&case.dir, &case.inputs).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let model = Model::load(case.dir.join("model.onnx")).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let mut reference: Option<Vec<Tensor>> = None;
        for threads in THREADS {
            let (_, jit, inputs) = native::specialise(model.clone(), &given, &options(threads))
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            let out = jit.run(&inputs).unwrap_or_else(|e| panic!("{}: run at {threads} threads: {e}", case.name));
            match &reference {
                None => reference = Some(out),
                Some(want) => {
                    if let Some(i) = first_difference(want, &out) {
                        panic!("{}: output {i} differs between 1 and {threads} threads", case.name);
                    }
                }
            }
        }
    }
}

#[test]
fn eight_callers_share_one_threaded_model() {
    let dir = bench_dir("mobilenetv2");
    let model = Model::load(dir.join("model.onnx")).unwrap_or_else(|e| panic!("{e}"));
    let compiled = compile(&model, 2, "mobilenetv2");
    let base = input_of(&dir);
    let inputs: Vec<Tensor> = (0..8)
        .map(|i| {
            let scaled: Vec<f32> =
                base.as_slice::<f32>().expect("f32 input").iter().map(|x| x * (1.0 + i as f32 * 0.1)).collect();
            Tensor::from_vec(base.shape().to_vec(), scaled)
        })
        .collect();
    // Each input alone first, then all at once from eight threads, three times over.
    let alone: Vec<Vec<Tensor>> = inputs.iter().map(|x| compiled.run(std::slice::from_ref(x)).expect("run")).collect();
    assert!(first_difference(&alone[0], &alone[1]).is_some(), "different inputs must give different outputs");
    let together: Vec<Vec<Vec<Tensor>>> = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|x| {
                let compiled = &compiled;
                s.spawn(move || (0..3).map(|_| compiled.run(std::slice::from_ref(x)).expect("run")).collect())
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a caller panicked")).collect()
    });
    for (i, runs) in together.iter().enumerate() {
        for (r, out) in runs.iter().enumerate() {
            assert_eq!(first_difference(&alone[i], out), None, "caller {i}, run {r}");
        }
    }
}
