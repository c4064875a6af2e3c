//! Import of MatMulInteger, ConvInteger and QLinearConv, checked with the reference evaluator
//! on the imported graph against direct loops written from the ONNX reference
//! (`op_matmul_integer.py`, `op_conv_integer.py`, `op_qlinear_conv.py`) at odd sizes, uint8
//! and int8, per-tensor and per-row/column/channel zero points, pads, strides, dilations,
//! groups and auto_pad; large-K cases that only exact i32 accumulation gets right; and the
//! errors for inputs kiln rejects.
mod common;
use common::*;
use kiln_frontend::Dim;
use kiln_ir::{eval_graph, DType, Graph, Op, Tensor};
use onnx_protobuf::AttributeProto;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// ONNX `TensorProto.DataType` code of `d`.
fn elem(d: DType) -> i32 {
    match d {
        DType::F32 => 1,
        DType::U8 => 2,
        DType::I8 => 3,
        DType::I32 => 6,
        other => panic!("test helper does not map {other}"),
    }
}

/// A model of one `op` node on graph inputs `x0, x1, ..` (`None` = omitted optional input).
fn model(op: &str, attrs: Vec<AttributeProto>, inputs: &[Option<&Tensor>]) -> ModelBuilder {
    let names: Vec<String> =
        inputs.iter().enumerate().map(|(i, t)| if t.is_some() { format!("x{i}") } else { String::new() }).collect();
    let mut m = ModelBuilder::new(10);
    for (n, t) in names.iter().zip(inputs) {
        if let Some(t) = t {
            m = m.input_typed(n, elem(t.dtype()), t.shape().iter().map(|&d| Dim::Fixed(d)).collect());
        }
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    m.node_attrs(op, &refs, &["y"], attrs).output("y")
}

/// Imports and evaluates `op`; returns the graph too.
fn run(op: &str, attrs: Vec<AttributeProto>, inputs: &[Option<&Tensor>]) -> (Tensor, Graph) {
    let g = verified(model(op, attrs, inputs).graph());
    let given: Vec<Tensor> = inputs.iter().flatten().map(|t| (*t).clone()).collect();
    let y = eval_graph(&g, &given).unwrap_or_else(|e| panic!("{op}: {e}")).remove(0);
    (y, g)
}

/// The import error of `op` as text.
fn import_error(op: &str, attrs: Vec<AttributeProto>, inputs: &[Option<&Tensor>]) -> String {
    match model(op, attrs, inputs).import() {
        Ok(_) => panic!("{op} imported, expected an error"),
        Err(e) => e.to_string(),
    }
}

/// A random 8-bit tensor of `d` (values drawn from `lo..=hi`, clamped to the type's range).
fn q8(rng: &mut StdRng, d: DType, shape: &[usize], lo: i32, hi: i32) -> Tensor {
    let n = shape.iter().product();
    let v: Vec<i32> = (0..n).map(|_| rng.gen_range(lo..=hi)).collect();
    match d {
        DType::U8 => Tensor::from_vec(shape.to_vec(), v.iter().map(|&x| x.clamp(0, 255) as u8).collect::<Vec<_>>()),
        DType::I8 => Tensor::from_vec(shape.to_vec(), v.iter().map(|&x| x.clamp(-128, 127) as i8).collect::<Vec<_>>()),
        other => panic!("not an 8-bit type: {other}"),
    }
}

/// The full range of `d`.
fn range(d: DType) -> (i32, i32) {
    if d == DType::U8 {
        (0, 255)
    } else {
        (-128, 127)
    }
}

fn ints(t: &Tensor) -> Vec<i64> {
    t.to_i64_vec()
}

/// Dtypes of the MatMul and Conv nodes of `g`'s first operand.
fn product_dtypes(g: &Graph) -> Vec<(String, DType)> {
    g.nodes
        .iter()
        .filter(|(_, n)| matches!(n.op, Op::MatMul | Op::Conv(_) | Op::Gemm { .. }))
        .map(|(_, n)| (n.op.name().to_string(), g.ty(n.inputs[0]).dtype))
        .collect()
}

// ---------------------------------------------------------------- MatMulInteger

/// `sum_k (a[b, i, k] - za(b, i)) * (b[b, k, j] - zb(b, j))` over `batch` stacked matrices.
#[allow(clippy::too_many_arguments)]
fn matmul_ref(
    a: &[i64],
    b: &[i64],
    batch: usize,
    (m, k, n): (usize, usize, usize),
    za: impl Fn(usize, usize) -> i64,
    zb: impl Fn(usize, usize) -> i64,
) -> Vec<i64> {
    let mut y = Vec::with_capacity(batch * m * n);
    for p in 0..batch {
        for i in 0..m {
            for j in 0..n {
                let s: i64 =
                    (0..k).map(|t| (a[(p * m + i) * k + t] - za(p, i)) * (b[(p * k + t) * n + j] - zb(p, j))).sum();
                y.push(s);
            }
        }
    }
    y
}

#[test]
fn matmul_integer_with_per_tensor_zero_points_matches_a_direct_loop() {
    let mut rng = StdRng::seed_from_u64(1);
    let types = [(DType::U8, DType::U8), (DType::I8, DType::I8), (DType::U8, DType::I8), (DType::I8, DType::U8)];
    for (da, db) in types {
        for (m, k, n) in [(1, 1, 1), (1, 3, 5), (3, 17, 1), (5, 5, 17), (17, 3, 3)] {
            let (ra, rb) = (range(da), range(db));
            let (a, b) = (q8(&mut rng, da, &[m, k], ra.0, ra.1), q8(&mut rng, db, &[k, n], rb.0, rb.1));
            let (za, zb) = (q8(&mut rng, da, &[], ra.0, ra.1), q8(&mut rng, db, &[1], rb.0, rb.1));
            let (y, g) = run("MatMulInteger", vec![], &[Some(&a), Some(&b), Some(&za), Some(&zb)]);
            let (zav, zbv) = (ints(&za)[0], ints(&zb)[0]);
            let want = matmul_ref(&ints(&a), &ints(&b), 1, (m, k, n), |_, _| zav, |_, _| zbv);
            assert_eq!((y.dtype(), y.shape()), (DType::I32, &[m, n][..]), "{da} {db} {m}x{k}x{n}");
            assert_eq!(ints(&y), want, "{da} {db} {m}x{k}x{n}");
            assert_eq!(product_dtypes(&g), vec![(Op::MatMul.name().to_string(), DType::I32)]);
        }
    }
}

#[test]
fn matmul_integer_without_zero_points_and_with_1d_operands() {
    let mut rng = StdRng::seed_from_u64(2);
    let (k, n) = (5, 3);
    let (a, b) = (q8(&mut rng, DType::I8, &[k], -128, 127), q8(&mut rng, DType::U8, &[k, n], 0, 255));
    let (y, _) = run("MatMulInteger", vec![], &[Some(&a), Some(&b)]);
    assert_eq!(y.shape(), &[n]);
    assert_eq!(ints(&y), matmul_ref(&ints(&a), &ints(&b), 1, (1, k, n), |_, _| 0, |_, _| 0));
    let v = q8(&mut rng, DType::U8, &[k], 0, 255);
    let zb = q8(&mut rng, DType::U8, &[], 0, 255);
    let (y, _) = run("MatMulInteger", vec![], &[Some(&a), Some(&v), None, Some(&zb)]);
    assert_eq!(y.shape(), &[] as &[usize]);
    let zbv = ints(&zb)[0];
    assert_eq!(ints(&y), matmul_ref(&ints(&a), &ints(&v), 1, (1, k, 1), |_, _| 0, |_, _| zbv));
}

#[test]
fn matmul_integer_per_row_and_per_column_zero_points() {
    let mut rng = StdRng::seed_from_u64(3);
    for d in [DType::U8, DType::I8] {
        let r = range(d);
        for (m, k, n) in [(3, 3, 3), (5, 17, 3), (17, 1, 5)] {
            let (a, b) = (q8(&mut rng, d, &[m, k], r.0, r.1), q8(&mut rng, d, &[k, n], r.0, r.1));
            let (za, zb) = (q8(&mut rng, d, &[m], r.0, r.1), q8(&mut rng, d, &[n], r.0, r.1));
            let (y, _) = run("MatMulInteger", vec![], &[Some(&a), Some(&b), Some(&za), Some(&zb)]);
            let (zav, zbv) = (ints(&za), ints(&zb));
            let want = matmul_ref(&ints(&a), &ints(&b), 1, (m, k, n), |_, i| zav[i], |_, j| zbv[j]);
            assert_eq!(ints(&y), want, "{d} {m}x{k}x{n}");
        }
        // Batched: zero points [D, M, 1] and [D, 1, N].
        let (p, m, k, n) = (3, 5, 17, 3);
        let (a, b) = (q8(&mut rng, d, &[p, m, k], r.0, r.1), q8(&mut rng, d, &[p, k, n], r.0, r.1));
        let (za, zb) = (q8(&mut rng, d, &[p, m, 1], r.0, r.1), q8(&mut rng, d, &[p, 1, n], r.0, r.1));
        let (y, _) = run("MatMulInteger", vec![], &[Some(&a), Some(&b), Some(&za), Some(&zb)]);
        let (zav, zbv) = (ints(&za), ints(&zb));
        let want = matmul_ref(&ints(&a), &ints(&b), p, (m, k, n), |q, i| zav[q * m + i], |q, j| zbv[q * n + j]);
        assert_eq!(y.shape(), &[p, m, n]);
        assert_eq!(ints(&y), want, "{d} batched");
    }
}

#[test]
fn matmul_integer_large_k_is_exact_where_f32_accumulation_is_not() {
    let mut rng = StdRng::seed_from_u64(4);
    let (m, k, n) = (3, 4000, 5);
    let (a, b) = (q8(&mut rng, DType::U8, &[m, k], 240, 255), q8(&mut rng, DType::U8, &[k, n], 240, 255));
    let (y, g) = run("MatMulInteger", vec![], &[Some(&a), Some(&b)]);
    let want = matmul_ref(&ints(&a), &ints(&b), 1, (m, k, n), |_, _| 0, |_, _| 0);
    assert_eq!(ints(&y), want);
    // The sums pass 2^24, so an f32 accumulator would have rounded them.
    let (av, bv) = (a.to_f64_vec(), b.to_f64_vec());
    let f32_sum = (0..k).fold(0f32, |s, t| s + (av[t] * bv[t * n]) as f32);
    assert!(want[0] > 1 << 24 && f32_sum as i64 != want[0], "{} vs {f32_sum}", want[0]);
    assert_eq!(product_dtypes(&g), vec![(Op::MatMul.name().to_string(), DType::I32)]);
}

#[test]
fn matmul_integer_rejects_bad_zero_points_and_types() {
    let a = Tensor::from_vec(vec![3, 5], vec![1u8; 15]);
    let b = Tensor::from_vec(vec![5, 2], vec![1u8; 10]);
    let e =
        import_error("MatMulInteger", vec![], &[Some(&a), Some(&b), Some(&Tensor::from_vec(vec![4], vec![0u8; 4]))]);
    assert!(e.contains("(MatMulInteger)") && e.contains("input 'x2'") && e.contains("granularity"), "{e}");
    let e = import_error("MatMulInteger", vec![], &[Some(&a), Some(&b), Some(&Tensor::from_vec(vec![], vec![0i8]))]);
    assert!(e.contains("input 'x2'") && e.contains("dtype i8"), "{e}");
    let f = f32s(&[5, 2], &[0.0; 10]);
    let e = import_error("MatMulInteger", vec![], &[Some(&a), Some(&f)]);
    assert!(e.contains("input 'x1'") && e.contains("uint8 or int8"), "{e}");
    let b4 = Tensor::from_vec(vec![4, 2], vec![1u8; 8]);
    let e = import_error("MatMulInteger", vec![], &[Some(&a), Some(&b4)]);
    assert!(e.contains("(MatMulInteger)") && e.contains("inner dims"), "{e}");
}

// ---------------------------------------------------------------- ConvInteger / QLinearConv

/// One integer convolution: shapes and resolved attributes (begin-then-end pads).
#[derive(Clone, Debug)]
struct Case {
    x: Vec<usize>,
    w: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads: Vec<usize>,
    group: usize,
    /// `auto_pad` to pass instead of `pads` (the pads above are what it must resolve to).
    auto_pad: Option<&'static str>,
}

impl Case {
    fn new(x: &[usize], w: &[usize]) -> Case {
        let r = x.len() - 2;
        Case {
            x: x.to_vec(),
            w: w.to_vec(),
            strides: vec![1; r],
            dilations: vec![1; r],
            pads: vec![0; 2 * r],
            group: 1,
            auto_pad: None,
        }
    }
    fn attrs(&self) -> Vec<AttributeProto> {
        let v = |s: &[usize]| s.iter().map(|&d| d as i64).collect::<Vec<_>>();
        let mut a = vec![a_ints("strides", &v(&self.strides)), a_ints("dilations", &v(&self.dilations))];
        a.push(a_int("group", self.group as i64));
        match self.auto_pad {
            Some(p) => a.push(a_str("auto_pad", p)),
            None => a.push(a_ints("pads", &v(&self.pads))),
        }
        a
    }
    fn out(&self) -> Vec<usize> {
        let r = self.x.len() - 2;
        let mut o = vec![self.x[0], self.w[0]];
        for i in 0..r {
            let span = (self.w[2 + i] - 1) * self.dilations[i] + 1;
            o.push((self.x[2 + i] + self.pads[i] + self.pads[r + i] - span) / self.strides[i] + 1);
        }
        o
    }
}

fn unravel(mut i: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        idx[d] = i % dims[d];
        i /= dims[d];
    }
    idx
}

/// The direct convolution loop of the reference on centred operands: `x - zx` (zero
/// padding of the centred input) times `w - zw[m]`.
fn conv_ref(c: &Case, x: &[i64], w: &[i64], zx: i64, zw: &dyn Fn(usize) -> i64) -> Vec<i64> {
    let (r, out) = (c.x.len() - 2, c.out());
    let (ch, m) = (c.x[1], c.w[0]);
    let (cg, mg) = (ch / c.group, m / c.group);
    let (spatial, kernel) = (&c.x[2..], &c.w[2..]);
    let (positions, kvol): (usize, usize) = (out[2..].iter().product(), kernel.iter().product());
    let plane: usize = spatial.iter().product();
    let mut y = Vec::new();
    for n in 0..c.x[0] {
        for oc in 0..m {
            let grp = oc / mg;
            for l in 0..positions {
                let o = unravel(l, &out[2..]);
                let mut s = 0i64;
                for ci in 0..cg {
                    let ic = grp * cg + ci;
                    for kk in 0..kvol {
                        let kx = unravel(kk, kernel);
                        let mut flat = 0usize;
                        let mut inside = true;
                        for a in 0..r {
                            let p = (o[a] * c.strides[a] + kx[a] * c.dilations[a]) as i64 - c.pads[a] as i64;
                            inside &= p >= 0 && (p as usize) < spatial[a];
                            flat = flat * spatial[a] + p.max(0) as usize;
                        }
                        if inside {
                            let xv = x[(n * ch + ic) * plane + flat] - zx;
                            s += xv * (w[(oc * cg + ci) * kvol + kk] - zw(oc));
                        }
                    }
                }
                y.push(s);
            }
        }
    }
    y
}

/// The ConvInteger / QLinearConv geometries: odd sizes, channels not multiples of 4, pads,
/// strides, dilations, groups, 1-D/2-D/3-D and auto_pad.
fn cases() -> Vec<Case> {
    let mut v = vec![Case::new(&[1, 1, 1, 1], &[1, 1, 1, 1]), Case::new(&[1, 3, 5, 5], &[5, 3, 3, 3])];
    let mut c = Case::new(&[2, 3, 5, 17], &[5, 3, 2, 3]);
    (c.pads, c.strides) = (vec![1, 2, 0, 1], vec![2, 3]);
    v.push(c);
    let mut c = Case::new(&[1, 5, 17, 5], &[3, 5, 3, 1]);
    (c.dilations, c.pads) = (vec![3, 1], vec![2, 0, 1, 1]);
    v.push(c);
    let mut c = Case::new(&[1, 6, 5, 5], &[9, 2, 3, 3]);
    (c.group, c.pads, c.strides) = (3, vec![1, 1, 1, 1], vec![2, 1]);
    v.push(c);
    let mut c = Case::new(&[3, 5, 17], &[5, 1, 3]);
    (c.group, c.dilations, c.pads) = (5, vec![2], vec![3, 2]);
    v.push(c);
    let mut c = Case::new(&[1, 3, 3, 5, 3], &[1, 3, 2, 3, 1]);
    (c.pads, c.strides) = (vec![1, 0, 1, 0, 1, 0], vec![1, 2, 1]);
    v.push(c);
    let mut c = Case::new(&[1, 3, 5, 6], &[2, 3, 3, 2]);
    (c.auto_pad, c.strides, c.pads) = (Some("SAME_UPPER"), vec![2, 2], vec![1, 0, 1, 0]);
    v.push(c);
    let mut c = Case::new(&[1, 3, 5, 6], &[2, 3, 3, 2]);
    (c.auto_pad, c.strides, c.dilations, c.pads) = (Some("SAME_LOWER"), vec![1, 2], vec![1, 2], vec![1, 1, 1, 0]);
    v.push(c);
    let mut c = Case::new(&[1, 3, 5, 6], &[2, 3, 3, 2]);
    (c.auto_pad, c.pads) = (Some("VALID"), vec![0; 4]);
    v.push(c);
    v
}

#[test]
fn conv_integer_matches_a_direct_loop() {
    let mut rng = StdRng::seed_from_u64(5);
    for (i, c) in cases().into_iter().enumerate() {
        for (dx, dw) in [(DType::U8, DType::U8), (DType::I8, DType::I8), (DType::U8, DType::I8)] {
            for per_channel in [false, true] {
                let (rx, rw) = (range(dx), range(dw));
                let x = q8(&mut rng, dx, &c.x, rx.0, rx.1);
                let w = q8(&mut rng, dw, &c.w, rw.0, rw.1);
                let zx = q8(&mut rng, dx, &[], rx.0, rx.1);
                let zw = q8(&mut rng, dw, if per_channel { &c.w[..1] } else { &[] }, rw.0, rw.1);
                let (y, g) = run("ConvInteger", c.attrs(), &[Some(&x), Some(&w), Some(&zx), Some(&zw)]);
                let zwv = ints(&zw);
                let zwf = |m: usize| if per_channel { zwv[m] } else { zwv[0] };
                let want = conv_ref(&c, &ints(&x), &ints(&w), ints(&zx)[0], &zwf);
                let what = format!("case {i} {c:?} {dx} {dw} per_channel={per_channel}");
                assert_eq!((y.dtype(), y.shape()), (DType::I32, &c.out()[..]), "{what}");
                assert_eq!(ints(&y), want, "{what}");
                assert_eq!(product_dtypes(&g), vec![(Op::MatMul.name().to_string(), DType::I32)], "{what}");
            }
        }
    }
}

#[test]
fn conv_integer_without_zero_points() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut c = Case::new(&[1, 3, 5, 5], &[3, 3, 3, 3]);
    c.pads = vec![1, 1, 1, 1];
    let x = q8(&mut rng, DType::U8, &c.x, 0, 255);
    let w = q8(&mut rng, DType::U8, &c.w, 0, 255);
    let (y, _) = run("ConvInteger", c.attrs(), &[Some(&x), Some(&w)]);
    assert_eq!(ints(&y), conv_ref(&c, &ints(&x), &ints(&w), 0, &|_| 0));
}

#[test]
fn conv_integer_large_k_is_exact() {
    // K = 250 channels * 4 * 4 = 4,000 products near 255 * 255: sums near 2.6e8 > 2^24.
    let mut rng = StdRng::seed_from_u64(7);
    let mut c = Case::new(&[1, 250, 5, 4], &[3, 250, 4, 4]);
    c.pads = vec![0, 0, 0, 0];
    let x = q8(&mut rng, DType::U8, &c.x, 245, 255);
    let w = q8(&mut rng, DType::U8, &c.w, 245, 255);
    let zero = Tensor::from_vec(vec![], vec![0u8]);
    let (y, g) = run("ConvInteger", c.attrs(), &[Some(&x), Some(&w), Some(&zero), Some(&zero)]);
    let want = conv_ref(&c, &ints(&x), &ints(&w), 0, &|_| 0);
    assert!(want.iter().all(|&s| s > 1 << 24), "{want:?}");
    assert_eq!(ints(&y), want);
    assert_eq!(product_dtypes(&g), vec![(Op::MatMul.name().to_string(), DType::I32)]);
}

/// QLinearConv's reference requantization of the accumulator `acc` (bias included) for output
/// channel `m`: `x_scale * w_scale / y_scale` in f32, the rest in f64, clip, round half even.
fn requantize(acc: i64, mult: f32, zy: i64, signed: bool) -> i64 {
    let r = acc as f64 * mult as f64 + zy as f64;
    let (lo, hi) = if signed { (-128.0, 127.0) } else { (0.0, 255.0) };
    r.clamp(lo, hi).round_ties_even() as i64
}

#[test]
fn qlinear_conv_matches_the_reference_requantization() {
    let mut rng = StdRng::seed_from_u64(8);
    for (i, c) in cases().into_iter().enumerate() {
        for d in [DType::U8, DType::I8] {
            for per_channel in [false, true] {
                let r = range(d);
                let m = c.w[0];
                let x = q8(&mut rng, d, &c.x, r.0, r.1);
                let w = q8(&mut rng, d, &c.w, r.0, r.1);
                let zx = q8(&mut rng, d, &[], r.0, r.1);
                let zy = q8(&mut rng, d, &[], r.0, r.1);
                let wn = if per_channel { m } else { 1 };
                let zw = q8(&mut rng, d, &c.w[..1][..per_channel as usize], r.0, r.1);
                let xs = f32s(&[], &[rng.gen_range(0.01..0.1)]);
                let ws_v: Vec<f32> = (0..wn).map(|_| rng.gen_range(0.001..0.01)).collect();
                let ws = f32s(&[wn][..per_channel as usize], &ws_v);
                let ys = f32s(&[], &[rng.gen_range(0.5..2.0)]);
                let bias: Vec<i32> = (0..m).map(|_| rng.gen_range(-5000..5000)).collect();
                let b = Tensor::from_vec(vec![m], bias.clone());
                let ins = [&x, &xs, &zx, &w, &ws, &zw, &ys, &zy, &b].map(Some);
                let (y, _) = run("QLinearConv", c.attrs(), &ins);
                let zwv = ints(&zw);
                let zwf = |o: usize| if per_channel { zwv[o] } else { zwv[0] };
                let acc = conv_ref(&c, &ints(&x), &ints(&w), ints(&zx)[0], &zwf);
                let positions: usize = c.out()[2..].iter().product();
                let xsv = xs.to_f64_vec()[0] as f32;
                let ysv = ys.to_f64_vec()[0] as f32;
                let want: Vec<i64> = acc
                    .iter()
                    .enumerate()
                    .map(|(k, &s)| {
                        let o = k / positions % m;
                        let mult = xsv * ws_v[if per_channel { o } else { 0 }] / ysv;
                        requantize(s + bias[o] as i64, mult, ints(&zy)[0], d == DType::I8)
                    })
                    .collect();
                let what = format!("case {i} {c:?} {d} per_channel={per_channel}");
                assert_eq!((y.dtype(), y.shape()), (d, &c.out()[..]), "{what}");
                assert_eq!(ints(&y), want, "{what}");
            }
        }
    }
}

#[test]
fn qlinear_conv_rounds_half_to_even_and_saturates() {
    // x_scale 0.5 makes every odd accumulator a tie; values far from zero saturate.
    let x = Tensor::from_vec(vec![1, 1, 1, 9], vec![1u8, 3, 5, 7, 9, 11, 0, 255, 200]);
    let w = Tensor::from_vec(vec![1, 1, 1, 1], vec![1u8]);
    let (zx, zw, zy) = (
        Tensor::from_vec(vec![], vec![0u8]),
        Tensor::from_vec(vec![1], vec![0u8]),
        Tensor::from_vec(vec![], vec![10u8]),
    );
    let (xs, ws, ys) = (f32s(&[], &[0.5]), f32s(&[1], &[1.0]), f32s(&[], &[1.0]));
    let big = f32s(&[], &[2.0]);
    let (y, _) = run("QLinearConv", vec![], &[&x, &xs, &zx, &w, &ws, &zw, &ys, &zy].map(Some));
    // 10.5 -> 10, 11.5 -> 12, 12.5 -> 12, 13.5 -> 14, 14.5 -> 14, 15.5 -> 16; 137.5 -> 138.
    assert_eq!(ints(&y), vec![10, 12, 12, 14, 14, 16, 10, 138, 110]);
    let (y, _) = run("QLinearConv", vec![], &[&x, &big, &zx, &w, &ws, &zw, &ys, &zy].map(Some));
    assert_eq!(ints(&y), vec![12, 16, 20, 24, 28, 32, 10, 255, 255]);
}

#[test]
fn qlinear_conv_large_k_is_exact() {
    // Accumulators near 2.6e8 with a multiplier that keeps the low bits significant: an f32
    // accumulator (24-bit) would be off by far more than one quantization step.
    let mut rng = StdRng::seed_from_u64(9);
    let c = Case::new(&[1, 250, 4, 4], &[2, 250, 4, 4]);
    let x = q8(&mut rng, DType::U8, &c.x, 245, 255);
    let w = q8(&mut rng, DType::U8, &c.w, 245, 255);
    let (zx, zw) = (Tensor::from_vec(vec![], vec![0u8]), Tensor::from_vec(vec![], vec![0u8]));
    // Centre the output: subtract most of the sum through the bias.
    let acc = conv_ref(&c, &ints(&x), &ints(&w), 0, &|_| 0);
    let bias: Vec<i32> = acc.iter().map(|&s| -(s as i32) + 100 + (s % 7) as i32).collect();
    let b = Tensor::from_vec(vec![2], bias.clone());
    let (xs, ws, ys, zy) =
        (f32s(&[], &[1.0]), f32s(&[], &[1.0]), f32s(&[], &[1.0]), Tensor::from_vec(vec![], vec![0u8]));
    let (y, g) = run("QLinearConv", c.attrs(), &[&x, &xs, &zx, &w, &ws, &zw, &ys, &zy, &b].map(Some));
    let want: Vec<i64> = acc.iter().zip(&bias).map(|(&s, &b)| requantize(s + b as i64, 1.0, 0, false)).collect();
    assert_eq!(ints(&y), want);
    assert!(acc.iter().all(|&s| s > 1 << 24));
    assert_eq!(product_dtypes(&g), vec![(Op::MatMul.name().to_string(), DType::I32)]);
}

#[test]
fn conv_errors_name_the_node_and_the_input_or_attribute() {
    let x = Tensor::from_vec(vec![1, 4, 5, 5], vec![0u8; 100]);
    let w = Tensor::from_vec(vec![3, 2, 3, 3], vec![0u8; 54]);
    let zx = Tensor::from_vec(vec![], vec![0u8]);
    let e = import_error("ConvInteger", vec![a_int("group", 2)], &[Some(&x), Some(&w)]);
    assert!(e.contains("(ConvInteger), attribute 'group'"), "{e}");
    let e = import_error("ConvInteger", vec![a_int("group", 0)], &[Some(&x), Some(&w)]);
    assert!(e.contains("attribute 'group'"), "{e}");
    let w4 = Tensor::from_vec(vec![3, 4, 3, 3], vec![0u8; 108]);
    let zw = Tensor::from_vec(vec![2], vec![0u8; 2]);
    let e = import_error("ConvInteger", vec![], &[Some(&x), Some(&w4), Some(&zx), Some(&zw)]);
    assert!(e.contains("input 'x3'") && e.contains("granularity"), "{e}");
    let e = import_error("ConvInteger", vec![], &[Some(&x), Some(&w4), Some(&Tensor::from_vec(vec![2], vec![0u8; 2]))]);
    assert!(e.contains("input 'x2'") && e.contains("granularity"), "{e}");
    let e = import_error("ConvInteger", vec![a_ints("strides", &[1, 0])], &[Some(&x), Some(&w4)]);
    assert!(e.contains("attribute 'strides'"), "{e}");
    let e = import_error("ConvInteger", vec![a_ints("kernel_shape", &[2, 2])], &[Some(&x), Some(&w4)]);
    assert!(e.contains("attribute 'kernel_shape'"), "{e}");
    let e = import_error("ConvInteger", vec![a_ints("dilations", &[3, 3])], &[Some(&x), Some(&w4)]);
    assert!(e.contains("(ConvInteger)") && e.contains("does not fit"), "{e}");
    let e = import_error("ConvInteger", vec![a_str("auto_pad", "SAME")], &[Some(&x), Some(&w4)]);
    assert!(e.contains("attribute 'auto_pad'"), "{e}");
    let e = import_error("ConvInteger", vec![a_ints("pads", &[1, 1])], &[Some(&x), Some(&w4)]);
    assert!(e.contains("attribute 'pads'"), "{e}");
    let w3 = Tensor::from_vec(vec![3, 4, 3], vec![0u8; 36]);
    let e = import_error("ConvInteger", vec![], &[Some(&x), Some(&w3)]);
    assert!(e.contains("input 'x1'") && e.contains("same rank"), "{e}");
}

#[test]
fn qlinear_conv_errors_name_the_node_and_the_input() {
    let x = Tensor::from_vec(vec![1, 2, 3, 3], vec![0u8; 18]);
    let w = Tensor::from_vec(vec![3, 2, 1, 1], vec![0u8; 6]);
    let z = Tensor::from_vec(vec![], vec![0u8]);
    let s = f32s(&[], &[1.0]);
    let ws2 = f32s(&[2], &[1.0, 1.0]);
    let e = import_error("QLinearConv", vec![], &[&x, &s, &z, &w, &ws2, &z, &s, &z].map(Some));
    assert!(e.contains("(QLinearConv), input 'x4'") && e.contains("per output channel"), "{e}");
    let e = import_error("QLinearConv", vec![], &[&x, &ws2, &z, &w, &s, &z, &s, &z].map(Some));
    assert!(e.contains("input 'x1'") && e.contains("one element"), "{e}");
    let b = Tensor::from_vec(vec![2], vec![0i32; 2]);
    let e = import_error("QLinearConv", vec![], &[&x, &s, &z, &w, &s, &z, &s, &z, &b].map(Some));
    assert!(e.contains("input 'x8'") && e.contains("[3]"), "{e}");
    let bf = f32s(&[3], &[0.0; 3]);
    let e = import_error("QLinearConv", vec![], &[&x, &s, &z, &w, &s, &z, &s, &z, &bf].map(Some));
    assert!(e.contains("input 'x8'") && e.contains("int32"), "{e}");
    let zi = Tensor::from_vec(vec![], vec![0i8]);
    let e = import_error("QLinearConv", vec![], &[&x, &s, &zi, &w, &s, &z, &s, &z].map(Some));
    assert!(e.contains("input 'x2'") && e.contains("dtype i8"), "{e}");
}

#[test]
fn an_oversized_window_table_is_refused() {
    // Shapes only: the import never evaluates, so the graph inputs can be huge.
    let mut m = ModelBuilder::new(10)
        .input_typed("x", elem(DType::U8), vec![Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(5000), Dim::Fixed(5000)])
        .input_typed("w", elem(DType::U8), vec![Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(3), Dim::Fixed(3)]);
    m = m.node_attrs("ConvInteger", &["x", "w"], &["y"], vec![a_ints("pads", &[1, 1, 1, 1])]).output("y");
    let e = m.import().map(|_| ()).unwrap_err().to_string();
    assert!(e.contains("(ConvInteger)") && e.contains("exceed"), "{e}");
}
