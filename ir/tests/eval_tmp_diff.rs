//! TEMPORARY local differential check (deleted before handing back).
use kiln_ir::*;
#[test]
fn resize_random_vs_reference() {
    let text = std::fs::read_to_string("/tmp/kgen/resize_cases.txt").unwrap();
    let (mut bad, mut bad_sizes, mut n) = (0, 0, 0);
    for line in text.lines() {
        let t: Vec<&str> = line.split(' ').collect();
        let mode = match t[0] { "nearest" => ResizeMode::Nearest(match t[1] { "round_prefer_floor" => NearestMode::RoundPreferFloor, "round_prefer_ceil" => NearestMode::RoundPreferCeil, "floor" => NearestMode::Floor, _ => NearestMode::Ceil }), "linear" => ResizeMode::Linear, _ => ResizeMode::Cubic };
        let coord = match t[2] { "half_pixel" => CoordMode::HalfPixel, "half_pixel_symmetric" => CoordMode::HalfPixelSymmetric, "pytorch_half_pixel" => CoordMode::PytorchHalfPixel, "align_corners" => CoordMode::AlignCorners, "asymmetric" => CoordMode::Asymmetric, _ => CoordMode::TfCropAndResize };
        let a: f32 = t[3].parse().unwrap();
        let excl = t[4] == "1";
        let use_sizes = t[5] == "1";
        let r: usize = t[6].parse().unwrap();
        let mut k = 7;
        let mut take = |n: usize| { let v: Vec<f64> = t[k..k + n].iter().map(|s| s.parse().unwrap()).collect(); k += n; v };
        let shape: Vec<usize> = take(r).iter().map(|&v| v as usize).collect();
        let sizes: Vec<usize> = take(r).iter().map(|&v| v as usize).collect();
        let scales: Vec<f32> = take(r).iter().map(|&v| v as f32).collect();
        let nroi = take(1)[0] as usize;
        let roi: Vec<f32> = take(nroi).iter().map(|&v| v as f32).collect();
        let xn: usize = shape.iter().product();
        let x: Vec<f32> = take(xn).iter().map(|&v| v as f32).collect();
        let want: Vec<f64> = take(sizes.iter().product());
        let op = Op::Resize(ResizeAttrs { mode, coord, scales, sizes: sizes.clone(), roi, cubic_coeff_a: a, exclude_outside: excl, extrapolation_value: 3.5 });
        let xt = Tensor::from_vec(shape.clone(), x);
        let got = eval_op(&op, &[&xt]).unwrap().remove(0).to_f64_vec();
        n += 1;
        let ok = got.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 1e-5 * (1.0 + w.abs()));
        if !ok {
            if use_sizes { bad_sizes += 1 } else { bad += 1 }
            if bad + bad_sizes < 8 { eprintln!("MISMATCH {line:.200}\n got {got:?}\n want {want:?}"); }
        }
    }
    eprintln!("{n} cases, {bad} bad with scales, {bad_sizes} bad with sizes");
    assert_eq!(bad + bad_sizes, 0);
}
#[test]
fn pool_random_vs_ort() {
    let text = std::fs::read_to_string("/tmp/kgen/pool_cases.txt").unwrap();
    let (mut bad, mut n, mut shape_bad) = (0, 0, 0);
    for line in text.lines() {
        let t: Vec<&str> = line.split(' ').collect();
        let kind = match t[0] { "max" => PoolKind::Max, "avg0" => PoolKind::Avg { count_include_pad: false }, _ => PoolKind::Avg { count_include_pad: true } };
        let ceil = t[1] == "1";
        let ns: usize = t[2].parse().unwrap();
        let mut k = 3;
        let mut take = |n: usize| { let v: Vec<f64> = t[k..k + n].iter().map(|s| s.parse().unwrap()).collect(); k += n; v };
        let u = |v: Vec<f64>| v.iter().map(|&x| x as usize).collect::<Vec<usize>>();
        let shape = u(take(ns + 2));
        let kernel = u(take(ns)); let strides = u(take(ns)); let dil = u(take(ns)); let pads = u(take(2 * ns));
        let oshape = u(take(ns + 2));
        let x: Vec<f32> = take(shape.iter().product()).iter().map(|&v| v as f32).collect();
        let want = take(oshape.iter().product());
        let op = Op::Pool(PoolAttrs { kind, kernel, strides, dilations: dil, pads, ceil_mode: ceil });
        let xt = Tensor::from_vec(shape.clone(), x);
        n += 1;
        match eval_op(&op, &[&xt]) {
            Err(e) => { shape_bad += 1; eprintln!("ERR {e} {line:.150}"); }
            Ok(mut o) => {
                let o = o.remove(0);
                if o.shape() != &oshape[..] { shape_bad += 1; eprintln!("SHAPE {:?} vs {oshape:?} {line:.150}", o.shape()); continue; }
                let got = o.to_f64_vec();
                if !got.iter().zip(&want).all(|(g, w)| (g - w).abs() <= 1e-5 * (1.0 + w.abs()) || (g.is_nan() && w.is_nan())) {
                    bad += 1;
                    if bad < 6 { eprintln!("MISMATCH {line:.200}\n got {got:?}\n want {want:?}"); }
                }
            }
        }
    }
    eprintln!("{n} pool cases, {bad} bad values, {shape_bad} bad shapes");
    assert_eq!(bad + shape_bad, 0);
}
