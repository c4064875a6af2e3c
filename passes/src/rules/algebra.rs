//! Rule family `algebra`: identities that remove work without changing any value.
//!
//! - `mul-by-one`, `div-by-one`, `add-zero`, `sub-zero`: `x * 1`, `1 * x`, `x / 1`, `x + 0`,
//!   `0 + x`, `x - 0` are `x` when the constant is all ones (zeros) and does not broadcast `x`
//!   to a bigger shape (the result's type must equal `x`'s). Bit-exact except that `-0.0 + 0.0`
//!   is `+0.0`: the rewrite keeps `-0.0` (equal under `==`, as every consumer compares).
//! - `transpose-transpose`: two transposes compose into one (`q[k] = p1[p2[k]]`), and
//!   `transpose-identity` removes a transpose whose perm is the identity (also the composed one).
//! - `reshape-reshape`: a reshape of a reshape reads the first one's input; `reshape-noop`:
//!   a reshape to the input's own shape is the input.
//! - `cast-noop`: a cast to the input's dtype; `cast-roundtrip`: `cast<A>(cast<B>(x: A))` when
//!   every value of `A` is exact in `B` (f32 -> f64, narrower -> wider ints of compatible
//!   signedness, small ints -> floats, bool -> anything). Casts through a float between two ints
//!   are NOT removed in general: float -> int saturates while int -> int wraps.
//! - `slice-noop` (start 0, step 1, full length on every axis), `pad-noop` (all pads zero, any
//!   mode), `expand-noop` (to the input's shape), `concat-single` (one input),
//!   `remove-identity`.
//!
//! Every rule produces something no bigger than what it matched, so the cost model can only
//! prefer the rewritten form; there are no commutativity or associativity rules (they blow the
//! e-graph up and never pay for themselves here).

use crate::egraph::{constant, ops, rule, ty, EGraph, Rewrite, TensorLang, Term, Visit};
use egg::Id;
use kiln_ir::{BinaryOp, DType, Op, OpKind, Tensor};

/// The family's rules.
pub fn rules() -> Vec<Rewrite> {
    vec![
        rule("mul-by-one", Visit::Ops(&[OpKind::Binary]), mul_by_one),
        rule("div-by-one", Visit::Ops(&[OpKind::Binary]), div_by_one),
        rule("add-zero", Visit::Ops(&[OpKind::Binary]), add_zero),
        rule("sub-zero", Visit::Ops(&[OpKind::Binary]), sub_zero),
        rule("transpose-transpose", Visit::Ops(&[OpKind::Transpose]), transpose_transpose),
        rule("transpose-identity", Visit::Ops(&[OpKind::Transpose]), transpose_identity),
        rule("reshape-reshape", Visit::Ops(&[OpKind::Reshape]), reshape_reshape),
        rule("reshape-noop", Visit::Ops(&[OpKind::Reshape]), reshape_noop),
        rule("cast-noop", Visit::Ops(&[OpKind::Cast]), cast_noop),
        rule("cast-roundtrip", Visit::Ops(&[OpKind::Cast]), cast_roundtrip),
        rule("slice-noop", Visit::Ops(&[OpKind::Slice]), slice_noop),
        rule("pad-noop", Visit::Ops(&[OpKind::Pad]), pad_noop),
        rule("expand-noop", Visit::Ops(&[OpKind::Expand]), expand_noop),
        rule("concat-single", Visit::Ops(&[OpKind::Concat]), concat_single),
        rule("remove-identity", Visit::Ops(&[OpKind::Identity]), remove_identity),
    ]
}

/// A term that is just the existing class `id`.
fn same(id: Id) -> Term {
    let mut t = Term::new();
    t.class(id);
    t
}

/// The op and children of an op node.
fn op_of(node: &TensorLang) -> Option<(&Op, &[Id])> {
    Some((node.op()?, egg::Language::children(node)))
}

/// True when `id` is a constant whose every element equals `v`.
fn is_all(eg: &EGraph, id: Id, v: f64) -> bool {
    constant(eg, id).is_some_and(|t| all_equal(t, v))
}

fn all_equal(t: &Tensor, v: f64) -> bool {
    (0..t.numel()).all(|i| t.data().get_f64(i) == v)
}

/// `x` when the node is `op(x, c)` (or `op(c, x)` if `commutes`) with `c` all `v` and the
/// result's type equal to `x`'s.
fn neutral(eg: &EGraph, class: Id, node: &TensorLang, which: BinaryOp, v: f64, commutes: bool) -> Option<Term> {
    let (Op::Binary(b), [a, c]) = op_of(node)? else { return None };
    if *b != which {
        return None;
    }
    let out = ty(eg, class)?;
    let mut pairs = vec![(*a, *c)];
    if commutes {
        pairs.push((*c, *a));
    }
    pairs.into_iter().find(|&(x, k)| ty(eg, x) == Some(out) && is_all(eg, k, v)).map(|(x, _)| same(x))
}

fn mul_by_one(eg: &EGraph, class: Id, node: &TensorLang) -> Option<Term> {
    neutral(eg, class, node, BinaryOp::Mul, 1.0, true)
}

fn div_by_one(eg: &EGraph, class: Id, node: &TensorLang) -> Option<Term> {
    neutral(eg, class, node, BinaryOp::Div, 1.0, false)
}

fn add_zero(eg: &EGraph, class: Id, node: &TensorLang) -> Option<Term> {
    neutral(eg, class, node, BinaryOp::Add, 0.0, true)
}

fn sub_zero(eg: &EGraph, class: Id, node: &TensorLang) -> Option<Term> {
    neutral(eg, class, node, BinaryOp::Sub, 0.0, false)
}

fn is_identity_perm(perm: &[usize]) -> bool {
    perm.iter().enumerate().all(|(i, &p)| i == p)
}

/// `transpose<p2>(transpose<p1>(x))` -> `transpose<p1[p2[k]]>(x)`, or `x` when that is the
/// identity; for every transpose in the inner class (layout rules put several there: the same
/// NCHW value as the reorder of different NHWC computations, which this rule then unites).
fn transpose_transpose(eg: &EGraph, _class: Id, node: &TensorLang) -> Vec<Term> {
    let Some((Op::Transpose { perm: p2 }, [inner])) = op_of(node) else { return vec![] };
    ops(eg, *inner)
        .filter_map(|(op, kids)| {
            let (Op::Transpose { perm: p1 }, [x]) = (op, kids) else { return None };
            let q: Option<Vec<usize>> = p2.iter().map(|&k| p1.get(k).copied()).collect();
            let q = q?;
            if is_identity_perm(&q) {
                return Some(same(*x));
            }
            let mut t = Term::new();
            let x = t.class(*x);
            t.op(Op::Transpose { perm: q }, &[x]);
            Some(t)
        })
        .collect()
}

fn transpose_identity(_eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Transpose { perm }, [x]) = op_of(node)? else { return None };
    is_identity_perm(perm).then(|| same(*x))
}

/// `reshape<s2>(reshape<s1>(x))` -> `reshape<s2>(x)`.
fn reshape_reshape(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Reshape { shape }, [inner]) = op_of(node)? else { return None };
    ops(eg, *inner).find_map(|(op, kids)| {
        let (Op::Reshape { .. }, [x]) = (op, kids) else { return None };
        let mut t = Term::new();
        let x = t.class(*x);
        t.op(Op::Reshape { shape: shape.clone() }, &[x]);
        Some(t)
    })
}

fn reshape_noop(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Reshape { shape }, [x]) = op_of(node)? else { return None };
    (ty(eg, *x)?.shape == *shape).then(|| same(*x))
}

fn cast_noop(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Cast { to }, [x]) = op_of(node)? else { return None };
    (ty(eg, *x)?.dtype == *to).then(|| same(*x))
}

/// `cast<A>(cast<B>(x: A))` -> `x` when `A -> B` is exact.
fn cast_roundtrip(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Cast { to: a }, [inner]) = op_of(node)? else { return None };
    ops(eg, *inner).find_map(|(op, kids)| {
        let (Op::Cast { to: b }, [x]) = (op, kids) else { return None };
        (ty(eg, *x)?.dtype == *a && casts_exactly(*a, *b)).then(|| same(*x))
    })
}

/// True when every value of `from` is represented exactly in `to` (so casting back restores it).
pub fn casts_exactly(from: DType, to: DType) -> bool {
    use DType::*;
    if from == to || from == Bool {
        return true;
    }
    match (from.is_int(), to) {
        (_, Bool) => false,
        (false, F64) => from == F32,
        (false, _) => false,
        (true, F64) => from.size() <= 4,
        (true, F32) => from.size() <= 2,
        (true, _) => to.size() > from.size() && (to.is_signed_int() || !from.is_signed_int()),
    }
}

fn slice_noop(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Slice { starts, steps, lens }, [x]) = op_of(node)? else { return None };
    let noop = starts.iter().all(|&s| s == 0) && steps.iter().all(|&s| s == 1) && *lens == ty(eg, *x)?.shape;
    noop.then(|| same(*x))
}

fn pad_noop(_eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Pad { pads, .. }, [x]) = op_of(node)? else { return None };
    pads.iter().all(|&p| p == 0).then(|| same(*x))
}

fn expand_noop(eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Expand { shape }, [x]) = op_of(node)? else { return None };
    (ty(eg, *x)?.shape == *shape).then(|| same(*x))
}

fn concat_single(_eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Concat { .. }, [x]) = op_of(node)? else { return None };
    Some(same(*x))
}

fn remove_identity(_eg: &EGraph, _class: Id, node: &TensorLang) -> Option<Term> {
    let (Op::Identity, [x]) = op_of(node)? else { return None };
    Some(same(*x))
}
