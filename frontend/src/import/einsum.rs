//! `Einsum` as broadcast products and sums over a shared label order, with no kernel of its own:
//!
//! 1. The equation is parsed (spaces ignored; `...` becomes generated labels for the
//!    broadcast dims, right-aligned across operands; without `->` the output is the ellipsis
//!    dims then the labels used once, in alphabetical order).
//! 2. Each operand's repeated labels (a diagonal, `ii`) are reduced to one axis by a `Where`
//!    with an identity mask and a `ReduceSum`.
//! 3. Each operand is transposed into the global label order and reshaped with 1s for the
//!    labels it lacks; the operands are multiplied (numpy broadcasting).
//! 4. Labels missing from the output are summed away; the rest are transposed to the output
//!    order.
//!
//! The broadcast product has one axis per label; its size is bounded by [`MAX_PRODUCT`] with an
//! error naming the node. (A two-operand contraction could use MatMul; none of the equations
//! seen so far need that speed, and the product form covers every equation.)

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, ValueId};

/// Largest broadcast product built.
pub const MAX_PRODUCT: usize = 1 << 26;

pub fn einsum(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let ins = imp.inputs(ctx)?;
    let equation = ctx.string("equation")?.ok_or_else(|| ctx.attr_err("equation", "missing"))?;
    let shapes: Vec<Vec<usize>> = ins.iter().map(|&v| imp.shape(v)).collect();
    let (terms, output) = parse(ctx, &equation, &shapes)?;
    let mut extents: Vec<(char, usize)> = Vec::new();
    for (term, shape) in terms.iter().zip(&shapes) {
        for (&l, &d) in term.iter().zip(shape) {
            match extents.iter().find(|(c, _)| *c == l) {
                Some(&(_, e)) if e != d && e != 1 && d != 1 => {
                    return Err(ctx.attr_err("equation", format!("label '{l}' has extents {e} and {d}")));
                }
                Some(_) => {}
                None => extents.push((l, d)),
            }
        }
    }
    let total = extents.iter().try_fold(1usize, |acc, &(_, d)| acc.checked_mul(d.max(1)));
    if total.is_none_or(|n| n > MAX_PRODUCT) {
        return Err(ctx.err(format!("the broadcast product over {extents:?} exceeds {MAX_PRODUCT} elements")));
    }
    let order: Vec<char> = extents.iter().map(|(c, _)| *c).collect();
    let mut product = None;
    for (i, (&v, term)) in ins.iter().zip(&terms).enumerate() {
        let aligned = align(imp, ctx, v, term, &order, i)?;
        product = Some(match product {
            None => aligned,
            Some(p) => imp.emit1(ctx, Op::Binary(BinaryOp::Mul), vec![p, aligned], ctx.tmp(&format!("product{i}")))?,
        });
    }
    let product = product.ok_or_else(|| ctx.err("Einsum needs at least one input"))?;
    Ok(vec![finish(imp, ctx, product, &order, &output)?])
}

/// Operand terms and the output term, as labels (ellipsis expanded).
fn parse(ctx: &NodeCtx, equation: &str, shapes: &[Vec<usize>]) -> Result<(Vec<Vec<char>>, Vec<char>)> {
    let eq: String = equation.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match eq.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (eq.clone(), None),
    };
    let raw: Vec<&str> = lhs.split(',').collect();
    if raw.len() != shapes.len() {
        return Err(
            ctx.attr_err("equation", format!("'{equation}' has {} operands, the node {}", raw.len(), shapes.len()))
        );
    }
    let dots = raw
        .iter()
        .zip(shapes)
        .map(|(t, s)| if t.contains("...") { (s.len() + 3).saturating_sub(t.len()) } else { 0 })
        .max();
    let ell: Vec<char> = (0..dots.unwrap_or(0)).map(|i| char::from_u32(0x3b1 + i as u32).unwrap_or('?')).collect();
    let expand = |t: &str, rank: usize| -> Result<Vec<char>> {
        let labels: Vec<char> = match t.split_once("...") {
            Some((a, b)) => {
                let n = rank
                    .checked_sub(a.len() + b.len())
                    .ok_or_else(|| ctx.attr_err("equation", format!("'{t}' exceeds rank {rank}")))?;
                a.chars().chain(ell[ell.len() - n..].iter().copied()).chain(b.chars()).collect()
            }
            None => t.chars().collect(),
        };
        if labels.len() != rank || labels.iter().any(|c| !(c.is_ascii_alphabetic() || ell.contains(c))) {
            return Err(ctx.attr_err("equation", format!("term '{t}' does not match rank {rank}")));
        }
        Ok(labels)
    };
    let terms = raw.iter().zip(shapes).map(|(t, s)| expand(t, s.len())).collect::<Result<Vec<_>>>()?;
    let output = match rhs {
        Some(r) => expand(&r, r.replace("...", "").len() + if r.contains("...") { ell.len() } else { 0 })?,
        None => {
            let mut once: Vec<char> = terms.concat().into_iter().filter(|c| c.is_ascii_alphabetic()).collect();
            once.sort();
            let singles: Vec<char> =
                once.iter().copied().filter(|c| once.iter().filter(|d| *d == c).count() == 1).collect();
            ell.iter().copied().chain(singles).collect()
        }
    };
    Ok((terms, output))
}

/// `v` (labels `term`) with repeated labels collapsed, transposed into `order` and reshaped with
/// 1s for the labels it lacks.
fn align(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, term: &[char], order: &[char], i: usize) -> Result<ValueId> {
    let (mut v, mut term) = (v, term.to_vec());
    while let Some((a, b)) = repeated(&term) {
        v = diagonal(imp, ctx, v, a, b, i)?;
        term.remove(b);
    }
    let mut perm: Vec<usize> = (0..term.len()).collect();
    perm.sort_by_key(|&k| order.iter().position(|c| *c == term[k]));
    if perm.iter().enumerate().any(|(i, &p)| i != p) {
        v = imp.emit1(ctx, Op::Transpose { perm: perm.clone() }, vec![v], ctx.tmp(&format!("ordered{i}")))?;
    }
    let shape = imp.shape(v);
    let full: Vec<usize> =
        order.iter().map(|c| perm.iter().position(|&k| term[k] == *c).map_or(1, |j| shape[j])).collect();
    imp.reshape(ctx, v, full, ctx.tmp(&format!("aligned{i}")))
}

fn repeated(term: &[char]) -> Option<(usize, usize)> {
    (0..term.len()).find_map(|a| (a + 1..term.len()).find(|&b| term[b] == term[a]).map(|b| (a, b)))
}

/// The diagonal of axes `a` and `b` (equal extents) kept on axis `a`: `Where(eye, v, 0)` summed
/// over `b`.
fn diagonal(imp: &mut Importer, ctx: &NodeCtx, v: ValueId, a: usize, b: usize, i: usize) -> Result<ValueId> {
    let shape = imp.shape(v);
    let n = shape[a];
    if shape[b] != n {
        return Err(ctx.attr_err("equation", format!("repeated label with extents {n} and {}", shape[b])));
    }
    let mut eye_shape = vec![1; shape.len()];
    (eye_shape[a], eye_shape[b]) = (n, n);
    let eye: Vec<f64> = (0..n * n).map(|k| if k / n == k % n { 1.0 } else { 0.0 }).collect();
    let eye = imp.constant(ctx.tmp(&format!("eye{i}")), Tensor::from_f64(DType::Bool, eye_shape, &eye));
    let zero = imp.constant(ctx.tmp(&format!("zero{i}")), Tensor::from_f64(imp.ty(v).dtype, vec![], &[0.0]));
    let masked = imp.emit1(ctx, Op::Where, vec![eye, v, zero], ctx.tmp(&format!("masked{i}")))?;
    let op = Op::Reduce { kind: ReduceKind::Sum, axes: vec![b], keepdims: false };
    imp.emit1(ctx, op, vec![masked], ctx.tmp(&format!("diagonal{i}")))
}

/// Sums the labels of `order` absent from `output`, then transposes to `output`'s order.
fn finish(imp: &mut Importer, ctx: &NodeCtx, product: ValueId, order: &[char], output: &[char]) -> Result<ValueId> {
    if let Some(c) = output.iter().find(|c| !order.contains(c)) {
        return Err(ctx.attr_err("equation", format!("output label '{c}' appears in no operand")));
    }
    let summed: Vec<usize> = (0..order.len()).filter(|&k| !output.contains(&order[k])).collect();
    let kept: Vec<char> = order.iter().copied().filter(|c| output.contains(c)).collect();
    let mut v = product;
    if !summed.is_empty() {
        let op = Op::Reduce { kind: ReduceKind::Sum, axes: summed, keepdims: false };
        let name = if kept == output { ctx.out(0) } else { ctx.tmp("summed") };
        v = imp.emit1(ctx, op, vec![v], name)?;
    }
    let perm: Vec<usize> = output.iter().filter_map(|c| kept.iter().position(|k| k == c)).collect();
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        if v == product {
            return imp.emit1(ctx, Op::Identity, vec![v], ctx.out(0));
        }
        return Ok(v);
    }
    imp.emit1(ctx, Op::Transpose { perm }, vec![v], ctx.out(0))
}
