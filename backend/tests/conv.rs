//! Conv kernels against the reference evaluator (and a plain loop) at odd sizes: channels 1, 3,
//! 5, 17; spatial 1, 3, 7, 17; groups and depthwise; strides, pads, dilations; 1-D; bias or not;
//! the 1x1 GEMM fast path; 3-D (the generic N-D kernel) at channels 1, 3, 5 and spatial 1, 3, 5.

mod common;

use common::{check_against_reference, random_tensor, rng};
use kiln_ir::{ConvAttrs, DType, Op, Tensor};
use rand::rngs::StdRng;

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-4;

/// One 2-D conv case: (n, c, h, w, m, k, stride, pad, dilation, group, bias).
type Case2d = (usize, usize, usize, usize, usize, usize, usize, usize, usize, usize, bool);

fn conv2d(r: &mut StdRng, case: Case2d) -> (Op, Vec<Tensor>) {
    let (n, c, h, w, m, k, s, p, dil, g, bias) = case;
    let op = Op::Conv(ConvAttrs {
        kernel: vec![k, k],
        strides: vec![s, s],
        dilations: vec![dil, dil],
        pads: vec![p, p, p, p],
        group: g,
    });
    let mut inputs = vec![random_tensor(r, DType::F32, &[n, c, h, w]), random_tensor(r, DType::F32, &[m, c / g, k, k])];
    if bias {
        inputs.push(random_tensor(r, DType::F32, &[m]));
    }
    (op, inputs)
}

fn cases() -> Vec<Case2d> {
    let mut v = vec![];
    for &c in &[1, 3, 5, 17] {
        for &hw in &[1, 3, 7, 17] {
            for &(k, s, p, dil) in &[(1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (3, 1, 2, 2), (5, 1, 0, 1), (1, 2, 0, 1)]
            {
                if hw + 2 * p < dil * (k - 1) + 1 {
                    continue;
                }
                v.push((1, c, hw, hw, 5, k, s, p, dil, 1, c % 2 == 1));
            }
        }
    }
    v.push((2, 6, 9, 11, 9, 3, 1, 1, 1, 3, true)); // grouped
    v.push((1, 17, 7, 17, 17, 3, 1, 1, 1, 17, true)); // depthwise
    v.push((2, 5, 17, 9, 10, 3, 2, 1, 1, 5, false)); // depthwise multiplier 2, strided
    v.push((1, 8, 13, 13, 16, 3, 1, 1, 1, 1, true)); // full 4-channel blocks
    v.push((1, 3, 33, 33, 8, 7, 2, 3, 1, 1, true)); // stem-like
    v.push((1, 17, 3, 400, 5, 3, 1, 1, 1, 1, true)); // row buffer fits, im2col row buffer does not
    v.push((1, 17, 3, 700, 5, 3, 1, 1, 1, 1, false)); // row buffer too big: the unbuffered path
    v.push((1, 4, 5, 30, 9, 3, 1, 1, 1, 1, true)); // full 8-column blocks plus a 6-column rest
    v
}

/// A direct 2-D conv loop in f64, independent of the evaluator.
fn plain_conv2d(x: &Tensor, w: &Tensor, bias: Option<&Tensor>, case: Case2d) -> Vec<f64> {
    let (n, c, h, wd, m, k, s, p, dil, g, _) = case;
    let (xv, wv) = (x.to_f64_vec(), w.to_f64_vec());
    let oh = (h + 2 * p - dil * (k - 1) - 1) / s + 1;
    let ow = (wd + 2 * p - dil * (k - 1) - 1) / s + 1;
    let (cg, mg) = (c / g, m / g);
    let mut out = vec![0.0; n * m * oh * ow];
    for ni in 0..n {
        for mi in 0..m {
            let gi = mi / mg;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = bias.map(|b| b.to_f64_vec()[mi]).unwrap_or(0.0);
                    for ci in 0..cg {
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (y * s + ky * dil) as i64 - p as i64;
                                let ix = (xo * s + kx * dil) as i64 - p as i64;
                                if iy < 0 || ix < 0 || iy >= h as i64 || ix >= wd as i64 {
                                    continue;
                                }
                                let xi = ((ni * c + gi * cg + ci) * h + iy as usize) * wd + ix as usize;
                                acc += xv[xi] * wv[((mi * cg + ci) * k + ky) * k + kx];
                            }
                        }
                    }
                    out[((ni * m + mi) * oh + y) * ow + xo] = acc;
                }
            }
        }
    }
    out
}

#[test]
fn conv2d_matches_a_plain_loop() {
    let mut r = rng(10);
    for case in cases() {
        let (op, inputs) = conv2d(&mut r, case);
        let want = plain_conv2d(&inputs[0], &inputs[1], inputs.get(2), case);
        let got = common::run_kernel(&op, &inputs).unwrap_or_else(|e| panic!("{case:?}: {e}"));
        let got = got[0].to_f64_vec();
        assert_eq!(got.len(), want.len(), "{case:?}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= ATOL + RTOL * w.abs(), "{case:?} element {i}: {g} vs {w}");
        }
    }
}

#[test]
fn conv2d_matches_the_reference() {
    let mut r = rng(11);
    for case in cases() {
        let (op, inputs) = conv2d(&mut r, case);
        check_against_reference(&op, &inputs, RTOL, ATOL);
    }
}

#[test]
fn conv1d_matches_the_reference() {
    let mut r = rng(12);
    for &(c, len, m, k, s, pads, dil, g) in &[
        (1, 1, 1, 1, 1, (0, 0), 1, 1),
        (3, 17, 5, 3, 1, (1, 1), 1, 1),
        (4, 33, 4, 5, 2, (2, 1), 2, 4),
        (6, 7, 3, 3, 1, (0, 2), 1, 3),
    ] {
        let op = Op::Conv(ConvAttrs {
            kernel: vec![k],
            strides: vec![s],
            dilations: vec![dil],
            pads: vec![pads.0, pads.1],
            group: g,
        });
        let x = random_tensor(&mut r, DType::F32, &[2, c, len]);
        let w = random_tensor(&mut r, DType::F32, &[m, c / g, k]);
        let b = random_tensor(&mut r, DType::F32, &[m]);
        check_against_reference(&op, &[x, w, b], RTOL, ATOL);
    }
}

#[test]
fn conv_rejects_non_f32_with_an_error() {
    let op = Op::Conv(ConvAttrs { kernel: vec![1], strides: vec![1], dilations: vec![1], pads: vec![0, 0], group: 1 });
    let x = Tensor::from_vec(vec![1, 1, 3], vec![1.0f64, 2.0, 3.0]);
    let w = Tensor::from_vec(vec![1, 1, 1], vec![1.0f64]);
    let err = common::run_kernel(&op, &[x, w]).unwrap_err();
    assert!(err.contains("f32"), "{err}");
}

/// Without FMA (baseline x86-64) the conv blocks use mul + add; same results within tolerance.
#[test]
fn conv2d_on_the_baseline_isa() {
    let mut r = rng(13);
    for case in [
        (1, 5, 7, 7, 9, 3, 1, 1, 1, 1, true),
        (1, 6, 9, 9, 6, 3, 2, 1, 1, 6, false),
        (1, 8, 5, 5, 4, 1, 1, 0, 1, 1, true),
    ] {
        let (op, inputs) = conv2d(&mut r, case);
        common::check_against_reference_on(common::IsaFlavor::Baseline, &op, &inputs, RTOL, ATOL);
    }
}

#[test]
fn zero_strides_are_errors_not_panics() {
    let op = Op::Conv(ConvAttrs { kernel: vec![1], strides: vec![0], dilations: vec![1], pads: vec![0, 0], group: 1 });
    let spec = kiln_backend::KernelSpec {
        node: "bad".into(),
        op,
        inputs: vec![
            kiln_ir::TensorType::new(DType::F32, vec![1, 1, 3]),
            kiln_ir::TensorType::new(DType::F32, vec![1, 1, 1]),
        ],
        outputs: vec![kiln_ir::TensorType::new(DType::F32, vec![1, 1, 3])],
    };
    let isa = kiln_backend::host_isa().unwrap();
    let mut module = cranelift_jit::JITModule::new(cranelift_jit::JITBuilder::with_isa(
        isa,
        cranelift_module::default_libcall_names(),
    ));
    let err =
        kiln_backend::define_kernel(&mut module, &spec, "k", cranelift_module::Linkage::Local).unwrap_err().to_string();
    assert!(err.contains("node bad (conv)") && err.contains("strides"), "{err}");
}

/// One 3-D conv case: (n, c, d, h, w, m, k, stride, pad, dilation, group, bias).
type Case3d = (usize, usize, usize, usize, usize, usize, usize, usize, usize, usize, usize, bool);

fn conv3d(r: &mut StdRng, case: Case3d) -> (Op, Vec<Tensor>) {
    let (n, c, dd, h, w, m, k, s, p, dil, g, bias) = case;
    let op = Op::Conv(ConvAttrs {
        kernel: vec![k; 3],
        strides: vec![s; 3],
        dilations: vec![dil; 3],
        pads: vec![p; 6],
        group: g,
    });
    let mut inputs =
        vec![random_tensor(r, DType::F32, &[n, c, dd, h, w]), random_tensor(r, DType::F32, &[m, c / g, k, k, k])];
    if bias {
        inputs.push(random_tensor(r, DType::F32, &[m]));
    }
    (op, inputs)
}

fn cases3d() -> Vec<Case3d> {
    let mut v = vec![];
    for &c in &[1, 3, 5] {
        for &sp in &[1, 3, 5] {
            for &(k, s, p, dil) in &[(1, 1, 0, 1), (3, 1, 1, 1), (3, 2, 1, 1), (2, 1, 2, 2), (3, 2, 0, 1)] {
                if sp + 2 * p < dil * (k - 1) + 1 {
                    continue;
                }
                v.push((1, c, sp, sp, sp, 5, k, s, p, dil, 1, c % 2 == 1));
            }
        }
    }
    v.push((2, 6, 3, 5, 4, 9, 3, 1, 1, 1, 3, true)); // grouped, 3 output channels per group
    v.push((1, 5, 5, 3, 5, 5, 3, 1, 1, 1, 5, false)); // depthwise
    v.push((2, 3, 5, 5, 3, 6, 3, 2, 1, 1, 3, true)); // depthwise multiplier 2, strided
    v.push((1, 4, 3, 5, 5, 8, 3, 1, 1, 1, 2, true)); // 4 output channels per group: f32x4 blocks
    v.push((1, 3, 5, 5, 5, 9, 3, 1, 2, 2, 1, false)); // 9 channels: two f32x4 blocks and a scalar one
    v
}

#[test]
fn conv3d_matches_the_reference() {
    let mut r = rng(14);
    for case in cases3d() {
        let (op, inputs) = conv3d(&mut r, case);
        check_against_reference(&op, &inputs, RTOL, ATOL);
    }
}

/// Asymmetric pads and per-axis strides/dilations, on the baseline ISA too (mul + add).
#[test]
fn conv3d_asymmetric_attributes_match_the_reference() {
    let mut r = rng(15);
    let op = Op::Conv(ConvAttrs {
        kernel: vec![2, 3, 1],
        strides: vec![1, 2, 3],
        dilations: vec![2, 1, 1],
        pads: vec![0, 1, 2, 1, 0, 0],
        group: 1,
    });
    let x = random_tensor(&mut r, DType::F32, &[1, 3, 5, 7, 17]);
    let w = random_tensor(&mut r, DType::F32, &[5, 3, 2, 3, 1]);
    let b = random_tensor(&mut r, DType::F32, &[5]);
    check_against_reference(&op, &[x.clone(), w.clone(), b.clone()], RTOL, ATOL);
    common::check_against_reference_on(common::IsaFlavor::Baseline, &op, &[x, w, b], RTOL, ATOL);
}

/// A padded tap must contribute 0, not `0 * x` of some clamped element: an `inf` in the input
/// must not turn border outputs that never read it into NaN.
#[test]
fn conv3d_padding_does_not_leak_non_finite_inputs() {
    let op = Op::Conv(ConvAttrs {
        kernel: vec![3; 3],
        strides: vec![1; 3],
        dilations: vec![1; 3],
        pads: vec![1; 6],
        group: 1,
    });
    let mut xv = vec![1.0f32; 27];
    xv[0] = f32::INFINITY;
    let x = Tensor::from_vec(vec![1, 1, 3, 3, 3], xv);
    let w = Tensor::from_vec(vec![1, 1, 3, 3, 3], vec![1.0f32; 27]);
    let got = common::run_kernel(&op, &[x, w]).unwrap_or_else(|e| panic!("{e}"));
    let got = got[0].to_f64_vec();
    // The last corner's window covers x[1..3]^3 only: 8 ones.
    assert_eq!(got[26], 8.0);
    assert!(got[0].is_infinite());
}

#[test]
fn conv3d_compiles_for_aarch64() {
    let mut r = rng(16);
    for case in [(1, 3, 5, 5, 5, 8, 3, 2, 1, 1, 1, true), (1, 5, 3, 3, 3, 5, 3, 1, 1, 1, 5, false)] {
        let (op, inputs) = conv3d(&mut r, case);
        let types: Vec<_> = inputs.iter().map(|t| t.ty()).collect();
        let size = common::compile_for_aarch64(&op, &types).unwrap_or_else(|e| panic!("{case:?}: {e}"));
        assert!(size > 0, "{case:?}");
    }
}

#[test]
fn conv3d_mismatched_kernel_shape_is_an_error() {
    let op = Op::Conv(ConvAttrs {
        kernel: vec![3, 3, 3],
        strides: vec![1; 3],
        dilations: vec![1; 3],
        pads: vec![0; 6],
        group: 1,
    });
    let spec = kiln_backend::KernelSpec {
        node: "bad3d".into(),
        op,
        inputs: vec![
            kiln_ir::TensorType::new(DType::F32, vec![1, 1, 5, 5, 5]),
            kiln_ir::TensorType::new(DType::F32, vec![1, 1, 2, 3, 3]),
        ],
        outputs: vec![kiln_ir::TensorType::new(DType::F32, vec![1, 1, 3, 3, 3])],
    };
    let isa = kiln_backend::host_isa().unwrap();
    let mut module = cranelift_jit::JITModule::new(cranelift_jit::JITBuilder::with_isa(
        isa,
        cranelift_module::default_libcall_names(),
    ));
    let err =
        kiln_backend::define_kernel(&mut module, &spec, "k", cranelift_module::Linkage::Local).unwrap_err().to_string();
    assert!(err.contains("node bad3d (conv)") && err.contains("axis 0"), "{err}");
}
