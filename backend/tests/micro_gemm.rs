//! The machine-code GEMM micro-kernels (`kiln_backend::mk`) against the reference evaluator:
//! MatMul and Gemm at odd sizes (every row, column and vector tail), prepacked and in-place B,
//! batch broadcasting, Gemm's alpha/beta/C broadcasts, and fused epilogues, on every x86 ISA
//! level the host has (AVX-512 and AVX2), with guard bytes around every buffer and the
//! workspace. Each check also asserts that the kernel really was a micro-kernel.

mod common;

use common::graph::check_graph;
use common::{random_tensor, rng};
use kiln_ir::{BinaryOp, DType, Graph, Op, Operand, Program, Step, Tensor, TensorType, UnaryOp};

const SIZES: [usize; 8] = [1, 2, 3, 5, 7, 17, 33, 100];

/// The ISA levels to test on this host: (feature edits, micro-kernel ISA name).
fn levels() -> Vec<(Vec<&'static str>, &'static str)> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            v.push((vec![], "avx512"));
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            v.push((vec!["-avx512f"], "avx2"));
        }
    }
    v
}

fn f32t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F32, shape.to_vec())
}

/// `y = op(a, b)` with `b` a constant when `const_b`.
fn two_operand_graph(op: Op, a: &Tensor, b: &Tensor, const_b: bool) -> (Graph, Vec<Tensor>) {
    let mut g = Graph::new();
    let x = g.add_input("a", a.ty());
    let w = if const_b { g.add_const("b", b.clone()) } else { g.add_input("b", b.ty()) };
    let out = kiln_ir::infer_types(&op, &[&a.ty(), &b.ty()]).expect("types").remove(0);
    let y = g.add_node1("n", op, vec![x, w], "y", out);
    g.outputs.push(y);
    let inputs = if const_b { vec![a.clone()] } else { vec![a.clone(), b.clone()] };
    (g, inputs)
}

#[test]
fn matmul_prepacked_b_every_odd_size() {
    let mut r = rng(11);
    for (edits, name) in levels() {
        for &m in &SIZES {
            for &n in &SIZES {
                for &k in &[1, 3, 17, 100] {
                    let a = random_tensor(&mut r, DType::F32, &[m, k]);
                    let b = random_tensor(&mut r, DType::F32, &[k, n]);
                    let (g, ins) = two_operand_graph(Op::MatMul, &a, &b, true);
                    let run = check_graph(&g, &ins, &edits, 1, 1e-4, 1e-4);
                    assert_eq!(run.micro_isa, Some(name));
                }
            }
        }
    }
}

#[test]
fn matmul_long_reductions_and_wide_outputs() {
    let mut r = rng(12);
    for (edits, _) in levels() {
        for &(m, k, n) in &[(33, 513, 7), (5, 1000, 65), (100, 64, 257), (3, 2048, 33)] {
            let a = random_tensor(&mut r, DType::F32, &[m, k]);
            let b = random_tensor(&mut r, DType::F32, &[k, n]);
            let (g, ins) = two_operand_graph(Op::MatMul, &a, &b, true);
            check_graph(&g, &ins, &edits, 1, 1e-4, 1e-3);
        }
    }
}

#[test]
fn matmul_in_place_b_and_batches() {
    let mut r = rng(13);
    let cases: [(&[usize], &[usize], bool); 9] = [
        (&[5, 7], &[7, 9], false),
        (&[17, 3], &[3, 33], false),
        (&[2, 3, 5, 7], &[2, 3, 7, 4], false),
        (&[3, 5, 7], &[7, 9], true),
        (&[36, 17, 20], &[36, 20, 24], true),
        (&[2, 3, 5, 7], &[2, 3, 7, 4], true),
        (&[3, 5, 7], &[7, 9], false),
        (&[2, 1, 3, 5], &[1, 3, 5, 17], false),
        (&[5, 7], &[3, 7, 6], false),
    ];
    for (edits, _) in levels() {
        for (sa, sb, const_b) in cases {
            let a = random_tensor(&mut r, DType::F32, sa);
            let b = random_tensor(&mut r, DType::F32, sb);
            let (g, ins) = two_operand_graph(Op::MatMul, &a, &b, const_b);
            check_graph(&g, &ins, &edits, 1, 1e-4, 1e-4);
        }
    }
}

#[test]
fn gemm_transposes_scales_and_c_broadcasts() {
    let mut r = rng(14);
    for (edits, _) in levels() {
        for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (17, 33, 3), (5, 17, 20)] {
            for trans_b in [false, true] {
                for (const_b, alpha, beta) in [(true, 1.0, 1.0), (true, 0.5, -2.0), (false, 1.5, 1.0)] {
                    if trans_b && !const_b {
                        continue;
                    }
                    for c_shape in [vec![n], vec![m, n], vec![m, 1], vec![1]] {
                        let a = random_tensor(&mut r, DType::F32, &[m, k]);
                        let bs = if trans_b { [n, k] } else { [k, n] };
                        let b = random_tensor(&mut r, DType::F32, &bs);
                        let c = random_tensor(&mut r, DType::F32, &c_shape);
                        let op = Op::Gemm { alpha: alpha.into(), beta: beta.into(), trans_a: false, trans_b };
                        let mut g = Graph::new();
                        let x = g.add_input("a", a.ty());
                        let w = if const_b { g.add_const("b", b.clone()) } else { g.add_input("b", b.ty()) };
                        let cv = g.add_const("c", c.clone());
                        let y = g.add_node1("n", op, vec![x, w, cv], "y", f32t(&[m, n]));
                        g.outputs.push(y);
                        let ins = if const_b { vec![a] } else { vec![a, b] };
                        check_graph(&g, &ins, &edits, 1, 1e-4, 1e-4);
                    }
                }
            }
        }
    }
}

/// `Fused { base: MatMul, epilogue }` over `[m, k] x [k, n]` with extra operands of `extras`
/// shapes.
fn fused_matmul(
    program: Program,
    m: usize,
    k: usize,
    n: usize,
    extras: &[Vec<usize>],
    seed: u64,
) -> (Graph, Vec<Tensor>) {
    let mut r = rng(seed);
    let a = random_tensor(&mut r, DType::F32, &[m, k]);
    let b = random_tensor(&mut r, DType::F32, &[k, n]);
    let mut g = Graph::new();
    let x = g.add_input("a", a.ty());
    let w = g.add_const("b", b);
    let mut ins = vec![x, w];
    let mut inputs = vec![a];
    for (i, s) in extras.iter().enumerate() {
        let t = random_tensor(&mut r, DType::F32, s);
        if i == 0 && s.len() == 2 {
            ins.push(g.add_input(format!("e{i}"), t.ty()));
            inputs.push(t);
        } else {
            ins.push(g.add_const(format!("e{i}"), t));
        }
    }
    let op = Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, epilogue: program };
    let y = g.add_node1("n", op, ins, "y", f32t(&[m, n]));
    g.outputs.push(y);
    (g, inputs)
}

fn unary(u: UnaryOp) -> Program {
    Program { steps: vec![Step::Unary(u, Operand::Arg(0))] }
}

#[test]
fn fused_epilogues_in_registers() {
    let programs = [
        unary(UnaryOp::Relu),
        unary(UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() }),
        unary(UnaryOp::Clip { min: (-1.0).into(), max: f32::INFINITY.into() }),
        unary(UnaryOp::LeakyRelu { alpha: 0.1.into() }),
        unary(UnaryOp::LeakyRelu { alpha: (-2.0).into() }),
        unary(UnaryOp::HardSwish),
        unary(UnaryOp::HardSigmoid { alpha: 0.2.into(), beta: 0.5.into() }),
        unary(UnaryOp::Neg),
        unary(UnaryOp::Abs),
    ];
    for (edits, _) in levels() {
        for (i, p) in programs.iter().enumerate() {
            for &(m, k, n) in &[(3, 5, 7), (17, 9, 33), (1, 1, 1), (33, 16, 48)] {
                let (g, ins) = fused_matmul(p.clone(), m, k, n, &[], 100 + i as u64);
                check_graph(&g, &ins, &edits, 1, 1e-4, 1e-4);
            }
        }
    }
}

#[test]
fn fused_epilogues_with_operands() {
    // t0 = x0 * x1 (per column); t1 = t0 + x2 (per column); t2 = t1 + x3 (residual); relu.
    let affine_residual_relu = Program {
        steps: vec![
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Arg(2)),
            Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(3)),
            Step::Binary(BinaryOp::Add, Operand::Reg(1), Operand::Arg(1)),
            Step::Unary(UnaryOp::Relu, Operand::Reg(2)),
        ],
    };
    // PRelu with a per-column slope, then a scalar subtract and a division by a row operand.
    let prelu_div = Program {
        steps: vec![
            Step::Binary(BinaryOp::PRelu, Operand::Arg(0), Operand::Arg(2)),
            Step::Binary(BinaryOp::Sub, Operand::Arg(3), Operand::Reg(0)),
            Step::Binary(BinaryOp::Div, Operand::Reg(1), Operand::Arg(1)),
        ],
    };
    for (edits, _) in levels() {
        for &(m, k, n) in &[(3, 5, 7), (17, 9, 33), (20, 3, 16), (1, 4, 100)] {
            let extras = [vec![m, n], vec![n], vec![1, n]];
            let (g, ins) = fused_matmul(affine_residual_relu.clone(), m, k, n, &extras, 7);
            check_graph(&g, &ins, &edits, 1, 1e-4, 1e-4);
            let extras = [vec![m, 1], vec![n], vec![1]];
            let (g, ins) = fused_matmul(prelu_div.clone(), m, k, n, &extras, 8);
            check_graph(&g, &ins, &edits, 1, 1e-3, 1e-3);
        }
    }
}

#[test]
fn programs_without_a_lowering_keep_the_cranelift_kernel() {
    let (g, ins) = fused_matmul(unary(UnaryOp::Sin), 5, 7, 9, &[], 3);
    for (edits, _) in levels() {
        let run = check_graph(&g, &ins, &edits, 0, 1e-4, 1e-4);
        assert_eq!(run.micro_kernels, 0, "FIXME(mk): sin has no machine-code lowering yet");
    }
}

/// `x0 * sigmoid(x0)` (SiLU), `0.5 x (1 + erf(x / sqrt 2))` (GELU) and the plain functions.
fn transcendental_programs() -> Vec<Program> {
    let silu = Program {
        steps: vec![
            Step::Unary(UnaryOp::Sigmoid, Operand::Arg(0)),
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Reg(0)),
        ],
    };
    // x1 = 1/sqrt(2), x2 = 1, x3 = 0.5 (scalar operands).
    let gelu = Program {
        steps: vec![
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Arg(1)),
            Step::Unary(UnaryOp::Erf, Operand::Reg(0)),
            Step::Binary(BinaryOp::Add, Operand::Reg(1), Operand::Arg(2)),
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Reg(2)),
            Step::Binary(BinaryOp::Mul, Operand::Reg(3), Operand::Arg(3)),
        ],
    };
    let mut v = vec![silu, gelu];
    for u in [UnaryOp::Sigmoid, UnaryOp::Tanh, UnaryOp::Exp, UnaryOp::Erf, UnaryOp::Elu { alpha: 0.7.into() }] {
        v.push(unary(u));
    }
    v
}

#[test]
fn transcendental_epilogues_match_the_reference() {
    for (edits, _) in levels() {
        for (i, p) in transcendental_programs().into_iter().enumerate() {
            let extras: Vec<Vec<usize>> = if i == 1 { vec![vec![1], vec![1], vec![1]] } else { vec![] };
            for &(m, k, n) in &[(3, 5, 7), (17, 9, 33), (28, 16, 32), (1, 2, 100)] {
                let (mut g, ins) = fused_matmul(p.clone(), m, k, n, &extras, 200 + i as u64);
                if i == 1 {
                    set_gelu_constants(&mut g);
                }
                let run = check_graph(&g, &ins, &edits, 1, 1e-5, 1e-5);
                assert_eq!(run.micro_kernels, 1);
            }
        }
    }
}

/// The GELU program's scalar operands: 1/sqrt(2), 1, 0.5.
fn set_gelu_constants(g: &mut Graph) {
    let values = [std::f32::consts::FRAC_1_SQRT_2, 1.0, 0.5];
    let ids: Vec<_> = g.constants.iter().map(|(id, _)| id).collect();
    // Constants: b, then e0, e1, e2.
    for (id, v) in ids[1..].iter().zip(values) {
        g.constants[*id] = std::sync::Arc::new(Tensor::from_vec(vec![1], vec![v]));
    }
}

#[test]
fn transcendental_epilogues_at_extreme_inputs_and_nan() {
    // A = the inputs as a column, B = [1]: the epilogue sees exactly these values.
    let values = [-200.0f32, -104.5, -90.0, -20.0, -1e-6, 0.0, 1e-6, 0.6, 0.7, 20.0, 88.0, 89.0, 300.0, f32::NAN];
    for (edits, _) in levels() {
        for (i, p) in transcendental_programs().into_iter().enumerate().filter(|(i, _)| *i != 1) {
            let a = Tensor::from_vec(vec![values.len(), 1], values.to_vec());
            let mut g = Graph::new();
            let x = g.add_input("a", a.ty());
            let w = g.add_const("b", Tensor::from_vec(vec![1, 1], vec![1.0f32]));
            let op = Op::Fused { base: Box::new(Op::MatMul), base_inputs: 2, epilogue: p };
            let y = g.add_node1("n", op, vec![x, w], "y", f32t(&[values.len(), 1]));
            g.outputs.push(y);
            // Absolute slack of f32 rounding near 1 (elu's `e^x - 1` at tiny x).
            let run = check_graph(&g, &[a], &edits, 1, 1e-6, 2e-7);
            assert_eq!(run.micro_kernels, 1, "program {i}");
        }
    }
}

#[test]
fn blocked_long_reductions_with_epilogues() {
    // K above 1024 runs in blocks (first, middle, last); the epilogue must apply once, at the end.
    let relu_add = Program {
        steps: vec![
            Step::Binary(BinaryOp::Add, Operand::Arg(0), Operand::Arg(1)),
            Step::Unary(UnaryOp::Relu, Operand::Reg(0)),
        ],
    };
    for (edits, _) in levels() {
        for &(m, k, n) in &[(49, 4608, 40), (17, 1300, 17), (3, 1025, 100), (30, 3000, 7)] {
            let (g, ins) = fused_matmul(relu_add.clone(), m, k, n, &[vec![n]], 300);
            check_graph(&g, &ins, &edits, 1, 1e-4, 2e-3);
            let mut r = rng(301);
            let a = random_tensor(&mut r, DType::F32, &[m, k]);
            let b = random_tensor(&mut r, DType::F32, &[n, k]);
            let c = random_tensor(&mut r, DType::F32, &[n]);
            let mut g = Graph::new();
            let x = g.add_input("a", a.ty());
            let w = g.add_const("b", b);
            let cv = g.add_const("c", c);
            let op = Op::Gemm { alpha: 0.5.into(), beta: 2.0.into(), trans_a: false, trans_b: true };
            let y = g.add_node1("n", op, vec![x, w, cv], "y", f32t(&[m, n]));
            g.outputs.push(y);
            check_graph(&g, &[a], &edits, 1, 1e-4, 2e-3);
        }
    }
}
