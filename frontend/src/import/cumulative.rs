//! `CumSum` and `CumProd` as a log-step (Hillis-Steele) scan of shifted copies.
//!
//! `y = x; for s in 1, 2, 4, .. < n: y = y (+|*) shift(y, s)`, where `shift` moves the tensor
//! `s` places along the axis and fills the vacated places with the identity (0 or 1). The shift
//! is one `Pad` with a positive pad on one side and a negative one (a crop) on the other, so the
//! scan needs `2 * ceil(log2 n)` existing IR nodes and works for every numeric dtype; a
//! triangular-matrix MatMul would only cover floats and costs `n^2` multiplies per line.
//! `exclusive` shifts the input by one place first; `reverse` shifts the other way.
//! Float sums are accumulated in tree order, not left to right, so they may differ from a
//! sequential sum in the last bits.

use super::build::bin;
use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{BinaryOp, DType, Op, PadMode, ValueId};

pub fn cumulative(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let ty = imp.ty(x);
    if ty.dtype == DType::Bool {
        return Err(ctx.input_err(0, format!("has dtype bool; {} needs a numeric dtype", ctx.op())));
    }
    let axis = axis_input(imp, ctx, ty.shape.len())?;
    let (op, identity) = if ctx.op() == "CumProd" { (BinaryOp::Mul, 1.0) } else { (BinaryOp::Add, 0.0) };
    let scan = Scan { axis, rank: ty.shape.len(), reverse: ctx.bool_or("reverse", false)?, identity };
    let n = ty.shape[axis];
    let steps: Vec<usize> = std::iter::successors(Some(1usize), |s| s.checked_mul(2)).take_while(|&s| s < n).collect();
    let mut y = x;
    if ctx.bool_or("exclusive", false)? {
        let last = steps.is_empty();
        y = scan.shift(imp, ctx, y, 1, if last { ctx.out(0) } else { ctx.tmp("exclusive") })?;
    }
    let count = steps.len();
    for (i, &s) in steps.iter().enumerate() {
        let shifted = scan.shift(imp, ctx, y, s, ctx.tmp(&format!("shift{s}")))?;
        let name = if i + 1 == count { ctx.out(0) } else { ctx.tmp(&format!("scan{s}")) };
        y = bin(imp, ctx, op, y, shifted, name)?;
    }
    Ok(vec![y])
}

/// The scan's axis and direction.
struct Scan {
    axis: usize,
    rank: usize,
    reverse: bool,
    identity: f64,
}

impl Scan {
    /// `v` moved `s` places along the axis (toward higher indices unless reversed), the vacated
    /// places filled with the identity.
    fn shift(&self, imp: &mut Importer, ctx: &NodeCtx, v: ValueId, s: usize, name: String) -> Result<ValueId> {
        let mut pads = vec![0i64; 2 * self.rank];
        let s = s as i64;
        let (grow, crop) =
            if self.reverse { (self.rank + self.axis, self.axis) } else { (self.axis, self.rank + self.axis) };
        pads[grow] = s;
        pads[crop] = -s;
        imp.emit1(ctx, Op::Pad { mode: PadMode::Constant, pads, value: self.identity.into() }, vec![v], name)
    }
}

/// The `axis` input: one constant integer, normalised against `rank`.
fn axis_input(imp: &Importer, ctx: &NodeCtx, rank: usize) -> Result<usize> {
    let t = imp.const_input(ctx, 1)?;
    if !matches!(t.dtype(), DType::I32 | DType::I64) || t.numel() != 1 {
        return Err(
            ctx.input_err(1, format!("axis must be one i32 or i64, got {} of shape {:?}", t.dtype().name(), t.shape()))
        );
    }
    let a = t.to_i64_vec()[0];
    let r = rank as i64;
    if a < -r || a >= r {
        return Err(ctx.input_err(1, format!("axis {a} out of range for rank {rank}")));
    }
    Ok(if a < 0 { (a + r) as usize } else { a as usize })
}
