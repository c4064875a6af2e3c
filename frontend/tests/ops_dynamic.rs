//! Import of the data-dependent ops (NonZero, Unique, NonMaxSuppression; `kiln_ir::dynamic`):
//! a run-time input gives a bounded result plus a hidden length output, checked against the
//! reference evaluator after cutting; a constant input folds to the exact result; a node that
//! reads a bounded result is an error naming it.
mod common;
use common::*;
use kiln_ir::dynamic::{bounded_outputs, length_outputs, trim_outputs};
use kiln_ir::{eval_graph, Graph, Op, Tensor};

/// Runs `g` with the reference evaluator and cuts the bounded outputs as the runtime does.
fn run(g: &Graph, inputs: &[Tensor]) -> Vec<Tensor> {
    trim_outputs(g, eval_graph(g, inputs).unwrap()).unwrap()
}

#[test]
fn non_zero_on_a_runtime_input_is_bounded_with_a_length_output() {
    for n in [1usize, 3, 5, 17] {
        let g = verified(ModelBuilder::new(13).input("x", &[n, 2]).node("NonZero", &["x"], &["y"]).output("y").graph());
        assert_eq!(out_shape(&g, 0), vec![2, 2 * n], "bound");
        assert_eq!(length_outputs(&g), vec![false, true], "the length output follows the ONNX outputs");
        assert_eq!(bounded_outputs(&g).unwrap().len(), 1);
        let v: Vec<f32> = (0..2 * n).map(|i| (i % 3) as f32).collect();
        let want: Vec<usize> = (0..2 * n).filter(|&i| i % 3 != 0).collect();
        let out = run(&g, &[f32s(&[n, 2], &v)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].shape(), &[2, want.len()]);
        let rows: Vec<i64> = want.iter().map(|&i| (i / 2) as i64).chain(want.iter().map(|&i| (i % 2) as i64)).collect();
        assert_eq!(out[0].to_i64_vec(), rows);
    }
}

#[test]
fn non_zero_on_a_constant_folds_to_the_exact_shape() {
    let g = verified(
        ModelBuilder::new(13)
            .input("a", &[1])
            .init("c", &f32s(&[3], &[0.0, 2.0, 0.0]))
            .node("NonZero", &["c"], &["y"])
            .node("Add", &["a", "a"], &["z"])
            .output("y")
            .output("z")
            .graph(),
    );
    assert_eq!(out_shape(&g, 0), vec![1, 1]);
    assert!(length_outputs(&g).iter().all(|&h| !h));
}

#[test]
fn a_node_reading_a_bounded_result_is_an_error_naming_it() {
    let e = ModelBuilder::new(13)
        .input("x", &[3])
        .node("NonZero", &["x"], &["y"])
        .node("Transpose", &["y"], &["t"])
        .output("t")
        .import()
        .unwrap_err()
        .to_string();
    assert!(e.contains("Transpose") && e.contains("`y`") && e.contains("needs a static shape"), "{e}");
}

#[test]
fn a_cast_of_a_bounded_result_stays_bounded() {
    let g = ModelBuilder::new(13)
        .input("x", &[5])
        .node("NonZero", &["x"], &["y"])
        .node_attrs("Cast", &["y"], &["c"], vec![a_int("to", 1)])
        .output("c")
        .graph();
    let g = verified(g);
    let out = run(&g, &[f32s(&[5], &[1.0, 0.0, 0.0, 4.0, 0.0])]);
    assert_eq!(out[0].shape(), &[1, 2]);
    assert_eq!(out[0].to_f64_vec(), vec![0.0, 3.0]);
    assert!(ops(&g).contains(&Op::NonZero));
}

/// `n` boxes in a row, each overlapping the next by `1 - 1/(n+1)`-ish, scores descending.
fn nms_model(n: usize, max_out: Option<i64>, center: i64) -> ModelBuilder {
    let mut m = ModelBuilder::new(11).input("boxes", &[1, n, 4]).input("scores", &[1, 1, n]);
    let mut ins = vec!["boxes", "scores"];
    if let Some(k) = max_out {
        m = m.init("max", &i64s(&[k])).init("iou", &f32s(&[1], &[0.5]));
        ins.extend(["max", "iou"]);
    }
    m.node_attrs("NonMaxSuppression", &ins, &["sel"], vec![a_int("center_point_box", center)]).output("sel")
}

#[test]
fn nms_bound_follows_a_constant_max_and_results_match_a_direct_loop() {
    for n in [1usize, 3, 5, 17] {
        let g = verified(nms_model(n, Some(2), 0).graph());
        assert_eq!(out_shape(&g, 0), vec![n.min(2), 3], "bound with max 2");
        // Box i spans x in [i, i + 1.5]: neighbours overlap with IoU 0.5/2.5 = 0.2 <= 0.5,
        // so all survive; scores descend with i, so the first two boxes are kept in order.
        let boxes: Vec<f32> = (0..n).flat_map(|i| [0.0, i as f32, 1.0, i as f32 + 1.5]).collect();
        let scores: Vec<f32> = (0..n).map(|i| 1.0 - i as f32 / 32.0).collect();
        let out = run(&g, &[f32s(&[1, n, 4], &boxes), f32s(&[1, 1, n], &scores)]);
        let want: Vec<i64> = (0..n.min(2) as i64).flat_map(|i| [0, 0, i]).collect();
        assert_eq!(out[0].to_i64_vec(), want);
    }
}

#[test]
fn nms_without_max_output_keeps_nothing_and_bad_center_is_an_error() {
    let g = verified(nms_model(3, None, 1).graph());
    assert_eq!(out_shape(&g, 0), vec![0, 3]);
    let e = nms_model(3, None, 2).import().unwrap_err().to_string();
    assert!(e.contains("center_point_box") && e.contains("must be 0 or 1"), "{e}");
}

/// Unique of a 1-D list by a direct loop: (y, indices, inverse, counts).
fn unique_loop(v: &[f32], sorted: bool) -> (Vec<f32>, Vec<i64>, Vec<i64>, Vec<i64>) {
    let mut firsts: Vec<usize> = (0..v.len()).filter(|&i| !v[..i].contains(&v[i])).collect();
    if sorted {
        firsts.sort_by(|&a, &b| v[a].partial_cmp(&v[b]).unwrap());
    }
    let y: Vec<f32> = firsts.iter().map(|&i| v[i]).collect();
    let inverse = v.iter().map(|x| y.iter().position(|u| u == x).unwrap() as i64).collect();
    let counts = y.iter().map(|u| v.iter().filter(|x| *x == u).count() as i64).collect();
    (y, firsts.iter().map(|&i| i as i64).collect(), inverse, counts)
}

#[test]
fn unique_without_axis_matches_a_direct_loop() {
    for n in [1usize, 3, 5, 17] {
        for sorted in [0, 1] {
            let g = ModelBuilder::new(11)
                .input("x", &[n, 1])
                .node_attrs("Unique", &["x"], &["y", "i", "inv", "c"], vec![a_int("sorted", sorted)])
                .output("y")
                .output("i")
                .output("inv")
                .output("c");
            let g = verified(g.graph());
            let v: Vec<f32> = (0..n).map(|i| ((i * 7) % 4) as f32 - 1.0).collect();
            let out = run(&g, &[f32s(&[n, 1], &v)]);
            let (y, idx, inv, counts) = unique_loop(&v, sorted == 1);
            assert_eq!(out[0].to_f64_vec(), y.iter().map(|&x| x as f64).collect::<Vec<_>>(), "n={n} sorted={sorted}");
            assert_eq!(out[1].to_i64_vec(), idx);
            assert_eq!(out[2].to_i64_vec(), inv);
            assert_eq!(out[3].to_i64_vec(), counts);
        }
    }
}

#[test]
fn unique_rejects_a_bad_sorted_attribute() {
    let b = ModelBuilder::new(11).input("x", &[3]).node_attrs("Unique", &["x"], &["y"], vec![a_int("sorted", 2)]);
    let e = b.output("y").import().unwrap_err().to_string();
    assert!(e.contains("sorted") && e.contains("must be 0 or 1"), "{e}");
}
