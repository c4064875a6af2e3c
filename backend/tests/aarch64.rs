//! Cross-compilation: every heavy kernel family (conv incl. depthwise and 1x1, gemm, batched
//! matmul, pool, batch_norm, lrn, softmax, reduce, arg_max) compiled through `compile_graph` into
//! a `cranelift_object::ObjectModule` for aarch64-unknown-linux-gnu, and for baseline x86-64
//! (no SSE4.1/AVX/FMA). The objects must define every entry symbol, keep the weights in
//! read-only data, and reference no undefined symbol at all (they link without libc/libm).

use cranelift_object::{ObjectBuilder, ObjectModule};
use kiln_backend::{compile_graph, isa_for_triple};
use kiln_ir::{ConvAttrs, DType, Graph, Op, PoolAttrs, PoolKind, ReduceKind, Tensor, TensorType, ValueId};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

fn node(g: &mut Graph, op: Op, inputs: Vec<ValueId>) -> ValueId {
    let tys: Vec<TensorType> = inputs.iter().map(|&v| g.ty(v).clone()).collect();
    let refs: Vec<&TensorType> = tys.iter().collect();
    let out = kiln_ir::infer_types(&op, &refs).unwrap_or_else(|e| panic!("{}: {e}", op.name()));
    g.add_node1(op.name(), op, inputs, "y", out[0].clone())
}

fn weights(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|i| (i % 7) as f32 * 0.25 - 0.5).collect::<Vec<_>>())
}

/// One single-family graph per entry.
fn family_graphs() -> Vec<(&'static str, Graph)> {
    let conv = |k: usize, group: usize| {
        Op::Conv(ConvAttrs {
            kernel: vec![k, k],
            strides: vec![1, 1],
            dilations: vec![1, 1],
            pads: vec![k / 2; 4],
            group,
        })
    };
    let x4 = TensorType::new(DType::F32, vec![1, 8, 9, 9]);
    let mut out = vec![];
    let mut single = |name: &'static str, ty: &TensorType, make: &dyn Fn(&mut Graph, ValueId) -> ValueId| {
        let mut g = Graph::new();
        let x = g.add_input("x", ty.clone());
        let y = make(&mut g, x);
        g.outputs.push(y);
        out.push((name, g));
    };
    single("conv3x3", &x4, &|g, x| {
        let w = g.add_const("w", weights(&[4, 8, 3, 3]));
        let b = g.add_const("b", weights(&[4]));
        node(g, conv(3, 1), vec![x, w, b])
    });
    single("depthwise", &x4, &|g, x| {
        let w = g.add_const("w", weights(&[8, 1, 3, 3]));
        node(g, conv(3, 8), vec![x, w])
    });
    single("pointwise", &x4, &|g, x| {
        let w = g.add_const("w", weights(&[5, 8, 1, 1]));
        node(g, conv(1, 1), vec![x, w])
    });
    let pool = |kind| {
        Op::Pool(PoolAttrs {
            kind,
            kernel: vec![3, 3],
            strides: vec![2, 2],
            dilations: vec![1, 1],
            pads: vec![1; 4],
            ceil_mode: true,
        })
    };
    single("maxpool", &x4, &|g, x| node(g, pool(PoolKind::Max), vec![x]));
    single("avgpool", &x4, &|g, x| node(g, pool(PoolKind::Avg { count_include_pad: false }), vec![x]));
    single("batchnorm", &x4, &|g, x| {
        let p: Vec<ValueId> = (0..4).map(|i| g.add_const(format!("p{i}"), weights(&[8]))).collect();
        node(g, Op::BatchNorm { epsilon: 1e-5.into() }, vec![x, p[0], p[1], p[2], p[3]])
    });
    single("lrn", &x4, &|g, x| {
        node(g, Op::Lrn { size: 5, alpha: 1e-4.into(), beta: 0.75.into(), bias: 1.0.into() }, vec![x])
    });
    single("softmax", &x4, &|g, x| node(g, Op::Softmax { axis: 1 }, vec![x]));
    single("log_softmax", &x4, &|g, x| node(g, Op::LogSoftmax { axis: 3 }, vec![x]));
    single("reduce", &x4, &|g, x| {
        let a = node(g, Op::Reduce { kind: ReduceKind::LogSumExp, axes: vec![1, 3], keepdims: true }, vec![x]);
        node(g, Op::Reduce { kind: ReduceKind::L2, axes: vec![3], keepdims: false }, vec![a])
    });
    single("argmax", &x4, &|g, x| node(g, Op::ArgMax { axis: 1, keepdims: false, select_last_index: false }, vec![x]));
    let m3 = TensorType::new(DType::F32, vec![3, 5, 17]);
    single("matmul", &m3, &|g, x| {
        let w = g.add_const("w", weights(&[17, 9]));
        node(g, Op::MatMul, vec![x, w])
    });
    let m2 = TensorType::new(DType::F32, vec![5, 17]);
    single("gemm", &m2, &|g, x| {
        let w = g.add_const("w", weights(&[9, 17]));
        let c = g.add_const("c", weights(&[9]));
        node(g, Op::Gemm { alpha: 0.5.into(), beta: 2.0.into(), trans_a: false, trans_b: true }, vec![x, w, c])
    });
    out
}

/// Compiles every family graph for `triple` and checks the object.
fn check_object(triple: &str, features: &[&str]) {
    let isa = isa_for_triple(triple, features).unwrap_or_else(|e| panic!("{e}"));
    let builder = ObjectBuilder::new(isa, "kiln_test", cranelift_module::default_libcall_names()).unwrap();
    let mut module = ObjectModule::new(builder);
    let graphs = family_graphs();
    let mut entries = vec![];
    for (name, g) in &graphs {
        let plan = kiln_passes::plan_memory(g);
        let prefix = format!("{name}_");
        let compiled = compile_graph(&mut module, g, &plan, &prefix).unwrap_or_else(|e| panic!("{triple} {name}: {e}"));
        assert!(compiled.kernels >= 1 && compiled.code_bytes > 0, "{name}");
        entries.push(compiled.entry_symbol);
    }
    let bytes = module.finish().emit().unwrap();
    let file = object::File::parse(bytes.as_slice()).unwrap();
    for entry in &entries {
        let sym = file
            .symbols()
            .find(|s| s.name() == Ok(entry.as_str()))
            .unwrap_or_else(|| panic!("{triple}: no symbol {entry}"));
        assert!(sym.is_definition(), "{triple}: {entry} not defined");
    }
    let undefined: Vec<String> = file
        .symbols()
        .filter(|s| s.is_undefined() && !s.name().unwrap_or("").is_empty())
        .map(|s| s.name().unwrap().to_string())
        .collect();
    assert!(undefined.is_empty(), "{triple}: undefined symbols (libcalls?) {undefined:?}");
    let rodata = file.sections().filter(|s| s.kind() == SectionKind::ReadOnlyData).map(|s| s.size()).sum::<u64>();
    let weights: usize = graphs.iter().map(|(_, g)| g.constant_bytes()).sum();
    assert!(rodata as usize >= weights, "{triple}: rodata {rodata} < weights {weights}");
}

#[test]
fn every_family_compiles_for_aarch64() {
    check_object("aarch64-unknown-linux-gnu", &[]);
}

#[test]
fn every_family_compiles_for_baseline_x86_64_without_libcalls() {
    check_object("x86_64-unknown-linux-gnu", &[]);
}

#[test]
fn every_family_compiles_for_x86_64_with_avx2_fma() {
    check_object("x86_64-unknown-linux-gnu", &["sse41", "avx", "avx2", "fma"]);
}

#[test]
fn unknown_targets_and_features_are_clear_errors() {
    let err = isa_for_triple("riscv64gc-unknown-linux-gnu", &[]).err().unwrap().to_string();
    assert!(err.contains("supported: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu"), "{err}");
    let err = isa_for_triple("x86_64-unknown-linux-gnu", &["avx512"]).err().unwrap().to_string();
    assert!(err.contains("unknown feature `avx512`") && err.contains("fma"), "{err}");
}
