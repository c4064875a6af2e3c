//! NHWC convolutions (`ChannelsLast(Conv)`) on the machine-code micro-kernels against the
//! reference evaluator: 1x1 (pointwise GEMM and strided), KxK implicit GEMM with pads (the
//! padded scratch copy), strides, dilations, groups, odd spatial sizes and channel counts
//! (every row, column and vector tail), bias and fused epilogues (per-channel affine, NHWC
//! residual, activations), batch > 1, on AVX-512 and AVX2, with guard bytes around the inputs,
//! outputs and the workspace. Each check asserts the conv really ran as a micro-kernel.
//! Tolerances: the reference sums in another order, so long reductions get absolute slack.

mod common;

use common::graph::check_graph;
use common::{random_tensor, rng};
use kiln_ir::{BinaryOp, ConvAttrs, DType, Graph, Op, Operand, Program, Step, Tensor, TensorType, UnaryOp};

fn levels() -> Vec<Vec<&'static str>> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            v.push(vec![]);
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            v.push(vec!["-avx512f"]);
        }
    }
    v
}

/// One NHWC conv case.
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    hw: (usize, usize),
    c: usize,
    m: usize,
    k: (usize, usize),
    stride: usize,
    dilation: usize,
    pads: [usize; 4],
    group: usize,
}

impl Case {
    fn attrs(&self) -> ConvAttrs {
        ConvAttrs {
            kernel: vec![self.k.0, self.k.1],
            strides: vec![self.stride, self.stride],
            dilations: vec![self.dilation, self.dilation],
            pads: self.pads.to_vec(),
            group: self.group,
        }
    }
}

/// The graph of `case` (weights and bias constant), an optional epilogue over extras of the
/// given shapes (the first one, when 4-D, a graph input), and its inputs.
fn conv_graph(case: Case, bias: bool, epilogue: Option<(Program, Vec<Vec<usize>>)>, seed: u64) -> (Graph, Vec<Tensor>) {
    let mut r = rng(seed);
    let x = random_tensor(&mut r, DType::F32, &[case.n, case.hw.0, case.hw.1, case.c]);
    let w = random_tensor(&mut r, DType::F32, &[case.m, case.c / case.group, case.k.0, case.k.1]);
    let mut g = Graph::new();
    let xv = g.add_input("x", x.ty());
    let wv = g.add_const("w", w.clone());
    let mut ins = vec![xv, wv];
    let mut types = vec![x.ty(), w.ty()];
    if bias {
        let b = random_tensor(&mut r, DType::F32, &[case.m]);
        types.push(b.ty());
        ins.push(g.add_const("b", b));
    }
    let conv = Op::ChannelsLast(Box::new(Op::Conv(case.attrs())));
    let refs: Vec<&TensorType> = types.iter().collect();
    let out = kiln_ir::infer_types(&conv, &refs).expect("conv types").remove(0);
    let mut inputs = vec![x];
    let op = match epilogue {
        None => conv,
        Some((program, shapes)) => {
            let base_inputs = ins.len();
            for (i, s) in shapes.iter().enumerate() {
                let t = random_tensor(&mut r, DType::F32, s);
                if i == 0 && s.len() == 4 {
                    ins.push(g.add_input("residual", t.ty()));
                    inputs.push(t);
                } else {
                    ins.push(g.add_const(format!("e{i}"), t));
                }
            }
            Op::Fused { base: Box::new(conv), base_inputs, epilogue: program }
        }
    };
    let y = g.add_node1("conv", op, ins, "y", out);
    g.outputs.push(y);
    (g, inputs)
}

fn case(hw: (usize, usize), c: usize, m: usize, k: usize, stride: usize, pad: usize) -> Case {
    Case { n: 1, hw, c, m, k: (k, k), stride, dilation: 1, pads: [pad; 4], group: 1 }
}

#[test]
fn pointwise_and_strided_1x1() {
    for edits in levels() {
        for &hw in &[(1, 1), (3, 5), (17, 17), (7, 7)] {
            for &(c, m) in &[(1, 1), (3, 17), (17, 33), (64, 24), (33, 100)] {
                for stride in [1, 2] {
                    let (g, ins) = conv_graph(case(hw, c, m, 1, stride, 0), true, None, 1);
                    check_graph(&g, &ins, &edits, 1, 1e-4, 1e-3);
                }
            }
        }
    }
}

#[test]
fn kxk_with_pads_strides_and_odd_sizes() {
    for edits in levels() {
        for &hw in &[(1, 1), (3, 3), (5, 17), (14, 14), (9, 7)] {
            for &(c, m) in &[(1, 3), (3, 16), (5, 17), (32, 33)] {
                for &(k, stride, pad) in &[(3, 1, 1), (3, 2, 1), (3, 1, 0), (5, 1, 2), (7, 2, 3), (2, 2, 0)] {
                    if hw.0 + 2 * pad < k || hw.1 + 2 * pad < k {
                        continue;
                    }
                    let (g, ins) = conv_graph(case(hw, c, m, k, stride, pad), true, None, 2);
                    // Sums of up to 1,600 products of values in [-4, 4): absolute slack for
                    // f32 rounding in a different summation order.
                    check_graph(&g, &ins, &edits, 1, 1e-4, 2e-3);
                }
            }
        }
    }
}

#[test]
fn dilation_asymmetric_pads_groups_batches_no_bias() {
    let cases = [
        Case { n: 2, hw: (9, 11), c: 6, m: 10, k: (3, 3), stride: 1, dilation: 2, pads: [2; 4], group: 1 },
        Case { n: 1, hw: (8, 6), c: 5, m: 7, k: (3, 2), stride: 1, dilation: 1, pads: [0, 1, 2, 0], group: 1 },
        Case { n: 3, hw: (5, 5), c: 8, m: 12, k: (3, 3), stride: 2, dilation: 1, pads: [1; 4], group: 2 },
        Case { n: 1, hw: (7, 9), c: 64, m: 64, k: (3, 3), stride: 1, dilation: 1, pads: [1; 4], group: 4 },
        Case { n: 2, hw: (6, 6), c: 12, m: 6, k: (1, 1), stride: 1, dilation: 1, pads: [0; 4], group: 3 },
    ];
    for edits in levels() {
        for (i, c) in cases.iter().enumerate() {
            for bias in [false, true] {
                let (g, ins) = conv_graph(*c, bias, None, 10 + i as u64);
                check_graph(&g, &ins, &edits, 1, 1e-4, 1e-3);
            }
        }
    }
}

#[test]
fn fused_epilogues_bn_residual_relu6() {
    // t0 = x0 * scale[M] + shift[M]; t1 = t0 + residual (NHWC); relu6.
    let program = Program {
        steps: vec![
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Arg(2)),
            Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(3)),
            Step::Binary(BinaryOp::Add, Operand::Reg(1), Operand::Arg(1)),
            Step::Unary(UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() }, Operand::Reg(2)),
        ],
    };
    for edits in levels() {
        for &(hw, c, m, k, stride, pad) in
            &[((5, 7), 3, 17, 3, 1, 1), ((8, 8), 16, 24, 1, 1, 0), ((7, 7), 32, 40, 3, 2, 1)]
        {
            for n in [1, 2] {
                let cs = Case { n, ..case(hw, c, m, k, stride, pad) };
                let (oh, ow) = ((hw.0 + 2 * pad - k) / stride + 1, (hw.1 + 2 * pad - k) / stride + 1);
                let shapes = vec![vec![n, oh, ow, m], vec![m], vec![1, 1, 1, m]];
                let (g, ins) = conv_graph(cs, true, Some((program.clone(), shapes)), 20);
                check_graph(&g, &ins, &edits, 1, 1e-4, 1e-3);
            }
        }
    }
}

#[test]
fn hard_swish_and_leaky_relu_epilogues() {
    for edits in levels() {
        for u in [UnaryOp::HardSwish, UnaryOp::LeakyRelu { alpha: 0.1.into() }, UnaryOp::Relu] {
            let program = Program { steps: vec![Step::Unary(u, Operand::Arg(0))] };
            let (g, ins) = conv_graph(case((9, 9), 8, 20, 3, 1, 1), true, Some((program, vec![])), 30);
            check_graph(&g, &ins, &edits, 1, 1e-4, 1e-3);
        }
    }
}

#[test]
fn depthwise_every_channel_tail_stride_and_pad() {
    for edits in levels() {
        for &c in &[1, 3, 8, 17, 33, 100] {
            for &(hw, k, stride, pad) in
                &[((6, 6), 3, 1, 1), ((7, 9), 3, 2, 1), ((5, 5), 5, 1, 2), ((4, 3), 3, 1, 0), ((1, 1), 3, 1, 1)]
            {
                for n in [1, 2] {
                    let cs = Case { n, hw, c, m: c, k: (k, k), stride, dilation: 1, pads: [pad; 4], group: c };
                    let (g, ins) = conv_graph(cs, c % 2 == 1, None, 40 + c as u64);
                    check_graph(&g, &ins, &edits, 1, 1e-4, 1e-4);
                }
            }
        }
    }
}

#[test]
fn depthwise_fused_bn_relu6_and_residual() {
    let program = Program {
        steps: vec![
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Arg(2)),
            Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(1)),
            Step::Unary(UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() }, Operand::Reg(1)),
        ],
    };
    for edits in levels() {
        for &c in &[24, 40, 144] {
            let cs = Case { n: 1, hw: (14, 14), c, m: c, k: (3, 3), stride: 1, dilation: 1, pads: [1; 4], group: c };
            let (g, ins) = conv_graph(cs, true, Some((program.clone(), vec![vec![1, 14, 14, c], vec![c]])), 50);
            check_graph(&g, &ins, &edits, 1, 1e-4, 1e-4);
        }
    }
}

#[test]
fn channel_multipliers_are_legalized() {
    let c = Case { n: 1, hw: (6, 6), c: 4, m: 8, k: (3, 3), stride: 1, dilation: 1, pads: [1; 4], group: 4 };
    let (g, ins) = conv_graph(c, true, None, 60);
    for edits in levels() {
        let run = check_graph(&g, &ins, &edits, 0, 1e-4, 1e-4);
        assert_eq!(run.micro_kernels, 0, "FIXME(mk): a depthwise channel multiplier > 1 has no micro-kernel");
    }
}

/// `ChannelsLast(Pool)` over an NHWC input of `shape`.
fn pool_graph(attrs: kiln_ir::PoolAttrs, shape: &[usize], seed: u64) -> (Graph, Vec<Tensor>) {
    let mut r = rng(seed);
    let x = random_tensor(&mut r, DType::F32, shape);
    let mut g = Graph::new();
    let xv = g.add_input("x", x.ty());
    let op = Op::ChannelsLast(Box::new(Op::Pool(attrs)));
    let out = kiln_ir::infer_types(&op, &[&x.ty()]).expect("pool types").remove(0);
    let y = g.add_node1("pool", op, vec![xv], "y", out);
    g.outputs.push(y);
    (g, vec![x])
}

fn pool_attrs(kind: kiln_ir::PoolKind, k: usize, s: usize, pad: usize, ceil_mode: bool) -> kiln_ir::PoolAttrs {
    kiln_ir::PoolAttrs {
        kind,
        kernel: vec![k, k],
        strides: vec![s, s],
        dilations: vec![1, 1],
        pads: vec![pad; 4],
        ceil_mode,
    }
}

#[test]
fn max_pool_pads_ceil_mode_and_channel_tails() {
    use kiln_ir::PoolKind;
    for edits in levels() {
        for &c in &[1, 3, 16, 17, 64, 100] {
            for &(hw, k, s, pad, ceil) in &[
                ((9, 9), 3, 2, 1, false),
                ((8, 7), 3, 2, 0, true),
                ((5, 5), 2, 2, 0, false),
                ((6, 6), 3, 1, 1, false),
                ((1, 1), 3, 2, 1, false),
            ] {
                let (g, ins) =
                    pool_graph(pool_attrs(PoolKind::Max, k, s, pad, ceil), &[2, hw.0, hw.1, c], 70 + c as u64);
                check_graph(&g, &ins, &edits, 1, 0.0, 0.0);
            }
        }
    }
}

#[test]
fn max_pool_ignores_nan_and_negative_inputs() {
    use kiln_ir::PoolKind;
    let x = Tensor::from_vec(
        vec![1, 2, 2, 3],
        vec![f32::NAN, -5.0, -1.0, -2.0, f32::NAN, -3.0, -7.0, -9.0, f32::NAN, -4.0, -6.0, -8.0],
    );
    let mut g = Graph::new();
    let xv = g.add_input("x", x.ty());
    let op = Op::ChannelsLast(Box::new(Op::Pool(pool_attrs(PoolKind::Max, 2, 2, 0, false))));
    let out = kiln_ir::infer_types(&op, &[&x.ty()]).expect("types").remove(0);
    let y = g.add_node1("pool", op, vec![xv], "y", out);
    g.outputs.push(y);
    for edits in levels() {
        let run = check_graph(&g, &[x.clone()], &edits, 1, 0.0, 0.0);
        assert_eq!(run.outputs[0].to_f64_vec(), vec![-2.0, -5.0, -1.0]);
    }
}

#[test]
fn average_pool_inside_the_input_and_legalized_otherwise() {
    use kiln_ir::PoolKind;
    for edits in levels() {
        for &c in &[3, 16, 33] {
            let avg = PoolKind::Avg { count_include_pad: false };
            let (g, ins) = pool_graph(pool_attrs(avg, 2, 2, 0, false), &[1, 8, 6, c], 80);
            check_graph(&g, &ins, &edits, 1, 1e-6, 1e-6);
            let (g, ins) = pool_graph(pool_attrs(avg, 3, 1, 0, false), &[2, 5, 7, c], 81);
            check_graph(&g, &ins, &edits, 1, 1e-6, 1e-6);
            let (g, ins) = pool_graph(pool_attrs(avg, 3, 2, 1, false), &[1, 7, 7, c], 82);
            let run = check_graph(&g, &ins, &edits, 0, 1e-6, 1e-6);
            assert_eq!(run.micro_kernels, 0, "FIXME(mk): padded average pooling has no micro-kernel");
        }
    }
}

#[test]
fn depthwise_border_taps_with_dilation_and_asymmetric_pads() {
    let cases = [
        Case { n: 2, hw: (9, 10), c: 20, m: 20, k: (3, 3), stride: 1, dilation: 2, pads: [2, 2, 2, 2], group: 20 },
        Case { n: 1, hw: (8, 7), c: 17, m: 17, k: (3, 3), stride: 2, dilation: 1, pads: [0, 1, 2, 0], group: 17 },
        Case { n: 1, hw: (30, 31), c: 33, m: 33, k: (5, 5), stride: 2, dilation: 1, pads: [2; 4], group: 33 },
        Case { n: 1, hw: (2, 2), c: 16, m: 16, k: (5, 5), stride: 1, dilation: 1, pads: [2; 4], group: 16 },
    ];
    for edits in levels() {
        for (i, cs) in cases.iter().enumerate() {
            let (g, ins) = conv_graph(*cs, true, None, 90 + i as u64);
            check_graph(&g, &ins, &edits, 1, 1e-4, 1e-4);
        }
    }
}
