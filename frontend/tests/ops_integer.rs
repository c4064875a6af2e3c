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

/// A TfIdfVectorizer node's pool and settings.
struct Tfidf {
    min: i64,
    max: i64,
    skip: i64,
    counts: Vec<i64>,
    indexes: Vec<i64>,
    pool: Vec<i64>,
}

/// Port of the reference's counting walk (`op_tfidf_vectorizer.py`): for each start and skip,
/// extend the n-gram while its prefix is in the pool, counting each hit of size >= the current
/// minimum; unigrams only at skip 1. Returns counts per output column of one row.
fn tfidf_direct(t: &Tfidf, row: &[i64]) -> Vec<f64> {
    let out = (*t.indexes.iter().max().unwrap() + 1) as usize;
    let mut grams: Vec<(Vec<i64>, usize)> = Vec::new();
    let mut id = 0;
    for (i, &s) in t.counts.iter().enumerate() {
        let end = t.counts.get(i + 1).copied().unwrap_or(t.pool.len() as i64) as usize;
        for g in t.pool[s as usize..end].chunks_exact(i + 1) {
            if (t.min..=t.max).contains(&(i as i64 + 1)) {
                grams.retain(|(h, _)| h != g);
                grams.push((g.to_vec(), t.indexes[id] as usize));
            }
            id += 1;
        }
    }
    let mut f = vec![0.0; out];
    let mut start_n = t.min as usize;
    for d in 1..=(t.skip as usize + 1) {
        for s in 0..row.len() {
            if s + d * (start_n - 1) >= row.len() {
                break;
            }
            let mut n = 1;
            while n <= t.max as usize && s + (n - 1) * d < row.len() {
                let w: Vec<i64> = (0..n).map(|k| row[s + k * d]).collect();
                if !grams.iter().any(|(g, _)| g.len() > n && g[..n] == w[..]) && !grams.iter().any(|(g, _)| *g == w) {
                    break;
                }
                if let Some((_, col)) = grams.iter().find(|(g, _)| *g == w).filter(|_| n >= start_n) {
                    f[*col] += 1.0;
                }
                n += 1;
            }
        }
        if start_n == 1 {
            start_n = 2;
            if start_n > t.max as usize {
                break;
            }
        }
    }
    f
}

fn tfidf_run(t: &Tfidf, mode: &str, weights: Option<&[f32]>, x: &Tensor) -> Tensor {
    let mut attrs = vec![
        a_int("min_gram_length", t.min),
        a_int("max_gram_length", t.max),
        a_int("max_skip_count", t.skip),
        a_ints("ngram_counts", &t.counts),
        a_ints("ngram_indexes", &t.indexes),
        a_ints("pool_int64s", &t.pool),
        a_str("mode", mode),
    ];
    if let Some(w) = weights {
        attrs.push(a_floats("weights", w));
    }
    run(9, "TfIdfVectorizer", attrs, std::slice::from_ref(x))
}

#[test]
fn tfidf_vectorizer_matches_the_reference_walk() {
    // Unigrams 0, 2, 3 (3 twice: the last index wins); bigrams; trigrams.
    let t = Tfidf {
        min: 1,
        max: 3,
        skip: 2,
        counts: vec![0, 4, 10],
        indexes: vec![0, 1, 2, 6, 3, 4, 5, 7, 8],
        pool: vec![0, 2, 3, 3, 1, 1, 2, 0, 0, 2, 1, 1, 2, 3, 0, 1],
    };
    let weights = [0.5f32, 2.0, 1.5, 3.0, 0.25, 4.0, 1.0, 2.5, 0.75];
    for (min, max) in [(1, 3), (2, 2), (1, 1), (2, 3)] {
        let t = Tfidf {
            min,
            max,
            ..Tfidf { counts: t.counts.clone(), indexes: t.indexes.clone(), pool: t.pool.clone(), ..t }
        };
        for (b, n) in [(1, 1), (3, 3), (2, 5), (3, 17)] {
            let vals: Vec<i64> =
                bits(DType::U8, &[b * n], (b * n) as u64).to_f64_vec().iter().map(|v| *v as i64 % 4).collect();
            let x = Tensor::from_vec(vec![b, n], vals.clone());
            let direct: Vec<Vec<f64>> = vals.chunks(n).map(|r| tfidf_direct(&t, r)).collect();
            let tf = tfidf_run(&t, "TF", None, &x);
            assert_eq!(tf.to_f64_vec(), direct.concat(), "TF min={min} max={max} b={b} n={n}");
            let idf = tfidf_run(&t, "IDF", Some(&weights), &x).to_f64_vec();
            let tfidf = tfidf_run(&t, "TFIDF", Some(&weights), &x).to_f64_vec();
            for (i, c) in direct.concat().iter().enumerate() {
                let w = weights[i % 9] as f64;
                assert_eq!(idf[i], if *c > 0.0 { w } else { 0.0 }, "IDF {i}");
                assert_eq!(tfidf[i], c * w, "TFIDF {i}");
            }
        }
    }
    let one_d = tfidf_run(&t, "TF", None, &Tensor::from_vec(vec![5], vec![0i32, 2, 3, 3, 1]));
    assert_eq!(one_d.shape(), &[9]);
}

#[test]
fn tfidf_vectorizer_rejects_string_pools() {
    let mut s = onnx_protobuf::AttributeProto::new();
    s.name = "pool_strings".into();
    s.type_ = onnx_protobuf::attribute_proto::AttributeType::STRINGS.into();
    s.strings = vec![b"a".to_vec()];
    let e = ModelBuilder::new(9)
        .input_typed("x", elem(DType::I64), dims(&[3]))
        .node_attrs("TfIdfVectorizer", &["x"], &["y"], vec![s, a_str("mode", "TF")])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("attribute 'pool_strings'") && e.contains("not supported"), "{e}");
}

#[test]
fn opset_1_not_and_add_with_consumed_inputs_import() {
    for n in [1, 3, 5, 17] {
        let x = Tensor::from_vec(vec![n], (0..n).map(|i| i % 3 == 0).collect::<Vec<bool>>());
        let y = run(1, "Not", vec![], std::slice::from_ref(&x));
        let want: Vec<bool> = x.as_slice::<bool>().unwrap().iter().map(|b| !b).collect();
        assert_eq!(y.as_slice::<bool>().unwrap(), want.as_slice());
        let a = Tensor::from_vec(vec![n], (0..n).map(|i| i as f32).collect::<Vec<f32>>());
        let y = run(1, "Add", vec![a_ints("consumed_inputs", &[0, 0])], &[a.clone(), a.clone()]);
        let want: Vec<f64> = (0..n).map(|i| 2.0 * i as f64).collect();
        assert_eq!(y.to_f64_vec(), want);
    }
}

#[test]
fn opset_1_ops_with_another_interface_are_rejected_per_node() {
    let e = ModelBuilder::new(1)
        .input("x", &[2, 3])
        .node_attrs("Reshape", &["x"], &["y"], vec![a_ints("shape", &[3, 2])])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("(Reshape)") && e.contains("opset 1"), "{e}");
    let concat =
        |attrs| ModelBuilder::new(3).input("x", &[2, 3]).node_attrs("Concat", &["x", "x"], &["y"], attrs).output("y");
    let e = concat(vec![]).import().unwrap_err().to_string();
    assert!(e.contains("(Concat), attribute 'axis'"), "{e}");
    let g = concat(vec![a_int("axis", 1)]).graph();
    assert_eq!(out_shape(&g, 0), vec![2, 6]);
}

/// ReduceMax/ReduceMin (opset 20) of a bool `[rows, n]` input along axis 1.
fn bool_reduce(op: &str, x: &Tensor) -> Vec<bool> {
    let g = ModelBuilder::new(20)
        .input_typed("x", elem(DType::Bool), dims(x.shape()))
        .init("axes", &i64s(&[1]))
        .node_attrs(op, &["x", "axes"], &["y"], vec![a_int("keepdims", 0)])
        .output("y")
        .graph();
    let y = eval_graph(&verified(g), std::slice::from_ref(x)).expect("eval").remove(0);
    y.as_slice::<bool>().expect("bool").to_vec()
}

#[test]
fn bool_reduce_max_is_any_and_min_is_all() {
    for n in [0, 1, 3, 5, 17] {
        let v: Vec<bool> = (0..4 * n).map(|i| (i * 7 + i / n.max(1)) % 5 == 0 || i % n.max(1) == 0 && i < n).collect();
        let x = Tensor::from_vec(vec![4, n], v.clone());
        let rows: Vec<&[bool]> = if n == 0 { vec![&[]; 4] } else { v.chunks(n).collect() };
        let any: Vec<bool> = rows.iter().map(|r| r.iter().any(|&b| b)).collect();
        let all: Vec<bool> = rows.iter().map(|r| r.iter().all(|&b| b)).collect();
        assert_eq!(bool_reduce("ReduceMax", &x), any, "n={n}");
        assert_eq!(bool_reduce("ReduceMin", &x), all, "n={n}");
    }
}
