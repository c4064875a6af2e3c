//! Cast kernels to and from f16/bf16 against the reference evaluator, bit for bit: every f16 and
//! bf16 bit pattern, rounding ties, overflow, subnormals and NaNs, at the odd sizes, on the host
//! ISA and on baseline x86-64 (no F16C, no SSE4.1), plus compilation for aarch64.

mod common;

use common::*;
use kiln_ir::{DType, Op, Tensor, TensorType, BF16, F16};

const HALVES: [DType; 2] = [DType::F16, DType::BF16];

/// Runs Cast to `to` on `x` with the kernel and the evaluator and compares the bytes.
fn check_bits(flavor: IsaFlavor, x: &Tensor, to: DType) {
    let op = Op::Cast { to };
    let expected = kiln_ir::eval_op(&op, &[x]).unwrap_or_else(|e| panic!("reference {}->{to}: {e}", x.dtype()));
    let actual = run_kernel_on(flavor, &op, std::slice::from_ref(x)).unwrap_or_else(|e| panic!("{e}"));
    let (e, a) = (expected[0].to_le_bytes(), actual[0].to_le_bytes());
    let size = to.size();
    for (i, (ec, ac)) in e.chunks(size).zip(a.chunks(size)).enumerate() {
        assert_eq!(ec, ac, "{flavor:?} {}->{to} element {i}: input {:?}", x.dtype(), x.data().get_f64(i));
    }
    assert_eq!(e.len(), a.len());
}

fn every_bit_pattern(dtype: DType) -> Tensor {
    let bits: Vec<u8> = (0..=u16::MAX).flat_map(|h| h.to_le_bytes()).collect();
    Tensor::from_le_bytes(dtype, [65536], &bits).expect("65536 halves")
}

/// f32 values around every tie of the half formats, plus overflow, subnormals and NaNs.
fn tricky_f32() -> Vec<f32> {
    let mut v = vec![0.0, -0.0, 1.0, 65504.0, 65519.996, 65520.0, 65536.0, 1e10, f32::MAX, f32::MIN_POSITIVE];
    v.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::from_bits(0xff80_0001), f32::from_bits(0x7fbf_ffff)]);
    v.extend([2f32.powi(-25), 3.0 * 2f32.powi(-25), 2f32.powi(-24), 2f32.powi(-15), f32::from_bits(1)]);
    for lo in (0..0x7bffu16).step_by(97) {
        let mid = (F16(lo).to_f32() as f64 + F16(lo + 1).to_f32() as f64) / 2.0;
        v.extend([mid as f32, f32::from_bits((mid as f32).to_bits() + 1), f32::from_bits((mid as f32).to_bits() - 1)]);
    }
    for lo in (0..0x7f7fu16).step_by(89) {
        let mid = ((BF16(lo).to_f32() as f64 + BF16(lo + 1).to_f32() as f64) / 2.0) as f32;
        v.extend([mid, -mid, f32::from_bits(mid.to_bits() + 1)]);
    }
    v
}

#[test]
fn every_half_bit_pattern_widens_and_converts_exactly() {
    for flavor in [IsaFlavor::Host, IsaFlavor::Baseline] {
        for from in HALVES {
            let x = every_bit_pattern(from);
            for to in DType::ALL {
                check_bits(flavor, &x, to);
            }
        }
    }
}

#[test]
fn f32_and_f64_narrow_with_one_rounding() {
    let v = tricky_f32();
    let f32s = Tensor::from_vec([v.len()], v.clone());
    let f64s: Vec<f64> =
        v.iter().flat_map(|&x| [x as f64, x as f64 * (1.0 + 1e-12), x as f64 * (1.0 - 1e-12)]).collect();
    let f64s = Tensor::from_vec([f64s.len()], f64s);
    for flavor in [IsaFlavor::Host, IsaFlavor::Baseline] {
        for to in HALVES {
            check_bits(flavor, &f32s, to);
            check_bits(flavor, &f64s, to);
        }
    }
}

#[test]
fn integers_and_bools_narrow_at_odd_sizes() {
    let mut r = rng(16);
    let big = Tensor::from_vec([6], vec![i64::MIN, i64::MAX, 65520, 65519, 2049, -(1 << 40) - 1]);
    let ubig = Tensor::from_vec([3], vec![u64::MAX, (1u64 << 63) + 1, 16_777_217]);
    for flavor in [IsaFlavor::Host, IsaFlavor::Baseline] {
        for to in HALVES {
            check_bits(flavor, &big, to);
            check_bits(flavor, &ubig, to);
            for from in DType::ALL {
                for n in SIZES {
                    check_bits(flavor, &random_tensor(&mut r, from, &[n]), to);
                }
            }
        }
    }
}

#[test]
fn half_casts_compile_for_aarch64() {
    for from in DType::ALL {
        for to in DType::ALL.into_iter().filter(|&to| from.is_half() || to.is_half()) {
            let ty = TensorType::new(from, vec![17]);
            let size = compile_for_aarch64(&Op::Cast { to }, &[ty]).unwrap_or_else(|e| panic!("{from}->{to}: {e}"));
            assert!(size > 0, "{from}->{to}: empty code");
        }
    }
}
