//! Rule family `algebra`: one snapshot of the IR before and after per rule, a numeric check
//! (reference evaluator before vs after on random inputs, bit-identical), and the cases each
//! rule must leave alone.

use kiln_ir::*;
use kiln_passes::egraph::testing::assert_same_outputs;
use kiln_passes::egraph::{optimize, OptConfig};
use kiln_passes::rules::algebra::{self, casts_exactly};

/// Parses `text`, optimizes it with the algebra rules, checks the outputs and returns
/// `before`, `after` and the optimized graph.
fn run(text: &str) -> (String, Graph) {
    let g = parse_graph(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (out, report) = optimize(&g, &algebra::rules(), &OptConfig::default()).unwrap();
    assert_eq!(report.stop_reason, "Saturated");
    verify(&out).unwrap();
    assert_same_outputs(&g, &out);
    (format!("{}--- after ---\n{}", print_graph(&g, true), print_graph(&out, true)), out)
}

fn ops(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|(_, n)| n.op.name()).collect()
}

#[test]
fn mul_by_one_both_sides() {
    let (snap, out) = run(r#"
graph(%0: f32[2,3] "x") -> (%4 "y") {
  %1: f32[3] "ones" = const [1.0, 1.0, 1.0]
  %2: f32[2,3] "a" = mul(%0, %1) "Mul_0"
  %3: f32[2,3] "b" = mul(%1, %2) "Mul_1"
  %4: f32[2,3] "y" = relu(%3) "Relu_0"
}
"#);
    assert_eq!(ops(&out), ["relu"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn mul_by_ones_that_broadcast_bigger_is_kept() {
    let (_, out) = run(r#"
graph(%0: f32[3] "x") -> (%2 "y") {
  %1: f32[2,3] "ones" = const [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
  %2: f32[2,3] "y" = mul(%0, %1) "Mul_0"
}
"#);
    assert_eq!(ops(&out), ["mul"]);
}

#[test]
fn div_by_one_not_one_by_x() {
    let (snap, out) = run(r#"
graph(%0: f32[4] "x") -> (%3 "y", %4 "z") {
  %1: f32[] "one" = const [1.0]
  %3: f32[4] "y" = div(%0, %1) "Div_0"
  %4: f32[4] "z" = div(%1, %0) "Div_1"
}
"#);
    assert_eq!(ops(&out), ["div", "identity"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn add_zero_and_sub_zero() {
    let (snap, out) = run(r#"
graph(%0: i32[2,2] "x") -> (%5 "y", %6 "z") {
  %1: i32[2] "zeros" = const [0, 0]
  %2: i32[2,2] "a" = add(%1, %0) "Add_0"
  %3: i32[2,2] "b" = sub(%2, %1) "Sub_0"
  %4: i32[2,2] "c" = sub(%1, %3) "Sub_1"
  %5: i32[2,2] "y" = neg(%3) "Neg_0"
  %6: i32[2,2] "z" = abs(%4) "Abs_0"
}
"#);
    // 0 - x is not x: only the add and the first sub go.
    assert_eq!(ops(&out), ["neg", "sub", "abs"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn transposes_compose_and_cancel() {
    let (snap, out) = run(r#"
graph(%0: f32[2,3,4] "x") -> (%3 "y", %5 "z") {
  %1: f32[3,4,2] "t1" = transpose(%0) {perm=[1,2,0]} "T1"
  %2: f32[4,2,3] "t2" = transpose(%1) {perm=[1,2,0]} "T2"
  %3: f32[4,2,3] "y" = relu(%2) "Relu_0"
  %4: f32[2,3,4] "t3" = transpose(%2) {perm=[1,2,0]} "T3"
  %5: f32[2,3,4] "z" = sigmoid(%4) "Sigmoid_0"
}
"#);
    // t2 becomes one transpose of x with perm [2,0,1]; t3 is x itself.
    assert_eq!(ops(&out), ["transpose", "relu", "sigmoid"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn identity_transpose_is_removed() {
    let (snap, out) = run(r#"
graph(%0: f32[2,3] "x") -> (%2 "y") {
  %1: f32[2,3] "t" = transpose(%0) {perm=[0,1]} "T0"
  %2: f32[2,3] "y" = exp(%1) "Exp_0"
}
"#);
    assert_eq!(ops(&out), ["exp"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn reshapes_collapse() {
    let (snap, out) = run(r#"
graph(%0: f32[2,6] "x") -> (%3 "y", %5 "z") {
  %1: f32[3,4] "r1" = reshape(%0) {shape=[3,4]} "R1"
  %2: f32[12] "r2" = reshape(%1) {shape=[12]} "R2"
  %3: f32[12] "y" = relu(%2) "Relu_0"
  %4: f32[2,6] "r3" = reshape(%1) {shape=[2,6]} "R3"
  %5: f32[2,6] "z" = tanh(%4) "Tanh_0"
}
"#);
    assert_eq!(ops(&out), ["reshape", "relu", "tanh"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn exact_cast_chains_are_removed() {
    let (snap, out) = run(r#"
graph(%0: f32[4] "x", %1: i16[4] "n") -> (%4 "y", %7 "m", %9 "k") {
  %2: f64[4] "wide" = cast(%0) {to=f64} "Cast_0"
  %3: f32[4] "back" = cast(%2) {to=f32} "Cast_1"
  %4: f32[4] "y" = relu(%3) "Relu_0"
  %5: i16[4] "same" = cast(%1) {to=i16} "Cast_2"
  %6: i64[4] "n64" = cast(%5) {to=i64} "Cast_3"
  %7: i16[4] "m" = cast(%6) {to=i16} "Cast_4"
  %8: i32[4] "trunc" = cast(%0) {to=i32} "Cast_5"
  %9: f32[4] "k" = cast(%8) {to=f32} "Cast_6"
}
"#);
    // f32 -> i32 -> f32 truncates: kept. The others vanish (`m` becomes an identity of `n`,
    // added after the nodes).
    assert_eq!(ops(&out), ["relu", "cast", "cast", "identity"]);
    insta::assert_snapshot!(snap);
}

#[test]
fn which_casts_are_exact() {
    use DType::*;
    assert!(casts_exactly(F32, F64) && !casts_exactly(F64, F32));
    assert!(casts_exactly(I16, F32) && !casts_exactly(I32, F32) && casts_exactly(I32, F64) && !casts_exactly(I64, F64));
    assert!(casts_exactly(U8, I16) && !casts_exactly(I8, U16) && !casts_exactly(I16, U16) && casts_exactly(U16, U32));
    assert!(casts_exactly(Bool, U8) && !casts_exactly(U8, Bool) && !casts_exactly(F32, I64));
}

#[test]
fn noop_slices_pads_expands_concats_identities() {
    let (snap, out) = run(r#"
graph(%0: f32[2,3] "x") -> (%6 "y", %7 "z") {
  %1: f32[2,3] "s" = slice(%0) {starts=[0,0], steps=[1,1], lens=[2,3]} "Slice_0"
  %2: f32[2,3] "p" = pad(%1) {mode=reflect, pads=[0,0,0,0], value=0.0} "Pad_0"
  %3: f32[2,3] "e" = expand(%2) {shape=[2,3]} "Expand_0"
  %4: f32[2,3] "c" = concat(%3) {axis=0} "Concat_0"
  %5: f32[2,3] "i" = identity(%4) "Identity_0"
  %6: f32[2,3] "y" = exp(%5) "Exp_0"
  %7: f32[2,2] "z" = slice(%0) {starts=[0,0], steps=[1,1], lens=[2,2]} "Slice_1"
}
"#);
    // A slice that drops a column stays.
    assert_eq!(ops(&out), ["exp", "slice"]);
    insta::assert_snapshot!(snap);
}
