//! Shape-only ops, all lowered to the IR's `Reshape { shape }` except Transpose and Expand:
//! Reshape (0 copies a dim unless `allowzero`, one -1 is inferred), Flatten, Squeeze (no axes:
//! every 1-dim), Unsqueeze (axes attribute before opset 13, input after), Transpose (default
//! perm reverses), Expand (the output shape is the broadcast of input and given shape).

use super::ctx::NodeCtx;
use super::source::shape_input;
use super::Importer;
use crate::error::Result;
use kiln_ir::{broadcast_shapes, Op, ValueId};

/// The `axes` parameter: an input from opset `since` on (index `input`), an attribute before.
pub fn axes_param(imp: &Importer, ctx: &NodeCtx, input: usize, since: i64) -> Result<Option<Vec<i64>>> {
    if ctx.opset >= since {
        Ok(imp.opt_const(ctx, input)?.map(|t| t.to_i64_vec()))
    } else {
        ctx.ints("axes")
    }
}

/// Normalises `axes` against `rank`, sorted; repeated axes are an error.
pub fn normalise_axes(ctx: &NodeCtx, axes: &[i64], rank: usize) -> Result<Vec<usize>> {
    let mut out = axes.iter().map(|&a| ctx.axis("axes", a, rank)).collect::<Result<Vec<_>>>()?;
    out.sort_unstable();
    if out.windows(2).any(|w| w[0] == w[1]) {
        return Err(ctx.attr_err("axes", format!("{axes:?} repeats an axis")));
    }
    Ok(out)
}

pub fn reshape(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let spec = shape_input(imp, ctx, 1)?;
    let allow_zero = ctx.bool_or("allowzero", false)?;
    let shape = resolve_reshape(ctx, &imp.shape(x), &spec, allow_zero)?;
    Ok(vec![imp.emit1(ctx, Op::Reshape { shape }, vec![x], ctx.out(0))?])
}

fn resolve_reshape(ctx: &NodeCtx, input: &[usize], spec: &[i64], allow_zero: bool) -> Result<Vec<usize>> {
    let bad = |msg: String| ctx.input_err(1, format!("shape {spec:?} for input {input:?}: {msg}"));
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(spec.len());
    let mut infer_at = None;
    for (i, &d) in spec.iter().enumerate() {
        out.push(match d {
            0 if !allow_zero => *input.get(i).ok_or_else(|| bad(format!("0 at axis {i} has no input dim")))?,
            -1 if infer_at.is_none() => {
                infer_at = Some(i);
                1
            }
            -1 => return Err(bad("more than one -1".into())),
            d => usize::try_from(d).map_err(|_| bad(format!("invalid dim {d}")))?,
        });
    }
    let known = out.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| bad("overflow".into()))?;
    if let Some(i) = infer_at {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(bad("cannot infer the -1 dim".into()));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(bad(format!("{known} elements, the input has {total}")));
    }
    Ok(out)
}

pub fn flatten(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let (a, r) = (ctx.int_or("axis", 1)?, shape.len() as i64);
    // Flatten's axis may equal the rank (everything in the rows).
    if a < -r || a > r {
        return Err(ctx.attr_err("axis", format!("axis {a} out of range for rank {r}")));
    }
    let axis = if a < 0 { a + r } else { a } as usize;
    let rows = shape[..axis].iter().product();
    let cols = shape[axis..].iter().product();
    Ok(vec![imp.emit1(ctx, Op::Reshape { shape: vec![rows, cols] }, vec![x], ctx.out(0))?])
}

pub fn squeeze(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let axes = match axes_param(imp, ctx, 1, 13)? {
        Some(a) => normalise_axes(ctx, &a, shape.len())?,
        None => (0..shape.len()).filter(|&a| shape[a] == 1).collect(),
    };
    if let Some(&a) = axes.iter().find(|&&a| shape[a] != 1) {
        return Err(ctx.attr_err("axes", format!("axis {a} has size {}, not 1", shape[a])));
    }
    let out = (0..shape.len()).filter(|a| !axes.contains(a)).map(|a| shape[a]).collect();
    Ok(vec![imp.emit1(ctx, Op::Reshape { shape: out }, vec![x], ctx.out(0))?])
}

pub fn unsqueeze(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let axes = axes_param(imp, ctx, 1, 13)?.ok_or_else(|| ctx.attr_err("axes", "missing"))?;
    let axes = normalise_axes(ctx, &axes, shape.len() + axes.len())?;
    let mut dims = shape.iter();
    let out = (0..shape.len() + axes.len())
        .map(|a| if axes.contains(&a) { 1 } else { dims.next().copied().unwrap_or(1) })
        .collect();
    Ok(vec![imp.emit1(ctx, Op::Reshape { shape: out }, vec![x], ctx.out(0))?])
}

pub fn transpose(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let rank = imp.shape(x).len();
    let perm = match ctx.ints("perm")? {
        Some(p) => p.iter().map(|&a| ctx.axis("perm", a, rank)).collect::<Result<Vec<_>>>()?,
        None => (0..rank).rev().collect(),
    };
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..rank).collect::<Vec<_>>() {
        return Err(ctx.attr_err("perm", format!("{perm:?} is not a permutation of 0..{rank}")));
    }
    Ok(vec![imp.emit1(ctx, Op::Transpose { perm }, vec![x], ctx.out(0))?])
}

pub fn expand(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let spec = shape_input(imp, ctx, 1)?;
    let given = spec
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| ctx.input_err(1, format!("negative dim {d}"))))
        .collect::<Result<Vec<_>>>()?;
    let input = imp.shape(x);
    let shape = broadcast_shapes(&input, &given)
        .ok_or_else(|| ctx.input_err(1, format!("shape {given:?} does not broadcast with input {input:?}")))?;
    if shape == input {
        return Ok(vec![x]);
    }
    Ok(vec![imp.emit1(ctx, Op::Expand { shape }, vec![x], ctx.out(0))?])
}

/// Tile as reshape -> expand -> reshape: `[d0, d1..]` is seen as `[1, d0, 1, d1..]`, expanded
/// to `[r0, d0, r1, d1..]` (repeat outermost, as Tile's output index `i` reads `i mod d`) and
/// merged back to `[r0*d0, r1*d1..]`.
pub fn tile(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let x = imp.input(ctx, 0)?;
    let shape = imp.shape(x);
    let repeats = shape_input(imp, ctx, 1)?;
    if repeats.len() != shape.len() || repeats.iter().any(|&r| r < 0) {
        return Err(ctx.input_err(1, format!("repeats {repeats:?} do not fit rank {}", shape.len())));
    }
    if repeats.iter().all(|&r| r == 1) {
        return Ok(vec![x]);
    }
    let pairs = |f: &dyn Fn(usize, usize) -> [usize; 2]| -> Vec<usize> {
        shape.iter().zip(&repeats).flat_map(|(&d, &r)| f(d, r as usize)).collect()
    };
    let spread = imp.reshape(ctx, x, pairs(&|d, _| [1, d]), ctx.tmp("spread"))?;
    let expanded = imp.emit1(ctx, Op::Expand { shape: pairs(&|d, r| [r, d]) }, vec![spread], ctx.tmp("tiled"))?;
    let out: Option<Vec<usize>> = shape.iter().zip(&repeats).map(|(&d, &r)| d.checked_mul(r as usize)).collect();
    let out = out.ok_or_else(|| ctx.input_err(1, "output size overflows"))?;
    Ok(vec![imp.reshape(ctx, expanded, out, ctx.out(0))?])
}
