//! Native objects: a graph compiled into one relocatable object file (ELF, Mach-O or COFF) that
//! an application links, plus the C header that describes its ABI ([`header`]).
//!
//! The object is the same code as the JIT's ([`crate::compile_graph`] into a
//! `cranelift_object::ObjectModule` instead of a `JITModule`), under names that start with the
//! model's C name: `NAME_run` (the entry), `NAME_run_parallel` (the entry taking the
//! application's fork-join callback, `crate::entry`), `NAME_workspace_size` (a function
//! returning the planned arena size, which covers the scratch of every part of the kernels cut
//! for [`ObjectConfig::threads`]), and local kernels and weights. It must be self-contained: weights are
//! read-only data in the object, nothing is writable, the code is position-independent, and no
//! symbol is left undefined (no libc, libm or runtime; [`compile_object`] checks this on the
//! emitted bytes, so a kernel that needs a libcall on some CPU level is an error here rather
//! than a link failure on the user's device).

pub mod header;
pub mod target;

use crate::compile::compile_graph_parallel;
use crate::error::{BackendError, Result};
use crate::isa::isa_for_triple;
use cranelift_codegen::ir::{AbiParam, InstBuilder};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::Module;
use cranelift_object::{ObjectBuilder, ObjectModule};
use kiln_ir::Graph;
use object::{Object, ObjectSection, ObjectSymbol, SectionKind};

/// What to build: the triple, its exact feature list and the C name of the model.
#[derive(Clone, Debug)]
pub struct ObjectConfig<'a> {
    pub triple: &'a str,
    /// Feature names as [`crate::isa::isa_for_triple`] takes them (see [`target`]).
    pub features: &'a [&'a str],
    /// The C identifier every exported symbol starts with.
    pub name: &'a str,
    /// Threads the kernels are cut into parts for (1: none is cut; `NAME_run_parallel` then
    /// runs on the calling thread alone).
    pub threads: usize,
}

/// A compiled native object and its figures.
#[derive(Clone, Debug)]
pub struct NativeObject {
    /// The object file.
    pub bytes: Vec<u8>,
    /// Distinct kernel functions.
    pub kernels: usize,
    /// Distinct kernels that are machine-code micro-kernels (`crate::mk`), and their ISA.
    pub micro_kernels: usize,
    pub micro_isa: Option<&'static str>,
    /// Machine-code bytes (kernels, entry and `NAME_workspace_size`).
    pub code_bytes: usize,
    /// Bytes of weights in read-only data.
    pub weight_bytes: usize,
    /// Bytes of workspace `NAME_run` needs.
    pub workspace_size: usize,
    /// The entry's symbol (`NAME_run`, before any platform prefix such as Mach-O's `_`).
    pub run_symbol: String,
    /// `NAME_workspace_size`.
    pub workspace_symbol: String,
    /// The threads the kernels were cut for, and the most parts of one kernel (1: none cut).
    pub threads: usize,
    pub max_parts: usize,
    /// Kernels cut into parts.
    pub split_kernels: usize,
}

/// Compiles `graph` into a native object for `cfg.triple` with `cfg.features`.
pub fn compile_object(graph: &Graph, cfg: &ObjectConfig) -> Result<NativeObject> {
    check_c_identifier(cfg.name)?;
    let isa = isa_for_triple(cfg.triple, cfg.features)?;
    let legal = crate::legalize(graph, crate::TargetCaps::of(&*isa))?;
    let graph = legal.as_ref().unwrap_or(graph);
    let builder = ObjectBuilder::new(isa, cfg.name, cranelift_module::default_libcall_names())
        .map_err(|e| BackendError::Module(format!("object for `{}`: {e}", cfg.triple)))?;
    let mut module = ObjectModule::new(builder);
    let plan = kiln_passes::plan_memory(graph);
    let prefix = format!("{}_", cfg.name);
    let run_symbol = format!("{}_run", cfg.name);
    let threads = cfg.threads.max(1);
    let compiled = compile_graph_parallel(&mut module, graph, &plan, &prefix, &run_symbol, threads)?;
    let workspace_symbol = format!("{}_workspace_size", cfg.name);
    let size_fn = define_constant_function(&mut module, &workspace_symbol, compiled.workspace_size as i64)?;
    let bytes = module
        .finish()
        .emit()
        .map_err(|e| BackendError::Module(format!("writing the object for `{}`: {e}", cfg.triple)))?;
    check_self_contained(&bytes, cfg.triple)?;
    Ok(NativeObject {
        bytes,
        kernels: compiled.kernels,
        micro_kernels: compiled.micro_kernels,
        micro_isa: compiled.micro_isa,
        code_bytes: compiled.code_bytes + size_fn,
        weight_bytes: compiled.weight_bytes,
        workspace_size: compiled.workspace_size,
        run_symbol,
        workspace_symbol,
        threads,
        max_parts: compiled.max_parts,
        split_kernels: compiled.split_kernels,
    })
}

/// Defines the exported function `name() -> size_t` returning `value`; returns its code size.
fn define_constant_function(module: &mut ObjectModule, name: &str, value: i64) -> Result<usize> {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.returns.push(AbiParam::new(ptr));
    let (id, mut func) = crate::entry::exported_function(module, name, sig)?;
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let block = b.create_block();
    b.switch_to_block(block);
    b.seal_block(block);
    let v = b.ins().iconst(ptr, value);
    b.ins().return_(&[v]);
    b.finalize(module.target_config());
    crate::kernel::define_checked(module, id, func, |msg| BackendError::Codegen { kernel: name.into(), msg })
}

/// A C identifier: ASCII letters, digits and `_`, not starting with a digit.
pub fn check_c_identifier(name: &str) -> Result<()> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(BackendError::Target(format!(
            "`{name}` is not a C identifier (letters, digits and `_`, not starting with a digit)"
        )))
    }
}

/// `stem` made a C identifier: other characters become `_`, a leading digit gets `m_` before it.
pub fn c_identifier(stem: &str) -> String {
    let mut id: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if id.is_empty() {
        id.push_str("model");
    } else if id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert_str(0, "m_");
    }
    id
}

/// Fails when the object references an undefined symbol (a libcall) or has writable data.
fn check_self_contained(bytes: &[u8], triple: &str) -> Result<()> {
    let file = object::File::parse(bytes)
        .map_err(|e| BackendError::Module(format!("reading back the object for `{triple}`: {e}")))?;
    let undefined: Vec<&str> =
        file.symbols().filter(|s| s.is_undefined()).filter_map(|s| s.name().ok()).filter(|n| !n.is_empty()).collect();
    if !undefined.is_empty() {
        return Err(BackendError::Module(format!(
            "the object for `{triple}` needs undefined symbols {undefined:?} (libcalls of some kernel at this \
             CPU level); a kiln bug: please report it with the model"
        )));
    }
    let writable = file
        .sections()
        .filter(|s| matches!(s.kind(), SectionKind::Data | SectionKind::UninitializedData) && s.size() > 0)
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect::<Vec<_>>();
    if !writable.is_empty() {
        return Err(BackendError::Module(format!("the object for `{triple}` has writable sections {writable:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_become_c_identifiers() {
        assert_eq!(c_identifier("mobilenet_tiny"), "mobilenet_tiny");
        assert_eq!(c_identifier("resnet-50.v2"), "resnet_50_v2");
        assert_eq!(c_identifier("3d-unet"), "m_3d_unet");
        assert_eq!(c_identifier(""), "model");
        assert!(check_c_identifier(&c_identifier("9é")).is_ok());
    }

    #[test]
    fn names_that_are_not_c_identifiers_are_refused() {
        for bad in ["", "1x", "a-b", "a b", "ü"] {
            let err = check_c_identifier(bad).unwrap_err().to_string();
            assert!(err.contains("is not a C identifier"), "{bad}: {err}");
        }
        assert!(check_c_identifier("_ok_1").is_ok());
    }
}
