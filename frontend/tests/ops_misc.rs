//! Import of the small ops decomposed into existing IR ops (Trilu, CumSum/CumProd, BitShift,
//! Hardmax, OneHot, Gelu, SpaceToDepth, LpNormalization...): numbers from the reference
//! evaluator on the imported graph against direct loops, on odd sizes, and errors that name the
//! attribute or input. The ONNX node suite checks the remaining cases against ONNX's outputs.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, Tensor};

const INT8: i32 = 3;
const INT32: i32 = 6;
const INT64: i32 = 7;

fn dims(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Fixed(d)).collect()
}

fn eval(b: &ModelBuilder, inputs: &[Tensor]) -> Vec<f64> {
    let g = verified(b.graph());
    eval_graph(&g, inputs).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
}

fn ramp(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    f32s(shape, &(0..n).map(|i| ((i * 37 % 11) as f32 - 5.0) / 3.0).collect::<Vec<_>>())
}

fn import_err(b: &ModelBuilder) -> String {
    match b.import() {
        Ok(_) => panic!("import unexpectedly succeeded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn trilu_lower_with_negative_k_zeroes_above_the_shifted_diagonal() {
    let b = ModelBuilder::new(14)
        .input("x", &[2, 3, 5])
        .init("k", &i64s(&[-1]))
        .node_attrs("Trilu", &["x", "k"], &["y"], vec![a_int("upper", 0)])
        .output("y");
    let x = ramp(&[2, 3, 5]);
    let xs = x.to_f64_vec();
    let want: Vec<f64> = (0..30)
        .map(|f| {
            let (i, j) = ((f / 5) % 3, f % 5);
            if j as i64 - i as i64 <= -1 {
                xs[f]
            } else {
                0.0
            }
        })
        .collect();
    assert_eq!(eval(&b, &[x]), want);
}

#[test]
fn cumsum_exclusive_reverse_along_axis_1_of_odd_length() {
    let shape = [3, 17];
    let b = ModelBuilder::new(14)
        .input("x", &shape)
        .init("axis", &i64s(&[-1]))
        .node_attrs("CumSum", &["x", "axis"], &["y"], vec![a_int("exclusive", 1), a_int("reverse", 1)])
        .output("y");
    let x = ramp(&shape);
    let xs = x.to_f64_vec();
    let mut want = vec![0.0; 51];
    for r in 0..3 {
        let mut acc = 0.0f64;
        for c in (0..17).rev() {
            want[r * 17 + c] = acc;
            acc += xs[r * 17 + c];
        }
    }
    for (g, w) in eval(&b, &[x]).iter().zip(&want) {
        assert!((g - w).abs() < 1e-4, "{g} vs {w}");
    }
}

#[test]
fn cumprod_of_int32_along_axis_0_is_exact() {
    let b = ModelBuilder::new(26)
        .input_typed("x", INT32, dims(&[5, 3]))
        .init("axis", &i64s(&[0]))
        .node("CumProd", &["x", "axis"], &["y"])
        .output("y");
    let xs: Vec<i32> = (0..15).map(|i| (i % 4) as i32 - 1 + (i / 7) as i32).collect();
    let mut want = vec![0i64; 15];
    for c in 0..3 {
        let mut acc = 1i64;
        for r in 0..5 {
            acc *= xs[r * 3 + c] as i64;
            want[r * 3 + c] = acc;
        }
    }
    let got = eval(&b, &[Tensor::from_vec(vec![5, 3], xs)]);
    assert_eq!(got, want.iter().map(|&v| v as f64).collect::<Vec<_>>());
}

fn shift_model(direction: &str) -> ModelBuilder {
    ModelBuilder::new(11)
        .input_typed("x", INT8, dims(&[9]))
        .input_typed("s", INT8, dims(&[9]))
        .node_attrs("BitShift", &["x", "s"], &["y"], vec![a_str("direction", direction)])
        .output("y")
}

#[test]
fn bitshift_on_int8_matches_shifts_with_the_reference_out_of_range_rule() {
    let x: Vec<i8> = vec![-128, -7, -1, 5, 127, -100, 64, 3, -3];
    let s: Vec<i8> = vec![1, 2, 7, 3, 7, 8, -1, 0, 6];
    let inputs = [Tensor::from_vec(vec![9], x.clone()), Tensor::from_vec(vec![9], s.clone())];
    let right: Vec<f64> = x
        .iter()
        .zip(&s)
        .map(|(&v, &k)| match k {
            0..=7 => (v >> k) as f64,
            _ => {
                if v < 0 {
                    -1.0
                } else {
                    0.0
                }
            }
        })
        .collect();
    let left: Vec<f64> = x
        .iter()
        .zip(&s)
        .map(|(&v, &k)| match k {
            0..=7 => ((v as u8) << k) as i8 as f64,
            _ => 0.0,
        })
        .collect();
    assert_eq!(eval(&shift_model("RIGHT"), &inputs), right);
    assert_eq!(eval(&shift_model("LEFT"), &inputs), left);
}

#[test]
fn bitshift_without_direction_names_the_attribute() {
    let b = ModelBuilder::new(11)
        .input_typed("x", INT8, dims(&[3]))
        .input_typed("s", INT8, dims(&[3]))
        .node("BitShift", &["x", "s"], &["y"])
        .output("y");
    let e = import_err(&b);
    assert!(e.contains("BitShift_0") && e.contains("direction"), "{e}");
}

#[test]
fn hardmax_marks_the_first_of_tied_maxima() {
    let b = ModelBuilder::new(13).input("x", &[3, 5]).node("Hardmax", &["x"], &["y"]).output("y");
    let x = f32s(&[3, 5], &[1., 3., 3., 0., 2., -1., -1., -1., -1., -1., 0., 0., 0., 0., 7.]);
    let want = [0., 1., 0., 0., 0., 1., 0., 0., 0., 0., 0., 0., 0., 0., 1.];
    assert_eq!(eval(&b, &[x]), want);
}

#[test]
fn one_hot_wraps_negative_indices_and_leaves_out_of_range_ones_off() {
    let b = ModelBuilder::new(11)
        .input_typed("i", INT64, dims(&[5]))
        .init("depth", &f32s(&[], &[3.0]))
        .init("values", &f32s(&[2], &[-2.0, 5.0]))
        .node_attrs("OneHot", &["i", "depth", "values"], &["y"], vec![a_int("axis", 0)])
        .output("y");
    let idx = [0i64, -1, 3, -4, 2];
    let mut want = vec![-2.0; 15];
    for (p, &i) in idx.iter().enumerate() {
        let w = if i < 0 { i + 3 } else { i };
        if (0..3).contains(&w) {
            want[w as usize * 5 + p] = 5.0;
        }
    }
    assert_eq!(eval(&b, &[Tensor::from_vec(vec![5], idx.to_vec())]), want);
}

#[test]
fn gelu_tanh_form_against_its_formula() {
    let b = ModelBuilder::new(20)
        .input("x", &[17])
        .node_attrs("Gelu", &["x"], &["y"], vec![a_str("approximate", "tanh")])
        .output("y");
    let x = ramp(&[17]);
    let want: Vec<f64> = x
        .to_f64_vec()
        .iter()
        .map(|&v| 0.5 * v * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (v + 0.044715 * v * v * v)).tanh()))
        .collect();
    for (g, w) in eval(&b, &[x]).iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
}

#[test]
fn space_to_depth_then_depth_to_space_round_trips_in_both_modes() {
    for mode in ["DCR", "CRD"] {
        let b = ModelBuilder::new(25)
            .input("x", &[1, 3, 4, 6])
            .node_attrs("SpaceToDepth", &["x"], &["d"], vec![a_int("blocksize", 2), a_str("mode", mode)])
            .node_attrs("DepthToSpace", &["d"], &["y"], vec![a_int("blocksize", 2), a_str("mode", mode)])
            .output("y");
        let x = ramp(&[1, 3, 4, 6]);
        assert_eq!(eval(&b, &[x.clone()]), x.to_f64_vec(), "{mode}");
    }
}

#[test]
fn space_to_depth_moves_each_block_into_channels() {
    let b = ModelBuilder::new(13)
        .input("x", &[1, 1, 2, 4])
        .node_attrs("SpaceToDepth", &["x"], &["y"], vec![a_int("blocksize", 2)])
        .output("y");
    let x = f32s(&[1, 1, 2, 4], &[0., 1., 2., 3., 4., 5., 6., 7.]);
    assert_eq!(eval(&b, &[x]), [0., 2., 1., 3., 4., 6., 5., 7.]);
}

#[test]
fn attribute_errors_name_the_attribute() {
    let cases = [
        ("Gelu", vec![a_str("approximate", "fast")], "approximate"),
        ("LpNormalization", vec![a_int("p", 3)], "'p'"),
        ("SpaceToDepth", vec![a_int("blocksize", 4)], "blocksize"),
        ("DepthToSpace", vec![a_int("blocksize", 2), a_str("mode", "XYZ")], "mode"),
    ];
    for (op, attrs, attr) in cases {
        let b = ModelBuilder::new(20).input("x", &[1, 4, 6, 6]).node_attrs(op, &["x"], &["y"], attrs).output("y");
        let e = import_err(&b);
        assert!(e.contains(&format!("{op}_0")) && e.contains(attr), "{op}: {e}");
    }
}

fn unary_model(op: &str, n: usize) -> ModelBuilder {
    ModelBuilder::new(22).input("x", &[n]).node(op, &["x"], &["y"]).output("y")
}

#[test]
fn inverse_trig_and_hyperbolic_ops_match_libm_across_their_domains() {
    type F = fn(f64) -> f64;
    let wide: Vec<f32> =
        (0..33).map(|i| (i as f32 - 16.0) * 0.9f32.powi(i % 7) * 3.0).chain([0.0, 1e-3, -7e4]).collect();
    let unit: Vec<f32> = (0..33).map(|i| (i as f32 - 16.0) / 16.0).chain([0.999, -0.9999]).collect();
    let above_one: Vec<f32> = (0..17).map(|i| 1.0 + i as f32 * 0.7).collect();
    let cases: [(&str, F, &Vec<f32>); 9] = [
        ("Atan", f64::atan, &wide),
        ("Asin", f64::asin, &unit),
        ("Acos", f64::acos, &unit),
        ("Asinh", f64::asinh, &wide),
        ("Acosh", f64::acosh, &above_one),
        ("Atanh", f64::atanh, &unit[1..32].to_vec()),
        ("Tan", f64::tan, &unit),
        ("Sinh", f64::sinh, &unit),
        ("Cosh", f64::cosh, &unit),
    ];
    for (op, f, xs) in cases {
        let got = eval(&unary_model(op, xs.len()), &[f32s(&[xs.len()], xs)]);
        for (x, g) in xs.iter().zip(&got) {
            let w = f(*x as f64);
            assert!((g - w).abs() <= 1e-5 + 2e-4 * w.abs(), "{op}({x}) = {g}, want {w}");
        }
    }
}

#[test]
fn lp_pool_with_pads_sums_powers_over_zero_padded_windows() {
    let b = ModelBuilder::new(18)
        .input("x", &[1, 2, 5])
        .node_attrs(
            "LpPool",
            &["x"],
            &["y"],
            vec![a_int("p", 3), a_ints("kernel_shape", &[3]), a_ints("pads", &[1, 1]), a_ints("strides", &[2])],
        )
        .output("y");
    let x = ramp(&[1, 2, 5]);
    let xs = x.to_f64_vec();
    let mut want = vec![];
    for c in 0..2 {
        for o in 0..3 {
            let s: f64 = (0..3)
                .map(|k| (o * 2 + k) as i64 - 1)
                .filter(|&i| (0..5).contains(&i))
                .map(|i| xs[c * 5 + i as usize].abs().powi(3))
                .sum();
            want.push(s.cbrt());
        }
    }
    for (g, w) in eval(&b, &[x]).iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
}

#[test]
fn hann_window_of_constant_length_folds_to_its_cosine_sum() {
    let b = ModelBuilder::new(17)
        .init("n", &i64s(&[5]))
        .node_attrs("HannWindow", &["n"], &["y"], vec![a_int("periodic", 0)])
        .output("y");
    let want: Vec<f64> = (0..5).map(|n| (std::f64::consts::PI * n as f64 / 4.0).sin().powi(2)).collect();
    for (g, w) in eval(&b, &[]).iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{g} vs {w}");
    }
}

#[test]
fn center_crop_pad_pairs_shape_with_axes_in_their_given_order() {
    let b = ModelBuilder::new(18)
        .input("x", &[3, 5])
        .init("shape", &i64s(&[6, 2]))
        .node_attrs("CenterCropPad", &["x", "shape"], &["y"], vec![a_ints("axes", &[1, 0])])
        .output("y");
    let x = ramp(&[3, 5]);
    let xs = x.to_f64_vec();
    // Axis 1: 5 -> 6 pads 0 before, 1 after; axis 0: 3 -> 2 crops 0 before, 1 after.
    let want: Vec<f64> = (0..2)
        .flat_map(|r| (0..6).map(move |c| (r, c)))
        .map(|(r, c)| if c < 5 { xs[r * 5 + c] } else { 0.0 })
        .collect();
    assert_eq!(out_shape(&verified(b.graph()), 0), vec![2, 6]);
    assert_eq!(eval(&b, &[x]), want);
}

#[test]
fn bitwise_not_flips_every_bit_of_signed_and_unsigned_ints() {
    let xs: Vec<i16> = vec![0, 1, -1, i16::MIN, i16::MAX, 1234, -777];
    let b = ModelBuilder::new(18).input_typed("x", 5, dims(&[7])).node("BitwiseNot", &["x"], &["y"]).output("y");
    let want: Vec<f64> = xs.iter().map(|&v| !v as f64).collect();
    assert_eq!(eval(&b, &[Tensor::from_vec(vec![7], xs)]), want);
    let us: Vec<u8> = vec![0, 1, 255, 128, 77];
    let b = ModelBuilder::new(18).input_typed("x", 2, dims(&[5])).node("BitwiseNot", &["x"], &["y"]).output("y");
    let want: Vec<f64> = us.iter().map(|&v| !v as f64).collect();
    assert_eq!(eval(&b, &[Tensor::from_vec(vec![5], us)]), want);
}

#[test]
fn group_norm_before_opset_21_scales_per_group() {
    let (scale, bias) = (f32s(&[2], &[2.0, -1.0]), f32s(&[2], &[0.5, 3.0]));
    let b = ModelBuilder::new(18)
        .input("x", &[1, 4, 3])
        .init("s", &scale)
        .init("b", &bias)
        .node_attrs("GroupNormalization", &["x", "s", "b"], &["y"], vec![a_int("num_groups", 2)])
        .output("y");
    let x = ramp(&[1, 4, 3]);
    let mut want = vec![];
    for (g, group) in x.to_f64_vec().chunks(6).enumerate() {
        let mean = group.iter().sum::<f64>() / 6.0;
        let var = group.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 6.0;
        let (s, o) = ([2.0, -1.0][g], [0.5, 3.0][g]);
        want.extend(group.iter().map(|v| (v - mean) / (var + 1e-5f32 as f64).sqrt() * s + o));
    }
    for (g, w) in eval(&b, &[x]).iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
}

#[test]
fn compress_with_a_runtime_condition_is_an_error_naming_the_input() {
    let b = ModelBuilder::new(11)
        .input("x", &[3, 2])
        .input_typed("cond", 9, dims(&[3]))
        .node_attrs("Compress", &["x", "cond"], &["y"], vec![a_int("axis", 0)])
        .output("y");
    let e = import_err(&b);
    assert!(e.contains("Compress_0") && e.contains("cond"), "{e}");
}

#[test]
fn det_of_a_batch_of_3x3_matrices_by_cofactor_expansion() {
    let b = ModelBuilder::new(22).input("x", &[2, 3, 3]).node("Det", &["x"], &["y"]).output("y");
    let x = ramp(&[2, 3, 3]);
    let want: Vec<f64> = x
        .to_f64_vec()
        .chunks(9)
        .map(|m| {
            m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
        })
        .collect();
    for (g, w) in eval(&b, &[x]).iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{g} vs {w}");
    }
    // 4x4: rows 0 and 2 of diag(1, 2, 3, 4) swapped, plus an upper entry that must not count.
    let four = ModelBuilder::new(22).input("x", &[4, 4]).node("Det", &["x"], &["y"]).output("y");
    let m = f32s(&[4, 4], &[0., 0., 3., 0., 0., 2., 0., 9., 1., 0., 0., 0., 0., 0., 0., 4.]);
    assert_eq!(eval(&four, &[m]), [-24.0]);
    let big = ModelBuilder::new(22).input("x", &[5, 5]).node("Det", &["x"], &["y"]).output("y");
    assert!(import_err(&big).contains("Det_0"));
}
