//! Import of If, Loop and Scan: branches selected with Where at run time and inlined when the
//! condition is constant, loops and scans unrolled, each checked against a direct loop at odd
//! sizes; outer-scope names visible in bodies and body names invisible after them; and the
//! errors for mismatched branch types, a data-dependent loop exit and the unroll limit.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, Tensor};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::{AttributeProto, GraphProto};

fn a_graph(name: &str, g: GraphProto) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.to_string();
    a.type_ = AttributeType::GRAPH.into();
    a.g = Some(g).into();
    a
}

/// A subgraph built like a model graph (its inputs are the body's formal inputs).
fn body(b: ModelBuilder) -> GraphProto {
    b.graph
}

fn run(g: &kiln_ir::Graph, inputs: &[Tensor]) -> Vec<Vec<f64>> {
    let outs = eval_graph(&verified(g.clone()), inputs).unwrap_or_else(|e| panic!("{e}"));
    outs.iter().map(Tensor::to_f64_vec).collect()
}

fn values(n: usize) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect()
}

/// `If(c) { x * 2 } else { x + 1 }` on a 17-element x; both branches read outer `x`.
fn if_model(cond_const: Option<bool>) -> ModelBuilder {
    let then_g = body(ModelBuilder::new(13).node("Mul", &["x", "two"], &["t"]).output("t"));
    let else_g = body(ModelBuilder::new(13).node("Add", &["x", "one"], &["e"]).output("e"));
    let m = ModelBuilder::new(13).input("x", &[17]).init("two", &f32s(&[], &[2.0])).init("one", &f32s(&[], &[1.0]));
    let m = match cond_const {
        Some(c) => m.init("c", &Tensor::scalar(c)),
        None => m.input_typed("c", BOOL, vec![]),
    };
    m.node_attrs("If", &["c"], &["y"], vec![a_graph("then_branch", then_g), a_graph("else_branch", else_g)]).output("y")
}

#[test]
fn if_with_runtime_condition_selects_between_both_branches() {
    let g = if_model(None).graph();
    assert!(op_names(&g).contains(&"where"), "{:?}", op_names(&g));
    let x = values(17);
    for c in [true, false] {
        let got = run(&g, &[f32s(&[17], &x), Tensor::scalar(c)]);
        let want: Vec<f64> = x.iter().map(|&v| if c { v * 2.0 } else { v + 1.0 } as f64).collect();
        assert_eq!(got[0], want, "cond {c}");
    }
}

#[test]
fn if_with_constant_condition_inlines_only_the_taken_branch() {
    let g = if_model(Some(false)).graph();
    assert_eq!(op_names(&g), vec!["add"]);
    let x = values(17);
    let want: Vec<f64> = x.iter().map(|&v| (v + 1.0) as f64).collect();
    assert_eq!(run(&g, &[f32s(&[17], &x)])[0], want);
    // The branch not taken is never imported, even when it could not be (Split of 3 into 2).
    let bad = body(
        ModelBuilder::new(13).node_attrs("Split", &["x"], &["s0", "s1"], vec![a_ints("split", &[1, 1])]).output("s0"),
    );
    let good = body(ModelBuilder::new(13).node("Neg", &["x"], &["n"]).output("n"));
    let g = ModelBuilder::new(13)
        .input("x", &[3])
        .init("c", &Tensor::scalar(true))
        .node_attrs("If", &["c"], &["y"], vec![a_graph("then_branch", good), a_graph("else_branch", bad)])
        .output("y")
        .graph();
    assert_eq!(op_names(&g), vec!["neg"]);
}

#[test]
fn if_branches_of_different_shapes_need_a_constant_condition() {
    let then_g = body(ModelBuilder::new(13).node("Identity", &["x"], &["t"]).output("t"));
    let else_g = body(ModelBuilder::new(13).node("Identity", &["z"], &["e"]).output("e"));
    let e = ModelBuilder::new(13)
        .input("x", &[3])
        .input("z", &[5])
        .input_typed("c", BOOL, vec![])
        .node_attrs("If", &["c"], &["y"], vec![a_graph("then_branch", then_g), a_graph("else_branch", else_g)])
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("node 'If_0' (If)") && e.contains("then_branch") && e.contains("else_branch"), "{e}");
}

/// `Loop(M, cond?, y0)`: `y += x[i]` with `y` also a scan output; `x` is read from outer scope.
fn loop_model(trips: i64, cond_out: &str) -> ModelBuilder {
    let b = ModelBuilder::new(13)
        .input_typed("i", INT64, vec![])
        .input_typed("c_in", BOOL, vec![])
        .input("y_in", &[3])
        .init("two", &Tensor::scalar(2i64))
        .node("Less", &["i", "two"], &["less"])
        .node("Identity", &["c_in"], &["same"])
        .node_attrs("Gather", &["x", "i"], &["row"], vec![a_int("axis", 0)])
        .node("Add", &["y_in", "row"], &["y_out"])
        .node("ReduceSum", &["y_out"], &["total"])
        .node("Greater", &["total", "zero"], &["positive"])
        .node("Identity", &["y_out"], &["scan"])
        .output(cond_out)
        .output("y_out")
        .output("scan");
    ModelBuilder::new(13)
        .input("x", &[5, 3])
        .input("y0", &[3])
        .init("m", &Tensor::scalar(trips))
        .init("zero", &f32s(&[1], &[0.0]))
        .init("c", &Tensor::scalar(true))
        .node_attrs("Loop", &["m", "c", "y0"], &["y", "ys"], vec![a_graph("body", body(b))])
        .output("y")
        .output("ys")
}

/// `(final y, stacked ys)` of `iters` iterations of `y += x[i]`.
fn loop_reference(x: &[f32], y0: &[f32], iters: usize) -> (Vec<f64>, Vec<f64>) {
    let mut y: Vec<f32> = y0.to_vec();
    let mut ys = Vec::new();
    for i in 0..iters {
        for j in 0..3 {
            y[j] += x[i * 3 + j];
        }
        ys.extend(y.iter().map(|&v| v as f64));
    }
    (y.iter().map(|&v| v as f64).collect(), ys)
}

#[test]
fn loop_unrolls_its_trip_count_and_stacks_scan_outputs() {
    let (x, y0) = (values(15), vec![0.5f32, -1.0, 2.0]);
    for trips in [1usize, 5] {
        let g = loop_model(trips as i64, "same").graph();
        let got = run(&g, &[f32s(&[5, 3], &x), f32s(&[3], &y0)]);
        let (y, ys) = loop_reference(&x, &y0, trips);
        assert_eq!((got[0].clone(), got[1].clone()), (y, ys), "{trips} trips");
        assert_eq!(out_shape(&g, 1), vec![trips, 3]);
    }
}

#[test]
fn loop_stops_when_a_constant_condition_turns_false() {
    // cond_out = i < 2: iterations 0, 1 and 2 run (the third one reports false).
    let g = loop_model(5, "less").graph();
    let (x, y0) = (values(15), vec![1.0f32, 2.0, 3.0]);
    let got = run(&g, &[f32s(&[5, 3], &x), f32s(&[3], &y0)]);
    let (y, ys) = loop_reference(&x, &y0, 3);
    assert_eq!((got[0].clone(), got[1].clone()), (y, ys));
}

#[test]
fn loop_with_a_data_dependent_exit_or_too_many_iterations_is_an_error() {
    let e = loop_model(5, "positive").import().unwrap_err().to_string();
    assert!(e.contains("node 'Loop_0' (Loop)") && e.contains("iteration 0") && e.contains("run-time"), "{e}");
    let e = loop_model(5000, "same").import().unwrap_err().to_string();
    assert!(e.contains("node 'Loop_0' (Loop)") && e.contains("4096"), "{e}");
}

#[test]
fn body_names_do_not_leak_into_the_outer_graph() {
    let e = loop_model(2, "same").node("Neg", &["row"], &["z"]).output("z").import().unwrap_err().to_string();
    assert!(e.contains("input 'row'") && e.contains("not defined"), "{e}");
}

/// Scan-9 body: `s += x_t * w` (w from outer scope), scan output `s`.
fn scan_body() -> GraphProto {
    body(
        ModelBuilder::new(13)
            .input("s_in", &[3])
            .input("x_t", &[3])
            .node("Mul", &["x_t", "w"], &["p"])
            .node("Add", &["s_in", "p"], &["s_out"])
            .node("Identity", &["s_out"], &["o"])
            .output("s_out")
            .output("o"),
    )
}

#[test]
fn scan9_honours_input_axis_and_directions_and_output_axis() {
    // x is [3, 5]: scanned along axis 1 (length 5) in reverse; the output stacked on axis 1
    // in reverse order (prepended).
    let g = ModelBuilder::new(11)
        .input("s0", &[3])
        .input("x", &[3, 5])
        .init("w", &f32s(&[3], &[1.5, -0.5, 2.0]))
        .node_attrs(
            "Scan",
            &["s0", "x"],
            &["s", "ys"],
            vec![
                a_graph("body", scan_body()),
                a_int("num_scan_inputs", 1),
                a_ints("scan_input_axes", &[1]),
                a_ints("scan_input_directions", &[1]),
                a_ints("scan_output_axes", &[-1]),
                a_ints("scan_output_directions", &[1]),
            ],
        )
        .output("s")
        .output("ys")
        .graph();
    let (s0, x, w) = (vec![0.25f32, 1.0, -2.0], values(15), [1.5f32, -0.5, 2.0]);
    let got = run(&g, &[f32s(&[3], &s0), f32s(&[3, 5], &x)]);
    let mut s = s0.clone();
    let mut ys = vec![0f64; 15];
    for t in 0..5 {
        let col = 4 - t;
        for j in 0..3 {
            s[j] += x[j * 5 + col] * w[j];
            ys[j * 5 + (4 - t)] = s[j] as f64;
        }
    }
    assert_eq!(got[0], s.iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert_eq!(got[1], ys);
    assert_eq!(out_shape(&g, 1), vec![3, 5]);
}

#[test]
fn scan8_runs_once_per_batch_row() {
    let g = ModelBuilder::new(8)
        .input("s0", &[3, 3])
        .input("x", &[3, 5, 3])
        .init("w", &f32s(&[3], &[1.0, 2.0, -1.0]))
        .node_attrs(
            "Scan",
            &["", "s0", "x"],
            &["s", "ys"],
            vec![a_graph("body", scan_body()), a_int("num_scan_inputs", 1)],
        )
        .output("s")
        .output("ys")
        .graph();
    let (s0, x, w) = (values(9), values(45), [1.0f32, 2.0, -1.0]);
    let got = run(&g, &[f32s(&[3, 3], &s0), f32s(&[3, 5, 3], &x)]);
    let (mut s, mut ys) = (s0.clone(), Vec::new());
    for b in 0..3 {
        for t in 0..5 {
            for j in 0..3 {
                s[b * 3 + j] += x[(b * 5 + t) * 3 + j] * w[j];
            }
            ys.extend(s[b * 3..b * 3 + 3].iter().map(|&v| v as f64));
        }
    }
    assert_eq!(got[0], s.iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert_eq!(got[1], ys);
    assert_eq!(out_shape(&g, 1), vec![3, 5, 3]);
}

#[test]
fn sequence_typed_subgraph_outputs_are_reported_unsupported() {
    let mut seq_body = ModelBuilder::new(13).node("SequenceConstruct", &["x"], &["s"]).graph;
    let mut out = value_info("s", FLOAT, None);
    let mut seq = onnx_protobuf::type_proto::Sequence::new();
    seq.elem_type = out.type_.clone();
    out.type_.as_mut().unwrap().value = Some(onnx_protobuf::type_proto::Value::SequenceType(seq));
    seq_body.output.push(out);
    let e = ModelBuilder::new(13)
        .input("x", &[1])
        .input_typed("c", BOOL, vec![Dim::Fixed(1)])
        .node_attrs(
            "If",
            &["c"],
            &["y"],
            vec![a_graph("then_branch", seq_body.clone()), a_graph("else_branch", seq_body)],
        )
        .output("y")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("output 's' has a sequence type") && e.contains("If_0/SequenceConstruct_0"), "{e}");
}
