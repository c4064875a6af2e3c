//! Import of `DeformConv` against a direct loop written from `onnx/reference/ops/op_deform_conv.py`
//! (per output position, channel and kernel tap: a bilinear sample with zero outside the image,
//! times the weight and the mask, plus the bias), at odd sizes, with 1, 2 and 3 spatial axes,
//! groups, offset groups, strides, dilations, asymmetric pads and offsets reaching outside the
//! image; and the shape errors.
mod common;
use common::*;
use kiln_ir::eval_graph;

/// Deterministic values in [lo, hi), every fourth one rounded to a multiple of 0.5 so that
/// integral and half-way sample positions are covered too.
fn values(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = lo + ((s >> 11) as f64 / (1u64 << 53) as f64) * (hi - lo);
            (if i % 4 == 0 { (v * 2.0).round() / 2.0 } else { v }) as f32
        })
        .collect()
}

struct Case {
    x: Vec<usize>,
    m: usize,
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: Vec<usize>,
    group: usize,
    offset_group: usize,
    bias: bool,
    mask: bool,
}

impl Case {
    fn nd(&self) -> usize {
        self.kernel.len()
    }
    fn out(&self) -> Vec<usize> {
        let nd = self.nd();
        (0..nd)
            .map(|d| {
                let extent = (self.kernel[d] - 1) * self.dilations[d] + 1;
                (self.x[2 + d] + self.pads[d] + self.pads[nd + d] - extent) / self.strides[d] + 1
            })
            .collect()
    }
    fn w_shape(&self) -> Vec<usize> {
        [vec![self.m, self.x[1] / self.group], self.kernel.clone()].concat()
    }
    fn offset_shape(&self) -> Vec<usize> {
        let taps: usize = self.kernel.iter().product();
        [vec![self.x[0], self.offset_group * taps * self.nd()], self.out()].concat()
    }
    fn mask_shape(&self) -> Vec<usize> {
        let taps: usize = self.kernel.iter().product();
        [vec![self.x[0], self.offset_group * taps], self.out()].concat()
    }
}

/// Row-major multi-index of `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    idx
}

/// Bilinear read of image `img` (`dims`) at `pos`, zero outside (GridSample, zeros padding).
fn bilinear(img: &[f32], dims: &[usize], pos: &[f64]) -> f64 {
    let nd = dims.len();
    let mut total = 0.0;
    for corner in 0..1usize << nd {
        let (mut weight, mut at, mut inside) = (1.0, 0usize, true);
        for d in 0..nd {
            let base = pos[d].floor();
            let f = pos[d] - base;
            let up = (corner >> (nd - 1 - d)) & 1 == 1;
            let i = base + if up { 1.0 } else { 0.0 };
            weight *= if up { f } else { 1.0 - f };
            inside &= i >= 0.0 && i <= dims[d] as f64 - 1.0;
            at = at * dims[d] + if inside { i as usize } else { 0 };
        }
        if inside {
            total += weight * img[at] as f64;
        }
    }
    total
}

struct Data {
    x: Vec<f32>,
    w: Vec<f32>,
    offset: Vec<f32>,
    bias: Vec<f32>,
    mask: Vec<f32>,
}

fn reference(c: &Case, d: &Data) -> Vec<f64> {
    let (n, ch, nd) = (c.x[0], c.x[1], c.nd());
    let image = &c.x[2..];
    let pixels: usize = image.iter().product();
    let out = c.out();
    let positions: usize = out.iter().product();
    let taps: usize = c.kernel.iter().product();
    let (icpg, ocpg, icpo) = (ch / c.group, c.m / c.group, ch / c.offset_group);
    let mut y = vec![0.0; n * c.m * positions];
    for b in 0..n {
        for oc in 0..c.m {
            for o in 0..positions {
                let oi = unravel(o, &out);
                let mut acc = if c.bias { d.bias[oc] as f64 } else { 0.0 };
                for ic in (oc / ocpg) * icpg..(oc / ocpg + 1) * icpg {
                    let g = ic / icpo;
                    let img = &d.x[(b * ch + ic) * pixels..(b * ch + ic + 1) * pixels];
                    for k in 0..taps {
                        let ki = unravel(k, &c.kernel);
                        let pos: Vec<f64> = (0..nd)
                            .map(|a| {
                                let chan = ((g * taps + k) * nd + a) * positions + o;
                                let off = d.offset[b * c.offset_group * taps * nd * positions + chan] as f64;
                                (c.strides[a] * oi[a] + c.dilations[a] * ki[a]) as f64 - c.pads[a] as f64 + off
                            })
                            .collect();
                        let w = d.w[(oc * icpg + ic % icpg) * taps + k] as f64;
                        let mask = if c.mask {
                            d.mask[(b * c.offset_group * taps + g * taps + k) * positions + o] as f64
                        } else {
                            1.0
                        };
                        acc += bilinear(img, image, &pos) * w * mask;
                    }
                }
                y[(b * c.m + oc) * positions + o] = acc;
            }
        }
    }
    y
}

fn model(c: &Case) -> ModelBuilder {
    let nd = c.nd() as i64;
    let i = |v: &[usize]| v.iter().map(|&e| e as i64).collect::<Vec<_>>();
    let attrs = vec![
        a_ints("kernel_shape", &i(&c.kernel)),
        a_ints("strides", &i(&c.strides)),
        a_ints("dilations", &i(&c.dilations)),
        a_ints("pads", &i(&c.pads)),
        a_int("group", c.group as i64),
        a_int("offset_group", c.offset_group as i64),
    ];
    assert_eq!(c.pads.len() as i64, 2 * nd);
    let mut b = ModelBuilder::new(19).input("x", &c.x).input("w", &c.w_shape()).input("offset", &c.offset_shape());
    let mut inputs = vec!["x", "w", "offset"];
    if c.bias || c.mask {
        b = b.input("b", &[c.m]);
        inputs.push(if c.bias { "b" } else { "" });
    }
    if c.mask {
        b = b.input("mask", &c.mask_shape());
        inputs.push("mask");
    }
    b.node_attrs("DeformConv", &inputs, &["y"], attrs).output("y")
}

fn check(c: Case, seed: u64) {
    let numel = |s: &[usize]| s.iter().product::<usize>();
    let d = Data {
        x: values(numel(&c.x), seed, -1.0, 1.0),
        w: values(numel(&c.w_shape()), seed + 1, -1.0, 1.0),
        offset: values(numel(&c.offset_shape()), seed + 2, -2.5, 2.5),
        bias: values(c.m, seed + 3, -1.0, 1.0),
        mask: values(numel(&c.mask_shape()), seed + 4, 0.0, 1.0),
    };
    let g = verified(model(&c).graph());
    let mut feeds = vec![f32s(&c.x, &d.x), f32s(&c.w_shape(), &d.w), f32s(&c.offset_shape(), &d.offset)];
    if c.bias || c.mask {
        feeds.push(f32s(&[c.m], &d.bias));
    }
    if c.mask {
        feeds.push(f32s(&c.mask_shape(), &d.mask));
    }
    let got = eval_graph(&g, &feeds).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got[0].shape(), [vec![c.x[0], c.m], c.out()].concat().as_slice());
    let want = reference(&c, &d);
    for (i, (g, w)) in got[0].to_f64_vec().iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "x {:?} kernel {:?}: element {i}: got {g}, want {w}",
            c.x,
            c.kernel
        );
    }
}

#[test]
fn two_dimensional_groups_strides_dilations_and_pads_match_the_reference() {
    let c = Case {
        x: vec![2, 3, 5, 7],
        m: 3,
        kernel: vec![3, 1],
        strides: vec![2, 1],
        dilations: vec![1, 2],
        pads: vec![1, 0, 2, 1],
        group: 3,
        offset_group: 3,
        bias: true,
        mask: true,
    };
    check(c, 11);
    let c = Case {
        x: vec![1, 3, 17, 5],
        m: 5,
        kernel: vec![3, 3],
        strides: vec![3, 1],
        dilations: vec![1, 1],
        pads: vec![1, 1, 1, 1],
        group: 1,
        offset_group: 1,
        bias: false,
        mask: false,
    };
    check(c, 23);
    let c = Case {
        x: vec![1, 6, 3, 5],
        m: 4,
        kernel: vec![2, 2],
        strides: vec![1, 2],
        dilations: vec![1, 1],
        pads: vec![0, 1, 0, 0],
        group: 2,
        offset_group: 3,
        bias: false,
        mask: true,
    };
    check(c, 37);
}

#[test]
fn one_and_three_spatial_axes_match_the_reference() {
    let c = Case {
        x: vec![3, 5, 17],
        m: 1,
        kernel: vec![3],
        strides: vec![3],
        dilations: vec![2],
        pads: vec![2, 1],
        group: 1,
        offset_group: 5,
        bias: true,
        mask: false,
    };
    check(c, 5);
    let c = Case {
        x: vec![1, 1, 3, 3, 3],
        m: 3,
        kernel: vec![2, 1, 2],
        strides: vec![1, 1, 1],
        dilations: vec![1, 1, 1],
        pads: vec![0, 1, 0, 1, 0, 0],
        group: 1,
        offset_group: 1,
        bias: true,
        mask: true,
    };
    check(c, 9);
}

#[test]
fn the_onnx_example_with_padding_gives_its_documented_output() {
    let c = Case {
        x: vec![1, 1, 3, 3],
        m: 1,
        kernel: vec![2, 2],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        pads: vec![1, 1, 1, 1],
        group: 1,
        offset_group: 1,
        bias: false,
        mask: false,
    };
    let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
    let mut offset = vec![0f32; 8 * 16];
    offset[0] = 0.5; // channel 0, position (0, 0)
    offset[5 * 16 + 6] = -0.1; // channel 5, position (1, 2)
    let feeds = [f32s(&[1, 1, 3, 3], &x), f32s(&[1, 1, 2, 2], &[1.0; 4]), f32s(&[1, 8, 4, 4], &offset)];
    let got = eval_graph(&verified(model(&c).graph()), &feeds).unwrap_or_else(|e| panic!("{e}"));
    let want = [0.0, 1.0, 3.0, 2.0, 3.0, 8.0, 11.9, 7.0, 9.0, 20.0, 24.0, 13.0, 6.0, 13.0, 15.0, 8.0];
    for (g, w) in got[0].to_f64_vec().iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "got {:?}", got[0].to_f64_vec());
    }
}

#[test]
fn inconsistent_shapes_are_errors_naming_the_input_or_attribute() {
    let base = || Case {
        x: vec![1, 4, 5, 5],
        m: 2,
        kernel: vec![3, 3],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        pads: vec![0, 0, 0, 0],
        group: 2,
        offset_group: 2,
        bias: true,
        mask: true,
    };
    let err = |b: ModelBuilder| b.import().unwrap_err().to_string();
    // offset with the channels of one offset group only
    let c = base();
    let mut b = model(&c);
    b.graph.input[2] =
        value_info("offset", FLOAT, Some([1, 18, 3, 3].iter().map(|&d| kiln_frontend::Dim::Fixed(d)).collect()));
    let e = err(b);
    assert!(e.contains("input 'offset'") && e.contains("DeformConv"), "{e}");
    // group 3 does not divide 4 channels
    let mut c = base();
    c.group = 3;
    c.m = 3;
    let mut b = model(&c);
    b.graph.input[1] =
        value_info("w", FLOAT, Some([3, 2, 3, 3].iter().map(|&d| kiln_frontend::Dim::Fixed(d)).collect()));
    assert!(err(b).contains("attribute 'group'"));
    // offset_group 3 does not divide 4 channels
    let mut c = base();
    c.offset_group = 3;
    assert!(err(model(&c)).contains("attribute 'offset_group'"));
    // kernel_shape disagreeing with W
    let c = base();
    let mut b = model(&c);
    b.graph.node[0].attribute[0] = a_ints("kernel_shape", &[2, 3]);
    assert!(err(b).contains("attribute 'kernel_shape'"));
    // a kernel larger than the padded image
    let c = base();
    let mut b = model(&c);
    b.graph.input[0] =
        value_info("x", FLOAT, Some([1, 4, 2, 5].iter().map(|&d| kiln_frontend::Dim::Fixed(d)).collect()));
    assert!(err(b).contains("does not fit"));
    // huge pads and dilations are errors, not overflows
    let c = base();
    let mut b = model(&c);
    b.graph.node[0].attribute[3] = a_ints("pads", &[1 << 62, 1 << 62, 1 << 62, 1 << 62]);
    assert!(err(b).contains("input 'offset'"));
    let mut b = model(&c);
    b.graph.node[0].attribute[2] = a_ints("dilations", &[1 << 62, 1]);
    assert!(err(b).contains("does not fit"));
    // a bias of the wrong length
    let c = base();
    let mut b = model(&c);
    b.graph.input[3] = value_info("b", FLOAT, Some(vec![kiln_frontend::Dim::Fixed(3)]));
    assert!(err(b).contains("input 'b'"));
}
