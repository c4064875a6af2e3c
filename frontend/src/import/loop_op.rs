//! Loop, unrolled at compile time.
//!
//! The trip count `M` and the initial condition must be known at compile time (a graph input
//! gives `NeedsValue`, so `kiln run` binds its value and retries); each iteration imports one
//! copy of the body (`super::subgraph`) with the iteration number, the condition and the
//! loop-carried values of the previous iteration as its inputs. The loop ends after `M`
//! iterations or when the body's condition output is false; that output must fold to a
//! constant, else the import fails naming the node and iteration (a data-dependent loop exit
//! cannot be unrolled). Loop-carried values may change shape from one iteration to the next,
//! which unrolling handles for free. Scan outputs are stacked along a new axis 0 and must have
//! one type in every iteration. A loop with no trip count and no condition never ends and is
//! refused, and so is a loop of zero iterations with scan outputs (their element shape would
//! come from the body's declared types, which kiln does not trust). The body-copy limit of
//! `super::subgraph` bounds the iteration count. FIXME: a real loop in the entry function.

use super::ctx::NodeCtx;
use super::subgraph::{body, import_body, stack};
use super::Importer;
use crate::error::Result;
use kiln_ir::{Tensor, ValueId};

pub fn loop_(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let g = body(ctx, "body")?;
    let trips = trip_count(imp, ctx)?;
    let mut cond = match imp.opt_const(ctx, 1)? {
        None => true,
        Some(t) => truth(ctx, 1, &t)?,
    };
    if trips.is_none() && imp.opt_input(ctx, 1)?.is_none() {
        return Err(ctx.err("neither a trip count nor a condition is given: the loop never ends"));
    }
    let mut carried: Vec<ValueId> = (2..ctx.node.input.len()).map(|i| imp.input(ctx, i)).collect::<Result<_>>()?;
    let n_scan = g.output.len().checked_sub(1 + carried.len()).ok_or_else(|| {
        ctx.attr_err(
            "body",
            format!("has {} outputs; it needs 1 + {} (condition and loop-carried)", g.output.len(), carried.len()),
        )
    })?;
    let mut scans: Vec<Vec<ValueId>> = vec![Vec::new(); n_scan];
    let mut i = 0i64;
    while cond && trips.is_none_or(|m| i < m) {
        let iter = imp.constant(ctx.tmp(&format!("iter{i}")), Tensor::scalar(i));
        let c = imp.constant(ctx.tmp(&format!("cond{i}")), Tensor::scalar(true));
        let args = [vec![iter, c], carried.clone()].concat();
        let outs = import_body(imp, ctx, g, &format!("iter{i}"), &args)?;
        cond = body_condition(imp, ctx, outs[0], i)?;
        carried = outs[1..1 + carried.len()].to_vec();
        for (k, &v) in outs[1 + carried.len()..].iter().enumerate() {
            scans[k].push(v);
        }
        i += 1;
    }
    if n_scan > 0 && i == 0 {
        return Err(ctx.err("the loop runs zero times and has scan outputs, whose shape kiln cannot know"));
    }
    let first_scan = carried.len();
    for (k, vals) in scans.iter().enumerate() {
        let stacked = stack(imp, ctx, vals, 0, ctx.out(first_scan + k))?;
        carried.push(stacked);
    }
    Ok(carried)
}

/// The trip count, `None` when the input is absent.
fn trip_count(imp: &Importer, ctx: &NodeCtx) -> Result<Option<i64>> {
    let Some(t) = imp.opt_const(ctx, 0)? else { return Ok(None) };
    match t.to_i64_vec().as_slice() {
        [m] => Ok(Some(*m)),
        _ => Err(ctx.input_err(0, format!("the trip count must be one value, it has shape {:?}", t.shape()))),
    }
}

fn truth(ctx: &NodeCtx, input: usize, t: &Tensor) -> Result<bool> {
    match t.to_f64_vec().as_slice() {
        [c] => Ok(*c != 0.0),
        _ => Err(ctx.input_err(input, format!("the condition must be one value, it has shape {:?}", t.shape()))),
    }
}

/// The body's condition output of iteration `i`, which must be a compile-time constant.
fn body_condition(imp: &Importer, ctx: &NodeCtx, c: ValueId, i: i64) -> Result<bool> {
    match imp.graph.const_of(c) {
        Some(t) => truth(ctx, 1, t),
        None => Err(ctx.err(format!(
            "iteration {i}: the body's condition output depends on run-time data, so kiln cannot unroll the loop"
        ))),
    }
}
