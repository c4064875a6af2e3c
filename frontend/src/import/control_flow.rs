//! If: a branch chosen at compile time when the condition is a constant, else both branches
//! computed and their outputs selected with `Where`.
//!
//! A condition that folds to a constant (the usual case: `_expanded` function bodies test
//! attributes and static shapes) inlines only the taken branch, which matters because the other
//! branch may not even be well-typed for these shapes (AffineGrid's body splits a 4-element
//! size into 5 in its 3-D branch). A runtime condition imports both branches (see
//! `super::subgraph`: outer values stay visible, nothing inside leaks out) and gives each output
//! `Where(cond, then, else)`. ONNX branches have no side effects, so computing both is correct;
//! it costs the work of the branch not taken. Both branches must then give each output the
//! same static type, else the import fails naming the output. A branch taken at run time with
//! real control flow in the entry function is the later optimisation (FIXME: needs blocks in
//! the IR and a conditional in the backend's entry function).

use super::ctx::NodeCtx;
use super::subgraph::{body, import_body};
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, ValueId};

pub fn if_(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let cond = imp.input(ctx, 0)?;
    let (then_g, else_g) = (body(ctx, "then_branch")?, body(ctx, "else_branch")?);
    let ty = imp.ty(cond);
    if ty.numel() != 1 {
        return Err(ctx.input_err(0, format!("the condition must have one element, it has type {ty}")));
    }
    if let Some(t) = imp.graph.const_of(cond) {
        let taken = t.to_f64_vec()[0] != 0.0;
        let (g, label) = if taken { (then_g, "then_branch") } else { (else_g, "else_branch") };
        return import_body(imp, ctx, g, label, &[]);
    }
    let then_outs = import_body(imp, ctx, then_g, "then_branch", &[])?;
    let else_outs = import_body(imp, ctx, else_g, "else_branch", &[])?;
    if then_outs.len() != else_outs.len() {
        let msg = format!("then_branch gives {} outputs, else_branch {}", then_outs.len(), else_outs.len());
        return Err(ctx.err(msg));
    }
    let cond = imp.reshape(ctx, cond, vec![], ctx.tmp("cond"))?;
    let pairs = then_outs.into_iter().zip(else_outs).enumerate();
    pairs.map(|(i, (t, e))| select(imp, ctx, cond, t, e, i)).collect()
}

/// `cond ? t : e` for output `i`, whose two branch values must have the same type.
fn select(imp: &mut Importer, ctx: &NodeCtx, cond: ValueId, t: ValueId, e: ValueId, i: usize) -> Result<ValueId> {
    if t == e {
        return Ok(t);
    }
    let (tt, te) = (imp.ty(t), imp.ty(e));
    if tt != te {
        let msg = format!(
            "output {i} ('{}') has type {tt} in then_branch but {te} in else_branch; with a condition known only \
             at run time kiln needs both branches to agree (static shapes)",
            ctx.out(i)
        );
        return Err(ctx.err(msg));
    }
    imp.emit1(ctx, Op::Where, vec![cond, t, e], ctx.out(i))
}
