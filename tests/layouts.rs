//! Layouts are chosen, not fixed: the MobileNetV2- and ResNet-18-style benchmark models,
//! optimized for a target with AVX-512, AVX2 or NEON micro-kernels, run every convolution in
//! NHWC with one reorder, at the graph's input; without micro-kernels every conv stays NCHW.
//! (`kiln::layouts` is what `kiln inspect` prints as its `layouts:` line.)

#[path = "common/suite.rs"]
mod suite;

use kiln::{Model, Options, Stage};
use suite::data_root;

fn model(name: &str) -> Model {
    let path = data_root().join("bench").join(name).join("model.onnx");
    assert!(path.is_file(), "{} missing: run {}", path.display(), suite::GEN_COMMAND);
    Model::load(&path).unwrap_or_else(|e| panic!("{name}: {e}")).with_shape("input", &[1, 3, 224, 224])
}

fn layouts(name: &str, bits: Option<u32>) -> kiln::layouts::Layouts {
    let lowered = model(name).lower_for(&Options::default(), bits).unwrap_or_else(|e| panic!("{name}: {e}"));
    kiln::layouts::layouts(lowered.graph(Stage::Optimized).expect("optimized stage"))
}

#[test]
fn mobilenetv2_and_resnet18_are_nhwc_end_to_end_with_micro_kernels() {
    for name in ["mobilenetv2", "resnet18"] {
        for bits in [512, 256, 128] {
            let l = layouts(name, Some(bits));
            assert_eq!(l.nchw_convs, 0, "{name} at {bits} bits: {l}");
            assert!(l.nhwc_convs >= 20, "{name} at {bits} bits: {l}");
            assert_eq!(l.reorders.len(), 1, "{name} at {bits} bits: {l}");
            assert!(l.reorders[0].starts_with("input 'input' -> NHWC"), "{name} at {bits} bits: {l}");
        }
    }
}

#[test]
fn without_micro_kernels_convs_stay_nchw() {
    let l = layouts("resnet18", None);
    assert_eq!((l.nhwc_convs, l.reorders.len()), (0, 0), "{l}");
    assert!(l.nchw_convs > 0, "{l}");
}
