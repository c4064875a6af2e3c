//! Import of ReverseSequence against a direct loop written from the ONNX reference
//! (`op_reverse_sequence.py`), both axis orders, odd sizes, lengths 0, T and past T; and the
//! attribute and input errors.
mod common;
use common::*;
use kiln_ir::eval_graph;

/// The reference: per batch entry, the first `len` steps reversed (`len` clamped to [0, T]).
fn reverse_loop(x: &[f32], shape: &[usize], lens: &[i64], time_axis: usize) -> Vec<f32> {
    let (t_len, b_len) = if time_axis == 0 { (shape[0], shape[1]) } else { (shape[1], shape[0]) };
    let rest: usize = shape[2..].iter().product();
    let row = |t: usize, b: usize| if time_axis == 0 { t * b_len + b } else { b * t_len + t };
    let mut y = x.to_vec();
    for b in 0..b_len {
        let len = lens[b].clamp(0, t_len as i64) as usize;
        for t in 0..len {
            let (dst, src) = (row(t, b), row(len - 1 - t, b));
            y[dst * rest..(dst + 1) * rest].copy_from_slice(&x[src * rest..(src + 1) * rest]);
        }
    }
    y
}

fn model(shape: &[usize], b_len: usize, time_axis: i64) -> ModelBuilder {
    ModelBuilder::new(10)
        .input("x", shape)
        .input_typed("lens", 7, vec![kiln_frontend::Dim::Fixed(b_len)])
        .node_attrs(
            "ReverseSequence",
            &["x", "lens"],
            &["y"],
            vec![a_int("time_axis", time_axis), a_int("batch_axis", 1 - time_axis)],
        )
        .output("y")
}

#[test]
fn reverse_sequence_matches_the_reference_loop() {
    for time_axis in [0usize, 1] {
        for (t_len, b_len, rest) in [(1usize, 1usize, vec![]), (3, 5, vec![2]), (5, 3, vec![]), (17, 3, vec![3, 1])] {
            let mut shape = if time_axis == 0 { vec![t_len, b_len] } else { vec![b_len, t_len] };
            shape.extend(&rest);
            let g = model(&shape, b_len, time_axis as i64).graph();
            let n: usize = shape.iter().product();
            let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
            // 0 (unchanged), T (full), past T (clamped), a negative (as 0), and in between.
            let choices = [0, t_len as i64, t_len as i64 + 4, -2, (t_len as i64 + 1) / 2];
            let lens: Vec<i64> = (0..b_len).map(|b| choices[b % choices.len()]).collect();
            let out = eval_graph(&g, &[f32s(&shape, &x), kiln_ir::Tensor::from_vec(vec![b_len], lens.clone())]);
            let want = reverse_loop(&x, &shape, &lens, time_axis);
            let got: Vec<f32> = out.unwrap()[0].to_f64_vec().iter().map(|&v| v as f32).collect();
            assert_eq!(got, want, "shape {shape:?} time_axis {time_axis} lens {lens:?}");
        }
    }
}

#[test]
fn reverse_sequence_errors_name_the_node() {
    let e = ModelBuilder::new(10)
        .input("x", &[3, 2])
        .input_typed("lens", 7, vec![kiln_frontend::Dim::Fixed(2)])
        .node_attrs("ReverseSequence", &["x", "lens"], &["y"], vec![a_int("time_axis", 1), a_int("batch_axis", 1)])
        .output("y")
        .import()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("(ReverseSequence), attribute 'time_axis'"), "{e}");
    let e = model(&[3, 2], 3, 0).import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("(ReverseSequence)") && e.contains("sequence_lens"), "{e}");
    let e = ModelBuilder::new(10)
        .input("x", &[3])
        .input_typed("lens", 7, vec![kiln_frontend::Dim::Fixed(1)])
        .node("ReverseSequence", &["x", "lens"], &["y"])
        .output("y")
        .import()
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(e.contains("rank >= 2"), "{e}");
}
