//! `TensorProto` decoding: every supported dtype from raw_data and from the typed fields,
//! element-count checks, unsupported dtypes, external data and its path rules.
mod common;
use common::*;
use kiln_frontend::{tensor_from_pb, tensor_to_pb, FrontendError, ImportOptions, OnnxModel};
use kiln_ir::{DType, Tensor};
use onnx_protobuf::{Message, StringStringEntryProto, TensorProto};
use std::path::PathBuf;

fn decode(t: &TensorProto) -> Result<Tensor, FrontendError> {
    tensor_from_pb(&t.write_to_bytes().unwrap()).map(|(_, t)| t)
}

#[test]
fn raw_data_round_trips_every_dtype() {
    for dtype in DType::ALL {
        let values: Vec<f64> = (0..6).map(|i| (i % 2) as f64 * (i as f64 + 1.0)).collect();
        let t = Tensor::from_f64(dtype, vec![2, 3], &values);
        let (name, back) = tensor_from_pb(&tensor_to_pb("w", &t)).unwrap();
        assert_eq!((name.as_str(), &back), ("w", &t), "{dtype}");
    }
}

#[test]
fn typed_fields_decode() {
    let mut t = TensorProto::new();
    t.dims = vec![3];
    t.data_type = 5; // int16 widened into int32_data
    t.int32_data = vec![-1, 2, 300];
    assert_eq!(decode(&t).unwrap(), Tensor::from_vec(vec![3], vec![-1i16, 2, 300]));
    t.data_type = 9; // bool
    t.int32_data = vec![0, 1, 1];
    assert_eq!(decode(&t).unwrap(), Tensor::from_vec(vec![3], vec![false, true, true]));
    let mut t = TensorProto::new();
    t.dims = vec![2];
    t.data_type = 12; // uint32 in uint64_data
    t.uint64_data = vec![7, 4_000_000_000];
    assert_eq!(decode(&t).unwrap(), Tensor::from_vec(vec![2], vec![7u32, 4_000_000_000]));
    let mut t = TensorProto::new();
    t.dims = vec![1, 2];
    t.data_type = 11;
    t.double_data = vec![0.5, -2.0];
    assert_eq!(decode(&t).unwrap(), Tensor::from_vec(vec![1, 2], vec![0.5f64, -2.0]));
    let mut t = TensorProto::new();
    t.data_type = 7;
    t.int64_data = vec![42];
    assert_eq!(decode(&t).unwrap(), Tensor::scalar(42i64));
    let mut t = TensorProto::new();
    t.data_type = 1;
    t.dims = vec![0, 5];
    assert_eq!(decode(&t).unwrap().shape(), &[0, 5]);
}

#[test]
fn element_count_mismatch_is_an_error() {
    let mut t = TensorProto::new();
    t.name = "w".into();
    t.dims = vec![2, 2];
    t.data_type = 1;
    t.float_data = vec![1.0, 2.0, 3.0];
    let e = decode(&t).unwrap_err().to_string();
    assert!(e.contains("tensor 'w'") && e.contains("3 elements"), "{e}");
    t.float_data.clear();
    t.raw_data = vec![0; 15];
    assert!(decode(&t).unwrap_err().to_string().contains("raw_data has 15 bytes"));
}

#[test]
fn huge_or_negative_dims_are_errors_without_allocating() {
    let mut t = TensorProto::new();
    t.name = "big".into();
    t.data_type = 1;
    t.dims = vec![i64::MAX, i64::MAX];
    assert!(decode(&t).unwrap_err().to_string().contains("overflow"));
    t.dims = vec![1 << 40];
    assert!(matches!(decode(&t), Err(FrontendError::Tensor { .. })));
    t.dims = vec![-3];
    assert!(decode(&t).unwrap_err().to_string().contains("negative dimension"));
}

#[test]
fn unsupported_dtypes_name_tensor_and_type() {
    // (FLOAT8E4M3FN 17, UINT4 21 and FLOAT4E2M1 23 load since the narrow storage types.)
    for (code, name) in [(8, "STRING"), (14, "COMPLEX64"), (15, "COMPLEX128"), (27, "data type code 27")] {
        let mut t = TensorProto::new();
        t.name = "half".into();
        t.data_type = code;
        let e = decode(&t).unwrap_err();
        assert!(
            matches!(&e, FrontendError::UnsupportedDtype { tensor, dtype } if tensor == "half" && dtype == name),
            "{e}"
        );
    }
}

/// A fresh directory under the system temp dir (removed by the test).
fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("kiln-frontend-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn external(name: &str, location: &str, offset: Option<u64>, length: Option<u64>, dims: &[i64]) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = name.into();
    t.data_type = 1;
    t.dims = dims.to_vec();
    t.data_location = onnx_protobuf::tensor_proto::DataLocation::EXTERNAL.into();
    let mut kv = |k: &str, v: String| {
        let mut e = StringStringEntryProto::new();
        e.key = k.into();
        e.value = v;
        t.external_data.push(e);
    };
    kv("location", location.into());
    if let Some(o) = offset {
        kv("offset", o.to_string());
    }
    if let Some(l) = length {
        kv("length", l.to_string());
    }
    t
}

fn model_with_external(w: TensorProto) -> ModelBuilder {
    let mut b = ModelBuilder::new(13).input("x", &[2]).node("Add", &["x", "w"], &["y"]).output("y");
    b.graph.initializer.push(w);
    b
}

#[test]
fn external_data_is_read_relative_to_the_model_folder() {
    let dir = temp_dir("ext");
    std::fs::create_dir_all(dir.join("weights")).unwrap();
    let mut bytes = vec![0xAAu8; 4];
    bytes.extend(Tensor::from_vec(vec![2], vec![1.5f32, -2.0]).to_le_bytes());
    std::fs::write(dir.join("weights/w.bin"), &bytes).unwrap();
    let b = model_with_external(external("w", "weights/w.bin", Some(4), Some(8), &[2]));
    let path = dir.join("m.onnx");
    std::fs::write(&path, b.bytes()).unwrap();
    let g = OnnxModel::load(&path).unwrap().import(&ImportOptions::default()).unwrap().graph;
    let add = g.nodes.iter().next().unwrap().1;
    assert_eq!(g.const_of(add.inputs[1]).unwrap().as_slice::<f32>().unwrap(), &[1.5, -2.0]);

    // Out of range, wrong length, escapes, absolute paths and no folder are errors.
    let cases = [
        (external("w", "weights/w.bin", Some(8), None, &[2]), "has 12 bytes"),
        (external("w", "weights/w.bin", Some(0), Some(4), &[2]), "length 4"),
        (external("w", "../w.bin", None, None, &[2]), "escapes"),
        (external("w", "/etc/passwd", None, None, &[2]), "absolute"),
        (external("w", "missing.bin", None, None, &[2]), "cannot open"),
    ];
    for (t, want) in cases {
        std::fs::write(&path, model_with_external(t).bytes()).unwrap();
        let e = OnnxModel::load(&path).unwrap().import(&ImportOptions::default()).unwrap_err();
        assert!(matches!(e, FrontendError::ExternalData { .. }) && e.to_string().contains(want), "{e}");
    }
    let e = model_with_external(external("w", "weights/w.bin", None, None, &[2])).import().unwrap_err();
    assert!(e.to_string().contains("no folder"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
