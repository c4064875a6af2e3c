//! MaxPool's `Indices` against a direct N-D port of the ONNX reference loop
//! (`op_max_pool.py`): odd sizes, 1-D to 3-D, pads, strides, dilations, ceil_mode, auto_pad,
//! both storage orders, ties (the first maximum wins), -inf data next to padding, a u8 input,
//! and the attribute errors.

use super::super::node_harness::{int, ints, run, string};
use super::MAX_TAPS;
use kiln_ir::Tensor;
use onnx_protobuf::AttributeProto;

/// The window of one case; pads are begin-then-end per spatial axis.
#[derive(Clone)]
struct Case {
    shape: Vec<usize>,
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: Vec<usize>,
    ceil: bool,
    column_major: bool,
}

impl Case {
    fn new(shape: &[usize], kernel: &[usize]) -> Case {
        let n = kernel.len();
        Case {
            shape: shape.to_vec(),
            kernel: kernel.to_vec(),
            strides: vec![1; n],
            dilations: vec![1; n],
            pads: vec![0; 2 * n],
            ceil: false,
            column_major: false,
        }
    }
    fn attrs(&self) -> Vec<AttributeProto> {
        let i = |v: &[usize]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
        vec![
            ints("kernel_shape", &i(&self.kernel)),
            ints("strides", &i(&self.strides)),
            ints("dilations", &i(&self.dilations)),
            ints("pads", &i(&self.pads)),
            int("ceil_mode", self.ceil as i64),
            int("storage_order", self.column_major as i64),
        ]
    }
}

/// Output extent of one axis, as the reference computes it.
fn out_len(c: &Case, a: usize) -> usize {
    let n = c.kernel.len();
    let padded = (c.shape[2 + a] + c.pads[a] + c.pads[n + a]) as f64;
    let span = (padded - ((c.kernel[a] - 1) * c.dilations[a] + 1) as f64) / c.strides[a] as f64 + 1.0;
    if !c.ceil {
        return span.floor() as usize;
    }
    let len = span.ceil() as usize;
    if (len - 1) * c.strides[a] >= c.shape[2 + a] + c.pads[a] {
        len - 1
    } else {
        len
    }
}

/// Row-major decode of `flat` over `dims`.
fn unravel(mut flat: usize, dims: &[usize]) -> Vec<usize> {
    let mut v = vec![0; dims.len()];
    for i in (0..dims.len()).rev() {
        v[i] = flat % dims[i];
        flat /= dims[i];
    }
    v
}

/// The reference's indices (and output shape) for `x` in row-major order.
fn reference(c: &Case, x: &[f64]) -> (Vec<usize>, Vec<i64>) {
    let n = c.kernel.len();
    let input = &c.shape[2..];
    let out: Vec<usize> = (0..n).map(|a| out_len(c, a)).collect();
    let plane: usize = input.iter().product();
    let (taps, outs): (usize, usize) = (c.kernel.iter().product(), out.iter().product());
    let mut result = Vec::new();
    for p in 0..c.shape[0] * c.shape[1] {
        for o in 0..outs {
            let o = unravel(o, &out);
            let mut best: Option<(f64, i64)> = None;
            for t in 0..taps {
                let k = unravel(t, &c.kernel);
                let pos: Vec<i64> =
                    (0..n).map(|a| (o[a] * c.strides[a] + k[a] * c.dilations[a]) as i64 - c.pads[a] as i64).collect();
                if (0..n).any(|a| pos[a] < 0 || pos[a] >= input[a] as i64) {
                    continue;
                }
                let (mut row, mut col, mut wr, mut wc) = (0i64, 0i64, 1i64, 1i64);
                for a in (0..n).rev() {
                    row += pos[a] * wr;
                    wr *= input[a] as i64;
                }
                for a in 0..n {
                    col += pos[a] * wc;
                    wc *= input[a] as i64;
                }
                let v = x[p * plane + row as usize];
                if best.is_none_or(|(b, _)| v > b) {
                    best = Some((v, if c.column_major { col } else { row }));
                }
            }
            result.push(best.map_or(-1, |(_, i)| (p * plane) as i64 + i));
        }
    }
    ([c.shape[..2].to_vec(), out].concat(), result)
}

/// Deterministic data with many ties: small integers, every `inf_every`-th element -inf.
fn data(n: usize, inf_every: usize) -> Vec<f32> {
    let mut s = 0x2545_f491u32;
    (0..n)
        .map(|i| {
            s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            if inf_every > 0 && i % inf_every == 0 {
                f32::NEG_INFINITY
            } else {
                ((s >> 16) % 4) as f32
            }
        })
        .collect()
}

fn check(c: &Case, inf_every: usize) {
    let numel = c.shape.iter().product();
    let xs = data(numel, inf_every);
    let x = Tensor::from_vec(c.shape.clone(), xs.clone());
    let outs = run("MaxPool", 12, &[x], &["y", "z"], c.attrs()).unwrap_or_else(|e| panic!("{e}"));
    let (shape, want) = reference(c, &xs.iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert_eq!(outs[1].shape(), &shape[..], "indices shape, kernel {:?}", c.kernel);
    assert_eq!(outs[0].shape(), &shape[..], "values shape");
    let got: Vec<i64> = outs[1].to_f64_vec().iter().map(|&v| v as i64).collect();
    assert_eq!(got, want, "shape {:?} kernel {:?} pads {:?} ceil {}", c.shape, c.kernel, c.pads, c.ceil);
}

#[test]
fn one_d_with_pads_and_strides_at_odd_lengths() {
    for len in [1, 3, 5, 17] {
        let mut c = Case::new(&[1, 3, len], &[3]);
        (c.strides, c.pads) = (vec![2], vec![1, 1]);
        check(&c, 0);
        c.ceil = true;
        check(&c, 7);
    }
}

#[test]
fn two_d_in_both_storage_orders_with_ceil_mode() {
    for (h, w) in [(5, 5), (3, 17), (17, 3)] {
        let mut c = Case::new(&[3, 1, h, w], &[3, 3]);
        (c.strides, c.pads, c.ceil) = (vec![2, 2], vec![1, 1, 1, 1], true);
        check(&c, 0);
        c.column_major = true;
        check(&c, 5);
    }
}

#[test]
fn two_d_dilated_and_asymmetric() {
    let mut c = Case::new(&[1, 2, 5, 17], &[2, 3]);
    (c.strides, c.dilations, c.pads) = (vec![1, 3], vec![2, 2], vec![0, 2, 1, 0]);
    check(&c, 0);
    c.column_major = true;
    c.ceil = true;
    check(&c, 3);
}

#[test]
fn three_d_column_major() {
    let mut c = Case::new(&[1, 2, 3, 5, 3], &[2, 3, 2]);
    (c.strides, c.pads, c.column_major) = (vec![1, 2, 1], vec![1, 0, 1, 1, 1, 0], true);
    check(&c, 4);
    c.column_major = false;
    check(&c, 0);
}

#[test]
fn single_tap_kernel() {
    let mut c = Case::new(&[1, 1, 5, 3], &[1, 1]);
    c.strides = vec![2, 2];
    check(&c, 0);
}

#[test]
fn same_upper_pads_resolve_as_for_the_values() {
    let x = Tensor::from_vec(vec![1, 1, 5, 5], data(25, 0));
    let attrs = vec![ints("kernel_shape", &[2, 2]), string("auto_pad", "SAME_UPPER")];
    let outs = run("MaxPool", 12, &[x], &["y", "z"], attrs).unwrap_or_else(|e| panic!("{e}"));
    let mut c = Case::new(&[1, 1, 5, 5], &[2, 2]);
    c.pads = vec![0, 0, 1, 1];
    let (_, want) = reference(&c, &data(25, 0).iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert_eq!(outs[1].to_f64_vec().iter().map(|&v| v as i64).collect::<Vec<_>>(), want);
}

#[test]
fn u8_input() {
    let xs: Vec<u8> = data(15, 0).iter().map(|&v| v as u8 * 60).collect();
    let x = Tensor::from_vec(vec![1, 1, 3, 5], xs.clone());
    let c = Case { pads: vec![1, 1, 1, 1], ..Case::new(&[1, 1, 3, 5], &[3, 3]) };
    let outs = run("MaxPool", 12, &[x], &["y", "z"], c.attrs()).unwrap_or_else(|e| panic!("{e}"));
    let (_, want) = reference(&c, &xs.iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert_eq!(outs[1].to_f64_vec().iter().map(|&v| v as i64).collect::<Vec<_>>(), want);
}

#[test]
fn onnx_example_precomputed_strides_column_major() {
    let x = Tensor::from_vec(vec![1, 1, 5, 5], (1..=25).map(|v| v as f32).collect::<Vec<_>>());
    let attrs = vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2]), int("storage_order", 1)];
    let outs = run("MaxPool", 12, &[x], &["y", "z"], attrs).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outs[1].to_f64_vec(), vec![6.0, 16.0, 8.0, 18.0]);
}

#[test]
fn bad_storage_order_and_huge_kernels_name_the_attribute() {
    let x = || Tensor::from_vec(vec![1, 1, 3], vec![1.0f32, 2.0, 3.0]);
    let e = run("MaxPool", 12, &[x()], &["y", "z"], vec![ints("kernel_shape", &[2]), int("storage_order", 2)]);
    assert!(e.as_ref().is_err_and(|e| e.contains("attribute 'storage_order'")), "{e:?}");
    let big = Tensor::from_vec(vec![1, 1, MAX_TAPS + 1], vec![0.0f32; MAX_TAPS + 1]);
    let e = run("MaxPool", 12, &[big], &["y", "z"], vec![ints("kernel_shape", &[MAX_TAPS as i64 + 1])]);
    assert!(e.as_ref().is_err_and(|e| e.contains("attribute 'kernel_shape'")), "{e:?}");
}

#[test]
fn without_the_second_output_only_values_are_computed() {
    let x = Tensor::from_vec(vec![1, 1, 3], vec![1.0f32, 2.0, 3.0]);
    let outs = run("MaxPool", 12, &[x], &["y"], vec![ints("kernel_shape", &[2])]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outs.len(), 1);
}
