//! Reference evaluator, Resize, against values from the ONNX reference evaluator (onnx 1.23.2) and
//! onnxruntime 1.23.2 (each test says which; where both are named they agree within 1e-5).
//! Inputs are `data(shape, seed)`: element `i` is `((i*37 + seed*11) % 23 - 11) / 8`, the same
//! formula in the Python generator, so sums of products are exact in f32 and most expected
//! values are compared exactly (`tol` 0). The generator built a one-node ONNX model per case
//! with `onnx.helper` and ran it through `onnx.reference.ReferenceEvaluator` and
//! `onnxruntime.InferenceSession`; the printed outputs are pasted below.

mod common;

use common::{check, data, Want};
use kiln_ir::*;

/// Scales given to ONNX as an f32 tensor, widened exactly as the frontend stores them (tests
/// named `*sizes*` gave sizes instead, so their scales are `out / in` in f64).
fn given_scales(s: &[f32]) -> Vec<Ieee64> {
    s.iter().map(|&v| Ieee64::new(f64::from(v))).collect()
}

/// u8 data: element `i` is `(i*37 + seed*11) % 23 * 11`.
fn u8_data(shape: &[usize], seed: usize) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<u8> = (0..n).map(|i| ((i * 37 + seed * 11) % 23 * 11) as u8).collect();
    Tensor::from_vec(shape.to_vec(), v)
}
/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_nearest_floor_half_pixel_up() {
    let ins = vec![data(&[1, 1, 3, 4], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::RoundPreferFloor),
        coord: CoordMode::HalfPixel,
        scales: given_scales(&[1.0, 1.0, 2.5, 1.5]),
        sizes: vec![1, 1, 7, 6],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 7, 6],
        DType::F32,
        &[
            0.0, 0.0, -1.125, 0.625, 0.625, -0.5, 0.0, 0.0, -1.125, 0.625, 0.625, -0.5, 0.0, 0.0, -1.125, 0.625, 0.625,
            -0.5, 1.25, 1.25, 0.125, -1.0, -1.0, 0.75, 1.25, 1.25, 0.125, -1.0, -1.0, 0.75, -0.375, -0.375, 1.375,
            0.25, 0.25, -0.875, -0.375, -0.375, 1.375, 0.25, 0.25, -0.875,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_nearest_floor_mode_asymmetric_down() {
    let ins = vec![data(&[1, 1, 5, 4], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::Floor),
        coord: CoordMode::Asymmetric,
        scales: given_scales(&[1.0, 1.0, 0.6, 0.75]),
        sizes: vec![1, 1, 3, 3],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (&[1, 1, 3, 3], DType::F32, &[0.0, -1.125, 0.625, 1.25, 0.125, -1.0, 0.875, -0.25, -1.375]);
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_nearest_ceil_align_corners() {
    let ins = vec![data(&[1, 2, 3, 3], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::Ceil),
        coord: CoordMode::AlignCorners,
        scales: given_scales(&[1.0, 1.0, 1.7, 2.0]),
        sizes: vec![1, 2, 5, 6],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 2, 5, 6],
        DType::F32,
        &[
            0.0, -1.125, -1.125, 0.625, 0.625, 0.625, -0.5, 1.25, 1.25, 0.125, 0.125, 0.125, -0.5, 1.25, 1.25, 0.125,
            0.125, 0.125, -1.0, 0.75, 0.75, -0.375, -0.375, -0.375, -1.0, 0.75, 0.75, -0.375, -0.375, -0.375, 1.375,
            0.25, 0.25, -0.875, -0.875, -0.875, 0.875, -0.25, -0.25, -1.375, -1.375, -1.375, 0.875, -0.25, -0.25,
            -1.375, -1.375, -1.375, 0.375, -0.75, -0.75, 1.0, 1.0, 1.0, 0.375, -0.75, -0.75, 1.0, 1.0, 1.0,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_nearest_prefer_ceil_pytorch() {
    let ins = vec![data(&[1, 1, 4, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::RoundPreferCeil),
        coord: CoordMode::PytorchHalfPixel,
        scales: given_scales(&[1.0, 1.0, 1.5, 0.4]),
        sizes: vec![1, 1, 6, 2],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 6, 2],
        DType::F32,
        &[-1.125, -0.5, -1.0, -0.375, -1.0, -0.375, -0.875, -0.25, -0.75, -0.125, -0.75, -0.125],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference.
#[test]
fn resize_nearest_exclude_outside_floor() {
    let ins = vec![data(&[1, 1, 4, 4], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::Floor),
        coord: CoordMode::HalfPixel,
        scales: given_scales(&[1.0, 1.0, 0.5, 0.75]),
        sizes: vec![1, 1, 2, 3],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: true,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (&[1, 1, 2, 3], DType::F32, &[0.0, -1.125, 0.625, -0.375, 1.375, 0.25]);
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_linear_half_pixel_up() {
    let ins = vec![data(&[1, 1, 3, 4], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::HalfPixel,
        scales: given_scales(&[1.0, 1.0, 2.0, 1.5]),
        sizes: vec![1, 1, 6, 6],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 6, 6],
        DType::F32,
        &[
            0.0,
            -0.5625,
            -0.8333333134651184,
            0.3333333432674408,
            0.0625,
            -0.5,
            0.3125,
            -0.25,
            -0.640625,
            0.046875,
            0.015625,
            -0.1875,
            0.9375,
            0.375,
            -0.2552083432674408,
            -0.5260416865348816,
            -0.078125,
            0.4375,
            0.84375,
            0.640625,
            0.25,
            -0.5,
            -0.171875,
            0.34375,
            0.03125,
            0.546875,
            0.875,
            0.125,
            -0.265625,
            -0.46875,
            -0.375,
            0.5,
            1.1875,
            0.4375,
            -0.3125,
            -0.875,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference.
#[test]
fn resize_linear_align_corners() {
    let ins = vec![data(&[2, 1, 3, 3], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::AlignCorners,
        scales: given_scales(&[1.0, 1.0, 1.5, 2.5]),
        sizes: vec![2, 1, 4, 7],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[2, 1, 4, 7],
        DType::F32,
        &[
            0.0,
            -0.3461538553237915,
            -0.692307710647583,
            -1.0384615659713745,
            -0.7211538553237915,
            -0.18269230425357819,
            0.35576921701431274,
            -0.2857142984867096,
            -0.12637363374233246,
            0.032967034727334976,
            0.19230769574642181,
            0.2568681240081787,
            0.2898351550102234,
            0.32280218601226807,
            -0.5714285969734192,
            -0.032967034727334976,
            0.5054945349693298,
            1.0439560413360596,
            0.9189560413360596,
            0.5728021860122681,
            0.22664834558963776,
            -0.8571428656578064,
            -0.3186813294887543,
            0.21978022158145905,
            0.7582417726516724,
            0.6332417726516724,
            0.28708791732788086,
            -0.059065934270620346,
            1.375,
            1.0288461446762085,
            0.682692289352417,
            0.3365384638309479,
            -0.009615384973585606,
            -0.35576921701431274,
            -0.7019230723381042,
            1.0892857313156128,
            0.7431318759918213,
            0.3969780206680298,
            0.05082417652010918,
            -0.29532966017723083,
            -0.6414835453033447,
            -0.9876373410224915,
            0.8035714030265808,
            0.4574175775051117,
            0.11126373708248138,
            -0.23489010334014893,
            -0.4862637221813202,
            -0.7060439586639404,
            -0.9258241653442383,
            0.5178571343421936,
            0.1717032939195633,
            -0.17445054650306702,
            -0.5206043720245361,
            -0.3928571343421936,
            -0.1071428582072258,
            0.1785714328289032,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_linear_asymmetric_down() {
    let ins = vec![data(&[1, 1, 5, 7], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::Asymmetric,
        scales: given_scales(&[1.0, 1.0, 0.6, 0.5]),
        sizes: vec![1, 1, 3, 3],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 3, 3],
        DType::F32,
        &[
            0.0,
            0.625,
            1.25,
            -0.6666665077209473,
            -0.04166652634739876,
            -0.3750000596046448,
            -0.37500008940696716,
            0.24999989569187164,
            0.8749998807907104,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_linear_pytorch_out1() {
    let ins = vec![data(&[1, 1, 4, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::PytorchHalfPixel,
        scales: given_scales(&[1.0, 1.0, 0.25, 1.2]),
        sizes: vec![1, 1, 1, 6],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 1, 6],
        DType::F32,
        &[0.0, -0.8437499403953552, -0.10416681319475174, 0.15625013411045074, -0.06250026077032089, 1.25],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_linear_half_pixel_symmetric() {
    let ins = vec![data(&[1, 1, 4, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::HalfPixelSymmetric,
        scales: given_scales(&[1.0, 1.0, 1.7, 0.7]),
        sizes: vec![1, 1, 6, 3],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 6, 3],
        DType::F32,
        &[
            -0.6391806602478027,
            0.6286764740943909,
            0.25367650389671326,
            -0.5656512379646301,
            0.7022058963775635,
            0.32720592617988586,
            -0.4921218156814575,
            0.7757353186607361,
            0.14705884456634521,
            -0.4185924232006073,
            0.8492646813392639,
            -0.5042017102241516,
            -0.3450630009174347,
            0.9227941036224365,
            -0.6843487620353699,
            -0.2715335786342621,
            0.9963235259056091,
            -0.6108193397521973,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_linear_3d_all_axes() {
    let ins = vec![data(&[2, 3, 4], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::HalfPixel,
        scales: given_scales(&[1.5, 0.7, 1.25]),
        sizes: vec![3, 2, 5],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[3, 2, 5],
        DType::F32,
        &[
            0.267857164144516,
            -0.5196428298950195,
            -0.2901785671710968,
            0.12410712987184525,
            -0.232142835855484,
            0.20535708963871002,
            0.7116071581840515,
            0.3660714626312256,
            -0.2258928418159485,
            -0.29464292526245117,
            0.3973214328289032,
            -0.17455355823040009,
            -0.4174107015132904,
            -0.3214285671710968,
            -0.1026785746216774,
            0.1294642835855484,
            0.3482142686843872,
            0.3415178656578064,
            0.05758931487798691,
            -0.3705357313156128,
            0.526785671710968,
            0.17053571343421936,
            -0.5446428656578064,
            -0.7669642567634583,
            0.02678569406270981,
            0.05357147380709648,
            -0.015178599394857883,
            0.3169642686843872,
            0.3410714864730835,
            -0.4464285373687744,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference.
#[test]
fn resize_linear_sizes_given() {
    let ins = vec![data(&[1, 1, 3, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::HalfPixel,
        scales: vec![1.0.into(), 1.0.into(), 2.0.into(), 0.6.into()],
        sizes: vec![1, 1, 6, 3],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 6, 3],
        DType::F32,
        &[
            -0.375,
            0.625,
            0.6666666865348816,
            -0.34375,
            0.65625,
            0.6979166865348816,
            -0.28125,
            0.71875,
            0.7604166865348816,
            -0.21875,
            0.78125,
            0.34375,
            -0.15625,
            0.84375,
            -0.5520833134651184,
            -0.125,
            0.875,
            -1.0,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference.
#[test]
fn resize_linear_pytorch_sizes_3_to_1() {
    let ins = vec![data(&[1, 1, 3, 4], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::PytorchHalfPixel,
        scales: vec![1.0.into(), 1.0.into(), (1.0 / 3.0).into(), 0.75.into()],
        sizes: vec![1, 1, 1, 3],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (&[1, 1, 1, 3], DType::F32, &[-0.1875, -0.25, -0.3125]);
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference.
#[test]
fn resize_nearest_ceil_sizes_5_to_7() {
    let ins = vec![data(&[1, 1, 2, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::Ceil),
        coord: CoordMode::HalfPixel,
        scales: vec![1.0.into(), 1.0.into(), 1.5.into(), 1.4.into()],
        sizes: vec![1, 1, 3, 7],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 3, 7],
        DType::F32,
        &[
            0.0, -1.125, 0.625, 0.625, -0.5, 1.25, 1.25, 0.125, -1.0, 0.75, 0.75, -0.375, 1.375, 1.375, 0.125, -1.0,
            0.75, 0.75, -0.375, 1.375, 1.375,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_cubic_half_pixel() {
    let ins = vec![data(&[1, 1, 4, 4], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Cubic,
        coord: CoordMode::HalfPixel,
        scales: given_scales(&[1.0, 1.0, 1.5, 2.0]),
        sizes: vec![1, 1, 6, 8],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 6, 8],
        DType::F32,
        &[
            0.010145415551960468,
            -0.4336871802806854,
            -1.189516305923462,
            -0.8508083820343018,
            0.4184555113315582,
            0.6655259132385254,
            -0.22678469121456146,
            -0.7534809708595276,
            0.9244232177734375,
            0.450408935546875,
            -0.334197998046875,
            -0.71392822265625,
            -0.48590087890625,
            -0.139862060546875,
            0.156463623046875,
            0.3387298583984375,
            1.1734583377838135,
            1.001821756362915,
            0.7361818552017212,
            0.005785136017948389,
            -0.8074238896369934,
            -0.7301883697509766,
            0.2070283740758896,
            0.7656975388526917,
            -0.3959615230560303,
            0.17226088047027588,
            1.1227350234985352,
            1.2916080951690674,
            0.6016230583190918,
            -0.14710070192813873,
            -0.5632601380348206,
            -0.8247795701026917,
            0.0362701416015625,
            0.269073486328125,
            0.666473388671875,
            0.48468017578125,
            -0.17449951171875,
            -0.554229736328125,
            -0.451629638671875,
            -0.3978118896484375,
            1.128481149673462,
            0.7116329073905945,
            0.03901844471693039,
            -0.8612131476402283,
            -1.5203931331634521,
            -1.181685209274292,
            -0.009070511907339096,
            0.6943989396095276,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_cubic_a05_exclude_outside() {
    let ins = vec![data(&[1, 1, 4, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Cubic,
        coord: CoordMode::HalfPixel,
        scales: given_scales(&[1.0, 1.0, 1.75, 0.8]),
        sizes: vec![1, 1, 7, 4],
        roi: vec![],
        cubic_coeff_a: (-0.5).into(),
        exclude_outside: true,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 7, 4],
        DType::F32,
        &[
            -0.11150023341178894,
            -0.5628944039344788,
            -0.17226934432983398,
            1.0924838781356812,
            -0.06860022246837616,
            -0.5199943780899048,
            -0.1374090611934662,
            1.236355185508728,
            0.01391739584505558,
            -0.43747678399086,
            -0.05332079902291298,
            1.2991470098495483,
            0.08591565489768982,
            -0.365478515625,
            0.13043218851089478,
            -0.03238604590296745,
            0.1579139232635498,
            -0.29348024725914,
            0.3141852021217346,
            -1.3639191389083862,
            0.2404315322637558,
            -0.21096263825893402,
            0.3982734680175781,
            -1.301127314567566,
            0.2833315432071686,
            -0.16806262731552124,
            0.43313372135162354,
            -1.157256007194519,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_cubic_asymmetric_down() {
    let ins = vec![data(&[1, 1, 6, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Cubic,
        coord: CoordMode::Asymmetric,
        scales: given_scales(&[1.0, 1.0, 0.5, 0.6]),
        sizes: vec![1, 1, 3, 3],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 3, 3],
        DType::F32,
        &[
            0.0,
            0.13657397031784058,
            -0.0740739107131958,
            0.25,
            0.3865739107131958,
            -0.729167103767395,
            0.5,
            0.636573851108551,
            -0.47916698455810547,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference (onnxruntime agrees).
#[test]
fn resize_tf_crop_linear_extrapolate() {
    let ins = vec![data(&[1, 1, 4, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::TfCropAndResize,
        scales: given_scales(&[1.0, 1.0, 1.5, 1.2]),
        sizes: vec![1, 1, 6, 6],
        roi: vec![0.0.into(), 0.0.into(), (-0.2).into(), 0.3.into(), 1.0.into(), 1.0.into(), 0.9.into(), 1.4.into()],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 10.0.into(),
    });
    let want0: Want = (
        &[1, 1, 6, 6],
        DType::F32,
        &[
            10.0,
            10.0,
            10.0,
            10.0,
            10.0,
            10.0,
            -0.7674999237060547,
            0.5425000786781311,
            -0.4474997818470001,
            0.9774994850158691,
            10.0,
            10.0,
            -0.684999942779541,
            0.6250000596046448,
            -0.36499980092048645,
            1.0599994659423828,
            10.0,
            10.0,
            -0.6024999022483826,
            0.7075001001358032,
            -0.2824997901916504,
            0.2247997522354126,
            10.0,
            10.0,
            -0.5199999213218689,
            0.7900000810623169,
            -0.19999977946281433,
            -1.1899996995925903,
            10.0,
            10.0,
            -0.43749991059303284,
            0.8725000619888306,
            -0.11749978363513947,
            -1.107499599456787,
            10.0,
            10.0,
        ],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference.
#[test]
fn resize_tf_crop_nearest() {
    let ins = vec![data(&[1, 1, 4, 5], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Nearest(NearestMode::RoundPreferFloor),
        coord: CoordMode::TfCropAndResize,
        scales: given_scales(&[1.0, 1.0, 0.75, 1.0]),
        sizes: vec![1, 1, 3, 5],
        roi: vec![0.0.into(), 0.0.into(), 0.1.into(), (-0.5).into(), 1.0.into(), 1.0.into(), 0.8.into(), 0.9.into()],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: (-3.0).into(),
    });
    let want0: Want = (
        &[1, 1, 3, 5],
        DType::F32,
        &[-3.0, -3.0, -1.125, 0.625, 1.25, -3.0, -3.0, -1.0, 0.75, 1.375, -3.0, -3.0, -0.875, 0.875, -1.375],
    );
    check(&op, &ins, &[want0], 1e-05);
}

/// Expected: onnx reference.
#[test]
fn resize_linear_u8_rounds() {
    let ins = vec![u8_data(&[1, 1, 2, 3], 1)];
    let op = Op::Resize(ResizeAttrs {
        mode: ResizeMode::Linear,
        coord: CoordMode::HalfPixel,
        scales: given_scales(&[1.0, 1.0, 2.0, 1.5]),
        sizes: vec![1, 1, 4, 4],
        roi: vec![],
        cubic_coeff_a: (-0.75).into(),
        exclude_outside: false,
        extrapolation_value: 0.0.into(),
    });
    let want0: Want = (
        &[1, 1, 4, 4],
        DType::U8,
        &[121.0, 72.0, 48.0, 150.0, 110.0, 92.0, 89.0, 150.0, 88.0, 133.0, 173.0, 149.0, 77.0, 154.0, 214.0, 148.0],
    );
    check(&op, &ins, &[want0], 1e-05);
}
