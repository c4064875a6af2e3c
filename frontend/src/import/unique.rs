//! `Unique` as the data-dependent `Op::Unique` (see `kiln_ir::dynamic`): without `axis` the
//! input is flattened first (ONNX's rule) and the op works on axis 0. Y, indices and counts
//! are bounded by the number of slices; inverse_indices is static. Absent outputs are simply
//! not bound.

use super::bounded;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, ValueId};

pub fn unique(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let (x, axis) = match ctx.int("axis")? {
        Some(a) => (x, ctx.axis("axis", a, shape.len())?),
        None => (imp.reshape(ctx, x, vec![shape.iter().product()], ctx.tmp("flat"))?, 0),
    };
    let sorted = match ctx.int_or("sorted", 1)? {
        0 => false,
        1 => true,
        v => return Err(ctx.attr_err("sorted", format!("must be 0 or 1, got {v}"))),
    };
    let names = vec![ctx.out(0), ctx.out(1), ctx.out(2), ctx.out(3), ctx.tmp("len")];
    bounded::emit(imp, ctx, Op::Unique { axis, sorted }, vec![x], names)
}
