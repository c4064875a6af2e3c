//! Compiling a whole graph into a `Module`: kernels (deduplicated by [`KernelSpec::key`]),
//! weights ([`crate::weights`]) and the entry function ([`crate::entry`]).
//!
//! One code path for every `cranelift_module::Module`: the JIT and native objects differ only in
//! the module and ISA handed in.

use crate::entry::{emit_entry, Step};
use crate::error::BackendError;
use crate::error::Result;
use crate::kernel::{define_checked, kernel_signature, panic_message, KernelSpec, TargetCaps};
use crate::mk::{self, MicroKernel};
use crate::parallel::{compile_kernels, CompiledKernel, KernelTarget};
use crate::weights::Weights;
use cranelift_codegen::ir::AbiParam;
use cranelift_module::{FuncId, Linkage, Module};
use kiln_ir::{Graph, NodeId, Op};
use kiln_passes::MemoryPlan;
use std::collections::HashMap;

/// What [`compile_graph`] produced.
#[derive(Clone, Debug)]
pub struct CompiledGraph {
    /// The entry function (exported as `{prefix}entry` or the name given).
    pub entry: FuncId,
    /// Distinct kernel functions emitted.
    pub kernels: usize,
    /// Machine-code bytes of kernels and entry.
    pub code_bytes: usize,
    /// Bytes of constants emitted as read-only data.
    pub weight_bytes: usize,
    /// Bytes of workspace the entry needs (64-byte aligned).
    pub workspace_size: usize,
    /// The entry's symbol name.
    pub entry_symbol: String,
    /// Every function defined (kernels, then the entry), for profilers' symbol maps.
    pub functions: Vec<FunctionSymbol>,
    /// Distinct kernels that are machine-code micro-kernels (`crate::mk`), and their ISA.
    pub micro_kernels: usize,
    pub micro_isa: Option<&'static str>,
}

/// One defined function: its id, symbol name and machine-code size.
#[derive(Clone, Debug)]
pub struct FunctionSymbol {
    pub id: FuncId,
    pub name: String,
    pub size: usize,
}

/// Compiles `graph` laid out by `plan` into `module`; symbols start with `symbol_prefix`, the
/// entry is `{symbol_prefix}entry`. Distinct kernels compile in parallel ([`crate::parallel`]);
/// everything else is serial.
pub fn compile_graph<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    symbol_prefix: &str,
) -> Result<CompiledGraph> {
    compile_graph_as(module, graph, plan, symbol_prefix, &format!("{symbol_prefix}entry"))
}

/// [`compile_graph`] with the entry exported as `entry_symbol` (native objects: `NAME_run`).
pub fn compile_graph_as<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    symbol_prefix: &str,
    entry_symbol: &str,
) -> Result<CompiledGraph> {
    let caps = TargetCaps::of(module.isa());
    let (steps, unique) = plan_kernels(graph, plan, caps);
    let ids = declare_kernels(module, &unique, symbol_prefix)?;
    let sizes = define_kernels(module, &unique, &ids)?;
    let code_bytes: usize = sizes.iter().sum();
    let scratch_offset = plan.arena_size.div_ceil(64) * 64;
    let scratch = unique.iter().filter_map(|u| u.micro.as_ref()).map(|m| m.scratch).max().unwrap_or(0);
    let steps: Vec<Step> = steps
        .into_iter()
        .map(|s| match s {
            Planned::Copy(node) => Step::Copy { node },
            Planned::Call(node, k) => {
                let micro = unique[k].micro.as_ref();
                Step::Call {
                    node,
                    func: ids[k],
                    packed: micro.map(|m| m.packed.clone()).unwrap_or_default(),
                    scratch: micro.filter(|m| m.scratch > 0).map(|_| scratch_offset),
                }
            }
        })
        .collect();
    let mut weights = Weights::default();
    let entry_symbol = entry_symbol.to_string();
    let (entry, entry_size) = emit_entry(module, graph, plan, &steps, &mut weights, symbol_prefix, &entry_symbol)?;
    let mut functions = kernel_symbols(&unique, &ids, &sizes, symbol_prefix);
    functions.push(FunctionSymbol { id: entry, name: entry_symbol.clone(), size: entry_size });
    let micro_kernels = unique.iter().filter(|u| u.micro.is_some()).count();
    Ok(CompiledGraph {
        entry,
        kernels: unique.len(),
        code_bytes: code_bytes + entry_size,
        weight_bytes: weights.bytes,
        workspace_size: if scratch > 0 { scratch_offset + scratch } else { plan.arena_size },
        entry_symbol,
        functions,
        micro_kernels,
        micro_isa: caps.micro.filter(|_| micro_kernels > 0).map(|m| m.name()),
    })
}

/// One distinct kernel: its spec and, when it has one, its machine-code plan.
struct Unique {
    spec: KernelSpec,
    micro: Option<MicroKernel>,
}

/// Kernel symbols named after their op and the first node that uses them.
fn kernel_symbols(unique: &[Unique], ids: &[FuncId], sizes: &[usize], prefix: &str) -> Vec<FunctionSymbol> {
    (unique.iter().zip(ids).zip(sizes).enumerate())
        .map(|(i, ((u, &id), &size))| FunctionSymbol {
            id,
            name: format!("{prefix}k{i}_{}:{}", u.spec.op.name(), u.spec.node),
            size,
        })
        .collect()
}

/// What the entry does for one node before kernel ids exist.
enum Planned {
    Copy(NodeId),
    /// A call of the `k`-th distinct kernel.
    Call(NodeId, usize),
}

/// The entry's steps and the distinct kernels (deduplicated by [`KernelSpec::key`] and the
/// micro-kernel plan), in order of first use.
fn plan_kernels(graph: &Graph, plan: &MemoryPlan, caps: TargetCaps) -> (Vec<Planned>, Vec<Unique>) {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut unique = Vec::new();
    let mut steps = Vec::with_capacity(graph.nodes.len());
    for (n, node) in graph.nodes.iter() {
        if plan.aliases.get(n.index()).copied().unwrap_or(false) {
            continue;
        }
        if matches!(node.op, Op::Reshape { .. } | Op::Identity) {
            steps.push(Planned::Copy(n));
            continue;
        }
        let spec = KernelSpec {
            node: node.name.clone(),
            op: node.op.clone(),
            inputs: node.inputs.iter().map(|&v| graph.ty(v).clone()).collect(),
            outputs: node.outputs.iter().map(|&v| graph.ty(v).clone()).collect(),
        };
        let constant: Vec<bool> = node.inputs.iter().map(|&v| graph.const_of(v).is_some()).collect();
        let micro = mk::plan(&spec, &constant, caps.micro);
        let key = format!("{}|{}", spec.key(), micro.as_ref().map(MicroKernel::key).unwrap_or_default());
        let k = *index.entry(key).or_insert_with(|| {
            unique.push(Unique { spec, micro });
            unique.len() - 1
        });
        steps.push(Planned::Call(n, k));
    }
    (steps, unique)
}

/// Declares every distinct kernel as a local function `{prefix}k{i}_{op}` (a micro-kernel with
/// scratch takes one more pointer, last).
fn declare_kernels<M: Module>(module: &mut M, unique: &[Unique], prefix: &str) -> Result<Vec<FuncId>> {
    let ptr = module.target_config().pointer_type();
    unique
        .iter()
        .enumerate()
        .map(|(i, Unique { spec, micro })| {
            let name = format!("{prefix}k{i}_{}", spec.op.name());
            let mut sig = kernel_signature(module.make_signature(), spec, ptr);
            if micro.as_ref().is_some_and(|m| m.scratch > 0) {
                sig.params.push(AbiParam::new(ptr));
            }
            module
                .declare_function(&name, Linkage::Local, &sig)
                .map_err(|e| BackendError::Module(format!("declaring kernel `{name}`: {e}")))
        })
        .collect()
}

/// Compiles the kernels (Cranelift ones on all cores, micro-kernels assembled) and defines
/// them; returns each one's code bytes.
fn define_kernels<M: Module>(module: &mut M, unique: &[Unique], ids: &[FuncId]) -> Result<Vec<usize>> {
    let target = KernelTarget {
        isa: module.isa(),
        config: module.target_config(),
        ptr: module.target_config().pointer_type(),
        caps: TargetCaps::of(module.isa()),
        base_signature: module.make_signature(),
    };
    let conv = match module.isa().default_call_conv() {
        cranelift_codegen::isa::CallConv::WindowsFastcall => mk::x86::CallConv::Windows,
        _ => mk::x86::CallConv::SystemV,
    };
    let jobs: Vec<(KernelSpec, u32)> = (unique.iter().zip(ids))
        .filter(|(u, _)| u.micro.is_none())
        .map(|(u, id)| (u.spec.clone(), id.as_u32()))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut compiled = compile_kernels(&target, &jobs, threads).into_iter();
    let micro_jobs: Vec<(&KernelSpec, &MicroKernel)> =
        unique.iter().filter_map(|u| u.micro.as_ref().map(|m| (&u.spec, m))).collect();
    let mut assembled =
        crate::parallel::parallel_map(&micro_jobs, threads, |(spec, m)| assemble_micro(spec, m, conv)).into_iter();
    let mut sizes = Vec::with_capacity(unique.len());
    for (&id, Unique { spec, micro }) in ids.iter().zip(unique) {
        let result = match micro {
            Some(_) => {
                assembled.next().flatten().unwrap_or_else(|| Err(spec.codegen_error("micro-kernel was not assembled")))
            }
            None => compiled.next().unwrap_or_else(|| Err(spec.codegen_error("kernel was not compiled"))),
        };
        sizes.push(match result? {
            CompiledKernel::Bytes { code, alignment } => {
                module
                    .define_function_bytes(id, alignment, &code, &[])
                    .map_err(|e| spec.codegen_error(format!("defining: {e}")))?;
                code.len()
            }
            CompiledKernel::NeedsModule(func) => define_checked(module, id, *func, |msg| spec.codegen_error(msg))?,
        });
    }
    Ok(sizes)
}

/// The machine code of micro-kernel `m` (behind `catch_unwind`: a generator bug becomes an
/// error naming the node, never a crash).
fn assemble_micro(spec: &KernelSpec, m: &MicroKernel, conv: mk::x86::CallConv) -> Result<CompiledKernel> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| m.assemble(conv))) {
        Ok(Ok(code)) => Ok(CompiledKernel::Bytes { code, alignment: 64 }),
        Ok(Err(msg)) => Err(spec.codegen_error(format!("micro-kernel: {msg}"))),
        Err(panic) => Err(spec.internal_error(panic_message("the micro-kernel generator", &panic))),
    }
}
