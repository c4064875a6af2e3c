//! Kernel family `matmul`: `Gemm` and `MatMul` (batched, numpy-broadcast batch dims).
//!
//! Both reduce to one strided GEMM core ([`gemm`]) on `out[M,N] = alpha * A[M,K] B[K,N] + beta*C`
//! where A, B and C are addressed through element strides (transposes are stride swaps, a
//! broadcast C has stride 0). f32 uses register-blocked f32x4 micro-kernels ([`tiles`]); f64 and
//! the integer types use a scalar triple loop ([`scalar`]). The conv family reuses [`gemm`] for
//! 1x1 convolutions. Every path applies an optional fused epilogue (`Op::Fused`, see
//! `crate::kernels::fused`) in registers right before its store, at coordinates (row, column). Every path applies an optional fused epilogue (`Op::Fused`, see
//! `crate::kernels::fused`) in registers right before its store, at view coordinates (row, column).

mod scalar;
mod tiles;

use crate::emit::{addr, c64};
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::fused::epilogue::FusedEpilogue;
use crate::loops::for_count;
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use kiln_ir::{DType, Op};

/// The operand layout of one GEMM: sizes and element strides (row, column) of A and B.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GemmShape {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a_strides: (i64, i64),
    pub b_strides: (i64, i64),
}

/// What is applied to each accumulated dot product before the store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epilogue<'f> {
    pub alpha: f32,
    pub beta: f32,
    /// C pointer and its element strides over (row, column); 0 where C is broadcast.
    pub c: Option<(Value, (i64, i64))>,
    /// A fused elementwise epilogue over the view `[M, N]`, applied after `alpha*AB + beta*C`.
    pub fused: Option<&'f FusedEpilogue>,
}

impl Epilogue<'_> {
    pub fn plain() -> Epilogue<'static> {
        Epilogue { alpha: 1.0, beta: 1.0, c: None, fused: None }
    }

    /// Applies the fused epilogue, if any, to `val` at output (row `i`, column `j`).
    pub fn apply_fused(&self, b: &mut FunctionBuilder, val: Value, i: Value, j: Value) -> Value {
        match self.fused {
            Some(f) => f.apply(b, val, &[i, j]),
            None => val,
        }
    }
}

/// Emits `out = epilogue(A B)` for one matrix product; `out` is dense `[m, n]`.
pub(crate) fn gemm(cx: &mut KernelCtx, dtype: DType, a: Value, b: Value, out: Value, s: &GemmShape, e: &Epilogue) {
    if dtype == DType::F32 {
        tiles::gemm_f32(cx, a, b, out, s, e)
    } else {
        scalar::gemm_scalar(cx.b, dtype, a, b, out, s, e)
    }
}

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    emit_with(cx, spec, None).map(|_| ())
}

/// Emits `spec` with the fused epilogue `fused` (over the output's dimensions) applied before
/// every store; returns whether it was (always, on every matmul path).
pub(crate) fn emit_with(cx: &mut KernelCtx, spec: &KernelSpec, fused: Option<&FusedEpilogue>) -> Result<bool> {
    let arity = if matches!(spec.op, Op::Gemm { .. }) { 2..=3 } else { 2..=2 };
    if !arity.contains(&spec.inputs.len()) {
        return Err(spec.unsupported(format!("{} inputs", spec.inputs.len())));
    }
    let dtype = spec.inputs[0].dtype;
    if !matches!(dtype, DType::F32 | DType::F64 | DType::I32 | DType::I64) {
        return Err(spec.unsupported(format!("dtype {dtype} (supported: f32, f64, i32, i64)")));
    }
    if spec.inputs.iter().any(|t| t.dtype != dtype) {
        return Err(spec.unsupported("operands of different dtypes"));
    }
    match &spec.op {
        Op::Gemm { alpha, beta, trans_a, trans_b } => {
            let e = Epilogue { alpha: alpha.get(), beta: beta.get(), c: None, fused };
            emit_gemm(cx, spec, dtype, e, *trans_a, *trans_b)?
        }
        _ => emit_matmul(cx, spec, dtype, fused)?,
    }
    Ok(true)
}

fn emit_gemm(cx: &mut KernelCtx, spec: &KernelSpec, dtype: DType, e: Epilogue, ta: bool, tb: bool) -> Result<()> {
    let (sa, sb) = (&spec.inputs[0].shape, &spec.inputs[1].shape);
    if sa.len() != 2 || sb.len() != 2 {
        return Err(spec.unsupported("gemm operands must be 2-D"));
    }
    let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
    let n = if tb { sb[0] } else { sb[1] };
    let a_strides = if ta { (1, m as i64) } else { (k as i64, 1) };
    let b_strides = if tb { (1, k as i64) } else { (n as i64, 1) };
    let c = match spec.inputs.get(2) {
        Some(ct) => Some((
            cx.inputs[2],
            broadcast_strides(&ct.shape, m, n).ok_or_else(|| {
                spec.unsupported(format!("C of shape {:?} does not broadcast to [{m}, {n}]", ct.shape))
            })?,
        )),
        None => None,
    };
    let shape = GemmShape { m, n, k, a_strides, b_strides };
    let (a, b, out) = (cx.inputs[0], cx.inputs[1], cx.outputs[0]);
    gemm(cx, dtype, a, b, out, &shape, &Epilogue { c, ..e });
    Ok(())
}

/// Element strides of a C of `shape` broadcast to `[m, n]`.
fn broadcast_strides(shape: &[usize], m: usize, n: usize) -> Option<(i64, i64)> {
    match shape {
        [] => Some((0, 0)),
        [d] if *d == n => Some((0, 1)),
        [1] => Some((0, 0)),
        [r, c] if (*r == m || *r == 1) && (*c == n || *c == 1) => {
            let col = if *c == n && n != 1 { 1 } else { 0 };
            let row = if *r == m && m != 1 { *c as i64 } else { 0 };
            Some((row, col))
        }
        _ => None,
    }
}

fn emit_matmul(cx: &mut KernelCtx, spec: &KernelSpec, dtype: DType, fused: Option<&FusedEpilogue>) -> Result<()> {
    let (sa, sb, so) = (&spec.inputs[0].shape, &spec.inputs[1].shape, &spec.outputs[0].shape);
    if sa.len() < 2 || sb.len() < 2 {
        return Err(spec.unsupported("matmul operands must have rank >= 2"));
    }
    let (m, k, n) = (sa[sa.len() - 2], sa[sa.len() - 1], sb[sb.len() - 1]);
    let shape = GemmShape { m, n, k, a_strides: (k as i64, 1), b_strides: (n as i64, 1) };
    let out_batch = &so[..so.len() - 2];
    let batches: usize = out_batch.iter().product();
    let a_bs = batch_strides(&sa[..sa.len() - 2], out_batch, m * k);
    let b_bs = batch_strides(&sb[..sb.len() - 2], out_batch, k * n);
    let size = dtype.size() as i64;
    let (a0, b0, o0) = (cx.inputs[0], cx.inputs[1], cx.outputs[0]);
    let lead = out_batch.len();
    if batches == 1 {
        let zero = c64(cx.b, 0);
        let view = fused.map(|f| f.rebase(cx.b, zero, lead));
        gemm(cx, dtype, a0, b0, o0, &shape, &Epilogue { fused: view.as_ref(), ..Epilogue::plain() });
        return Ok(());
    }
    // The batch loop body is emitted once; FunctionBuilder is reborrowed through the ctx.
    let (has_fma, has_round, ptr) = (cx.has_fma, cx.has_vector_round, cx.ptr);
    for_count(cx.b, 0, batches as i64, 1, |b, bi| {
        let a_off = broadcast_offset(b, bi, out_batch, &a_bs);
        let b_off = broadcast_offset(b, bi, out_batch, &b_bs);
        let a = addr(b, a0, a_off, size);
        let bb = addr(b, b0, b_off, size);
        let o_off = b.ins().imul_imm_s(bi, (m * n) as i64);
        let o = addr(b, o0, o_off, size);
        let view = fused.map(|f| f.rebase(b, bi, lead));
        let mut inner = KernelCtx { b, ptr, inputs: vec![], outputs: vec![], has_fma, has_vector_round: has_round };
        gemm(&mut inner, dtype, a, bb, o, &shape, &Epilogue { fused: view.as_ref(), ..Epilogue::plain() });
    });
    Ok(())
}

/// Element strides of an operand's batch dims aligned to the output's, 0 where broadcast.
fn batch_strides(shape: &[usize], out: &[usize], matrix: usize) -> Vec<i64> {
    let mut strides = vec![0i64; out.len()];
    let mut s = matrix as i64;
    for (i, &d) in shape.iter().enumerate().rev() {
        let o = out.len() - shape.len() + i;
        strides[o] = if d == 1 { 0 } else { s };
        s *= d as i64;
    }
    strides
}

/// The element offset of flat output batch index `flat` in an operand with `strides`.
pub(crate) fn broadcast_offset(b: &mut FunctionBuilder, flat: Value, dims: &[usize], strides: &[i64]) -> Value {
    let mut off = c64(b, 0);
    let mut rest = flat;
    for (i, (&d, &s)) in dims.iter().zip(strides).enumerate().rev() {
        let idx = if i == 0 { rest } else { b.ins().urem_imm_s(rest, d as i64) };
        if s != 0 {
            let term = b.ins().imul_imm_s(idx, s);
            off = b.ins().iadd(off, term);
        }
        if i > 0 {
            rest = b.ins().udiv_imm_s(rest, d as i64);
        }
    }
    off
}
