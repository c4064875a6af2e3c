//! Rule family `layout`: rewrites that change how a conv's data is laid out and computed.
//!
//! Today one rewrite, `conv-to-winograd`: a 3x3, stride-1, ungrouped f32 conv becomes
//! Winograd F(2x2, 3x3) (as MNN and ncnn choose per layer):
//! `WinogradOutput(MatMul(U, WinogradInput(x)), b)`, where the input transform re-lays the
//! activations out as 4x4 tiles in the transform domain (`[16, C, tiles]`), `U = G w G^T` is the
//! weights in that domain (`[16, M, C]`, folded at compile time, memoised by the weight constant),
//! and the batched MatMul does 2.25x fewer multiplications than the direct conv. Whether it
//! pays depends on the shape (the transforms are memory-bound, small channel counts favour the
//! direct kernel); the cost model decides per layer. The output transform is a fusable base, so
//! bias, BatchNorm-as-affine, activations and residual adds still fuse into its stores.
//!
//! FIXME(layout): channel-blocked NCHW4c/NCHW8c and NHWC regions (with conversions at region
//! borders cancelled by the algebra rules' transpose/reshape pairs) need conv and pool kernels
//! for those layouts, which the backend does not have yet.

use crate::egraph::{children, const_key, constant, rule, ty, EGraph, Rewrite, TensorLang, Term};
use egg::Id;
use kiln_ir::winograd::{winograd_ops, winograd_weights};
use kiln_ir::Op;

/// The family's rules.
pub fn rules() -> Vec<Rewrite> {
    vec![rule("conv-to-winograd", conv_to_winograd)]
}

/// `conv-to-winograd`.
fn conv_to_winograd(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Conv(attrs)) = node.op() else { return None };
    let ch = children(eg, node);
    let (x, w) = (*ch.first()?, *ch.get(1)?);
    let (input_op, output_op) = winograd_ops(attrs, ty(eg, x)?, ty(eg, w)?)?;
    let weights = constant(eg, w)?;
    let mut t = Term::new();
    let u = t.derived(eg, format!("winograd-u:{}", const_key(eg, w)?), || winograd_weights(weights).ok())?;
    let xr = t.class(x);
    let v = t.op(input_op, &[xr]);
    let m = t.op(Op::MatMul, &[u, v]);
    let mut outputs = vec![m];
    outputs.extend(ch.get(2).map(|&b| t.class(b)));
    t.op(output_op, &outputs);
    Some(t)
}
