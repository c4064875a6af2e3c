//! Import of the sampling ops (GridSample...) against direct loops written from the ONNX
//! reference implementations, at odd sizes, with coordinates outside the image for every
//! padding mode; and the attribute errors.
mod common;
use common::*;
use kiln_ir::eval_graph;

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

fn run(b: &ModelBuilder, inputs: &[kiln_ir::Tensor]) -> Vec<f64> {
    eval_graph(&verified(b.graph()), inputs).unwrap_or_else(|e| panic!("{e}"))[0].to_f64_vec()
}

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: element {i}: got {g}, want {w}");
    }
}

// ---------------------------------------------------------------- GridSample

/// `_gs_reflect` of the reference.
fn reflect(x: f64, lo: f64, hi: f64) -> f64 {
    let range = hi - lo;
    let fold = |dx: f64, from: f64, to: f64, sign: f64| {
        let n = (dx / range).floor();
        let r = dx - n * range;
        if n % 2.0 == 0.0 {
            from + sign * r
        } else {
            to - sign * r
        }
    };
    if x < lo {
        fold(lo - x, lo, hi, 1.0)
    } else if x > hi {
        fold(x - hi, hi, lo, -1.0)
    } else {
        x
    }
}

fn cubic(f: f64) -> [f64; 4] {
    let a = -0.75;
    let inner = |s: f64| ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0;
    let outer = |s: f64| ((a * s - 5.0 * a) * s + 8.0 * a) * s - 4.0 * a;
    [outer(f + 1.0), inner(f), inner(1.0 - f), outer(2.0 - f)]
}

/// Taps (pixel index or None for zero, weight) of one axis for a normalized coordinate.
fn axis_taps(n: f64, len: usize, mode: &str, pad: &str, align: bool) -> Vec<(Option<usize>, f64)> {
    let d = len as f64;
    let (lo, hi) = if align { (0.0, d - 1.0) } else { (-0.5, d - 0.5) };
    // The reference denormalizes in f32.
    let (n32, d32) = (n as f32, len as f32);
    let x32 = if align { (n32 + 1.0) / 2.0 * (d32 - 1.0) } else { ((n32 + 1.0) * d32 - 1.0) / 2.0 };
    let mut x = x32 as f64;
    if mode == "nearest" {
        x = x.round_ties_even();
    }
    if x < lo || x > hi {
        x = match pad {
            "border" => x.clamp(0.0, d - 1.0),
            "reflection" => reflect(x, lo, hi),
            _ => x,
        };
    }
    let pixel = |i: f64| -> Option<usize> {
        match pad {
            "zeros" => (i >= 0.0 && i < d).then_some(i as usize),
            "border" => Some(i.clamp(0.0, d - 1.0) as usize),
            _ => Some(reflect(i, lo, hi) as usize),
        }
    };
    let base = x.floor();
    let f = x - base;
    match mode {
        "nearest" => vec![(pixel(x.trunc()), 1.0)],
        "linear" => vec![(pixel(base), 1.0 - f), (pixel(base + 1.0), f)],
        _ => (0..4).map(|k| (pixel(base + k as f64 - 1.0), cubic(f)[k])).collect(),
    }
}

/// GridSample of X `[n, c, h, w]` at grid `[n, ho, wo, 2]`, straight from the definition.
fn grid_sample_ref(x: &[f32], xs: [usize; 4], grid: &[f32], out: [usize; 2], attrs: (&str, &str, bool)) -> Vec<f64> {
    let (mode, pad, align) = attrs;
    let [n, c, h, w] = xs;
    let mut y = Vec::new();
    for b in 0..n {
        for ch in 0..c {
            for p in 0..out[0] * out[1] {
                let g = &grid[(b * out[0] * out[1] + p) * 2..][..2];
                let xt = axis_taps(g[0] as f64, w, mode, pad, align);
                let yt = axis_taps(g[1] as f64, h, mode, pad, align);
                let mut acc = 0.0;
                for &(yi, wy) in &yt {
                    for &(xi, wx) in &xt {
                        if let (Some(yi), Some(xi)) = (yi, xi) {
                            acc += wy * wx * x[((b * c + ch) * h + yi) * w + xi] as f64;
                        }
                    }
                }
                y.push(acc);
            }
        }
    }
    y
}

fn grid_sample(x: &[f32], xs: [usize; 4], grid: &[f32], out: [usize; 2], attrs: (&str, &str, bool)) -> Vec<f64> {
    let gs = [xs[0], out[0], out[1], 2];
    let a = vec![a_str("mode", attrs.0), a_str("padding_mode", attrs.1), a_int("align_corners", attrs.2 as i64)];
    let b = ModelBuilder::new(22)
        .input("x", &xs)
        .input("grid", &gs)
        .node_attrs("GridSample", &["x", "grid"], &["y"], a)
        .output("y");
    run(&b, &[f32s(&xs, x), f32s(&gs, grid)])
}

#[test]
fn grid_sample_matches_the_definition_in_every_mode() {
    let (xs, out) = ([2, 3, 5, 3], [1, 17]);
    let x = values(xs.iter().product(), 1, -2.0, 2.0);
    let mut grid = values(2 * 17 * 2, 2, -1.7, 1.7);
    // Exact half-pixel and corner positions (round-half-even and tap boundaries).
    grid[..6].copy_from_slice(&[-1.0, 1.0, 0.0, -0.2, 1.0, -1.0]);
    for mode in ["nearest", "linear", "cubic"] {
        for pad in ["zeros", "border", "reflection"] {
            for align in [false, true] {
                let attrs = (mode, pad, align);
                let want = grid_sample_ref(&x, xs, &grid, out, attrs);
                close(&grid_sample(&x, xs, &grid, out, attrs), &want, 1e-5, &format!("{attrs:?}"));
            }
        }
    }
}

#[test]
fn grid_sample_on_one_pixel_images() {
    let (xs, out) = ([1, 1, 1, 1], [3, 1]);
    let grid = [-3.0, 0.5, 0.0, 0.0, 2.5, -1.0];
    for pad in ["zeros", "border", "reflection"] {
        for align in [false, true] {
            let attrs = ("linear", pad, align);
            let want = grid_sample_ref(&[4.0], xs, &grid, out, attrs);
            close(&grid_sample(&[4.0], xs, &grid, out, attrs), &want, 1e-6, &format!("{attrs:?}"));
        }
    }
}

#[test]
fn grid_sample_bad_attributes_are_errors() {
    let err = |attrs| {
        ModelBuilder::new(22)
            .input("x", &[1, 1, 3, 3])
            .input("grid", &[1, 2, 2, 2])
            .node_attrs("GridSample", &["x", "grid"], &["y"], attrs)
            .output("y")
            .import()
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let e = err(vec![a_str("mode", "quadratic")]);
    assert!(e.contains("(GridSample), attribute 'mode'"), "{e}");
    let e = err(vec![a_str("padding_mode", "wrap")]);
    assert!(e.contains("attribute 'padding_mode'"), "{e}");
    let e = err(vec![a_int("align_corners", 2)]);
    assert!(e.contains("attribute 'align_corners'"), "{e}");
}

// ---------------------------------------------------------------- Col2Im

/// Col2Im of `data` `[n, c*kh*kw, L]` into `[n, c, h, w]` as the reference's scatter-add loop.
fn col2im_ref(data: &[f32], n: usize, c: usize, img: [usize; 2], blk: [usize; 2], attrs: [usize; 6]) -> Vec<f64> {
    let [dh, dw, sh, sw, ph, pw] = attrs;
    let (pe_h, pe_w) = (ph + 1, pw); // end pads: one more on H than its begin pad
    let cols_h = (img[0] + ph + pe_h - (dh * (blk[0] - 1) + 1)) / sh + 1;
    let cols_w = (img[1] + pw + pe_w - (dw * (blk[1] - 1) + 1)) / sw + 1;
    let (k, l) = (blk[0] * blk[1], cols_h * cols_w);
    let mut y = vec![0f64; n * c * img[0] * img[1]];
    for b in 0..n {
        for ch in 0..c {
            for kk in 0..k {
                for ll in 0..l {
                    let h = ((ll / cols_w) * sh + (kk / blk[1]) * dh) as i64 - ph as i64;
                    let w = ((ll % cols_w) * sw + (kk % blk[1]) * dw) as i64 - pw as i64;
                    if h >= 0 && w >= 0 && (h as usize) < img[0] && (w as usize) < img[1] {
                        let at = ((b * c + ch) * img[0] + h as usize) * img[1] + w as usize;
                        y[at] += data[((b * c * k) + ch * k + kk) * l + ll] as f64;
                    }
                }
            }
        }
    }
    y
}

#[test]
fn col2im_matches_the_scatter_add_loop() {
    let (n, c, img, blk) = (2, 3, [5, 7], [2, 3]);
    for attrs in [[1, 1, 1, 1, 0, 0], [2, 1, 1, 2, 1, 0], [1, 2, 3, 1, 0, 2]] {
        let [dh, dw, sh, sw, ph, pw] = attrs;
        let cols_h = (img[0] + 2 * ph + 1 - (dh * (blk[0] - 1) + 1)) / sh + 1;
        let cols_w = (img[1] + 2 * pw - (dw * (blk[1] - 1) + 1)) / sw + 1;
        let shape = [n, c * blk[0] * blk[1], cols_h * cols_w];
        let data = values(shape.iter().product(), 3, -1.0, 1.0);
        let a = vec![
            a_ints("dilations", &[dh as i64, dw as i64]),
            a_ints("strides", &[sh as i64, sw as i64]),
            a_ints("pads", &[ph as i64, pw as i64, ph as i64 + 1, pw as i64]),
        ];
        let b = ModelBuilder::new(18)
            .input("x", &shape)
            .init("image", &i64s(&[img[0] as i64, img[1] as i64]))
            .init("block", &i64s(&[blk[0] as i64, blk[1] as i64]))
            .node_attrs("Col2Im", &["x", "image", "block"], &["y"], a)
            .output("y");
        let want = col2im_ref(&data, n, c, img, blk, attrs);
        close(&run(&b, &[f32s(&shape, &data)]), &want, 1e-6, &format!("{attrs:?}"));
    }
}

#[test]
fn col2im_mismatched_shapes_are_errors() {
    let b = ModelBuilder::new(18)
        .input("x", &[1, 4, 5])
        .init("image", &i64s(&[3, 3]))
        .init("block", &i64s(&[2, 2]))
        .node("Col2Im", &["x", "image", "block"], &["y"])
        .output("y");
    let e = b.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("(Col2Im)") && e.contains("[1, 4, 5]"), "{e}");
    let b = ModelBuilder::new(18)
        .input("x", &[1, 4, 4])
        .init("image", &i64s(&[3, 3]))
        .init("block", &i64s(&[2, 2]))
        .node_attrs("Col2Im", &["x", "image", "block"], &["y"], vec![a_ints("strides", &[0, 1])])
        .output("y");
    let e = b.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("attribute 'strides'"), "{e}");
}

// ---------------------------------------------------------------- AffineGrid

/// AffineGrid from the definition: pixel centres (or corners) in [-1, 1], x from the last axis.
fn affine_grid_ref(theta: &[f32], n: usize, spatial: &[usize], align: bool) -> Vec<f64> {
    let r = spatial.len();
    let coord = |i: usize, len: usize| {
        if align {
            if len == 1 {
                -1.0
            } else {
                -1.0 + 2.0 * i as f64 / (len - 1) as f64
            }
        } else {
            -1.0 + (2 * i + 1) as f64 / len as f64
        }
    };
    let points: usize = spatial.iter().product();
    let mut y = Vec::new();
    for b in 0..n {
        for p in 0..points {
            let mut idx = vec![0; r];
            let mut rest = p;
            for d in (0..r).rev() {
                (idx[d], rest) = (rest % spatial[d], rest / spatial[d]);
            }
            let homo: Vec<f64> = (0..r).rev().map(|d| coord(idx[d], spatial[d])).chain([1.0]).collect();
            for row in 0..r {
                let t = &theta[(b * r + row) * (r + 1)..][..r + 1];
                y.push(t.iter().zip(&homo).map(|(&a, &h)| a as f64 * h).sum());
            }
        }
    }
    y
}

#[test]
fn affine_grid_matches_the_definition_in_2d_and_3d() {
    for (spatial, n) in [(vec![3usize, 5], 3usize), (vec![1, 3, 5], 1), (vec![17, 1], 1)] {
        let r = spatial.len();
        let ts = [n, r, r + 1];
        let theta = values(ts.iter().product(), 4, -1.5, 1.5);
        for align in [false, true] {
            let size: Vec<i64> = [vec![n as i64, 2], spatial.iter().map(|&d| d as i64).collect()].concat();
            let b = ModelBuilder::new(20)
                .input("theta", &ts)
                .init("size", &i64s(&size))
                .node_attrs("AffineGrid", &["theta", "size"], &["grid"], vec![a_int("align_corners", align as i64)])
                .output("grid");
            let want = affine_grid_ref(&theta, n, &spatial, align);
            close(&run(&b, &[f32s(&ts, &theta)]), &want, 1e-6, &format!("{spatial:?} align {align}"));
        }
    }
}

#[test]
fn affine_grid_theta_must_match_the_size() {
    let b = ModelBuilder::new(20)
        .input("theta", &[1, 2, 3])
        .init("size", &i64s(&[1, 1, 2, 3, 4]))
        .node("AffineGrid", &["theta", "size"], &["grid"])
        .output("grid");
    let e = b.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("(AffineGrid)") && e.contains("theta"), "{e}");
}

// ---------------------------------------------------------------- RoiAlign

/// The reference's `pre_calc` for one axis position: (low, high, w_low, w_high).
fn roi_taps(mut y: f32, len: usize) -> (usize, usize, f32, f32) {
    if y < -1.0 || y > len as f32 {
        return (0, 0, 0.0, 0.0);
    }
    y = y.max(0.0);
    let mut low = y as usize;
    let high = if low >= len - 1 {
        low = len - 1;
        y = low as f32;
        low
    } else {
        low + 1
    };
    let l = y - low as f32;
    (low, high, 1.0 - l, l)
}

/// RoiAlign of X `[n, c, h, w]`, straight from the reference's loops.
fn roi_align_ref(
    x: &[f32],
    xs: [usize; 4],
    rois: &[f32],
    batch: &[i64],
    attrs: (bool, bool, [usize; 2], usize),
) -> Vec<f64> {
    let (max_mode, half, [ph, pw], g) = attrs;
    let [_, c, h, w] = xs;
    let mut y = Vec::new();
    for (r, &b) in batch.iter().enumerate() {
        let off = if half { 0.5 } else { 0.0 };
        let e: Vec<f32> = (0..4).map(|i| rois[r * 4 + i] * 0.5 - off).collect();
        let (mut rw, mut rh) = (e[2] - e[0], e[3] - e[1]);
        if !half {
            (rw, rh) = (rw.max(1.0), rh.max(1.0));
        }
        let (bh, bw) = (rh / ph as f32, rw / pw as f32);
        for ch in 0..c {
            let img = &x[(b as usize * c + ch) * h * w..][..h * w];
            for i in 0..ph * pw {
                let mut acc: Option<f32> = None;
                for s in 0..g * g {
                    let yy = e[1] + (i / pw) as f32 * bh + ((s / g) as f32 + 0.5) * bh / g as f32;
                    let xx = e[0] + (i % pw) as f32 * bw + ((s % g) as f32 + 0.5) * bw / g as f32;
                    let ((y0, y1, hy, ly), (x0, x1, hx, lx)) = (roi_taps(yy, h), roi_taps(xx, w));
                    let (valid_y, valid_x) = (hy + ly > 0.0, hx + lx > 0.0);
                    let (y0, y1) = if valid_x { (y0, y1) } else { (0, 0) };
                    let (x0, x1) = if valid_y { (x0, x1) } else { (0, 0) };
                    let corners = [
                        hy * hx * img[y0 * w + x0],
                        hy * lx * img[y0 * w + x1],
                        ly * hx * img[y1 * w + x0],
                        ly * lx * img[y1 * w + x1],
                    ];
                    acc = Some(match (max_mode, acc) {
                        (true, None) => corners.into_iter().fold(f32::MIN, f32::max),
                        (true, Some(a)) => corners.into_iter().fold(a, f32::max),
                        (false, a) => a.unwrap_or(0.0) + corners.iter().sum::<f32>(),
                    });
                }
                let v = acc.unwrap_or(0.0);
                y.push(if max_mode { v } else { v / (g * g) as f32 } as f64);
            }
        }
    }
    y
}

#[test]
fn roi_align_matches_the_reference_loops() {
    let xs = [2, 3, 5, 7];
    let x = values(xs.iter().product(), 5, -1.0, 1.0);
    // Rois in input pixels (spatial_scale 0.5): inside, partly outside, degenerate and reversed.
    let rois = [1.0, 2.0, 9.0, 7.0, -6.0, -3.0, 20.0, 16.0, 4.0, 4.0, 4.0, 4.0, 11.0, 9.0, 2.0, 1.0];
    let batch = [1i64, 0, 1, 0];
    for max_mode in [false, true] {
        for half in [false, true] {
            let attrs = (max_mode, half, [3, 1], 3);
            let a = vec![
                a_str("mode", if max_mode { "max" } else { "avg" }),
                a_str("coordinate_transformation_mode", if half { "half_pixel" } else { "output_half_pixel" }),
                a_int("output_height", 3),
                a_int("output_width", 1),
                a_int("sampling_ratio", 3),
                a_float("spatial_scale", 0.5),
            ];
            let b = ModelBuilder::new(22)
                .input("x", &xs)
                .input("rois", &[4, 4])
                .init("batch", &i64s(&batch))
                .node_attrs("RoiAlign", &["x", "rois", "batch"], &["y"], a)
                .output("y");
            let want = roi_align_ref(&x, xs, &rois, &batch, attrs);
            close(&run(&b, &[f32s(&xs, &x), f32s(&[4, 4], &rois)]), &want, 1e-5, &format!("{attrs:?}"));
        }
    }
}

#[test]
fn roi_align_adaptive_sampling_is_an_error() {
    let b = ModelBuilder::new(22)
        .input("x", &[1, 1, 4, 4])
        .input("rois", &[1, 4])
        .init("batch", &i64s(&[0]))
        .node("RoiAlign", &["x", "rois", "batch"], &["y"])
        .output("y");
    let e = b.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("(RoiAlign), attribute 'sampling_ratio'"), "{e}");
}

/// Regression (mutation test): `output_height = 2^40` allocated a 2^40-entry bin table and
/// aborted; the sample grid is bounded before any table is built.
#[test]
fn roi_align_huge_output_is_an_error_not_an_allocation() {
    let b = ModelBuilder::new(22)
        .input("x", &[1, 1, 10, 10])
        .input("rois", &[3, 4])
        .input_typed("batch", 7, vec![kiln_frontend::Dim::Fixed(3)])
        .node_attrs(
            "RoiAlign",
            &["x", "rois", "batch"],
            &["y"],
            vec![a_int("output_height", 1 << 40), a_int("output_width", 5), a_int("sampling_ratio", 2)],
        )
        .output("y");
    let e = b.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("(RoiAlign)") && e.contains("sample grid"), "{e}");
}

// ---------------------------------------------------------------- MaxUnpool

#[test]
fn max_unpool_writes_each_value_at_its_flat_index() {
    // X [1, 3, 2, 3], kernel 3x3, strides [2, 1]: inferred output [1, 3, 5, 5], padded to 6x5.
    let (xs, plane) = ([1usize, 3, 2, 3], 25usize);
    let mut x = values(18, 6, -1.0, 1.0);
    let mut idx: Vec<i64> = (0..18).map(|e| ((e / 6) * plane + (e % 6) * 7 % plane) as i64).collect();
    // A repeated index (overlapping windows) with its repeated value.
    (idx[11], x[11]) = (idx[7], x[7]);
    let mut want = vec![0f64; 3 * 6 * 5];
    for (e, &i) in idx.iter().enumerate() {
        let (p, at) = (i as usize / plane, i as usize % plane);
        want[p * 30 + at] = x[e] as f64;
    }
    let a = vec![a_ints("kernel_shape", &[3, 3]), a_ints("strides", &[2, 1])];
    let b = ModelBuilder::new(22)
        .input("x", &xs)
        .init("i", &kiln_ir::Tensor::from_vec(xs.to_vec(), idx.clone()))
        .init("shape", &i64s(&[1, 3, 6, 5]))
        .node_attrs("MaxUnpool", &["x", "i", "shape"], &["y"], a)
        .output("y");
    close(&run(&b, &[f32s(&xs, &x)]), &want, 0.0, "padded");
}

#[test]
fn max_unpool_output_shape_smaller_than_inferred_is_an_error() {
    let b = ModelBuilder::new(22)
        .input("x", &[1, 1, 2, 2])
        .init("i", &kiln_ir::Tensor::from_vec(vec![1, 1, 2, 2], vec![0i64, 1, 2, 3]))
        .init("shape", &i64s(&[1, 1, 3, 4]))
        .node_attrs(
            "MaxUnpool",
            &["x", "i", "shape"],
            &["y"],
            vec![a_ints("kernel_shape", &[2, 2]), a_ints("strides", &[2, 2])],
        )
        .output("y");
    let e = b.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("(MaxUnpool)") && e.contains("output_shape"), "{e}");
}
