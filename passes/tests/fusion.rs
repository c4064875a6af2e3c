//! Rule family `fusion`: one snapshot of the IR before and after per pattern, a numeric check
//! (reference evaluator before vs after on random inputs) and the limits of each rule.

use kiln_ir::*;
use kiln_passes::egraph::testing::assert_close_outputs;
use kiln_passes::egraph::{optimize, OptConfig};
use kiln_passes::rules::all_rules;

/// Parses `text`, optimizes it with every rule of level 2, checks the outputs and returns the
/// snapshot text and the optimized graph.
fn run(text: &str) -> (String, Graph) {
    let g = parse_graph(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (out, report) = optimize(&g, &all_rules(2), &OptConfig::default()).unwrap();
    assert_eq!(report.stop_reason, "Saturated");
    verify(&out).unwrap();
    assert_close_outputs(&g, &out, 1e-5);
    (format!("{}--- after ---\n{}", print_graph(&g, false), print_graph(&out, false)), out)
}

fn ops(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|(_, n)| n.op.name()).collect()
}

/// The text of the `k`-th node's op attributes (its program).
fn node_text(g: &Graph, k: usize) -> String {
    let (_, n) = g.nodes.iter().nth(k).expect("node");
    format!("{:?}", n.op)
}

#[test]
fn silu_chain_becomes_one_elementwise_kernel() {
    let (snap, out) = run(r#"
graph(%0: f32[2,5] "x") -> (%3 "y") {
  %1: f32[2,5] "s" = sigmoid(%0) "Sigmoid_0"
  %2: f32[2,5] "m" = mul(%0, %1) "Mul_0"
  %3: f32[2,5] "y" = tanh(%2) "Tanh_0"
}
"#);
    assert_eq!(ops(&out), ["elementwise"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn gelu_from_its_erf_form_is_one_kernel() {
    let (snap, out) = run(r#"
graph(%0: f32[3,7] "x") -> (%8 "y") {
  %1: f32[] "sqrt2" = const [1.4142135]
  %2: f32[] "one" = const [1.0]
  %3: f32[] "half" = const [0.5]
  %4: f32[3,7] "d" = div(%0, %1) "Div_0"
  %5: f32[3,7] "e" = erf(%4) "Erf_0"
  %6: f32[3,7] "a" = add(%5, %2) "Add_0"
  %7: f32[3,7] "m" = mul(%0, %6) "Mul_0"
  %8: f32[3,7] "y" = mul(%7, %3) "Mul_1"
}
"#);
    assert_eq!(ops(&out), ["elementwise"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn batch_norm_then_clip_is_one_elementwise_kernel() {
    let (snap, out) = run(r#"
graph(%0: f32[1,2,3] "x") -> (%6 "y") {
  %1: f32[2] "gamma" = const [1.0, 0.5]
  %2: f32[2] "beta" = const [0.0, 0.1]
  %3: f32[2] "mean" = const [0.1, -0.1]
  %4: f32[2] "var" = const [1.0, 0.25]
  %5: f32[1,2,3] "bn" = batch_norm(%0, %1, %2, %3, %4) {epsilon=0.00001} "BN_0"
  %6: f32[1,2,3] "y" = clip(%5) {min=0.0, max=6.0} "Clip_0"
}
"#);
    assert_eq!(ops(&out), ["elementwise"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn conv_bias_activation_and_residual_become_one_fused_conv() {
    let (snap, out) = run(r#"
graph(%0: f32[1,2,4,4] "x") -> (%7 "y") {
  %1: f32[2,2,1,1] "w" = const [0.5, -1.0, 2.0, 0.25]
  %2: f32[1,2,1,1] "b" = const [0.1, -0.2]
  %3: f32[1,2,4,4] "c" = conv(%0, %1) {kernel=[1,1], strides=[1,1], dilations=[1,1], pads=[0,0,0,0], group=1} "Conv_0"
  %4: f32[1,2,4,4] "cb" = add(%3, %2) "Add_0"
  %5: f32[1,2,4,4] "s" = sigmoid(%4) "Sigmoid_0"
  %6: f32[1,2,4,4] "silu" = mul(%4, %5) "Mul_0"
  %7: f32[1,2,4,4] "y" = add(%6, %0) "Add_1"
}
"#);
    assert_eq!(ops(&out), ["fused_conv"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn gemm_and_matmul_take_epilogues() {
    let (snap, out) = run(r#"
graph(%0: f32[2,3] "a", %1: f32[2,3,4] "p") -> (%6 "y", %7 "z") {
  %2: f32[4,3] "b" = const [0.5, -1.0, 2.0, 0.25, -0.5, 1.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
  %3: f32[4,2] "q" = const [0.5, -1.0, 2.0, 0.25, -0.5, 1.5, 0.1, 0.2]
  %4: f32[2,4] "g" = gemm(%0, %2) {alpha=1.0, beta=1.0, trans_a=false, trans_b=true} "Gemm_0"
  %5: f32[2,3,2] "m" = matmul(%1, %3) "MatMul_0"
  %6: f32[2,4] "y" = relu(%4) "Relu_0"
  %7: f32[2,3,2] "z" = leaky_relu(%5) {alpha=0.1} "LeakyRelu_0"
}
"#);
    assert_eq!(ops(&out), ["fused_gemm", "fused_matmul"]);
    insta::assert_snapshot!(snap);
}

/// A conv read by two consumers: fusing an activation into one of them would compute the conv
/// twice, which the DAG-aware extraction must see as worse.
#[test]
fn shared_conv_is_computed_once() {
    let (_, out) = run(&r#"
graph(%0: f32[1,8,16,16] "x") -> (%4 "y", %5 "z") {
  %1: f32[8,8,3,3] "w" = const <576 elements, fill 0.01>
  %3: f32[1,8,16,16] "c" = conv(%0, %1) {kernel=[3,3], strides=[1,1], dilations=[1,1], pads=[1,1,1,1], group=8} "Conv_0"
  %4: f32[1,8,16,16] "y" = relu(%3) "Relu_0"
  %5: f32[1,8,16,16] "z" = sigmoid(%3) "Sigmoid_0"
}
"#
    .replace("<576 elements, fill 0.01>", &format!("[{}]", vec!["0.01"; 72].join(", ")))
    .replace("[8,8,3,3]", "[8,1,3,3]"));
    let convs = out.nodes.iter().filter(|(_, n)| n.op.name().contains("conv")).count();
    assert_eq!(convs, 1, "{}", print_graph(&out, false));
}

#[test]
fn comparisons_and_integer_chains_are_not_fused() {
    let (_, out) = run(r#"
graph(%0: f32[4] "x", %1: i32[4] "i") -> (%3 "y", %5 "z") {
  %2: f32[4] "r" = relu(%0) "Relu_0"
  %3: bool[4] "y" = less(%2, %0) "Less_0"
  %4: i32[4] "n" = neg(%1) "Neg_0"
  %5: i32[4] "z" = abs(%4) "Abs_0"
}
"#);
    assert_eq!(ops(&out), ["relu", "less", "neg", "abs"]);
    let _ = node_text(&out, 0);
}
