//! `conv-to-nhwc`: `Conv(x, w, b)` on a 4-D f32 input equals
//! `T_nchw(ChannelsLast(Conv)(T_nhwc(x), w, b))`, where `T_nhwc`/`T_nchw` are the reorders
//! (`Transpose` by `[0, 2, 3, 1]` and `[0, 3, 1, 2]`). The weights stay as they are (the
//! backend prepacks them for the micro-kernel), so the rewrite adds no constant.
//!
//! Covered: what the backend's NHWC micro-kernels compute (dense, grouped, depthwise, strided,
//! dilated, padded). A depthwise conv with a channel multiplier above 1 is left alone.

use crate::egraph::{children, constant, ty, EGraph, TensorLang, Term};
use egg::Id;
use kiln_ir::layout::{to_channels_first, to_channels_last};
use kiln_ir::{DType, Op, PoolAttrs, PoolKind};

pub(super) fn conv_to_nhwc(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Conv(attrs)) = node.op() else { return None };
    let ch = children(eg, node);
    let (x, w) = (*ch.first()?, *ch.get(1)?);
    let xt = ty(eg, x)?;
    if xt.dtype != DType::F32 || xt.shape.len() != 4 || constant(eg, w).is_none() {
        return None;
    }
    let (c, m) = (xt.shape[1], ty(eg, w)?.shape[0]);
    if attrs.group > 1 && c / attrs.group == 1 && m != c {
        return None;
    }
    Some(channels_last_term(Op::Conv(attrs.clone()), &ch))
}

/// `T_nchw(ChannelsLast(op)(T_nhwc(x), rest..))` over the classes `ch` (x first).
fn channels_last_term(op: Op, ch: &[Id]) -> Term {
    let mut t = Term::new();
    let xr = t.class(ch[0]);
    let xl = t.op(Op::Transpose { perm: to_channels_last(4) }, &[xr]);
    let mut args = vec![xl];
    args.extend(ch[1..].iter().map(|&c| t.class(c)));
    let y = t.op(Op::ChannelsLast(Box::new(op)), &args);
    t.op(Op::Transpose { perm: to_channels_first(4) }, &[y]);
    t
}

/// `pool-to-nhwc`: 2-D max pooling, and average pooling whose windows lie inside the input
/// (what the NHWC pooling micro-kernel covers), computed channels-last.
pub(super) fn pool_to_nhwc(eg: &EGraph, class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Pool(attrs)) = node.op() else { return None };
    let ch = children(eg, node);
    let xt = ty(eg, *ch.first()?)?;
    if xt.dtype != DType::F32 || xt.shape.len() != 4 || attrs.kernel.len() != 2 {
        return None;
    }
    if matches!(attrs.kind, PoolKind::Avg { .. }) && !windows_inside(attrs, &xt.shape, &ty(eg, class)?.shape) {
        return None;
    }
    Some(channels_last_term(Op::Pool(attrs.clone()), &ch))
}

/// True when every window of a 2-D pool lies inside the (unpadded) input.
fn windows_inside(a: &PoolAttrs, x: &[usize], y: &[usize]) -> bool {
    let fits = |i: usize| {
        let need = (y[2 + i].max(1) - 1) * a.strides[i] + (a.kernel[i] - 1) * a.dilations[i] + 1;
        need <= x[2 + i]
    };
    a.pads.iter().all(|&p| p == 0) && fits(0) && fits(1)
}
