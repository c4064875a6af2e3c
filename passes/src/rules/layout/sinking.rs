//! Reorders (layout transposes NCHW <-> NHWC) move through layout-agnostic ops, toward the
//! graph's outputs: `op(T_p(x), ..) = T_p(op(x, ..))`. Applied as equalities, the e-graph then
//! holds each op in both layouts and extraction picks per region (see the family docs).
//!
//! Only reorders move (`kiln_ir::layout` permutations of rank 3 and up): other transposes
//! (attention heads, channel shuffles) stay where they are, which keeps the e-graph small.
//! Operands that are not reordered themselves must be constants (folded into the other layout
//! at rewrite time, broadcast-aligned first) or the rule does not apply.

use crate::egraph::{children, const_key, constant, ops, ty, EGraph, TensorLang, Term, TermRef};
use egg::Id;
use kiln_ir::layout::{inverse, permute, to_channels_first, to_channels_last};
use kiln_ir::{Op, ResizeAttrs, Tensor};
use std::sync::Arc;

/// True for the layout permutations of rank 3 and up.
fn is_reorder(perm: &[usize]) -> bool {
    let r = perm.len();
    r >= 3 && (perm == to_channels_last(r).as_slice() || perm == to_channels_first(r).as_slice())
}

/// A reorder node in class `id`: its permutation and source class.
fn reorder_in(eg: &EGraph, id: Id) -> Option<(Vec<usize>, Id)> {
    ops(eg, id).find_map(|(op, ch)| match op {
        Op::Transpose { perm } if is_reorder(perm) => Some((perm.clone(), eg.find(ch[0]))),
        _ => None,
    })
}

/// The source of a reorder by exactly `perm` in class `id`.
fn reordered_by(eg: &EGraph, id: Id, perm: &[usize]) -> Option<Id> {
    ops(eg, id).find_map(|(op, ch)| match op {
        Op::Transpose { perm: p } if p == perm => Some(eg.find(ch[0])),
        _ => None,
    })
}

/// `unary-through-reorder`: `u(T_p(x)) = T_p(u(x))` (also casts).
pub(super) fn unary_through_reorder(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let op = node.op()?;
    if !matches!(op, Op::Unary(_) | Op::Cast { .. }) {
        return None;
    }
    let (perm, x) = reorder_in(eg, *children(eg, node).first()?)?;
    let mut t = Term::new();
    let xr = t.class(x);
    let y = t.op(op.clone(), &[xr]);
    t.op(Op::Transpose { perm }, &[y]);
    Some(t)
}

/// `elementwise-through-reorder`: a binary op, `Where` or elementwise program whose operands
/// are all reordered by the same `p`, or constants: `f(T_p(a), c) = T_p(f(a, T_p^-1(c)))`.
pub(super) fn elementwise_through_reorder(eg: &EGraph, class: Id, node: &TensorLang) -> Option<Term> {
    let op = node.op()?;
    if !matches!(op, Op::Binary(_) | Op::Where | Op::Elementwise(_)) {
        return None;
    }
    let ch = children(eg, node);
    let (perm, _) = ch.iter().find_map(|&c| reorder_in(eg, c))?;
    if ty(eg, class)?.shape.len() != perm.len() {
        return None;
    }
    let mut t = Term::new();
    let args = ch.iter().map(|&c| operand_in(eg, &mut t, c, &perm)).collect::<Option<Vec<TermRef>>>()?;
    let y = t.op(op.clone(), &args);
    t.op(Op::Transpose { perm }, &[y]);
    Some(t)
}

/// Operand `c` of an op being moved below the reorder `perm`: the reorder's source, or the
/// constant brought into the other layout.
fn operand_in(eg: &EGraph, t: &mut Term, c: Id, perm: &[usize]) -> Option<TermRef> {
    if let Some(x) = reordered_by(eg, c, perm) {
        return Some(t.class(x));
    }
    let value = constant(eg, c)?;
    let rank = perm.len();
    if value.shape().len() > rank {
        return None;
    }
    let key = format!("reorder{perm:?}:{}", const_key(eg, c)?);
    let inv = inverse(perm);
    let value = value.clone();
    t.derived(eg, key, move || reordered_constant(&value, &inv))
}

/// `value` aligned to rank `perm.len()` (leading unit dims, numpy broadcasting) and permuted.
fn reordered_constant(value: &Arc<Tensor>, perm: &[usize]) -> Option<Tensor> {
    let mut shape = vec![1; perm.len() - value.shape().len()];
    shape.extend(value.shape());
    let aligned = Tensor::new(shape.clone(), value.data().clone())?;
    kiln_ir::eval::movement::transpose(&aligned, perm, &permute(&shape, perm)).ok()
}

/// `concat-through-reorder`: `Concat(T_p(x1), .., T_p(xn))` along `axis` is
/// `T_p(Concat(x1, .., xn))` along `p[axis]`.
pub(super) fn concat_through_reorder(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Concat { axis }) = node.op() else { return None };
    let ch = children(eg, node);
    let (perm, _) = reorder_in(eg, *ch.first()?)?;
    let sources = ch.iter().map(|&c| reordered_by(eg, c, &perm)).collect::<Option<Vec<Id>>>()?;
    let mut t = Term::new();
    let refs: Vec<TermRef> = sources.iter().map(|&s| t.class(s)).collect();
    let y = t.op(Op::Concat { axis: *perm.get(*axis)? }, &refs);
    t.op(Op::Transpose { perm }, &[y]);
    Some(t)
}

/// `split-through-reorder`: result `i` of `Split(T_p(x))` along `axis` is `T_p` of result `i`
/// of `Split(x)` along `p[axis]` (the rule sees the result's `Project` node; the tuple class
/// holds the split).
pub(super) fn split_through_reorder(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let TensorLang::Project(i, [tuple]) = node else { return None };
    ops(eg, eg.find(*tuple)).find_map(|(op, ch)| {
        let Op::Split { axis, sizes } = op else { return None };
        let (perm, x) = reorder_in(eg, eg.find(*ch.first()?))?;
        let mut t = Term::new();
        let xr = t.class(x);
        let split = t.op(Op::Split { axis: *perm.get(*axis)?, sizes: sizes.clone() }, &[xr]);
        let y = t.project(*i, split);
        t.op(Op::Transpose { perm }, &[y]);
        Some(t)
    })
}

/// `slice-through-reorder`: a slice moves with its per-axis starts, steps and lengths permuted.
pub(super) fn slice_through_reorder(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Slice { starts, steps, lens }) = node.op() else { return None };
    let (perm, x) = reorder_in(eg, *children(eg, node).first()?)?;
    if starts.len() != perm.len() || steps.len() != perm.len() || lens.len() != perm.len() {
        return None;
    }
    let inv = inverse(&perm);
    let moved = Op::Slice { starts: permute(starts, &inv), steps: permute(steps, &inv), lens: permute(lens, &inv) };
    let mut t = Term::new();
    let xr = t.class(x);
    let y = t.op(moved, &[xr]);
    t.op(Op::Transpose { perm }, &[y]);
    Some(t)
}

/// `resize-through-reorder`: resizing works per axis, so it moves with its scales, sizes and
/// region of interest permuted.
pub(super) fn resize_through_reorder(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Resize(a)) = node.op() else { return None };
    let (perm, x) = reorder_in(eg, *children(eg, node).first()?)?;
    let inv = inverse(&perm);
    let rank = perm.len();
    if a.scales.len() != rank || a.sizes.len() != rank {
        return None;
    }
    let roi = if a.roi.len() == 2 * rank {
        let (starts, ends) = a.roi.split_at(rank);
        [permute(starts, &inv), permute(ends, &inv)].concat()
    } else {
        a.roi.clone()
    };
    let moved = ResizeAttrs { scales: permute(&a.scales, &inv), sizes: permute(&a.sizes, &inv), roi, ..a.clone() };
    let mut t = Term::new();
    let xr = t.class(x);
    let y = t.op(Op::Resize(moved), &[xr]);
    t.op(Op::Transpose { perm }, &[y]);
    Some(t)
}

/// `reduce-through-reorder`: a reduction keeping its dims moves with its axes permuted (a
/// global average pool over H, W becomes one over the NHWC spatial axes).
pub(super) fn reduce_through_reorder(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Reduce { kind, axes, keepdims: true }) = node.op() else { return None };
    let (perm, x) = reorder_in(eg, *children(eg, node).first()?)?;
    let mut moved: Vec<usize> = axes.iter().map(|&a| perm.get(a).copied()).collect::<Option<_>>()?;
    moved.sort_unstable();
    let mut t = Term::new();
    let xr = t.class(x);
    let y = t.op(Op::Reduce { kind: *kind, axes: moved, keepdims: true }, &[xr]);
    t.op(Op::Transpose { perm }, &[y]);
    Some(t)
}

/// `transpose-to-reshape`: a transpose that keeps the order of the non-unit dims moves no
/// element, so it is a reshape (an alias in the memory plan): `[N, 1, 1, C] -> [N, C, 1, 1]`
/// after a global pool.
pub(super) fn transpose_to_reshape(eg: &EGraph, class: Id, node: &TensorLang) -> Option<Term> {
    let Some(Op::Transpose { perm }) = node.op() else { return None };
    let x = *children(eg, node).first()?;
    let shape = &ty(eg, x)?.shape;
    let kept: Vec<usize> = perm.iter().copied().filter(|&p| shape.get(p).is_some_and(|&d| d != 1)).collect();
    if !kept.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let out = ty(eg, class)?.shape.clone();
    let mut t = Term::new();
    let xr = t.class(x);
    t.op(Op::Reshape { shape: out }, &[xr]);
    Some(t)
}
