//! Every ONNX `light_*` model (IR 3, opset 9, weights made by ConstantOfShape) must import;
//! op counts after import are checked per model.
mod common;
use common::op_names;
use kiln_frontend::{ImportOptions, OnnxModel};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn light_dir() -> PathBuf {
    common::onnx_backend_test_data().join("light")
}

fn counts(name: &str) -> BTreeMap<&'static str, usize> {
    let path = light_dir().join(format!("{name}.onnx"));
    let model = OnnxModel::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(model.inputs().len(), 1, "{name}: one real input");
    let imported = model.import(&ImportOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(imported.notes.is_empty(), "{name}: {:?}", imported.notes);
    let mut counts = BTreeMap::new();
    let graph = common::verified(imported.graph);
    for op in op_names(&graph) {
        *counts.entry(op).or_insert(0) += 1;
    }
    counts
}

fn check(name: &str, want: &[(&'static str, usize)]) {
    let want: BTreeMap<&'static str, usize> = want.iter().copied().collect();
    assert_eq!(counts(name), want, "{name}");
}

#[test]
fn light_models_directory_has_the_nine_models() {
    let n = std::fs::read_dir(light_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "onnx"))
        .count();
    assert_eq!(n, 9);
}

// Weights over the 64 MiB fold cap stay `expand` nodes (one fully-connected weight in
// alexnet, vgg19 and zfnet512).

#[test]
fn bvlc_alexnet() {
    check(
        "light_bvlc_alexnet",
        &[
            ("conv", 5),
            ("relu", 7),
            ("lrn", 2),
            ("max_pool", 3),
            ("reshape", 1),
            ("gemm", 3),
            ("softmax", 1),
            ("expand", 1),
        ],
    );
}

#[test]
fn zfnet512() {
    check(
        "light_zfnet512",
        &[
            ("conv", 5),
            ("relu", 7),
            ("lrn", 2),
            ("max_pool", 3),
            ("reshape", 1),
            ("gemm", 3),
            ("softmax", 1),
            ("expand", 1),
        ],
    );
}

#[test]
fn vgg19() {
    check(
        "light_vgg19",
        &[("conv", 16), ("relu", 18), ("max_pool", 5), ("reshape", 1), ("gemm", 3), ("softmax", 1), ("expand", 1)],
    );
}

// Opset-9 Softmax over axis 1 of a [1,1000,1,1] tensor is the flatten-to-2-D form: two reshapes.
#[test]
fn squeezenet() {
    check(
        "light_squeezenet",
        &[
            ("conv", 26),
            ("relu", 26),
            ("max_pool", 3),
            ("concat", 8),
            ("reduce_mean", 1),
            ("reshape", 2),
            ("softmax", 1),
        ],
    );
}

// The second ONNX Reshape reshapes a constant weight and folds.
#[test]
fn inception_v1() {
    check(
        "light_inception_v1",
        &[
            ("conv", 57),
            ("relu", 57),
            ("max_pool", 13),
            ("lrn", 2),
            ("concat", 9),
            ("avg_pool", 1),
            ("reshape", 1),
            ("gemm", 1),
            ("softmax", 1),
        ],
    );
}

#[test]
fn resnet50() {
    check(
        "light_resnet50",
        &[
            ("conv", 53),
            ("batch_norm", 53),
            ("relu", 49),
            ("max_pool", 1),
            ("add", 16),
            ("avg_pool", 1),
            ("reshape", 1),
            ("gemm", 1),
            ("softmax", 1),
        ],
    );
}

#[test]
fn shufflenet() {
    check(
        "light_shufflenet",
        &[
            ("conv", 49),
            ("batch_norm", 49),
            ("relu", 33),
            ("max_pool", 1),
            ("reshape", 33),
            ("transpose", 16),
            ("avg_pool", 4),
            ("concat", 3),
            ("add", 13),
            ("gemm", 1),
            ("softmax", 1),
        ],
    );
}

// The per-channel Unsqueeze of constants folds away (needs `kiln_ir::eval_op`).

#[test]
fn densenet121() {
    check(
        "light_densenet121",
        &[
            ("conv", 121),
            ("batch_norm", 121),
            ("mul", 121),
            ("add", 121),
            ("relu", 121),
            ("max_pool", 1),
            ("concat", 58),
            ("avg_pool", 3),
            ("reduce_mean", 1),
        ],
    );
}

#[test]
fn inception_v2() {
    check(
        "light_inception_v2",
        &[
            ("conv", 69),
            ("batch_norm", 69),
            ("mul", 69),
            ("add", 69),
            ("relu", 69),
            ("max_pool", 5),
            ("avg_pool", 8),
            ("concat", 10),
            ("reshape", 1),
            ("gemm", 1),
            ("softmax", 1),
        ],
    );
}

/// The repository's example model (opset 13, symbolic batch, ReLU6 as Clip with inputs).
#[test]
fn example_mobilenet_tiny() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/mobilenet_tiny.onnx");
    let imported = OnnxModel::load(&path).unwrap().import(&ImportOptions::default()).unwrap();
    assert_eq!(
        imported.notes,
        vec!["input 'input': symbolic dim 'N' (axis 0) set to 1; use --shape input=...".to_string()]
    );
    let graph = common::verified(imported.graph);
    let mut counts = BTreeMap::new();
    for op in op_names(&graph) {
        *counts.entry(op).or_insert(0) += 1;
    }
    let want: BTreeMap<&str, usize> = [
        ("conv", 19),
        ("batch_norm", 19),
        ("clip", 13),
        ("add", 3),
        ("reduce_mean", 1),
        ("reshape", 1),
        ("gemm", 1),
        ("softmax", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, want);
}
