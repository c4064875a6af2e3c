//! The graph: values, nodes and constants in arenas, plus the graph's inputs and outputs.
//!
//! Invariants (checked by `crate::verify`):
//! - nodes are stored in execution order: every node input is a graph input, a constant, or an
//!   output of an earlier node;
//! - every value has exactly one definition (`ValueDef`) and a static `TensorType`; the results
//!   of the few data-dependent ops (NonZero, Unique, NonMaxSuppression) are static upper
//!   bounds with a run-time length beside them, readable only by graph outputs and
//!   length-agnostic ops (see `crate::dynamic`);
//! - a node's output types are what `crate::infer::infer_types` gives for its op and input types;
//! - constants live in `Graph::constants` as `Arc<Tensor>`: stages share weights, never copy them.
//! Names are the ONNX names, kept for diagnostics; they need not be unique.

use crate::arena::{Arena, Handle};
use crate::dtype::TensorType;
use crate::op::Op;
use crate::tensor::Tensor;
use std::sync::Arc;

pub type ValueId = Handle<Value>;
pub type NodeId = Handle<Node>;
pub type ConstId = Handle<Arc<Tensor>>;

/// Where a value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueDef {
    /// The `i`-th graph input.
    Input(usize),
    /// A constant of the store.
    Const(ConstId),
    /// Result `index` of `node`.
    Node { node: NodeId, index: usize },
}

/// An SSA value: one tensor of a static type.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub name: String,
    pub ty: TensorType,
    pub def: ValueDef,
}

/// One operation applied to values, producing values.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The ONNX node name (or a generated one), for diagnostics.
    pub name: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

/// A tensor program with static shapes.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub values: Arena<Value>,
    pub nodes: Arena<Node>,
    pub constants: Arena<Arc<Tensor>>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a graph input.
    pub fn add_input(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        let def = ValueDef::Input(self.inputs.len());
        let v = self.values.push(Value { name: name.into(), ty, def });
        self.inputs.push(v);
        v
    }

    /// Adds a constant value backed by `tensor` (shared, not copied).
    pub fn add_const(&mut self, name: impl Into<String>, tensor: impl Into<Arc<Tensor>>) -> ValueId {
        let tensor: Arc<Tensor> = tensor.into();
        let ty = tensor.ty();
        let c = self.constants.push(tensor);
        self.values.push(Value { name: name.into(), ty, def: ValueDef::Const(c) })
    }

    /// Appends a node whose results have the given names and types; returns the node.
    /// The caller is responsible for the types matching `infer_types` (the verifier checks).
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<ValueId>,
        outputs: Vec<(String, TensorType)>,
    ) -> NodeId {
        let node = Handle::new(self.nodes.len());
        let outputs = outputs
            .into_iter()
            .enumerate()
            .map(|(index, (name, ty))| self.values.push(Value { name, ty, def: ValueDef::Node { node, index } }))
            .collect();
        self.nodes.push(Node { name: name.into(), op, inputs, outputs })
    }

    /// Appends a single-result node and returns its result.
    pub fn add_node1(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<ValueId>,
        out_name: impl Into<String>,
        ty: TensorType,
    ) -> ValueId {
        let n = self.add_node(name, op, inputs, vec![(out_name.into(), ty)]);
        self.nodes[n].outputs[0]
    }

    pub fn value(&self, v: ValueId) -> &Value {
        &self.values[v]
    }
    pub fn node(&self, n: NodeId) -> &Node {
        &self.nodes[n]
    }
    pub fn ty(&self, v: ValueId) -> &TensorType {
        &self.values[v].ty
    }

    /// The tensor of a constant value, or `None` for any other value.
    pub fn const_of(&self, v: ValueId) -> Option<&Arc<Tensor>> {
        match self.values[v].def {
            ValueDef::Const(c) => Some(&self.constants[c]),
            _ => None,
        }
    }

    /// For each value, the nodes that read it (in node order, a node once per use).
    pub fn users(&self) -> Vec<Vec<NodeId>> {
        let mut users = vec![Vec::new(); self.values.len()];
        for (n, node) in self.nodes.iter() {
            for &i in &node.inputs {
                users[i.index()].push(n);
            }
        }
        users
    }

    /// Total bytes of all constants.
    pub fn constant_bytes(&self) -> usize {
        self.constants.iter().map(|(_, t)| t.numel() * t.dtype().size()).sum()
    }
}
