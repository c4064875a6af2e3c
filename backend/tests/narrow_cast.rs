//! Cast kernels to and from the narrow storage types (8-bit floats, FLOAT4E2M1, 4/2-bit
//! integers) against the reference evaluator, bit for bit: every code to every dtype, f32/f64/
//! f16 values at every rounding tie and boundary, random tensors of every dtype at odd sizes,
//! on the host ISA and on baseline x86-64, plus compilation for aarch64.

mod common;

use common::*;
use kiln_ir::minifloat::{decode, format_of};
use kiln_ir::{DType, Op, Tensor, TensorType};

fn narrow_types() -> impl Iterator<Item = DType> {
    DType::ALL.into_iter().filter(|d| d.is_narrow())
}

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

/// Every value a narrow type holds: all 256 bytes of an 8-bit float, the 16 codes of
/// FLOAT4E2M1, the range of a sub-byte integer (as held: sign-extended).
fn every_code(d: DType) -> Tensor {
    let bytes: Vec<u8> = match (d, d.packed_bits()) {
        (DType::F4E2M1, _) => (0..16).collect(),
        (_, Some(bits)) if d.is_signed_narrow() => {
            (-(1i8 << (bits - 1))..(1i8 << (bits - 1))).map(|v| v as u8).collect()
        }
        (_, Some(bits)) => (0..1u8 << bits).collect(),
        _ => (0..=255).collect(),
    };
    Tensor::from_le_bytes(d, [bytes.len()], &bytes).expect("one byte per element")
}

/// f32 values at and around every code of every minifloat format, plus specials.
fn tricky_f32() -> Vec<f32> {
    let mut v = vec![0.0, -0.0, 1e30, -1e30, f32::MAX, f32::from_bits(1), f32::from_bits(0x0040_0000)];
    v.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::from_bits(0x7f80_0001)]);
    v.extend([464.0, 464.1, 61440.0, 61439.0, 2f32.powi(-10), 0.25, 0.75, 5.0, 1.1, 0.124]);
    for f in DType::ALL.into_iter().filter_map(format_of) {
        for code in 0..=255u8 {
            let (a, b) = (decode(f, code), decode(f, code.wrapping_add(1)));
            if a.is_finite() && b.is_finite() {
                let mid = ((f64::from(a) + f64::from(b)) / 2.0) as f32;
                v.extend([a, mid, f32::from_bits(mid.to_bits() + 1), f32::from_bits(mid.to_bits().saturating_sub(1))]);
            }
        }
    }
    v
}

#[test]
fn every_narrow_code_converts_to_every_dtype_exactly() {
    for flavor in [IsaFlavor::Host, IsaFlavor::Baseline] {
        for from in narrow_types() {
            let x = every_code(from);
            for to in DType::ALL {
                check_bits(flavor, &x, to);
            }
        }
    }
}

#[test]
fn floats_narrow_with_one_rounding() {
    let v = tricky_f32();
    let f32s = Tensor::from_vec([v.len()], v.clone());
    let f64s: Vec<f64> =
        v.iter().flat_map(|&x| [x as f64, x as f64 * (1.0 + 1e-12), x as f64 * (1.0 - 1e-12)]).collect();
    let f64s = Tensor::from_vec([f64s.len()], f64s);
    let f16s = f32s.cast(DType::F16).expect("f32 -> f16");
    for flavor in [IsaFlavor::Host, IsaFlavor::Baseline] {
        for to in narrow_types() {
            check_bits(flavor, &f32s, to);
            check_bits(flavor, &f64s, to);
            check_bits(flavor, &f16s, to);
        }
    }
}

#[test]
fn every_dtype_narrows_at_odd_sizes() {
    let mut r = rng(23);
    let big = Tensor::from_vec([6], vec![i64::MIN, i64::MAX, -9, 1_000_000, -100, 17]);
    for flavor in [IsaFlavor::Host, IsaFlavor::Baseline] {
        for to in narrow_types() {
            check_bits(flavor, &big, to);
            for from in DType::ALL {
                for n in SIZES {
                    check_bits(flavor, &random_tensor(&mut r, from, &[n]), to);
                }
            }
        }
    }
}

#[test]
fn narrow_casts_compile_for_aarch64() {
    for from in DType::ALL {
        for to in DType::ALL.into_iter().filter(|&to| from.is_narrow() || to.is_narrow()) {
            let ty = TensorType::new(from, vec![17]);
            let size = compile_for_aarch64(&Op::Cast { to }, &[ty]).unwrap_or_else(|e| panic!("{from}->{to}: {e}"));
            assert!(size > 0, "{from}->{to}: empty code");
        }
    }
}

#[test]
fn arithmetic_on_storage_only_types_is_refused_by_the_kernel() {
    for d in DType::ALL.into_iter().filter(|d| d.is_storage_only()) {
        let x = random_tensor(&mut rng(5), d, &[3]);
        let err = run_kernel_on(IsaFlavor::Host, &Op::Binary(kiln_ir::BinaryOp::Add), &[x.clone(), x]);
        let msg = err.err().unwrap_or_else(|| panic!("add on {d} compiled"));
        assert!(msg.contains("storage-only") || msg.contains(d.name()), "{d}: {msg}");
    }
}
