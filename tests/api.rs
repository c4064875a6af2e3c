//! The public Rust API: load, inspect inputs, specialise, compile, run from several threads;
//! tensor files through `kiln::io`; the inspect summary.

mod common;

use common::*;
use kiln::io::{npy, read_tensor, write_tensor};
use kiln::summary::summarize;
use kiln::{CompiledModel, DType, Dim, Graph, Model, Options, Stage, Tensor, TensorType};

#[test]
fn compiled_model_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CompiledModel>();
    assert_send_sync::<Model>();
}

fn add_compiled(test: &str) -> CompiledModel {
    let dir = scratch(test);
    let path = add_model(&["N", "3"]).write(&dir.join("add.onnx"));
    let model = Model::load(&path).expect("load").with_shape("x", &[2, 3]).with_shape("y", &[2, 3]);
    model.compile(&Options::default()).expect("compile")
}

#[test]
fn inputs_report_declared_names_dtypes_and_dims() {
    let dir = scratch("api_inputs");
    let path = add_model(&["N", "3"]).write(&dir.join("add.onnx"));
    let model = Model::load(&path).unwrap();
    let inputs = model.inputs();
    assert_eq!(inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(inputs[0].dtype, Some(DType::F32));
    assert_eq!(inputs[0].dims, [Dim::Symbolic("N".into()), Dim::Fixed(3)]);
    assert_eq!(model.output_names(), ["z"]);
}

#[test]
fn compile_specialises_and_reports() {
    let compiled = add_compiled("api_compile");
    assert_eq!(compiled.input_names(), ["x", "y"]);
    assert_eq!(compiled.input_types(), vec![TensorType::new(DType::F32, [2, 3]); 2]);
    assert_eq!(compiled.output_names(), ["z"]);
    assert_eq!(compiled.output_types(), vec![TensorType::new(DType::F32, [2, 3])]);
    assert!(compiled.stats().kernels >= 1);
    for stage in Stage::ALL {
        assert_eq!(compiled.ir(stage).map(|g| g.nodes.len()), Some(1), "stage {stage}");
    }
}

#[test]
fn unknown_names_in_specialisation_are_errors() {
    let dir = scratch("api_unknown_name");
    let path = add_model(&["2", "3"]).write(&dir.join("add.onnx"));
    let err = Model::load(&path).unwrap().with_shape("nope", &[1]).compile(&Options::default()).err();
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(msg, "unknown input 'nope' (the model's inputs are: x, y)");
}

#[test]
fn one_model_runs_from_four_threads_at_once() {
    let compiled = add_compiled("api_threads");
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let compiled = &compiled;
                scope.spawn(move || {
                    for i in 0..50 {
                        let base = (t * 1000 + i) as f32;
                        let x = Tensor::from_vec(vec![2, 3], (0..6).map(|k| base + k as f32).collect::<Vec<_>>());
                        let y = Tensor::from_vec(vec![2, 3], vec![0.5f32; 6]);
                        let z = compiled.run(&[x, y]).expect("run");
                        let want: Vec<f32> = (0..6).map(|k| base + k as f32 + 0.5).collect();
                        assert_eq!(z[0].as_slice::<f32>().unwrap(), want.as_slice());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
    });
}

#[test]
fn run_checks_inputs_by_name() {
    let compiled = add_compiled("api_run_checks");
    let x = Tensor::from_vec(vec![2, 3], vec![0f32; 6]);
    let err = compiled.run(std::slice::from_ref(&x)).unwrap_err().to_string();
    assert_eq!(err, "the model takes 2 input(s) (x, y), got 1");
    let y = Tensor::from_vec(vec![2, 3], vec![0i32; 6]);
    let err = compiled.run(&[x, y]).unwrap_err().to_string();
    assert_eq!(err, "input 'y': expected f32[2,3], got i32[2,3]");
}

fn every_dtype() -> Vec<Tensor> {
    let v = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    let mut ts: Vec<Tensor> = DType::ALL.iter().map(|&d| Tensor::from_f64(d, vec![2, 3], &v)).collect();
    ts.push(Tensor::from_vec(vec![4], vec![-1.5f32, f32::INFINITY, f32::MIN_POSITIVE, -0.0]));
    ts.push(Tensor::from_vec(vec![], vec![i64::MIN]));
    ts.push(Tensor::from_vec(vec![0, 3], Vec::<u16>::new()));
    ts
}

/// Every dtype round-trips through `.npy` except the narrow (8/4/2-bit) ones: they are written
/// as one-byte opaque records (`|V1`), which cannot say which type they hold, so reading one
/// back is an error pointing at `.pb` files.
#[test]
fn npy_files_round_trip_every_dtype_numpy_can_name() {
    let dir = scratch("api_npy_round_trip");
    let (narrow, named): (Vec<Tensor>, Vec<Tensor>) = every_dtype().into_iter().partition(|t| t.dtype().is_narrow());
    assert!(!narrow.is_empty() && named.len() > narrow.len());
    for (i, t) in named.into_iter().enumerate() {
        let path = dir.join(format!("t{i}.npy"));
        write_tensor(&path, "t", &t).unwrap();
        assert_eq!(read_tensor(&path).unwrap().tensor, t, "{t:?}");
    }
    for t in narrow {
        let path = dir.join(format!("{}.npy", t.dtype()));
        write_tensor(&path, "t", &t).unwrap();
        let e = read_tensor(&path).unwrap_err().to_string();
        assert!(e.contains("|V1") && e.contains(".pb"), "{}: {e}", t.dtype());
    }
}

#[test]
fn pb_files_round_trip_every_dtype() {
    let dir = scratch("api_pb_round_trip");
    for (i, t) in every_dtype().into_iter().enumerate() {
        let path = dir.join(format!("t{i}.pb"));
        write_tensor(&path, "named", &t).unwrap();
        let back = read_tensor(&path).unwrap();
        assert_eq!((back.name.as_deref(), back.tensor), (Some("named"), t));
    }
}

/// `np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='<i2'))` with numpy 2, byte for byte.
const NUMPY_I2: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }                                                          \n\x01\x00\x02\x00\x03\x00\x04\x00\x05\x00\x06\x00";

#[test]
fn npy_matches_numpy_byte_for_byte() {
    let t = Tensor::from_vec(vec![2, 3], vec![1i16, 2, 3, 4, 5, 6]);
    assert_eq!(npy::decode(NUMPY_I2).unwrap(), t);
    assert_eq!(npy::encode(&t), NUMPY_I2);
}

/// A file with the given version and header text, followed by `data`.
fn npy_file(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    match major {
        1 => out.extend_from_slice(&(header.len() as u16).to_le_bytes()),
        _ => out.extend_from_slice(&(header.len() as u32).to_le_bytes()),
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn npy_reads_v2_and_v3_headers() {
    let data: Vec<u8> = [1.5f64, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    for major in [2, 3] {
        let file = npy_file(major, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", &data);
        assert_eq!(npy::decode(&file).unwrap(), Tensor::from_vec(vec![2], vec![1.5f64, -2.0]));
    }
}

fn npy_error(file: &[u8]) -> String {
    npy::decode(file).expect_err("must be rejected").to_string()
}

#[test]
fn npy_rejects_fortran_order_big_endian_and_bad_sizes() {
    let f4 = [0u8; 24];
    let fortran = npy_file(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", &f4);
    assert!(npy_error(&fortran).contains("Fortran-order arrays are not supported"));
    let big = npy_file(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", &f4);
    assert!(npy_error(&big).contains("big-endian data ('>f4') is not supported"));
    let short = npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", &f4);
    assert!(npy_error(&short).contains("data is 24 bytes but shape [2, 4] of f32 needs 32"));
    let huge = npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", &f4);
    assert!(npy_error(&huge).contains("needs more than addressable"));
    let complex = npy_file(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", &f4);
    assert!(npy_error(&complex).contains("unsupported dtype '<c8'"));
    let v9 = npy_file(9, "{}", &[]);
    assert!(npy_error(&v9).contains("unsupported .npy version 9.0"));
}

#[test]
fn npy_malformed_headers_are_errors() {
    for header in [
        "",
        "{",
        "{'descr': '<f4'}",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, -1), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': 3, }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
        "{'descr: '<f4', 'fortran_order': False, 'shape': (1,), }",
        "[1, 2]",
    ] {
        let file = npy_file(1, header, &[0; 4]);
        assert!(npy_error(&file).contains("malformed .npy header"), "{header:?}: {}", npy_error(&file));
    }
}

#[test]
fn npy_every_truncation_and_many_corruptions_fail_cleanly() {
    let good = npy::encode(&Tensor::from_vec(vec![2, 3], vec![1.0f32; 6]));
    for len in 0..good.len() {
        assert!(npy::decode(&good[..len]).is_err(), "prefix of {len} bytes");
    }
    let mut state = 0x9e3779b97f4a7c15u64;
    for _ in 0..2000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut bad = good.clone();
        let at = (state % bad.len() as u64) as usize;
        bad[at] = (state >> 32) as u8;
        // Must return (Ok or Err), never panic; a data-byte change still decodes.
        let decoded = npy::decode(&bad);
        if at >= good.len() - 24 {
            assert!(decoded.is_ok(), "data byte {at} changed");
        }
    }
}

#[test]
fn summary_counts_ops_params_and_flops() {
    let mut g = Graph::new();
    let a = g.add_input("a", TensorType::new(DType::F32, [2, 3]));
    let b = g.add_const("b", Tensor::from_vec(vec![3, 4], vec![0.5f32; 12]));
    let c = g.add_node1("mm", kiln_ir::Op::MatMul, vec![a, b], "c", TensorType::new(DType::F32, [2, 4]));
    let relu = kiln_ir::Op::Unary(kiln_ir::UnaryOp::Relu);
    let d = g.add_node1("relu", relu, vec![c], "d", TensorType::new(DType::F32, [2, 4]));
    g.outputs.push(d);
    let s = summarize(&g);
    assert_eq!(s.flops, 2 * 2 * 4 * 3 + 8);
    assert_eq!((s.params, s.param_bytes), (12, 48));
    assert_eq!(s.op_counts.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(), [("matmul", 1), ("relu", 1)]);
    assert_eq!(s.inputs, ["a: f32[2,3]"]);
    assert_eq!(s.outputs, ["d: f32[2,4]"]);
}
