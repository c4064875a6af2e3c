//! `conv-to-winograd`: a 3x3, stride-1, ungrouped f32 conv becomes
//! Winograd F(2x2, 3x3) or F(4x4, 3x3) (as MNN and ncnn choose per layer; both are added as
//! alternatives and the cost model picks one, or neither):
//! `WinogradOutput(MatMul(U, WinogradInput(x)), b)`, where the input transform re-lays the
//! activations out as a x a tiles in the transform domain (`[a*a, C, tiles]`, a = 4 or 6),
//! `U = G w G^T` is the weights in that domain (`[a*a, M, C]`): an `Op::WinogradWeights` node
//! on the constant weights, evaluated after extraction, so only the chosen candidates' weights
//! are ever computed (computing all of them eagerly made ResNet-18 take 760 ms to optimise), and the batched MatMul does 2.25x (F(2,3)) or 4x
//! (F(4,3)) fewer multiplications than the direct conv. Whether it
//! pays depends on the shape (the transforms are memory-bound, small channel counts favour the
//! direct kernel); the cost model decides per layer. The output transform is a fusable base, so
//! bias, BatchNorm-as-affine, activations and residual adds still fuse into its stores.

use crate::egraph::{children, constant, ty, EGraph, TensorLang, Term};
use egg::Id;
use kiln_ir::layout::{permute, to_channels_first};
use kiln_ir::winograd::{winograd_ops, TILES};
use kiln_ir::{Op, TensorType};

/// `conv-to-winograd`: one alternative per tile size (F(2,3) and F(4,3)); the cost model picks.
/// A channels-last conv gets the channels-last Winograd ops (`kiln_ir::layout`):
/// `ChannelsLast(WinogradOutput)(MatMul(ChannelsLast(WinogradInput)(x),
/// ChannelsLast(WinogradWeights)(w)), b)`, whose batched product `[a*a, T, C] x [a*a, C, M]`
/// has the output channels as its vector axis and stays inside the NHWC region.
pub(super) fn conv_to_winograd(eg: &EGraph, _class: Id, node: &TensorLang) -> Vec<Term> {
    TILES
        .iter()
        .filter_map(|&tile| winograd_term(eg, node, tile).or_else(|| nhwc_winograd_term(eg, node, tile)))
        .collect()
}

/// The channels-last form of [`winograd_term`] for a `ChannelsLast(Conv)` node.
fn nhwc_winograd_term(eg: &EGraph, node: &TensorLang, tile: usize) -> Option<Term> {
    let Some(Op::ChannelsLast(inner)) = node.op() else { return None };
    let Op::Conv(attrs) = &**inner else { return None };
    let ch = children(eg, node);
    let (x, w) = (*ch.first()?, *ch.get(1)?);
    let xt = ty(eg, x)?;
    if xt.shape.len() != 4 {
        return None;
    }
    let nchw = TensorType::new(xt.dtype, permute(&xt.shape, &to_channels_first(4)));
    let (input_op, output_op) = winograd_ops(attrs, &nchw, ty(eg, w)?, tile)?;
    constant(eg, w)?;
    let nhwc = |op: Op| Op::ChannelsLast(Box::new(op));
    let mut t = Term::new();
    let wr = t.class(w);
    let u = t.op(nhwc(Op::WinogradWeights { tile }), &[wr]);
    let xr = t.class(x);
    let v = t.op(nhwc(input_op), &[xr]);
    let m = t.op(Op::MatMul, &[v, u]);
    let mut outputs = vec![m];
    outputs.extend(ch.get(2).map(|&b| t.class(b)));
    t.op(nhwc(output_op), &outputs);
    Some(t)
}

/// `WinogradOutput(MatMul(U, WinogradInput(x)), b)` of F(tile x tile, 3x3) for the conv `node`.
fn winograd_term(eg: &EGraph, node: &TensorLang, tile: usize) -> Option<Term> {
    let Some(Op::Conv(attrs)) = node.op() else { return None };
    let ch = children(eg, node);
    let (x, w) = (*ch.first()?, *ch.get(1)?);
    let (input_op, output_op) = winograd_ops(attrs, ty(eg, x)?, ty(eg, w)?, tile)?;
    constant(eg, w)?;
    let mut t = Term::new();
    let wr = t.class(w);
    let u = t.op(Op::WinogradWeights { tile }, &[wr]);
    let xr = t.class(x);
    let v = t.op(input_op, &[xr]);
    let m = t.op(Op::MatMul, &[u, v]);
    let mut outputs = vec![m];
    outputs.extend(ch.get(2).map(|&b| t.class(b)));
    t.op(output_op, &outputs);
    Some(t)
}
