//! The narrow storage types in the frontend: packed TensorProto decoding (raw_data and
//! int32_data) and `.pb` round trips, Cast with `saturate=0`, and QuantizeLinear /
//! DequantizeLinear to and from 8/4-bit floats and 4/2-bit integers, against direct loops over
//! `kiln_ir::minifloat`, at odd sizes.
mod common;
use common::*;
use kiln_frontend::{tensor_from_pb, tensor_to_pb};
use kiln_ir::minifloat::{self as mf, Format};
use kiln_ir::{eval_graph, DType, Tensor, TensorData};
use onnx_protobuf::{Message, TensorProto};

const F8E4M3FN: i32 = 17;
const F8E5M2: i32 = 19;
const INT4: i32 = 22;
const UINT2: i32 = 25;

fn decode(t: &TensorProto) -> Result<Tensor, String> {
    tensor_from_pb(&t.write_to_bytes().unwrap()).map(|(_, t)| t).map_err(|e| e.to_string())
}

fn proto(code: i32, dims: usize) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = "n".into();
    t.data_type = code;
    t.dims = vec![dims as i64];
    t
}

/// `n` values in [-8, 7], sign-extended, as the INT4 tensor kiln holds.
fn int4_values(n: usize) -> Vec<i8> {
    (0..n).map(|i| ((i * 7 + 3) % 16) as i8 - 8).collect()
}

#[test]
fn packed_int4_decodes_from_raw_and_int32_data_and_round_trips() {
    for n in [1usize, 3, 5, 17] {
        let vals = int4_values(n);
        let packed: Vec<u8> =
            vals.chunks(2).map(|c| (c[0] as u8 & 15) | (c.get(1).map_or(0, |&v| v as u8 & 15) << 4)).collect();
        let mut t = proto(INT4, n);
        t.raw_data = packed.clone();
        let from_raw = decode(&t).unwrap();
        assert_eq!(from_raw.to_i64_vec(), vals.iter().map(|&v| i64::from(v)).collect::<Vec<_>>(), "n={n}");
        t.raw_data.clear();
        t.int32_data = packed.iter().map(|&b| i32::from(b)).collect();
        assert_eq!(decode(&t).unwrap(), from_raw);
        let again = tensor_from_pb(&tensor_to_pb("x", &from_raw)).unwrap().1;
        assert_eq!(again, from_raw);
        t.int32_data.push(0);
        assert!(decode(&t).unwrap_err().contains("int32_data has"), "n={n}: a wrong length is an error");
    }
}

#[test]
fn float8_codes_decode_one_per_element() {
    let mut t = proto(F8E4M3FN, 5);
    t.int32_data = vec![0, 48, 56, 126, 237]; // test_dequantizelinear_e4m3fn_zero_point
    let x = decode(&t).unwrap();
    assert_eq!(x.to_f64_vec(), vec![0.0, 0.5, 1.0, 448.0, -104.0]);
    t.int32_data.clear();
    t.raw_data = vec![0x7f, 0x80, 0x01];
    t.dims = vec![3];
    let y = decode(&t).unwrap();
    assert!(y.data().get_f64(0).is_nan());
    assert_eq!(y.to_le_bytes(), vec![0x7f, 0x80, 0x01]);
}

/// f32 values around the overflow thresholds and the specials, `n` of them.
fn probe(n: usize) -> Vec<f32> {
    let pool =
        [464.0, 464.5, -465.0, 448.0, 61440.0, -61439.0, 1e6, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.3, -0.0];
    (0..n).map(|i| pool[i % pool.len()] * if i >= pool.len() { 0.5 } else { 1.0 }).collect()
}

fn cast_graph(code: i32, saturate: i64, n: usize) -> kiln_ir::Graph {
    ModelBuilder::new(21)
        .input("x", &[n])
        .node_attrs("Cast", &["x"], &["y"], vec![a_int("to", i64::from(code)), a_int("saturate", saturate)])
        .output("y")
        .graph()
}

#[test]
fn cast_without_saturation_overflows_to_inf_or_nan() {
    for (code, f) in [(F8E4M3FN, mf::E4M3FN), (F8E5M2, mf::E5M2)] {
        for saturate in [0, 1] {
            for n in [1usize, 3, 5, 17] {
                let x = probe(n);
                let y = eval_graph(&cast_graph(code, saturate, n), &[Tensor::from_vec([n], x.clone())]).unwrap();
                let want: Vec<u8> = x.iter().map(|&v| mf::encode(f, v, saturate == 1)).collect();
                let got = y[0].to_le_bytes();
                for i in 0..n {
                    let both_nan = mf::decode(f, got[i]).is_nan() && mf::decode(f, want[i]).is_nan();
                    assert!(
                        got[i] == want[i] || both_nan,
                        "{f:?} sat={saturate} x={}: {:#x} vs {:#x}",
                        x[i],
                        got[i],
                        want[i]
                    );
                }
            }
        }
    }
}

#[test]
fn e8m0_round_modes_other_than_up_are_refused_by_name() {
    let g = ModelBuilder::new(25)
        .input("x", &[3])
        .node_attrs("Cast", &["x"], &["y"], vec![a_int("to", 24), a_str("round_mode", "nearest")])
        .output("y");
    let err = g.import().err().expect("refused").to_string();
    assert!(err.contains("round_mode") && err.contains("nearest"), "{err}");
}

fn quantize_graph(zero_point: &Tensor, n: usize) -> kiln_ir::Graph {
    ModelBuilder::new(21)
        .input("x", &[n])
        .init("scale", &Tensor::scalar(0.5f32))
        .init("zp", zero_point)
        .node("QuantizeLinear", &["x", "scale", "zp"], &["q"])
        .node("DequantizeLinear", &["q", "scale", "zp"], &["d"])
        .output("q")
        .output("d")
        .graph()
}

fn one(dtype: DType, byte: u8) -> Tensor {
    Tensor::new(Vec::<usize>::new(), TensorData::from_le_bytes(dtype, &[byte]).unwrap()).unwrap()
}

#[test]
fn quantize_to_int4_rounds_half_even_and_clips() {
    for n in [1usize, 3, 5, 17] {
        let x: Vec<f32> = (0..n).map(|i| i as f32 * 0.75 - 5.0).collect();
        let y = eval_graph(&quantize_graph(&one(DType::I4, 0xff), n), &[Tensor::from_vec([n], x.clone())]).unwrap();
        let want: Vec<i64> = x.iter().map(|&v| ((v / 0.5).round_ties_even() - 1.0).clamp(-8.0, 7.0) as i64).collect();
        assert_eq!(y[0].dtype(), DType::I4);
        assert_eq!(y[0].to_i64_vec(), want, "n={n}");
        let back: Vec<f64> = want.iter().map(|&q| (q as f64 + 1.0) * 0.5).collect();
        assert_eq!(y[1].to_f64_vec(), back);
    }
}

#[test]
fn quantize_to_float8_and_float4_is_a_saturating_cast() {
    let cases: [(DType, Format); 2] = [(DType::F8E4M3FN, mf::E4M3FN), (DType::F4E2M1, mf::E2M1)];
    for (dtype, f) in cases {
        for n in [1usize, 3, 5, 17] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 - 8.0) * 37.3).collect();
            let y = eval_graph(&quantize_graph(&one(dtype, 0), n), &[Tensor::from_vec([n], x.clone())]).unwrap();
            let want: Vec<u8> = x.iter().map(|&v| mf::encode(f, v / 0.5, true)).collect();
            assert_eq!(y[0].to_le_bytes(), want, "{dtype} n={n}");
            let back: Vec<f64> = want.iter().map(|&c| f64::from(mf::decode(f, c)) * 0.5).collect();
            assert_eq!(y[1].to_f64_vec(), back, "{dtype} n={n}");
        }
    }
}

#[test]
fn dequantize_uint2_from_packed_initializer() {
    let mut t = proto(UINT2, 5);
    t.raw_data = vec![0b11_10_01_00, 0b10];
    let q = decode(&t).unwrap();
    assert_eq!(q.to_i64_vec(), vec![0, 1, 2, 3, 2]);
    let g = ModelBuilder::new(21)
        .input_typed("q", UINT2, vec![kiln_frontend::Dim::Fixed(5)])
        .init("scale", &Tensor::scalar(2.0f32))
        .init("zp", &one(DType::U2, 1))
        .node("DequantizeLinear", &["q", "scale", "zp"], &["d"])
        .output("d")
        .graph();
    assert_eq!(eval_graph(&g, &[q]).unwrap()[0].to_f64_vec(), vec![-2.0, 0.0, 2.0, 4.0, 2.0]);
}
