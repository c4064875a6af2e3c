//! `OnnxModel`: a parsed model, its real graph inputs, and the import driver.
//!
//! A declared graph input is "real" only if no initializer and no node defines it: IR < 4
//! models list their initializers among the inputs, and the ONNX `light_*` models also list the
//! outputs of their weight-making ConstantOfShape nodes. Import order: opset check, the
//! all-at-once unsupported-op scan, initializers, inputs (specialised), nodes, outputs.

use crate::error::{FrontendError, Result};
use crate::fold::DEFAULT_FOLD_LIMIT;
use crate::import::ctx::NodeCtx;
use crate::import::{import_node, Importer};
use crate::specialize::{specialize, Binding, Declared};
use crate::tensor_proto::tensor_from_proto;
use crate::{inline, proto, scan, Dim, ImportOptions, Imported, InputInfo};
use kiln_ir::{Op, ValueDef};
use onnx_protobuf::tensor_shape_proto::dimension::Value as DimValue;
use onnx_protobuf::type_proto::Value as TypeValue;
use onnx_protobuf::{GraphProto, ModelProto, ValueInfoProto};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Default-domain opsets kiln imports: 7..=21 as specified; 6 (the pytorch-converted ONNX tests)
/// with the legacy `broadcast`/`axis` attributes of binary ops resolved; 1..=5, where the ops
/// whose interface differs from opset 6 are rejected per node (`crate::import::legacy`); and 22..=28 (the newest
/// onnx 1.23.2 defines), because for every op kiln imports the schemas of 22..=28 differ from
/// their predecessors only in the dtypes they admit, except Cast-25 (`round_mode`, which only
/// affects float8e8m0) and Range-27 (`stash_type`, which only affects f16/bf16): dtypes kiln
/// rejects with an error naming them. Checked with `onnx.defs.get_schema` over every imported op.
pub const OPSETS: std::ops::RangeInclusive<i64> = 1..=28;

/// A parsed ONNX model, ready to import.
pub struct OnnxModel {
    model: ModelProto,
    /// Taken out of `model` at parse time, so its presence is a type fact.
    graph: GraphProto,
    base_dir: Option<PathBuf>,
}

impl OnnxModel {
    /// Reads and parses a model file; external data is resolved relative to its folder.
    pub fn load(path: &Path) -> Result<OnnxModel> {
        let bytes = std::fs::read(path).map_err(|source| FrontendError::Io { path: path.to_path_buf(), source })?;
        let dir = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
        Self::from_bytes(&bytes, dir)
    }
    /// Parses model bytes and inlines its model-local functions (`crate::inline`); `base_dir`
    /// locates external data.
    pub fn from_bytes(bytes: &[u8], base_dir: Option<&Path>) -> Result<OnnxModel> {
        let mut model = proto::parse_model(bytes)?;
        let mut graph = model.graph.take().ok_or(FrontendError::NoGraph)?;
        let opset = inline::default_opset(&model.opset_import);
        graph.node = inline::inline_functions(std::mem::take(&mut graph.node), &model.functions, opset)?;
        Ok(OnnxModel { model, graph, base_dir: base_dir.map(Path::to_path_buf) })
    }
    fn graph(&self) -> &GraphProto {
        &self.graph
    }
    /// The default-domain opset version the model imports.
    pub fn opset(&self) -> Result<i64> {
        let v = self.model.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx");
        let version = v.map_or(0, |o| o.version);
        if !OPSETS.contains(&version) {
            return Err(FrontendError::Opset { domain: "ai.onnx".into(), version });
        }
        Ok(version)
    }
    fn real_inputs(&self) -> Vec<&ValueInfoProto> {
        let g = self.graph();
        let mut defined: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
        defined.extend(g.node.iter().flat_map(|n| n.output.iter().map(String::as_str)));
        g.input.iter().filter(|i| !defined.contains(i.name.as_str())).collect()
    }
    /// The graph inputs (initializers and node-defined names excluded), in order.
    pub fn inputs(&self) -> Vec<InputInfo> {
        self.real_inputs()
            .into_iter()
            .map(|vi| {
                let d = declared(vi);
                let dtype = d.elem.and_then(|e| proto::dtype_from_onnx(e).ok());
                InputInfo { name: vi.name.clone(), dtype, dims: d.dims.unwrap_or_default() }
            })
            .collect()
    }
    /// The graph outputs as declared (names, dtypes, dims; empty dims when none are declared), in
    /// order: the signature `kiln inspect --io` prints.
    pub fn outputs(&self) -> Vec<InputInfo> {
        let info = |vi: &ValueInfoProto| {
            let d = declared(vi);
            let dtype = d.elem.and_then(|e| proto::dtype_from_onnx(e).ok());
            InputInfo { name: vi.name.clone(), dtype, dims: d.dims.unwrap_or_default() }
        };
        self.graph().output.iter().map(info).collect()
    }
    /// The graph output names, in order.
    pub fn output_names(&self) -> Vec<String> {
        self.graph().output.iter().map(|o| o.name.clone()).collect()
    }

    /// Imports into IR with the given specialisation.
    pub fn import(&self, opts: &ImportOptions) -> Result<Imported> {
        let g = self.graph();
        let unsupported = scan::unsupported_ops(g);
        if !unsupported.is_empty() {
            return Err(FrontendError::UnsupportedOps(unsupported));
        }
        let opset = self.opset()?;
        self.check_option_names(opts)?;
        let mut imp = Importer::new(self.base_dir.as_deref(), DEFAULT_FOLD_LIMIT);
        for init in &g.initializer {
            let v = imp.constant(init.name.clone(), tensor_from_proto(init, self.base_dir.as_deref())?);
            imp.bind(&init.name, v);
        }
        let mut notes = Vec::new();
        for vi in self.real_inputs() {
            let v = match specialize(&declared(vi), opts, &mut notes)? {
                Binding::Runtime(ty) => imp.graph.add_input(vi.name.clone(), ty),
                Binding::Value(t) => imp.constant(vi.name.clone(), t),
            };
            imp.bind(&vi.name, v);
        }
        for (i, node) in g.node.iter().enumerate() {
            let ctx = NodeCtx::new(node, i, opset);
            let outs = import_node(&mut imp, &ctx)?;
            for (name, v) in node.output.iter().zip(outs) {
                imp.bind(name, v);
            }
        }
        bind_outputs(&mut imp, g)?;
        kiln_ir::dynamic::move_lengths_last(&mut imp.graph);
        Ok(Imported { graph: imp.graph, notes })
    }

    fn check_option_names(&self, opts: &ImportOptions) -> Result<()> {
        let real: Vec<String> = self.real_inputs().iter().map(|vi| vi.name.clone()).collect();
        for name in opts.shapes.keys().chain(opts.values.keys()) {
            if !real.contains(name) {
                let msg = format!("is not a graph input of the model (inputs: {})", real.join(", "));
                return Err(FrontendError::Input { input: name.clone(), msg });
            }
        }
        Ok(())
    }
}

/// The graph outputs keep their ONNX names; one that is a graph input, a constant, or already
/// an output gets an `Identity` copy so every output is a distinct node result.
fn bind_outputs(imp: &mut Importer, g: &GraphProto) -> Result<()> {
    for o in &g.output {
        let v = imp
            .lookup(&o.name)
            .ok_or_else(|| FrontendError::Graph(format!("output '{}' is not computed by the graph", o.name)))?;
        let is_node = matches!(imp.graph.value(v).def, ValueDef::Node { .. });
        let out = if is_node && !imp.graph.outputs.contains(&v) {
            imp.graph.values[v].name = o.name.clone();
            v
        } else {
            let ty = imp.ty(v);
            imp.graph.add_node1(format!("{}_identity", o.name), Op::Identity, vec![v], o.name.clone(), ty)
        };
        imp.graph.outputs.push(out);
    }
    Ok(())
}

/// The element type and dims a `ValueInfoProto` declares (`elem` is `None` for non-tensors).
fn declared(vi: &ValueInfoProto) -> Declared<'_> {
    let tensor = vi.type_.as_ref().and_then(|t| match &t.value {
        Some(TypeValue::TensorType(tt)) => Some(tt),
        _ => None,
    });
    let elem = tensor.map(|t| t.elem_type);
    let dims = tensor.and_then(|t| t.shape.as_ref()).map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(DimValue::DimValue(v)) if *v >= 0 => Dim::Fixed(*v as usize),
                Some(DimValue::DimParam(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
                _ => Dim::Unknown,
            })
            .collect()
    });
    Declared { name: &vi.name, elem, dims }
}
