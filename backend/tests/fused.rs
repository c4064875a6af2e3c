//! Fused kernels (`Op::Elementwise`, `Op::Fused` over conv/gemm/matmul) against the reference
//! evaluator at odd sizes: elementwise programs with every kind of broadcast; conv paths (dense
//! 3x3 on the row buffer, depthwise stride 1 and 2, 1x1 as GEMM, the direct path for huge rows,
//! 1-D, and 3-D through the in-place fallback) with BN, relu, clip, SiLU and residual epilogues;
//! gemm and batched matmul with bias, residual and activation epilogues on every matmul path;
//! the baseline x86 ISA (no SSE4.1/AVX/FMA); aarch64 compile-only; and the errors programs the
//! kernels cannot lower produce.

mod common;

use common::*;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage};
use kiln_backend::kernel::{define_kernel, KernelSpec};
use kiln_ir::{BinaryOp, ConvAttrs, DType, Op, Operand, Program, Step, Tensor, TensorType, UnaryOp};
use rand::rngs::StdRng;

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-4;

// ---- program construction -------------------------------------------------------------------

fn x(k: usize) -> Operand {
    Operand::Arg(k)
}
fn t(i: usize) -> Operand {
    Operand::Reg(i)
}
fn un(u: UnaryOp, a: Operand) -> Step {
    Step::Unary(u, a)
}
fn bin(op: BinaryOp, a: Operand, b: Operand) -> Step {
    Step::Binary(op, a, b)
}
fn prog(steps: Vec<Step>) -> Program {
    Program { steps }
}

/// `t0=sigmoid(x0); t1=mul(x0,t0)`.
fn silu() -> Program {
    prog(vec![un(UnaryOp::Sigmoid, x(0)), bin(BinaryOp::Mul, x(0), t(0))])
}

/// `x0 * 0.5 * (1 + erf(x0 / sqrt 2))` with the constants as scalar arguments x1 = sqrt 2,
/// x2 = 1, x3 = 0.5 (programs have no constants).
fn gelu_like() -> Program {
    prog(vec![
        bin(BinaryOp::Div, x(0), x(1)),
        un(UnaryOp::Erf, t(0)),
        bin(BinaryOp::Add, t(1), x(2)),
        bin(BinaryOp::Mul, x(0), t(2)),
        bin(BinaryOp::Mul, t(3), x(3)),
    ])
}

fn gelu_constants() -> Vec<Tensor> {
    [std::f32::consts::SQRT_2, 1.0, 0.5].iter().map(|&v| Tensor::from_vec(vec![], vec![v])).collect()
}

/// Single-argument activation chains.
fn activations() -> Vec<Program> {
    vec![
        prog(vec![un(UnaryOp::Relu, x(0))]),
        prog(vec![un(UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() }, x(0))]),
        silu(),
        prog(vec![un(UnaryOp::LeakyRelu { alpha: 0.1.into() }, x(0)), un(UnaryOp::HardSwish, t(0))]),
        prog(vec![un(UnaryOp::Tanh, x(0)), bin(BinaryOp::Mul, t(0), x(0)), un(UnaryOp::Neg, t(1))]),
        prog(vec![]),
    ]
}

/// `t0=mul(x0,x1); t1=add(t0,x2)`: a batch norm folded to scale and shift.
fn bn() -> Program {
    prog(vec![bin(BinaryOp::Mul, x(0), x(1)), bin(BinaryOp::Add, t(0), x(2))])
}

/// BN then SiLU.
fn bn_silu() -> Program {
    prog(vec![
        bin(BinaryOp::Mul, x(0), x(1)),
        bin(BinaryOp::Add, t(0), x(2)),
        un(UnaryOp::Sigmoid, t(1)),
        bin(BinaryOp::Mul, t(1), t(2)),
    ])
}

/// `t0=add(x0,x1); t1=relu(t0)`: residual add then relu.
fn residual_relu() -> Program {
    prog(vec![bin(BinaryOp::Add, x(0), x(1)), un(UnaryOp::Relu, t(0))])
}

fn fused(base: Op, base_inputs: usize, epilogue: Program) -> Op {
    Op::Fused { base: Box::new(base), base_inputs, epilogue }
}

// ---- Op::Elementwise ------------------------------------------------------------------------

#[test]
fn elementwise_activation_chains_match_reference_at_odd_sizes() {
    for p in activations() {
        for n in SIZES {
            for shape in [vec![n], vec![2, n, 3]] {
                let a = random_f32(&mut rng(n as u64), &shape, -8.0, 8.0);
                check_against_reference(&Op::Elementwise(p.clone()), &[a], RTOL, ATOL);
            }
        }
    }
}

#[test]
fn elementwise_gelu_like_chain_with_scalar_constants() {
    for n in SIZES {
        let mut inputs = vec![random_f32(&mut rng(n as u64), &[n, 5], -5.0, 5.0)];
        inputs.extend(gelu_constants());
        check_against_reference(&Op::Elementwise(gelu_like()), &inputs, RTOL, ATOL);
    }
}

/// Full, per-channel, scalar, trailing-row and mixed-rank arguments in one program.
#[test]
fn elementwise_broadcasts_every_argument_kind() {
    let p = prog(vec![
        bin(BinaryOp::Mul, x(0), x(1)),
        bin(BinaryOp::Add, t(0), x(2)),
        bin(BinaryOp::Max, t(1), x(3)),
        bin(BinaryOp::Sub, t(2), x(4)),
        un(UnaryOp::Sigmoid, t(3)),
    ]);
    for c in [1, 3, 17] {
        for w in SIZES {
            let mut r = rng((c * 100 + w) as u64);
            let inputs = vec![
                random_tensor(&mut r, DType::F32, &[2, c, 3, w]),
                random_tensor(&mut r, DType::F32, &[c, 1, 1]),
                random_tensor(&mut r, DType::F32, &[]),
                random_tensor(&mut r, DType::F32, &[w]),
                random_tensor(&mut r, DType::F32, &[2, 1, 3, 1]),
            ];
            check_against_reference(&Op::Elementwise(p.clone()), &inputs, RTOL, ATOL);
        }
    }
}

/// The output is larger than every argument: an outer product, x0 read from a broadcast.
#[test]
fn elementwise_output_grows_from_the_arguments() {
    let p = prog(vec![bin(BinaryOp::Mul, x(0), x(1)), un(UnaryOp::Relu, t(0)), bin(BinaryOp::Add, t(1), x(0))]);
    for n in SIZES {
        let mut r = rng(n as u64);
        let inputs = vec![random_tensor(&mut r, DType::F32, &[n, 1]), random_tensor(&mut r, DType::F32, &[1, 7])];
        check_against_reference(&Op::Elementwise(p.clone()), &inputs, RTOL, ATOL);
    }
}

#[test]
fn elementwise_f64_and_integer_programs_run_scalar() {
    let float = prog(vec![bin(BinaryOp::Mul, x(0), x(1)), un(UnaryOp::Sigmoid, t(0)), bin(BinaryOp::Sub, t(1), x(0))]);
    let int = prog(vec![bin(BinaryOp::Mul, x(0), x(1)), bin(BinaryOp::Add, t(0), x(0)), un(UnaryOp::Relu, t(1))]);
    for n in SIZES {
        let mut r = rng(n as u64);
        let f = vec![random_tensor(&mut r, DType::F64, &[3, n]), random_tensor(&mut r, DType::F64, &[n])];
        check_against_reference(&Op::Elementwise(float.clone()), &f, 1e-6, 1e-6);
        for dtype in [DType::I32, DType::I64, DType::I8] {
            let i = vec![random_tensor(&mut r, dtype, &[3, n]), random_tensor(&mut r, dtype, &[3, 1])];
            check_against_reference(&Op::Elementwise(int.clone()), &i, 0.0, 0.0);
        }
    }
    let logic = prog(vec![bin(BinaryOp::And, x(0), x(1)), un(UnaryOp::Not, t(0)), bin(BinaryOp::Xor, t(1), x(0))]);
    let mut r = rng(5);
    let b = vec![random_tensor(&mut r, DType::Bool, &[4, 5]), random_tensor(&mut r, DType::Bool, &[5])];
    check_against_reference(&Op::Elementwise(logic), &b, 0.0, 0.0);
}

#[test]
fn elementwise_on_baseline_isa() {
    let round = prog(vec![bin(BinaryOp::Mul, x(0), x(1)), un(UnaryOp::Floor, t(0)), un(UnaryOp::HardSwish, t(1))]);
    for n in SIZES {
        let mut r = rng(n as u64);
        let inputs = vec![random_tensor(&mut r, DType::F32, &[3, n]), random_tensor(&mut r, DType::F32, &[3, 1])];
        check_against_reference_on(IsaFlavor::Baseline, &Op::Elementwise(round.clone()), &inputs, RTOL, ATOL);
        let mut g = vec![random_f32(&mut r, &[n], -5.0, 5.0)];
        g.extend(gelu_constants());
        check_against_reference_on(IsaFlavor::Baseline, &Op::Elementwise(gelu_like()), &g, RTOL, ATOL);
    }
}

// ---- Op::Fused over conv --------------------------------------------------------------------

fn conv_attrs(k: &[usize], stride: usize, pad: usize, group: usize) -> ConvAttrs {
    ConvAttrs {
        kernel: k.to_vec(),
        strides: vec![stride; k.len()],
        dilations: vec![1; k.len()],
        pads: vec![pad; 2 * k.len()],
        group,
    }
}

/// The output shape of conv `attrs` on `xs` with `m` output channels.
fn conv_out(xs: &[usize], m: usize, a: &ConvAttrs) -> Vec<usize> {
    let mut out = vec![xs[0], m];
    for (i, &d) in xs[2..].iter().enumerate() {
        out.push((d + 2 * a.pads[i] - a.kernel[i]) / a.strides[i] + 1);
    }
    out
}

/// The extra operands of each conv epilogue (with the program) for output `out`.
fn conv_epilogues(r: &mut StdRng, out: &[usize]) -> Vec<(Program, Vec<Tensor>)> {
    let m = out[1];
    let per_ch: Vec<usize> = std::iter::once(m).chain(out[2..].iter().map(|_| 1)).collect();
    let per_ch4: Vec<usize> = [1].into_iter().chain(per_ch.iter().copied()).collect();
    vec![
        (bn(), vec![random_tensor(r, DType::F32, &per_ch), random_tensor(r, DType::F32, &per_ch)]),
        (prog(vec![un(UnaryOp::Relu, x(0))]), vec![]),
        (prog(vec![un(UnaryOp::Clip { min: 0.0.into(), max: 6.0.into() }, x(0))]), vec![]),
        (silu(), vec![]),
        (residual_relu(), vec![random_tensor(r, DType::F32, out)]),
        (bn_silu(), vec![random_tensor(r, DType::F32, &per_ch4), random_tensor(r, DType::F32, &[])]),
    ]
}

/// Checks every epilogue on conv `attrs` over input shape `xs`, `m` outputs, with/without bias.
fn check_conv(flavor: IsaFlavor, xs: &[usize], m: usize, attrs: &ConvAttrs, seed: u64) {
    let mut r = rng(seed);
    let out = conv_out(xs, m, attrs);
    let mut wshape = vec![m, xs[1] / attrs.group];
    wshape.extend(&attrs.kernel);
    let base = Op::Conv(attrs.clone());
    for (i, (p, extras)) in conv_epilogues(&mut r, &out).into_iter().enumerate() {
        let mut inputs = vec![random_tensor(&mut r, DType::F32, xs), random_tensor(&mut r, DType::F32, &wshape)];
        if i % 2 == 0 {
            inputs.push(random_tensor(&mut r, DType::F32, &[m]));
        }
        let base_inputs = inputs.len();
        inputs.extend(extras);
        check_against_reference_on(flavor, &fused(base.clone(), base_inputs, p), &inputs, RTOL, ATOL);
    }
}

#[test]
fn fused_dense_conv3x3_on_the_row_buffer() {
    for c in [1, 3, 5, 17] {
        for w in SIZES {
            check_conv(IsaFlavor::Host, &[1, c, 5, w], 5, &conv_attrs(&[3, 3], 1, 1, 1), (c * 40 + w) as u64);
        }
    }
    for m in SIZES {
        check_conv(IsaFlavor::Host, &[2, 3, 7, 9], m, &conv_attrs(&[3, 3], 2, 1, 1), m as u64);
    }
    check_conv(IsaFlavor::Host, &[1, 33, 9, 33], 33, &conv_attrs(&[3, 3], 1, 1, 1), 33);
}

#[test]
fn fused_depthwise_conv3x3_stride_1_and_2() {
    for c in SIZES {
        for w in [1, 5, 17, 33] {
            for s in [1, 2] {
                check_conv(IsaFlavor::Host, &[1, c, 6, w], c, &conv_attrs(&[3, 3], s, 1, c), (c * 40 + w + s) as u64);
            }
        }
    }
}

#[test]
fn fused_pointwise_conv_through_the_gemm_tiles() {
    for c in [1, 3, 17] {
        for m in SIZES {
            for w in [1, 3, 5, 17] {
                check_conv(
                    IsaFlavor::Host,
                    &[2, c, 3, w],
                    m,
                    &conv_attrs(&[1, 1], 1, 0, 1),
                    (c * 400 + m * 20 + w) as u64,
                );
            }
        }
    }
}

/// A `[OW]` operand is not linear across the merged `OH*OW` axis of the 1x1 GEMM: the kernel
/// takes the in-place fallback and must still match.
#[test]
fn fused_pointwise_conv_with_a_row_operand_uses_the_fallback() {
    for w in [1, 3, 5, 17] {
        let mut r = rng(w as u64);
        let inputs = vec![
            random_tensor(&mut r, DType::F32, &[2, 3, 5, w]),
            random_tensor(&mut r, DType::F32, &[5, 3, 1, 1]),
            random_tensor(&mut r, DType::F32, &[w]),
            random_tensor(&mut r, DType::F32, &[5, 1, 1]),
        ];
        let op = fused(Op::Conv(conv_attrs(&[1, 1], 1, 0, 1)), 2, bn_silu());
        check_against_reference(&op, &inputs, RTOL, ATOL);
    }
}

/// Rows too wide for the row buffer: the direct path (vector blocks and scalar borders).
#[test]
fn fused_conv_on_the_direct_path() {
    check_conv(IsaFlavor::Host, &[1, 17, 3, 700], 5, &conv_attrs(&[3, 3], 1, 1, 1), 1);
    check_conv(IsaFlavor::Host, &[1, 3, 3, 11000], 3, &conv_attrs(&[3, 3], 1, 1, 3), 2);
}

#[test]
fn fused_conv_1d() {
    for w in SIZES {
        check_conv(IsaFlavor::Host, &[2, 3, w], 5, &conv_attrs(&[3], 1, 1, 1), w as u64);
    }
}

/// 3-D convs run the N-D kernel, then the epilogue as one in-place pass over the output.
#[test]
fn fused_conv3d_uses_the_fallback() {
    for c in [1, 3] {
        for w in [1, 3, 5] {
            check_conv(IsaFlavor::Host, &[1, c, 3, 4, w], 5, &conv_attrs(&[3, 3, 3], 1, 1, 1), (c * 10 + w) as u64);
        }
    }
}

#[test]
fn fused_conv_on_baseline_isa() {
    check_conv(IsaFlavor::Baseline, &[1, 3, 5, 17], 5, &conv_attrs(&[3, 3], 1, 1, 1), 1);
    check_conv(IsaFlavor::Baseline, &[1, 5, 6, 17], 5, &conv_attrs(&[3, 3], 2, 1, 5), 2);
    check_conv(IsaFlavor::Baseline, &[1, 3, 3, 5], 17, &conv_attrs(&[1, 1], 1, 0, 1), 3);
    check_conv(IsaFlavor::Baseline, &[1, 17, 3, 700], 5, &conv_attrs(&[3, 3], 1, 1, 1), 4);
}

// ---- Op::Fused over gemm and matmul ---------------------------------------------------------

/// Epilogues over a `[.., m, n]` result: row bias [n] + relu, residual + relu, per-row scale
/// `[m, 1]` + bias and SiLU, scalar shift then GELU-like.
fn matrix_epilogues(r: &mut StdRng, out: &[usize]) -> Vec<(Program, Vec<Tensor>)> {
    let (m, n) = (out[out.len() - 2], out[out.len() - 1]);
    let mut gelu = vec![];
    gelu.extend(gelu_constants());
    vec![
        (prog(vec![bin(BinaryOp::Add, x(0), x(1)), un(UnaryOp::Relu, t(0))]), vec![random_tensor(r, DType::F32, &[n])]),
        (residual_relu(), vec![random_tensor(r, DType::F32, out)]),
        (bn_silu(), vec![random_tensor(r, DType::F32, &[m, 1]), random_tensor(r, DType::F32, &[n])]),
        (gelu_like(), gelu),
    ]
}

fn check_matrix(flavor: IsaFlavor, base: &Op, base_inputs: Vec<Tensor>, seed: u64) {
    let refs: Vec<&Tensor> = base_inputs.iter().collect();
    let out = kiln_ir::eval_op(base, &refs).expect("base evaluates").remove(0);
    let mut r = rng(seed);
    for (p, extras) in matrix_epilogues(&mut r, out.shape()) {
        let mut inputs = base_inputs.clone();
        inputs.extend(extras);
        check_against_reference_on(flavor, &fused(base.clone(), base_inputs.len(), p), &inputs, RTOL, ATOL);
    }
}

fn gemm_inputs(r: &mut StdRng, (m, k, n): (usize, usize, usize), trans_b: bool, c: Option<&[usize]>) -> Vec<Tensor> {
    let bs = if trans_b { [n, k] } else { [k, n] };
    let mut v = vec![random_tensor(r, DType::F32, &[m, k]), random_tensor(r, DType::F32, &bs)];
    if let Some(cs) = c {
        v.push(random_tensor(r, DType::F32, cs));
    }
    v
}

#[test]
fn fused_gemm_with_and_without_c_and_trans_b() {
    for m in SIZES {
        for n in SIZES {
            for k in [1, 5, 17] {
                for trans_b in [false, true] {
                    let mut r = rng((m * 1000 + n * 10 + k) as u64);
                    let plain = Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b };
                    check_matrix(IsaFlavor::Host, &plain, gemm_inputs(&mut r, (m, k, n), trans_b, None), 1);
                    let scaled = Op::Gemm { alpha: 0.5.into(), beta: 2.0.into(), trans_a: false, trans_b };
                    check_matrix(IsaFlavor::Host, &scaled, gemm_inputs(&mut r, (m, k, n), trans_b, Some(&[n])), 2);
                }
            }
        }
    }
}

/// Both operands transposed: the scalar GEMM loop applies the epilogue too.
#[test]
fn fused_gemm_on_the_scalar_path() {
    for (m, k, n) in [(3, 5, 17), (17, 3, 1), (5, 33, 5)] {
        let mut r = rng((m + k + n) as u64);
        let op = Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: true, trans_b: true };
        let inputs = vec![
            random_tensor(&mut r, DType::F32, &[k, m]),
            random_tensor(&mut r, DType::F32, &[n, k]),
            random_tensor(&mut r, DType::F32, &[m, 1]),
        ];
        check_matrix(IsaFlavor::Host, &op, inputs, 3);
    }
}

#[test]
fn fused_batched_matmul() {
    for m in [1, 3, 17] {
        for n in SIZES {
            let mut r = rng((m * 100 + n) as u64);
            let broadcast_b =
                vec![random_tensor(&mut r, DType::F32, &[2, 3, m, 5]), random_tensor(&mut r, DType::F32, &[5, n])];
            check_matrix(IsaFlavor::Host, &Op::MatMul, broadcast_b, 4);
            let batched =
                vec![random_tensor(&mut r, DType::F32, &[1, m, 7]), random_tensor(&mut r, DType::F32, &[3, 7, n])];
            check_matrix(IsaFlavor::Host, &Op::MatMul, batched, 5);
            let single = vec![random_tensor(&mut r, DType::F32, &[m, 4]), random_tensor(&mut r, DType::F32, &[4, n])];
            check_matrix(IsaFlavor::Host, &Op::MatMul, single, 6);
        }
    }
}

/// A residual broadcast over part of the batch (`[1, 3, m, n]` into `[2, 3, m, n]`): the
/// per-batch pointer offsets come from the flat batch index.
#[test]
fn fused_matmul_residual_broadcast_over_batch() {
    for n in SIZES {
        let mut r = rng(n as u64);
        let inputs = vec![
            random_tensor(&mut r, DType::F32, &[2, 3, 5, 4]),
            random_tensor(&mut r, DType::F32, &[4, n]),
            random_tensor(&mut r, DType::F32, &[1, 3, 5, n]),
            random_tensor(&mut r, DType::F32, &[2, 1, 1, n]),
        ];
        check_against_reference(&fused(Op::MatMul, 2, bn_silu()), &inputs, RTOL, ATOL);
    }
}

#[test]
fn fused_matmul_f64_and_i32_on_the_scalar_path() {
    let int = prog(vec![bin(BinaryOp::Add, x(0), x(1)), un(UnaryOp::Relu, t(0))]);
    for n in SIZES {
        let mut r = rng(n as u64);
        let f = vec![
            random_tensor(&mut r, DType::F64, &[3, 5, 4]),
            random_tensor(&mut r, DType::F64, &[4, n]),
            random_tensor(&mut r, DType::F64, &[n]),
        ];
        check_against_reference(&fused(Op::MatMul, 2, silu()), &f[..2], 1e-6, 1e-6);
        check_against_reference(&fused(Op::MatMul, 2, int.clone()), &f, 1e-9, 1e-9);
        let i = vec![
            random_tensor(&mut r, DType::I32, &[2, 5, 4]),
            random_tensor(&mut r, DType::I32, &[4, n]),
            random_tensor(&mut r, DType::I32, &[5, 1]),
        ];
        check_against_reference(&fused(Op::MatMul, 2, int.clone()), &i, 0.0, 0.0);
    }
}

#[test]
fn fused_gemm_and_matmul_on_baseline_isa() {
    let mut r = rng(9);
    let g = Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b: true };
    check_matrix(IsaFlavor::Baseline, &g, gemm_inputs(&mut r, (5, 17, 33), true, Some(&[33])), 7);
    let g = Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b: false };
    check_matrix(IsaFlavor::Baseline, &g, gemm_inputs(&mut r, (17, 3, 5), false, None), 8);
    let mm = vec![random_tensor(&mut r, DType::F32, &[3, 5, 7]), random_tensor(&mut r, DType::F32, &[7, 17])];
    check_matrix(IsaFlavor::Baseline, &Op::MatMul, mm, 9);
}

// ---- cross-compilation and errors -----------------------------------------------------------

#[test]
fn fused_kernels_compile_for_aarch64() {
    let f = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
    let conv = |k: usize, g: usize| Op::Conv(conv_attrs(&[k, k], 1, k / 2, g));
    let cases: Vec<(Op, Vec<TensorType>)> = vec![
        (Op::Elementwise(gelu_like()), vec![f(&[3, 17]), f(&[]), f(&[]), f(&[])]),
        (
            fused(conv(3, 1), 3, bn_silu()),
            vec![f(&[1, 8, 9, 9]), f(&[4, 8, 3, 3]), f(&[4]), f(&[4, 1, 1]), f(&[4, 1, 1])],
        ),
        (fused(conv(3, 8), 2, residual_relu()), vec![f(&[1, 8, 9, 9]), f(&[8, 1, 3, 3]), f(&[1, 8, 9, 9])]),
        (fused(conv(1, 1), 2, silu()), vec![f(&[1, 8, 9, 9]), f(&[5, 8, 1, 1])]),
        (
            fused(Op::Gemm { alpha: 1.0.into(), beta: 1.0.into(), trans_a: false, trans_b: true }, 3, silu()),
            vec![f(&[5, 17]), f(&[9, 17]), f(&[9])],
        ),
        (fused(Op::MatMul, 2, residual_relu()), vec![f(&[3, 5, 17]), f(&[17, 9]), f(&[3, 5, 9])]),
    ];
    for (op, types) in cases {
        let size = compile_for_aarch64(&op, &types).unwrap_or_else(|e| panic!("{}: {e}", op.name()));
        assert!(size > 0, "{}: empty code", op.name());
    }
}

/// Defines the kernel of a hand-made spec (bypassing `infer_types`, which would reject these
/// programs first) and returns the error message.
fn kernel_error(op: Op, inputs: Vec<TensorType>, output: TensorType) -> String {
    let spec = KernelSpec { node: "bad".into(), op, inputs, outputs: vec![output] };
    let isa = host_isa(IsaFlavor::Host).expect("host isa");
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    match define_kernel(&mut module, &spec, "kernel", Linkage::Local) {
        Ok(_) => "no error".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unsupported_programs_are_errors_naming_the_step() {
    let f = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
    let cmp = prog(vec![bin(BinaryOp::Less, x(0), x(1))]);
    let e = kernel_error(Op::Elementwise(cmp), vec![f(&[4]), f(&[4])], f(&[4]));
    assert!(e.contains("t0") && e.contains("comparison"), "{e}");
    let not = prog(vec![un(UnaryOp::Relu, x(0)), un(UnaryOp::Not, t(0))]);
    let e = kernel_error(Op::Elementwise(not), vec![f(&[4])], f(&[4]));
    assert!(e.contains("t1") && e.contains("not"), "{e}");
    let forward = prog(vec![un(UnaryOp::Relu, t(1)), un(UnaryOp::Relu, x(0))]);
    let e = kernel_error(Op::Elementwise(forward), vec![f(&[4])], f(&[4]));
    assert!(e.contains("reads t1"), "{e}");
    let e = kernel_error(Op::Elementwise(bn()), vec![f(&[4])], f(&[4]));
    assert!(e.contains("reads x2"), "{e}");
    let sigmoid = prog(vec![un(UnaryOp::Sigmoid, x(0))]);
    let i = TensorType::new(DType::I32, vec![4]);
    let e = kernel_error(Op::Elementwise(sigmoid), vec![i.clone()], i);
    assert!(e.contains("sigmoid") && e.contains("i32"), "{e}");
}

#[test]
fn fused_operands_that_grow_the_result_are_errors() {
    let f = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
    let op = fused(Op::MatMul, 2, residual_relu());
    let e = kernel_error(op, vec![f(&[3, 4]), f(&[4, 5]), f(&[2, 3, 5])], f(&[3, 5]));
    assert!(e.contains("x1") && e.contains("broadcast"), "{e}");
    let pool = Op::Softmax { axis: 0 };
    let e = kernel_error(fused(pool, 1, silu()), vec![f(&[3])], f(&[3]));
    assert!(e.contains("no fused kernel for softmax"), "{e}");
}
