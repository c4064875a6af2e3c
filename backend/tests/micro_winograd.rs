//! Channels-last Winograd F(2,3) and F(4,3) on the machine-code micro-kernels against the
//! reference evaluator: the input transform alone (every tile, every channel tail, pads), and
//! the whole chain `ChannelsLast(WinogradOutput)(MatMul(ChannelsLast(WinogradInput)(x), U))`
//! with bias and fused epilogues (NHWC residual, ReLU), cropped last tiles, batch > 1, on
//! AVX-512 and AVX2, with guard bytes around the inputs, outputs and workspace.

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

fn nhwc(op: Op) -> Op {
    Op::ChannelsLast(Box::new(op))
}

fn ty(op: &Op, ins: &[TensorType]) -> TensorType {
    let refs: Vec<&TensorType> = ins.iter().collect();
    kiln_ir::infer_types(op, &refs).unwrap_or_else(|e| panic!("{op:?}: {e}")).remove(0)
}

/// The Winograd ops of a 3x3 conv with `pads` on an NHWC input of `shape` (`m` output channels).
fn ops(shape: [usize; 4], m: usize, pads: [usize; 4], tile: usize) -> (Op, Op) {
    let attrs =
        ConvAttrs { kernel: vec![3, 3], strides: vec![1, 1], dilations: vec![1, 1], pads: pads.to_vec(), group: 1 };
    let x = TensorType::new(DType::F32, vec![shape[0], shape[3], shape[1], shape[2]]);
    let w = TensorType::new(DType::F32, vec![m, shape[3], 3, 3]);
    kiln_ir::winograd::winograd_ops(&attrs, &x, &w, tile).expect("winograd applies")
}

#[test]
fn input_transform_every_tile_and_channel_tail() {
    for edits in levels() {
        for tile in [2, 4] {
            for &(h, w) in &[(3, 3), (5, 7), (9, 14), (17, 6)] {
                for &c in &[1, 3, 16, 17, 33] {
                    for pads in [[1; 4], [0; 4], [2, 1, 0, 2]] {
                        if h + pads[0] + pads[2] < 3 || w + pads[1] + pads[3] < 3 {
                            continue;
                        }
                        let (input, _) = ops([2, h, w, c], 4, pads, tile);
                        let x = random_tensor(&mut rng(1), DType::F32, &[2, h, w, c]);
                        let mut g = Graph::new();
                        let xv = g.add_input("x", x.ty());
                        let op = nhwc(input);
                        let out = ty(&op, &[x.ty()]);
                        let y = g.add_node1("wi", op, vec![xv], "v", out);
                        g.outputs.push(y);
                        // F(4,3)'s B^T sums terms up to 5x the inputs (in [-4, 4]): f32 slack.
                        check_graph(&g, &[x], &edits, 1, 1e-5, 1e-4);
                    }
                }
            }
        }
    }
}

/// `x -> V -> MatMul(V, U) -> output transform (+ bias, + epilogue)`: the whole NHWC Winograd
/// conv of `shape` to `m` channels.
fn chain(shape: [usize; 4], m: usize, pads: [usize; 4], tile: usize, fused: bool, seed: u64) -> (Graph, Vec<Tensor>) {
    let mut r = rng(seed);
    let (input, output) = ops(shape, m, pads, tile);
    let x = random_tensor(&mut r, DType::F32, &shape);
    let w = random_tensor(&mut r, DType::F32, &[m, shape[3], 3, 3]);
    let u = kiln_ir::eval_op(&nhwc(Op::WinogradWeights { tile }), &[&w]).expect("weights").remove(0);
    let b = random_tensor(&mut r, DType::F32, &[m]);
    let mut g = Graph::new();
    let xv = g.add_input("x", x.ty());
    let wi = nhwc(input);
    let v_ty = ty(&wi, &[x.ty()]);
    let v = g.add_node1("wi", wi, vec![xv], "v", v_ty.clone());
    let uv = g.add_const("u", u.clone());
    let mt_ty = ty(&Op::MatMul, &[v_ty, u.ty()]);
    let mt = g.add_node1("mm", Op::MatMul, vec![v, uv], "mt", mt_ty.clone());
    let bv = g.add_const("b", b.clone());
    let wo = nhwc(output);
    let y_ty = ty(&wo, &[mt_ty, b.ty()]);
    let mut inputs = vec![x];
    let y = if fused {
        let res = random_tensor(&mut r, DType::F32, &y_ty.shape);
        let rv = g.add_input("res", res.ty());
        inputs.push(res);
        let program = Program {
            steps: vec![
                Step::Binary(BinaryOp::Add, Operand::Arg(0), Operand::Arg(1)),
                Step::Unary(UnaryOp::Relu, Operand::Reg(0)),
            ],
        };
        let op = Op::Fused { base: Box::new(wo), base_inputs: 2, epilogue: program };
        g.add_node1("wo", op, vec![mt, bv, rv], "y", y_ty)
    } else {
        g.add_node1("wo", wo, vec![mt, bv], "y", y_ty)
    };
    g.outputs.push(y);
    (g, inputs)
}

#[test]
fn whole_chain_with_bias_cropping_and_batches() {
    for edits in levels() {
        for tile in [2, 4] {
            for &(n, h, w, c, m) in &[(1, 5, 5, 3, 5), (2, 9, 7, 16, 24), (1, 14, 14, 17, 33), (1, 6, 11, 32, 16)] {
                for pads in [[1; 4], [0; 4], [2, 2, 1, 0]] {
                    let (g, ins) = chain([n, h, w, c], m, pads, tile, false, 3);
                    // 4x fewer multiplications at F(4,3) cost a digit of accuracy (ir::winograd).
                    check_graph(&g, &ins, &edits, 3, 1e-3, 1e-3);
                }
            }
        }
    }
}

#[test]
fn fused_residual_and_relu_in_the_output_transform() {
    for edits in levels() {
        for tile in [2, 4] {
            for &(h, w, c, m) in &[(7, 7, 8, 16), (10, 13, 5, 20)] {
                let (g, ins) = chain([2, h, w, c], m, [1; 4], tile, true, 4);
                check_graph(&g, &ins, &edits, 3, 1e-3, 1e-3);
            }
        }
    }
}
