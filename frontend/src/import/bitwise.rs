//! `BitwiseNot` as one subtraction: in two's complement `!x = -1 - x` for signed integers (no
//! intermediate overflows), and `!x = MAX - x` for unsigned ones. BitwiseAnd/Or/Xor have no
//! such form over the IR's ops (its And/Or/Xor are bool-only) and are not imported.

use super::build::bin;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Tensor, ValueId};

pub fn bitwise_not(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let dt = imp.ty(x).dtype;
    if !dt.is_int() {
        return Err(ctx.input_err(0, format!("has dtype {}; BitwiseNot needs an integer dtype", dt.name())));
    }
    let all_ones = imp.constant(ctx.tmp("all_ones"), all_ones(dt));
    Ok(vec![bin(imp, ctx, BinaryOp::Sub, all_ones, x, ctx.out(0))?])
}

/// The scalar whose bits are all 1 in `dt`: -1 when signed, the maximum when unsigned.
fn all_ones(dt: DType) -> Tensor {
    let bytes = vec![0xffu8; dt.size()];
    Tensor::from_le_bytes(dt, Vec::<usize>::new(), &bytes).unwrap_or_else(|| Tensor::from_f64(dt, vec![], &[-1.0]))
}
