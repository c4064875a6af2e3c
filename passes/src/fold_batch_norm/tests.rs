//! The folded graph computes what the original does (checked with the reference evaluator) with
//! one node less per fold; unfoldable patterns are left alone.

use super::*;
use kiln_ir::{ConvAttrs, DType, TensorType, UnaryOp};

fn t(shape: &[usize], seed: u32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|i| ((i as u32 * 7 + seed * 13) % 11) as f32 * 0.2 - 1.0).collect::<Vec<_>>())
}

fn conv_bn(with_bias: bool, conv_is_output: bool) -> Graph {
    let mut g = Graph::new();
    let x = g.add_input("x", TensorType::new(DType::F32, vec![1, 3, 5, 5]));
    let w = g.add_const("w", t(&[4, 3, 3, 3], 1));
    let mut inputs = vec![x, w];
    if with_bias {
        inputs.push(g.add_const("b", t(&[4], 2)));
    }
    let attrs = ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: vec![1; 4], group: 1 };
    let ty = TensorType::new(DType::F32, vec![1, 4, 5, 5]);
    let c = g.add_node1("conv", Op::Conv(attrs), inputs, "c", ty.clone());
    let mut bn_in = vec![c];
    for (i, name) in ["scale", "bias", "mean"].iter().enumerate() {
        bn_in.push(g.add_const(*name, t(&[4], 3 + i as u32)));
    }
    bn_in.push(g.add_const("var", Tensor::from_vec(vec![4], vec![0.5f32, 1.0, 2.0, 0.1])));
    let y = g.add_node1("bn", Op::BatchNorm { epsilon: 1e-5 }, bn_in, "y", ty.clone());
    let z = g.add_node1("relu", Op::Unary(UnaryOp::Relu), vec![y], "z", ty);
    g.outputs = if conv_is_output { vec![z, c] } else { vec![z] };
    g
}

#[test]
fn folded_graph_matches_the_original() {
    for with_bias in [false, true] {
        let g = conv_bn(with_bias, false);
        let f = fold_batch_norm(&g);
        assert_eq!(f.nodes.len(), g.nodes.len() - 1);
        assert!(f.nodes.iter().all(|(_, n)| !matches!(n.op, Op::BatchNorm { .. })));
        kiln_ir::verify(&f).unwrap_or_else(|e| panic!("{e}"));
        let x = t(&[1, 3, 5, 5], 9);
        let want = kiln_ir::eval_graph(&g, std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{e}"));
        let got = kiln_ir::eval_graph(&f, std::slice::from_ref(&x)).unwrap_or_else(|e| panic!("{e}"));
        for (a, b) in got[0].to_f64_vec().iter().zip(want[0].to_f64_vec()) {
            assert!((a - b).abs() <= 1e-5 + 1e-5 * b.abs(), "{a} vs {b}");
        }
    }
}

#[test]
fn conv_read_elsewhere_is_not_folded() {
    let g = conv_bn(true, true);
    let f = fold_batch_norm(&g);
    assert_eq!(f.nodes.len(), g.nodes.len());
}
