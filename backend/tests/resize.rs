//! Resize kernels against the reference evaluator: every interpolation mode x coordinate
//! transformation mode x nearest mode, on small odd shapes (upscale, downscale, mixed, size-1
//! outputs, resized inner or outer axes), tf_crop_and_resize with extrapolation, exclude_outside,
//! every dtype for nearest, the f32-only error for linear/cubic, axes too long for tables (in-loop
//! sampling), the baseline x86 ISA, and aarch64 compiles.

mod common;

use common::*;
use kiln_ir::{CoordMode, DType, NearestMode, Op, ResizeAttrs, ResizeMode, TensorType};

const NEAREST: [NearestMode; 4] =
    [NearestMode::RoundPreferFloor, NearestMode::RoundPreferCeil, NearestMode::Floor, NearestMode::Ceil];

/// Every interpolation mode: the four nearest modes, linear, cubic.
fn modes() -> Vec<ResizeMode> {
    let mut m: Vec<ResizeMode> = NEAREST.iter().map(|&n| ResizeMode::Nearest(n)).collect();
    m.extend([ResizeMode::Linear, ResizeMode::Cubic]);
    m
}

/// (input shape, output shape, explicit scales as ONNX gives them (f32), or `None` for sizes,
/// whose scales are output/input in f64 as the frontend stores them).
type Case = (Vec<usize>, Vec<usize>, Option<Vec<f32>>);

fn cases() -> Vec<Case> {
    vec![
        (vec![1, 1, 3, 5], vec![1, 1, 7, 4], None),
        (vec![1, 1, 5, 7], vec![1, 1, 3, 2], None),
        (vec![1, 3, 5, 5], vec![1, 3, 10, 10], Some(vec![1.0, 1.0, 2.0, 2.0])),
        (vec![1, 2, 5, 5], vec![1, 2, 3, 8], Some(vec![1.0, 1.0, 0.6, 1.7])),
        (vec![1, 1, 3, 5], vec![1, 1, 1, 1], None),
        // NHWC-like: innermost axis not resized (f32x4 body + scalar tail).
        (vec![1, 5, 3, 6], vec![1, 9, 2, 6], None),
        (vec![2, 3, 17], vec![2, 5, 17], None),
        (vec![33], vec![17], None),
    ]
}

/// Attributes for `mode`/`coord` resizing `input` to `output`. The roi (tf_crop_and_resize only)
/// crops part of the input and reaches past it, so extrapolation is exercised.
fn attrs(
    mode: ResizeMode,
    coord: CoordMode,
    input: &[usize],
    output: &[usize],
    scales: &Option<Vec<f32>>,
) -> ResizeAttrs {
    let r = input.len();
    let scales: Vec<f64> = match scales {
        Some(given) => given.iter().map(|&s| f64::from(s)).collect(),
        None => input.iter().zip(output).map(|(&i, &o)| o as f64 / i as f64).collect(),
    };
    let roi = if coord == CoordMode::TfCropAndResize {
        let starts = (0..r).map(|k| if input[k] == output[k] { 0.0 } else { -0.2 + 0.1 * k as f32 });
        let ends = (0..r).map(|k| if input[k] == output[k] { 1.0 } else { 1.25 - 0.15 * k as f32 });
        starts.chain(ends).collect()
    } else {
        vec![]
    };
    ResizeAttrs {
        mode,
        coord,
        scales: scales.into_iter().map(kiln_ir::Ieee64::new).collect(),
        sizes: output.to_vec(),
        roi: roi.into_iter().map(kiln_ir::Ieee32::new).collect(),
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 7.5.into(),
    }
}

fn check(a: ResizeAttrs, input: &[usize], seed: u64) {
    let x = random_f32(&mut rng(seed), input, -4.0, 4.0);
    check_against_reference(&Op::Resize(a), &[x], 1e-4, 1e-5);
}

#[test]
fn every_mode_coord_and_shape_f32() {
    for (n, (input, output, scales)) in cases().into_iter().enumerate() {
        for mode in modes() {
            for coord in CoordMode::ALL {
                check(attrs(mode, coord, &input, &output, &scales), &input, n as u64);
            }
        }
    }
}

#[test]
fn cubic_coefficient_and_exclude_outside() {
    for (n, (input, output, scales)) in cases().into_iter().enumerate() {
        for coord in CoordMode::ALL {
            for (a, exclude) in [(-0.5, false), (-0.5, true), (-0.75, true)] {
                let mut at = attrs(ResizeMode::Cubic, coord, &input, &output, &scales);
                at.cubic_coeff_a = a.into();
                at.exclude_outside = exclude;
                check(at, &input, 100 + n as u64);
            }
        }
    }
}

#[test]
fn exclude_outside_linear_and_nearest() {
    for (n, (input, output, scales)) in cases().into_iter().enumerate() {
        for mode in modes() {
            for coord in CoordMode::ALL {
                let mut at = attrs(mode, coord, &input, &output, &scales);
                at.exclude_outside = true;
                check(at, &input, 200 + n as u64);
            }
        }
    }
}

#[test]
fn nearest_copies_every_dtype_with_extrapolation() {
    for d in DType::ALL {
        for (n, (input, output, scales)) in cases().into_iter().enumerate() {
            for nm in NEAREST {
                for coord in [CoordMode::Asymmetric, CoordMode::TfCropAndResize, CoordMode::AlignCorners] {
                    let x = random_tensor(&mut rng(300 + n as u64), d, &input);
                    let op = Op::Resize(attrs(ResizeMode::Nearest(nm), coord, &input, &output, &scales));
                    check_against_reference(&op, &[x], 0.0, 0.0);
                }
            }
        }
    }
}

#[test]
fn rank_zero_and_unchanged_axes() {
    let x = random_f32(&mut rng(7), &[], -4.0, 4.0);
    for mode in modes() {
        let a = ResizeAttrs {
            mode,
            coord: CoordMode::HalfPixel,
            scales: vec![],
            sizes: vec![],
            roi: vec![],
            cubic_coeff_a: (-0.75).into(),
            exclude_outside: false,
            extrapolation_value: 0.0.into(),
        };
        check_against_reference(&Op::Resize(a), std::slice::from_ref(&x), 1e-4, 1e-5);
    }
    for mode in modes() {
        check(attrs(mode, CoordMode::HalfPixel, &[2, 3, 5], &[2, 3, 5], &None), &[2, 3, 5], 8);
    }
}

#[test]
fn linear_and_cubic_reject_non_f32() {
    for mode in [ResizeMode::Linear, ResizeMode::Cubic] {
        let x = random_tensor(&mut rng(9), DType::I32, &[1, 1, 3, 5]);
        let op = Op::Resize(attrs(mode, CoordMode::HalfPixel, &[1, 1, 3, 5], &[1, 1, 7, 4], &None));
        let err = run_kernel(&op, &[x]).expect_err("linear/cubic on i32 must be rejected");
        assert!(err.contains("only f32"), "unexpected error: {err}");
    }
}

/// Shapes whose tables exceed the stack budget, so the largest axes compute their sampling in
/// the loop (`resize/computed.rs`) while smaller ones keep tables.
fn big_cases() -> Vec<Case> {
    vec![
        (vec![1, 1, 3, 5], vec![1, 1, 2, 4500], None),
        (vec![1, 2, 9000], vec![1, 3, 4100], None),
        (vec![4500, 3], vec![4100, 2], None),
        (vec![2, 4099], vec![3, 8198], Some(vec![1.5, 2.0])),
    ]
}

#[test]
fn huge_axes_compute_sampling_in_the_loop() {
    for (n, (input, output, scales)) in big_cases().into_iter().enumerate() {
        for mode in modes() {
            for coord in CoordMode::ALL {
                for exclude in [false, true] {
                    let mut at = attrs(mode, coord, &input, &output, &scales);
                    at.exclude_outside = exclude;
                    at.cubic_coeff_a = if exclude { (-0.5).into() } else { (-0.75).into() };
                    check(at, &input, 400 + n as u64);
                }
            }
        }
    }
}

#[test]
fn huge_axes_nearest_every_dtype() {
    for d in [DType::U8, DType::I16, DType::I64, DType::Bool] {
        for (n, (input, output, scales)) in big_cases().into_iter().enumerate() {
            for coord in [CoordMode::Asymmetric, CoordMode::TfCropAndResize] {
                let x = random_tensor(&mut rng(500 + n as u64), d, &input);
                let op = Op::Resize(attrs(
                    ResizeMode::Nearest(NearestMode::RoundPreferFloor),
                    coord,
                    &input,
                    &output,
                    &scales,
                ));
                check_against_reference(&op, &[x], 0.0, 0.0);
            }
        }
    }
}

#[test]
fn baseline_x86_without_fma_or_sse41() {
    for (n, (input, output, scales)) in cases().into_iter().chain(big_cases()).enumerate() {
        for mode in modes() {
            let at = attrs(mode, CoordMode::TfCropAndResize, &input, &output, &scales);
            let x = random_f32(&mut rng(600 + n as u64), &input, -4.0, 4.0);
            check_against_reference_on(IsaFlavor::Baseline, &Op::Resize(at), &[x], 1e-4, 1e-5);
        }
    }
}

#[test]
fn compiles_for_aarch64() {
    for mode in modes() {
        for coord in [CoordMode::HalfPixel, CoordMode::TfCropAndResize] {
            for (input, output) in
                [([1, 3, 5, 5], [1, 3, 10, 10]), ([1, 5, 3, 6], [1, 9, 2, 6]), ([1, 1, 3, 5], [1, 1, 2, 4500])]
            {
                let op = Op::Resize(attrs(mode, coord, &input, &output, &None));
                let size = compile_for_aarch64(&op, &[TensorType::new(DType::F32, input.to_vec())])
                    .unwrap_or_else(|e| panic!("{mode:?} {coord:?}: {e}"));
                assert!(size > 0);
            }
        }
    }
}
