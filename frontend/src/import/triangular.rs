//! `Trilu` as `Where(mask, x, 0)` with a constant bool mask over the last two axes.
//!
//! Shapes are static, so the triangle is known at import time: element `(i, j)` is kept when
//! `j - i >= k` (upper) or `j - i <= k` (lower). The mask is `[N, M]` and broadcasts over the
//! batch axes, so it costs one small constant however many matrices `x` holds; its size is
//! guarded by [`build::MAX_TABLE_ELEMENTS`]. `k` must be a compile-time constant.

use super::build::{check_table, select};
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{DType, Tensor, ValueId};

pub fn trilu(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    if shape.len() < 2 {
        return Err(ctx.input_err(0, format!("has rank {}; Trilu needs rank >= 2", shape.len())));
    }
    let upper = ctx.bool_or("upper", true)?;
    let k = diagonal(imp, ctx)?;
    let (n, m) = (shape[shape.len() - 2], shape[shape.len() - 1]);
    check_table(ctx, "triangle mask", n.checked_mul(m))?;
    let keep = |i: usize, j: usize| {
        let d = j as i128 - i as i128;
        if upper {
            d >= k as i128
        } else {
            d <= k as i128
        }
    };
    let vals: Vec<f64> =
        (0..n).flat_map(|i| (0..m).map(move |j| (i, j))).map(|(i, j)| keep(i, j) as u8 as f64).collect();
    let mask = imp.constant(ctx.tmp("mask"), Tensor::from_f64(DType::Bool, vec![n, m], &vals));
    let zero = imp.constant(ctx.tmp("zero"), Tensor::from_f64(imp.ty(x).dtype, vec![], &[0.0]));
    Ok(vec![select(imp, ctx, mask, x, zero, ctx.out(0))?])
}

/// The optional `k` input: a constant integer scalar (or one-element tensor), 0 when absent.
fn diagonal(imp: &Importer, ctx: &NodeCtx) -> Result<i64> {
    let Some(k) = imp.opt_const(ctx, 1)? else { return Ok(0) };
    if k.dtype() != DType::I64 || k.numel() != 1 {
        return Err(ctx.input_err(1, format!("k must be one i64, got {} of shape {:?}", k.dtype().name(), k.shape())));
    }
    Ok(k.to_i64_vec()[0])
}
