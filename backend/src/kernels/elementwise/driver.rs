//! The broadcasting loop driver shared by every elementwise op.
//!
//! Output axes are walked row-major; each input has one stride per output axis (0 where it is
//! broadcast, numpy alignment from the right). Axes of size 1 are dropped and adjacent axes are
//! merged wherever every operand is contiguous across them, so the common cases fall out of one
//! algorithm instead of special cases:
//! - same shapes -> one flat axis, every stride 1: a single `f32x4` loop plus scalar tail;
//! - a scalar operand -> one flat axis, its stride 0: loaded and splatted once, before the loop;
//! - channel broadcast (`[N,C,H,W] + [C,1,1]`) -> axes `[N*C?, HW]` with the broadcast operand's
//!   innermost stride 0: its value is loaded once per row, outside the inner loop;
//! - anything else -> nested loops over the merged output axes with per-operand strides.
//!
//! The inner loop is vectorised (4 lanes) when the caller asks for it; the remainder runs as a
//! scalar loop, so the per-element body is called once with vector values and once with scalars.

use crate::emit::flags;
use crate::loops::for_count;
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// One input or output buffer: base pointer, element (lane) type and shape.
#[derive(Clone, Debug)]
pub(crate) struct Operand {
    pub ptr: Value,
    pub ty: Type,
    pub shape: Vec<usize>,
}

/// The per-element computation: operand values (vector or scalar) to the output value.
pub(crate) type Body<'f> = dyn FnMut(&mut FunctionBuilder, &[Value]) -> Value + 'f;

/// Strides (elements) of `shape` seen through the broadcast to `out` (0 on broadcast axes).
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<i64> {
    let dense = kiln_ir::strides_of(shape);
    let skip = out.len() - shape.len();
    (0..out.len()).map(|k| if k < skip || shape[k - skip] == 1 { 0 } else { dense[k - skip] as i64 }).collect()
}

/// The iteration space after dropping unit axes and merging contiguous ones: sizes and, per
/// operand (output first), strides.
#[derive(Debug, PartialEq)]
pub(crate) struct Plan {
    pub sizes: Vec<usize>,
    pub strides: Vec<Vec<i64>>,
}

/// Builds the merged iteration plan of `inputs` broadcast to `out`.
pub(crate) fn plan(out: &[usize], inputs: &[&[usize]]) -> Plan {
    let mut all = vec![broadcast_strides(out, out)];
    all.extend(inputs.iter().map(|s| broadcast_strides(s, out)));
    let mut sizes: Vec<usize> = Vec::new();
    let mut strides: Vec<Vec<i64>> = vec![Vec::new(); all.len()];
    for k in 0..out.len() {
        if out[k] == 1 {
            continue;
        }
        let mergeable = !sizes.is_empty()
            && all.iter().enumerate().all(|(o, s)| *strides[o].last().unwrap_or(&0) == s[k] * out[k] as i64);
        if mergeable {
            *sizes.last_mut().expect("non-empty") *= out[k];
            for (o, s) in all.iter().enumerate() {
                *strides[o].last_mut().expect("non-empty") = s[k];
            }
        } else {
            sizes.push(out[k]);
            for (o, s) in all.iter().enumerate() {
                strides[o].push(s[k]);
            }
        }
    }
    if sizes.is_empty() {
        sizes.push(1);
        strides.iter_mut().for_each(|s| s.push(0));
    }
    Plan { sizes, strides }
}

/// Emits the loops computing `out = body(inputs..)` with broadcasting; `lanes` is 4 for an
/// `f32x4` inner loop or 1 for scalar code.
pub(crate) fn emit_map(b: &mut FunctionBuilder, out: &Operand, inputs: &[Operand], lanes: usize, body: &mut Body) {
    if out.shape.contains(&0) {
        return;
    }
    let shapes: Vec<&[usize]> = inputs.iter().map(|o| o.shape.as_slice()).collect();
    let plan = plan(&out.shape, &shapes);
    let mut ops = vec![out.clone()];
    ops.extend(inputs.iter().cloned());
    let bases: Vec<Value> = ops.iter().map(|o| o.ptr).collect();
    walk_outer(b, &plan, &ops, 0, &bases, lanes, body);
}

/// Recursively emits the loops of the outer axes, then the inner loop.
fn walk_outer(
    b: &mut FunctionBuilder,
    plan: &Plan,
    ops: &[Operand],
    axis: usize,
    bases: &[Value],
    lanes: usize,
    body: &mut Body,
) {
    if axis + 1 == plan.sizes.len() {
        return emit_inner(b, plan, ops, bases, lanes, body);
    }
    for_count(b, 0, plan.sizes[axis] as i64, 1, |b, i| {
        let next: Vec<Value> = bases
            .iter()
            .zip(ops)
            .enumerate()
            .map(|(o, (&base, op))| offset(b, base, i, plan.strides[o][axis] * op.ty.bytes() as i64))
            .collect();
        walk_outer(b, plan, ops, axis + 1, &next, lanes, body);
    });
}

/// `base + i * scale` (returns `base` when `scale` is 0).
pub(crate) fn offset(b: &mut FunctionBuilder, base: Value, i: Value, scale: i64) -> Value {
    if scale == 0 {
        return base;
    }
    let off = b.ins().imul_imm_s(i, scale);
    b.ins().iadd(base, off)
}

/// The innermost axis: operands with stride 0 are loaded once (and splatted) before the loop.
fn emit_inner(b: &mut FunctionBuilder, plan: &Plan, ops: &[Operand], bases: &[Value], lanes: usize, body: &mut Body) {
    let last = plan.sizes.len() - 1;
    let n = plan.sizes[last] as i64;
    let strides: Vec<i64> = plan.strides.iter().map(|s| s[last]).collect();
    let vec_end = if lanes > 1 { n - n % lanes as i64 } else { 0 };
    if vec_end > 0 {
        let hoisted = load_invariants(b, ops, bases, &strides, lanes);
        run_range(b, ops, bases, &strides, &hoisted, (0, vec_end, lanes), body);
    }
    if vec_end < n {
        let hoisted = load_invariants(b, ops, bases, &strides, 1);
        run_range(b, ops, bases, &strides, &hoisted, (vec_end, n, 1), body);
    }
}

/// Values of the stride-0 inputs (index 1.. in `ops`), splatted to `lanes`.
fn load_invariants(
    b: &mut FunctionBuilder,
    ops: &[Operand],
    bases: &[Value],
    strides: &[i64],
    lanes: usize,
) -> Vec<Option<Value>> {
    (1..ops.len())
        .map(|o| {
            (strides[o] == 0).then(|| {
                let v = b.ins().load(ops[o].ty, flags(), bases[o], 0);
                if lanes > 1 {
                    b.ins().splat(ops[o].ty.by(lanes as u32).expect("lane count"), v)
                } else {
                    v
                }
            })
        })
        .collect()
}

/// One loop over `start..end` by `step` lanes: load the strided inputs, call `body`, store.
fn run_range(
    b: &mut FunctionBuilder,
    ops: &[Operand],
    bases: &[Value],
    strides: &[i64],
    hoisted: &[Option<Value>],
    (start, end, step): (i64, i64, usize),
    body: &mut Body,
) {
    for_count(b, start, end, step as i64, |b, i| {
        let mut vals = Vec::with_capacity(hoisted.len());
        for (k, h) in hoisted.iter().enumerate() {
            let v = match h {
                Some(v) => *v,
                None => {
                    let op = &ops[k + 1];
                    let addr = offset(b, bases[k + 1], i, strides[k + 1] * op.ty.bytes() as i64);
                    let ty = op.ty.by(step as u32).expect("lane count");
                    b.ins().load(ty, flags(), addr, 0)
                }
            };
            vals.push(v);
        }
        let y = body(b, &vals);
        let addr = offset(b, bases[0], i, strides[0] * ops[0].ty.bytes() as i64);
        b.ins().store(flags(), y, addr, 0);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_shapes_merge_to_one_axis() {
        let p = plan(&[2, 3, 5], &[&[2, 3, 5], &[2, 3, 5]]);
        assert_eq!(p, Plan { sizes: vec![30], strides: vec![vec![1], vec![1], vec![1]] });
    }

    #[test]
    fn scalar_operand_gets_stride_zero() {
        let p = plan(&[4, 5], &[&[4, 5], &[]]);
        assert_eq!(p, Plan { sizes: vec![20], strides: vec![vec![1], vec![1], vec![0]] });
    }

    #[test]
    fn channel_broadcast_keeps_rows() {
        let p = plan(&[2, 3, 4, 5], &[&[2, 3, 4, 5], &[3, 1, 1]]);
        assert_eq!(p.sizes, vec![2, 3, 20]);
        assert_eq!(p.strides[2], vec![0, 1, 0]);
        assert_eq!(p.strides[1], vec![60, 20, 1]);
    }

    #[test]
    fn trailing_broadcast_is_contiguous_inside() {
        let p = plan(&[7, 3], &[&[7, 3], &[3]]);
        assert_eq!(p, Plan { sizes: vec![7, 3], strides: vec![vec![3, 1], vec![3, 1], vec![0, 1]] });
    }

    #[test]
    fn all_unit_axes_become_one_element() {
        let p = plan(&[1, 1], &[&[1], &[]]);
        assert_eq!(p, Plan { sizes: vec![1], strides: vec![vec![0], vec![0], vec![0]] });
    }
}
