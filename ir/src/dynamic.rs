//! Data-dependent output shapes: bounded buffers plus a run-time length.
//!
//! NonZero, Unique and NonMaxSuppression produce tensors whose extent along one axis is known
//! only when the model runs. kiln keeps every IR type static, so such an op (a *data-dependent
//! op*) describes the result by two things:
//! - a **bounded result**: a buffer of a static upper-bound shape whose one *bounded axis* holds
//!   the real extent at most (NonZero: `[rank, numel]`, axis 1; Unique: the input's shape,
//!   axis `axis`, and `[n]` for indices and counts; NonMaxSuppression:
//!   `[batches * classes * min(boxes, max_boxes), 3]`, axis 0). Positions past the run-time
//!   extent hold zeros (kernels and the evaluator write them, so results are deterministic);
//! - a **length result**, always the op's last result: an i64 scalar, the run-time extent of
//!   the bounded axis (between 0 and the bound).
//!
//! Nothing else in the IR is dynamic, so every pass, the memory planner and the backend treat
//! these ops like any other multi-result node. The price is that a bounded result may flow
//! only into places that know about lengths:
//! - **graph outputs**: when a bounded result is a graph output, its length result is a graph
//!   output too. [`bounded_outputs`] pairs
//!   them; the runtime and the CLI cut each bounded output to its length and drop the length
//!   outputs ([`trim_outputs`]), so callers see ONNX's exact shapes. A native object writes all
//!   outputs, bounded ones at their bound and lengths as extra outputs, as its header documents.
//!   Length outputs are identified by their definition, not their position; the frontend
//!   moves them after the ONNX outputs ([`move_lengths_last`]), so a native object's output
//!   `i` is the model's ONNX output `i` and the lengths follow.
//! - **length-agnostic ops** ([`passes_length`]: Cast, Identity, Unary, one-input Elementwise):
//!   their result is bounded too, with the same axis and length (they compute the padding as
//!   well, so past the extent it may hold `f(0)` instead of zeros). The frontend needs this
//!   for half types, which it widens to f32 around an op and casts back.
//! - **nothing else**: a node reading a bounded result is rejected ([`check_bounded_uses`]; the
//!   frontend names the ONNX node: "data-dependent shape flows into op X, which needs a static
//!   shape").
//!
//! Unique's `inverse_indices` has a static shape (one entry per input slice) and is an
//! ordinary result. Compress with a run-time condition and TopK with a run-time `k` remain
//! rejected by the frontend with an error naming the input (`kiln run` then binds the value
//! from the input file, so their node tests pass); FIXME: Compress fits this scheme as a
//! bounded Gather, TopK as bounded values and indices.

use crate::dtype::{DType, TensorType};
use crate::graph::{Graph, ValueDef, ValueId};
use crate::op::Op;
use crate::tensor::Tensor;

/// The bounded axis of result `result` of `op`, or `None` when that result is static (every
/// result of an ordinary op, a length result, Unique's inverse indices).
pub fn bounded_axis(op: &Op, result: usize) -> Option<usize> {
    match (op, result) {
        (Op::NonZero, 0) => Some(1),
        (Op::Unique { axis, .. }, 0) => Some(*axis),
        (Op::Unique { .. }, 1 | 3) => Some(0),
        (Op::NonMaxSuppression { .. }, 0) => Some(0),
        _ => None,
    }
}

/// The index of the length result of a data-dependent op (its last result), else `None`.
pub fn length_result(op: &Op) -> Option<usize> {
    match op {
        Op::NonZero | Op::NonMaxSuppression { .. } => Some(1),
        Op::Unique { .. } => Some(4),
        _ => None,
    }
}

/// One bounded graph output: graph output `output` is cut along `axis` to the value of graph
/// output `length`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoundedOutput {
    pub output: usize,
    pub axis: usize,
    pub length: usize,
}

/// True for ops whose result keeps the bounded axis and length of their one input.
pub fn passes_length(op: &Op, inputs: usize) -> bool {
    inputs == 1 && matches!(op, Op::Cast { .. } | Op::Identity | Op::Unary(_) | Op::Elementwise(_))
}

/// The length value and bounded axis of `v`, or `None` for a static value. Follows
/// length-agnostic ops back to the data-dependent op (the walk ends: inputs precede nodes).
fn bounded_def(graph: &Graph, mut v: ValueId) -> Option<(ValueId, usize)> {
    for _ in 0..=graph.nodes.len() {
        let ValueDef::Node { node, index } = graph.values.get(v)?.def else { return None };
        let node = graph.nodes.get(node)?;
        if !passes_length(&node.op, node.inputs.len()) {
            let axis = bounded_axis(&node.op, index)?;
            return Some((*node.outputs.get(length_result(&node.op)?)?, axis));
        }
        v = node.inputs[0];
    }
    None // a cycle: only in a graph the verifier rejects
}

/// True when `v` is a bounded result of a data-dependent op.
pub fn is_bounded(graph: &Graph, v: ValueId) -> bool {
    bounded_def(graph, v).is_some()
}

/// Every bounded graph output with its length output, in output order.
///
/// # Errors
/// Names the output whose length result is not a graph output (a frontend or pass bug).
pub fn bounded_outputs(graph: &Graph) -> Result<Vec<BoundedOutput>, String> {
    let mut found = Vec::new();
    for (output, &v) in graph.outputs.iter().enumerate() {
        let Some((len, axis)) = bounded_def(graph, v) else { continue };
        let length = graph.outputs.iter().position(|&o| o == len).ok_or_else(|| {
            format!("graph output {output} ({}) is bounded but its length is not a graph output", graph.value(v).name)
        })?;
        found.push(BoundedOutput { output, axis, length });
    }
    Ok(found)
}

/// For each graph output, true when it is a length output (hidden from callers).
pub fn length_outputs(graph: &Graph) -> Vec<bool> {
    graph
        .outputs
        .iter()
        .map(|&v| match graph.values.get(v).map(|x| x.def) {
            Some(ValueDef::Node { node, index }) => {
                graph.nodes.get(node).is_some_and(|n| length_result(&n.op) == Some(index))
            }
            _ => false,
        })
        .collect()
}

/// Moves the length outputs after all other graph outputs, keeping both groups' order.
pub fn move_lengths_last(graph: &mut Graph) {
    let hidden = length_outputs(graph);
    let (lengths, visible): (Vec<_>, Vec<_>) = graph.outputs.iter().zip(&hidden).partition(|(_, &h)| h);
    graph.outputs = visible.into_iter().chain(lengths).map(|(&v, _)| v).collect();
}

/// The types callers see: every graph output but the length outputs (bounded ones at their
/// bound; their real extent is known only after a run).
pub fn visible_output_types(graph: &Graph) -> Vec<TensorType> {
    let hidden = length_outputs(graph);
    graph.outputs.iter().zip(&hidden).filter(|(_, &h)| !h).map(|(&v, _)| graph.ty(v).clone()).collect()
}

/// The names of the visible outputs (see [`visible_output_types`]).
pub fn visible_output_names(graph: &Graph) -> Vec<String> {
    let hidden = length_outputs(graph);
    graph.outputs.iter().zip(&hidden).filter(|(_, &h)| !h).map(|(&v, _)| graph.value(v).name.clone()).collect()
}

/// Cuts every bounded output of a run (`outputs` in graph-output order) to its length and
/// drops the length outputs.
///
/// # Errors
/// When the outputs do not match the graph or a length is outside `[0, bound]`.
pub fn trim_outputs(graph: &Graph, outputs: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
    trim_with(&bounded_outputs(graph)?, &length_outputs(graph), outputs)
}

/// [`trim_outputs`] from the graph's [`bounded_outputs`] and [`length_outputs`] (for callers
/// that keep those instead of the graph, such as a native object's description).
///
/// # Errors
/// When the outputs do not match `hidden` or a length is outside `[0, bound]`.
pub fn trim_with(bounded: &[BoundedOutput], hidden: &[bool], outputs: Vec<Tensor>) -> Result<Vec<Tensor>, String> {
    if outputs.len() != hidden.len() {
        return Err(format!("{} outputs for a graph with {}", outputs.len(), hidden.len()));
    }
    let mut outputs: Vec<Option<Tensor>> = outputs.into_iter().map(Some).collect();
    for b in bounded {
        let len = outputs.get(b.length).and_then(|t| t.as_ref()).map(|t| t.data().get_i64(0)).unwrap_or(-1);
        let t = outputs.get_mut(b.output).and_then(Option::take).ok_or("bounded output missing or taken twice")?;
        outputs[b.output] = Some(cut(&t, b.axis, len)?);
    }
    Ok(outputs.into_iter().zip(hidden).filter(|(_, &h)| !h).filter_map(|(t, _)| t).collect())
}

/// The first `len` positions of `t` along `axis` (an error when `len` is not in `[0, bound]`).
pub fn cut(t: &Tensor, axis: usize, len: i64) -> Result<Tensor, String> {
    let shape = t.shape();
    let bound = *shape.get(axis).ok_or_else(|| format!("bounded axis {axis} out of range for {}", t.ty()))?;
    let len = usize::try_from(len).ok().filter(|&l| l <= bound);
    let len = len.ok_or_else(|| format!("run-time length outside [0, {bound}] for a bounded {}", t.ty()))?;
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let keep: Vec<usize> = (0..outer).flat_map(|o| (o * bound * inner..).take(len * inner)).collect();
    let mut out_shape = shape.to_vec();
    out_shape[axis] = len;
    crate::eval::movement::take(t, &keep, 0.0, &out_shape)
}

/// Checks that no node reads a bounded result (the rule of the module docs).
///
/// # Errors
/// Names the reading node and op, the way the frontend reports it.
pub fn check_bounded_uses(graph: &Graph) -> Result<(), String> {
    for (_, node) in graph.nodes.iter().filter(|(_, n)| !passes_length(&n.op, n.inputs.len())) {
        if let Some(&v) = node.inputs.iter().find(|&&v| is_bounded(graph, v)) {
            return Err(flows_into(&graph.value(v).name, &node.name, node.op.name()));
        }
    }
    Ok(())
}

/// The error text for a bounded value `value` read by node `node` of op `op`.
pub fn flows_into(value: &str, node: &str, op: &str) -> String {
    format!("data-dependent shape of `{value}` flows into node `{node}` (op {op}), which needs a static shape")
}

/// Output types of the data-dependent ops (called by [`crate::infer::infer_types`]).
pub(crate) fn infer(op: &Op, inputs: &[&TensorType]) -> Result<Vec<TensorType>, String> {
    let len = TensorType::new(DType::I64, vec![]);
    match op {
        Op::NonZero => {
            let [x] = inputs else { return Err(format!("expected 1 input, got {}", inputs.len())) };
            Ok(vec![TensorType::new(DType::I64, vec![x.rank(), x.numel()]), len])
        }
        Op::Unique { axis, .. } => {
            let [x] = inputs else { return Err(format!("expected 1 input, got {}", inputs.len())) };
            let n = *x.shape.get(*axis).ok_or_else(|| format!("axis {axis} out of range for rank {}", x.rank()))?;
            let idx = TensorType::new(DType::I64, vec![n]);
            Ok(vec![(*x).clone(), idx.clone(), idx.clone(), idx, len])
        }
        Op::NonMaxSuppression { max_boxes, .. } => nms_types(*max_boxes, inputs),
        _ => Err(format!("`{}` is not a data-dependent op", op.name())),
    }
}

fn nms_types(max_boxes: usize, inputs: &[&TensorType]) -> Result<Vec<TensorType>, String> {
    let [boxes, scores, max_out, iou, score] = inputs else {
        return Err(format!("expected 5 inputs, got {}", inputs.len()));
    };
    let (b, n) = match boxes.shape.as_slice() {
        [b, n, 4] if boxes.dtype == DType::F32 => (*b, *n),
        _ => return Err(format!("boxes must be f32 [batches, boxes, 4], got {boxes}")),
    };
    let c = match scores.shape.as_slice() {
        [sb, c, sn] if scores.dtype == DType::F32 && *sb == b && *sn == n => *c,
        _ => return Err(format!("scores must be f32 [{b}, classes, {n}], got {scores}")),
    };
    let scalar = |t: &TensorType, d: DType| t.dtype == d && t.numel() == 1 && t.rank() <= 1;
    if !scalar(max_out, DType::I64) || !scalar(iou, DType::F32) || !scalar(score, DType::F32) {
        return Err(format!("max_per_class must be one i64, thresholds one f32 each; got {max_out}, {iou}, {score}"));
    }
    let rows = b.checked_mul(c).and_then(|bc| bc.checked_mul(n.min(max_boxes))).ok_or("output size overflows")?;
    Ok(vec![TensorType::new(DType::I64, vec![rows, 3]), TensorType::new(DType::I64, vec![])])
}
