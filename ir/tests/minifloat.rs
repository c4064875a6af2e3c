//! The 8/4-bit float conversions of `kiln_ir::minifloat` against independent references:
//! decoding every code against the sign/exponent/mantissa formula evaluated with `powi`,
//! encoding against a brute-force search for the nearest code (ties to the even code), and the
//! values the ONNX reference (ml_dtypes) gives at the boundaries; plus the sub-byte packing.

use kiln_ir::minifloat::{self as mf, E8M0Round, Format, Specials};
use kiln_ir::narrow::{pack, unpack};
use kiln_ir::{DType, Tensor};

const FORMATS: [(Format, u32); 5] =
    [(mf::E4M3FN, 256), (mf::E4M3FNUZ, 256), (mf::E5M2, 256), (mf::E5M2FNUZ, 256), (mf::E2M1, 16)];

/// The value of a code from its fields, by the textbook formula (NaN and inf per format).
fn formula(f: Format, code: u32) -> f32 {
    let sign = if code & f.sign_bit() != 0 { -1.0 } else { 1.0 };
    let mag = code & (f.sign_bit() - 1);
    let (exp, man) = ((mag >> f.man_bits) as i32, (mag & ((1 << f.man_bits) - 1)) as f64);
    let top = exp == (1 << f.exp_bits) - 1;
    match f.specials {
        Specials::Ieee if top => return if man == 0.0 { sign as f32 * f32::INFINITY } else { f32::NAN },
        Specials::FiniteNanAllOnes if mag == f.sign_bit() - 1 => return f32::NAN,
        Specials::Fnuz if code == f.sign_bit() => return f32::NAN,
        _ => {}
    }
    let scale = 2f64.powi(1 - f.bias - f.man_bits as i32);
    let v = if exp == 0 {
        man * scale
    } else {
        (man + (1 << f.man_bits) as f64) * 2f64.powi(exp - f.bias - f.man_bits as i32)
    };
    (sign * v) as f32
}

#[test]
fn every_code_decodes_to_its_formula_value() {
    for (f, n) in FORMATS {
        for code in 0..n {
            let (got, want) = (mf::decode(f, code as u8), formula(f, code));
            assert!(
                got.is_nan() && want.is_nan() || got.to_bits() == want.to_bits(),
                "{f:?} {code:#x}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn every_code_round_trips_and_nans_become_the_format_nan() {
    for (f, n) in FORMATS {
        for code in 0..n {
            let x = mf::decode(f, code as u8);
            let back = u32::from(mf::encode(f, x, false)); // saturation would turn E5M2's inf to max
            if x.is_nan() {
                assert!(mf::decode(f, back as u8).is_nan(), "{f:?} {code:#x}");
            } else {
                assert_eq!(back, code, "{f:?} {code:#x} = {x}");
            }
        }
    }
}

/// The nearest finite code by exhaustive search (ties to the even code), as saturating Cast
/// rounds; `x` finite or infinite, not NaN.
fn nearest(f: Format, n: u32, x: f32) -> u32 {
    let finite: Vec<u32> = (0..n).filter(|&c| mf::decode(f, c as u8).is_finite()).collect();
    let dist = |c: u32| {
        let d = (f64::from(mf::decode(f, c as u8)) - f64::from(x)).abs();
        if d.is_nan() {
            f64::INFINITY
        } else {
            d
        }
    };
    // FNUZ has no -0: its zero serves both signs.
    let sign_ok = |c: u32| (c & f.sign_bit() != 0) == x.is_sign_negative() || f.specials == Specials::Fnuz && c == 0;
    let huge = x.abs() > 1e9; // far beyond every format: the largest finite code (f64 distances all tie)
    let best = finite.iter().copied().filter(|&c| sign_ok(c)).map(dist).fold(f64::INFINITY, f64::min);
    let is_max = |c: u32| (c & (f.sign_bit() - 1)) == f.max_code();
    let mut ties: Vec<u32> =
        finite.into_iter().filter(|&c| sign_ok(c) && if huge { is_max(c) } else { dist(c) == best }).collect();
    ties.sort_by_key(|&c| (c & 1, c));
    ties[0]
}

/// f32 values at and around every code and every midpoint between neighbours.
fn probes(f: Format, n: u32) -> Vec<f32> {
    let mut v = vec![0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30, f32::from_bits(1), 1e-30];
    for code in 0..n {
        let a = mf::decode(f, code as u8);
        let b = mf::decode(f, (code + 1).min(n - 1) as u8);
        if !a.is_finite() || !b.is_finite() {
            continue;
        }
        let mid = ((f64::from(a) + f64::from(b)) / 2.0) as f32;
        for x in [a, mid, f32::from_bits(mid.to_bits() + 1), f32::from_bits(mid.to_bits().saturating_sub(1)), a * 1.5] {
            v.extend([x, -x]);
        }
    }
    v
}

#[test]
fn encoding_rounds_to_the_nearest_even_code_and_saturates() {
    for (f, n) in FORMATS {
        for x in probes(f, n) {
            let got = u32::from(mf::encode(f, x, true));
            let want = nearest(f, n, x);
            let same = got == want
                || mf::decode(f, got as u8) == 0.0
                    && mf::decode(f, want as u8) == 0.0
                    && f.specials == Specials::Finite;
            assert!(same, "{f:?} {x:e} ({:#x}): got {got:#x}, nearest {want:#x}", x.to_bits());
        }
    }
}

#[test]
fn boundaries_match_the_onnx_reference() {
    // (format, input, saturate, expected code), expected codes from ml_dtypes / onnx.numpy_helper.
    let cases: &[(Format, f32, bool, u8)] = &[
        (mf::E4M3FN, 448.0, true, 0x7e),
        (mf::E4M3FN, 464.0, false, 0x7e), // tie rounds to even 448
        (mf::E4M3FN, 464.1, false, 0x7f), // overflow without saturation: NaN
        (mf::E4M3FN, f32::INFINITY, true, 0x7e),
        (mf::E4M3FN, f32::NEG_INFINITY, false, 0xff),
        (mf::E4M3FN, f32::NAN, true, 0x7f),
        (mf::E4M3FN, -f32::NAN, true, 0xff),
        (mf::E4M3FN, 2f32.powi(-9), true, 0x01),  // smallest subnormal
        (mf::E4M3FN, 2f32.powi(-10), true, 0x00), // half of it: tie to even 0
        (mf::E4M3FN, -0.0, true, 0x80),
        (mf::E4M3FN, 2.5, true, 0x42),
        (mf::E4M3FNUZ, -0.0, true, 0x00),
        (mf::E4M3FNUZ, f32::NAN, true, 0x80),
        (mf::E4M3FNUZ, 1e6, false, 0x80),
        (mf::E4M3FNUZ, -1e6, true, 0xff),
        (mf::E5M2, 57344.0, true, 0x7b),
        (mf::E5M2, 61440.0, false, 0x7c), // tie to even overflows to inf
        (mf::E5M2, 61439.0, false, 0x7b),
        (mf::E5M2, 61440.0, true, 0x7b),
        (mf::E5M2, 57344.0, true, 0x7b),
        (mf::E5M2, f32::INFINITY, false, 0x7c),
        (mf::E5M2, f32::NEG_INFINITY, false, 0xfc),
        (mf::E5M2, f32::NAN, true, 0x7e),
        (mf::E5M2, 2f32.powi(-16), true, 0x01),
        (mf::E5M2FNUZ, f32::INFINITY, false, 0x80),
        (mf::E5M2FNUZ, -100.6, true, 0xda),
        (mf::E2M1, f32::INFINITY, false, 0x7),
        (mf::E2M1, -1e6, true, 0xf),
        (mf::E2M1, f32::NAN, true, 0x8),
        (mf::E2M1, -f32::NAN, true, 0x0),
        (mf::E2M1, 0.25, true, 0x0), // tie between 0 and 0.5: even
        (mf::E2M1, 0.75, true, 0x2), // tie between 0.5 and 1: even (1)
        (mf::E2M1, 5.0, true, 0x6),  // tie between 4 and 6: even (4)
    ];
    for &(f, x, sat, want) in cases {
        assert_eq!(mf::encode(f, x, sat), want, "{f:?} {x} saturate={sat}");
    }
}

#[test]
fn e8m0_follows_to_float8e8m0() {
    for code in 0..=254u8 {
        let x = mf::e8m0_decode(code);
        assert_eq!(f64::from(x), 2f64.powi(i32::from(code) - 127), "{code}");
        for round in [E8M0Round::Up, E8M0Round::Down, E8M0Round::Nearest] {
            // 2^-127 is an f32 subnormal (exponent field 0, a mantissa bit set): "up" gives 1,
            // as the reference's to_float8e8m0 does.
            let want = if code == 0 && round == E8M0Round::Up { 1 } else { code };
            assert_eq!(mf::e8m0_encode(x, true, round), want, "{code} {round:?}");
        }
    }
    assert!(mf::e8m0_decode(0xff).is_nan());
    let up = |x: f32, sat| mf::e8m0_encode(x, sat, E8M0Round::Up);
    // The suite's test_cast_e8m0 values: 0 -> 0 (2^-127), 0.124 -> 0.125, 1.1 -> 2.
    assert_eq!([up(0.0, true), up(0.124, true), up(1.1, true), up(-1.1, true)], [0, 124, 128, 128]);
    assert_eq!(
        [up(f32::MAX, true), up(f32::MAX, false), up(f32::INFINITY, true), up(f32::NAN, true)],
        [254, 255, 255, 255]
    );
    let near = |x: f32| mf::e8m0_encode(x, true, E8M0Round::Nearest);
    let down = |x: f32| mf::e8m0_encode(x, true, E8M0Round::Down);
    assert_eq!([near(1.49), near(1.5), near(1.75), down(1.99)], [127, 128, 128, 127]);
}

#[test]
fn sub_byte_integers_wrap_like_ml_dtypes() {
    let wrap = |v: i128, bits, signed| mf::wrap_int(v, bits, signed);
    assert_eq!([wrap(-9, 4, true), wrap(8, 4, true), wrap(-100, 4, true), wrap(1_000_000, 4, true)], [7, -8, -4, 0]);
    assert_eq!([wrap(-2, 4, false), wrap(15, 4, false), wrap(3, 2, true), wrap(-3, 2, false)], [14, 15, -1, 1]);
    // Through the evaluator's Cast: floats truncate toward zero first, NaN gives 0.
    let x = Tensor::from_vec([6], vec![-9.0f32, 2.5, -2.5, 15.5, f32::NAN, -100.6]);
    let y = x.cast(DType::I4).unwrap();
    assert_eq!(y.to_i64_vec(), vec![7, 2, -2, -1, 0, -4]);
    assert_eq!(x.cast(DType::U2).unwrap().to_i64_vec(), vec![3, 2, 2, 3, 0, 0]);
}

#[test]
fn packing_is_low_bits_first_and_round_trips_at_odd_sizes() {
    // The bytes of the suite's test_cast_FLOAT_to_FLOAT4E2M1 output.
    let codes = [1u8, 0, 2, 0xe, 0xf, 7, 7, 0, 8, 7, 7, 0xf, 0xe, 0, 8];
    assert_eq!(pack(&codes, 4), vec![0x01, 0xe2, 0x7f, 0x07, 0x78, 0xf7, 0x0e, 0x08]);
    assert_eq!(unpack(&pack(&codes, 4), 15, 4, false).unwrap(), codes);
    for n in [1usize, 3, 5, 17] {
        let vals: Vec<u8> = (0..n).map(|i| [0xfe, 1, 0xff, 0][i % 4]).collect(); // -2, 1, -1, 0
        let packed = pack(&vals, 2);
        assert_eq!(packed.len(), n.div_ceil(4));
        assert_eq!(unpack(&packed, n, 2, true).unwrap(), vals);
        assert!(unpack(&packed, n + 4, 2, true).is_none());
    }
}
