//! `Mod` on float edge cases against numpy's `npy_divmod` (what the ONNX reference runs):
//! infinite divisors (`x fmod inf = x`, `-3 mod inf = inf`), signed zeros (the dividend's sign for
//! `fmod=1`, the divisor's for `fmod=0`), and NaN for infinite dividends, zero divisors and NaN
//! operands, bit for bit (NaN as any NaN), f32 and f64, over an odd-sized grid of operands.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, Tensor};

/// C's `fmod` (Rust's float `%`) and numpy's `mod`.
fn reference(a: f64, b: f64, fmod: bool) -> f64 {
    let m = a % b;
    if fmod || b == 0.0 || m.is_nan() {
        return m;
    }
    if m == 0.0 {
        return 0.0f64.copysign(b);
    }
    if (b < 0.0) != (m < 0.0) {
        m + b
    } else {
        m
    }
}

fn operands() -> (Vec<f64>, Vec<f64>) {
    let mut a_vals: Vec<f64> = (0..11).map(|i| -7.5 + 1.5 * i as f64).collect();
    a_vals.extend([0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1e-30]);
    let b_vals = [0.0, -0.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
    a_vals.iter().flat_map(|&a| b_vals.iter().map(move |&b| (a, b))).unzip()
}

fn same(got: f64, want: f64) -> bool {
    (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
}

fn run(elem: i32, a: Tensor, b: Tensor, fmod: i64) -> Vec<f64> {
    let dims = vec![Dim::Fixed(a.shape()[0])];
    let g = ModelBuilder::new(13)
        .input_typed("a", elem, dims.clone())
        .input_typed("b", elem, dims)
        .node_attrs("Mod", &["a", "b"], &["y"], vec![a_int("fmod", fmod)])
        .output("y")
        .graph();
    eval_graph(&verified(g), &[a, b]).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
}

#[test]
fn float_edge_cases_follow_numpy_in_both_conventions() {
    let (a, b) = operands();
    assert_eq!(a.len() % 2, 1, "odd-sized operands");
    for fmod in [0, 1] {
        let f64_got =
            run(11, Tensor::from_vec(vec![a.len()], a.clone()), Tensor::from_vec(vec![b.len()], b.clone()), fmod);
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        let f32_got = run(
            FLOAT,
            Tensor::from_vec(vec![a.len()], a32.clone()),
            Tensor::from_vec(vec![b.len()], b32.clone()),
            fmod,
        );
        for i in 0..a.len() {
            let want = reference(a[i], b[i], fmod == 1);
            assert!(same(f64_got[i], want), "f64 {} mod {} (fmod={fmod}): got {}, want {want}", a[i], b[i], f64_got[i]);
            let want32 = reference(a32[i] as f64, b32[i] as f64, fmod == 1) as f32 as f64;
            assert!(
                same(f32_got[i], want32),
                "f32 {} mod {} (fmod={fmod}): got {}, want {want32}",
                a32[i],
                b32[i],
                f32_got[i]
            );
        }
    }
}

#[test]
fn the_onnx_edge_case_vector() {
    let a = [0.0, -0.0, 0.0, -0.0, -3.0, 3.0, -1.0, 1.0, f64::INFINITY, f64::NEG_INFINITY, 1.0, 1.0, f64::NAN, 1.0];
    let b = [
        -2.0,
        2.0,
        2.0,
        -2.0,
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
        2.0,
        2.0,
        0.0,
        -0.0,
        2.0,
        f64::NAN,
    ];
    let got = run(11, Tensor::from_vec(vec![14], a.to_vec()), Tensor::from_vec(vec![14], b.to_vec()), 0);
    let want = [
        -0.0,
        0.0,
        0.0,
        -0.0,
        f64::INFINITY,
        3.0,
        -1.0,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        f64::NAN,
    ];
    for i in 0..14 {
        assert!(same(got[i], want[i]), "{} mod {}: got {}, want {}", a[i], b[i], got[i], want[i]);
    }
}
