//! Import of Resize with `antialias = 1` against a direct loop written from the ONNX reference
//! (`op_resize.py`: the per-output-element `_interpolate_1d_with_x` with its sort-based
//! `_get_neighbor`, applied one axis at a time), at odd sizes (1, 3, 5, 17), linear and cubic,
//! 2-D and 4-D, scales and sizes inputs, every coordinate mode, `axes` and the aspect policies,
//! `exclude_outside`, integer inputs and non-finite pixels; and the errors.
mod common;
use common::*;
use kiln_ir::{eval_graph, DType, Op, Tensor};
use onnx_protobuf::AttributeProto;

/// Deterministic values in [lo, hi).
fn values(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (lo + ((s >> 11) as f64 / (1u64 << 53) as f64) * (hi - lo)) as f32
        })
        .collect()
}

// ---------------------------------------------------------------- the reference, transcribed

/// The node's interpolation settings.
#[derive(Clone, Copy)]
struct Cfg {
    cubic: bool,
    coord: &'static str,
    a: f64,
    exclude_outside: bool,
    extrapolation: f64,
}

const LINEAR: Cfg = Cfg { cubic: false, coord: "half_pixel", a: -0.75, exclude_outside: false, extrapolation: 0.0 };
const CUBIC: Cfg = Cfg { cubic: true, ..LINEAR };

/// `_linear_coeffs_antialias` / `_cubic_coeffs_antialias`.
fn coeffs(cfg: Cfg, ratio: f64, scale: f64) -> Vec<f64> {
    let scale = scale.min(1.0);
    let c: Vec<f64> = if cfg.cubic {
        let a = cfg.a;
        let f = |x: f64| {
            let x = x.abs();
            if x <= 1.0 {
                (a + 2.0) * x * x * x - (a + 3.0) * x * x + 1.0
            } else if x < 2.0 {
                a * x * x * x - 5.0 * a * x * x + 8.0 * a * x - 4.0 * a
            } else {
                0.0
            }
        };
        let i_start = (-2.0 / scale).floor() as i64 + 1;
        (i_start..2 - i_start).map(|i| f(scale * (i as f64 - ratio))).collect()
    } else {
        let start = (-1.0 / scale).floor() as i64 + 1;
        (start..2 - start).map(|i| (1.0 - ((i as f64 - ratio) * scale).abs()).clamp(0.0, 1.0)).collect()
    };
    let sum: f64 = c.iter().sum();
    c.iter().map(|v| v / sum).collect()
}

/// `_get_neighbor`: the `n` indices nearest `x` in the edge-padded data (ties to the smaller),
/// as indices of the unpadded data (possibly outside it).
fn neighbours(x: f64, n: usize, len: usize) -> Vec<i64> {
    let pad = n.div_ceil(2) as i64;
    let xp = x + pad as f64;
    let mut idx: Vec<i64> = (0..len as i64 + 2 * pad).collect();
    idx.sort_by(|&p, &q| ((xp - p as f64).abs(), p).partial_cmp(&((xp - q as f64).abs(), q)).unwrap());
    idx.truncate(n);
    idx.sort();
    idx.into_iter().map(|i| i - pad).collect()
}

/// `_interpolate_1d_with_x` on one line `data` for output `o`.
fn interp_1d(data: &[f64], cfg: Cfg, scale: f64, out: usize, o: usize, roi: (f64, f64)) -> f64 {
    let (inw, y) = (data.len() as f64, o as f64);
    let outw = scale * inw;
    let x = match cfg.coord {
        "align_corners" if outw == 1.0 => 0.0,
        "align_corners" => y * (inw - 1.0) / (outw - 1.0),
        "asymmetric" => y / scale,
        "pytorch_half_pixel" if outw == 1.0 => -0.5,
        "pytorch_half_pixel" | "half_pixel" => (y + 0.5) / scale - 0.5,
        "half_pixel_symmetric" => inw / 2.0 * (1.0 - out as f64 / outw) + (y + 0.5) / scale - 0.5,
        "tf_crop_and_resize" => {
            let x = if outw == 1.0 {
                (roi.1 - roi.0) * (inw - 1.0) / 2.0
            } else {
                y * (roi.1 - roi.0) * (inw - 1.0) / (outw - 1.0)
            } + roi.0 * (inw - 1.0);
            if x < 0.0 || x > inw - 1.0 {
                return cfg.extrapolation;
            }
            x
        }
        other => panic!("mode {other}"),
    };
    let ratio = if x == x.floor() { 1.0 } else { x - x.floor() };
    let mut c = coeffs(cfg, ratio, scale);
    let idx = neighbours(x, c.len(), data.len());
    if cfg.exclude_outside {
        for (ci, &i) in c.iter_mut().zip(&idx) {
            if i < 0 || i >= data.len() as i64 {
                *ci = 0.0;
            }
        }
        let sum: f64 = c.iter().sum();
        c.iter_mut().for_each(|v| *v /= sum);
    }
    let at = |i: i64| data[i.clamp(0, data.len() as i64 - 1) as usize];
    c.iter().zip(&idx).map(|(&w, &i)| w * at(i)).sum()
}

/// The reference's separable loop over `order`, skipping identity axes.
fn reference(
    x: &[f64],
    shape: &[usize],
    scales: &[f64],
    sizes: &[usize],
    roi: &[f64],
    order: &[usize],
    cfg: Cfg,
) -> Vec<f64> {
    let (mut data, mut shape) = (x.to_vec(), shape.to_vec());
    let r = shape.len();
    for &ax in order {
        let axis_roi = if roi.is_empty() { (0.0, 1.0) } else { (roi[ax], roi[r + ax]) };
        if (scales[ax] - 1.0).abs() <= 1e-9 && sizes[ax] == shape[ax] && axis_roi == (0.0, 1.0) {
            continue;
        }
        let (outer, len, inner) =
            (shape[..ax].iter().product::<usize>(), shape[ax], shape[ax + 1..].iter().product::<usize>());
        let mut next = vec![0.0; outer * sizes[ax] * inner];
        for p in 0..outer {
            for q in 0..inner {
                let line: Vec<f64> = (0..len).map(|i| data[(p * len + i) * inner + q]).collect();
                for o in 0..sizes[ax] {
                    next[(p * sizes[ax] + o) * inner + q] = interp_1d(&line, cfg, scales[ax], sizes[ax], o, axis_roi);
                }
            }
        }
        (data, shape[ax]) = (next, sizes[ax]);
    }
    data
}

// ---------------------------------------------------------------- the model under test

/// How the node gives its output shape.
#[derive(Clone)]
enum Target {
    Scales(Vec<f32>),
    Sizes(Vec<i64>),
}

fn attrs(cfg: Cfg, extra: Vec<AttributeProto>) -> Vec<AttributeProto> {
    let mut a = vec![
        a_int("antialias", 1),
        a_str("mode", if cfg.cubic { "cubic" } else { "linear" }),
        a_str("coordinate_transformation_mode", cfg.coord),
        a_float("cubic_coeff_a", cfg.a as f32),
        a_int("exclude_outside", cfg.exclude_outside as i64),
        a_float("extrapolation_value", cfg.extrapolation as f32),
    ];
    a.extend(extra);
    a
}

fn model(shape: &[usize], target: &Target, roi: &[f32], attrs: Vec<AttributeProto>) -> ModelBuilder {
    let mut b = ModelBuilder::new(19).input("x", shape);
    let roi_name = if roi.is_empty() { "" } else { "roi" };
    if !roi.is_empty() {
        b = b.init("roi", &f32s(&[roi.len()], roi));
    }
    let inputs: Vec<&str> = match target {
        Target::Scales(s) => {
            b = b.init("scales", &f32s(&[s.len()], s));
            vec!["x", roi_name, "scales"]
        }
        Target::Sizes(s) => {
            b = b.init("sizes", &i64s(s));
            vec!["x", roi_name, "", "sizes"]
        }
    };
    b.node_attrs("Resize", &inputs, &["y"], attrs).output("y")
}

fn eval(b: &ModelBuilder, x: Tensor) -> Tensor {
    eval_graph(&verified(b.graph()), &[x]).unwrap_or_else(|e| panic!("{e}")).remove(0)
}

/// Equal within `tol` relative, NaN matching NaN and infinities matching exactly.
fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= tol * (1.0 + w.abs());
        assert!(same, "{what}: element {i}: got {g}, want {w}");
    }
}

/// Checks one f32 case against the reference: full-rank scales, sizes, roi and axis order as
/// the reference derives them from the node's inputs.
struct Case {
    shape: Vec<usize>,
    target: Target,
    cfg: Cfg,
    /// `axes` attribute (None: all, in order).
    axes: Option<Vec<i64>>,
    policy: &'static str,
    roi: Vec<f32>,
}

impl Case {
    fn new(shape: &[usize], target: Target, cfg: Cfg) -> Case {
        Case { shape: shape.to_vec(), target, cfg, axes: None, policy: "stretch", roi: Vec::new() }
    }

    /// Full-rank (scales, sizes, roi, order) as `_interpolate_nd` derives them.
    fn plan(&self) -> (Vec<f64>, Vec<usize>, Vec<f64>, Vec<usize>) {
        let r = self.shape.len();
        let axes: Vec<usize> = match &self.axes {
            Some(a) => a.iter().map(|&a| if a < 0 { (a + r as i64) as usize } else { a as usize }).collect(),
            None => (0..r).collect(),
        };
        let mut scales = vec![1.0; r];
        let mut sizes = self.shape.to_vec();
        match &self.target {
            Target::Scales(s) => {
                for (&a, &v) in axes.iter().zip(s.iter()) {
                    scales[a] = v as f64;
                    sizes[a] = (v as f64 * self.shape[a] as f64).floor() as usize;
                }
            }
            Target::Sizes(s) => {
                let ratios: Vec<f64> =
                    axes.iter().zip(s.iter()).map(|(&a, &d)| d as f64 / self.shape[a] as f64).collect();
                let keep = match self.policy {
                    "not_larger" => Some(ratios.iter().cloned().fold(f64::INFINITY, f64::min)),
                    "not_smaller" => Some(ratios.iter().cloned().fold(0.0, f64::max)),
                    _ => None,
                };
                for (j, (&a, &d)) in axes.iter().zip(s.iter()).enumerate() {
                    scales[a] = keep.unwrap_or(ratios[j]);
                    sizes[a] = match keep {
                        Some(k) => (k * self.shape[a] as f64 + 0.5) as usize,
                        None => d as usize,
                    };
                }
            }
        }
        let mut roi = Vec::new();
        if !self.roi.is_empty() {
            roi = [vec![0.0; r], vec![1.0; r]].concat();
            let k = axes.len();
            for (j, &a) in axes.iter().enumerate() {
                (roi[a], roi[r + a]) = (self.roi[j] as f64, self.roi[k + j] as f64);
            }
        }
        (scales, sizes, roi, axes)
    }

    fn builder(&self) -> ModelBuilder {
        self.builder_antialias(1)
    }

    fn builder_antialias(&self, antialias: i64) -> ModelBuilder {
        let mut extra = vec![a_str("keep_aspect_ratio_policy", self.policy), a_int("antialias", antialias)];
        if let Some(a) = &self.axes {
            extra.push(a_ints("axes", a));
        }
        let mut a = attrs(self.cfg, vec![]);
        a.retain(|a| a.name != "antialias");
        a.extend(extra);
        model(&self.shape, &self.target, &self.roi, a)
    }

    /// A node that downsamples no axis must import exactly as with `antialias = 0` (the
    /// stretched filters are the plain ones then); any other is compared with the reference.
    fn check_with(&self, x: &[f32], what: &str) {
        let b = self.builder();
        let g = b.graph();
        if let [Op::Resize(attrs)] = &ops(&g)[..] {
            let plain = only_op(&self.builder_antialias(0).graph());
            assert_eq!(Op::Resize(attrs.clone()), plain, "{what}: upsampling-only node");
            return;
        }
        let got = eval(&b, f32s(&self.shape, x));
        let (scales, sizes, roi, order) = self.plan();
        assert_eq!(got.shape(), &sizes[..], "{what}: output shape");
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let want = reference(&x64, &self.shape, &scales, &sizes, &roi, &order, self.cfg);
        close(&got.to_f64_vec(), &want, 1e-5, what);
    }

    fn check(&self, what: &str) {
        let n = self.shape.iter().product();
        self.check_with(&values(n, n as u64 + 7, -2.0, 3.0), what);
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn linear_and_cubic_2d_downscales_by_scales() {
    for cfg in [LINEAR, CUBIC] {
        for (shape, scales) in [
            ([5, 17], [0.6f32, 0.33]),
            ([17, 3], [0.33, 0.6]),
            ([17, 17], [0.6, 0.6]),
            ([3, 5], [0.33, 0.33]),
            ([17, 5], [0.1, 0.5]),
        ] {
            let what = format!("cubic={} {shape:?} x {scales:?}", cfg.cubic);
            Case::new(&shape, Target::Scales(scales.to_vec()), cfg).check(&what);
        }
    }
}

#[test]
fn four_d_downscales_by_sizes() {
    for cfg in [LINEAR, CUBIC] {
        for (shape, sizes) in
            [([2, 3, 17, 17], [2i64, 3, 5, 3]), ([1, 1, 17, 5], [1, 1, 3, 1]), ([1, 2, 5, 3], [1, 2, 1, 1])]
        {
            let what = format!("cubic={} {shape:?} -> {sizes:?}", cfg.cubic);
            Case::new(&shape, Target::Sizes(sizes.to_vec()), cfg).check(&what);
        }
    }
}

#[test]
fn one_axis_upsamples_next_to_one_that_downsamples() {
    for cfg in [LINEAR, CUBIC] {
        Case::new(&[3, 17], Target::Scales(vec![1.67, 0.33]), cfg).check("scales 1.67 x 0.33");
        Case::new(&[1, 17], Target::Scales(vec![3.0, 0.6]), cfg).check("size-1 axis upsampled");
        Case::new(&[1, 1, 17, 3], Target::Sizes(vec![1, 1, 5, 7]), cfg).check("sizes 17->5, 3->7");
    }
}

#[test]
fn every_coordinate_mode_and_cubic_variants() {
    let modes = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric"];
    for coord in modes {
        for base in [LINEAR, CUBIC] {
            let cfg = Cfg { coord, ..base };
            Case::new(&[5, 17], Target::Scales(vec![0.6, 0.33]), cfg).check(coord);
            Case::new(&[3, 17], Target::Sizes(vec![1, 5]), cfg).check(coord);
        }
    }
    let variants = [
        Cfg { a: -0.5, exclude_outside: true, ..CUBIC },
        Cfg { exclude_outside: true, ..LINEAR },
        Cfg { a: -0.5, ..CUBIC },
    ];
    for cfg in variants {
        Case::new(&[17, 17], Target::Scales(vec![0.33, 0.6]), cfg).check("cubic_coeff_a / exclude_outside");
    }
}

#[test]
fn axes_and_aspect_ratio_policies() {
    for cfg in [LINEAR, CUBIC] {
        for policy in ["stretch", "not_larger", "not_smaller"] {
            for axes in [&[2i64, 3][..], &[3, 2], &[-1, -2]] {
                let mut case = Case::new(&[1, 2, 17, 5], Target::Sizes(vec![7, 3]), cfg);
                (case.axes, case.policy) = (Some(axes.to_vec()), policy);
                case.check(&format!("{policy} axes {axes:?}"));
            }
        }
        let mut case = Case::new(&[3, 17], Target::Scales(vec![0.33]), cfg);
        case.axes = Some(vec![1]);
        case.check("scales on axis 1 only");
    }
}

#[test]
fn tf_crop_and_resize_with_extrapolation() {
    for base in [LINEAR, CUBIC] {
        let cfg = Cfg { coord: "tf_crop_and_resize", extrapolation: 7.5, ..base };
        let mut case = Case::new(&[1, 1, 17, 17], Target::Sizes(vec![1, 1, 5, 3]), cfg);
        case.roi = vec![0.0, 0.0, -0.25, 0.125, 1.0, 1.0, 0.75, 1.25];
        case.check("roi crossing the borders");
        let mut case = Case::new(&[17, 5], Target::Scales(vec![0.33, 0.6]), cfg);
        (case.axes, case.roi) = (Some(vec![1, 0]), vec![0.25, 0.0, 1.5, 0.5]);
        case.check("axes 1,0 with roi");
    }
}

#[test]
fn non_finite_pixels_stay_local() {
    let case = Case::new(&[1, 17], Target::Scales(vec![1.0, 0.33]), LINEAR);
    let mut x = values(17, 3, -1.0, 1.0);
    (x[2], x[14]) = (f32::INFINITY, f32::NAN);
    case.check_with(&x, "inf and nan pixels");
    let got = eval(&case.builder(), f32s(&[1, 17], &x)).to_f64_vec();
    assert!(got.iter().any(|v| v.is_finite()), "a non-finite pixel spread over the whole row: {got:?}");
}

#[test]
fn upsampling_only_is_the_plain_resize() {
    for cfg in [LINEAR, CUBIC] {
        let case = Case::new(&[3, 5], Target::Scales(vec![1.0, 1.6]), cfg);
        assert!(matches!(only_op(&case.builder().graph()), Op::Resize(_)));
        case.check("upsampling");
        Case::new(&[1, 1, 5, 3], Target::Sizes(vec![1, 1, 17, 5]), cfg).check("sizes upsampling");
    }
    let down = Case::new(&[3, 5], Target::Scales(vec![1.0, 0.6]), LINEAR).builder().graph();
    assert!(!op_names(&down).contains(&"resize"), "{:?}", op_names(&down));
}

#[test]
fn integer_inputs_round_half_to_even_and_saturate() {
    let shape = [5, 17];
    let raw: Vec<u8> = values(85, 11, 0.0, 256.0).iter().map(|&v| v as u8).collect();
    let b = ModelBuilder::new(19)
        .input_typed("x", 2, shape.iter().map(|&d| kiln_frontend::Dim::Fixed(d)).collect())
        .init("scales", &f32s(&[2], &[0.6, 0.33]))
        .node_attrs("Resize", &["x", "", "scales"], &["y"], attrs(CUBIC, vec![]))
        .output("y");
    let got = eval(&b, Tensor::from_vec(shape.to_vec(), raw.clone()));
    assert_eq!(got.dtype(), DType::U8);
    let x64: Vec<f64> = raw.iter().map(|&v| v as f64).collect();
    let want: Vec<f64> = reference(&x64, &shape, &[0.6f32 as f64, 0.33f32 as f64], &[3, 5], &[], &[0, 1], CUBIC)
        .into_iter()
        .map(|v| v.round_ties_even().clamp(0.0, 255.0))
        .collect();
    close(&got.to_f64_vec(), &want, 0.0, "u8 cubic");
}

#[test]
fn antialias_errors_name_node_and_attribute() {
    let err = |shape: &[usize], target: Target, a: Vec<AttributeProto>| {
        model(shape, &target, &[], a).import().map(|_| ()).unwrap_err().to_string()
    };
    let nearest = vec![a_int("antialias", 1), a_str("mode", "nearest")];
    let e = err(&[3, 5], Target::Scales(vec![1.0, 0.6]), nearest);
    assert!(e.contains("Resize_0") && e.contains("(Resize), attribute 'antialias'"), "{e}");
    // A filter wider than the table bound: 40M inputs squeezed into 1 output.
    let e = err(&[1, 40_000_000], Target::Sizes(vec![1, 1]), attrs(LINEAR, vec![]));
    assert!(e.contains("Resize_0") && e.contains("antialias"), "{e}");
    let e = err(&[3, 5], Target::Scales(vec![0.6, 0.6]), attrs(LINEAR, vec![a_ints("axes", &[1, -1])]));
    assert!(e.contains("attribute 'axes'") && e.contains("twice"), "{e}");
    let e = err(&[3, 5], Target::Scales(vec![1.0, 0.6]), attrs(Cfg { coord: "bogus", ..LINEAR }, vec![]));
    assert!(e.contains("attribute 'coordinate_transformation_mode'"), "{e}");
}

#[test]
fn bool_input_is_an_error() {
    let b = ModelBuilder::new(19)
        .input_typed("x", BOOL, vec![kiln_frontend::Dim::Fixed(3), kiln_frontend::Dim::Fixed(5)])
        .init("scales", &f32s(&[2], &[1.0, 0.6]))
        .node_attrs("Resize", &["x", "", "scales"], &["y"], attrs(LINEAR, vec![]))
        .output("y");
    let e = b.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("Resize_0") && e.contains("bool"), "{e}");
}
