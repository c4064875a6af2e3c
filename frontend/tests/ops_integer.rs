//! Import of the integer, bit and small legacy ops (BitwiseAnd/Or/Xor, BitCast, ...), each
//! checked with the reference evaluator on the imported graph against a direct loop at odd
//! sizes, plus the errors for inputs kiln rejects.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, DType, Tensor};

/// ONNX `TensorProto.DataType` code of `d`.
fn elem(d: DType) -> i32 {
    match d {
        DType::F32 => 1,
        DType::U8 => 2,
        DType::I8 => 3,
        DType::U16 => 4,
        DType::I16 => 5,
        DType::I32 => 6,
        DType::I64 => 7,
        DType::Bool => 9,
        DType::F16 => 10,
        DType::F64 => 11,
        DType::U32 => 12,
        DType::U64 => 13,
        _ => 16,
    }
}

fn dims(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Fixed(d)).collect()
}

/// Imports `op` on graph inputs shaped like `inputs` (with `attrs`) and evaluates it.
fn run(opset: i64, op: &str, attrs: Vec<onnx_protobuf::AttributeProto>, inputs: &[Tensor]) -> Tensor {
    let names: Vec<String> = (0..inputs.len()).map(|i| format!("x{i}")).collect();
    let mut m = ModelBuilder::new(opset);
    for (n, t) in names.iter().zip(inputs) {
        m = m.input_typed(n, elem(t.dtype()), dims(t.shape()));
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let g = verified(m.node_attrs(op, &refs, &["y"], attrs).output("y").graph());
    eval_graph(&g, inputs).unwrap_or_else(|e| panic!("{op}: {e}")).remove(0)
}

/// Deterministic full-range bit patterns of `d` (negative values and high bits included).
fn bits(d: DType, shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product::<usize>() * d.size();
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let bytes: Vec<u8> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect();
    Tensor::from_le_bytes(d, shape.to_vec(), &bytes).expect("size")
}

#[test]
fn bitwise_ops_match_a_direct_loop_on_every_integer_dtype() {
    let ints = [DType::I8, DType::U8, DType::I16, DType::U16, DType::I32, DType::U32, DType::I64, DType::U64];
    for d in ints {
        for n in [1, 3, 5, 17] {
            let (a, b) = (bits(d, &[2, n], n as u64), bits(d, &[n], 7 + n as u64));
            for (op, f) in [("BitwiseAnd", 0), ("BitwiseOr", 1), ("BitwiseXor", 2)] {
                let y = run(18, op, vec![], &[a.clone(), b.clone()]);
                let (ab, bb, yb) = (a.to_le_bytes(), b.to_le_bytes(), y.to_le_bytes());
                let s = d.size();
                for (k, got) in yb.iter().enumerate() {
                    let (x, z) = (ab[k], bb[(k / s) % n * s + k % s]);
                    let want = [x & z, x | z, x ^ z][f];
                    assert_eq!(*got, want, "{op} {d} n={n} byte {k}");
                }
                assert_eq!(y.shape(), &[2, n]);
            }
        }
    }
}

#[test]
fn bitwise_ops_reject_floats_and_bools() {
    for d in [DType::F32, DType::Bool] {
        let e = ModelBuilder::new(18)
            .input_typed("a", elem(d), dims(&[3]))
            .input_typed("b", elem(d), dims(&[3]))
            .node("BitwiseOr", &["a", "b"], &["y"])
            .output("y")
            .import()
            .unwrap_err()
            .to_string();
        assert!(e.contains("BitwiseOr") && e.contains("integer dtype"), "{e}");
    }
}

/// The graph of one `BitCast` to ONNX type `to` on a graph input like `x`.
fn bit_cast(x: &Tensor, to: DType) -> Result<kiln_ir::Graph, String> {
    let m = ModelBuilder::new(26)
        .input_typed("x", elem(x.dtype()), dims(x.shape()))
        .node_attrs("BitCast", &["x"], &["y"], vec![a_int("to", elem(to) as i64)])
        .output("y");
    m.import().map(|i| i.graph).map_err(|e| e.to_string())
}

#[test]
fn bit_cast_keeps_the_bytes_of_every_same_size_pair() {
    let groups: [&[DType]; 4] = [
        &[DType::I8, DType::U8],
        &[DType::I16, DType::U16],
        &[DType::F32, DType::I32, DType::U32],
        &[DType::F64, DType::I64, DType::U64],
    ];
    let mut checked = 0;
    for group in groups {
        for (&from, &to) in group.iter().flat_map(|a| group.iter().map(move |b| (a, b))) {
            for n in [1, 3, 5, 17] {
                let x = bits(from, &[n, 3], n as u64 + 3);
                let g = verified(bit_cast(&x, to).expect("import"));
                let y = eval_graph(&g, std::slice::from_ref(&x)).expect("eval").remove(0);
                assert_eq!((y.dtype(), y.shape()), (to, x.shape()), "{from}->{to}");
                assert_eq!(y.to_le_bytes(), x.to_le_bytes(), "{from}->{to} n={n}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * (4 + 4 + 9 + 9));
}

#[test]
fn bit_cast_of_float_gives_its_ieee_bits() {
    let v = [1.0f32, -2.5, f32::INFINITY, 0.0, -0.0];
    let x = Tensor::from_vec(vec![5], v.to_vec());
    let g = verified(bit_cast(&x, DType::I32).expect("import"));
    let y = eval_graph(&g, std::slice::from_ref(&x)).expect("eval").remove(0);
    let want: Vec<i32> = v.iter().map(|f| f.to_bits() as i32).collect();
    assert_eq!(y.as_slice::<i32>().expect("i32"), want.as_slice());
}

#[test]
fn bit_cast_between_bool_and_bytes() {
    let x = Tensor::from_vec(vec![3], vec![0u8, 1, 7]);
    let g = verified(bit_cast(&x, DType::Bool).expect("import"));
    let y = eval_graph(&g, std::slice::from_ref(&x)).expect("eval").remove(0);
    assert_eq!(y.as_slice::<bool>().expect("bool"), &[false, true, true]);
    let b = Tensor::from_vec(vec![2], vec![true, false]);
    let g = verified(bit_cast(&b, DType::U8).expect("import"));
    let y = eval_graph(&g, std::slice::from_ref(&b)).expect("eval").remove(0);
    assert_eq!(y.as_slice::<u8>().expect("u8"), &[1, 0]);
}

#[test]
fn bit_cast_rejects_different_widths() {
    let x = Tensor::from_vec(vec![2], vec![1.0f32, 2.0]);
    let e = bit_cast(&x, DType::I64).unwrap_err();
    assert!(e.contains("(BitCast), attribute 'to'"), "{e}");
    assert!(e.contains("64-bit") && e.contains("f32"), "{e}");
}
