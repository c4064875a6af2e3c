//! Rule family `layout`, channels-last: each rule on a small graph, optimized with that rule
//! (plus the reorder-pair rules and `conv-to-nhwc` where it needs a region to move through)
//! under the cost model of an AVX-512 target, checked for what it does, for computing the same
//! as the original (reference evaluator, random inputs), and snapshotted (insta) so a change in
//! a rule's output shows in review. The last test runs every rule at once on a small
//! MobileNet-style block and checks that the region is NHWC end to end, with reorders only at
//! the graph's input and output.

use kiln_ir::*;
use kiln_passes::egraph::testing::assert_close_outputs;
use kiln_passes::egraph::{optimize, CostModel, OptConfig};
use kiln_passes::rules::all_rules;

fn f32t(s: &[usize]) -> TensorType {
    TensorType::new(DType::F32, s.to_vec())
}

/// Deterministic small weights.
fn weights(g: &mut Graph, name: &str, shape: &[usize]) -> ValueId {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| ((i * 7919 % 113) as f32 - 56.0) / 300.0).collect();
    g.add_const(name, Tensor::from_vec(shape.to_vec(), v))
}

fn conv_attrs(k: usize, stride: usize, group: usize) -> ConvAttrs {
    ConvAttrs { kernel: vec![k, k], strides: vec![stride; 2], dilations: vec![1; 2], pads: vec![k / 2; 4], group }
}

/// `conv(x)` with `m` output channels (kernel `k`, stride 2 for k > 1 so Winograd stays out).
fn conv(g: &mut Graph, x: ValueId, m: usize, k: usize, name: &str) -> ValueId {
    let xt = g.ty(x).clone();
    let (c, h) = (xt.shape[1], xt.shape[2]);
    let stride = if k > 1 { 2 } else { 1 };
    let w = weights(g, &format!("{name}.w"), &[m, c, k, k]);
    let oh = (h + 2 * (k / 2) - k) / stride + 1;
    let op = Op::Conv(conv_attrs(k, stride, 1));
    g.add_node1(name, op, vec![x, w], format!("{name}.y"), f32t(&[1, m, oh, oh]))
}

/// Optimizes `g` with the named rules only, priced for AVX-512 micro-kernels.
fn optimize_with(g: &Graph, names: &[&str]) -> Graph {
    let rules: Vec<_> = all_rules(2).into_iter().filter(|r| names.contains(&r.name.as_str())).collect();
    assert_eq!(rules.len(), names.len(), "every rule named exists: {names:?}");
    let cfg = OptConfig { cost: CostModel::for_target(Some(512)), ..OptConfig::default() };
    let (out, _) = optimize(g, &rules, &cfg).unwrap_or_else(|e| panic!("{e}"));
    verify(&out).unwrap();
    assert_close_outputs(g, &out, 1e-4);
    out
}

fn ops(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|(_, n)| n.op.name()).collect()
}

const PAIRS: [&str; 3] = ["conv-to-nhwc", "transpose-transpose", "transpose-identity"];

fn with_pairs<'a>(more: &[&'a str]) -> Vec<&'a str> {
    PAIRS.iter().copied().chain(more.iter().copied()).collect()
}

fn input(g: &mut Graph, c: usize, hw: usize) -> ValueId {
    g.add_input("x", f32t(&[1, c, hw, hw]))
}

#[test]
fn conv_to_nhwc_puts_a_conv_chain_in_one_region() {
    let mut g = Graph::new();
    let x = input(&mut g, 16, 14);
    let a = conv(&mut g, x, 32, 3, "c0");
    let y = conv(&mut g, a, 48, 1, "c1");
    g.outputs.push(y);
    let out = optimize_with(&g, &PAIRS);
    assert_eq!(ops(&out), ["transpose", "conv_nhwc", "conv_nhwc", "transpose"]);
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn pool_to_nhwc_keeps_max_pooling_inside_the_region() {
    let mut g = Graph::new();
    let x = input(&mut g, 8, 16);
    let a = conv(&mut g, x, 16, 3, "c0");
    let pool = PoolAttrs {
        kind: PoolKind::Max,
        kernel: vec![3, 3],
        strides: vec![2, 2],
        dilations: vec![1, 1],
        pads: vec![1; 4],
        ceil_mode: false,
    };
    let p = g.add_node1("pool", Op::Pool(pool), vec![a], "p", f32t(&[1, 16, 4, 4]));
    let y = conv(&mut g, p, 24, 1, "c1");
    g.outputs.push(y);
    let out = optimize_with(&g, &with_pairs(&["pool-to-nhwc"]));
    assert_eq!(ops(&out), ["transpose", "conv_nhwc", "max_pool_nhwc", "conv_nhwc", "transpose"]);
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn unary_through_reorder_moves_an_activation_into_the_region() {
    let mut g = Graph::new();
    let x = input(&mut g, 8, 12);
    let a = conv(&mut g, x, 16, 3, "c0");
    let s = g.add_node1("sig", Op::Unary(UnaryOp::Sigmoid), vec![a], "s", f32t(&[1, 16, 6, 6]));
    let y = conv(&mut g, s, 16, 1, "c1");
    g.outputs.push(y);
    let out = optimize_with(&g, &with_pairs(&["unary-through-reorder"]));
    assert_eq!(ops(&out), ["transpose", "conv_nhwc", "sigmoid", "conv_nhwc", "transpose"]);
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn elementwise_through_reorder_transposes_constants_and_residuals() {
    let mut g = Graph::new();
    let x = input(&mut g, 8, 12);
    let a = conv(&mut g, x, 16, 3, "c0");
    let k = weights(&mut g, "scale", &[16, 1, 1]);
    let m = g.add_node1("mul", Op::Binary(BinaryOp::Mul), vec![a, k], "m", f32t(&[1, 16, 6, 6]));
    let b = conv(&mut g, m, 16, 1, "c1");
    let r = g.add_node1("add", Op::Binary(BinaryOp::Add), vec![b, m], "r", f32t(&[1, 16, 6, 6]));
    let y = conv(&mut g, r, 8, 1, "c2");
    g.outputs.push(y);
    let out = optimize_with(&g, &with_pairs(&["elementwise-through-reorder"]));
    assert_eq!(ops(&out), ["transpose", "conv_nhwc", "mul", "conv_nhwc", "add", "conv_nhwc", "transpose"]);
    let scale = out.constants.iter().find(|(_, c)| c.shape() == [1, 1, 1, 16]);
    assert!(scale.is_some(), "the per-channel constant is transposed to NHWC");
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn concat_through_reorder_concatenates_along_the_channel_axis() {
    let mut g = Graph::new();
    let x = input(&mut g, 8, 12);
    let a = conv(&mut g, x, 16, 3, "c0");
    let b = conv(&mut g, x, 8, 3, "c1");
    let cat = g.add_node1("cat", Op::Concat { axis: 1 }, vec![a, b], "cat", f32t(&[1, 24, 6, 6]));
    let y = conv(&mut g, cat, 16, 1, "c2");
    g.outputs.push(y);
    let out = optimize_with(&g, &with_pairs(&["concat-through-reorder"]));
    let concat = out.nodes.iter().find(|(_, n)| n.op.name() == "concat").map(|(_, n)| n.op.clone());
    assert_eq!(concat, Some(Op::Concat { axis: 3 }));
    assert_eq!(ops(&out).iter().filter(|&&o| o == "transpose").count(), 2, "{}", print_graph(&out, false));
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn split_through_reorder_splits_along_the_channel_axis() {
    let mut g = Graph::new();
    let x = input(&mut g, 8, 12);
    let a = conv(&mut g, x, 16, 3, "c0");
    let parts = g.add_node(
        "split",
        Op::Split { axis: 1, sizes: vec![8, 8] },
        vec![a],
        vec![("s0".into(), f32t(&[1, 8, 6, 6])), ("s1".into(), f32t(&[1, 8, 6, 6]))],
    );
    let (s0, s1) = (g.node(parts).outputs[0], g.node(parts).outputs[1]);
    let b = conv(&mut g, s1, 8, 1, "c1");
    let cat = g.add_node1("cat", Op::Concat { axis: 1 }, vec![s0, b], "cat", f32t(&[1, 16, 6, 6]));
    let y = conv(&mut g, cat, 8, 1, "c2");
    g.outputs.push(y);
    let out = optimize_with(&g, &with_pairs(&["split-through-reorder", "concat-through-reorder"]));
    let split = out.nodes.iter().find(|(_, n)| n.op.name() == "split").map(|(_, n)| n.op.clone());
    assert_eq!(split, Some(Op::Split { axis: 3, sizes: vec![8, 8] }));
    assert_eq!(ops(&out).iter().filter(|&&o| o == "transpose").count(), 2, "{}", print_graph(&out, false));
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn slice_through_reorder_permutes_the_slice() {
    let mut g = Graph::new();
    let x = input(&mut g, 8, 12);
    let a = conv(&mut g, x, 16, 3, "c0");
    let op = Op::Slice { starts: vec![0, 4, 0, 0], steps: vec![1, 1, 1, 1], lens: vec![1, 8, 6, 6] };
    let s = g.add_node1("slice", op, vec![a], "s", f32t(&[1, 8, 6, 6]));
    let y = conv(&mut g, s, 8, 1, "c1");
    g.outputs.push(y);
    let out = optimize_with(&g, &with_pairs(&["slice-through-reorder"]));
    let slice = out.nodes.iter().find(|(_, n)| n.op.name() == "slice").map(|(_, n)| n.op.clone());
    assert_eq!(slice, Some(Op::Slice { starts: vec![0, 0, 0, 4], steps: vec![1; 4], lens: vec![1, 6, 6, 8] }));
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn resize_through_reorder_permutes_scales_and_sizes() {
    let mut g = Graph::new();
    let x = input(&mut g, 8, 12);
    let a = conv(&mut g, x, 16, 3, "c0");
    let attrs = ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::Floor),
        coord: CoordMode::Asymmetric,
        scales: vec![1.0.into(), 1.0.into(), 2.0.into(), 2.0.into()],
        sizes: vec![1, 16, 12, 12],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    };
    let r = g.add_node1("resize", Op::Resize(attrs), vec![a], "r", f32t(&[1, 16, 12, 12]));
    let y = conv(&mut g, r, 8, 1, "c1");
    g.outputs.push(y);
    let out = optimize_with(&g, &with_pairs(&["resize-through-reorder"]));
    let sizes = out.nodes.iter().find_map(|(_, n)| match &n.op {
        Op::Resize(a) => Some(a.sizes.clone()),
        _ => None,
    });
    assert_eq!(sizes, Some(vec![1, 12, 12, 16]));
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn reduce_through_reorder_and_transpose_to_reshape_end_a_region_at_a_global_pool() {
    let mut g = Graph::new();
    let x = input(&mut g, 8, 12);
    let a = conv(&mut g, x, 16, 3, "c0");
    let op = Op::Reduce { kind: ReduceKind::Mean, axes: vec![2, 3], keepdims: true };
    let p = g.add_node1("gap", op, vec![a], "p", f32t(&[1, 16, 1, 1]));
    let y = g.add_node1("flatten", Op::Reshape { shape: vec![1, 16] }, vec![p], "y", f32t(&[1, 16]));
    g.outputs.push(y);
    let out = optimize_with(&g, &with_pairs(&["reduce-through-reorder", "transpose-to-reshape", "reshape-reshape"]));
    assert_eq!(ops(&out), ["transpose", "conv_nhwc", "reduce_mean", "reshape"], "{}", print_graph(&out, false));
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn transpose_to_reshape_turns_a_unit_dim_transpose_into_an_alias() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[1, 1, 1, 32]));
    let t = g.add_node1("t", Op::Transpose { perm: vec![0, 3, 1, 2] }, vec![x], "t", f32t(&[1, 32, 1, 1]));
    let y = g.add_node1("relu", Op::Unary(UnaryOp::Relu), vec![t], "y", f32t(&[1, 32, 1, 1]));
    g.outputs.push(y);
    let out = optimize_with(&g, &["transpose-to-reshape"]);
    assert_eq!(ops(&out), ["reshape", "relu"]);
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn conv_to_winograd_on_nhwc_stays_in_the_region() {
    let mut g = Graph::new();
    let x = input(&mut g, 64, 28);
    let mut cur = x;
    for i in 0..2 {
        let w = weights(&mut g, &format!("w{i}"), &[64, 64, 3, 3]);
        let op = Op::Conv(ConvAttrs {
            kernel: vec![3, 3],
            strides: vec![1, 1],
            dilations: vec![1, 1],
            pads: vec![1; 4],
            group: 1,
        });
        cur = g.add_node1(format!("c{i}"), op, vec![cur, w], format!("y{i}"), f32t(&[1, 64, 28, 28]));
    }
    g.outputs.push(cur);
    let out = optimize_with(&g, &with_pairs(&["conv-to-winograd"]));
    let names = ops(&out);
    assert_eq!(names.iter().filter(|&&o| o == "winograd_input_nhwc").count(), 2, "{names:?}");
    assert_eq!(names.iter().filter(|&&o| o == "transpose").count(), 2, "{names:?}");
    insta::assert_snapshot!(print_graph(&out, false));
}

/// A MobileNetV2-style block (expand 1x1, depthwise 3x3, project 1x1, residual) after a stem
/// conv, with BatchNorm and ReLU6, through every rule of level 2.
#[test]
fn every_rule_keeps_a_mobilenet_block_nhwc_end_to_end() {
    let mut g = Graph::new();
    let x = input(&mut g, 3, 32);
    let stem = conv(&mut g, x, 16, 3, "stem");
    let relu6 = |g: &mut Graph, v: ValueId, name: &str| {
        let t = g.ty(v).clone();
        g.add_node1(
            name,
            Op::Unary(UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() }),
            vec![v],
            format!("{name}.y"),
            t,
        )
    };
    let s = relu6(&mut g, stem, "r0");
    let e = conv(&mut g, s, 64, 1, "expand");
    let e = relu6(&mut g, e, "r1");
    let w = weights(&mut g, "dw.w", &[64, 1, 3, 3]);
    let d = g.add_node1("dw", Op::Conv(conv_attrs(3, 1, 64)), vec![e, w], "dw.y", f32t(&[1, 64, 16, 16]));
    let d = relu6(&mut g, d, "r2");
    let p = conv(&mut g, d, 16, 1, "project");
    let y = g.add_node1("res", Op::Binary(BinaryOp::Add), vec![p, s], "y", f32t(&[1, 16, 16, 16]));
    g.outputs.push(y);
    let cfg = OptConfig { cost: CostModel::for_target(Some(512)), ..OptConfig::default() };
    let (out, _) = optimize(&g, &all_rules(2), &cfg).unwrap();
    assert_close_outputs(&g, &out, 1e-4);
    let names = ops(&out);
    assert_eq!(names.first(), Some(&"transpose"), "{names:?}");
    assert_eq!(names.last(), Some(&"transpose"), "{names:?}");
    assert_eq!(names.iter().filter(|&&o| o == "transpose").count(), 2, "{names:?}");
    assert!(names[1..names.len() - 1].iter().all(|o| o.ends_with("_nhwc")), "{names:?}");
}
