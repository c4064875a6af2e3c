//! Helpers shared by the reference-evaluator tests that compare against values pasted from the
//! ONNX reference evaluator and onnxruntime (`eval_movement`, `eval_nn`, `eval_resize`).
//!
//! The inputs must be built by the same formula as the Python generator, so that formula lives
//! in exactly one place here; so does the comparison rule (exact at `tol` 0, NaN matches NaN).

use kiln_ir::*;

/// Element `i` is `((i*37 + seed*11) % 23 - 11) / 8`, as f32: the Python generator's formula.
pub fn data(shape: &[usize], seed: usize) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| (((i * 37 + seed * 11) % 23) as f32 - 11.0) / 8.0).collect();
    Tensor::from_vec(shape.to_vec(), v)
}

/// An expected result: shape, dtype, values (as f64).
pub type Want<'a> = (&'a [usize], DType, &'a [f64]);

/// Runs `op` and compares every result with `want`: exactly when `tol` is 0, else within
/// `tol` relative plus `tol` absolute; NaN matches NaN.
pub fn check(op: &Op, ins: &[Tensor], want: &[Want], tol: f64) {
    let refs: Vec<&Tensor> = ins.iter().collect();
    let got = eval_op(op, &refs).unwrap_or_else(|e| panic!("{op:?}: {e}"));
    assert_eq!(got.len(), want.len(), "result count");
    for (k, (g, (shape, dtype, vals))) in got.iter().zip(want).enumerate() {
        assert_eq!(g.shape(), *shape, "result {k} shape");
        assert_eq!(g.dtype(), *dtype, "result {k} dtype");
        let gv = g.to_f64_vec();
        assert_eq!(gv.len(), vals.len());
        for (i, (&a, &b)) in gv.iter().zip(vals.iter()).enumerate() {
            let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * (1.0 + b.abs());
            assert!(ok, "result {k} element {i}: got {a}, want {b}\n got {gv:?}");
        }
    }
}
