//! f16/bf16 conversions: exhaustive round trips, ties-to-even at every midpoint, overflow,
//! subnormals, NaN, the single rounding of f64 sources, and Cast/text through the IR.

use kiln_ir::half::{f16_bits_to_f32, f32_to_bf16_bits, f32_to_f16_bits};
use kiln_ir::{parse_graph, print_graph, DType, Graph, Tensor, BF16, F16};

fn next_up(x: f32) -> f32 {
    f32::from_bits(x.to_bits() + 1)
}
fn next_down(x: f32) -> f32 {
    f32::from_bits(x.to_bits() - 1)
}

#[test]
fn every_f16_round_trips_through_f32() {
    for h in 0..=u16::MAX {
        let x = f16_bits_to_f32(h);
        let back = f32_to_f16_bits(x);
        if x.is_nan() {
            assert_eq!(back, h | 0x0200, "NaN {h:#06x} comes back quiet with its payload");
        } else {
            assert_eq!(back, h, "{h:#06x} -> {x} -> {back:#06x}");
        }
    }
}

#[test]
fn f16_widening_matches_the_formula() {
    assert_eq!(f16_bits_to_f32(0x3c00), 1.0);
    assert_eq!(f16_bits_to_f32(0xc000), -2.0);
    assert_eq!(f16_bits_to_f32(0x7bff), 65504.0);
    assert_eq!(f16_bits_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f16_bits_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
    assert_eq!(f16_bits_to_f32(0x0400), 2f32.powi(-14));
    assert_eq!(f16_bits_to_f32(0x7c00), f32::INFINITY);
    assert_eq!(f16_bits_to_f32(0xfc00), f32::NEG_INFINITY);
    assert_eq!(f16_bits_to_f32(0x8000).to_bits(), 0x8000_0000);
}

/// Every pair of neighbouring finite f16 (or bf16) values `a < b`: the midpoint goes to the
/// even one, one f32 ulp either side goes to the nearer one; negatives mirror.
fn check_midpoints(to_f32: impl Fn(u16) -> f32, narrow: impl Fn(f32) -> u16, max_bits: u16) {
    for lo in 0..max_bits {
        let (a, b) = (to_f32(lo), to_f32(lo + 1));
        let exact = (f64::from(a) + f64::from(b)) / 2.0;
        let mid = exact as f32;
        assert_eq!(f64::from(mid), exact, "midpoint exact in f32");
        let even = if lo % 2 == 0 { lo } else { lo + 1 };
        assert_eq!(narrow(mid), even, "tie between {lo:#06x} and the next");
        assert_eq!(narrow(next_down(mid)), lo);
        assert_eq!(narrow(next_up(mid)), lo + 1);
        assert_eq!(narrow(-mid), even | 0x8000);
        assert_eq!(narrow(a), lo);
    }
}

#[test]
fn f32_to_f16_rounds_ties_to_even_everywhere() {
    check_midpoints(f16_bits_to_f32, f32_to_f16_bits, 0x7bff);
}

#[test]
fn f32_to_bf16_rounds_ties_to_even_everywhere() {
    check_midpoints(|h| BF16(h).to_f32(), f32_to_bf16_bits, 0x7f7f);
}

#[test]
fn f16_overflow_underflow_and_specials() {
    assert_eq!(f32_to_f16_bits(65504.0), 0x7bff);
    assert_eq!(f32_to_f16_bits(next_down(65520.0)), 0x7bff);
    assert_eq!(f32_to_f16_bits(65520.0), 0x7c00, "the tie above the largest finite overflows");
    assert_eq!(f32_to_f16_bits(-1e10), 0xfc00);
    assert_eq!(f32_to_f16_bits(f32::INFINITY), 0x7c00);
    assert_eq!(f32_to_f16_bits(f32::MAX), 0x7c00);
    assert_eq!(f32_to_f16_bits(2f32.powi(-25)), 0x0000, "half the smallest subnormal ties to 0");
    assert_eq!(f32_to_f16_bits(next_up(2f32.powi(-25))), 0x0001);
    assert_eq!(f32_to_f16_bits(3.0 * 2f32.powi(-25)), 0x0002);
    assert_eq!(f32_to_f16_bits(f32::from_bits(1)), 0x0000);
    assert_eq!(f32_to_f16_bits(-0.0), 0x8000);
    assert_eq!(f32_to_f16_bits(f32::NAN), 0x7e00);
    assert_eq!(f32_to_f16_bits(f32::from_bits(0xff80_0001)) & 0x7c00, 0x7c00, "signalling NaN stays NaN");
    assert_ne!(f32_to_f16_bits(f32::from_bits(0xff80_0001)) & 0x3ff, 0);
}

#[test]
fn bf16_overflow_and_specials() {
    assert_eq!(f32_to_bf16_bits(f32::MAX), 0x7f80);
    assert_eq!(f32_to_bf16_bits(f32::NEG_INFINITY), 0xff80);
    assert_eq!(f32_to_bf16_bits(f32::from_bits(0x7f80_0001)), 0x7fc0, "payload in low bits: quiet NaN");
    assert_eq!(f32_to_bf16_bits(f32::from_bits(0x0000_8000)), 0x0000, "subnormal tie to even");
    assert_eq!(f32_to_bf16_bits(f32::from_bits(0x0001_8000)), 0x0002);
}

#[test]
fn f64_sources_round_once() {
    // Just above a tie: rounding to f32 first would land on the tie and pick the even side.
    for lo in [0x3c00u16, 0x3c01, 0x0001, 0x7bfe] {
        let (a, b) = (F16(lo).to_f32() as f64, F16(lo + 1).to_f32() as f64);
        let mid = (a + b) / 2.0;
        assert_eq!(F16::from_f64(mid + mid * 1e-12).0, lo + 1);
        assert_eq!(F16::from_f64(mid - mid * 1e-12).0, lo);
    }
    let (a, b) = (BF16(0x3f80).to_f32() as f64, BF16(0x3f81).to_f32() as f64);
    let mid = (a + b) / 2.0;
    assert_eq!(BF16::from_f64(mid + 1e-12).0, 0x3f81);
    assert_eq!(BF16::from_f64(mid).0, 0x3f80);
    assert_eq!(F16::from_f64(1e300).0, 0x7c00);
    assert!(F16::from_f64(f64::NAN).to_f32().is_nan());
    assert_eq!(BF16::from_f64(-1e300).0, 0xff80);
}

#[test]
fn cast_between_half_and_other_dtypes() {
    let x = Tensor::from_vec([5], vec![1.5f32, -2.75, 65520.0, f32::NAN, 0.0]);
    let h = x.cast(DType::F16).unwrap();
    assert_eq!(h.as_slice::<F16>().unwrap(), &[F16(0x3e00), F16(0xc180), F16(0x7c00), F16(0x7e00), F16(0)]);
    let i = h.cast(DType::I32).unwrap();
    assert_eq!(i.as_slice::<i32>().unwrap(), &[1, -2, i32::MAX, 0, 0]);
    let b = h.cast(DType::Bool).unwrap();
    assert_eq!(b.as_slice::<bool>().unwrap(), &[true, true, true, true, false]);
    let bf = h.cast(DType::BF16).unwrap();
    assert_eq!(bf.as_slice::<BF16>().unwrap()[..3], [BF16(0x3fc0), BF16(0xc030), BF16(0x7f80)]);
    let from_int = Tensor::from_vec([2], vec![70000i64, 2049]).cast(DType::F16).unwrap();
    assert_eq!(from_int.as_slice::<F16>().unwrap(), &[F16(0x7c00), F16(0x6800)], "2049 ties to 2048");
    assert_eq!(Tensor::from_vec([1], vec![true]).cast(DType::BF16).unwrap().to_f64_vec(), vec![1.0]);
}

#[test]
fn half_constants_print_and_parse_bit_exactly() {
    let mut g = Graph::new();
    let bits = [0x0001u16, 0x8000, 0x7bff, 0x7c01, 0x7e00, 0xfe05, 0x3555];
    g.add_const("h", Tensor::from_vec([7], bits.map(F16).to_vec()));
    g.add_const("b", Tensor::from_vec([7], bits.map(BF16).to_vec()));
    let text = print_graph(&g, true);
    let back = parse_graph(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(print_graph(&back, true), text);
    assert!(text.contains("f16[7]") && text.contains("bf16[7]") && text.contains("nan(0x7c01)"), "{text}");
}

#[test]
fn every_bf16_round_trips_through_f32() {
    for h in 0..=u16::MAX {
        let x = BF16(h).to_f32();
        assert_eq!(x.to_bits(), u32::from(h) << 16, "{h:#06x} widens exactly, NaN payload kept");
        let back = f32_to_bf16_bits(x);
        if x.is_nan() {
            assert_eq!(back, h | 0x0040, "NaN {h:#06x} comes back quiet with its payload");
        } else {
            assert_eq!(back, h, "{h:#06x} -> {x} -> {back:#06x}");
        }
    }
}

/// kiln widens a signalling NaN with its payload as it is (numpy and the backend's Cast kernel
/// do); the `half` crate sets the quiet bit, so kiln_ir::half does the NaN case itself.
#[test]
fn signalling_nans_widen_with_their_payload() {
    assert_eq!(F16(0x7c01).to_f32().to_bits(), 0x7f80_2000);
    assert_eq!(F16(0xfd55).to_f32().to_bits(), 0xffaa_a000);
    assert_eq!(BF16(0x7f81).to_f32().to_bits(), 0x7f81_0000);
    assert_eq!(half::f16::from_bits(0x7c01).to_f32().to_bits(), 0x7fc0_2000, "half quiets it");
    assert_eq!(half::bf16::from_bits(0x7f81).to_f32().to_bits(), 0x7fc1_0000, "half quiets it");
    // Infinities and subnormals are the crate's, exactly.
    assert_eq!(F16(0xfc00).to_f32(), f32::NEG_INFINITY);
    assert_eq!(F16(0x8001).to_f32(), -(2f32.powi(-24)));
}

/// Why f64 sources go through f32 rounded to odd instead of `half::f16::from_f64`: the crate
/// drops the low 32 bits of the f64 before rounding, so a value just above a tie rounds as the
/// tie. FIXME: when `half` rounds f64 once, use it and drop the round-to-odd step.
#[test]
fn f64_narrowing_rounds_once_where_the_half_crate_does_not() {
    let tie = 1.0 + 2f64.powi(-11); // halfway between f16 0x3c00 (1.0) and 0x3c01
    let above = tie + 2f64.powi(-40); // the excess lives in the low 32 bits of the f64
    assert_eq!(F16::from_f64(above).0, 0x3c01);
    assert_eq!(half::f16::from_f64(above).to_bits(), 0x3c00, "half rounds it as the tie");
    let bf_tie = 1.0 + 2f64.powi(-8);
    assert_eq!(BF16::from_f64(bf_tie + 2f64.powi(-40)).0, 0x3f81);
    assert_eq!(half::bf16::from_f64(bf_tie + 2f64.powi(-40)).to_bits(), 0x3f80, "half rounds it as the tie");
}
