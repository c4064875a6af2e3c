//! Rule family `layout`: `conv-to-winograd` is chosen where the cost model says it pays (64
//! channels: F(4,3) at 14x14), not where it does not (4 channels, or a strided conv), the
//! Winograd weights are folded into one constant with no dead copy of the original weights left
//! behind, and the result computes the same as the direct conv (reference evaluator, random
//! inputs).

use kiln_ir::*;
use kiln_passes::egraph::testing::assert_close_outputs;
use kiln_passes::egraph::{optimize, OptConfig};
use kiln_passes::rules::all_rules;

fn conv_relu(channels: usize, hw: usize, stride: usize) -> Graph {
    let mut g = Graph::new();
    let ty = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
    let x = g.add_input("x", ty(&[1, channels, hw, hw]));
    let n = channels * channels * 9;
    let w: Vec<f32> = (0..n).map(|i| ((i * 7919 % 113) as f32 - 56.0) / 560.0).collect();
    let w = g.add_const("w", Tensor::from_vec(vec![channels, channels, 3, 3], w));
    let b = g.add_const(
        "b",
        Tensor::from_vec(vec![channels], (0..channels).map(|i| i as f32 / 100.0).collect::<Vec<f32>>()),
    );
    let attrs = ConvAttrs {
        kernel: vec![3, 3],
        strides: vec![stride, stride],
        dilations: vec![1, 1],
        pads: vec![1, 1, 1, 1],
        group: 1,
    };
    let out = (hw - 1) / stride + 1;
    let c = g.add_node1("Conv_0", Op::Conv(attrs), vec![x, w, b], "c", ty(&[1, channels, out, out]));
    let y = g.add_node1("Relu_0", Op::Unary(UnaryOp::Relu), vec![c], "y", ty(&[1, channels, out, out]));
    g.outputs.push(y);
    g
}

fn ops(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|(_, n)| n.op.name()).collect()
}

#[test]
fn wide_3x3_conv_becomes_winograd_with_the_activation_fused() {
    let g = conv_relu(64, 14, 1);
    let (out, report) = optimize(&g, &all_rules(2), &OptConfig::default()).unwrap();
    assert_eq!(report.stop_reason, "Saturated");
    verify(&out).unwrap();
    assert_eq!(ops(&out), ["winograd_input", "matmul", "fused_winograd_output"], "{}", print_graph(&out, false));
    let shapes: Vec<Vec<usize>> = out.constants.iter().map(|(_, c)| c.shape().to_vec()).collect();
    assert_eq!(shapes, [vec![36, 64, 64], vec![64]], "U and the bias only");
    assert_close_outputs(&g, &out, 1e-4);
    insta::assert_snapshot!(print_graph(&out, false));
}

#[test]
fn narrow_or_strided_convs_stay_direct() {
    for g in [conv_relu(4, 14, 1), conv_relu(64, 14, 2)] {
        let (out, _) = optimize(&g, &all_rules(2), &OptConfig::default()).unwrap();
        assert_eq!(ops(&out), ["fused_conv"], "{}", print_graph(&out, false));
    }
}
