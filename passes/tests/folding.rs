//! Rule family `folding`: one snapshot of the IR before and after per rule, a numeric check
//! (reference evaluator before vs after on random inputs, within f32 rounding of the folded
//! weights), and the cases each rule must leave alone.

use kiln_ir::*;
use kiln_passes::egraph::testing::assert_close_outputs;
use kiln_passes::egraph::{optimize, OptConfig};
use kiln_passes::rules::{algebra, folding};

/// Parses `text`, optimizes it with the folding (and algebra) rules, checks the outputs and
/// returns the snapshot text and the optimized graph.
fn run(text: &str) -> (String, Graph) {
    let g = parse_graph(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut rules = folding::rules();
    rules.extend(algebra::rules());
    let (out, report) = optimize(&g, &rules, &OptConfig::default()).unwrap();
    assert_eq!(report.stop_reason, "Saturated");
    verify(&out).unwrap();
    assert_close_outputs(&g, &out, 1e-5);
    (format!("{}--- after ---\n{}", print_graph(&g, false), print_graph(&out, false)), out)
}

fn ops(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|(_, n)| n.op.name()).collect()
}

const CONV_BN: &str = r#"
graph(%0: f32[1,3,5,5] "x") -> (%9 "y") {
  %1: f32[4,3,3,3] "w" = const [0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3, 0.1, -0.2, 0.3, 0.05, 0.2, -0.1, 0.15, 0.25, -0.3]
  %2: f32[4] "gamma" = const [1.0, 0.5, 2.0, 1.5]
  %3: f32[4] "beta" = const [0.0, 0.1, -0.2, 0.3]
  %4: f32[4] "mean" = const [0.1, -0.1, 0.2, 0.0]
  %5: f32[4] "var" = const [1.0, 0.25, 4.0, 0.5]
  %6: f32[1,4,5,5] "c" = conv(%0, %1) {kernel=[3,3], strides=[1,1], dilations=[1,1], pads=[1,1,1,1], group=1} "Conv_0"
  %9: f32[1,4,5,5] "y" = batch_norm(%6, %2, %3, %4, %5) {epsilon=0.00001} "BN_0"
}
"#;

#[test]
fn batch_norm_folds_into_the_conv() {
    let (snap, out) = run(CONV_BN);
    assert_eq!(ops(&out), ["conv"]);
    insta::assert_snapshot!(snap);
}

/// Without a conv to fold into, the affine form is an alternative only: one BatchNorm kernel
/// is cheaper than a mul and an add kernel (the `fusion` tests show it joining a chain).
#[test]
fn batch_norm_without_conv_stays_one_kernel() {
    let (_, out) = run(r#"
graph(%0: f32[1,2,3] "x") -> (%5 "y") {
  %1: f32[2] "gamma" = const [1.0, 0.5]
  %2: f32[2] "beta" = const [0.0, 0.1]
  %3: f32[2] "mean" = const [0.1, -0.1]
  %4: f32[2] "var" = const [1.0, 0.25]
  %5: f32[1,2,3] "y" = batch_norm(%0, %1, %2, %3, %4) {epsilon=0.00001} "BN_0"
}
"#);
    assert_eq!(ops(&out), ["batch_norm"]);
}

#[test]
fn scales_and_biases_fold_into_conv_weights() {
    let (snap, out) = run(r#"
graph(%0: f32[1,2,4] "x") -> (%8 "y") {
  %1: f32[3,2,1] "w" = const [0.5, -1.0, 2.0, 0.25, -0.5, 1.5]
  %2: f32[3] "b" = const [0.1, 0.2, 0.3]
  %3: f32[3,1] "k" = const [2.0, -1.0, 0.5]
  %4: f32[] "c" = const [0.75]
  %5: f32[1,3,4] "conv" = conv(%0, %1, %2) {kernel=[1], strides=[1], dilations=[1], pads=[0,0], group=1} "Conv_0"
  %6: f32[1,3,4] "scaled" = mul(%3, %5) "Mul_0"
  %7: f32[1,3,4] "shifted" = sub(%6, %4) "Sub_0"
  %8: f32[1,3,4] "y" = div(%7, %4) "Div_0"
}
"#);
    assert_eq!(ops(&out), ["conv"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn a_scale_that_varies_over_space_is_kept() {
    let (_, out) = run(r#"
graph(%0: f32[1,2,2] "x") -> (%4 "y") {
  %1: f32[3,2,1] "w" = const [0.5, -1.0, 2.0, 0.25, -0.5, 1.5]
  %2: f32[2] "k" = const [2.0, -1.0]
  %3: f32[1,3,2] "conv" = conv(%0, %1) {kernel=[1], strides=[1], dilations=[1], pads=[0,0], group=1} "Conv_0"
  %4: f32[1,3,2] "y" = mul(%3, %2) "Mul_0"
}
"#);
    assert_eq!(ops(&out), ["conv", "mul"]);
}

#[test]
fn bias_add_after_gemm_and_matmul_becomes_gemm_c() {
    let (snap, out) = run(r#"
graph(%0: f32[2,3] "a") -> (%5 "y", %6 "z") {
  %1: f32[3,2] "b" = const [0.5, -1.0, 2.0, 0.25, -0.5, 1.5]
  %2: f32[2] "c" = const [0.1, 0.2]
  %7: f32[2,1] "d" = const [0.3, 0.4]
  %3: f32[2,2] "g" = gemm(%0, %1) {alpha=1.0, beta=1.0, trans_a=false, trans_b=false} "Gemm_0"
  %4: f32[2,2] "m" = matmul(%0, %1) "MatMul_0"
  %5: f32[2,2] "y" = add(%3, %2) "Add_0"
  %6: f32[2,2] "z" = add(%7, %4) "Add_1"
}
"#);
    assert_eq!(ops(&out), ["gemm", "gemm"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn zero_pad_of_spatial_axes_folds_into_conv_pads() {
    let (snap, out) = run(r#"
graph(%0: f32[1,1,3,3] "x") -> (%3 "y") {
  %1: f32[1,1,2,2] "w" = const [1.0, 2.0, 3.0, 4.0]
  %2: f32[1,1,5,4] "p" = pad(%0) {mode=constant, pads=[0,0,1,0,0,0,1,1], value=0.0} "Pad_0"
  %3: f32[1,1,4,3] "y" = conv(%2, %1) {kernel=[2,2], strides=[1,1], dilations=[1,1], pads=[0,0,0,0], group=1} "Conv_0"
}
"#);
    assert_eq!(ops(&out), ["conv"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn non_zero_or_channel_pads_are_kept() {
    let (_, out) = run(r#"
graph(%0: f32[1,1,3,3] "x") -> (%3 "y") {
  %1: f32[1,1,2,2] "w" = const [1.0, 2.0, 3.0, 4.0]
  %2: f32[1,1,5,4] "p" = pad(%0) {mode=constant, pads=[0,0,1,0,0,0,1,1], value=1.0} "Pad_0"
  %3: f32[1,1,4,3] "y" = conv(%2, %1) {kernel=[2,2], strides=[1,1], dilations=[1,1], pads=[0,0,0,0], group=1} "Conv_0"
}
"#);
    assert_eq!(ops(&out), ["pad", "conv"]);
}
