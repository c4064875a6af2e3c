//! Randomised checks of inference and evaluation together (seeded, so reproducible):
//! - whenever `infer_types` accepts an op, `eval_op` succeeds and returns exactly the inferred
//!   types; nothing panics on random (often invalid) attributes;
//! - Conv and Pool agree with naive direct implementations written from the ONNX formulas
//!   (integer-valued data, so f64 accumulation is exact and results compare exactly).

use kiln_ir::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn rand_tensor(rng: &mut StdRng, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|_| rng.gen_range(-4i32..=4) as f32).collect())
}

fn rand_shape(rng: &mut StdRng, rank: usize, max: usize) -> Vec<usize> {
    (0..rank).map(|_| rng.gen_range(1..=max)).collect()
}

/// Evaluates when inference accepts; checks the result types. Returns the results.
fn run_checked(op: &Op, ins: &[&Tensor]) -> Option<Vec<Tensor>> {
    let tys: Vec<TensorType> = ins.iter().map(|t| t.ty()).collect();
    let refs: Vec<&TensorType> = tys.iter().collect();
    let want = infer_types(op, &refs).ok()?;
    let got = eval_op(op, ins).unwrap_or_else(|e| panic!("{op:?} on {tys:?}: inferred {want:?} but eval failed: {e}"));
    let got_tys: Vec<TensorType> = got.iter().map(|t| t.ty()).collect();
    assert_eq!(got_tys, want, "{op:?}");
    Some(got)
}

fn naive_conv(x: &Tensor, w: &Tensor, a: &ConvAttrs, out: &[usize]) -> Vec<f32> {
    let (xs, ws) = (x.as_slice::<f32>().unwrap(), w.as_slice::<f32>().unwrap());
    let (xsh, wsh) = (x.shape(), w.shape());
    let ns = xsh.len() - 2;
    let (cg, mg) = (xsh[1] / a.group, out[1] / a.group);
    let mut res = Vec::new();
    let out_sp: Vec<usize> = out[2..].to_vec();
    let total: usize = out.iter().product();
    for flat in 0..total {
        let mut rem = flat;
        let mut pos = vec![0; out.len()];
        for d in (0..out.len()).rev() {
            pos[d] = rem % out[d];
            rem /= out[d];
        }
        let (n, m) = (pos[0], pos[1]);
        let g = m / mg;
        let mut acc = 0.0f64;
        let kn: usize = a.kernel.iter().product();
        for ci in 0..cg {
            for kf in 0..kn {
                let mut kr = kf;
                let mut kpos = vec![0; ns];
                for d in (0..ns).rev() {
                    kpos[d] = kr % a.kernel[d];
                    kr /= a.kernel[d];
                }
                let mut xi = n * xsh[1] + g * cg + ci;
                let mut inside = true;
                for d in 0..ns {
                    let p = (pos[2 + d] * a.strides[d] + kpos[d] * a.dilations[d]) as i64 - a.pads[d] as i64;
                    inside &= p >= 0 && p < xsh[2 + d] as i64;
                    xi = xi * xsh[2 + d] + p.max(0) as usize;
                }
                if inside {
                    let wi = (m * wsh[1] + ci) * kn + kf;
                    acc += (ws[wi] * xs[xi]) as f64;
                }
            }
        }
        res.push(acc as f32);
    }
    let _ = out_sp;
    res
}

#[test]
fn conv_matches_naive_formula() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut checked = 0;
    for _ in 0..300 {
        let ns = rng.gen_range(1..=3);
        let group = rng.gen_range(1..=3);
        let c = group * rng.gen_range(1..=2);
        let m = group * rng.gen_range(1..=2);
        let mut xsh = vec![rng.gen_range(1..=2), c];
        xsh.extend(rand_shape(&mut rng, ns, if ns == 3 { 5 } else { 9 }));
        let kernel = rand_shape(&mut rng, ns, 3);
        let a = ConvAttrs {
            kernel: kernel.clone(),
            strides: rand_shape(&mut rng, ns, 3),
            dilations: rand_shape(&mut rng, ns, 2),
            pads: (0..2 * ns).map(|_| rng.gen_range(0..=2)).collect(),
            group,
        };
        let mut wsh = vec![m, c / group];
        wsh.extend(&kernel);
        let x = rand_tensor(&mut rng, &xsh);
        let w = rand_tensor(&mut rng, &wsh);
        let Some(out) = run_checked(&Op::Conv(a.clone()), &[&x, &w]) else { continue };
        assert_eq!(out[0].as_slice::<f32>().unwrap(), naive_conv(&x, &w, &a, out[0].shape()), "{a:?} x {xsh:?}");
        checked += 1;
    }
    assert!(checked > 150, "only {checked} valid cases");
}

/// Naive pooling of one output element from the ONNX definition.
fn naive_pool(x: &[f32], dims: &[usize], a: &PoolAttrs, opos: &[usize]) -> f32 {
    let ns = dims.len();
    let mut vals = Vec::new();
    let mut n_padded = 0;
    let kn: usize = a.kernel.iter().product();
    'k: for kf in 0..kn {
        let mut kr = kf;
        let mut flat = 0usize;
        let mut inside = true;
        for d in (0..ns).rev() {
            let k = kr % a.kernel[d];
            kr /= a.kernel[d];
            let p = (opos[d] * a.strides[d] + k * a.dilations[d]) as i64 - a.pads[d] as i64;
            if p >= (dims[d] + a.pads[ns + d]) as i64 {
                continue 'k;
            }
            inside &= p >= 0 && p < dims[d] as i64;
            let stride: usize = dims[d + 1..].iter().product();
            flat += p.max(0) as usize * stride;
        }
        n_padded += 1;
        if inside {
            vals.push(x[flat]);
        }
    }
    match a.kind {
        // A window entirely in the padding gives the lowest finite value (onnxruntime).
        PoolKind::Max => vals.iter().cloned().fold(f32::MIN, f32::max),
        PoolKind::Avg { count_include_pad } => {
            let s: f64 = vals.iter().map(|&v| v as f64).sum();
            (s / if count_include_pad { n_padded } else { vals.len() } as f64) as f32
        }
    }
}

#[test]
fn pool_matches_naive_formula() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut checked = 0;
    for i in 0..300 {
        let ns = rng.gen_range(1..=3);
        let mut xsh = vec![1, rng.gen_range(1..=2)];
        xsh.extend(rand_shape(&mut rng, ns, 7));
        let kind = match i % 3 {
            0 => PoolKind::Max,
            1 => PoolKind::Avg { count_include_pad: false },
            _ => PoolKind::Avg { count_include_pad: true },
        };
        let a = PoolAttrs {
            kind,
            kernel: rand_shape(&mut rng, ns, 3),
            strides: rand_shape(&mut rng, ns, 3),
            dilations: rand_shape(&mut rng, ns, 2),
            pads: (0..2 * ns).map(|_| rng.gen_range(0..=2)).collect(),
            ceil_mode: rng.gen_bool(0.5),
        };
        let x = rand_tensor(&mut rng, &xsh);
        let Some(out) = run_checked(&Op::Pool(a.clone()), &[&x]) else { continue };
        let out = &out[0];
        let dims = &xsh[2..];
        let plane: usize = dims.iter().product();
        let osp = &out.shape()[2..];
        let oplane: usize = osp.iter().product();
        let got = out.as_slice::<f32>().unwrap();
        for (k, &g) in got.iter().enumerate() {
            let (p, mut r) = (k / oplane, k % oplane);
            let mut opos = vec![0; ns];
            for d in (0..ns).rev() {
                opos[d] = r % osp[d];
                r /= osp[d];
            }
            let want = naive_pool(&x.as_slice::<f32>().unwrap()[p * plane..][..plane], dims, &a, &opos);
            assert!(g == want || (g.is_nan() && want.is_nan()), "{a:?} on {xsh:?} at {k}: {g} vs {want}");
        }
        checked += 1;
    }
    assert!(checked > 150, "only {checked} valid cases");
}

#[test]
fn random_ops_infer_and_eval_agree() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut accepted = 0;
    for _ in 0..2000 {
        let rank = rng.gen_range(0..=4);
        let shape = rand_shape(&mut rng, rank, 4);
        let x = rand_tensor(&mut rng, &shape);
        let r = rank;
        let pick = |rng: &mut StdRng, hi: usize| rng.gen_range(0..hi.max(1) + 1);
        let op = match rng.gen_range(0..9) {
            0 => Op::Slice {
                starts: (0..r).map(|_| pick(&mut rng, 4)).collect(),
                steps: (0..r).map(|_| rng.gen_range(-3i64..=3)).collect(),
                lens: (0..r).map(|_| pick(&mut rng, 4)).collect(),
            },
            1 => Op::Pad {
                mode: [PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap][rng.gen_range(0..4)],
                pads: (0..2 * r).map(|_| rng.gen_range(-3i64..=6)).collect(),
                value: 2.5.into(),
            },
            2 => Op::Transpose { perm: (0..r).map(|_| pick(&mut rng, r)).collect() },
            3 => Op::Reduce {
                kind: ReduceKind::ALL[rng.gen_range(0..10)],
                axes: (0..r).filter(|_| rng.gen_bool(0.5)).collect(),
                keepdims: rng.gen_bool(0.5),
            },
            4 => {
                let er = rng.gen_range(0..=4);
                Op::Expand { shape: rand_shape(&mut rng, er, 3) }
            }
            5 => Op::Split {
                axis: pick(&mut rng, r),
                sizes: (0..rng.gen_range(1..=3)).map(|_| pick(&mut rng, 2)).collect(),
            },
            6 => Op::Softmax { axis: pick(&mut rng, r) },
            7 => Op::ArgMin {
                axis: pick(&mut rng, r),
                keepdims: rng.gen_bool(0.5),
                select_last_index: rng.gen_bool(0.5),
            },
            _ => {
                let sizes = rand_shape(&mut rng, r, 6);
                let scales = sizes.iter().zip(&shape).map(|(&o, &i)| Ieee64::new(o as f64 / i as f64)).collect();
                let modes = [ResizeMode::Linear, ResizeMode::Cubic, ResizeMode::Nearest(NearestMode::RoundPreferCeil)];
                let coords = [
                    CoordMode::HalfPixel,
                    CoordMode::AlignCorners,
                    CoordMode::TfCropAndResize,
                    CoordMode::PytorchHalfPixel,
                ];
                Op::Resize(ResizeAttrs {
                    mode: modes[rng.gen_range(0..3)],
                    coord: coords[rng.gen_range(0..4)],
                    scales,
                    sizes,
                    roi: (0..2 * r)
                        .map(|i| Ieee32::new(if i < r { rng.gen_range(-0.3..0.4) } else { rng.gen_range(0.6..1.3) }))
                        .collect(),
                    cubic_coeff_a: (-0.75).into(),
                    exclude_outside: rng.gen_bool(0.3),
                    extrapolation_value: 7.0.into(),
                })
            }
        };
        accepted += run_checked(&op, &[&x]).is_some() as usize;
        // Binary ops on randomly broadcast-compatible shapes.
        let skip = rng.gen_range(0..=r);
        let other: Vec<usize> = shape.iter().map(|&d| if rng.gen_bool(0.3) { 1 } else { d }).skip(skip).collect();
        let y = rand_tensor(&mut rng, &other);
        accepted += run_checked(&Op::Binary(BinaryOp::ALL[rng.gen_range(0..8)]), &[&x, &y]).is_some() as usize;
    }
    assert!(accepted > 1500, "only {accepted} of 4000 random ops were valid");
}

#[test]
fn extreme_attributes_do_not_panic() {
    let x = Tensor::from_vec(vec![3], vec![1.0f32, 2.0, 3.0]);
    let pads = Op::Pad { mode: PadMode::Constant, pads: vec![i64::MIN, i64::MAX], value: 0.0.into() };
    // dim 3 + MIN + MAX = 2: the data is cropped away entirely and the rest is padding.
    let out = run_checked(&pads, &[&x]).unwrap();
    assert_eq!(out[0].as_slice::<f32>().unwrap(), [0.0, 0.0]);
    let big = Op::Expand { shape: vec![1 << 20, 1 << 20, 3] };
    let e = eval_op(&big, &[&x]).unwrap_err();
    assert!(e.contains("too large"), "{e}");
    let p = Op::Pool(PoolAttrs {
        kind: PoolKind::Max,
        kernel: vec![1],
        strides: vec![usize::MAX],
        dilations: vec![1],
        pads: vec![0, usize::MAX - 3],
        ceil_mode: true,
    });
    let x3 = Tensor::from_vec(vec![1, 1, 3], vec![1.0f32, 2.0, 3.0]);
    // ceil((3 + MAX-3 - 1) / MAX) + 1 = 2 windows, the second starts in the end padding: 1.
    let out = run_checked(&p, &[&x3]).unwrap();
    assert_eq!((out[0].shape(), out[0].as_slice::<f32>().unwrap()), (&[1usize, 1, 1][..], &[1.0f32][..]));
}
