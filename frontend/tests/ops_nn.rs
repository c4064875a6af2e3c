//! Import of the neural-network op family: attributes resolved into the IR's typed form.
mod common;
use common::*;
use kiln_ir::{ConvAttrs, Op, PoolAttrs, PoolKind, ReduceKind};

fn conv_model(attrs: Vec<onnx_protobuf::AttributeProto>, x: &[usize]) -> kiln_ir::Graph {
    ModelBuilder::new(13)
        .input("x", x)
        .init("w", &zeros(&[4, 3, 3, 3]))
        .init("b", &zeros(&[4]))
        .node_attrs("Conv", &["x", "w", "b"], &["y"], attrs)
        .output("y")
        .graph()
}

#[test]
fn conv_defaults_take_kernel_from_weights() {
    let g = conv_model(vec![], &[1, 3, 8, 8]);
    let want = ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![0; 4], group: 1 };
    assert_eq!(only_op(&g), Op::Conv(want));
    assert_eq!(out_shape(&g, 0), vec![1, 4, 6, 6]);
    assert_eq!(g.nodes.iter().next().unwrap().1.inputs.len(), 3);
}

#[test]
fn conv_same_upper_and_lower_put_the_odd_pad_at_opposite_ends() {
    // in 8, stride 2, kernel 3: out 4, total pad (4-1)*2+3-8 = 1.
    let upper = conv_model(vec![a_str("auto_pad", "SAME_UPPER"), a_ints("strides", &[2, 2])], &[1, 3, 8, 8]);
    let Op::Conv(a) = only_op(&upper) else { panic!() };
    assert_eq!(a.pads, vec![0, 0, 1, 1]);
    assert_eq!(out_shape(&upper, 0), vec![1, 4, 4, 4]);
    let lower = conv_model(vec![a_str("auto_pad", "SAME_LOWER"), a_ints("strides", &[2, 2])], &[1, 3, 8, 8]);
    let Op::Conv(a) = only_op(&lower) else { panic!() };
    assert_eq!(a.pads, vec![1, 1, 0, 0]);
}

#[test]
fn conv_explicit_pads_and_valid() {
    let g = conv_model(vec![a_ints("pads", &[1, 2, 1, 2])], &[1, 3, 5, 5]);
    let Op::Conv(a) = only_op(&g) else { panic!() };
    assert_eq!(a.pads, vec![1, 2, 1, 2]);
    let g = conv_model(vec![a_str("auto_pad", "VALID"), a_ints("pads", &[9, 9, 9, 9])], &[1, 3, 5, 5]);
    let Op::Conv(a) = only_op(&g) else { panic!() };
    assert_eq!(a.pads, vec![0; 4]);
}

#[test]
fn conv_bad_attribute_names_node_and_attribute() {
    let b = ModelBuilder::new(13)
        .input("x", &[1, 3, 5, 5])
        .init("w", &zeros(&[4, 3, 3, 3]))
        .node_attrs("Conv", &["x", "w"], &["y"], vec![a_ints("strides", &[1])])
        .output("y");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("node 'Conv_0' (Conv), attribute 'strides'"), "{e}");
    let b = ModelBuilder::new(13)
        .input("x", &[1, 3, 5, 5])
        .init("w", &zeros(&[4, 3, 3, 3]))
        .node_attrs("Conv", &["x", "w"], &["y"], vec![a_str("auto_pad", "SAME_WEIRD")])
        .output("y");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("attribute 'auto_pad'") && e.contains("SAME_WEIRD"), "{e}");
}

#[test]
fn gemm_with_one_d_bias_and_transposes() {
    let g = ModelBuilder::new(13)
        .input("a", &[2, 3])
        .init("b", &zeros(&[4, 3]))
        .init("c", &zeros(&[4]))
        .node_attrs("Gemm", &["a", "b", "c"], &["y"], vec![a_int("transB", 1), a_float("alpha", 0.5)])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Gemm { alpha: 0.5.into(), beta: 1.0.into(), trans_a: false, trans_b: true });
    assert_eq!(out_shape(&g, 0), vec![2, 4]);
}

#[test]
fn matmul_with_one_d_operands_goes_through_reshapes() {
    let g = ModelBuilder::new(13)
        .input("a", &[3])
        .input("b", &[2, 3, 4])
        .node("MatMul", &["a", "b"], &["y"])
        .output("y")
        .graph();
    assert_eq!(op_names(&g), vec!["reshape", "matmul", "reshape"]);
    assert_eq!(out_shape(&g, 0), vec![2, 4]);
    let g = ModelBuilder::new(13)
        .input("a", &[5, 3])
        .input("b", &[3])
        .node("MatMul", &["a", "b"], &["y"])
        .output("y")
        .graph();
    assert_eq!(out_shape(&g, 0), vec![5]);
    let g =
        ModelBuilder::new(13).input("a", &[3]).input("b", &[3]).node("MatMul", &["a", "b"], &["y"]).output("y").graph();
    assert_eq!(out_shape(&g, 0), Vec::<usize>::new());
}

#[test]
fn batch_norm_and_lrn() {
    let c = zeros(&[3]);
    let g = ModelBuilder::new(9)
        .input("x", &[1, 3, 4, 4])
        .init("s", &c)
        .init("b", &c)
        .init("m", &c)
        .init("v", &c)
        .node_attrs("BatchNormalization", &["x", "s", "b", "m", "v"], &["y"], vec![a_float("epsilon", 1e-3)])
        .node_attrs("LRN", &["y"], &["z"], vec![a_int("size", 5)])
        .output("z")
        .graph();
    assert_eq!(
        ops(&g),
        vec![
            Op::BatchNorm { epsilon: 1e-3.into() },
            Op::Lrn { size: 5, alpha: 1e-4.into(), beta: 0.75.into(), bias: 1.0.into() }
        ]
    );
}

#[test]
fn pools_resolve_pads_and_options() {
    let g = ModelBuilder::new(12)
        .input("x", &[1, 2, 7, 7])
        .node_attrs(
            "MaxPool",
            &["x"],
            &["y"],
            vec![a_ints("kernel_shape", &[3, 3]), a_ints("strides", &[2, 2]), a_int("ceil_mode", 1)],
        )
        .node_attrs(
            "AveragePool",
            &["y"],
            &["z"],
            vec![a_ints("kernel_shape", &[2, 2]), a_str("auto_pad", "SAME_UPPER"), a_int("count_include_pad", 1)],
        )
        .output("z")
        .graph();
    let ops = ops(&g);
    let max = PoolAttrs {
        kind: PoolKind::Max,
        kernel: vec![3, 3],
        strides: vec![2, 2],
        dilations: vec![1, 1],
        pads: vec![0; 4],
        ceil_mode: true,
    };
    assert_eq!(ops[0], Op::Pool(max));
    let avg = PoolAttrs {
        kind: PoolKind::Avg { count_include_pad: true },
        kernel: vec![2, 2],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        pads: vec![0, 0, 1, 1],
        ceil_mode: false,
    };
    assert_eq!(ops[1], Op::Pool(avg));
}

#[test]
fn max_pool_indices_output_imports_with_flat_input_indices() {
    // 2x2 windows, stride 2, over [1, 2, 4, 4] holding 31 - i at flat index i (the maximum of
    // each window is its first element); channel 1 adds the plane offset 16.
    let g = ModelBuilder::new(12)
        .input("x", &[1, 2, 4, 4])
        .node_attrs("MaxPool", &["x"], &["y", "idx"], vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[2, 2])])
        .output("y")
        .output("idx")
        .graph();
    let x: Vec<f32> = (0..32).map(|i| 31.0 - i as f32).collect();
    let out = kiln_ir::eval_graph(&g, &[f32s(&[1, 2, 4, 4], &x)]).unwrap();
    let idx = vec![0, 2, 8, 10, 16, 18, 24, 26];
    assert_eq!(out[1].shape(), &[1, 2, 2, 2]);
    assert_eq!(out[1].to_i64_vec(), idx);
    assert_eq!(out[0].to_f64_vec(), idx.iter().map(|&i| 31.0 - i as f64).collect::<Vec<_>>());
}

#[test]
fn global_pools_become_reduces_over_spatial_axes() {
    let g = ModelBuilder::new(13)
        .input("x", &[1, 2, 4, 5])
        .node("GlobalAveragePool", &["x"], &["y"])
        .node("GlobalMaxPool", &["y"], &["z"])
        .output("z")
        .graph();
    assert_eq!(
        ops(&g),
        vec![
            Op::Reduce { kind: ReduceKind::Mean, axes: vec![2, 3], keepdims: true },
            Op::Reduce { kind: ReduceKind::Max, axes: vec![2, 3], keepdims: true },
        ]
    );
    assert_eq!(out_shape(&g, 0), vec![1, 2, 1, 1]);
}

#[test]
fn softmax_opset_13_uses_axis_default_last() {
    let g = ModelBuilder::new(13).input("x", &[2, 3, 4]).node("Softmax", &["x"], &["y"]).output("y").graph();
    assert_eq!(only_op(&g), Op::Softmax { axis: 2 });
}

#[test]
fn softmax_before_13_flattens_from_axis_1() {
    let g = ModelBuilder::new(11).input("x", &[2, 3, 4]).node("Softmax", &["x"], &["y"]).output("y").graph();
    assert_eq!(
        ops(&g),
        vec![Op::Reshape { shape: vec![2, 12] }, Op::Softmax { axis: 1 }, Op::Reshape { shape: vec![2, 3, 4] }]
    );
    assert_eq!(out_shape(&g, 0), vec![2, 3, 4]);
    // Axis on the last dim needs no rewrite.
    let g = ModelBuilder::new(9)
        .input("x", &[2, 3])
        .node_attrs("LogSoftmax", &["x"], &["y"], vec![a_int("axis", -1)])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::LogSoftmax { axis: 1 });
}

#[test]
fn lp_pool_is_the_p_norm_of_each_window() {
    // 1-D, kernel 2, stride 1, p = 3: (|a|^3 + |b|^3)^(1/3) per window.
    let x = [1.0f32, -2.0, 3.0, -0.5];
    let b = ModelBuilder::new(18)
        .input("x", &[1, 1, 4])
        .node_attrs("LpPool", &["x"], &["y"], vec![a_ints("kernel_shape", &[2]), a_int("p", 3)])
        .output("y");
    let g = verified(b.graph());
    let got = kiln_ir::eval_graph(&g, &[f32s(&[1, 1, 4], &x)]).unwrap()[0].to_f64_vec();
    let want: Vec<f64> =
        x.windows(2).map(|w| (w.iter().map(|v| (v.abs() as f64).powi(3)).sum::<f64>()).cbrt()).collect();
    assert_eq!(got.len(), 3);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
    }
    let bad = ModelBuilder::new(18)
        .input("x", &[1, 1, 4])
        .node_attrs("LpPool", &["x"], &["y"], vec![a_ints("kernel_shape", &[2]), a_int("p", 0)])
        .output("y");
    assert!(bad.import().unwrap_err().to_string().contains("attribute 'p'"));
}
