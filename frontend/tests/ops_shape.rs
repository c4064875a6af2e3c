//! Import of shape and data-movement ops, across the opsets where their parameters moved from
//! attributes to inputs.
mod common;
use common::*;
use kiln_ir::{Ieee64, Op, PadMode};

#[test]
fn reshape_zero_copies_and_minus_one_infers() {
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3, 4])
        .init("s", &i64s(&[0, -1]))
        .node("Reshape", &["x", "s"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Reshape { shape: vec![2, 12] });
}

#[test]
fn reshape_allowzero_keeps_zero() {
    let b = ModelBuilder::new(14)
        .input("x", &[0, 3])
        .init("s", &i64s(&[3, 0]))
        .node_attrs("Reshape", &["x", "s"], &["y"], vec![a_int("allowzero", 1)])
        .output("y");
    assert_eq!(only_op(&b.graph()), Op::Reshape { shape: vec![3, 0] });
}

#[test]
fn reshape_wrong_count_names_node_and_input() {
    let b = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .init("s", &i64s(&[4, 2]))
        .node("Reshape", &["x", "s"], &["y"])
        .output("y");
    let e = b.import().unwrap_err().to_string();
    assert!(e.contains("node 'Reshape_0' (Reshape), input 's'"), "{e}");
}

#[test]
fn flatten_and_negative_axis() {
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3, 4])
        .node_attrs("Flatten", &["x"], &["y"], vec![a_int("axis", -1)])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Reshape { shape: vec![6, 4] });
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3, 4])
        .node_attrs("Flatten", &["x"], &["y"], vec![a_int("axis", 0)])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Reshape { shape: vec![1, 24] });
}

#[test]
fn squeeze_axes_attribute_before_13_and_input_after() {
    let old = ModelBuilder::new(11)
        .input("x", &[1, 3, 1, 4])
        .node_attrs("Squeeze", &["x"], &["y"], vec![a_ints("axes", &[-2])])
        .output("y")
        .graph();
    assert_eq!(only_op(&old), Op::Reshape { shape: vec![1, 3, 4] });
    let new = ModelBuilder::new(13)
        .input("x", &[1, 3, 1, 4])
        .init("axes", &i64s(&[0]))
        .node("Squeeze", &["x", "axes"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&new), Op::Reshape { shape: vec![3, 1, 4] });
    let all = ModelBuilder::new(13).input("x", &[1, 3, 1, 4]).node("Squeeze", &["x"], &["y"]).output("y").graph();
    assert_eq!(only_op(&all), Op::Reshape { shape: vec![3, 4] });
}

#[test]
fn squeeze_of_non_unit_axis_is_an_error() {
    let b = ModelBuilder::new(11)
        .input("x", &[2, 3])
        .node_attrs("Squeeze", &["x"], &["y"], vec![a_ints("axes", &[0])])
        .output("y");
    assert!(b.import().unwrap_err().to_string().contains("attribute 'axes'"));
}

#[test]
fn unsqueeze_both_opsets() {
    let old = ModelBuilder::new(9)
        .input("x", &[3, 4])
        .node_attrs("Unsqueeze", &["x"], &["y"], vec![a_ints("axes", &[0, 3])])
        .output("y")
        .graph();
    assert_eq!(only_op(&old), Op::Reshape { shape: vec![1, 3, 4, 1] });
    let new = ModelBuilder::new(13)
        .input("x", &[3, 4])
        .init("axes", &i64s(&[-1]))
        .node("Unsqueeze", &["x", "axes"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&new), Op::Reshape { shape: vec![3, 4, 1] });
}

#[test]
fn transpose_default_perm_reverses() {
    let g = ModelBuilder::new(13).input("x", &[2, 3, 4]).node("Transpose", &["x"], &["y"]).output("y").graph();
    assert_eq!(only_op(&g), Op::Transpose { perm: vec![2, 1, 0] });
    assert_eq!(out_shape(&g, 0), vec![4, 3, 2]);
}

#[test]
fn split_attr_before_13_input_after_and_num_outputs_at_18() {
    let old = ModelBuilder::new(11)
        .input("x", &[2, 6])
        .node_attrs("Split", &["x"], &["a", "b"], vec![a_int("axis", 1), a_ints("split", &[2, 4])])
        .output("a")
        .output("b")
        .graph();
    assert_eq!(only_op(&old), Op::Split { axis: 1, sizes: vec![2, 4] });
    assert_eq!(out_shape(&old, 1), vec![2, 4]);
    let new = ModelBuilder::new(13)
        .input("x", &[2, 6])
        .init("s", &i64s(&[5, 1]))
        .node_attrs("Split", &["x", "s"], &["a", "b"], vec![a_int("axis", -1)])
        .output("a")
        .output("b")
        .graph();
    assert_eq!(only_op(&new), Op::Split { axis: 1, sizes: vec![5, 1] });
    let equal = ModelBuilder::new(13).input("x", &[6]).node("Split", &["x"], &["a", "b", "c"]).output("c").graph();
    assert_eq!(only_op(&equal), Op::Split { axis: 0, sizes: vec![2, 2, 2] });
    let uneven = ModelBuilder::new(18)
        .input("x", &[7])
        .node_attrs("Split", &["x"], &["a", "b", "c"], vec![a_int("num_outputs", 3)])
        .output("c")
        .graph();
    assert_eq!(only_op(&uneven), Op::Split { axis: 0, sizes: vec![3, 3, 1] });
}

#[test]
fn slice_attributes_before_10_clamped() {
    let g = ModelBuilder::new(9)
        .input("x", &[4, 10])
        .node_attrs(
            "Slice",
            &["x"],
            &["y"],
            vec![a_ints("starts", &[1, -3]), a_ints("ends", &[1000, i64::MAX]), a_ints("axes", &[0, 1])],
        )
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Slice { starts: vec![1, 7], steps: vec![1, 1], lens: vec![3, 3] });
}

#[test]
fn slice_inputs_with_negative_steps() {
    let g = ModelBuilder::new(13)
        .input("x", &[4, 10])
        .init("starts", &i64s(&[-1]))
        .init("ends", &i64s(&[i64::MIN]))
        .init("axes", &i64s(&[1]))
        .init("steps", &i64s(&[-3]))
        .node("Slice", &["x", "starts", "ends", "axes", "steps"], &["y"])
        .output("y")
        .graph();
    // 9, 6, 3, 0
    assert_eq!(only_op(&g), Op::Slice { starts: vec![0, 9], steps: vec![1, -3], lens: vec![4, 4] });
    assert_eq!(out_shape(&g, 0), vec![4, 4]);
}

#[test]
fn slice_empty_range_has_zero_length() {
    let g = ModelBuilder::new(13)
        .input("x", &[5])
        .init("starts", &i64s(&[4]))
        .init("ends", &i64s(&[2]))
        .node("Slice", &["x", "starts", "ends"], &["y"])
        .output("y")
        .graph();
    assert_eq!(only_op(&g), Op::Slice { starts: vec![0], steps: vec![1], lens: vec![0] });
}

#[test]
fn pad_attributes_before_11_inputs_after_and_axes_at_18() {
    let old = ModelBuilder::new(9)
        .input("x", &[2, 3])
        .node_attrs("Pad", &["x"], &["y"], vec![a_ints("pads", &[0, 1, 0, 2]), a_float("value", 1.5)])
        .output("y")
        .graph();
    assert_eq!(only_op(&old), Op::Pad { mode: PadMode::Constant, pads: vec![0, 1, 0, 2], value: 1.5.into() });
    let new = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .init("p", &i64s(&[1, 0, 1, -1]))
        .init("v", &kiln_ir::Tensor::scalar(2f32))
        .node_attrs("Pad", &["x", "p", "v"], &["y"], vec![a_str("mode", "reflect")])
        .output("y")
        .graph();
    assert_eq!(only_op(&new), Op::Pad { mode: PadMode::Reflect, pads: vec![1, 0, 1, -1], value: 2.0.into() });
    assert_eq!(out_shape(&new, 0), vec![4, 2]);
    let axes = ModelBuilder::new(18)
        .input("x", &[2, 3])
        .init("p", &i64s(&[2, 3]))
        .init("axes", &i64s(&[-1]))
        .node_attrs("Pad", &["x", "p", "", "axes"], &["y"], vec![a_str("mode", "edge")])
        .output("y")
        .graph();
    assert_eq!(only_op(&axes), Op::Pad { mode: PadMode::Edge, pads: vec![0, 2, 0, 3], value: 0.0.into() });
}

#[test]
fn concat_gather_expand() {
    let g = ModelBuilder::new(13)
        .input("a", &[2, 3])
        .input("b", &[2, 5])
        .init("i", &i64s(&[0, 2]))
        .init("s", &i64s(&[3, 1, 1]))
        .node_attrs("Concat", &["a", "b"], &["c"], vec![a_int("axis", -1)])
        .node_attrs("Gather", &["c", "i"], &["d"], vec![a_int("axis", 1)])
        .node("Expand", &["d", "s"], &["e"])
        .output("e")
        .graph();
    assert_eq!(ops(&g), vec![Op::Concat { axis: 1 }, Op::Gather { axis: 1 }, Op::Expand { shape: vec![3, 2, 2] }]);
}

/// Resize scales are f64: with sizes, `out / in` computed in f64 (5 -> 3 is the double 0.6, 3 -> 1
/// is 1/3); with scales, the f32 values widened exactly (0.6f32 stays 0.6000000238418579).
#[test]
fn resize_scales_are_f64_out_over_in_or_widened_f32() {
    let from_sizes = ModelBuilder::new(13)
        .input("x", &[1, 1, 5, 3])
        .init("sizes", &i64s(&[1, 1, 3, 1]))
        .node_attrs("Resize", &["x", "", "", "sizes"], &["y"], vec![a_str("mode", "linear")])
        .output("y")
        .graph();
    let Op::Resize(a) = only_op(&from_sizes) else { panic!("expected Resize") };
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
    let bits_of = |v: &[Ieee64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
    assert_eq!(bits_of(&a.scales), bits(&[1.0, 1.0, 3.0 / 5.0, 1.0 / 3.0]));
    assert_eq!(a.sizes, vec![1, 1, 3, 1]);
    let from_scales = ModelBuilder::new(13)
        .input("x", &[1, 1, 5, 3])
        .init("scales", &f32s(&[4], &[1.0, 1.0, 0.6, 1.7]))
        .node_attrs("Resize", &["x", "", "scales"], &["y"], vec![a_str("mode", "linear")])
        .output("y")
        .graph();
    let Op::Resize(a) = only_op(&from_scales) else { panic!("expected Resize") };
    assert_eq!(bits_of(&a.scales), bits(&[1.0, 1.0, f64::from(0.6f32), f64::from(1.7f32)]));
    assert_eq!(a.sizes, vec![1, 1, 3, 5]);
}

#[test]
fn resize_opset_10_11_13_and_upsample() {
    use kiln_ir::{CoordMode, NearestMode, ResizeMode};
    let up = ModelBuilder::new(8)
        .input("x", &[1, 1, 2, 3])
        .node_attrs("Upsample", &["x"], &["y"], vec![a_floats("scales", &[1.0, 1.0, 2.0, 2.0])])
        .output("y")
        .graph();
    let Op::Resize(a) = only_op(&up) else { panic!() };
    assert_eq!(
        (a.mode, a.coord, a.sizes.clone()),
        (ResizeMode::Nearest(NearestMode::Floor), CoordMode::Asymmetric, vec![1, 1, 4, 6])
    );
    let r11 = ModelBuilder::new(11)
        .input("x", &[1, 1, 2, 3])
        .init("roi", &f32s(&[0], &[]))
        .init("scales", &f32s(&[0], &[]))
        .init("sizes", &i64s(&[1, 1, 3, 3]))
        .node_attrs("Resize", &["x", "roi", "scales", "sizes"], &["y"], vec![a_str("mode", "linear")])
        .output("y")
        .graph();
    let Op::Resize(a) = only_op(&r11) else { panic!() };
    assert_eq!((a.mode, a.coord), (ResizeMode::Linear, CoordMode::HalfPixel));
    assert_eq!((a.scales, a.sizes), ([1.0, 1.0, 1.5, 1.0].map(Ieee64::new).to_vec(), vec![1, 1, 3, 3]));
    let r13 = ModelBuilder::new(13)
        .input("x", &[1, 1, 2, 3])
        .init("scales", &f32s(&[4], &[1.0, 1.0, 0.5, 2.0]))
        .node_attrs(
            "Resize",
            &["x", "", "scales"],
            &["y"],
            vec![a_str("coordinate_transformation_mode", "align_corners"), a_str("nearest_mode", "ceil")],
        )
        .output("y")
        .graph();
    let Op::Resize(a) = only_op(&r13) else { panic!() };
    assert_eq!(
        (a.mode, a.coord, a.sizes),
        (ResizeMode::Nearest(NearestMode::Ceil), CoordMode::AlignCorners, vec![1, 1, 1, 6])
    );
}

#[test]
fn tile_is_reshape_expand_reshape() {
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .init("r", &i64s(&[2, 1]))
        .node("Tile", &["x", "r"], &["y"])
        .output("y")
        .graph();
    assert_eq!(
        ops(&g),
        vec![
            Op::Reshape { shape: vec![1, 2, 1, 3] },
            Op::Expand { shape: vec![2, 2, 1, 3] },
            Op::Reshape { shape: vec![4, 3] }
        ]
    );
}

#[test]
fn eye_like_folds_to_a_constant() {
    let g = ModelBuilder::new(13)
        .input("x", &[2, 3])
        .node_attrs("EyeLike", &["x"], &["e"], vec![a_int("k", 1), a_int("dtype", 7)])
        .output("e")
        .graph();
    let id = g.nodes.iter().next().unwrap().1;
    assert_eq!(g.const_of(id.inputs[0]).unwrap().as_slice::<i64>().unwrap(), &[0, 1, 0, 0, 0, 1]);
}
