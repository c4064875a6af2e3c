//! The benchmark models (MobileNetV2, ResNet-18, EfficientNet-B0, YOLOv8n, SqueezeNet 1.1,
//! ShuffleNetV2 1.0x and a DenseNet-121-style concat network, made by `scripts/gen_bench_models.py` with seeded weights) compiled through the library API at
//! `--opt-level 0` and at the default level, each compared element-wise with onnxruntime's output
//! (graph optimisations disabled, one thread) within |d| <= 1e-5 + 1e-3 |e|.
//!
//! Why both levels: `scripts/bench_opt.sh` measures the optimizer's speed-up between them, and a
//! speed-up only counts when the optimized graph computes the same thing. Why the library and not
//! the CLI: no process or file round trip, so the seven models stay within a few seconds in CI.
//! The import-stage op census is asserted too, so the data really is the architecture it claims
//! (a stale or truncated model would otherwise still "pass").
//!
//! Units: the tolerance's absolute term suits O(1) values (logits, probabilities). YOLOv8n's first
//! four output rows are box coordinates in pixels (0..320), and a box centre near the image edge
//! is the difference of terms of ~100 px, so its f32 rounding is ~1e-4 px; those rows are compared
//! in units of the image size (divided by 320, exactly, on both sides), the unit its boxes are
//! usually normalised to. The classifier generators keep logits off zero for the same reason.
//!
//! Data: `scripts/gen-test-data.sh` -> `target/test-data/bench/<model>/{model.onnx,input.npy,
//! output_0.npy}`; missing data fails with that command, never a silent skip.

#[path = "common/suite.rs"]
mod suite;

use kiln::{CompiledModel, Model, Options, Stage, Tensor};
use std::path::PathBuf;
use suite::{compare, data_root, load_manifest, progress, Tolerance, GEN_COMMAND};

/// |actual - expected| <= 1e-5 + 1e-3 |expected|, the tolerance the optimizer's acceptance names.
const TOLERANCE: Tolerance = Tolerance { rtol: 1e-3, atol: 1e-5 };
/// The models of the `bench` category, in the generator's order.
const MODELS: [&str; 7] =
    ["mobilenetv2", "resnet18", "efficientnet_b0", "yolov8n", "squeezenet1_1", "shufflenet_v2_x1_0", "densenet_style"];

/// One model's files, checked to exist (with the generating command otherwise).
struct BenchCase {
    dir: PathBuf,
}

impl BenchCase {
    fn open(name: &str) -> BenchCase {
        let dir = data_root().join("bench").join(name);
        for file in ["model.onnx", "input.npy", "output_0.npy"] {
            let path = dir.join(file);
            assert!(path.is_file(), "test data missing: {}; generate it with `{GEN_COMMAND}`", path.display());
        }
        BenchCase { dir }
    }

    fn tensor(&self, file: &str) -> Tensor {
        let path = self.dir.join(file);
        kiln::io::read_tensor(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).tensor
    }

    fn model(&self) -> Model {
        let path = self.dir.join("model.onnx");
        Model::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// YOLOv8n's box rows (cx, cy, w, h of output [1, 84, A]) in units of the image size, in both the
/// expected and the actual output; other models' outputs are returned unchanged.
fn in_natural_units(name: &str, t: &Tensor) -> Tensor {
    const IMAGE_SIZE: f32 = 320.0;
    const BOX_ROWS: usize = 4;
    if name != "yolov8n" || t.shape().len() != 3 {
        return t.clone();
    }
    let Some(values) = t.as_slice::<f32>() else { return t.clone() };
    let anchors = t.shape()[2];
    let scaled = values
        .iter()
        .enumerate()
        .map(|(i, &v)| if (i / anchors) % t.shape()[1] < BOX_ROWS { v / IMAGE_SIZE } else { v })
        .collect();
    Tensor::from_vec(t.shape().to_vec(), scaled)
}

/// Import-stage counts of conv and gemm nodes (the generator's architecture, see its census).
fn conv_gemm_counts(compiled: &CompiledModel) -> (usize, usize) {
    let graph = compiled.ir(Stage::Import).expect("the import stage is always kept");
    let counts = kiln::summary::summarize(graph).op_counts;
    (counts.get("conv").copied().unwrap_or(0), counts.get("gemm").copied().unwrap_or(0))
}

/// Compiles `name` at opt level 0 and at the default, runs both on the seeded input and compares
/// each with onnxruntime; also checks the model's conv and gemm counts.
fn check_model(name: &str, convs: usize, gemms: usize) {
    let case = BenchCase::open(name);
    let model = case.model();
    let input = case.tensor("input.npy");
    let expected = case.tensor("output_0.npy");
    for (label, opts) in [("opt-level 0", Options::with_opt_level(0)), ("default opt-level", Options::default())] {
        let compiled = model.compile(&opts).unwrap_or_else(|e| panic!("{name} ({label}): compile: {e}"));
        assert_eq!(conv_gemm_counts(&compiled), (convs, gemms), "{name}: (conv, gemm) nodes at import");
        let outputs =
            compiled.run(std::slice::from_ref(&input)).unwrap_or_else(|e| panic!("{name} ({label}): run: {e}"));
        assert_eq!(outputs.len(), 1, "{name} ({label}): number of outputs");
        compare(&in_natural_units(name, &expected), &in_natural_units(name, &outputs[0]), TOLERANCE)
            .unwrap_or_else(|e| panic!("{name} ({label}) vs onnxruntime: {e}"));
        let stats = compiled.stats();
        progress(&format!("bench_models: {name} ({label}) matches onnxruntime; {} distinct kernels", stats.kernels));
    }
}

#[test]
fn manifest_lists_the_seven_models() {
    let cases = load_manifest("bench", "", TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
    let mut names: Vec<String> = cases.into_iter().map(|c| c.name).collect();
    names.sort();
    let mut want: Vec<String> = MODELS.iter().map(|m| m.to_string()).collect();
    want.sort();
    assert_eq!(names, want, "bench manifest; regenerate with `{GEN_COMMAND} --force`");
}

#[test]
fn mobilenetv2_matches_onnxruntime_at_opt_0_and_default() {
    check_model("mobilenetv2", 52, 1);
}

#[test]
fn resnet18_matches_onnxruntime_at_opt_0_and_default() {
    check_model("resnet18", 20, 1);
}

#[test]
fn efficientnet_b0_matches_onnxruntime_at_opt_0_and_default() {
    check_model("efficientnet_b0", 81, 1);
}

#[test]
fn yolov8n_matches_onnxruntime_at_opt_0_and_default() {
    check_model("yolov8n", 64, 0);
}

#[test]
fn yolo_box_rows_are_compared_in_image_units() {
    let values = vec![320.0f32, 640.0, 32.0, 16.0, 0.0, -320.0, 160.0, 1.0, 0.5, 0.25, 7.0, 8.0];
    let t = Tensor::from_vec(vec![1, 6, 2], values.clone());
    let scaled = in_natural_units("yolov8n", &t);
    let want = [1.0f32, 2.0, 0.1, 0.05, 0.0, -1.0, 0.5, 1.0 / 320.0, 0.5, 0.25, 7.0, 8.0];
    assert_eq!(scaled.as_slice::<f32>(), Some(&want[..]), "rows 0..4 divided by 320, the rest unchanged");
    assert_eq!(in_natural_units("resnet18", &t).as_slice::<f32>(), Some(&values[..]));
}

#[test]
fn squeezenet1_1_matches_onnxruntime_at_opt_0_and_default() {
    check_model("squeezenet1_1", 26, 0);
}

#[test]
fn shufflenet_v2_x1_0_matches_onnxruntime_at_opt_0_and_default() {
    check_model("shufflenet_v2_x1_0", 56, 1);
}

#[test]
fn densenet_style_matches_onnxruntime_at_opt_0_and_default() {
    check_model("densenet_style", 48, 1);
}
