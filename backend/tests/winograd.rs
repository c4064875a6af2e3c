//! Winograd transform kernels (`WinogradInput`, `WinogradOutput`) against the reference
//! evaluator at odd sizes (tile rows that are not a multiple of four tiles, odd OH/OW cropping,
//! every pad up to 2), on the host ISA and baseline x86-64; `WinogradOutput` as the base of
//! `Op::Fused`; and the aarch64 compile of both.

mod common;

use common::{
    check_against_reference, check_against_reference_on, compile_for_aarch64, random_tensor, rng, run_kernel, IsaFlavor,
};
use kiln_ir::winograd::tiles;
use kiln_ir::{BinaryOp, DType, Op, Operand, Program, Step, TensorType, UnaryOp};

const SIZES: [usize; 7] = [1, 2, 3, 5, 7, 17, 33];
const PADS: [[usize; 4]; 5] = [[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 2, 1], [2, 2, 2, 2], [2, 0, 1, 2]];

/// The conv output `[OH, OW]` of a 3x3 stride-1 window, if it is not empty.
fn out_hw(h: usize, w: usize, p: [usize; 4]) -> Option<[usize; 2]> {
    let oh = (h + p[0] + p[2]).checked_sub(2).filter(|&v| v > 0)?;
    let ow = (w + p[1] + p[3]).checked_sub(2).filter(|&v| v > 0)?;
    Some([oh, ow])
}

#[test]
fn input_transform_odd_sizes() {
    let mut r = rng(61);
    for &h in &SIZES {
        for &w in &SIZES {
            for pads in PADS {
                let Some(hw) = out_hw(h, w, pads) else { continue };
                for (n, c) in [(1, 1), (2, 3), (1, 5)] {
                    let x = random_tensor(&mut r, DType::F32, &[n, c, h, w]);
                    check_against_reference(&Op::WinogradInput { pads: pads.to_vec(), out_hw: hw }, &[x], 1e-6, 1e-6);
                }
            }
        }
    }
}

#[test]
fn output_transform_odd_sizes_with_and_without_bias() {
    let mut r = rng(62);
    for &oh in &SIZES {
        for &ow in &SIZES {
            for (n, m) in [(1, 1), (2, 3), (1, 5)] {
                let t = n * tiles(oh) * tiles(ow);
                let op = Op::WinogradOutput { out_shape: [n, m, oh, ow] };
                let mt = random_tensor(&mut r, DType::F32, &[16, m, t]);
                let b = random_tensor(&mut r, DType::F32, &[m]);
                check_against_reference(&op, &[mt.clone(), b], 1e-6, 1e-6);
                check_against_reference(&op, &[mt], 1e-6, 1e-6);
            }
        }
    }
}

#[test]
fn both_transforms_on_baseline_x86_64() {
    let mut r = rng(63);
    let x = random_tensor(&mut r, DType::F32, &[2, 3, 17, 19]);
    check_against_reference_on(
        IsaFlavor::Baseline,
        &Op::WinogradInput { pads: vec![1; 4], out_hw: [17, 19] },
        &[x],
        1e-6,
        1e-6,
    );
    let mt = random_tensor(&mut r, DType::F32, &[16, 4, 2 * 9 * 10]);
    let b = random_tensor(&mut r, DType::F32, &[4]);
    check_against_reference_on(
        IsaFlavor::Baseline,
        &Op::WinogradOutput { out_shape: [2, 4, 17, 19] },
        &[mt, b],
        1e-6,
        1e-6,
    );
}

/// `relu(x0 * x1 + x2)`: a per-channel scale and a same-shape residual.
fn epilogue() -> Program {
    Program {
        steps: vec![
            Step::Binary(BinaryOp::Mul, Operand::Arg(0), Operand::Arg(1)),
            Step::Binary(BinaryOp::Add, Operand::Reg(0), Operand::Arg(2)),
            Step::Unary(UnaryOp::Relu, Operand::Reg(1)),
        ],
    }
}

#[test]
fn output_transform_as_fused_base() {
    let mut r = rng(64);
    for (oh, ow) in [(1, 1), (5, 7), (17, 33), (8, 16)] {
        let (n, m) = (2, 3);
        let t = n * tiles(oh) * tiles(ow);
        let op = Op::Fused {
            base: Box::new(Op::WinogradOutput { out_shape: [n, m, oh, ow] }),
            base_inputs: 2,
            epilogue: epilogue(),
        };
        let inputs = vec![
            random_tensor(&mut r, DType::F32, &[16, m, t]),
            random_tensor(&mut r, DType::F32, &[m]),
            random_tensor(&mut r, DType::F32, &[m, 1, 1]),
            random_tensor(&mut r, DType::F32, &[n, m, oh, ow]),
        ];
        if let Err(e) = run_kernel(&op, &inputs) {
            panic!("fused winograd output ({oh}x{ow}): {e}");
        }
        check_against_reference(&op, &inputs, 1e-6, 1e-6);
    }
}

#[test]
fn both_transforms_compile_for_aarch64() {
    let f32t = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
    let input = Op::WinogradInput { pads: vec![1; 4], out_hw: [17, 19] };
    let size = compile_for_aarch64(&input, &[f32t(&[2, 3, 17, 19])]).unwrap_or_else(|e| panic!("{e}"));
    assert!(size > 0);
    let output = Op::WinogradOutput { out_shape: [2, 4, 17, 19] };
    let size = compile_for_aarch64(&output, &[f32t(&[16, 4, 180]), f32t(&[4])]).unwrap_or_else(|e| panic!("{e}"));
    assert!(size > 0);
}
