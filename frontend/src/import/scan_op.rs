//! Scan, unrolled at compile time over the (static) scan length.
//!
//! Opset 9+: inputs are the N initial states, then the M scan inputs; iteration `t` imports one
//! copy of the body (`super::subgraph`) on the states and element `t` of every scan input along
//! its `scan_input_axes` entry (element `L-1-t` when its `scan_input_directions` entry is 1).
//! The body's first N outputs are the next states; each remaining output is collected and the
//! copies stacked along its `scan_output_axes` entry (in reverse order when its
//! `scan_output_directions` entry is 1: ONNX then prepends). Opset 8 has a leading batch axis on
//! every input and output, scans axis 1 and names the directions `directions`; kiln runs the
//! opset-9 scan once per batch row and stacks the rows. Its optional `sequence_lens` must equal
//! the full length for every row (shorter rows would need zero padding that the test data never
//! exercises), else the import fails naming it. The scan length must be at least 1.

use super::ctx::NodeCtx;
use super::subgraph::{body, import_body, stack, take};
use super::Importer;
use crate::error::Result;
use kiln_ir::ValueId;
use onnx_protobuf::GraphProto;

/// Per-input and per-output axes and directions of one (batch-free) scan.
struct Spec {
    in_axes: Vec<usize>,
    in_rev: Vec<bool>,
    out_axes: Vec<i64>,
    out_rev: Vec<bool>,
}

pub fn scan(imp: &mut Importer, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
    let g = body(ctx, "body")?;
    let m = ctx.int("num_scan_inputs")?.ok_or_else(|| ctx.attr_err("num_scan_inputs", "is required"))?;
    let first = if ctx.opset < 9 { 1 } else { 0 };
    let inputs: Vec<ValueId> = (first..ctx.node.input.len()).map(|i| imp.input(ctx, i)).collect::<Result<_>>()?;
    let n = usize::try_from(m).ok().and_then(|m| inputs.len().checked_sub(m)).filter(|&n| n < inputs.len());
    let n = n.ok_or_else(|| ctx.attr_err("num_scan_inputs", format!("{m} does not fit {} inputs", inputs.len())))?;
    let k = g.output.len().checked_sub(n).ok_or_else(|| ctx.attr_err("body", "has fewer outputs than states"))?;
    let (states, xs) = inputs.split_at(n);
    if ctx.opset < 9 {
        return scan8(imp, ctx, g, states, xs, k);
    }
    let spec = spec9(imp, ctx, xs, k)?;
    let (finals, scans) = run(imp, ctx, g, states.to_vec(), xs, &spec, "")?;
    finish(imp, ctx, finals, scans, &spec.out_axes, "")
}

/// The opset-9 attributes, checked against the inputs' ranks.
fn spec9(imp: &Importer, ctx: &NodeCtx, xs: &[ValueId], k: usize) -> Result<Spec> {
    let m = xs.len();
    let ranks: Vec<usize> = xs.iter().map(|&x| imp.shape(x).len()).collect();
    let in_axes = ctx.ints("scan_input_axes")?.unwrap_or_else(|| vec![0; m]);
    let in_axes = checked_len(ctx, "scan_input_axes", in_axes, m)?;
    let in_axes =
        in_axes.iter().zip(&ranks).map(|(&a, &r)| ctx.axis("scan_input_axes", a, r)).collect::<Result<_>>()?;
    let out_axes =
        checked_len(ctx, "scan_output_axes", ctx.ints("scan_output_axes")?.unwrap_or_else(|| vec![0; k]), k)?;
    Ok(Spec {
        in_axes,
        in_rev: directions(ctx, "scan_input_directions", m)?,
        out_axes,
        out_rev: directions(ctx, "scan_output_directions", k)?,
    })
}

fn checked_len(ctx: &NodeCtx, attr: &str, v: Vec<i64>, want: usize) -> Result<Vec<i64>> {
    if v.len() != want {
        return Err(ctx.attr_err(attr, format!("has {} entries, expected {want}", v.len())));
    }
    Ok(v)
}

/// A directions attribute (0 forward, 1 reverse), all forward when absent.
fn directions(ctx: &NodeCtx, attr: &str, want: usize) -> Result<Vec<bool>> {
    let v = checked_len(ctx, attr, ctx.ints(attr)?.unwrap_or_else(|| vec![0; want]), want)?;
    v.iter()
        .map(|&d| match d {
            0 | 1 => Ok(d == 1),
            _ => Err(ctx.attr_err(attr, format!("direction {d} is not 0 or 1"))),
        })
        .collect()
}

/// The scan length: the size of every scan input along its scan axis.
fn length(imp: &Importer, ctx: &NodeCtx, xs: &[ValueId], axes: &[usize]) -> Result<usize> {
    let lens: Vec<usize> = xs.iter().zip(axes).map(|(&x, &a)| imp.shape(x).get(a).copied().unwrap_or(0)).collect();
    match lens.first() {
        Some(&l) if l > 0 && lens.iter().all(|&x| x == l) => Ok(l),
        _ => Err(ctx.err(format!("the scan inputs' lengths {lens:?} must be equal and at least 1"))),
    }
}

/// Runs the scan; returns the final states and, per scan output, its values in output order.
fn run(
    imp: &mut Importer,
    ctx: &NodeCtx,
    g: &GraphProto,
    mut states: Vec<ValueId>,
    xs: &[ValueId],
    spec: &Spec,
    prefix: &str,
) -> Result<(Vec<ValueId>, Vec<Vec<ValueId>>)> {
    let len = length(imp, ctx, xs, &spec.in_axes)?;
    let mut scans = vec![vec![None; len]; spec.out_rev.len()];
    for t in 0..len {
        let label = format!("{prefix}iter{t}");
        let mut args = states.clone();
        for (j, &x) in xs.iter().enumerate() {
            let pos = if spec.in_rev[j] { len - 1 - t } else { t };
            args.push(take(imp, ctx, x, spec.in_axes[j], pos, ctx.tmp(&format!("{label}_in{j}")))?);
        }
        let outs = import_body(imp, ctx, g, &label, &args)?;
        let (next, ys) = outs.split_at(states.len());
        states = next.to_vec();
        for (k, &y) in ys.iter().enumerate() {
            let pos = if spec.out_rev[k] { len - 1 - t } else { t };
            scans[k][pos] = Some(y);
        }
    }
    Ok((states, scans.into_iter().map(|s| s.into_iter().flatten().collect()).collect()))
}

/// The final states followed by the scan outputs stacked along their axes.
fn finish(
    imp: &mut Importer,
    ctx: &NodeCtx,
    mut outs: Vec<ValueId>,
    scans: Vec<Vec<ValueId>>,
    axes: &[i64],
    prefix: &str,
) -> Result<Vec<ValueId>> {
    for (k, vals) in scans.iter().enumerate() {
        let rank = imp.shape(vals[0]).len() + 1;
        let axis = ctx.axis("scan_output_axes", axes[k], rank)?;
        let i = outs.len();
        let name = if prefix.is_empty() { ctx.out(i) } else { ctx.tmp(&format!("{prefix}out{i}")) };
        outs.push(stack(imp, ctx, vals, axis, name)?);
    }
    Ok(outs)
}

/// Opset-8 Scan: a batch axis 0 on everything and the scan along axis 1; one scan per row.
fn scan8(
    imp: &mut Importer,
    ctx: &NodeCtx,
    g: &GraphProto,
    states: &[ValueId],
    xs: &[ValueId],
    k: usize,
) -> Result<Vec<ValueId>> {
    let batch = xs.first().map(|&x| imp.shape(x)).and_then(|s| s.first().copied()).unwrap_or(0);
    if batch == 0 || xs.iter().chain(states).any(|&v| imp.shape(v).first() != Some(&batch)) {
        return Err(ctx.err("every state and scan input needs the same batch size (axis 0), at least 1"));
    }
    let rev = directions(ctx, "directions", xs.len())?;
    let spec = Spec { in_axes: vec![0; xs.len()], in_rev: rev, out_axes: vec![0; k], out_rev: vec![false; k] };
    check_sequence_lens(imp, ctx, xs, batch)?;
    let mut rows = Vec::with_capacity(batch);
    for b in 0..batch {
        let prefix = format!("batch{b}/");
        let row =
            |imp: &mut Importer, v: ValueId, j: usize| take(imp, ctx, v, 0, b, ctx.tmp(&format!("{prefix}row{j}")));
        let st: Vec<ValueId> = states.iter().enumerate().map(|(j, &v)| row(imp, v, j)).collect::<Result<_>>()?;
        let x: Vec<ValueId> =
            xs.iter().enumerate().map(|(j, &v)| row(imp, v, states.len() + j)).collect::<Result<_>>()?;
        let (finals, scans) = run(imp, ctx, g, st, &x, &spec, &prefix)?;
        rows.push(finish(imp, ctx, finals, scans, &spec.out_axes, &prefix)?);
    }
    (0..states.len() + k)
        .map(|i| {
            let vals: Vec<ValueId> = rows.iter().map(|r| r[i]).collect();
            stack(imp, ctx, &vals, 0, ctx.out(i))
        })
        .collect()
}

/// Opset-8 `sequence_lens` (input 0): absent, or the full scan length for every row.
fn check_sequence_lens(imp: &Importer, ctx: &NodeCtx, xs: &[ValueId], batch: usize) -> Result<()> {
    let Some(lens) = imp.opt_const(ctx, 0)? else { return Ok(()) };
    let full = xs.iter().map(|&x| imp.shape(x).get(1).copied().unwrap_or(0)).max().unwrap_or(0) as i64;
    let lens = lens.to_i64_vec();
    if lens.len() != batch || lens.iter().any(|&l| l != full) {
        return Err(
            ctx.input_err(0, format!("sequence lengths {lens:?} other than the full length {full} are not supported"))
        );
    }
    Ok(())
}
