//! `SpaceToDepth` and `DepthToSpace` as Reshape -> Transpose -> Reshape on 4-D `[N, C, H, W]`
//! tensors, with the ONNX reference's 6-D intermediate shapes and permutations for the `DCR`
//! (default) and `CRD` modes. A pure data movement, so the IR's transpose kernel does the work.

use super::ctx::NodeCtx;
use super::Importer;
use crate::error::Result;
use kiln_ir::{Op, ValueId};

pub fn space_to_depth(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, [n, c, h, w], b) = operands(imp, ctx)?;
    if h % b != 0 || w % b != 0 {
        return Err(ctx.attr_err("blocksize", format!("{b} does not divide H {h} and W {w}")));
    }
    let perm = match mode(ctx)?.as_str() {
        "DCR" => [0, 3, 5, 1, 2, 4],
        _ => [0, 1, 3, 5, 2, 4],
    };
    let mid = vec![n, c, h / b, b, w / b, b];
    permute(imp, ctx, x, mid, &perm, vec![n, c * b * b, h / b, w / b])
}

pub fn depth_to_space(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let (x, [n, c, h, w], b) = operands(imp, ctx)?;
    if c % (b * b) != 0 {
        return Err(ctx.attr_err("blocksize", format!("{b}^2 does not divide C {c}")));
    }
    let (mid, perm) = match mode(ctx)?.as_str() {
        "DCR" => (vec![n, b, b, c / (b * b), h, w], [0, 3, 4, 1, 5, 2]),
        _ => (vec![n, c / (b * b), b, b, h, w], [0, 1, 4, 2, 5, 3]),
    };
    permute(imp, ctx, x, mid, &perm, vec![n, c / (b * b), h * b, w * b])
}

/// Input 0 (rank 4) with its shape, and the positive `blocksize`.
fn operands(imp: &Importer, ctx: &NodeCtx) -> Result<(ValueId, [usize; 4], usize)> {
    let x = imp.input(ctx, 0)?;
    let shape: [usize; 4] = imp
        .shape(x)
        .try_into()
        .map_err(|s: Vec<usize>| ctx.input_err(0, format!("has rank {}; {} needs rank 4", s.len(), ctx.op())))?;
    let b = ctx.int("blocksize")?.ok_or_else(|| ctx.attr_err("blocksize", "is required"))?;
    if b < 1 || b > 1 << 16 {
        return Err(ctx.attr_err("blocksize", format!("{b} is not in [1, 65536]")));
    }
    Ok((x, shape, b as usize))
}

/// The `mode` attribute: `DCR` (default) or `CRD`.
fn mode(ctx: &NodeCtx) -> Result<String> {
    let m = ctx.string_or("mode", "DCR")?;
    if m != "DCR" && m != "CRD" {
        return Err(ctx.attr_err("mode", format!("'{m}' is not 'DCR' or 'CRD'")));
    }
    Ok(m)
}

fn permute(
    imp: &mut Importer,
    ctx: &NodeCtx,
    x: ValueId,
    mid: Vec<usize>,
    perm: &[usize; 6],
    out: Vec<usize>,
) -> Result<Vec<ValueId>> {
    let r = imp.reshape(ctx, x, mid, ctx.tmp("blocks"))?;
    let t = imp.emit1(ctx, Op::Transpose { perm: perm.to_vec() }, vec![r], ctx.tmp("moved"))?;
    Ok(vec![imp.reshape(ctx, t, out, ctx.out(0))?])
}
