//! ONNX's integer bit operations.
//!
//! `BitwiseAnd`/`Or`/`Xor` map to the IR's And/Or/Xor, which are bitwise on every integer dtype
//! (and logical on bool, where ONNX has the separate And/Or/Xor ops). `BitwiseNot` is one
//! subtraction: in two's complement `!x = -1 - x` for signed integers (no intermediate
//! overflows), and `!x = MAX - x` for unsigned ones.

use super::build::bin;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Tensor, ValueId};

/// `BitwiseAnd`, `BitwiseOr`, `BitwiseXor`: numpy broadcasting, integer operands only (ONNX's
/// type constraint; bool goes through And/Or/Xor).
pub fn bitwise_binary(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let op = match ctx.op() {
        "BitwiseAnd" => BinaryOp::And,
        "BitwiseOr" => BinaryOp::Or,
        _ => BinaryOp::Xor,
    };
    let (a, b) = (imp.input(ctx, 0)?, imp.input(ctx, 1)?);
    for (i, v) in [(0, a), (1, b)] {
        let dt = imp.ty(v).dtype;
        if !dt.is_int() {
            return Err(ctx.input_err(i, format!("has dtype {}; {} needs an integer dtype", dt.name(), ctx.op())));
        }
    }
    Ok(vec![bin(imp, ctx, op, a, b, ctx.out(0))?])
}

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
