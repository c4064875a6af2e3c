//! `Det` of small matrices by the Leibniz formula: `sum over permutations p of sign(p) *
//! prod_i a[i, p(i)]`, each element a one-element `Slice` of the last two axes (so batches of
//! matrices stay one tensor). That is `n! * n` multiplies, fine for the 2x2 to 4x4 matrices
//! (geometry, small transforms) this op sees in exported models; larger `n` would need a
//! pivoted LU kernel the IR does not have, and is an error naming the input.

use super::build::{bin, float_input};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, Op, ValueId};

/// Largest matrix order imported (4! = 24 products).
const MAX_ORDER: usize = 4;

pub fn det(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, _) = float_input(imp, ctx)?;
    let shape = imp.shape(x);
    let r = shape.len();
    if r < 2 || shape[r - 1] != shape[r - 2] || shape[r - 1] == 0 || shape[r - 1] > MAX_ORDER {
        return Err(ctx.input_err(0, format!("shape {shape:?} is not [.., n, n] with 1 <= n <= {MAX_ORDER}")));
    }
    let n = shape[r - 1];
    let mut elems = vec![];
    for i in 0..n {
        for j in 0..n {
            elems.push(element(imp, ctx, x, &shape, i, j)?);
        }
    }
    let mut total: Option<ValueId> = None;
    for (k, (perm, even)) in permutations(n).into_iter().enumerate() {
        let mut term = elems[perm[0]];
        for (i, &p) in perm.iter().enumerate().skip(1) {
            term = bin(imp, ctx, BinaryOp::Mul, term, elems[i * n + p], ctx.tmp(&format!("term{k}_{i}")))?;
        }
        total = Some(match total {
            None if even => term,
            None => imp.emit1(ctx, Op::Unary(kiln_ir::UnaryOp::Neg), vec![term], ctx.tmp(&format!("neg{k}")))?,
            Some(t) => {
                let op = if even { BinaryOp::Add } else { BinaryOp::Sub };
                bin(imp, ctx, op, t, term, ctx.tmp(&format!("sum{k}")))?
            }
        });
    }
    let total = total.ok_or_else(|| ctx.err("no permutations"))?;
    Ok(vec![imp.reshape(ctx, total, shape[..r - 2].to_vec(), ctx.out(0))?])
}

/// `x[.., i:i+1, j:j+1]`.
fn element(imp: &mut Importer, ctx: &NodeCtx, x: ValueId, shape: &[usize], i: usize, j: usize) -> Result<ValueId> {
    let r = shape.len();
    let mut starts = vec![0; r];
    let mut lens = shape.to_vec();
    (starts[r - 2], starts[r - 1], lens[r - 2], lens[r - 1]) = (i, j, 1, 1);
    let op = Op::Slice { starts, steps: vec![1; r], lens };
    imp.emit1(ctx, op, vec![x], ctx.tmp(&format!("a{i}{j}")))
}

/// Every permutation of `0..n`, each with whether it is even.
fn permutations(n: usize) -> Vec<(Vec<usize>, bool)> {
    if n == 1 {
        return vec![(vec![0], true)];
    }
    let mut out = vec![];
    for (p, even) in permutations(n - 1) {
        // Inserting n-1 at position k moves it past (n-1-k) elements: that many transpositions.
        for k in 0..n {
            let mut q = p.clone();
            q.insert(k, n - 1);
            out.push((q, even == ((n - 1 - k) % 2 == 0)));
        }
    }
    out
}
