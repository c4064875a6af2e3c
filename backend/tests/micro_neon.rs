//! The AArch64 NEON micro-kernels (`kiln_backend::mk::arm`) against the reference evaluator,
//! in AArch64 objects run under qemu (the host is x86): MatMul at every M, N, K in
//! {1, 2, 3, 5, 7, 17, 33, 100} with B prepacked (every row tile leftover, every panel and the
//! 1-3 column tails), B read in place, batches, Gemm's alpha/beta/transB/C broadcasts, every
//! fused epilogue the NEON emitter lowers, and NHWC convolutions (1x1 GEMM, KxK implicit GEMM
//! with padded copies, strides, dilations, groups, bias, fused epilogues), depthwise convolutions
//! and max/average pooling with border taps skipped (NaN inputs of max pooling ignored as the
//! reference does), and the Winograd F(2,3)/F(4,3) transforms around their batched MatMul.
//! The driver keeps
//! guard bytes before and after every buffer and the workspace. Each batch asserts how many
//! distinct kernels were NEON micro-kernels, so a silent fallback to Cranelift fails, and one
//! test disassembles a kernel and finds `fmla` by element on full `.4s` registers.
//!
//! Cases are batched: one graph holds many independent nodes (one link and one qemu run).

mod common;

use common::qemu::{check_aarch64, compile_object};
use common::{random_tensor, rng};
use kiln_ir::{
    BinaryOp, ConvAttrs, DType, Graph, Op, Operand, PoolAttrs, PoolKind, Program, Step, Tensor, TensorType, UnaryOp,
};
use rand::rngs::StdRng;

const SIZES: [usize; 8] = [1, 2, 3, 5, 7, 17, 33, 100];

/// Independent cases gathered into one graph.
struct Batch {
    g: Graph,
    inputs: Vec<Tensor>,
    nodes: usize,
    r: StdRng,
}

impl Batch {
    fn new(seed: u64) -> Batch {
        Batch { g: Graph::new(), inputs: Vec::new(), nodes: 0, r: rng(seed) }
    }

    /// A fresh graph input of `shape`.
    fn input(&mut self, shape: &[usize]) -> kiln_ir::ValueId {
        let t = random_tensor(&mut self.r, DType::F32, shape);
        let v = self.g.add_input(format!("in{}", self.inputs.len()), t.ty());
        self.inputs.push(t);
        v
    }

    /// A fresh constant of `shape`.
    fn constant(&mut self, shape: &[usize]) -> kiln_ir::ValueId {
        let t = random_tensor(&mut self.r, DType::F32, shape);
        self.g.add_const(format!("c{}", self.g.constants.len()), t)
    }

    /// Adds node `op` on `ins` as a graph output.
    fn node(&mut self, op: Op, ins: Vec<kiln_ir::ValueId>) {
        let y = self.inner(op, ins);
        self.g.outputs.push(y);
    }

    /// Adds node `op` on `ins`; returns its output.
    fn inner(&mut self, op: Op, ins: Vec<kiln_ir::ValueId>) -> kiln_ir::ValueId {
        let tys: Vec<TensorType> = ins.iter().map(|&v| self.g.ty(v).clone()).collect();
        let refs: Vec<&TensorType> = tys.iter().collect();
        let out = kiln_ir::infer_types(&op, &refs).unwrap_or_else(|e| panic!("{}: {e}", op.name())).remove(0);
        self.nodes += 1;
        self.g.add_node1(format!("n{}", self.nodes), op, ins, "y", out)
    }

    /// Runs the batch on AArch64; every distinct kernel must be a NEON micro-kernel when
    /// `all_micro` (nodes of equal shapes share one).
    fn check(self, all_micro: bool, tol: f64) {
        let run = check_aarch64(&self.g, &self.inputs, usize::from(all_micro), tol, tol);
        if all_micro {
            assert_eq!(run.micro_kernels, run.kernels, "every kernel a NEON micro-kernel ({} nodes)", self.nodes);
        }
    }
}

fn unary(u: UnaryOp) -> Program {
    Program { steps: vec![Step::Unary(u, Operand::Arg(0))] }
}

#[test]
fn matmul_prepacked_b_every_odd_size() {
    for (i, &k) in SIZES.iter().enumerate() {
        let mut b = Batch::new(10 + i as u64);
        for &m in &SIZES {
            for &n in &SIZES {
                let (x, w) = (b.input(&[m, k]), b.constant(&[k, n]));
                b.node(Op::MatMul, vec![x, w]);
            }
        }
        b.check(true, 1e-4);
    }
}

#[test]
fn matmul_in_place_b_and_batches() {
    let mut b = Batch::new(20);
    for &m in &[1, 3, 7, 17] {
        for &n in &[1, 2, 3, 5, 17, 33] {
            for &k in &[1, 5, 33] {
                let (x, w) = (b.input(&[m, k]), b.input(&[k, n]));
                b.node(Op::MatMul, vec![x, w]);
            }
        }
    }
    let cases: [(&[usize], &[usize], bool); 6] = [
        (&[2, 3, 5, 7], &[2, 3, 7, 4], false),
        (&[3, 5, 7], &[7, 9], true),
        (&[36, 17, 20], &[36, 20, 24], true),
        (&[2, 3, 5, 7], &[2, 3, 7, 6], true),
        (&[2, 1, 3, 5], &[1, 3, 5, 17], false),
        (&[5, 7], &[3, 7, 6], false),
    ];
    for (sa, sb, const_b) in cases {
        let x = b.input(sa);
        let w = if const_b { b.constant(sb) } else { b.input(sb) };
        b.node(Op::MatMul, vec![x, w]);
    }
    b.check(true, 1e-4);
}

#[test]
fn gemm_scales_transposes_and_c_broadcasts() {
    let mut b = Batch::new(30);
    for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (17, 33, 3), (5, 17, 22), (9, 100, 13)] {
        for trans_b in [false, true] {
            for (const_b, alpha, beta) in [(true, 1.0, 1.0), (true, 0.5, -2.0), (false, 1.5, 1.0)] {
                if trans_b && !const_b {
                    continue;
                }
                for c_shape in [vec![n], vec![m, n], vec![m, 1], vec![1]] {
                    let x = b.input(&[m, k]);
                    let bs = if trans_b { [n, k] } else { [k, n] };
                    let w = if const_b { b.constant(&bs) } else { b.input(&bs) };
                    let c = b.constant(&c_shape);
                    b.node(Op::Gemm { alpha: alpha.into(), beta: beta.into(), trans_a: false, trans_b }, vec![x, w, c]);
                }
            }
        }
    }
    b.check(true, 1e-4);
}

fn epilogue_programs() -> Vec<(Program, usize)> {
    let affine_residual_relu = Program {
        steps: vec![
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Arg(2)),
            Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(3)),
            Step::Binary(BinaryOp::Add, Operand::Reg(1), Operand::Arg(1)),
            Step::Unary(UnaryOp::Relu, Operand::Reg(2)),
        ],
    };
    let prelu_div = Program {
        steps: vec![
            Step::Binary(BinaryOp::PRelu, Operand::Arg(0), Operand::Arg(2)),
            Step::Binary(BinaryOp::Sub, Operand::Arg(3), Operand::Reg(0)),
            Step::Binary(BinaryOp::Div, Operand::Reg(1), Operand::Arg(1)),
        ],
    };
    let mut v: Vec<(Program, usize)> = [
        UnaryOp::Relu,
        UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() },
        UnaryOp::Clip { min: (-1.0).into(), max: f32::INFINITY.into() },
        UnaryOp::Clip { min: f32::NEG_INFINITY.into(), max: 0.5.into() },
        UnaryOp::LeakyRelu { alpha: 0.1.into() },
        UnaryOp::LeakyRelu { alpha: (-2.0).into() },
        UnaryOp::HardSwish,
        UnaryOp::HardSigmoid { alpha: 0.2.into(), beta: 0.5.into() },
        UnaryOp::Neg,
        UnaryOp::Abs,
        UnaryOp::Exp,
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Erf,
        UnaryOp::Elu { alpha: 0.7.into() },
    ]
    .into_iter()
    .map(|u| (unary(u), 0))
    .collect();
    v.push((affine_residual_relu, 1));
    v.push((prelu_div, 2));
    v
}

/// The extra operand shapes of program kind `kind` (0: none, 1: residual + per-column,
/// 2: per-row + per-column + scalar).
fn extra_shapes(kind: usize, m: usize, n: usize) -> Vec<Vec<usize>> {
    match kind {
        1 => vec![vec![m, n], vec![n], vec![1, n]],
        2 => vec![vec![m, 1], vec![n], vec![1]],
        _ => vec![],
    }
}

#[test]
fn fused_epilogues_every_tail() {
    let mut b = Batch::new(40);
    for (p, kind) in epilogue_programs() {
        for &(m, k, n) in &[(3, 5, 7), (17, 9, 33), (1, 1, 1), (33, 16, 48), (7, 3, 5), (2, 100, 2)] {
            let (x, w) = (b.input(&[m, k]), b.constant(&[k, n]));
            let mut ins = vec![x, w];
            for (i, s) in extra_shapes(kind, m, n).iter().enumerate() {
                ins.push(if i == 0 && s.len() == 2 { b.input(s) } else { b.constant(s) });
            }
            let op = Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, epilogue: p.clone() };
            b.node(op, ins);
        }
    }
    b.check(true, 1e-3);
}

/// exp, sigmoid, tanh, erf and elu epilogues at the clamps, overflow, infinities and NaN.
#[test]
fn transcendental_epilogues_at_special_values() {
    let mut b = Batch::new(60);
    let xs: Vec<f32> = vec![
        -200.0,
        -104.5,
        -90.0,
        -20.0,
        -1.0,
        -0.3,
        -0.0,
        0.0,
        0.3,
        0.62,
        0.63,
        1.0,
        20.0,
        88.0,
        89.0,
        200.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let x = Tensor::from_vec(vec![xs.len(), 1], xs);
    let xv = b.g.add_input(format!("in{}", b.inputs.len()), x.ty());
    b.inputs.push(x);
    let w = b.g.add_const("one", Tensor::from_vec(vec![1, 1], vec![1.0f32]));
    for u in [UnaryOp::Exp, UnaryOp::Sigmoid, UnaryOp::Tanh, UnaryOp::Erf, UnaryOp::Elu { alpha: 1.5.into() }] {
        b.node(Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, epilogue: unary(u) }, vec![xv, w]);
    }
    b.check(true, 1e-5);
}

#[test]
fn programs_without_a_neon_lowering_keep_cranelift() {
    let mut b = Batch::new(50);
    let (x, w) = (b.input(&[5, 7]), b.constant(&[7, 9]));
    b.node(Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, epilogue: unary(UnaryOp::Sin) }, vec![x, w]);
    let run = check_aarch64(&b.g, &b.inputs, 0, 1e-5, 1e-5);
    assert_eq!(run.micro_kernels, 0, "sin has no NEON lowering");
}

/// An NHWC conv case: (n, h, w, c, m, kernel, stride, dilation, pads, group).
type ConvCase = (usize, usize, usize, usize, usize, usize, usize, usize, usize, usize);

fn conv_op(c: ConvCase) -> Op {
    let (_, _, _, _, _, k, s, d, p, group) = c;
    let attrs = ConvAttrs { kernel: vec![k, k], strides: vec![s, s], dilations: vec![d, d], pads: vec![p; 4], group };
    Op::ChannelsLast(Box::new(Op::Conv(attrs)))
}

const CONVS: [ConvCase; 10] = [
    (1, 5, 7, 3, 5, 1, 1, 1, 0, 1),
    (2, 7, 7, 17, 33, 1, 1, 1, 0, 1),
    (1, 9, 9, 8, 4, 3, 1, 1, 1, 1),
    (1, 10, 7, 5, 7, 3, 2, 1, 1, 1),
    (2, 6, 8, 3, 17, 3, 1, 2, 2, 1),
    (1, 11, 11, 4, 6, 5, 2, 1, 2, 1),
    (1, 8, 8, 8, 12, 3, 1, 1, 1, 2),
    (1, 5, 5, 6, 9, 1, 2, 1, 0, 3),
    (1, 14, 14, 16, 24, 3, 1, 1, 1, 1),
    (1, 3, 3, 100, 2, 3, 1, 1, 0, 1),
];

#[test]
fn nhwc_convolutions_as_implicit_gemm() {
    let mut b = Batch::new(60);
    for (i, &case) in CONVS.iter().enumerate() {
        let (n, h, w, c, m, k, _, _, _, group) = case;
        let x = b.input(&[n, h, w, c]);
        let wt = b.constant(&[m, c / group, k, k]);
        if i % 2 == 0 {
            b.node(conv_op(case), vec![x, wt]);
        } else {
            let bias = b.constant(&[m]);
            b.node(conv_op(case), vec![x, wt, bias]);
        }
    }
    b.check(true, 1e-3);
}

#[test]
fn nhwc_convolutions_with_fused_epilogues() {
    let mut b = Batch::new(70);
    // t = x0 * scale[m] + shift[m]; relu(t + residual).
    let affine_residual_relu = Program {
        steps: vec![
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Arg(1)),
            Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(2)),
            Step::Binary(BinaryOp::Add, Operand::Reg(1), Operand::Arg(3)),
            Step::Unary(UnaryOp::Relu, Operand::Reg(2)),
        ],
    };
    for &case in &CONVS[..6] {
        let (n, h, w, c, m, k, _, _, _, group) = case;
        let out = kiln_ir::infer_types(
            &conv_op(case),
            &[&TensorType::new(DType::F32, vec![n, h, w, c]), &TensorType::new(DType::F32, vec![m, c / group, k, k])],
        )
        .expect("conv types")
        .remove(0);
        let x = b.input(&[n, h, w, c]);
        let (wt, bias) = (b.constant(&[m, c / group, k, k]), b.constant(&[m]));
        let (scale, shift) = (b.constant(&[m]), b.constant(&[1, 1, 1, m]));
        let residual = b.input(&out.shape);
        let fused = Op::Fused { base: Box::new(conv_op(case)), base_inputs: 3, epilogue: affine_residual_relu.clone() };
        b.node(fused, vec![x, wt, bias, scale, shift, residual]);
        let x = b.input(&[n, h, w, c]);
        let wt = b.constant(&[m, c / group, k, k]);
        let clip = unary(UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() });
        b.node(Op::Fused { base: Box::new(conv_op(case)), base_inputs: 2, epilogue: clip }, vec![x, wt]);
    }
    b.check(true, 1e-3);
}

#[test]
fn depthwise_convolutions_with_clipped_borders() {
    let mut b = Batch::new(80);
    let relu = unary(UnaryOp::Relu);
    // (n, h, w, c, m, kernel, stride, dilation, pads, group = c).
    let cases: [ConvCase; 7] = [
        (1, 9, 9, 8, 8, 3, 1, 1, 1, 8),
        (2, 7, 5, 3, 3, 3, 2, 1, 1, 3),
        (1, 11, 11, 17, 17, 5, 2, 1, 2, 17),
        (1, 6, 6, 33, 33, 3, 1, 2, 2, 33),
        (1, 5, 5, 4, 4, 3, 1, 1, 0, 4),
        (1, 14, 14, 100, 100, 3, 1, 1, 1, 100),
        (1, 2, 3, 5, 5, 3, 1, 1, 1, 5),
    ];
    for (i, &case) in cases.iter().enumerate() {
        let (n, h, w, c, _, k, ..) = case;
        let x = b.input(&[n, h, w, c]);
        let (wt, bias) = (b.constant(&[c, 1, k, k]), b.constant(&[c]));
        if i % 2 == 0 {
            b.node(conv_op(case), vec![x, wt, bias]);
        } else {
            let op = Op::Fused { base: Box::new(conv_op(case)), base_inputs: 3, epilogue: relu.clone() };
            b.node(op, vec![x, wt, bias]);
        }
    }
    b.check(true, 1e-4);
}

#[test]
fn max_and_average_pooling() {
    let mut b = Batch::new(85);
    let pool = |kind, k: usize, s: usize, p: usize, ceil_mode| {
        Op::ChannelsLast(Box::new(Op::Pool(PoolAttrs {
            kind,
            kernel: vec![k, k],
            strides: vec![s, s],
            dilations: vec![1, 1],
            pads: vec![p; 4],
            ceil_mode,
        })))
    };
    for &(h, c) in &[(9, 8), (7, 3), (12, 17), (5, 33), (8, 100)] {
        for (k, s, p, ceil) in [(3, 2, 1, false), (3, 2, 1, true), (2, 2, 0, false), (3, 1, 1, false)] {
            let x = b.input(&[2, h, h + 1, c]);
            b.node(pool(PoolKind::Max, k, s, p, ceil), vec![x]);
        }
        for (k, s) in [(2, 2), (3, 1), (3, 3)] {
            let x = b.input(&[1, h, h, c]);
            b.node(pool(PoolKind::Avg { count_include_pad: false }, k, s, 0, false), vec![x]);
        }
    }
    b.check(true, 1e-5);
}

#[test]
fn max_pooling_ignores_nan_like_the_reference() {
    let mut b = Batch::new(86);
    let x = b.input(&[1, 4, 4, 5]);
    let mut data: Vec<f32> = (0..80).map(|i| (i % 7) as f32 - 3.0).collect();
    data[7] = f32::NAN;
    data[30] = f32::NAN;
    b.inputs[0] = Tensor::from_vec(vec![1, 4, 4, 5], data);
    let attrs = PoolAttrs {
        kind: PoolKind::Max,
        kernel: vec![2, 2],
        strides: vec![2, 2],
        dilations: vec![1, 1],
        pads: vec![0; 4],
        ceil_mode: false,
    };
    b.node(Op::ChannelsLast(Box::new(Op::Pool(attrs))), vec![x]);
    b.check(true, 0.0);
}

/// The NHWC Winograd chain of a 3x3 conv (`tile` = 2 or 4) of `shape` to `m` channels with
/// `pads`, bias, and when `fused` a residual add and ReLU in the output transform:
/// `x -> ChannelsLast(WinogradInput) -> MatMul(., U) -> ChannelsLast(WinogradOutput)`.
fn winograd_chain(b: &mut Batch, shape: [usize; 4], m: usize, pads: [usize; 4], tile: usize, fused: bool) {
    let nhwc = |op: Op| Op::ChannelsLast(Box::new(op));
    let attrs =
        ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: pads.to_vec(), group: 1 };
    let xt = TensorType::new(DType::F32, vec![shape[0], shape[3], shape[1], shape[2]]);
    let wt = TensorType::new(DType::F32, vec![m, shape[3], 3, 3]);
    let (input, output) = kiln_ir::winograd::winograd_ops(&attrs, &xt, &wt, tile).expect("winograd applies");
    let w = random_tensor(&mut b.r, DType::F32, &[m, shape[3], 3, 3]);
    let u = kiln_ir::eval_op(&nhwc(Op::WinogradWeights { tile }), &[&w]).expect("weights").remove(0);
    let x = b.input(&shape);
    let v = b.inner(nhwc(input), vec![x]);
    let uv = b.g.add_const(format!("u{}", b.nodes), u);
    let mt = b.inner(Op::MatMul, vec![v, uv]);
    let bias = b.constant(&[m]);
    if fused {
        let y_shape = [shape[0], shape[1] + pads[0] + pads[2] - 2, shape[2] + pads[1] + pads[3] - 2, m];
        let res = b.input(&y_shape);
        let program = Program {
            steps: vec![
                Step::Binary(BinaryOp::Add, Operand::Arg(0), Operand::Arg(1)),
                Step::Unary(UnaryOp::Relu, Operand::Reg(0)),
            ],
        };
        b.node(Op::Fused { base: Box::new(nhwc(output)), base_inputs: 2, epilogue: program }, vec![mt, bias, res]);
    } else {
        b.node(nhwc(output), vec![mt, bias]);
    }
}

#[test]
fn winograd_transforms_with_bias_cropping_tails_and_epilogues() {
    for tile in [2, 4] {
        let mut b = Batch::new(95 + tile as u64);
        for &(n, h, w, c, m) in &[(1, 5, 5, 3, 5), (2, 9, 7, 16, 24), (1, 14, 14, 17, 33), (1, 6, 11, 2, 7)] {
            for pads in [[1; 4], [0; 4], [2, 2, 1, 0]] {
                winograd_chain(&mut b, [n, h, w, c], m, pads, tile, false);
            }
        }
        winograd_chain(&mut b, [2, 7, 7, 8], 16, [1; 4], tile, true);
        winograd_chain(&mut b, [1, 10, 13, 5], 19, [1; 4], tile, true);
        // F(4,3) trades a digit of accuracy for 4x fewer multiplications (ir::winograd).
        b.check(true, 1e-3);
    }
}

#[test]
fn kernels_are_fmla_by_element_on_full_vectors() {
    let mut b = Batch::new(90);
    let (x, w) = (b.input(&[64, 64]), b.constant(&[64, 64]));
    b.node(Op::MatMul, vec![x, w]);
    let (bytes, compiled, _) = compile_object(&b.g).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((compiled.micro_kernels, compiled.micro_isa), (1, Some("neon")));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("neon-disasm");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let obj = dir.join("k.o");
    std::fs::write(&obj, bytes).expect("write object");
    let out = std::process::Command::new("aarch64-linux-gnu-objdump")
        .arg("-d")
        .arg(&obj)
        .output()
        .expect("aarch64-linux-gnu-objdump (Debian binutils-aarch64-linux-gnu)");
    let text = String::from_utf8_lossy(&out.stdout);
    let kernel =
        text.split("\n\n").find(|s| s.contains("_matmul>:")).unwrap_or_else(|| panic!("no MatMul kernel:\n{text}"));
    let by_element = kernel.lines().filter(|l| l.contains("fmla") && l.contains(".4s") && l.contains(".s[")).count();
    assert!(by_element >= 64, "{by_element} fmla-by-element on .4s in the kernel:\n{kernel}");
    let undefined = std::process::Command::new("aarch64-linux-gnu-nm").arg("-u").arg(&obj).output().expect("nm");
    assert!(undefined.stdout.is_empty(), "undefined symbols: {}", String::from_utf8_lossy(&undefined.stdout));
}
