//! Kernel family `conv`: f32 convolution of any spatial rank, any group count (depthwise
//! included), strides, dilations, pads and an optional bias.
//!
//! Strategies:
//! - Spatial rank >= 3 (Conv 3-D and up): the generic looped kernel ([`nd`]).
//! - 1x1, stride 1, no pads, one group: a GEMM per image (`out[M, HW] = W[M, C] X[C, HW] + b`)
//!   through the matmul family's register-blocked tiles ([`crate::kernels::matmul`]).
//! - Otherwise, when its row buffer fits the stack budget, the row-buffered direct convolution
//!   ([`padded`]): input rows copied once per output row into a zero-padded (and, for strided
//!   convs, phase-split) buffer, then an im2col row buffer and bounds-check-free register
//!   blocks of 4 channels x 8 columns, one tap per iteration (depthwise: 1 channel x 24
//!   columns, taps unrolled over the row buffer).
//! - Otherwise (huge channel counts or rows) the direct convolution ([`direct`]): blocks of up
//!   to 4 output channels of a group times 8 consecutive output columns (two f32x4), so each input vector feeds 4 fmas and each
//!   broadcast weight 2. Depthwise convs (one channel per group) get blocks of 1 channel. The
//!   kernel taps are unrolled; rows and columns whose taps all fall inside the input run without
//!   bounds checks, border rows zero the weights of out-of-range taps by a select, and border
//!   columns run a scalar checked path.
//!
//! A fused epilogue (`Op::Fused`, see `crate::kernels::fused`) is applied in registers at the
//! stores of the 1-D/2-D paths, over the view `[N, M, OH, OW]` (1x1: `[N, M, OH*OW]` when its
//! operands are linear across `OH*OW`); the N-D kernel and other 1x1 cases leave it to the
//! caller's in-place pass over the output.

pub(crate) mod direct;
mod nd;
mod padded;

use crate::emit::addr;
use crate::error::Result;
use crate::kernel::{KernelCtx, KernelSpec};
use crate::kernels::fused::epilogue::FusedEpilogue;
use crate::kernels::matmul::{gemm, Epilogue, GemmShape};
use crate::loops::for_count;
use cranelift_codegen::ir::InstBuilder;
use kiln_ir::{ConvAttrs, DType, Op};

/// Every size of a convolution, with 1-D mapped to 2-D (height 1).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvDims {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub m: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub sh: usize,
    pub sw: usize,
    pub dh: usize,
    pub dw: usize,
    pub pt: usize,
    pub pl: usize,
    pub groups: usize,
}

impl ConvDims {
    pub fn cg(&self) -> usize {
        self.c / self.groups
    }
    pub fn mg(&self) -> usize {
        self.m / self.groups
    }
}

/// Emits the kernel body of `spec`.
pub fn emit(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    emit_with(cx, spec, None).map(|_| ())
}

/// Emits `spec` with the fused epilogue `fused` (over the output's dimensions) applied in
/// registers before every store where the path supports it; returns whether it was applied
/// (false: the caller must apply it over the output afterwards).
pub(crate) fn emit_with(cx: &mut KernelCtx, spec: &KernelSpec, fused: Option<&FusedEpilogue>) -> Result<bool> {
    let Op::Conv(attrs) = &spec.op else { return Err(spec.unsupported("not a conv")) };
    if spec.inputs.iter().chain(&spec.outputs).any(|t| t.dtype != DType::F32) {
        return Err(spec.unsupported("only f32 convolution is supported"));
    }
    if spec.inputs.first().is_some_and(|x| x.shape.len() >= 5) {
        nd::emit(cx, spec, attrs)?;
        return Ok(fused.is_none());
    }
    let d = dims(spec, attrs)?;
    let bias = (spec.inputs.len() > 2).then(|| cx.inputs[2]);
    // The view every path stores through: [N, M, OH, OW] (1-D convs get a unit OH).
    let view = fused.map(|f| if spec.outputs[0].shape.len() == 3 { f.with_unit_axis(2) } else { f.clone() });
    if is_pointwise(&d) {
        let merged = view.as_ref().and_then(|v| v.merge_last_two());
        pointwise(cx, &d, bias, merged.as_ref());
        return Ok(fused.is_none() || merged.is_some());
    }
    if padded::fits(&d) {
        padded::emit(cx, &d, bias, view.as_ref());
    } else {
        direct::emit(cx, &d, bias, view.as_ref());
    }
    Ok(true)
}

fn dims(spec: &KernelSpec, a: &ConvAttrs) -> Result<ConvDims> {
    let (xs, ws, os) = (&spec.inputs[0].shape, &spec.inputs[1].shape, &spec.outputs[0].shape);
    let rank = xs.len();
    let ok = (rank == 3 || rank == 4) && ws.len() == rank && os.len() == rank;
    let sp = rank.saturating_sub(2);
    if !ok || a.kernel.len() != sp || a.strides.len() != sp || a.dilations.len() != sp || a.pads.len() != 2 * sp {
        return Err(
            spec.unsupported(format!("only 1-D and 2-D convolution (input rank {rank}, attribute lengths must match)"))
        );
    }
    if spec.inputs.len() < 2 || spec.inputs.len() > 3 {
        return Err(spec.unsupported(format!("{} inputs (expected x, w and an optional bias)", spec.inputs.len())));
    }
    if a.kernel.iter().chain(&a.strides).chain(&a.dilations).any(|&v| v == 0) {
        return Err(spec.unsupported("attributes kernel_shape, strides and dilations must be >= 1"));
    }
    if a.group == 0 || xs[1] % a.group != 0 || ws[0] % a.group != 0 || ws[1] * a.group != xs[1] {
        return Err(spec.unsupported(format!("attribute group={} does not fit channels", a.group)));
    }
    let two = |v: &[usize], i: usize, one: usize| {
        if sp == 2 {
            v[i]
        } else if i == 0 {
            one
        } else {
            v[0]
        }
    };
    Ok(ConvDims {
        n: xs[0],
        c: xs[1],
        h: two(&xs[2..], 0, 1),
        w: two(&xs[2..], 1, 1),
        m: ws[0],
        kh: two(&a.kernel, 0, 1),
        kw: two(&a.kernel, 1, 1),
        oh: two(&os[2..], 0, 1),
        ow: two(&os[2..], 1, 1),
        sh: two(&a.strides, 0, 1),
        sw: two(&a.strides, 1, 1),
        dh: two(&a.dilations, 0, 1),
        dw: two(&a.dilations, 1, 1),
        pt: if sp == 2 { a.pads[0] } else { 0 },
        pl: if sp == 2 { a.pads[1] } else { a.pads[0] },
        groups: a.group,
    })
}

fn is_pointwise(d: &ConvDims) -> bool {
    d.kh == 1
        && d.kw == 1
        && d.sh == 1
        && d.sw == 1
        && d.pt == 0
        && d.pl == 0
        && d.groups == 1
        && d.oh == d.h
        && d.ow == d.w
}

/// 1x1 convolution as one GEMM per image; `fused` is over the view `[N, M, OH*OW]`.
fn pointwise(
    cx: &mut KernelCtx,
    d: &ConvDims,
    bias: Option<cranelift_codegen::ir::Value>,
    fused: Option<&FusedEpilogue>,
) {
    let hw = d.h * d.w;
    let shape = GemmShape { m: d.m, n: hw, k: d.c, a_strides: (d.c as i64, 1), b_strides: (hw as i64, 1) };
    let (x, w, out, ptr) = (cx.inputs[0], cx.inputs[1], cx.outputs[0], cx.ptr);
    let (has_fma, has_round) = (cx.has_fma, cx.has_vector_round);
    let d = *d;
    for_count(cx.b, 0, d.n as i64, 1, |b, n| {
        let xo = b.ins().imul_imm_s(n, (d.c * hw) as i64);
        let xn = addr(b, x, xo, 4);
        let oo = b.ins().imul_imm_s(n, (d.m * hw) as i64);
        let on = addr(b, out, oo, 4);
        let view = fused.map(|f| f.rebase(b, n, 1));
        let e = Epilogue { alpha: 1.0, beta: 1.0, c: bias.map(|p| (p, (1, 0))), fused: view.as_ref() };
        let mut inner = KernelCtx { b, ptr, inputs: vec![], outputs: vec![], has_fma, has_vector_round: has_round };
        gemm(&mut inner, DType::F32, w, xn, on, &shape, &e);
    });
}
