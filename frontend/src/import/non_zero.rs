//! `NonZero` as the data-dependent `Op::NonZero` (see `kiln_ir::dynamic`): the indices come
//! back as a `[rank, numel]` buffer whose run-time column count is the op's length, cut to size
//! by the runtime; on a constant input it folds to the exact result.

use super::bounded;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, ValueId};

pub fn non_zero(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    bounded::emit(imp, ctx, Op::NonZero, vec![x], vec![ctx.out(0), ctx.tmp("len")])
}
