//! Model-level import behaviour: real inputs, specialisation, notes, option checks, unsupported
//! ops listed at once, NeedsValue, output naming, opset checks.
mod common;
use common::*;
use kiln_frontend::{Dim, FrontendError, ImportOptions, OnnxModel};
use kiln_ir::{DType, Op, Tensor, ValueDef};

#[test]
fn symbolic_batch_dim_defaults_to_one_with_a_note() {
    let b = ModelBuilder::new(13)
        .input_typed("x", FLOAT, vec![Dim::Symbolic("N".into()), Dim::Fixed(3)])
        .node("Relu", &["x"], &["y"])
        .output("y");
    let imported = b.import().unwrap();
    assert_eq!(imported.graph.ty(imported.graph.inputs[0]).shape, vec![1, 3]);
    assert_eq!(imported.notes, vec!["input 'x': symbolic dim 'N' (axis 0) set to 1; use --shape x=...".to_string()]);
    let b = ModelBuilder::new(13).input_typed("x", FLOAT, vec![Dim::Unknown]).node("Relu", &["x"], &["y"]).output("y");
    assert_eq!(
        b.import().unwrap().notes,
        vec!["input 'x': unknown dim (axis 0) set to 1; use --shape x=...".to_string()]
    );
}

#[test]
fn unresolved_non_batch_dim_is_an_error_naming_input_and_axis() {
    let b = ModelBuilder::new(13)
        .input_typed("img", FLOAT, vec![Dim::Fixed(1), Dim::Symbolic("H".into())])
        .node("Relu", &["img"], &["y"])
        .output("y");
    let e = b.import().unwrap_err();
    assert!(matches!(&e, FrontendError::UnresolvedDim { input, axis: 1, .. } if input == "img"), "{e}");
    assert!(e.to_string().contains("'H'"), "{e}");
}

#[test]
fn given_shapes_fix_dims_and_conflicts_are_errors() {
    let b = ModelBuilder::new(13)
        .input_typed("x", FLOAT, vec![Dim::Symbolic("N".into()), Dim::Symbolic("C".into()), Dim::Fixed(4)])
        .node("Relu", &["x"], &["y"])
        .output("y");
    let mut opts = ImportOptions::default();
    opts.shapes.insert("x".into(), vec![8, 2, 4]);
    let imported = b.import_with(&opts).unwrap();
    assert_eq!(imported.graph.ty(imported.graph.outputs[0]).shape, vec![8, 2, 4]);
    assert!(imported.notes.is_empty());
    opts.shapes.insert("x".into(), vec![8, 2, 5]);
    assert!(b.import_with(&opts).unwrap_err().to_string().contains("axis 2"));
    opts.shapes.insert("x".into(), vec![8, 2]);
    assert!(b.import_with(&opts).unwrap_err().to_string().contains("rank"));
    opts.shapes.clear();
    opts.shapes.insert("nope".into(), vec![1]);
    assert!(b.import_with(&opts).unwrap_err().to_string().contains("is not a graph input"));
}

#[test]
fn shape_parameter_from_a_graph_input_needs_its_value() {
    let b = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .input_typed("shape", INT64, vec![Dim::Fixed(2)])
        .node("Reshape", &["x", "shape"], &["y"])
        .output("y");
    let e = b.import().unwrap_err();
    match &e {
        FrontendError::NeedsValue { node, op, input, graph_input } => {
            assert_eq!(
                (node.as_str(), op.as_str(), input.as_str(), graph_input.as_str()),
                ("Reshape_0", "Reshape", "shape", "shape")
            );
        }
        other => panic!("{other}"),
    }
    // Binding the value makes it a constant and the import succeeds.
    let mut opts = ImportOptions::default();
    opts.values.insert("shape".into(), i64s(&[3, 2]));
    let imported = b.import_with(&opts).unwrap();
    assert_eq!(only_op(&imported.graph), Op::Reshape { shape: vec![3, 2] });
    assert_eq!(imported.graph.inputs.len(), 1);
    // A value of the wrong dtype is refused.
    opts.values.insert("shape".into(), Tensor::from_vec(vec![2], vec![3f32, 2.0]));
    assert!(b.import_with(&opts).unwrap_err().to_string().contains("declares i64"));
}

#[test]
fn shape_parameter_computed_from_a_graph_input_names_that_input() {
    let b = ModelBuilder::new(13)
        .input("x", &[6])
        .input_typed("n", INT64, vec![Dim::Fixed(1)])
        .init("one", &i64s(&[1]))
        .node("Add", &["n", "one"], &["n1"])
        .node("Reshape", &["x", "n1"], &["y"])
        .output("y");
    let e = b.import().unwrap_err();
    assert!(
        matches!(&e, FrontendError::NeedsValue { graph_input, input, .. } if graph_input == "n" && input == "n1"),
        "{e}"
    );
}

#[test]
fn all_unsupported_ops_are_listed_at_once() {
    let mut b = ModelBuilder::new(13)
        .input("x", &[3])
        .node("Relu", &["x"], &["a"])
        .node("StringNormalizer", &["a"], &["b"])
        .node("SequenceConstruct", &["b"], &["c"])
        .node_attrs("Cast", &["c"], &["d"], vec![a_int("to", STRING as i64)])
        .node("SplitToSequence", &["d"], &["e", "mask"])
        .node("Bogus", &["e", "mask"], &["f"])
        .output("f");
    b.graph.node[5].domain = "ai.onnx.ml".into();
    let e = b.import().unwrap_err();
    let FrontendError::UnsupportedOps(list) = &e else { panic!("{e}") };
    let names: Vec<(&str, &str)> = list.iter().map(|u| (u.node.as_str(), u.op_type.as_str())).collect();
    assert_eq!(
        names,
        vec![
            ("StringNormalizer_1", "StringNormalizer"),
            ("SequenceConstruct_2", "SequenceConstruct"),
            ("Cast_3", "Cast"),
            ("SplitToSequence_4", "SplitToSequence"),
            ("Bogus_5", "Bogus")
        ]
    );
    assert_eq!(list[4].domain, "ai.onnx.ml");
    let msg = e.to_string();
    assert!(msg.starts_with("5 unsupported op(s)") && msg.contains("STRING") && msg.contains("ai.onnx.ml"), "{msg}");
}

#[test]
fn unsupported_ops_are_reported_before_other_errors() {
    let b = ModelBuilder::new(13)
        .input_typed("x", FLOAT, vec![Dim::Fixed(1), Dim::Symbolic("H".into())])
        .node("Reshape", &["x", "undefined"], &["a"])
        .node("SequenceConstruct", &["a"], &["b"])
        .output("b");
    let e = b.import().unwrap_err();
    assert!(
        matches!(&e, FrontendError::UnsupportedOps(v) if v.len() == 1 && v[0].op_type == "SequenceConstruct"),
        "{e}"
    );
}

#[test]
fn dropout_and_identity_are_forwarded() {
    let g = ModelBuilder::new(12)
        .input("x", &[3])
        .node("Relu", &["x"], &["r"])
        .node("Dropout", &["r"], &["d", "unused_mask"])
        .node("Identity", &["d"], &["y"])
        .output("y")
        .graph();
    assert_eq!(op_names(&g), vec!["relu"]);
    assert_eq!(g.value(g.outputs[0]).name, "y");
}

#[test]
fn outputs_that_are_inputs_or_constants_get_identity_copies() {
    let g = ModelBuilder::new(13)
        .input("x", &[3])
        .init("c", &zeros(&[2]))
        .node("Identity", &["x"], &["x_copy"])
        .node("Relu", &["x"], &["r"])
        .output("x_copy")
        .output("c")
        .output("r")
        .output("r")
        .graph();
    assert_eq!(op_names(&g), vec!["relu", "identity", "identity", "identity"]);
    let names: Vec<&str> = g.outputs.iter().map(|&v| g.value(v).name.as_str()).collect();
    assert_eq!(names, vec!["x_copy", "c", "r", "r"]);
    assert!(g.outputs.iter().all(|&v| matches!(g.value(v).def, ValueDef::Node { .. })));
}

#[test]
fn initializers_listed_as_inputs_and_node_defined_inputs_are_not_real_inputs() {
    // As in IR < 4 models and the ONNX light_* models.
    let b = ModelBuilder::new(9)
        .input("x", &[1, 2])
        .input("w", &[2, 2])
        .input("b", &[2])
        .init("w_shape", &i64s(&[2, 2]))
        .init("b", &zeros(&[2]))
        .node_attrs(
            "ConstantOfShape",
            &["w_shape"],
            &["w"],
            vec![a_tensor("value", tensor_proto("", &f32s(&[1], &[0.5])))],
        )
        .node("Gemm", &["x", "w", "b"], &["y"])
        .output("y");
    let model = OnnxModel::from_bytes(&b.bytes(), None).unwrap();
    let inputs = model.inputs();
    assert_eq!(inputs.len(), 1);
    assert_eq!(
        (inputs[0].name.as_str(), inputs[0].dtype, inputs[0].dims.clone()),
        ("x", Some(DType::F32), vec![Dim::Fixed(1), Dim::Fixed(2)])
    );
    assert_eq!(model.output_names(), vec!["y".to_string()]);
    let g = b.graph();
    assert_eq!(op_names(&g), vec!["gemm"]);
    let gemm = g.nodes.iter().next().unwrap().1;
    assert_eq!(g.const_of(gemm.inputs[1]).unwrap().to_f64_vec(), vec![0.5; 4]);
}

#[test]
fn shape_size_range_and_constants_fold_at_import() {
    let g = ModelBuilder::new(15)
        .input("x", &[2, 3, 4])
        .init("one", &Tensor::scalar(1i64))
        .node_attrs("Shape", &["x"], &["s"], vec![a_int("start", 1)])
        .node("Size", &["x"], &["n"])
        .node_attrs("Constant", &[], &["lim"], vec![a_int("value_int", 5)])
        .node("Range", &["one", "lim", "one"], &["r"])
        .node_attrs("Constant", &[], &["f"], vec![a_floats("value_floats", &[1.0, 2.0])])
        .output("s")
        .output("n")
        .output("r")
        .output("f")
        .graph();
    let consts: Vec<Vec<f64>> =
        g.nodes.iter().map(|(_, n)| g.const_of(n.inputs[0]).expect("identity of a constant").to_f64_vec()).collect();
    assert_eq!(consts, vec![vec![3.0, 4.0], vec![24.0], vec![1.0, 2.0, 3.0, 4.0], vec![1.0, 2.0]]);
}

/// Past the fold cap a ConstantOfShape stays a node (1 GiB here); past kiln's per-tensor
/// limit (2 GiB) it is an error naming the node.
#[test]
fn huge_constant_of_shape_becomes_an_expand_node() {
    let model =
        |dims: &[i64]| ModelBuilder::new(13).init("s", &i64s(dims)).node("ConstantOfShape", &["s"], &["y"]).output("y");
    let g = model(&[1 << 20, 1 << 8]).graph();
    assert_eq!(only_op(&g), Op::Expand { shape: vec![1 << 20, 1 << 8] });
    let e = model(&[1 << 20, 1 << 10]).import().unwrap_err().to_string();
    assert!(e.contains("ConstantOfShape_0") && e.contains("over kiln's limit"), "{e}");
}

#[test]
fn opset_outside_the_supported_range_is_an_error() {
    for v in [0, 29] {
        let e = ModelBuilder::new(v).input("x", &[1]).node("Relu", &["x"], &["y"]).output("y").import().unwrap_err();
        assert!(matches!(e, FrontendError::Opset { version, .. } if version == v));
    }
}

#[test]
fn undefined_node_input_is_an_error_naming_it() {
    let e =
        ModelBuilder::new(13).input("x", &[1]).node("Add", &["x", "ghost"], &["y"]).output("y").import().unwrap_err();
    assert!(e.to_string().contains("node 'Add_0' (Add), input 'ghost'"), "{e}");
    let e = ModelBuilder::new(13).input("x", &[1]).node("Relu", &["x"], &["y"]).output("z").import().unwrap_err();
    assert!(e.to_string().contains("output 'z'"), "{e}");
}

#[test]
fn unsupported_input_dtype_is_an_error() {
    let b = ModelBuilder::new(13).input_typed("h", 14, vec![Dim::Fixed(2)]).node("Relu", &["h"], &["y"]).output("y");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("input 'h'") && e.contains("COMPLEX64"), "{e}");
    // FLOAT8E4M3FN loads (a storage type) but no compute op takes it.
    let b = ModelBuilder::new(13).input_typed("h", 17, vec![Dim::Fixed(2)]).node("Relu", &["h"], &["y"]).output("y");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("Relu") && e.contains("f8e4m3fn"), "{e}");
}

#[test]
fn dropout_in_training_mode_is_refused() {
    let b = ModelBuilder::new(13)
        .input("x", &[3])
        .init("ratio", &Tensor::scalar(0.5f32))
        .init("training", &Tensor::scalar(true))
        .node("Dropout", &["x", "ratio", "training"], &["y"])
        .output("y");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("input 'training'") && e.contains("training mode"), "{e}");
}

#[test]
fn every_compile_time_parameter_reports_the_graph_input_it_needs() {
    use Dim::Fixed;
    // (op, opset, node inputs, attrs): "p" is an i64 graph input standing for the parameter.
    let cases: Vec<(&str, i64, Vec<&str>, Vec<onnx_protobuf::AttributeProto>)> = vec![
        ("Reshape", 13, vec!["x", "p"], vec![]),
        ("Slice", 13, vec!["x", "p", "p"], vec![]),
        ("Pad", 13, vec!["x", "p"], vec![]),
        ("Split", 13, vec!["x", "p"], vec![]),
        ("Squeeze", 13, vec!["x", "p"], vec![]),
        ("Unsqueeze", 13, vec!["x", "p"], vec![]),
        ("ReduceSum", 13, vec!["x", "p"], vec![]),
        ("ReduceMean", 18, vec!["x", "p"], vec![]),
        ("Expand", 13, vec!["x", "p"], vec![]),
        ("Tile", 13, vec!["x", "p"], vec![]),
        ("ConstantOfShape", 13, vec!["p"], vec![]),
        ("Range", 13, vec!["p", "p", "p"], vec![]),
        ("Resize", 13, vec!["x", "", "", "p"], vec![]),
        ("Upsample", 9, vec!["x", "p"], vec![]),
    ];
    for (op, opset, inputs, attrs) in cases {
        let b = ModelBuilder::new(opset)
            .input("x", &[1, 2])
            .input_typed("p", INT64, vec![Fixed(2)])
            .node_attrs(op, &inputs, &["y"], attrs)
            .output("y");
        match b.import() {
            Err(FrontendError::NeedsValue { graph_input, .. }) => assert_eq!(graph_input, "p", "{op}"),
            other => panic!("{op}: {:?}", other.map(|i| i.graph.nodes.len())),
        }
    }
}
