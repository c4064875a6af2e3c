//! The node being imported: its name for diagnostics, its attributes, and error constructors.
//!
//! Attribute getters check the ONNX attribute type (accepting an untyped attribute whose field
//! is set, as some old exporters wrote) so a wrong-typed attribute is an error naming it, not a
//! silent default.

use crate::error::FrontendError;
use onnx_protobuf::{AttributeProto, GraphProto, NodeProto, TensorProto};

// ONNX AttributeProto.AttributeType codes.
const FLOAT: i32 = 1;
const INT: i32 = 2;
const STRING: i32 = 3;
const TENSOR: i32 = 4;
const GRAPH: i32 = 5;
const FLOATS: i32 = 6;
const INTS: i32 = 7;
const STRINGS: i32 = 8;

type Res<T> = Result<T, FrontendError>;

/// A node of the ONNX graph with its display name.
pub struct NodeCtx<'a> {
    pub node: &'a NodeProto,
    /// The ONNX node name, or `<OpType>_<index>` when the model leaves it empty.
    pub name: String,
    /// The default-domain opset of the model.
    pub opset: i64,
}

impl<'a> NodeCtx<'a> {
    pub fn new(node: &'a NodeProto, index: usize, opset: i64) -> Self {
        let name = if node.name.is_empty() { format!("{}_{index}", node.op_type) } else { node.name.clone() };
        NodeCtx { node, name, opset }
    }
    pub fn op(&self) -> &str {
        &self.node.op_type
    }
    /// Name of output `i` (generated when empty or absent).
    pub fn out(&self, i: usize) -> String {
        match self.node.output.get(i) {
            Some(n) if !n.is_empty() => n.clone(),
            _ => format!("{}:{i}", self.name),
        }
    }
    /// A name for an intermediate value the import of this node creates.
    pub fn tmp(&self, suffix: &str) -> String {
        format!("{}::{suffix}", self.out(0))
    }
    /// Name of input `i` for messages (`#i` when absent).
    pub fn input_name(&self, i: usize) -> String {
        match self.node.input.get(i) {
            Some(n) if !n.is_empty() => n.clone(),
            _ => format!("#{i}"),
        }
    }
    pub fn err(&self, msg: impl Into<String>) -> FrontendError {
        FrontendError::Node { node: self.name.clone(), op: self.op().to_string(), msg: msg.into() }
    }
    pub fn attr_err(&self, attr: &str, msg: impl Into<String>) -> FrontendError {
        FrontendError::Attribute {
            node: self.name.clone(),
            op: self.op().to_string(),
            attr: attr.to_string(),
            msg: msg.into(),
        }
    }
    pub fn input_err(&self, i: usize, msg: impl Into<String>) -> FrontendError {
        FrontendError::NodeInput {
            node: self.name.clone(),
            op: self.op().to_string(),
            input: self.input_name(i),
            msg: msg.into(),
        }
    }

    fn attr(&self, name: &str, want: i32, is_set: impl Fn(&AttributeProto) -> bool) -> Res<Option<&'a AttributeProto>> {
        let Some(a) = self.node.attribute.iter().find(|a| a.name == name) else { return Ok(None) };
        let ty = a.type_.value();
        if ty == want || (ty == 0 && is_set(a)) {
            Ok(Some(a))
        } else {
            Err(self.attr_err(name, format!("has attribute type {ty}, expected {want}")))
        }
    }
    pub fn int(&self, name: &str) -> Res<Option<i64>> {
        Ok(self.attr(name, INT, |_| true)?.map(|a| a.i))
    }
    pub fn int_or(&self, name: &str, default: i64) -> Res<i64> {
        Ok(self.int(name)?.unwrap_or(default))
    }
    pub fn bool_or(&self, name: &str, default: bool) -> Res<bool> {
        Ok(self.int_or(name, default as i64)? != 0)
    }
    pub fn ints(&self, name: &str) -> Res<Option<Vec<i64>>> {
        Ok(self.attr(name, INTS, |a| !a.ints.is_empty())?.map(|a| a.ints.clone()))
    }
    pub fn float(&self, name: &str) -> Res<Option<f32>> {
        Ok(self.attr(name, FLOAT, |_| true)?.map(|a| a.f))
    }
    pub fn float_or(&self, name: &str, default: f32) -> Res<f32> {
        Ok(self.float(name)?.unwrap_or(default))
    }
    pub fn floats(&self, name: &str) -> Res<Option<Vec<f32>>> {
        Ok(self.attr(name, FLOATS, |a| !a.floats.is_empty())?.map(|a| a.floats.clone()))
    }
    pub fn string(&self, name: &str) -> Res<Option<String>> {
        match self.attr(name, STRING, |a| !a.s.is_empty())? {
            None => Ok(None),
            Some(a) => String::from_utf8(a.s.clone()).map(Some).map_err(|_| self.attr_err(name, "is not UTF-8")),
        }
    }
    pub fn string_or(&self, name: &str, default: &str) -> Res<String> {
        Ok(self.string(name)?.unwrap_or_else(|| default.to_string()))
    }
    /// A list of UTF-8 strings (RNN `activations`).
    pub fn string_list(&self, name: &str) -> Res<Option<Vec<String>>> {
        let Some(a) = self.attr(name, STRINGS, |a| !a.strings.is_empty())? else { return Ok(None) };
        let utf8 = |s: &Vec<u8>| String::from_utf8(s.clone()).map_err(|_| self.attr_err(name, "is not UTF-8"));
        a.strings.iter().map(utf8).collect::<Res<Vec<_>>>().map(Some)
    }
    pub fn tensor(&self, name: &str) -> Res<Option<&'a TensorProto>> {
        Ok(self.attr(name, TENSOR, |a| a.t.is_some())?.and_then(|a| a.t.as_ref()))
    }
    /// A subgraph attribute (If's branches, Loop's and Scan's body).
    pub fn graph(&self, name: &str) -> Res<Option<&'a GraphProto>> {
        Ok(self.attr(name, GRAPH, |a| a.g.is_some())?.and_then(|a| a.g.as_ref()))
    }
    /// Non-negative ints (kernel sizes, strides...).
    pub fn usizes(&self, name: &str) -> Res<Option<Vec<usize>>> {
        let Some(v) = self.ints(name)? else { return Ok(None) };
        v.iter()
            .map(|&x| usize::try_from(x).map_err(|_| self.attr_err(name, format!("negative value {x}"))))
            .collect::<Res<Vec<_>>>()
            .map(Some)
    }
    /// Normalises a possibly negative axis against `rank`.
    pub fn axis(&self, what: &str, axis: i64, rank: usize) -> Res<usize> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            return Err(self.attr_err(what, format!("axis {axis} out of range for rank {rank}")));
        }
        Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
    }
}
