//! Winograd F(2x2, 3x3) and F(4x4, 3x3) ops (`WinogradInput`, `WinogradOutput`,
//! `winograd_weights`): the decomposition against the direct convolution of the reference
//! evaluator at odd sizes for both tile sizes, the type rules and their errors, the text form,
//! and `WinogradOutput` as a fused base.

use kiln_ir::winograd::{winograd_applies, winograd_ops, winograd_weights, MAX_WIDTH, TILES};
use kiln_ir::*;

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// Deterministic pseudo-random values in [-1, 1) (an LCG, so failures reproduce).
fn random(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_vec(shape.to_vec(), v)
}

fn conv3x3(pads: [usize; 4]) -> ConvAttrs {
    ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: pads.to_vec(), group: 1 }
}

fn eval1(op: &Op, inputs: &[&Tensor]) -> Tensor {
    eval_op(op, inputs).unwrap_or_else(|e| panic!("{op:?}: {e}")).remove(0)
}

/// `WinogradOutput(MatMul(U, WinogradInput(x)), b)` for the conv `attrs`, F(tile x tile, 3x3).
fn winograd_conv(attrs: &ConvAttrs, x: &Tensor, w: &Tensor, b: Option<&Tensor>, tile: usize) -> Tensor {
    let (input, output) = winograd_ops(attrs, &x.ty(), &w.ty(), tile).expect("winograd applies");
    let u = winograd_weights(w, tile).unwrap();
    let v = eval1(&input, &[x]);
    let m = eval1(&Op::MatMul, &[&u, &v]);
    let mut ins = vec![&m];
    ins.extend(b);
    eval1(&output, &ins)
}

/// Within 1e-5 relative plus an absolute term: 1e-6 for F(2,3); for F(4,3) 1e-5 of the largest
/// output magnitude, since its transforms scale values by up to 100 and the cancellation leaves
/// an error proportional to the tile's magnitude, not to each small output (`kiln_ir::winograd`).
fn assert_close(want: &Tensor, got: &Tensor, what: &str, tile: usize) {
    assert_eq!(want.shape(), got.shape(), "{what}: shape");
    let peak = want.to_f64_vec().iter().fold(0f64, |m, v| m.max(v.abs()));
    let atol = if tile == 2 { 1e-6 } else { 1e-5 * peak.max(1.0) };
    for (i, (e, a)) in want.to_f64_vec().iter().zip(got.to_f64_vec()).enumerate() {
        assert!((a - e).abs() <= atol + 1e-5 * e.abs(), "{what}: element {i}: conv {e}, winograd {a}");
    }
}

#[test]
fn winograd_equals_direct_conv_at_odd_sizes() {
    let mut cases = 0;
    for (hi, &h) in [1, 3, 5, 7, 17].iter().enumerate() {
        for (wi, &w_) in [1, 3, 5, 7, 17].iter().enumerate() {
            for &c in &[1, 3, 5, 16] {
                for &m in &[1, 3, 5, 16] {
                    for pad in [0, 1] {
                        for (n, tile) in [(1, 2), (2, 2), (1, 4), (2, 4)] {
                            let attrs = conv3x3([pad; 4]);
                            let x = random(&[n, c, h, w_], (hi * 7 + wi + c * 31 + m) as u64);
                            let w = random(&[m, c, 3, 3], (c * 5 + m) as u64 + 1000);
                            let b = random(&[m], m as u64 + 77);
                            if !winograd_applies(&attrs, &x.ty(), &w.ty()) {
                                assert!(h + 2 * pad < 3 || w_ + 2 * pad < 3, "applies to {h}x{w_} pad {pad}");
                                continue;
                            }
                            let what = format!("F({tile},3) n={n} c={c} m={m} {h}x{w_} pad={pad}");
                            let want = eval1(&Op::Conv(attrs.clone()), &[&x, &w, &b]);
                            assert_close(&want, &winograd_conv(&attrs, &x, &w, Some(&b), tile), &what, tile);
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(cases > 2000, "only {cases} cases ran");
}

#[test]
fn winograd_equals_direct_conv_with_asymmetric_and_double_pads_without_bias() {
    for pads in [[0, 1, 2, 1], [2, 2, 2, 2], [1, 0, 0, 2], [2, 0, 1, 1]] {
        for (h, w_) in [(1, 4), (4, 1), (6, 9), (9, 6)] {
            let attrs = conv3x3(pads);
            let x = random(&[2, 3, h, w_], (h * 10 + w_) as u64);
            let w = random(&[5, 3, 3, 3], 9);
            if !winograd_applies(&attrs, &x.ty(), &w.ty()) {
                continue;
            }
            let want = eval1(&Op::Conv(attrs.clone()), &[&x, &w]);
            for tile in TILES {
                let got = winograd_conv(&attrs, &x, &w, None, tile);
                assert_close(&want, &got, &format!("F({tile},3) {h}x{w_} pads {pads:?}"), tile);
            }
        }
    }
}

#[test]
fn winograd_applies_only_to_plain_3x3_stride_1_f32_convs() {
    let (x, w) = (f32t(&[1, 4, 8, 8]), f32t(&[6, 4, 3, 3]));
    assert!(winograd_applies(&conv3x3([1; 4]), &x, &w));
    assert!(winograd_applies(&conv3x3([0, 2, 1, 0]), &x, &w));
    let with = |f: &dyn Fn(&mut ConvAttrs)| {
        let mut a = conv3x3([1; 4]);
        f(&mut a);
        a
    };
    for a in [
        with(&|a| a.strides = vec![2, 2]),
        with(&|a| a.dilations = vec![1, 2]),
        with(&|a| a.group = 2),
        with(&|a| a.pads = vec![3, 1, 1, 1]),
        with(&|a| a.kernel = vec![5, 5]),
    ] {
        assert!(!winograd_applies(&a, &x, &w), "{a:?}");
    }
    let a = conv3x3([1; 4]);
    assert!(!winograd_applies(
        &a,
        &TensorType::new(DType::F64, vec![1, 4, 8, 8]),
        &TensorType::new(DType::F64, vec![6, 4, 3, 3])
    ));
    assert!(!winograd_applies(&a, &x, &f32t(&[6, 4, 5, 5])));
    assert!(!winograd_applies(&a, &x, &f32t(&[6, 3, 3, 3])));
    assert!(!winograd_applies(&a, &f32t(&[1, 4, 8]), &f32t(&[6, 4, 3])));
    assert!(!winograd_applies(&a, &f32t(&[1, 4, 8, MAX_WIDTH]), &w));
    assert!(winograd_applies(&a, &f32t(&[1, 4, 8, MAX_WIDTH - 1]), &w));
    assert!(!winograd_applies(&conv3x3([0; 4]), &f32t(&[1, 4, 2, 8]), &w), "output height would be 0");
}

#[test]
fn winograd_ops_exist_only_for_tile_sizes_2_and_4() {
    let (x, w) = (f32t(&[1, 4, 8, 8]), f32t(&[6, 4, 3, 3]));
    for tile in [0, 1, 3, 5, 6] {
        assert!(winograd_ops(&conv3x3([1; 4]), &x, &w, tile).is_none(), "tile {tile}");
        assert!(winograd_weights(&random(&[2, 3, 3, 3], 5), tile).unwrap_err().contains("tile"));
    }
    let (input, _) = winograd_ops(&conv3x3([1; 4]), &x, &w, 4).unwrap();
    assert_eq!(infer_types(&input, &[&x]).unwrap(), vec![f32t(&[36, 4, 4])]);
}

#[test]
fn f4_weights_corners_are_the_filter_corners_scaled() {
    // (G g G^T) corners: G[0] = [1/4, 0, 0] and G[5] = [0, 0, 1].
    let w = random(&[1, 1, 3, 3], 8);
    let (g, u) = (w.to_f64_vec(), winograd_weights(&w, 4).unwrap().to_f64_vec());
    assert_eq!(u.len(), 36);
    let want = [g[0] / 16.0, g[2] / 4.0, g[6] / 4.0, g[8]].map(|v| v as f32 as f64);
    assert_eq!([u[0], u[5], u[30], u[35]], want);
}

#[test]
fn winograd_weights_transform_each_filter_and_check_the_shape() {
    let w = random(&[2, 3, 3, 3], 5);
    let u = winograd_weights(&w, 2).unwrap();
    assert_eq!(u.shape(), &[16, 2, 3]);
    // U[0] = g[0][0], U[3] = g[0][2], U[12] = g[2][0], U[15] = g[2][2] (corners of G g G^T).
    let (ws, us) = (w.to_f64_vec(), u.to_f64_vec());
    for mc in 0..6 {
        let g = &ws[9 * mc..9 * mc + 9];
        assert_eq!([us[mc], us[3 * 6 + mc], us[12 * 6 + mc], us[15 * 6 + mc]], [g[0], g[2], g[6], g[8]]);
        let mid = (g.iter().sum::<f64>() / 4.0) as f32 as f64; // (G g G^T)[1][1]
        assert_eq!(us[5 * 6 + mc], mid);
    }
    assert!(winograd_weights(&random(&[2, 3, 5, 5], 1), 2).unwrap_err().contains("[M, C, 3, 3]"));
    let f64w = Tensor::from_vec(vec![1, 1, 3, 3], vec![0f64; 9]);
    assert!(winograd_weights(&f64w, 4).unwrap_err().contains("f32"));
}

#[test]
fn input_transform_of_a_single_tile_is_bt_d_b() {
    // One 4x4 input, no pads, conv output 2x2: exactly one tile, d = x.
    let x = random(&[1, 1, 4, 4], 3);
    let v = eval1(&Op::WinogradInput { pads: vec![0; 4], out_hw: [2, 2], tile: 2 }, &[&x]);
    assert_eq!(v.shape(), &[16, 1, 1]);
    let d = x.to_f64_vec();
    let bt = winograd::F2.b_t;
    for i in 0..4 {
        for j in 0..4 {
            let want: f64 = (0..16).map(|kl| bt[i][kl / 4] * d[kl] * bt[j][kl % 4]).sum();
            assert_eq!(v.to_f64_vec()[4 * i + j], want as f32 as f64, "V[{i}][{j}]");
        }
    }
}

#[test]
fn type_errors_name_the_attribute_or_operand() {
    let infer = |op: &Op, ins: &[TensorType]| infer_types(op, &ins.iter().collect::<Vec<_>>()).unwrap_err();
    let x = f32t(&[2, 3, 5, 7]);
    let input = |pads: Vec<usize>, out_hw, tile| Op::WinogradInput { pads, out_hw, tile };
    let ok = input(vec![1; 4], [5, 7], 2);
    assert_eq!(infer_types(&ok, &[&x]).unwrap(), vec![f32t(&[16, 3, 2 * 3 * 4])]);
    let ok4 = input(vec![1; 4], [5, 7], 4);
    assert_eq!(infer_types(&ok4, &[&x]).unwrap(), vec![f32t(&[36, 3, 2 * 2 * 2])]);
    let e = infer(&input(vec![1; 4], [5, 7], 3), std::slice::from_ref(&x));
    assert!(e.contains("`tile`"), "{e}");
    let e = infer(&input(vec![1; 4], [5, 6], 2), std::slice::from_ref(&x));
    assert!(e.contains("`out_hw`") && e.contains("OW"), "{e}");
    let e = infer(&input(vec![3, 1, 1, 1], [7, 7], 2), std::slice::from_ref(&x));
    assert!(e.contains("`pads`"), "{e}");
    let e = infer(&input(vec![1; 2], [5, 7], 2), std::slice::from_ref(&x));
    assert!(e.contains("`pads`"), "{e}");
    let e = infer(&ok, &[TensorType::new(DType::F64, vec![2, 3, 5, 7])]);
    assert!(e.contains("input x") && e.contains("f32"), "{e}");
    let e = infer(&ok, &[f32t(&[3, 5, 7])]);
    assert!(e.contains("rank 4"), "{e}");

    let out = Op::WinogradOutput { out_shape: [2, 4, 5, 7], tile: 2 };
    let m = f32t(&[16, 4, 24]);
    assert_eq!(infer_types(&out, &[&m, &f32t(&[4])]).unwrap(), vec![f32t(&[2, 4, 5, 7])]);
    let out4 = Op::WinogradOutput { out_shape: [2, 4, 5, 7], tile: 4 };
    assert_eq!(infer_types(&out4, &[&f32t(&[36, 4, 8])]).unwrap(), vec![f32t(&[2, 4, 5, 7])]);
    let e = infer(&out4, std::slice::from_ref(&m));
    assert!(e.contains("input m") && e.contains("[36, 4, 8]") && e.contains("`tile`"), "{e}");
    let e = infer(&Op::WinogradOutput { out_shape: [2, 4, 5, 7], tile: 1 }, std::slice::from_ref(&m));
    assert!(e.contains("`tile`"), "{e}");
    let e = infer(&out, &[f32t(&[16, 4, 23])]);
    assert!(e.contains("input m") && e.contains("`out_shape`"), "{e}");
    let e = infer(&out, &[m.clone(), f32t(&[5])]);
    assert!(e.contains("bias"), "{e}");
    let e = infer(&Op::WinogradOutput { out_shape: [2, 4, 0, 7], tile: 2 }, &[f32t(&[16, 4, 0])]);
    assert!(e.contains("`out_shape`"), "{e}");
    let e = infer(&out, &[m.clone(), f32t(&[4]), f32t(&[4])]);
    assert!(e.contains("inputs"), "{e}");
    let huge = Op::WinogradOutput { out_shape: [usize::MAX, 1, 5, 5], tile: 4 };
    assert!(infer(&huge, &[m]).contains("overflows"));
}

fn relu_epilogue() -> Program {
    Program {
        steps: vec![
            Step::Binary(BinaryOp::Add, Operand::Arg(0), Operand::Arg(1)),
            Step::Unary(UnaryOp::Relu, Operand::Reg(0)),
        ],
    }
}

#[test]
fn winograd_output_is_a_fusable_base_equal_to_the_fused_conv() {
    let attrs = conv3x3([1; 4]);
    let (x, w, b) = (random(&[1, 3, 5, 7], 1), random(&[4, 3, 3, 3], 2), random(&[4], 3));
    let residual = random(&[1, 4, 5, 7], 4);
    for tile in TILES {
        let (input, output) = winograd_ops(&attrs, &x.ty(), &w.ty(), tile).unwrap();
        let m = eval1(&Op::MatMul, &[&winograd_weights(&w, tile).unwrap(), &eval1(&input, &[&x])]);
        let fused = |base: Op, base_inputs| Op::Fused { base: Box::new(base), base_inputs, epilogue: relu_epilogue() };
        let got = eval1(&fused(output, 2), &[&m, &b, &residual]);
        let want = eval1(&fused(Op::Conv(attrs.clone()), 3), &[&x, &w, &b, &residual]);
        assert_close(&want, &got, "fused", tile);
        assert!(got.to_f64_vec().iter().all(|&v| v >= 0.0));
    }
}

#[test]
fn winograd_ops_round_trip_through_the_text_form() {
    let mut g = Graph::new();
    let x = g.add_input("x", f32t(&[1, 3, 5, 7]));
    let u = g.add_const("u", random(&[16, 4, 3], 1));
    let b = g.add_const("b", random(&[4], 2));
    let r = g.add_input("r", f32t(&[1, 4, 5, 7]));
    let vin = Op::WinogradInput { pads: vec![1, 0, 2, 2], out_hw: [6, 7], tile: 4 };
    let x6 = g.add_input("x6", f32t(&[1, 3, 5, 7]));
    let v6 = g.add_node1("win_pads", vin, vec![x6], "v6", f32t(&[36, 3, 4]));
    let v_op = Op::WinogradInput { pads: vec![1; 4], out_hw: [5, 7], tile: 2 };
    let v = g.add_node1("win", v_op, vec![x], "v", f32t(&[16, 3, 12]));
    let m = g.add_node1("mm", Op::MatMul, vec![u, v], "m", f32t(&[16, 4, 12]));
    let out = Op::WinogradOutput { out_shape: [1, 4, 5, 7], tile: 2 };
    let y = g.add_node1("wout", out.clone(), vec![m, b], "y", f32t(&[1, 4, 5, 7]));
    let fused = Op::Fused { base: Box::new(out), base_inputs: 2, epilogue: relu_epilogue() };
    let z = g.add_node1("wfused", fused, vec![m, b, r], "z", f32t(&[1, 4, 5, 7]));
    g.outputs.extend([y, z, v6]);
    verify(&g).unwrap_or_else(|e| panic!("{e}"));
    let text = print_graph(&g, true);
    assert!(
        text.contains("winograd_input")
            && text.contains("out_hw=[5,7], tile=2")
            && text.contains("fused_winograd_output"),
        "{text}"
    );
    let parsed = parse_graph(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(print_graph(&parsed, true), text);
    let ops = |g: &Graph| g.nodes.iter().map(|(_, n)| n.op.clone()).collect::<Vec<_>>();
    assert_eq!(ops(&parsed), ops(&g));
}

#[test]
fn parse_rejects_a_wrong_number_of_fixed_entries() {
    let text = "graph(%0: f32[1,1,4,4] \"x\") -> (%1) {\n  %1: f32[16,1,1] = winograd_input(%0) {pads=[0,0,0,0], out_hw=[2,2,2], tile=2}\n}\n";
    let err = parse_graph(text).unwrap_err().to_string();
    assert!(err.contains("`out_hw`") && err.contains("expected 2 entries"), "{err}");
}
