//! f16/bf16 in the frontend: TensorProto decoding (int32_data and raw_data), `.pb` round trip,
//! Cast to and from half types, and compute ops on half inputs imported as f32 between casts.
mod common;
use common::*;
use kiln_frontend::{tensor_from_pb, tensor_to_pb, Dim};
use kiln_ir::{eval_graph, DType, Op, Tensor, BF16, F16};
use onnx_protobuf::{Message, TensorProto};

const BFLOAT16: i32 = 16;

fn decode(t: &TensorProto) -> Tensor {
    tensor_from_pb(&t.write_to_bytes().unwrap()).unwrap_or_else(|e| panic!("{e}")).1
}

#[test]
fn half_tensors_decode_from_int32_data_and_raw_data() {
    let mut t = TensorProto::new();
    t.name = "h".into();
    t.data_type = FLOAT16;
    t.dims = vec![3];
    t.int32_data = vec![0x3c00, 0xc000, 0x7e00];
    let h = decode(&t);
    assert_eq!(h.as_slice::<F16>().unwrap(), &[F16(0x3c00), F16(0xc000), F16(0x7e00)]);
    t.int32_data.clear();
    t.raw_data = vec![0x80, 0x3f, 0x00, 0xc0, 0xc0, 0x7f];
    t.data_type = BFLOAT16;
    let b = decode(&t);
    assert_eq!(b.as_slice::<BF16>().unwrap(), &[BF16(0x3f80), BF16(0xc000), BF16(0x7fc0)]);
    for x in [h, b] {
        assert_eq!(tensor_from_pb(&tensor_to_pb("x", &x)).unwrap().1, x, "{:?} round trips", x.dtype());
    }
}

#[test]
fn cast_to_half_is_one_cast_node() {
    let g = ModelBuilder::new(13)
        .input("x", &[4])
        .node_attrs("Cast", &["x"], &["y"], vec![a_int("to", FLOAT16 as i64)])
        .output("y")
        .graph();
    assert_eq!(ops(&g), vec![Op::Cast { to: DType::F16 }]);
    let x = Tensor::from_vec([4], vec![1.0f32, 65520.0, 1e-8, -2.5]);
    let y = eval_graph(&g, &[x]).unwrap();
    assert_eq!(y[0].as_slice::<F16>().unwrap(), &[F16(0x3c00), F16(0x7c00), F16(0x0000), F16(0xc100)]);
}

#[test]
fn compute_on_half_inputs_runs_in_f32_between_casts() {
    let g = ModelBuilder::new(13)
        .input_typed("a", FLOAT16, vec![Dim::Fixed(3)])
        .input_typed("b", FLOAT16, vec![Dim::Fixed(3)])
        .node("Add", &["a", "b"], &["s"])
        .node("Relu", &["s"], &["y"])
        .output("y")
        .graph();
    let names = op_names(&g);
    assert_eq!(names.iter().filter(|n| **n == "cast").count(), 5, "{names:?}: 2 up + 1 down, 1 up + 1 down");
    assert!(g.outputs.iter().all(|&v| g.ty(v).dtype == DType::F16));
    let a = Tensor::from_vec([3], vec![F16::from_f32(1.0), F16::from_f32(-3.0), F16::from_f32(65504.0)]);
    let b = Tensor::from_vec([3], vec![F16::from_f32(0.0009765625), F16::from_f32(1.0), F16::from_f32(16.0)]);
    let y = eval_graph(&g, &[a, b]).unwrap();
    // 1 + 2^-10 is exact in f16; 65504 + 16 = 65520 ties up to infinity.
    assert_eq!(y[0].as_slice::<F16>().unwrap(), &[F16(0x3c01), F16(0x0000), F16(0x7c00)]);
}

#[test]
fn integer_results_and_data_movement_keep_their_types() {
    let g = ModelBuilder::new(13)
        .input_typed("h", FLOAT16, vec![Dim::Fixed(2), Dim::Fixed(3)])
        .node("ArgMax", &["h"], &["i"])
        .node("Shape", &["h"], &["s"])
        .init("shape", &i64s(&[3, 2]))
        .node("Reshape", &["h", "shape"], &["r"])
        .output("i")
        .output("s")
        .output("r")
        .graph();
    let types: Vec<DType> = g.outputs.iter().map(|&v| g.ty(v).dtype).collect();
    assert_eq!(types, vec![DType::I64, DType::I64, DType::F16]);
    assert!(!ops(&g).iter().any(|op| matches!(op, Op::Cast { to: DType::F16 | DType::BF16 })), "{:?}", ops(&g));
}

#[test]
fn bf16_constants_feed_f32_compute() {
    let c = Tensor::from_vec([2], vec![BF16::from_f32(2.0), BF16::from_f32(0.5)]);
    let g = ModelBuilder::new(13)
        .input_typed("x", BFLOAT16, vec![Dim::Fixed(2)])
        .init("c", &c)
        .node("Mul", &["x", "c"], &["y"])
        .output("y")
        .graph();
    let x = Tensor::from_vec([2], vec![BF16::from_f32(3.0), BF16::from_f32(-1.0)]);
    let y = eval_graph(&g, &[x]).unwrap();
    assert_eq!(y[0].to_f64_vec(), vec![6.0, -0.5]);
    assert_eq!(y[0].dtype(), DType::BF16);
}

#[test]
fn layer_norm_statistics_stay_f32_on_half_input() {
    let g = ModelBuilder::new(17)
        .input_typed("x", FLOAT16, vec![Dim::Fixed(2), Dim::Fixed(4)])
        .init("scale", &Tensor::from_vec([4], vec![F16::from_f32(1.0); 4]))
        .node("LayerNormalization", &["x", "scale"], &["y", "mean", "inv_std"])
        .output("y")
        .output("mean")
        .output("inv_std")
        .graph();
    let types: Vec<DType> = g.outputs.iter().map(|&v| g.ty(v).dtype).collect();
    assert_eq!(types, vec![DType::F16, DType::F32, DType::F32]);
}

#[test]
fn data_movement_stays_in_half() {
    let g = ModelBuilder::new(13)
        .input_typed("a", FLOAT16, vec![Dim::Fixed(2), Dim::Fixed(3)])
        .input_typed("b", FLOAT16, vec![Dim::Fixed(2), Dim::Fixed(3)])
        .node_attrs("Concat", &["a", "b"], &["c"], vec![a_int("axis", 0)])
        .node_attrs("Transpose", &["c"], &["t"], vec![a_ints("perm", &[1, 0])])
        .output("t")
        .graph();
    assert!(!op_names(&g).contains(&"cast"), "{:?}", op_names(&g));
    let a = Tensor::from_vec([2, 3], (0..6).map(|i| F16(0x3c00 + i)).collect::<Vec<_>>());
    let b = Tensor::from_vec([2, 3], (0..6).map(|i| F16(0x7c01 + i)).collect::<Vec<_>>());
    let y = eval_graph(&g, &[a, b]).unwrap();
    let bits: Vec<u16> = y[0].as_slice::<F16>().unwrap().iter().map(|h| h.0).collect();
    assert_eq!(bits[..4], [0x3c00, 0x3c03, 0x7c01, 0x7c04], "NaN payloads move untouched");
}
