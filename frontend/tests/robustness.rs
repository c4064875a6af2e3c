//! Hostile bytes: truncated models, random bytes and bogus lengths give errors, never panics
//! or huge allocations.
mod common;
use common::*;
use kiln_frontend::{tensor_from_pb, Dim, FrontendError, OnnxModel};
use rand::{Rng, SeedableRng};

fn small_model() -> Vec<u8> {
    ModelBuilder::new(13)
        .input("x", &[1, 3, 4, 4])
        .init("w", &zeros(&[2, 3, 3, 3]))
        .node("Conv", &["x", "w"], &["y"])
        .node("Relu", &["y"], &["z"])
        .output("z")
        .bytes()
}

#[test]
fn every_truncation_is_an_error_or_a_smaller_valid_model() {
    let bytes = small_model();
    let mut errors = 0;
    for len in 0..bytes.len() {
        // A cut at a field boundary can still parse (protobuf has no end marker); it must then
        // import or fail cleanly.
        match OnnxModel::from_bytes(&bytes[..len], None) {
            Err(_) => errors += 1,
            Ok(m) => {
                let _ = m.import(&Default::default());
            }
        }
    }
    assert!(errors > bytes.len() / 2, "only {errors} of {} truncations failed to parse", bytes.len());
    assert!(matches!(OnnxModel::from_bytes(&bytes[..bytes.len() - 3], None), Err(FrontendError::Parse(_))));
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..2000 {
        let len = rng.gen_range(0..256);
        let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        if let Ok(m) = OnnxModel::from_bytes(&bytes, None) {
            let _ = m.import(&Default::default());
        }
        let _ = tensor_from_pb(&bytes);
    }
}

#[test]
fn bit_flips_of_a_valid_model_never_panic() {
    let bytes = small_model();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..2000 {
        let mut b = bytes.clone();
        for _ in 0..rng.gen_range(1..4) {
            let i = rng.gen_range(0..b.len());
            b[i] ^= 1 << rng.gen_range(0..8);
        }
        if let Ok(m) = OnnxModel::from_bytes(&b, None) {
            let _ = m.import(&Default::default());
        }
    }
}

#[test]
fn bogus_length_prefix_does_not_allocate_it() {
    // Field 7 (graph), length-delimited, declared length ~4 GiB, then 3 bytes.
    let bytes = [0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3];
    assert!(matches!(OnnxModel::from_bytes(&bytes, None), Err(FrontendError::Parse(_))));
    // TensorProto raw_data (field 9) with a 2 GiB length.
    let bytes = [0x4a, 0x80, 0x80, 0x80, 0x80, 0x08, 0];
    assert!(matches!(tensor_from_pb(&bytes), Err(FrontendError::Parse(_))));
}

#[test]
fn a_model_without_graph_is_an_error() {
    let mut m = onnx_protobuf::ModelProto::new();
    m.ir_version = 8;
    let bytes = onnx_protobuf::Message::write_to_bytes(&m).unwrap();
    assert!(matches!(OnnxModel::from_bytes(&bytes, None), Err(FrontendError::NoGraph)));
}

#[test]
fn fields_from_newer_ir_versions_are_skipped() {
    // ModelProto field 99 (unknown to the IR v10 schema): a varint and a length-delimited blob.
    let mut bytes = small_model();
    bytes.extend([0x98, 0x06, 0x01, 0x9a, 0x06, 0x03, 1, 2, 3]);
    let m = OnnxModel::from_bytes(&bytes, None).unwrap();
    assert_eq!(m.import(&Default::default()).unwrap().graph.nodes.len(), 2);
}

#[test]
fn absurd_declared_dims_are_an_error_not_an_allocation() {
    let b = ModelBuilder::new(13).input("x", &[1 << 40, 1 << 40]).node("Relu", &["x"], &["y"]).output("y");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("overflow"), "{e}");
}

// Regressions found by the mutation test (`tests/mutation.rs`): each of these aborted the
// process on a failed allocation (declared dims or attributes rewritten to 2^31 or 2^40).

/// The error of importing `b`, which must mention `what`.
fn import_error(b: &ModelBuilder, what: &str) -> String {
    let e = b.import().expect_err("an absurd size must be an error").to_string();
    assert!(e.contains(what), "{e}");
    e
}

#[test]
fn conv_transpose_with_a_huge_stride_is_an_error() {
    // test_convtranspose_output_shape with strides [3, 2^40]: the zero-filled input is ~24 TiB.
    let b = ModelBuilder::new(13)
        .input("x", &[1, 1, 3, 3])
        .input("w", &[1, 2, 3, 3])
        .node_attrs("ConvTranspose", &["x", "w"], &["y"], vec![a_ints("strides", &[3, 1 << 40])])
        .output("y");
    let e = import_error(&b, "over kiln's limit of 2147483648 bytes per tensor");
    assert!(e.contains("ConvTranspose_0") && e.contains("ConvTranspose"), "{e}");
}

#[test]
fn scatter_elements_into_huge_data_is_an_error() {
    // test_scatter_elements_without_axis with data [3, 2^31]: the scattered updates are padded
    // to the data's 24 GiB shape.
    let b = ModelBuilder::new(18)
        .input("data", &[3, 1 << 31])
        .input_typed("idx", INT64, vec![Dim::Fixed(2), Dim::Fixed(3)])
        .input("upd", &[2, 3])
        .node("ScatterElements", &["data", "idx", "upd"], &["y"])
        .output("y");
    import_error(&b, "over kiln's limit");
}

#[test]
fn nll_loss_with_huge_class_count_is_an_error() {
    // test_nllloss_NCd1d2_reduction_sum with C = 2^31: the class iota alone was 16 GiB.
    let b = ModelBuilder::new(13)
        .input("x", &[1, 1 << 31])
        .input_typed("t", INT64, vec![Dim::Fixed(1)])
        .node("NegativeLogLikelihoodLoss", &["x", "t"], &["y"])
        .output("y");
    let e = import_error(&b, "class index table");
    assert!(e.contains("NegativeLogLikelihoodLoss"), "{e}");
}

#[test]
fn a_tensor_at_the_size_limit_imports_and_one_over_it_does_not() {
    let relu = |n: usize| ModelBuilder::new(13).input("x", &[n]).node("Relu", &["x"], &["y"]).output("y");
    let at_limit = kiln_frontend::MAX_TENSOR_BYTES / 4;
    assert!(relu(at_limit).import().is_ok());
    let e = import_error(&relu(at_limit + 1), "is 2147483652 bytes, over kiln's limit");
    assert!(e.contains("Relu_0") && e.contains("input 0 f32[536870913]"), "{e}");
}
