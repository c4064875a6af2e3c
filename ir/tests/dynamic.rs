//! The data-dependent ops in the IR (`kiln_ir::dynamic`): evaluator semantics against direct
//! loops at odd sizes, bounded outputs cut by `trim_outputs`, the verifier's rules, and the
//! text form.

use kiln_ir::dynamic::{bounded_outputs, trim_outputs};
use kiln_ir::{eval_graph, eval_op, parse_graph, print_graph, verify, DType, Graph, Op, Tensor, TensorType};

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// `x -> NonZero -> (y, len)` with y and len as graph outputs.
fn non_zero_graph(shape: &[usize]) -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(shape));
    let tys = kiln_ir::infer_types(&Op::NonZero, &[&f32t(shape)]).unwrap();
    let n = g.add_node("nz", Op::NonZero, vec![x], vec![("y".into(), tys[0].clone()), ("len".into(), tys[1].clone())]);
    g.outputs = g.nodes[n].outputs.clone();
    g
}

#[test]
fn non_zero_is_cut_to_the_nonzero_count_at_odd_sizes() {
    for n in [1usize, 3, 5, 17, 33] {
        let g = non_zero_graph(&[n]);
        verify(&g).unwrap();
        assert_eq!(bounded_outputs(&g).unwrap().len(), 1);
        let v: Vec<f32> = (0..n).map(|i| if i % 3 == 1 { 0.0 } else { i as f32 }).collect();
        let raw = eval_graph(&g, &[Tensor::from_vec(vec![n], v.clone())]).unwrap();
        let want: Vec<i64> = (0..n as i64).filter(|&i| v[i as usize] != 0.0).collect();
        assert_eq!(raw[0].shape(), &[1, n], "bound");
        assert_eq!(raw[1].to_i64_vec(), vec![want.len() as i64]);
        let cut = trim_outputs(&g, raw).unwrap();
        assert_eq!(cut.len(), 1, "the length output is hidden");
        assert_eq!(cut[0].to_i64_vec(), want);
    }
}

#[test]
fn the_verifier_rejects_a_reader_of_a_bounded_result_and_a_missing_length() {
    let mut g = non_zero_graph(&[3]);
    let y = g.outputs[0];
    g.outputs.pop();
    assert!(verify(&g).unwrap_err().to_string().contains("length is not a graph output"));
    g.outputs.push(g.nodes[kiln_ir::Handle::new(0)].outputs[1]);
    let ty = g.ty(y).clone();
    let t = g.add_node1("t", Op::Transpose { perm: vec![1, 0] }, vec![y], "t", TensorType::new(ty.dtype, vec![3, 1]));
    g.outputs.push(t);
    let e = verify(&g).unwrap_err().to_string();
    assert!(e.contains("flows into node `t` (op transpose)"), "{e}");
}

#[test]
fn text_form_round_trips() {
    let mut g = non_zero_graph(&[2, 3]);
    let b = g.add_input("boxes", f32t(&[1, 5, 4]));
    let s = g.add_input("scores", f32t(&[1, 2, 5]));
    let m = g.add_const("m", Tensor::from_vec(vec![1], vec![3i64]));
    let iou = g.add_const("iou", Tensor::scalar(0.5f32));
    let sc = g.add_const("sc", Tensor::scalar(0.1f32));
    let op = Op::NonMaxSuppression { center_point_box: true, max_boxes: 3 };
    let tys = kiln_ir::infer_types(&op, &[g.ty(b), g.ty(s), g.ty(m), g.ty(iou), g.ty(sc)]).unwrap();
    assert_eq!(tys[0].shape, vec![6, 3]);
    let outs = tys.into_iter().enumerate().map(|(i, t)| (format!("sel{i}"), t)).collect();
    let n = g.add_node("nms", op, vec![b, s, m, iou, sc], outs);
    g.outputs.extend(g.nodes[n].outputs.clone());
    let x = g.inputs[0];
    let op = Op::Unique { axis: 1, sorted: false };
    let tys = kiln_ir::infer_types(&op, &[g.ty(x)]).unwrap();
    g.add_node("u", op, vec![x], tys.into_iter().enumerate().map(|(i, t)| (format!("u{i}"), t)).collect());
    verify(&g).unwrap();
    let text = print_graph(&g, true);
    assert_eq!(print_graph(&parse_graph(&text).unwrap(), true), text);
}

#[test]
fn unique_with_axis_sorts_slices_and_pads_with_zeros() {
    // Columns of [[1, 0, 1], [2, 3, 2]] along axis 1: (1,2), (0,3), (1,2).
    let x = Tensor::from_vec(vec![2, 3], vec![1.0f32, 0.0, 1.0, 2.0, 3.0, 2.0]);
    let out = eval_op(&Op::Unique { axis: 1, sorted: true }, &[&x]).unwrap();
    assert_eq!(out[0].to_f64_vec(), vec![0.0, 1.0, 0.0, 3.0, 2.0, 0.0]);
    assert_eq!(out[1].to_i64_vec(), vec![1, 0, 0]);
    assert_eq!(out[2].to_i64_vec(), vec![1, 0, 1]);
    assert_eq!(out[3].to_i64_vec(), vec![1, 2, 0]);
    assert_eq!(out[4].to_i64_vec(), vec![2]);
}

#[test]
fn lengths_can_move_after_the_other_outputs() {
    let mut g = non_zero_graph(&[3]);
    let (y, len) = (g.outputs[0], g.outputs[1]);
    g.outputs = vec![len, y];
    kiln_ir::dynamic::move_lengths_last(&mut g);
    assert_eq!(g.outputs, vec![y, len]);
    verify(&g).unwrap();
    assert_eq!(bounded_outputs(&g).unwrap()[0].length, 1);
}
