//! ONNX nodes -> IR nodes.
//!
//! [`Importer`] walks the ONNX nodes in order (ONNX requires topological order), keeps the map
//! from ONNX value names to IR values, and dispatches each node to its op family's file. Every
//! IR node is added through [`Importer::emit`], which asks `kiln_ir::infer_types` for the
//! output types and folds the node to constants when all its inputs are constants (see
//! `crate::fold`). Op parameters that must be known at compile time are read with
//! [`Importer::const_input`], which reports `NeedsValue` naming the graph input they come from.

mod activations_extra;
mod affine_grid;
mod attention;
mod attention_mask;
mod batch_norm_training;
mod bitcast;
mod bitshift;
mod bitwise;
mod bounded;
mod build;
mod causal_conv;
mod col2im;
mod compress;
mod control_flow;
mod conv_transpose;
mod crop_pad;
pub mod ctx;
mod cumulative;
mod deform_conv;
mod det;
mod dft;
pub mod dispatch;
mod einsum;
mod elementwise;
mod flex_attention;
mod gather_elements;
mod grid_sample;
mod gru;
mod half;
mod im2col;
mod inline_graph;
mod integer_linear;
mod legacy;
mod linear_attention;
mod loop_op;
mod loss;
mod lp_norm;
mod lstm;
mod mel_weight_matrix;
mod modulo;
mod narrow_cast;
mod nd_index;
mod nms;
mod nn;
#[cfg(test)]
mod node_harness;
mod non_zero;
mod norm;
mod norm_extra;
mod one_hot;
mod pool_indices;
mod quantize;
mod recurrent_common;
mod recurrent_run;
mod reduce;
mod resize;
mod resize_antialias;
mod reverse_sequence;
mod rnn;
mod roi_align;
mod rotary;
mod sampling;
mod scan_op;
mod scatter_elements;
mod shape;
mod source;
mod space_depth;
mod stft;
mod subgraph;
mod tensor_ops;
mod tensor_scatter;
mod tfidf;
mod top_k;
mod triangular;
mod trig_extra;
mod unique;
mod unpool;
mod window;

use crate::error::{FrontendError, Result};
use crate::fold;
use ctx::NodeCtx;
use kiln_ir::{Graph, Op, Tensor, TensorType, ValueDef, ValueId};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use dispatch::import_node;

/// Import state: the IR graph being built and the ONNX name of every value defined so far.
pub struct Importer<'a> {
    pub graph: Graph,
    names: HashMap<String, ValueId>,
    pub base_dir: Option<&'a Path>,
    /// Largest constant (in bytes) that folding may create.
    pub fold_limit: usize,
    /// Subgraph bodies imported so far (If branches, unrolled Loop/Scan iterations), bounded
    /// by `subgraph::MAX_BODY_COPIES`.
    pub body_copies: usize,
}

impl<'a> Importer<'a> {
    pub fn new(base_dir: Option<&'a Path>, fold_limit: usize) -> Self {
        Importer { graph: Graph::new(), names: HashMap::new(), base_dir, fold_limit, body_copies: 0 }
    }

    /// Makes the ONNX name `name` refer to `v`.
    pub fn bind(&mut self, name: &str, v: ValueId) {
        if !name.is_empty() {
            self.names.insert(name.to_string(), v);
        }
    }
    pub fn lookup(&self, name: &str) -> Option<ValueId> {
        self.names.get(name).copied()
    }
    pub fn ty(&self, v: ValueId) -> TensorType {
        self.graph.ty(v).clone()
    }
    pub fn shape(&self, v: ValueId) -> Vec<usize> {
        self.graph.ty(v).shape.clone()
    }

    /// Input `i` of the node, which must be present.
    pub fn input(&self, ctx: &NodeCtx, i: usize) -> Result<ValueId> {
        self.opt_input(ctx, i)?.ok_or_else(|| ctx.input_err(i, "required input is missing"))
    }
    /// Input `i` of the node, `None` when absent or named "" (an omitted optional input).
    pub fn opt_input(&self, ctx: &NodeCtx, i: usize) -> Result<Option<ValueId>> {
        match ctx.node.input.get(i) {
            None => Ok(None),
            Some(n) if n.is_empty() => Ok(None),
            Some(n) => self
                .lookup(n)
                .map(Some)
                .ok_or_else(|| ctx.input_err(i, "not defined by any earlier node, initializer or graph input")),
        }
    }
    /// All present inputs, in order.
    pub fn inputs(&self, ctx: &NodeCtx) -> Result<Vec<ValueId>> {
        (0..ctx.node.input.len()).filter_map(|i| self.opt_input(ctx, i).transpose()).collect()
    }

    /// The value of input `i`, which must be known at compile time.
    pub fn const_input(&self, ctx: &NodeCtx, i: usize) -> Result<Arc<Tensor>> {
        let v = self.input(ctx, i)?;
        self.const_of(ctx, i, v)
    }
    /// Like [`Importer::const_input`] for an optional input (absent or empty-named is `None`).
    pub fn opt_const(&self, ctx: &NodeCtx, i: usize) -> Result<Option<Arc<Tensor>>> {
        match self.opt_input(ctx, i)? {
            None => Ok(None),
            Some(v) => self.const_of(ctx, i, v).map(Some),
        }
    }
    fn const_of(&self, ctx: &NodeCtx, i: usize, v: ValueId) -> Result<Arc<Tensor>> {
        if let Some(t) = self.graph.const_of(v) {
            return Ok(t.clone());
        }
        let (node, op, input) = (ctx.name.clone(), ctx.op().to_string(), ctx.input_name(i));
        Err(match self.source_input(v) {
            Some(graph_input) => FrontendError::NeedsValue { node, op, input, graph_input },
            None => FrontendError::DataDependent { node, op, input },
        })
    }
    /// The first graph input `v` is computed from (depth-first), if any.
    fn source_input(&self, v: ValueId) -> Option<String> {
        let mut stack = vec![v];
        let mut seen = std::collections::HashSet::new();
        while let Some(v) = stack.pop() {
            if !seen.insert(v) {
                continue;
            }
            match self.graph.value(v).def {
                ValueDef::Input(_) => return Some(self.graph.value(v).name.clone()),
                ValueDef::Const(_) => {}
                ValueDef::Node { node, .. } => stack.extend(self.graph.node(node).inputs.iter().rev()),
            }
        }
        None
    }

    /// Adds a constant value.
    pub fn constant(&mut self, name: impl Into<String>, t: impl Into<Arc<Tensor>>) -> ValueId {
        self.graph.add_const(name, t)
    }

    /// Adds `op` on `inputs` with results named `names`, typed by `infer_types`; folded to
    /// constants when every input is constant and the results are small enough.
    pub fn emit(&mut self, ctx: &NodeCtx, op: Op, inputs: Vec<ValueId>, names: Vec<String>) -> Result<Vec<ValueId>> {
        bounded::check_inputs(self, ctx, &op, &inputs)?;
        let in_tys: Vec<&TensorType> = inputs.iter().map(|&v| self.graph.ty(v)).collect();
        let tys = kiln_ir::infer_types(&op, &in_tys).map_err(|m| ctx.err(format!("{}: {m}", op.name())))?;
        if tys.len() != names.len() {
            return Err(ctx.err(format!("{} gives {} results, expected {}", op.name(), tys.len(), names.len())));
        }
        for (i, t) in in_tys.iter().copied().chain(&tys).enumerate() {
            let what = if i < in_tys.len() { format!("input {i}") } else { format!("output {}", i - in_tys.len()) };
            crate::limits::check_tensor_size(&what, t).map_err(|m| ctx.err(format!("{}: {m}", op.name())))?;
        }
        if let Some(outs) = fold::try_fold(&self.graph, &op, &inputs, &tys, self.fold_limit) {
            return Ok(names.into_iter().zip(outs).map(|(n, t)| self.graph.add_const(n, t)).collect());
        }
        let node = self.graph.add_node(ctx.name.clone(), op, inputs, names.into_iter().zip(tys).collect());
        Ok(self.graph.nodes[node].outputs.clone())
    }
    /// [`Importer::emit`] for a single-result op.
    pub fn emit1(&mut self, ctx: &NodeCtx, op: Op, inputs: Vec<ValueId>, name: String) -> Result<ValueId> {
        Ok(self.emit(ctx, op, inputs, vec![name])?[0])
    }
    /// Reshape of `v` to `shape` (a no-op when it already has that shape).
    pub fn reshape(&mut self, ctx: &NodeCtx, v: ValueId, shape: Vec<usize>, name: String) -> Result<ValueId> {
        if self.graph.ty(v).shape == shape {
            return Ok(v);
        }
        self.emit1(ctx, Op::Reshape { shape }, vec![v], name)
    }
}
