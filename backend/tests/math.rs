//! Accuracy of `kiln_backend::math` against Rust's f64 functions over dense sweeps, in both the
//! `f32x4` and the scalar `f32` form (which must agree bit for bit), on the host ISA and on
//! baseline x86-64 (no SSE4.1: the libcall-free rounding fallbacks). The bounds asserted here
//! are the ones documented in `backend/src/math.rs`.

mod common;

use common::{define_ptr_function, host_isa, IsaFlavor};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::default_libcall_names;
use kiln_backend::loops::for_count;
use kiln_backend::math;

type MathFn = fn(&mut FunctionBuilder, Value) -> Value;

/// Compiles `y[i] = f(x[i])` over `n` elements, 4 lanes at a time when `lanes == 4` (`n` must
/// then be a multiple of 4), one at a time otherwise; runs it on `xs`.
fn apply(flavor: IsaFlavor, f: MathFn, xs: &[f32], lanes: usize) -> Vec<f32> {
    let isa = host_isa(flavor).expect("host isa");
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let ty = if lanes == 4 { types::F32X4 } else { types::F32 };
    let id = define_ptr_function(&mut module, "f", 2, |b, _, params| {
        let (src, dst) = (params[0], params[1]);
        for_count(b, 0, xs.len() as i64, lanes as i64, |b, i| {
            let off = b.ins().imul_imm_s(i, 4);
            let s = b.ins().iadd(src, off);
            let d = b.ins().iadd(dst, off);
            let x = b.ins().load(ty, MemFlagsData::new().with_notrap(), s, 0);
            let y = f(b, x);
            b.ins().store(MemFlagsData::new().with_notrap(), y, d, 0);
        });
    })
    .expect("define");
    module.finalize_definitions().expect("finalize");
    let code = module.get_finalized_function(id);
    let mut ys = vec![0f32; xs.len()];
    // SAFETY: the function reads xs.len() f32 from its first and writes as many to its second
    // argument.
    unsafe {
        let func: extern "C" fn(*const f32, *mut f32) = std::mem::transmute(code);
        func(xs.as_ptr(), ys.as_mut_ptr());
    }
    ys
}

/// `n` points evenly spaced on `[lo, hi]`, `n` a multiple of 4.
fn sweep(lo: f64, hi: f64, n: usize) -> Vec<f32> {
    (0..n).map(|i| (lo + (hi - lo) * i as f64 / (n - 1) as f64) as f32).collect()
}

/// Largest relative error (absolute where `|reference| < floor`) of `f` against `reference`
/// on `xs`, in both the vector and the scalar form; asserts they agree bit for bit.
fn max_error(flavor: IsaFlavor, f: MathFn, reference: fn(f64) -> f64, xs: &[f32], floor: f64) -> f64 {
    let vec = apply(flavor, f, xs, 4);
    let scalar = apply(flavor, f, xs, 1);
    let mut worst = 0.0f64;
    for ((&x, &v), &s) in xs.iter().zip(&vec).zip(&scalar) {
        assert!(v.to_bits() == s.to_bits() || (v.is_nan() && s.is_nan()), "x={x}: vector {v} vs scalar {s}");
        let want = reference(x as f64);
        let err = (v as f64 - want).abs() / want.abs().max(floor);
        assert!(!err.is_nan(), "x={x}: got {v}, want {want}");
        worst = worst.max(err);
    }
    worst
}

fn check(name: &str, f: MathFn, reference: fn(f64) -> f64, lo: f64, hi: f64, floor: f64, bound: f64) {
    for flavor in [IsaFlavor::Host, IsaFlavor::Baseline] {
        let err = max_error(flavor, f, reference, &sweep(lo, hi, 200_000), floor);
        assert!(err <= bound, "{name} on [{lo}, {hi}] ({flavor:?}): max error {err:e} > {bound:e}");
    }
}

fn erf_ref(x: f64) -> f64 {
    // Abramowitz-Stegun 7.1.26 is too coarse; use the series / continued fraction in f64.
    if x.abs() < 2.5 {
        let mut sum = 0.0f64;
        let mut term = x;
        let mut k = 0.0;
        while term.abs() > 1e-18 * sum.abs().max(1e-300) || k < 3.0 {
            sum += term / (2.0 * k + 1.0);
            k += 1.0;
            term *= -x * x / k;
            if k > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        x.signum() * (1.0 - erfc_cf(x.abs()))
    }
}

/// erfc by Lentz's continued fraction, for x >= 2.5.
fn erfc_cf(x: f64) -> f64 {
    let mut f = 0.0;
    for k in (1..200).rev() {
        f = (k as f64 / 2.0) / (x + f);
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / (x + f)
}

#[test]
fn erf_reference_is_sane() {
    assert!((erf_ref(0.5) - 0.520_499_877_813_046_5).abs() < 1e-15);
    assert!((erf_ref(3.0) - 0.999_977_909_503_001_4).abs() < 1e-15);
}

#[test]
fn exp_relative_error_below_3e7() {
    check("exp", math::exp, f64::exp, -87.0, 88.0, 1e-30, 3e-7);
    check("exp near 0", math::exp, f64::exp, -1.0, 1.0, 1e-30, 3e-7);
}

#[test]
fn exp_edges() {
    let xs = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 89.0, -104.5, -100.0, 0.0, -0.0];
    let ys = apply(IsaFlavor::Host, math::exp, &xs, 4);
    let ys2 = apply(IsaFlavor::Host, math::exp, &xs[4..], 4);
    assert!(ys[0].is_nan());
    assert_eq!(&ys[1..4], &[f32::INFINITY, 0.0, f32::INFINITY]);
    assert_eq!(ys2[0], 0.0);
    let sub = (-100.0f64).exp();
    assert!((ys2[1] as f64 - sub).abs() <= 1.5e-45, "exp(-100) subnormal: {}", ys2[1]);
    assert_eq!(&ys2[2..], &[1.0, 1.0]);
}

#[test]
fn log_error_below_2e7() {
    check("log", math::log, f64::ln, 1e-3, 1e4, 1.0, 2e-7);
    check("log near 1", math::log, f64::ln, 0.5, 2.0, 1.0, 2e-7);
    check("log tiny", math::log, f64::ln, 1e-38, 1e-36, 1.0, 2e-7);
}

#[test]
fn log_edges() {
    let xs = [0.0, -1.0, f32::INFINITY, f32::NAN, 1e-45, 1.0, -0.0, f32::MAX];
    let ys = apply(IsaFlavor::Baseline, math::log, &xs, 4);
    assert_eq!(ys[0], f32::NEG_INFINITY);
    assert!(ys[1].is_nan() && ys[3].is_nan());
    assert_eq!(ys[2], f32::INFINITY);
    assert!((ys[4] as f64 - (1e-45f32 as f64).ln()).abs() < 1e-5, "log(subnormal) = {}", ys[4]);
    assert_eq!(ys[5], 0.0);
    assert_eq!(ys[6], f32::NEG_INFINITY);
    assert!((ys[7] as f64 - (f32::MAX as f64).ln()).abs() < 1e-4);
}

#[test]
fn erf_absolute_error_below_5e7() {
    check("erf", math::erf, erf_ref, -6.0, 6.0, 1.0, 5e-7);
    // Relative near zero (odd rational: exact in the limit).
    check("erf near 0", math::erf, erf_ref, -1e-3, 1e-3, 1e-30, 3e-7);
}

#[test]
fn tanh_relative_error_below_4e7() {
    check("tanh", math::tanh, f64::tanh, -12.0, 12.0, 1e-30, 4e-7);
    check("tanh near 0", math::tanh, f64::tanh, -1e-3, 1e-3, 1e-30, 4e-7);
}

#[test]
fn sigmoid_relative_error_below_4e7() {
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    check("sigmoid", math::sigmoid, sigmoid, -80.0, 80.0, 1e-30, 4e-7);
}

#[test]
fn saturating_activations_at_infinities() {
    let xs = [f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30];
    assert_eq!(apply(IsaFlavor::Host, math::tanh, &xs, 4), [1.0, -1.0, 1.0, -1.0]);
    assert_eq!(apply(IsaFlavor::Host, math::sigmoid, &xs, 4), [1.0, 0.0, 1.0, 0.0]);
    assert_eq!(apply(IsaFlavor::Host, math::erf, &xs, 4), [1.0, -1.0, 1.0, -1.0]);
}

#[test]
fn sin_cos_absolute_error_below_3e7() {
    check("sin", math::sin, f64::sin, -100.0, 100.0, 1.0, 3e-7);
    check("cos", math::cos, f64::cos, -100.0, 100.0, 1.0, 3e-7);
    check("sin far", math::sin, f64::sin, 1000.0, 8192.0, 1.0, 1e-6);
    check("cos far", math::cos, f64::cos, -8192.0, -1000.0, 1.0, 1e-6);
}

#[test]
fn sin_cos_of_infinity_and_nan_are_nan() {
    let xs = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 0.0];
    let s = apply(IsaFlavor::Host, math::sin, &xs, 4);
    let c = apply(IsaFlavor::Host, math::cos, &xs, 4);
    assert!(s[..3].iter().chain(&c[..3]).all(|v| v.is_nan()), "{s:?} {c:?}");
    assert_eq!((s[3], c[3]), (0.0, 1.0));
}

fn floor_soft(b: &mut FunctionBuilder, x: Value) -> Value {
    math::floor(b, x, false)
}
fn ceil_soft(b: &mut FunctionBuilder, x: Value) -> Value {
    math::ceil(b, x, false)
}
fn round_soft(b: &mut FunctionBuilder, x: Value) -> Value {
    math::round_even(b, x, false)
}

#[test]
fn soft_rounding_is_exact() {
    let mut xs = sweep(-20.0, 20.0, 40_000);
    xs.extend([0.5, -0.5, 1.5, 2.5, -2.5, 8388607.5, -8388607.5, 16777216.0]);
    xs.extend([f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.49999997]);
    let cases: [(MathFn, fn(f32) -> f32); 3] =
        [(floor_soft, f32::floor), (ceil_soft, f32::ceil), (round_soft, f32::round_ties_even)];
    for (f, want) in cases {
        for flavor in [IsaFlavor::Host, IsaFlavor::Baseline] {
            let ys = apply(flavor, f, &xs, 4);
            for (&x, &y) in xs.iter().zip(&ys) {
                assert_eq!(y, want(x), "x = {x}");
            }
        }
    }
    let nan = apply(IsaFlavor::Baseline, floor_soft, &[f32::NAN; 4], 4);
    assert!(nan.iter().all(|v| v.is_nan()));
}
