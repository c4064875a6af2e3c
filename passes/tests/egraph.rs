//! The e-graph optimizer core: round trips graph -> e-graph -> graph, the 1,000-node timing,
//! determinism, DAG-aware extraction against egg's tree-cost greedy extractor, the applier's
//! type guard, and the derived-constant memo.

use egg::{CostFunction, Extractor, Id, Language};
use kiln_ir::*;
use kiln_passes::egraph::testing::{assert_same_outputs, residual_net};
use kiln_passes::egraph::*;
use kiln_passes::rules::{algebra, all_rules};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const SMALL: &str = r#"
graph(%0: f32[1,4,4,4] "x", %1: f32[3] "unused") -> (%9 "y", %5 "s0", %10 "xc") {
  %2: f32[4,4,1,1] "w" = const [0.5, -0.25, 0.125, 1.0, 0.75, 0.5, -0.5, 0.25, -1.0, 0.5, 0.25, 0.0, 0.125, 0.25, 0.5, -0.75]
  %3: f32[4] "b" = const [0.1, -0.2, 0.3, 0.0]
  %4: f32[1,4,4,4] "c" = conv(%0, %2, %3) {kernel=[1,1], strides=[1,1], dilations=[1,1], pads=[0,0,0,0], group=1} "Conv_0"
  %5: f32[1,2,4,4] "s0", %6: f32[1,2,4,4] "s1" = split(%4) {axis=1, sizes=[2,2]} "Split_0"
  %7: f32[1,2,4,4] "r" = relu(%6) "Relu_0"
  %8: f32[1,2,4,4] "m" = mul(%7, %5) "Mul_0"
  %9: f32[1,32] "y" = reshape(%8) {shape=[1,32]} "Flatten_0"
  %10: f32[1,4,4,4] "xc" = identity(%0) "Identity_0"
}
"#;

fn parse(text: &str) -> Graph {
    parse_graph(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn opt(g: &Graph, rules: &[Rewrite]) -> (Graph, OptReport) {
    optimize(g, rules, &OptConfig::default()).unwrap_or_else(|e| panic!("{e}\n{}", print_graph(g, false)))
}

#[test]
fn round_trip_without_rules_is_identity() {
    let g = parse(SMALL);
    let (out, report) = opt(&g, &[]);
    verify(&out).unwrap();
    assert_eq!(print_graph(&out, true), print_graph(&g, true));
    assert_same_outputs(&g, &out);
    assert_eq!((report.kernels_before, report.kernels_after), (4, 4));
    assert_eq!(report.stop_reason, "NoRules");
    assert_eq!(report.iterations, 0);
}

#[test]
fn outputs_that_are_inputs_or_constants_or_repeated_get_identities() {
    let g = parse(
        r#"
graph(%0: f32[2] "x") -> (%3 "a", %4 "b", %4 "b") {
  %1: f32[2] "one" = const [1.0, 1.0]
  %2: f32[2] "k" = const [3.0, 4.0]
  %3: f32[2] "a" = mul(%0, %1) "Mul_0"
  %4: f32[2] "b" = mul(%2, %1) "Mul_1"
}
"#,
    );
    let (out, _) = opt(&g, &algebra::rules());
    let text = print_graph(&out, true);
    // `a` is x itself and `b` the constant k (x*1, k*1): each output gets an identity, and the
    // repeated output `b` a second one; output names are kept.
    assert_eq!(out.nodes.len(), 3, "{text}");
    assert!(out.nodes.iter().all(|(_, n)| n.op == Op::Identity), "{text}");
    let names: Vec<&str> = out.outputs.iter().map(|&v| out.value(v).name.as_str()).collect();
    assert_eq!(names, ["a", "b", "b"]);
    assert_same_outputs(&g, &out);
}

#[test]
fn thousand_node_graph_round_trips_and_optimizes_fast() {
    let g = residual_net(100);
    assert_eq!(g.nodes.len(), 1000);
    let (same, report) = opt(&g, &[]);
    assert_eq!(same.nodes.len(), 1000);
    assert_eq!(report.kernels_after, report.kernels_before);
    assert_same_outputs(&g, &same);
    println!("1,000 nodes, no rules: total {:.1} ms, extract {:.1} ms", report.total_ms, report.extract_ms);

    let (out, report) = opt(&g, &algebra::rules());
    println!(
        "1,000 nodes, algebra: total {:.1} ms (saturation {:.1}, extract {:.1}), {} iterations, {}, {} e-nodes, {} classes, kernels {} -> {}",
        report.total_ms,
        report.saturation_ms,
        report.extract_ms,
        report.iterations,
        report.stop_reason,
        report.egraph_nodes,
        report.egraph_classes,
        report.kernels_before,
        report.kernels_after
    );
    assert_eq!(report.stop_reason, "Saturated");
    // Per block only conv, relu, add, sigmoid survive.
    assert_eq!(out.nodes.len(), 400, "{}", print_graph(&out, false));
    assert_eq!(report.kernels_before, 800);
    assert_eq!(report.kernels_after, 400);
    assert_same_outputs(&g, &out);
    if !cfg!(debug_assertions) {
        assert!(report.total_ms < 200.0, "optimizing 1,000 nodes took {:.1} ms", report.total_ms);
    }
    let (all, report) = opt(&g, &all_rules(2));
    println!("1,000 nodes, all_rules(2): {report:?}");
    kiln_passes::egraph::testing::assert_close_outputs(&g, &all, 1e-5);
}

/// Reproducible when no run stops on the time limit (a time-limited run stops wherever the
/// clock says): the limit here is generous, the iteration and node limits bind.
#[test]
fn optimizing_twice_prints_the_same_graph() {
    let cfg = OptConfig { time_limit: std::time::Duration::from_secs(60), ..OptConfig::default() };
    for g in [parse(SMALL), residual_net(8)] {
        let rules = all_rules(2);
        let run = |rules: &[Rewrite]| {
            let (out, report) = optimize(&g, rules, &cfg).unwrap();
            assert!(!report.stop_reason.contains("Time"), "{report:?}");
            print_graph(&out, true)
        };
        let a = run(&rules);
        assert_eq!(a, run(&rules), "the same rules run twice");
        assert_eq!(a, run(&all_rules(2)), "fresh rules");
    }
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

fn conv(kernel: [usize; 2]) -> Op {
    let pads = vec![kernel[0] / 2, kernel[1] / 2, kernel[0] / 2, kernel[1] / 2];
    Op::Conv(ConvAttrs { kernel: kernel.to_vec(), strides: vec![1, 1], dilations: vec![1, 1], pads, group: 1 })
}

/// egg's greedy extractor with the same per-node costs, summed as trees.
struct TreeCost<'a>(&'a EGraph, CostModel);

impl CostFunction<TensorLang> for TreeCost<'_> {
    type Cost = f64;
    fn cost<C: FnMut(Id) -> f64>(&mut self, enode: &TensorLang, mut costs: C) -> f64 {
        let class = self.0.lookup(enode.clone()).expect("the node is in the e-graph");
        self.1.enode_cost(self.0, class, enode) + enode.children().iter().map(|&c| costs(c)).sum::<f64>()
    }
}

/// Class R holds `add(relu(C), sigmoid(C))` with `C` an expensive 3x3 conv, and (by a manual
/// union) a 3x5 conv of `x`. As a tree the add pays C twice, more than the 3x5 conv; as a DAG it
/// pays C once, less. The DAG extractor must keep the add, egg's tree extractor takes the conv.
#[test]
fn dag_extraction_pays_a_shared_subterm_once() {
    let shape = [1, 16, 16, 16];
    let w3 = Arc::new(Tensor::zeros(&f32t(&[16, 16, 3, 3])));
    let w5 = Arc::new(Tensor::zeros(&f32t(&[16, 16, 3, 5])));
    let mut eg = EGraph::new(TensorAnalysis::new(vec![f32t(&shape)], vec![w3, w5]));
    let x = eg.add(TensorLang::Input(0));
    let (k3, k5) = (eg.add(TensorLang::Const(0)), eg.add(TensorLang::Const(1)));
    let c = eg.add(TensorLang::op_node(conv([3, 3]), vec![x, k3]));
    let relu = eg.add(TensorLang::op_node(Op::Unary(UnaryOp::Relu), vec![c]));
    let sig = eg.add(TensorLang::op_node(Op::Unary(UnaryOp::Sigmoid), vec![c]));
    let add = eg.add(TensorLang::op_node(Op::Binary(BinaryOp::Add), vec![relu, sig]));
    let alt = eg.add(TensorLang::op_node(conv([3, 5]), vec![x, k5]));
    assert_eq!(eg[add].data.types, eg[alt].data.types);
    eg.union(add, alt);
    eg.rebuild();
    let root = eg.find(add);

    let model = CostModel::default();
    let dag = extract(&eg, &[root], &model).unwrap();
    let chosen = dag.chosen(&eg, root).unwrap();
    assert_eq!(chosen.op().map(|o| o.name()), Some("add"), "DAG extraction chose {chosen:?}");

    let (tree_cost, tree) = Extractor::new(&eg, TreeCost(&eg, model.clone())).find_best(root);
    let top = &tree[tree.root()];
    assert_eq!(top.op(), Some(&conv([3, 5])), "tree extraction chose {top:?}");
    // The DAG cost of the add beats the 3x5 conv, which beats the add's tree cost.
    let alt_cost = model.op_cost(&conv([3, 5]), &[&f32t(&shape), &f32t(&[16, 16, 3, 5])], &[f32t(&shape)]);
    assert!(dag.cost < alt_cost && alt_cost <= tree_cost + 1e-9, "dag {} alt {alt_cost} tree {tree_cost}", dag.cost);
}

/// Rewrites every relu into ill-typed terms: a reshape to another shape, and a conv of one input.
fn bad_terms(_eg: &EGraph, _class: Id, node: &TensorLang) -> Vec<Term> {
    let Some(Op::Unary(UnaryOp::Relu)) = node.op() else { return vec![] };
    let x = node.children()[0];
    let mut reshape = Term::new();
    let r = reshape.class(x);
    reshape.op(Op::Reshape { shape: vec![2, 2] }, &[r]);
    let mut conv1 = Term::new();
    let r = conv1.class(x);
    conv1.op(conv([1, 1]), &[r]);
    vec![reshape, conv1]
}

#[test]
fn ill_typed_terms_are_dropped() {
    let g = parse(
        r#"
graph(%0: f32[4] "x") -> (%1 "y") {
  %1: f32[4] "y" = relu(%0) "Relu_0"
}
"#,
    );
    let (out, report) = opt(&g, &[rule("bad-terms", Visit::Ops(&[OpKind::Unary]), bad_terms)]);
    assert_eq!(print_graph(&out, true), print_graph(&g, true));
    assert_eq!(report.stop_reason, "Saturated");
}

static DERIVATIONS: AtomicUsize = AtomicUsize::new(0);

/// `mul(x, c)` -> `mul(x, c')` with `c'` a derived copy of `c` (counts the derivations).
fn derive_copy(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Some(Op::Binary(BinaryOp::Mul)), [x, c]) = (node.op(), node.children()) else { return None };
    let value = constant(eg, *c)?.clone();
    let mut t = Term::new();
    let x = t.class(*x);
    let k = t.derived(eg, format!("copy:{c}"), || {
        DERIVATIONS.fetch_add(1, Ordering::SeqCst);
        Some((*value).clone())
    })?;
    t.op(Op::Binary(BinaryOp::Mul), &[x, k]);
    Some(t)
}

#[test]
fn derived_constants_are_computed_once() {
    // Six transposes compose one pair per iteration, so the runner iterates several times.
    let g = parse(
        r#"
graph(%0: f32[2,3] "x") -> (%8 "y") {
  %1: f32[3,2] "k" = const [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
  %2: f32[3,2] = transpose(%0) {perm=[1,0]} "T0"
  %3: f32[2,3] = transpose(%2) {perm=[1,0]} "T1"
  %4: f32[3,2] = transpose(%3) {perm=[1,0]} "T2"
  %5: f32[2,3] = transpose(%4) {perm=[1,0]} "T3"
  %6: f32[3,2] = transpose(%5) {perm=[1,0]} "T4"
  %7: f32[3,2] = mul(%6, %1) "Mul_0"
  %8: f32[3,2] "y" = relu(%7) "Relu_0"
}
"#,
    );
    let mut rules = algebra::rules();
    rules.push(rule("derive-copy", Visit::Ops(&[OpKind::Binary]), derive_copy));
    let (out, report) = opt(&g, &rules);
    assert!(report.iterations >= 2, "{report:?}");
    assert_eq!(DERIVATIONS.load(Ordering::SeqCst), 1);
    assert_eq!(out.nodes.len(), 3, "{}", print_graph(&out, false));
    assert_same_outputs(&g, &out);
}

#[test]
fn invalid_input_is_an_error_not_a_panic() {
    let mut g = parse(SMALL);
    g.outputs.push(ValueId::new(999));
    let e = optimize(&g, &algebra::rules(), &OptConfig::default()).unwrap_err();
    assert!(matches!(e, PassError::InvalidInput(_)), "{e}");
}
