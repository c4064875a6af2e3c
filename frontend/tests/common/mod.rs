//! A small builder of ONNX models for the frontend tests, and helpers to inspect the result.
#![allow(dead_code)]

use kiln_frontend::{Dim, FrontendError, ImportOptions, Imported, OnnxModel};
use kiln_ir::{Graph, Op, Tensor};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_shape_proto::{dimension, Dimension};
use onnx_protobuf::type_proto::{Tensor as TypeTensor, Value as TypeValue};
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto,
    TypeProto, ValueInfoProto,
};

pub const FLOAT: i32 = 1;
pub const INT64: i32 = 7;
pub const BOOL: i32 = 9;
pub const FLOAT16: i32 = 10;
pub const STRING: i32 = 8;

/// Builds a `ModelProto` one piece at a time.
pub struct ModelBuilder {
    pub model: ModelProto,
    pub graph: GraphProto,
}

impl ModelBuilder {
    pub fn new(opset: i64) -> Self {
        let mut model = ModelProto::new();
        model.ir_version = 8;
        let mut o = OperatorSetIdProto::new();
        o.version = opset;
        model.opset_import.push(o);
        ModelBuilder { model, graph: GraphProto::new() }
    }
    /// A float input with fixed dims.
    pub fn input(self, name: &str, dims: &[usize]) -> Self {
        self.input_typed(name, FLOAT, dims.iter().map(|&d| Dim::Fixed(d)).collect())
    }
    pub fn input_typed(mut self, name: &str, elem: i32, dims: Vec<Dim>) -> Self {
        self.graph.input.push(value_info(name, elem, Some(dims)));
        self
    }
    pub fn output(mut self, name: &str) -> Self {
        self.graph.output.push(value_info(name, FLOAT, None));
        self
    }
    pub fn init(mut self, name: &str, t: &Tensor) -> Self {
        self.graph.initializer.push(tensor_proto(name, t));
        self
    }
    pub fn node(self, op: &str, inputs: &[&str], outputs: &[&str]) -> Self {
        self.node_attrs(op, inputs, outputs, vec![])
    }
    pub fn node_attrs(mut self, op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> Self {
        let mut n = NodeProto::new();
        n.op_type = op.to_string();
        n.name = format!("{op}_{}", self.graph.node.len());
        n.input = inputs.iter().map(|s| s.to_string()).collect();
        n.output = outputs.iter().map(|s| s.to_string()).collect();
        n.attribute = attrs;
        self.graph.node.push(n);
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        let mut m = self.model.clone();
        m.graph = Some(self.graph.clone()).into();
        m.write_to_bytes().expect("serialize")
    }
    pub fn import(&self) -> Result<Imported, FrontendError> {
        self.import_with(&ImportOptions::default())
    }
    pub fn import_with(&self, opts: &ImportOptions) -> Result<Imported, FrontendError> {
        OnnxModel::from_bytes(&self.bytes(), None)?.import(opts)
    }
    /// Imports and returns the graph, which must pass the IR verifier; panics with the error.
    pub fn graph(&self) -> Graph {
        match self.import() {
            Ok(i) => verified(i.graph),
            Err(e) => panic!("import failed: {e}"),
        }
    }
}

pub fn value_info(name: &str, elem: i32, dims: Option<Vec<Dim>>) -> ValueInfoProto {
    let mut tt = TypeTensor::new();
    tt.elem_type = elem;
    if let Some(dims) = dims {
        let mut shape = TensorShapeProto::new();
        for d in dims {
            let mut dim = Dimension::new();
            dim.value = match d {
                Dim::Fixed(v) => Some(dimension::Value::DimValue(v as i64)),
                Dim::Symbolic(s) => Some(dimension::Value::DimParam(s)),
                Dim::Unknown => None,
            };
            shape.dim.push(dim);
        }
        tt.shape = Some(shape).into();
    }
    let mut tp = TypeProto::new();
    tp.value = Some(TypeValue::TensorType(tt));
    let mut vi = ValueInfoProto::new();
    vi.name = name.to_string();
    vi.type_ = Some(tp).into();
    vi
}

pub fn tensor_proto(name: &str, t: &Tensor) -> TensorProto {
    TensorProto::parse_from_bytes(&kiln_frontend::tensor_to_pb(name, t)).expect("reparse")
}

pub fn a_int(name: &str, v: i64) -> AttributeProto {
    let mut a = attr(name, AttributeType::INT);
    a.i = v;
    a
}
pub fn a_ints(name: &str, v: &[i64]) -> AttributeProto {
    let mut a = attr(name, AttributeType::INTS);
    a.ints = v.to_vec();
    a
}
pub fn a_float(name: &str, v: f32) -> AttributeProto {
    let mut a = attr(name, AttributeType::FLOAT);
    a.f = v;
    a
}
pub fn a_floats(name: &str, v: &[f32]) -> AttributeProto {
    let mut a = attr(name, AttributeType::FLOATS);
    a.floats = v.to_vec();
    a
}
pub fn a_str(name: &str, v: &str) -> AttributeProto {
    let mut a = attr(name, AttributeType::STRING);
    a.s = v.as_bytes().to_vec();
    a
}
pub fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    let mut a = attr(name, AttributeType::TENSOR);
    a.t = Some(t).into();
    a
}
fn attr(name: &str, ty: AttributeType) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.to_string();
    a.type_ = ty.into();
    a
}

pub fn i64s(v: &[i64]) -> Tensor {
    Tensor::from_vec(vec![v.len()], v.to_vec())
}
pub fn f32s(shape: &[usize], v: &[f32]) -> Tensor {
    Tensor::from_vec(shape.to_vec(), v.to_vec())
}
pub fn zeros(shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), vec![0f32; n])
}

/// The ops of the graph's nodes, in order.
pub fn ops(g: &Graph) -> Vec<Op> {
    g.nodes.iter().map(|(_, n)| n.op.clone()).collect()
}
/// The op names of the graph's nodes, in order.
pub fn op_names(g: &Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|(_, n)| n.op.name()).collect()
}
/// The single node's op, failing the test if there is not exactly one node.
pub fn only_op(g: &Graph) -> Op {
    let ops = ops(g);
    assert_eq!(ops.len(), 1, "expected one node, got {:?}", op_names(g));
    ops[0].clone()
}
/// Shape of the i-th graph output.
pub fn out_shape(g: &Graph, i: usize) -> Vec<usize> {
    g.ty(g.outputs[i]).shape.clone()
}

/// `g` after checking it with the IR verifier.
pub fn verified(g: Graph) -> Graph {
    if let Err(e) = kiln_ir::verify(&g) {
        panic!("imported graph fails verification: {e}");
    }
    g
}

/// The test data the onnx Python package ships (`onnx/backend/test/data`), found by asking the
/// pinned venv's Python (`target/venv/bin/python`, made by `scripts/setup-python.sh`) where
/// its onnx is, so no Python version is written into a path here.
///
/// # Panics
/// When the venv's Python cannot be run or cannot import onnx, with the command that makes it.
pub fn onnx_backend_test_data() -> std::path::PathBuf {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/python");
    let script = "import onnx, os; print(os.path.dirname(onnx.__file__))";
    let out = std::process::Command::new(&python).args(["-c", script]).output();
    let out =
        out.unwrap_or_else(|e| panic!("cannot run {} ({e}); create it with scripts/setup-python.sh", python.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} cannot import onnx: {stderr}; run scripts/setup-python.sh", python.display());
    let onnx_dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    std::path::PathBuf::from(onnx_dir).join("backend/test/data")
}
