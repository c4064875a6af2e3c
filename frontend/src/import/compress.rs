//! `Compress` with a compile-time `condition` as a `Gather` of the constant list of selected
//! positions (the output length is then static, as kiln's IR requires; a condition computed at
//! run time gives a data-dependent shape and is an error naming the input). Without `axis` the
//! input is flattened first, as ONNX specifies. Condition entries past the axis length must be
//! false (numpy's rule); a true one there is an error.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{DType, Op, Tensor, ValueId};

pub fn compress(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let (x, axis) = match ctx.int("axis")? {
        Some(a) => (x, ctx.axis("axis", a, shape.len())?),
        None => (imp.reshape(ctx, x, vec![shape.iter().product()], ctx.tmp("flat"))?, 0),
    };
    let len = imp.shape(x)[axis];
    let cond = imp.const_input(ctx, 1)?;
    if cond.dtype() != DType::Bool || cond.shape().len() != 1 {
        return Err(ctx.input_err(1, format!("condition must be 1-D bool, got {}", cond.ty())));
    }
    let picked: Vec<i64> = (0..cond.numel()).filter(|&i| cond.data().get_i64(i) != 0).map(|i| i as i64).collect();
    if let Some(&bad) = picked.iter().find(|&&i| i as usize >= len) {
        return Err(ctx.input_err(1, format!("condition selects position {bad} of an axis of length {len}")));
    }
    let n = picked.len();
    let indices = imp.constant(ctx.tmp("indices"), Tensor::from_vec(vec![n], picked));
    Ok(vec![imp.emit1(ctx, Op::Gather { axis }, vec![x, indices], ctx.out(0))?])
}
