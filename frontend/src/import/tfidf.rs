//! `TfIdfVectorizer` on integer inputs: n-gram counts (with skips) against a constant pool,
//! weighted as TF, IDF or TFIDF.
//!
//! The pool is an attribute, so everything about it is known at import: this file turns it into
//! constant tables and a handful of comparisons instead of the reference's trie walk. The
//! reference (`onnx/reference/ops/op_tfidf_vectorizer.py`) counts, for each row, every window
//! of `n` items `x[s], x[s+d], .., x[s+(n-1)d]` (skip distance `d = 1..=max_skip_count+1`, all
//! positions inside the row) whose values equal a pool n-gram of size `n` in
//! `[min_gram_length, max_gram_length]`; unigrams are counted only once (`d = 1`). So for each
//! size `n` and distance `d`, kiln builds the windows as `n` slices of the row stacked on a last
//! axis `[B, L, 1, n]`, compares them with the size-`n` pool `[1, 1, G, n]`, keeps windows
//! equal on all `n` items (min over the last axis) and sums over positions: counts `[B, G]`.
//! A constant 0/1 matrix `[G, O]` then adds each n-gram's count into its output column
//! (`ngram_indexes`), exact in f32 while counts stay below 2^24. A pool n-gram listed twice keeps
//! its last output index, as the reference's trie does.
//!
//! String pools (`pool_strings`) are out of scope: kiln has no string tensors; they are rejected.

use super::build::{bin, cast, check_table};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, ReduceKind, Tensor, ValueId};
use std::collections::BTreeMap;

/// The n-grams of the pool that can count, by size: each gram with its output column.
struct Pool {
    by_size: BTreeMap<usize, BTreeMap<Vec<i64>, usize>>,
    out_size: usize,
    max_skip: usize,
}

pub fn tfidf_vectorizer(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    if ctx.node.attribute.iter().any(|a| a.name == "pool_strings" && !a.strings.is_empty()) {
        return Err(ctx.attr_err("pool_strings", "string pools are not supported (kiln has no string tensors)"));
    }
    let x = imp.input(ctx, 0)?;
    let (dt, shape) = (imp.ty(x).dtype, imp.shape(x));
    if !matches!(dt, DType::I32 | DType::I64) {
        return Err(ctx.input_err(0, format!("has dtype {dt}; TfIdfVectorizer needs int32 or int64")));
    }
    let (rows, cols) = match shape.as_slice() {
        [] => (1, 1),
        [c] => (1, *c),
        [b, c] if *b > 0 => (*b, *c),
        _ => return Err(ctx.input_err(0, format!("has shape {shape:?}; expected [C] or [B, C] with B > 0"))),
    };
    let pool = pool(ctx)?;
    let x = cast(imp, ctx, x, DType::I64, ctx.tmp("x_i64"))?;
    let x = imp.reshape(ctx, x, vec![rows, cols], ctx.tmp("rows"))?;
    let counts = counts(imp, ctx, &pool, x, rows, cols)?;
    let y = weigh(imp, ctx, counts, pool.out_size)?;
    let out_shape = if shape.len() == 2 { vec![rows, pool.out_size] } else { vec![pool.out_size] };
    Ok(vec![imp.reshape(ctx, y, out_shape, ctx.out(0))?])
}

/// Reads the pool attributes into grams by size (only sizes in `[min, max]` can count).
fn pool(ctx: &NodeCtx) -> Result<Pool> {
    let min = ctx.int("min_gram_length")?.ok_or_else(|| ctx.attr_err("min_gram_length", "missing"))?;
    let max = ctx.int("max_gram_length")?.ok_or_else(|| ctx.attr_err("max_gram_length", "missing"))?;
    let skip = ctx.int("max_skip_count")?.ok_or_else(|| ctx.attr_err("max_skip_count", "missing"))?;
    if min < 1 || max < min {
        return Err(ctx.attr_err("max_gram_length", format!("needs 1 <= min_gram_length ({min}) <= max ({max})")));
    }
    let max_skip = usize::try_from(skip).map_err(|_| ctx.attr_err("max_skip_count", format!("negative ({skip})")))?;
    let counts = ctx.usizes("ngram_counts")?.ok_or_else(|| ctx.attr_err("ngram_counts", "missing"))?;
    let indexes = ctx.usizes("ngram_indexes")?.ok_or_else(|| ctx.attr_err("ngram_indexes", "missing"))?;
    let items = ctx.ints("pool_int64s")?.unwrap_or_default();
    let out_size = indexes.iter().max().map_or(0, |m| m + 1);
    check_table(ctx, "output row", Some(out_size))?;
    let mut by_size: BTreeMap<usize, BTreeMap<Vec<i64>, usize>> = BTreeMap::new();
    let mut id = 0;
    for (i, &start) in counts.iter().enumerate() {
        let (n, end) = (i + 1, counts.get(i + 1).copied().unwrap_or(items.len()));
        let Some(grams) = items.get(start..end) else {
            return Err(ctx.attr_err("ngram_counts", format!("bucket {i} ({start}..{end}) is outside the pool")));
        };
        for gram in grams.chunks_exact(n) {
            let col =
                *indexes.get(id).ok_or_else(|| ctx.attr_err("ngram_indexes", format!("no entry for n-gram {id}")))?;
            if (min..=max).contains(&(n as i64)) {
                by_size.entry(n).or_default().insert(gram.to_vec(), col);
            }
            id += 1;
        }
    }
    Ok(Pool { by_size, out_size, max_skip })
}

/// Counts `[rows, out_size]` (f32) of every pool n-gram's occurrences, in its output column.
fn counts(imp: &mut Importer, ctx: &NodeCtx, pool: &Pool, x: ValueId, rows: usize, cols: usize) -> Result<ValueId> {
    let mut total: Option<ValueId> = None;
    for (&n, grams) in &pool.by_size {
        let distances = if n == 1 { 1 } else { pool.max_skip + 1 };
        for d in 1..=distances {
            let Some(c) = size_counts(imp, ctx, x, (rows, cols), grams, (n, d))? else { continue };
            let spread = spread_matrix(imp, ctx, grams, pool.out_size, &format!("cols_{n}_{d}"));
            let c = imp.emit1(ctx, Op::MatMul, vec![c, spread], ctx.tmp(&format!("counts_{n}_{d}")))?;
            total = Some(match total {
                None => c,
                Some(t) => bin(imp, ctx, BinaryOp::Add, t, c, ctx.tmp(&format!("total_{n}_{d}")))?,
            });
        }
    }
    Ok(total.unwrap_or_else(|| {
        imp.constant(ctx.tmp("zeros"), Tensor::zeros(&kiln_ir::TensorType::new(DType::F32, vec![rows, pool.out_size])))
    }))
}

/// Occurrences `[rows, G]` (f32) of the size-`n` grams with skip distance `d`, or `None` when
/// no window fits in a row.
fn size_counts(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    (rows, cols): (usize, usize),
    grams: &BTreeMap<Vec<i64>, usize>,
    (n, d): (usize, usize),
) -> Result<Option<ValueId>> {
    let span = (n - 1) * d;
    if span >= cols {
        return Ok(None);
    }
    let len = cols - span;
    let tag = format!("{n}_{d}");
    let mut items = Vec::with_capacity(n);
    for k in 0..n {
        let slice = Op::Slice { starts: vec![0, k * d], steps: vec![1, 1], lens: vec![rows, len] };
        let s = imp.emit1(ctx, slice, vec![x], ctx.tmp(&format!("item_{tag}_{k}")))?;
        items.push(imp.reshape(ctx, s, vec![rows, len, 1, 1], ctx.tmp(&format!("item4_{tag}_{k}")))?);
    }
    let windows = match items.as_slice() {
        [one] => *one,
        _ => imp.emit1(ctx, Op::Concat { axis: 3 }, items, ctx.tmp(&format!("windows_{tag}")))?,
    };
    let g = grams.len();
    check_table(ctx, "n-gram pool", g.checked_mul(n))?;
    let flat: Vec<i64> = grams.keys().flatten().copied().collect();
    let table = imp.constant(ctx.tmp(&format!("pool_{tag}")), Tensor::from_vec(vec![1, 1, g, n], flat));
    let eq = bin(imp, ctx, BinaryOp::Equal, windows, table, ctx.tmp(&format!("eq_{tag}")))?;
    let eq = cast(imp, ctx, eq, DType::F32, ctx.tmp(&format!("eqf_{tag}")))?;
    let all = Op::Reduce { kind: ReduceKind::Min, axes: vec![3], keepdims: false };
    let hit = imp.emit1(ctx, all, vec![eq], ctx.tmp(&format!("hit_{tag}")))?;
    let sum = Op::Reduce { kind: ReduceKind::Sum, axes: vec![1], keepdims: false };
    Ok(Some(imp.emit1(ctx, sum, vec![hit], ctx.tmp(&format!("per_gram_{tag}")))?))
}

/// The constant `[G, out_size]` 0/1 matrix sending gram `g` (pool order) to its output column.
fn spread_matrix(
    imp: &mut Importer,
    ctx: &NodeCtx,
    grams: &BTreeMap<Vec<i64>, usize>,
    out: usize,
    tag: &str,
) -> ValueId {
    let mut m = vec![0f32; grams.len() * out];
    for (g, &col) in grams.values().enumerate() {
        m[g * out + col] = 1.0;
    }
    imp.constant(ctx.tmp(tag), Tensor::from_vec(vec![grams.len(), out], m))
}

/// Applies `mode`: TF keeps counts, IDF gives `weight` (or 1) where the count is non-zero,
/// TFIDF multiplies counts by `weight` (or keeps them).
fn weigh(imp: &mut Importer, ctx: &NodeCtx, counts: ValueId, out_size: usize) -> Result<ValueId> {
    let mode = ctx.string("mode")?.ok_or_else(|| ctx.attr_err("mode", "missing"))?;
    let weights = ctx.floats("weights")?;
    if let Some(w) = &weights {
        if w.len() != out_size {
            return Err(ctx.attr_err("weights", format!("has {} entries, expected {out_size}", w.len())));
        }
    }
    let weights = weights.map(|w| imp.constant(ctx.tmp("weights"), Tensor::from_vec(vec![out_size], w)));
    match (mode.as_str(), weights) {
        ("TF", _) | ("TFIDF", None) => Ok(counts),
        ("TFIDF", Some(w)) => bin(imp, ctx, BinaryOp::Mul, counts, w, ctx.tmp("tfidf")),
        ("IDF", w) => {
            let zero = imp.constant(ctx.tmp("zero"), Tensor::scalar(0f32));
            let seen = bin(imp, ctx, BinaryOp::Greater, counts, zero, ctx.tmp("seen"))?;
            let seen = cast(imp, ctx, seen, DType::F32, ctx.tmp("seen_f32"))?;
            match w {
                Some(w) => bin(imp, ctx, BinaryOp::Mul, seen, w, ctx.tmp("idf")),
                None => Ok(seen),
            }
        }
        (other, _) => Err(ctx.attr_err("mode", format!("unknown mode '{other}' (TF, IDF or TFIDF)"))),
    }
}
