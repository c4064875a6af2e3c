//! The scalar reference evaluator: a plain, obviously-correct implementation of every op.
//!
//! Used for constant folding and as the oracle of the backend tests, so correctness comes
//! before speed (but nothing is gratuitously quadratic: a 224x224x64 convolution runs in about
//! a second in release). [`eval_op`] first runs [`infer_types`] on the inputs, so every kernel
//! below works on validated shapes, dtypes and attributes and can index without checks.
//!
//! Numerics (see each file): float math in the element type, except that sums and dot
//! products (Conv, Gemm, MatMul, Reduce, Pool averages, Softmax and LRN sums) accumulate in
//! f64 and round once; integers wrap; integer division truncates toward zero.
//!
//! Files: `num` (element traits, dtype dispatch), `erf`, `elementwise` (Unary, Binary, Where,
//! Cast), `movement` (Concat..Pad), `reduce` (Reduce, ArgMax/Min, Softmax), `linalg` (Gemm,
//! MatMul), `conv`, `pool`, `norm` (BatchNorm, LRN), `resize`, `winograd` (Winograd transforms), `dynamic` (NonZero, Unique, NonMaxSuppression).

pub mod conv;
pub mod dynamic;
pub mod elementwise;
pub mod erf;
pub mod linalg;
pub mod movement;
pub mod norm;
pub mod num;
pub mod pool;
pub mod reduce;
pub mod resize;
pub mod winograd;

use crate::dtype::TensorType;
use crate::error::{IrError, Result};
use crate::graph::Graph;
use crate::infer::infer_types;
use crate::op::Op;
use crate::tensor::Tensor;
use std::sync::Arc;

/// The largest result (in elements) [`eval_op`] materialises; larger ones are reported as
/// errors instead of exhausting memory (constant folding must not abort the compiler).
pub const MAX_ELEMENTS: usize = 1 << 30;

/// Applies `op` to `inputs`; the message says what does not fit (the caller adds node names).
pub fn eval_op(op: &Op, inputs: &[&Tensor]) -> Result<Vec<Tensor>, String> {
    let types: Vec<TensorType> = inputs.iter().map(|t| t.ty()).collect();
    let refs: Vec<&TensorType> = types.iter().collect();
    let out_types = infer_types(op, &refs)?;
    for t in &out_types {
        if t.numel() > MAX_ELEMENTS {
            return Err(format!("result {t} has more than {MAX_ELEMENTS} elements, too large to evaluate"));
        }
    }
    let shape = out_types[0].shape.as_slice();
    let x = inputs[0];
    let one = |r: Result<Tensor, String>| r.map(|t| vec![t]);
    match op {
        Op::Unary(u) => one(elementwise::unary(*u, x)),
        Op::Binary(b) => one(elementwise::binary(*b, x, inputs[1], shape)),
        Op::Where => one(elementwise::where_(x, inputs[1], inputs[2], shape)),
        Op::Cast { to } => one(elementwise::cast(x, *to)),
        Op::BitCast { to } => one(elementwise::bit_cast(x, *to)),
        Op::Identity => Ok(vec![x.clone()]),
        Op::Conv(a) => one(conv::conv(a, x, inputs[1], inputs.get(2).copied(), shape)),
        Op::Gemm { alpha, beta, trans_a, trans_b } => one(linalg::gemm(
            x,
            inputs[1],
            inputs.get(2).copied(),
            (alpha.get(), beta.get()),
            (*trans_a, *trans_b),
            shape,
        )),
        Op::MatMul => one(linalg::matmul(x, inputs[1], shape)),
        Op::BatchNorm { epsilon } => {
            one(norm::batch_norm(x, [inputs[1], inputs[2], inputs[3], inputs[4]], epsilon.get()))
        }
        Op::Pool(a) => one(pool::pool(a, x, shape)),
        Op::Lrn { size, alpha, beta, bias } => one(norm::lrn(x, *size, alpha.get(), beta.get(), bias.get())),
        Op::Softmax { axis } => one(reduce::softmax(x, *axis, false)),
        Op::LogSoftmax { axis } => one(reduce::softmax(x, *axis, true)),
        Op::Reduce { kind, axes, .. } => one(reduce::reduce(*kind, x, axes, shape)),
        Op::ArgMax { axis, select_last_index, .. } => {
            one(reduce::arg_reduce(x, *axis, true, *select_last_index, shape))
        }
        Op::ArgMin { axis, select_last_index, .. } => {
            one(reduce::arg_reduce(x, *axis, false, *select_last_index, shape))
        }
        Op::Concat { axis } => one(movement::concat(inputs, *axis, shape)),
        Op::Split { axis, sizes } => movement::split(x, *axis, sizes),
        Op::Slice { starts, steps, lens } => one(movement::slice(x, starts, steps, lens)),
        Op::Reshape { shape } => {
            one(x.reshaped(shape.clone()).ok_or_else(|| "reshape: element count differs".to_string()))
        }
        Op::Transpose { perm } => one(movement::transpose(x, perm, shape)),
        Op::Gather { axis } => one(movement::gather(x, inputs[1], *axis, shape)),
        Op::Expand { .. } => one(movement::expand(x, shape)),
        Op::Pad { mode, pads, value } => one(movement::pad(x, *mode, pads, value.get(), shape)),
        Op::Resize(a) => one(resize::resize(a, x)),
        Op::WinogradInput { pads, out_hw, tile } => one(winograd::winograd_input(x, pads, *out_hw, *tile, shape)),
        Op::WinogradWeights { tile } => one(crate::winograd::winograd_weights(x, *tile)),
        Op::WinogradOutput { out_shape, tile } => {
            one(winograd::winograd_output(x, inputs.get(1).copied(), out_shape, *tile))
        }
        Op::Elementwise(p) => one(p.eval(inputs)),
        Op::ChannelsLast(inner) => crate::layout::eval(inner, inputs),
        Op::Fused { base, base_inputs, epilogue } => {
            one(crate::fused::eval_fused(base, *base_inputs, epilogue, inputs))
        }
        Op::NonZero => dynamic::non_zero(x),
        Op::Unique { axis, sorted } => dynamic::unique(x, *axis, *sorted),
        Op::NonMaxSuppression { center_point_box, max_boxes } => {
            dynamic::non_max_suppression(inputs, *center_point_box, *max_boxes)
        }
    }
}

/// Runs the whole graph on `inputs` (in graph-input order) and returns its outputs.
///
/// Checks the number and types of the inputs, runs the nodes in order and checks that each
/// node's results have the types the graph records; errors name the node and op.
pub fn eval_graph(graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    if inputs.len() != graph.inputs.len() {
        return Err(IrError::Input(format!("expected {} inputs, got {}", graph.inputs.len(), inputs.len())));
    }
    let mut vals: Vec<Option<Arc<Tensor>>> = vec![None; graph.values.len()];
    for (i, (&v, t)) in graph.inputs.iter().zip(inputs).enumerate() {
        let want = graph.ty(v);
        if &t.ty() != want {
            let name = &graph.value(v).name;
            return Err(IrError::Input(format!("input {i} ({name}): expected {want}, got {}", t.ty())));
        }
        vals[v.index()] = Some(Arc::new(t.clone()));
    }
    for (v, value) in graph.values.iter() {
        if let crate::graph::ValueDef::Const(c) = value.def {
            let t = graph
                .constants
                .get(c)
                .ok_or_else(|| IrError::Verify(format!("value {} has no constant", value.name)))?;
            vals[v.index()] = Some(t.clone());
        }
    }
    for (_, node) in graph.nodes.iter() {
        let err = |msg: String| IrError::node(&node.name, node.op.name(), msg);
        let args: Vec<&Tensor> = node
            .inputs
            .iter()
            .map(|&v| {
                vals.get(v.index())
                    .and_then(|t| t.as_deref())
                    .ok_or_else(|| err(format!("input value #{} is not computed yet", v.index())))
            })
            .collect::<Result<_>>()?;
        let outs = eval_op(&node.op, &args).map_err(err)?;
        if outs.len() != node.outputs.len() {
            return Err(err(format!("produced {} results, the node has {}", outs.len(), node.outputs.len())));
        }
        for (t, &v) in outs.into_iter().zip(&node.outputs) {
            let want = graph.values.get(v).map(|x| &x.ty).ok_or_else(|| err("output value out of range".into()))?;
            if &t.ty() != want {
                return Err(err(format!("result has type {}, the graph records {want}", t.ty())));
            }
            vals[v.index()] = Some(Arc::new(t));
        }
    }
    graph
        .outputs
        .iter()
        .map(|&v| {
            vals.get(v.index())
                .and_then(|t| t.as_deref().cloned())
                .ok_or_else(|| IrError::Input(format!("graph output #{} is never computed", v.index())))
        })
        .collect()
}
