//! Snapshots of the imported IR text (`kiln_ir::print_graph`) of a few small models: the
//! exact output of import, re-blessed with `INSTA_UPDATE=always` when intended.
mod common;
use common::*;
use kiln_ir::Tensor;

#[test]
fn small_cnn_opset_9() {
    let w = Tensor::from_vec(vec![2, 1, 3, 3], (0..18).map(|i| i as f32 / 10.0).collect());
    let c = f32s(&[2], &[1.0, 2.0]);
    let g = ModelBuilder::new(9)
        .input_typed(
            "x",
            FLOAT,
            vec![
                kiln_frontend::Dim::Symbolic("N".into()),
                kiln_frontend::Dim::Fixed(1),
                kiln_frontend::Dim::Fixed(6),
                kiln_frontend::Dim::Fixed(6),
            ],
        )
        .init("w", &w)
        .init("scale", &c)
        .init("bias", &c)
        .init("mean", &c)
        .init("var", &c)
        .init("fc_w", &zeros(&[3, 8]))
        .init("flat", &i64s(&[1, -1]))
        .node_attrs("Conv", &["x", "w"], &["c"], vec![a_str("auto_pad", "SAME_UPPER")])
        .node("BatchNormalization", &["c", "scale", "bias", "mean", "var"], &["bn"])
        .node_attrs("Clip", &["bn"], &["r"], vec![a_float("min", 0.0), a_float("max", 6.0)])
        .node_attrs("MaxPool", &["r"], &["p"], vec![a_ints("kernel_shape", &[3, 3]), a_ints("strides", &[3, 3])])
        .node("Reshape", &["p", "flat"], &["f"])
        .node_attrs("Gemm", &["f", "fc_w"], &["logits"], vec![a_int("transB", 1)])
        .node("Softmax", &["logits"], &["prob"])
        .output("prob")
        .graph();
    insta::assert_snapshot!(kiln_ir::print_graph(&g, false));
}

#[test]
fn exporter_shape_subgraph_and_opset_13_parameters() {
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3, 4])
        .init("zero", &Tensor::scalar(0i64))
        .init("axes", &i64s(&[0]))
        .init("minus_one", &i64s(&[-1]))
        .init("starts", &i64s(&[1]))
        .init("ends", &i64s(&[100]))
        .init("split", &i64s(&[6, 6]))
        .node("Shape", &["x"], &["s"])
        .node("Gather", &["s", "zero"], &["d0"])
        .node("Unsqueeze", &["d0", "axes"], &["d0_1d"])
        .node_attrs("Concat", &["d0_1d", "minus_one"], &["shape"], vec![a_int("axis", 0)])
        .node("Reshape", &["x", "shape"], &["flat"])
        .node("Slice", &["flat", "starts", "ends", "minus_one"], &["tail"])
        .node_attrs("Split", &["flat", "split"], &["a", "b"], vec![a_int("axis", 1)])
        .node("Mean", &["a", "b", "a"], &["m"])
        .output("tail")
        .output("m")
        .graph();
    insta::assert_snapshot!(kiln_ir::print_graph(&g, false));
}
