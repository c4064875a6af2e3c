//! Whole graphs through `JitModel` against `kiln_ir::eval_graph`: a small conv net (conv, relu,
//! pool, 1x1 conv, reshape, gemm, softmax), outputs listed twice or also read later, an output
//! that is a graph input, input validation messages, stats, and 4 threads running at once.

use kiln_ir::{ConvAttrs, DType, Graph, Op, PoolAttrs, PoolKind, Tensor, TensorType, UnaryOp, ValueId};
use kiln_runtime::{JitModel, JitOptions};
use rand::{Rng, SeedableRng};

fn add(g: &mut Graph, name: &str, op: Op, inputs: Vec<ValueId>) -> ValueId {
    let tys: Vec<TensorType> = inputs.iter().map(|&v| g.ty(v).clone()).collect();
    let refs: Vec<&TensorType> = tys.iter().collect();
    let out = kiln_ir::infer_types(&op, &refs).unwrap_or_else(|e| panic!("{name}: {e}"));
    g.add_node1(name, op, inputs, format!("{name}_out"), out[0].clone())
}

fn random(r: &mut rand::rngs::StdRng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|_| r.gen_range(-1.0f32..1.0)).collect::<Vec<_>>())
}

fn conv(k: usize, pad: usize, group: usize) -> Op {
    Op::Conv(ConvAttrs { kernel: vec![k, k], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![pad; 4], group })
}

/// x[1,3,17,17] -> conv3x3(8)+bias -> relu -> maxpool2 -> conv1x1(5) -> reshape -> gemm(10) -> softmax.
/// Outputs: softmax, the pool result (also read by later nodes), softmax again.
fn conv_net() -> Graph {
    let mut r = rand::rngs::StdRng::seed_from_u64(7);
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![1, 3, 17, 17]));
    let w1 = g.add_const("w1", random(&mut r, &[8, 3, 3, 3]));
    let b1 = g.add_const("b1", random(&mut r, &[8]));
    let c1 = add(&mut g, "conv1", conv(3, 1, 1), vec![x, w1, b1]);
    let a1 = add(&mut g, "relu1", Op::Unary(UnaryOp::Relu), vec![c1]);
    let pool = PoolAttrs {
        kind: PoolKind::Max,
        kernel: vec![2, 2],
        strides: vec![2, 2],
        dilations: vec![1, 1],
        pads: vec![0; 4],
        ceil_mode: true,
    };
    let p1 = add(&mut g, "pool1", Op::Pool(pool), vec![a1]);
    let w2 = g.add_const("w2", random(&mut r, &[5, 8, 1, 1]));
    let c2 = add(&mut g, "conv2", conv(1, 0, 1), vec![p1, w2]);
    let flat = g.ty(c2).numel();
    let f = add(&mut g, "flatten", Op::Reshape { shape: vec![1, flat] }, vec![c2]);
    let w3 = g.add_const("w3", random(&mut r, &[10, flat]));
    let b3 = g.add_const("b3", random(&mut r, &[10]));
    let fc = add(
        &mut g,
        "fc",
        Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b: true },
        vec![f, w3, b3],
    );
    let sm = add(&mut g, "softmax", Op::Softmax { axis: 1 }, vec![fc]);
    g.outputs = vec![sm, p1, sm];
    g
}

fn assert_close(got: &Tensor, want: &Tensor, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (a, b)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        assert!((a - b).abs() <= 1e-5 + 1e-4 * b.abs(), "{what}[{i}]: {a} vs {b}");
    }
}

/// The conv net on the host's micro-kernels (when it has them) and on Cranelift's kernels only.
#[test]
fn conv_net_matches_the_evaluator() {
    for features in [vec![], vec!["-avx512f".to_string(), "-avx2".to_string()]] {
        let g = conv_net();
        let opts = JitOptions { features: features.clone(), ..JitOptions::default() };
        let model = JitModel::compile(g.clone(), &opts).unwrap_or_else(|e| panic!("{e}"));
        let x = random(&mut rand::rngs::StdRng::seed_from_u64(8), &[1, 3, 17, 17]);
        let want = kiln_ir::eval_graph(&g, std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{e}"));
        let got = model.run(&[x]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.len(), 3);
        for (j, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_close(a, b, &format!("{features:?}: output {j}"));
        }
        let stats = model.stats();
        // conv1, relu, pool, conv2, gemm, softmax: the reshape is an alias, not a kernel.
        assert_eq!(stats.kernels, 6, "{features:?}");
        assert!(stats.code_bytes > 0);
        assert!(stats.workspace_bytes > 0);
        if stats.micro_kernels == 0 {
            assert_eq!(
                stats.weight_bytes,
                g.constant_bytes(),
                "{features:?}: every constant is read, each emitted once"
            );
        } else {
            // The gemm's weight [10, 72] is stored prepacked in panels of a whole vector tile
            // (10 columns padded to the tile width), so the weights grow.
            assert!(stats.weight_bytes > g.constant_bytes(), "{features:?}: {stats:?}");
        }
        if !features.is_empty() {
            assert_eq!(stats.micro_kernels, 0, "{features:?}: Cranelift's kernels only");
        }
    }
}

#[test]
fn identical_nodes_share_one_kernel() {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![2, 5]));
    let a = add(&mut g, "s1", Op::Softmax { axis: 1 }, vec![x]);
    let b = add(&mut g, "s2", Op::Softmax { axis: 1 }, vec![a]);
    let c = add(&mut g, "s3", Op::Softmax { axis: 0 }, vec![b]);
    g.outputs = vec![c, x];
    let model = JitModel::compile(g.clone(), &JitOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.stats().kernels, 2);
    let xin = random(&mut rand::rngs::StdRng::seed_from_u64(9), &[2, 5]);
    let want = kiln_ir::eval_graph(&g, std::slice::from_ref(&xin)).unwrap_or_else(|e| panic!("{e}"));
    let got = model.run(std::slice::from_ref(&xin)).unwrap_or_else(|e| panic!("{e}"));
    assert_close(&got[0], &want[0], "softmax chain");
    assert_eq!(got[1], xin, "an output that is the input is copied");
}

#[test]
fn bad_inputs_are_reported_by_name() {
    let model = JitModel::compile(conv_net(), &JitOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let err = model.run(&[]).unwrap_err().to_string();
    assert!(err.contains("expected 1 inputs, got 0"), "{err}");
    let err = model.run(&[Tensor::zeros(&TensorType::new(DType::F32, vec![1, 3, 16, 17]))]).unwrap_err().to_string();
    assert!(err.contains("input `x`") && err.contains("shape"), "{err}");
    let err = model.run(&[Tensor::zeros(&TensorType::new(DType::F64, vec![1, 3, 17, 17]))]).unwrap_err().to_string();
    assert!(err.contains("input `x`") && err.contains("dtype"), "{err}");
}

#[test]
fn runs_from_four_threads_at_once() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JitModel>();
    let model = JitModel::compile(conv_net(), &JitOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let inputs: Vec<Tensor> =
        (0..4).map(|i| random(&mut rand::rngs::StdRng::seed_from_u64(100 + i), &[1, 3, 17, 17])).collect();
    let serial: Vec<Vec<Tensor>> = inputs.iter().map(|x| model.run(std::slice::from_ref(x)).unwrap()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .iter()
            .map(|x| {
                let model = &model;
                s.spawn(move || (0..20).map(|_| model.run(std::slice::from_ref(x)).unwrap()).collect::<Vec<_>>())
            })
            .collect();
        for (h, want) in handles.into_iter().zip(&serial) {
            for got in h.join().unwrap() {
                assert_eq!(&got, want, "a concurrent run differs from the serial one");
            }
        }
    });
}

#[test]
fn reshapes_that_cannot_alias_are_copies() {
    // A reshape of a graph input into a graph output, and a reshape of a constant read by a node.
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![3, 5]));
    let r = add(&mut g, "r", Op::Reshape { shape: vec![5, 3] }, vec![x]);
    let c = g.add_const("c", Tensor::from_vec(vec![15], (0..15).map(|i| i as f32).collect::<Vec<_>>()));
    let rc = add(&mut g, "rc", Op::Reshape { shape: vec![3, 5] }, vec![c]);
    let s = add(&mut g, "s", Op::Softmax { axis: 1 }, vec![rc]);
    let rs = add(&mut g, "rs", Op::Reshape { shape: vec![15] }, vec![s]);
    g.outputs = vec![r, rs];
    let model = JitModel::compile(g.clone(), &JitOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let xin = random(&mut rand::rngs::StdRng::seed_from_u64(11), &[3, 5]);
    let want = kiln_ir::eval_graph(&g, std::slice::from_ref(&xin)).unwrap_or_else(|e| panic!("{e}"));
    let got = model.run(std::slice::from_ref(&xin)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got[0], want[0]);
    assert_close(&got[1], &want[1], "softmax of a reshaped constant");
    assert_eq!(model.stats().kernels, 1, "reshapes are copies in the entry, not kernels");
}

/// The process's virtual size in bytes (Linux `/proc/self/statm`), or `None` elsewhere.
fn virtual_size() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().next()?.parse().ok()?;
    Some(pages * 4096)
}

/// A dropped model gives its JIT memory back: 16 models with 32 MB of weights each (an arena
/// of about 192 MB apiece) compiled and dropped one after the other leave the process's virtual
/// size where it was, give or take one model. (Cranelift's JIT memory leaks unless freed; with
/// several large models alive or leaked, code and weights drifted more than 2 GiB apart and
/// relocations overflowed.)
#[test]
fn dropped_models_free_their_memory() {
    let n = 8 << 20;
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![n]));
    let c = g.add_const("c", Tensor::from_vec(vec![n], vec![0.5f32; n]));
    let y = add(&mut g, "add", Op::Binary(kiln_ir::BinaryOp::Add), vec![x, c]);
    g.outputs = vec![y];
    let Some(before) = virtual_size() else { return };
    for _ in 0..16 {
        let model = JitModel::compile(g.clone(), &JitOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model.stats().weight_bytes, 4 * n);
    }
    let grown = virtual_size().unwrap_or(before).saturating_sub(before);
    assert!(grown < 1 << 30, "virtual size grew by {} MiB over 16 dropped models", grown >> 20);
}
