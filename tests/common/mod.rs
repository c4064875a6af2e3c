//! Helpers shared by the integration tests: small ONNX models written with `onnx_protobuf`,
//! scratch directories, and running the `kiln` binary.
#![allow(dead_code, unused_imports)]

use onnx_protobuf::{
    tensor_proto::DataType, tensor_shape_proto::Dimension, type_proto, AttributeProto, GraphProto, Message, ModelProto,
    NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use std::path::{Path, PathBuf};
use std::process::Output;

pub use onnx_protobuf::tensor_proto::DataType as Elem;

/// Builds a one-graph ONNX model (default domain, opset 17).
#[derive(Default)]
pub struct ModelBuilder {
    graph: GraphProto,
}

impl ModelBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    /// A graph input; each dim is a number or a symbolic name (`"N"`).
    pub fn input(mut self, name: &str, elem: DataType, dims: &[&str]) -> Self {
        self.graph.input.push(value_info(name, elem, dims));
        self
    }
    pub fn output(mut self, name: &str, elem: DataType, dims: &[&str]) -> Self {
        self.graph.output.push(value_info(name, elem, dims));
        self
    }
    pub fn node(self, op_type: &str, inputs: &[&str], outputs: &[&str]) -> Self {
        self.node_with(op_type, inputs, outputs, Vec::new())
    }
    pub fn node_with(mut self, op_type: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> Self {
        let mut n = NodeProto::new();
        n.op_type = op_type.into();
        n.name = format!("{op_type}_{}", self.graph.node.len());
        n.input = inputs.iter().map(|s| s.to_string()).collect();
        n.output = outputs.iter().map(|s| s.to_string()).collect();
        n.attribute = attrs;
        self.graph.node.push(n);
        self
    }
    pub fn initializer_f32(mut self, name: &str, dims: &[i64], values: &[f32]) -> Self {
        let mut t = tensor_pb(name, DataType::FLOAT, dims);
        t.float_data = values.to_vec();
        self.graph.initializer.push(t);
        self
    }
    pub fn bytes(&self) -> Vec<u8> {
        let mut m = ModelProto::new();
        m.ir_version = 8;
        let mut opset = OperatorSetIdProto::new();
        opset.version = 17;
        m.opset_import.push(opset);
        let mut g = self.graph.clone();
        g.name = "test".into();
        m.graph = Some(g).into();
        m.write_to_bytes().expect("serialize model")
    }
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.bytes()).expect("write model");
        path.to_path_buf()
    }
}

fn value_info(name: &str, elem: DataType, dims: &[&str]) -> ValueInfoProto {
    let mut shape = TensorShapeProto::new();
    for d in dims {
        let mut dim = Dimension::new();
        match d.parse::<i64>() {
            Ok(v) => dim.set_dim_value(v),
            Err(_) => dim.set_dim_param(d.to_string()),
        }
        shape.dim.push(dim);
    }
    let mut tt = type_proto::Tensor::new();
    tt.elem_type = elem as i32;
    tt.shape = Some(shape).into();
    let mut ty = TypeProto::new();
    ty.set_tensor_type(tt);
    let mut vi = ValueInfoProto::new();
    vi.name = name.into();
    vi.type_ = Some(ty).into();
    vi
}

fn tensor_pb(name: &str, elem: DataType, dims: &[i64]) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = name.into();
    t.data_type = elem as i32;
    t.dims = dims.to_vec();
    t
}

/// A serialized f32 `TensorProto` (raw little-endian data), as in the ONNX test data.
pub fn f32_pb(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
    let mut t = tensor_pb(name, DataType::FLOAT, dims);
    t.raw_data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.write_to_bytes().expect("serialize tensor")
}

/// An integer attribute.
pub fn attr_int(name: &str, v: i64) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.into();
    a.type_ = onnx_protobuf::attribute_proto::AttributeType::INT.into();
    a.i = v;
    a
}

/// `x + y` over f32 inputs of the given dims.
pub fn add_model(dims: &[&str]) -> ModelBuilder {
    ModelBuilder::new()
        .input("x", DataType::FLOAT, dims)
        .input("y", DataType::FLOAT, dims)
        .node("Add", &["x", "y"], &["z"])
        .output("z", DataType::FLOAT, dims)
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-tests").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Runs the `kiln` binary.
pub fn kiln(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kiln")).args(args).output().expect("run kiln")
}

/// Stdout and stderr as text.
pub fn texts(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
