//! Winograd transform kernels (`WinogradInput`, `WinogradOutput`) of both tile sizes (F(2,3),
//! F(4,3)) against the reference evaluator at odd sizes (tile rows that are not a multiple of
//! four tiles, OH/OW cropping, every pad up to 2), on the host ISA and baseline x86-64;
//! `WinogradOutput` as the base of `Op::Fused`; and the aarch64 compile of both.

mod common;

use common::{
    check_against_reference, check_against_reference_on, compile_for_aarch64, random_tensor, rng, run_kernel, IsaFlavor,
};
use kiln_ir::winograd::{matrices, tiles, TILES};
use kiln_ir::{BinaryOp, DType, Op, Operand, Program, Step, TensorType, UnaryOp};

const SIZES: [usize; 7] = [1, 2, 3, 5, 7, 17, 33];

/// Absolute tolerance against the evaluator (which sums in f64 and rounds once). The kernels
/// round every f32 step. From `random_tensor`'s inputs in [-4, 4), F(4,3)'s input transform
/// builds partial sums of several hundred (coefficients 4 and 5, twice) and its output transform
/// of a thousand or more (coefficients 2, 4, 8, twice), so their rounding errors are ulps of
/// those sums, not of the (possibly small) result.
fn atol(tile: usize, input: bool) -> f64 {
    match (tile, input) {
        (2, _) => 1e-6,
        (_, true) => 5e-5,
        (_, false) => 2e-4,
    }
}
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
                for ((n, c), tile) in [(1, 1), (2, 3), (1, 5)].into_iter().zip([2, 4, 4]) {
                    let x = random_tensor(&mut r, DType::F32, &[n, c, h, w]);
                    let op = Op::WinogradInput { pads: pads.to_vec(), out_hw: hw, tile };
                    check_against_reference(&op, &[x], 1e-6, atol(tile, true));
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
            for ((n, m), tile) in [(1, 1), (2, 3), (1, 5), (1, 2)].into_iter().zip([2, 4, 2, 4]) {
                let t = n * tiles(oh, tile) * tiles(ow, tile);
                let op = Op::WinogradOutput { out_shape: [n, m, oh, ow], tile };
                let slots = matrices(tile).unwrap().slots();
                let mt = random_tensor(&mut r, DType::F32, &[slots, m, t]);
                let b = random_tensor(&mut r, DType::F32, &[m]);
                check_against_reference(&op, &[mt.clone(), b], 1e-6, atol(tile, false));
                check_against_reference(&op, &[mt], 1e-6, atol(tile, false));
            }
        }
    }
}

#[test]
fn both_transforms_on_baseline_x86_64() {
    let mut r = rng(63);
    for tile in TILES {
        let x = random_tensor(&mut r, DType::F32, &[2, 3, 17, 19]);
        let input = Op::WinogradInput { pads: vec![1; 4], out_hw: [17, 19], tile };
        check_against_reference_on(IsaFlavor::Baseline, &input, &[x], 1e-6, atol(tile, true));
        let (slots, t) = (matrices(tile).unwrap().slots(), 2 * tiles(17, tile) * tiles(19, tile));
        let mt = random_tensor(&mut r, DType::F32, &[slots, 4, t]);
        let b = random_tensor(&mut r, DType::F32, &[4]);
        let output = Op::WinogradOutput { out_shape: [2, 4, 17, 19], tile };
        check_against_reference_on(IsaFlavor::Baseline, &output, &[mt, b], 1e-6, atol(tile, false));
    }
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
    for ((oh, ow), tile) in [(1, 1), (5, 7), (17, 33), (8, 16)].into_iter().flat_map(|hw| TILES.map(|t| (hw, t))) {
        let (n, m) = (2, 3);
        let t = n * tiles(oh, tile) * tiles(ow, tile);
        let op = Op::Fused {
            base: Box::new(Op::WinogradOutput { out_shape: [n, m, oh, ow], tile }),
            base_inputs: 2,
            epilogue: epilogue(),
        };
        let slots = matrices(tile).unwrap().slots();
        let inputs = vec![
            random_tensor(&mut r, DType::F32, &[slots, m, t]),
            random_tensor(&mut r, DType::F32, &[m]),
            random_tensor(&mut r, DType::F32, &[m, 1, 1]),
            random_tensor(&mut r, DType::F32, &[n, m, oh, ow]),
        ];
        if let Err(e) = run_kernel(&op, &inputs) {
            panic!("fused winograd output F({tile},3) ({oh}x{ow}): {e}");
        }
        check_against_reference(&op, &inputs, 1e-6, atol(tile, false));
    }
}

#[test]
fn both_transforms_compile_for_aarch64() {
    let f32t = |s: &[usize]| TensorType::new(DType::F32, s.to_vec());
    for tile in TILES {
        let input = Op::WinogradInput { pads: vec![1; 4], out_hw: [17, 19], tile };
        let size = compile_for_aarch64(&input, &[f32t(&[2, 3, 17, 19])]).unwrap_or_else(|e| panic!("{e}"));
        assert!(size > 0);
        let (slots, t) = (matrices(tile).unwrap().slots(), 2 * tiles(17, tile) * tiles(19, tile));
        let output = Op::WinogradOutput { out_shape: [2, 4, 17, 19], tile };
        let size = compile_for_aarch64(&output, &[f32t(&[slots, 4, t]), f32t(&[4])]).unwrap_or_else(|e| panic!("{e}"));
        assert!(size > 0);
    }
}
