//! Native objects through the public API: [`crate::Model::compile_object`] runs the same
//! pipeline as the JIT (import -> passes) and hands the optimized graph to
//! [`kiln_backend::native`], which emits a self-contained object file and its C header.
//!
//! This module only decides what the caller left open: the target (the host triple), the CPU
//! level (`native` for the host triple, `generic` when cross-compiling, see
//! [`kiln_backend::native::target`]) and the C name (the model file's stem made an identifier).

use crate::error::Result;
use crate::pipeline::Lowered;
use kiln_backend::native::header::{c_header, HeaderInfo};
use kiln_backend::native::target::choose_features;
use kiln_backend::native::{c_identifier, check_c_identifier, compile_object, ObjectConfig};
use kiln_ir::{Graph, Tensor, TensorType};

pub use kiln_backend::native::target::{host_triple, Cpu};

/// How to build a native object; every field left `None`/empty takes the documented default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NativeOptions {
    /// A target triple (see `kiln_backend::isa::SUPPORTED_TRIPLES`); the host's by default.
    pub target: Option<String>,
    /// The CPU level: native for the host triple, generic otherwise by default.
    pub cpu: Option<Cpu>,
    /// Feature edits applied after the CPU level: `+avx2`, `fma`, `-sse41`, comma lists.
    pub features: Vec<String>,
    /// The C name of the model's symbols; the model file's stem made an identifier by default.
    pub name: Option<String>,
}

/// Figures about one native object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectStats {
    pub kernels: usize,
    /// Distinct kernels that are machine-code micro-kernels, and their ISA (`neon` in every
    /// AArch64 object, `avx512`/`avx2` on x86-64 with those features).
    pub micro_kernels: usize,
    pub micro_isa: Option<&'static str>,
    /// Machine-code bytes.
    pub code_bytes: usize,
    /// Weight bytes in read-only data.
    pub weight_bytes: usize,
    /// Bytes of the model's own constants as imported (before folding and prepacking), to
    /// compare `weight_bytes` with.
    pub model_weight_bytes: usize,
    /// Workspace bytes one call needs.
    pub workspace_bytes: usize,
    /// Bytes of the object file.
    pub object_bytes: usize,
    /// The threads the kernels were cut into parts for (`NAME_THREADS`), and how many were cut.
    pub threads: usize,
    pub split_kernels: usize,
}

/// A model compiled into a native object.
#[derive(Clone, Debug)]
pub struct CompiledObject {
    /// The object file (ELF, Mach-O or COFF by the triple).
    pub object: Vec<u8>,
    /// The C header describing its ABI.
    pub header: String,
    /// The C name: the object exports `{name}_run` and `{name}_workspace_size`.
    pub name: String,
    pub triple: String,
    pub cpu: Cpu,
    /// The CPU features the code may use, in canonical order.
    pub features: Vec<String>,
    pub stats: ObjectStats,
    /// `(name, type)` of the runtime inputs and of the outputs, in graph order.
    pub inputs: Vec<(String, TensorType)>,
    pub outputs: Vec<(String, TensorType)>,
    /// What the frontend decided on the user's behalf while importing.
    pub notes: Vec<String>,
    /// Outputs of data-dependent ops and, per output, whether it is a length output
    /// (`kiln_ir::dynamic`); [`CompiledObject::trim_outputs`] applies them.
    pub bounded: Vec<kiln_ir::dynamic::BoundedOutput>,
    pub length_outputs: Vec<bool>,
}

impl CompiledObject {
    /// The outputs of one run of the object (all of them, in graph order) as the JIT returns
    /// them: bounded outputs cut to their lengths, length outputs dropped.
    ///
    /// # Errors
    /// When the outputs do not match the object's outputs or a length is out of range.
    pub fn trim_outputs(&self, outputs: Vec<Tensor>) -> std::result::Result<Vec<Tensor>, String> {
        kiln_ir::dynamic::trim_with(&self.bounded, &self.length_outputs, outputs)
    }
}

/// The micro-kernel vector width of the object `native` asks for (see `pipeline::lower`):
/// what the graph optimizer prices that target's kernels by (`Model::lower_for`).
pub fn micro_bits(native: &NativeOptions) -> Result<Option<u32>> {
    let triple = native.target.clone().unwrap_or_else(host_triple);
    let (_, features) = choose_features(&triple, native.cpu, &native.features)?;
    let isa = kiln_backend::isa_for_triple(&triple, &features)?;
    Ok(kiln_backend::isa::micro_vector_bits(&*isa))
}

/// Compiles the last stage of `lowered` into an object; `stem` is the default C name's source,
/// `source` names the model in the header's opening comment.
/// Kernels worth it are cut into parts for `threads` threads (`NAME_run_parallel`).
pub(crate) fn compile(
    lowered: Lowered,
    stem: &str,
    source: &str,
    native: &NativeOptions,
    threads: usize,
) -> Result<CompiledObject> {
    let triple = native.target.clone().unwrap_or_else(host_triple);
    let (cpu, features) = choose_features(&triple, native.cpu, &native.features)?;
    let name = native.name.clone().unwrap_or_else(|| c_identifier(stem));
    check_c_identifier(&name)?;
    let graph = lowered.last().cloned().unwrap_or_default();
    let object = compile_object(&graph, &ObjectConfig { triple: &triple, features: &features, name: &name, threads })?;
    let (inputs, outputs) = (named_types(&graph, &graph.inputs), named_types(&graph, &graph.outputs));
    // The last stage is verified, so every bounded output has its length output.
    let bounded = kiln_ir::dynamic::bounded_outputs(&graph).unwrap_or_default();
    let header = c_header(&HeaderInfo {
        name: &name,
        source,
        triple: &triple,
        features: &features,
        inputs: &inputs,
        outputs: &outputs,
        bounded: &bounded,
        workspace_size: object.workspace_size,
        threads: object.threads,
    });
    let stats = ObjectStats {
        kernels: object.kernels,
        micro_kernels: object.micro_kernels,
        micro_isa: object.micro_isa,
        code_bytes: object.code_bytes,
        weight_bytes: object.weight_bytes,
        model_weight_bytes: lowered.graph(crate::Stage::Import).map_or(0, Graph::constant_bytes),
        workspace_bytes: object.workspace_size,
        object_bytes: object.bytes.len(),
        threads: object.threads,
        split_kernels: object.split_kernels,
    };
    let features = features.iter().map(|f| f.to_string()).collect();
    Ok(CompiledObject {
        object: object.bytes,
        header,
        name,
        triple,
        cpu,
        features,
        stats,
        inputs,
        outputs,
        notes: lowered.notes,
        length_outputs: kiln_ir::dynamic::length_outputs(&graph),
        bounded,
    })
}

fn named_types(graph: &Graph, values: &[kiln_ir::ValueId]) -> Vec<(String, TensorType)> {
    values.iter().map(|&v| (graph.value(v).name.clone(), graph.ty(v).clone())).collect()
}
