//! Compiling a whole graph into a `Module`: kernels (deduplicated by [`KernelSpec::key`]),
//! weights ([`crate::weights`]) and the entry function ([`crate::entry`]).
//!
//! One code path for every `cranelift_module::Module`: the JIT and native objects differ only in
//! the module and ISA handed in.
//!
//! Threads: with `threads > 1` ([`compile_graph_parallel`]) every micro-kernel with enough work
//! is cut into parts over chunks of its rows ([`mk::split`]), each part its own function with
//! its own scratch, and a task function `{prefix}k{i}_tasks(ctx, index)` runs part `index` on the
//! arguments stored at `ctx`; the entry hands it to the caller's fork-join callback or runs the
//! parts in order itself ([`crate::entry`]). The parts are chosen at compile time, so the
//! results are the same bits whatever the number of threads that run them.

use crate::entry::{emit_entry, emit_task_function, EntryFunctions, Step};
use crate::error::BackendError;
use crate::error::Result;
use crate::kernel::{define_checked, kernel_signature, panic_message, KernelKey, KernelSpec, TargetCaps};
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
    /// The entry taking a parallel descriptor as a fourth argument (`{entry}_parallel`; see
    /// [`crate::entry`]).
    pub parallel_entry: FuncId,
    /// Kernels cut into parts for threads, and the most parts of one kernel.
    pub split_kernels: usize,
    pub max_parts: usize,
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
    /// The entry's steps in call order: the node and the index in `functions` of the kernel it
    /// calls (`None`: a copy). What a profile of the probed entry is reported by.
    pub steps: Vec<(NodeId, Option<usize>)>,
    /// With [`compile_graph_probed`]: a second entry (same signature) that calls the probe
    /// around every step.
    pub probed_entry: Option<FuncId>,
}

/// The symbol of the profiler's probe the probed entry calls (`extern "C" fn(step: u32)`);
/// the JIT defines it.
pub const PROBE_SYMBOL: &str = "kiln_profile_probe";

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
    compile_graph_parallel(module, graph, plan, symbol_prefix, entry_symbol, 1)
}

/// [`compile_graph_as`] for `threads` threads: kernels worth it are cut into parts (see the
/// module docs), and the workspace has room for every part's scratch.
pub fn compile_graph_parallel<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    symbol_prefix: &str,
    entry_symbol: &str,
    threads: usize,
) -> Result<CompiledGraph> {
    let policy = mk::split::SplitPolicy::for_threads(threads);
    compile_graph_split(module, graph, plan, symbol_prefix, entry_symbol, &policy, false)
}

/// [`compile_graph`] for `threads` threads plus a second pair of entries,
/// `{symbol_prefix}entry_probed` and its `_parallel` form, that call the imported
/// [`PROBE_SYMBOL`] before every step and after the last (`kiln bench --profile`; the JIT only:
/// the plain entries are unchanged and objects never import anything).
pub fn compile_graph_probed<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    symbol_prefix: &str,
    threads: usize,
) -> Result<CompiledGraph> {
    let policy = mk::split::SplitPolicy::for_threads(threads);
    compile_graph_split(module, graph, plan, symbol_prefix, &format!("{symbol_prefix}entry"), &policy, true)
}

/// [`compile_graph_parallel`] with the cutting thresholds of `policy`, and with `probed`, the
/// probed entries of [`compile_graph_probed`].
#[allow(clippy::too_many_arguments)]
pub fn compile_graph_split<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    symbol_prefix: &str,
    entry_symbol: &str,
    policy: &mk::split::SplitPolicy,
    probed: bool,
) -> Result<CompiledGraph> {
    let caps = TargetCaps::of(module.isa());
    let (steps, mut unique) = plan_kernels(graph, plan, caps);
    for u in &mut unique {
        match &u.micro {
            Some(m) => {
                let parts = mk::split::split(m, policy);
                if parts.len() > 1 {
                    u.parts = parts;
                }
            }
            None => {
                let max = mk::split::PARTS_PER_THREAD * policy.threads;
                let min = if policy.min_work == 1 { 1 } else { crate::flat_split::MIN_ELEMENTS_PER_PART };
                u.flat = crate::flat_split::split(&u.spec, policy.threads, max, min);
            }
        }
    }
    let ids = declare_kernels(module, &unique, symbol_prefix)?;
    let sizes = define_kernels(module, &unique, &ids)?;
    let tasks = define_task_functions(module, &unique, &ids, symbol_prefix)?;
    let code_bytes: usize = sizes.iter().flatten().sum::<usize>() + tasks.iter().flatten().map(|t| t.1).sum::<usize>();
    let scratch_offset = plan.arena_size.div_ceil(64) * 64;
    let scratch = unique.iter().map(Unique::scratch_bytes).max().unwrap_or(0);
    let steps: Vec<Step> = steps
        .into_iter()
        .map(|s| match s {
            Planned::Copy(node) => Step::Copy { node },
            Planned::Call(node, k) => {
                let micro = unique[k].micro.as_ref();
                Step::Call {
                    node,
                    funcs: ids[k].clone(),
                    tasks: tasks[k].map(|t| t.0),
                    packed: micro.map(|m| m.packed.clone()).unwrap_or_default(),
                    scratch: micro.filter(|m| m.scratch > 0).map(|_| scratch_offset),
                    offsets: unique[k].offsets(),
                }
            }
        })
        .collect();
    let mut weights = Weights::default();
    let entry_symbol = entry_symbol.to_string();
    let entry = emit_entry(module, graph, plan, &steps, &mut weights, symbol_prefix, &entry_symbol, None)?;
    let mut functions = kernel_symbols(&unique, &ids, &sizes, symbol_prefix);
    functions.extend(tasks.iter().enumerate().filter_map(|(i, t)| {
        let u = &unique[i];
        t.map(|(id, size)| FunctionSymbol {
            id,
            name: format!("{symbol_prefix}k{i}_tasks_{}:{}", u.spec.op.name(), u.spec.node),
            size,
        })
    }));
    push_entry_symbols(&mut functions, &entry, &entry_symbol);
    let probed_entry = if probed {
        let probed = emit_probed_entry(module, graph, plan, &steps, &mut weights, symbol_prefix)?;
        push_entry_symbols(&mut functions, &probed, &format!("{symbol_prefix}entry_probed"));
        Some(probed.parallel)
    } else {
        None
    };
    let step_list = steps
        .iter()
        .map(|s| match s {
            Step::Call { node, funcs, .. } => (*node, ids.iter().position(|id| id == funcs)),
            Step::Copy { node } => (*node, None),
        })
        .collect();
    let micro_kernels = unique.iter().filter(|u| u.micro.is_some()).count();
    Ok(CompiledGraph {
        entry: entry.plain,
        parallel_entry: entry.parallel,
        split_kernels: unique.iter().filter(|u| u.is_split()).count(),
        max_parts: unique.iter().map(|u| u.functions().len()).max().unwrap_or(0).max(1),
        kernels: unique.len(),
        code_bytes: code_bytes + entry.plain_size + entry.parallel_size,
        weight_bytes: weights.bytes,
        workspace_size: if scratch > 0 { scratch_offset + scratch } else { plan.arena_size },
        entry_symbol,
        functions,
        micro_kernels,
        micro_isa: caps.micro.filter(|_| micro_kernels > 0).map(|m| m.name()),
        steps: step_list,
        probed_entry,
    })
}

/// The symbols of an entry pair: `name` and `{name}_parallel`.
fn push_entry_symbols(functions: &mut Vec<FunctionSymbol>, entry: &EntryFunctions, name: &str) {
    functions.push(FunctionSymbol { id: entry.parallel, name: format!("{name}_parallel"), size: entry.parallel_size });
    functions.push(FunctionSymbol { id: entry.plain, name: name.to_string(), size: entry.plain_size });
}

/// The entries with probe calls (see [`compile_graph_probed`]); weights are already defined.
fn emit_probed_entry<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    steps: &[Step],
    weights: &mut Weights,
    prefix: &str,
) -> Result<EntryFunctions> {
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(cranelift_codegen::ir::types::I32));
    let probe = module
        .declare_function(PROBE_SYMBOL, Linkage::Import, &sig)
        .map_err(|e| BackendError::Codegen { kernel: PROBE_SYMBOL.into(), msg: e.to_string() })?;
    emit_entry(module, graph, plan, steps, weights, prefix, &format!("{prefix}entry_probed"), Some(probe))
}

/// One distinct kernel: its spec and, when it has one, its machine-code plan, and the parts
/// it was cut into for threads (empty: not cut): machine-code `parts`, or the `flat` parts of
/// an elementwise Cranelift kernel (`crate::flat_split`).
struct Unique {
    spec: KernelSpec,
    micro: Option<MicroKernel>,
    parts: Vec<MicroKernel>,
    flat: Vec<crate::flat_split::FlatPart>,
}

impl Unique {
    /// The functions this kernel is defined as (its parts, or itself): each one's spec and
    /// machine-code plan (`None`: a Cranelift kernel of that spec).
    fn functions(&self) -> Vec<(&KernelSpec, Option<&MicroKernel>)> {
        if !self.parts.is_empty() {
            self.parts.iter().map(|m| (&self.spec, Some(m))).collect()
        } else if !self.flat.is_empty() {
            self.flat.iter().map(|f| (&f.spec, None)).collect()
        } else {
            vec![(&self.spec, self.micro.as_ref())]
        }
    }
    fn is_split(&self) -> bool {
        !self.parts.is_empty() || !self.flat.is_empty()
    }
    /// Each part's byte offsets of its arguments (see `crate::entry::Step::Call`).
    fn offsets(&self) -> Vec<Vec<i64>> {
        if !self.flat.is_empty() {
            return crate::flat_split::offsets(&self.spec, &self.flat);
        }
        let stride = self.scratch_stride() as i64;
        (self.parts.iter().enumerate())
            .map(|(j, m)| {
                let mut o = vec![0; m.params];
                if m.scratch > 0 {
                    o[m.params - 1] = j as i64 * stride;
                }
                o
            })
            .collect()
    }
    /// Bytes between the scratch of consecutive parts.
    fn scratch_stride(&self) -> usize {
        self.functions().iter().filter_map(|f| f.1).map(|m| m.scratch).max().unwrap_or(0).div_ceil(64) * 64
    }
    /// Bytes of scratch of all parts side by side.
    fn scratch_bytes(&self) -> usize {
        match self.parts.len() {
            0 => self.micro.as_ref().map_or(0, |m| m.scratch),
            n => self.scratch_stride() * n,
        }
    }
}

/// Kernel symbols named after their op and the first node that uses them (parts `p{j}`).
fn kernel_symbols(unique: &[Unique], ids: &[Vec<FuncId>], sizes: &[Vec<usize>], prefix: &str) -> Vec<FunctionSymbol> {
    let mut out = Vec::new();
    for (i, ((u, ids), sizes)) in unique.iter().zip(ids).zip(sizes).enumerate() {
        for (j, (&id, &size)) in ids.iter().zip(sizes).enumerate() {
            let part = if u.is_split() { format!("p{j}") } else { String::new() };
            out.push(FunctionSymbol {
                id,
                name: format!("{prefix}k{i}{part}_{}:{}", u.spec.op.name(), u.spec.node),
                size,
            });
        }
    }
    out
}

/// The task function of every kernel cut into parts (id and code size), `None` for the others.
fn define_task_functions<M: Module>(
    module: &mut M,
    unique: &[Unique],
    ids: &[Vec<FuncId>],
    prefix: &str,
) -> Result<Vec<Option<(FuncId, usize)>>> {
    (unique.iter().zip(ids).enumerate())
        .map(|(i, (u, ids))| {
            if !u.is_split() {
                return Ok(None);
            }
            let name = format!("{prefix}k{i}_tasks");
            let offsets = u.offsets();
            let params = offsets.first().map_or(0, Vec::len);
            emit_task_function(module, &name, ids, params, &offsets).map(Some)
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
    let mut index: HashMap<(KernelKey, Option<MicroKernel>), usize> = HashMap::new();
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
        let k = *index.entry((spec.key(), micro.clone())).or_insert_with(|| {
            unique.push(Unique { spec, micro, parts: Vec::new(), flat: Vec::new() });
            unique.len() - 1
        });
        steps.push(Planned::Call(n, k));
    }
    (steps, unique)
}

/// Declares every distinct kernel as a local function `{prefix}k{i}_{op}`, or its parts as
/// `{prefix}k{i}p{j}_{op}` (a micro-kernel with scratch takes one more pointer, last).
fn declare_kernels<M: Module>(module: &mut M, unique: &[Unique], prefix: &str) -> Result<Vec<Vec<FuncId>>> {
    let ptr = module.target_config().pointer_type();
    let mut ids = Vec::with_capacity(unique.len());
    for (i, u) in unique.iter().enumerate() {
        let functions = u.functions();
        let mut these = Vec::with_capacity(functions.len());
        for (j, (spec, micro)) in functions.into_iter().enumerate() {
            let part = if u.is_split() { format!("p{j}") } else { String::new() };
            let name = format!("{prefix}k{i}{part}_{}", u.spec.op.name());
            let mut sig = kernel_signature(module.make_signature(), spec, ptr);
            if micro.is_some_and(|m| m.scratch > 0) {
                sig.params.push(AbiParam::new(ptr));
            }
            let id = module
                .declare_function(&name, Linkage::Local, &sig)
                .map_err(|e| BackendError::Module(format!("declaring kernel `{name}`: {e}")))?;
            these.push(id);
        }
        ids.push(these);
    }
    Ok(ids)
}

/// Compiles the kernels (Cranelift ones on all cores, micro-kernels and their parts assembled)
/// and defines them; returns each function's code bytes.
fn define_kernels<M: Module>(module: &mut M, unique: &[Unique], ids: &[Vec<FuncId>]) -> Result<Vec<Vec<usize>>> {
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
        .flat_map(|(u, ids)| u.functions().into_iter().zip(ids))
        .filter(|((_, micro), _)| micro.is_none())
        .map(|((spec, _), id)| (spec.clone(), id.as_u32()))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut compiled = compile_kernels(&target, &jobs, threads).into_iter();
    let micro_jobs: Vec<(&KernelSpec, &MicroKernel)> =
        unique.iter().flat_map(|u| u.functions().into_iter().filter_map(|(s, m)| m.map(|m| (s, m)))).collect();
    let mut assembled =
        crate::parallel::parallel_map(&micro_jobs, threads, |(spec, m)| assemble_micro(spec, m, conv)).into_iter();
    let mut sizes = Vec::with_capacity(unique.len());
    for (ids, u) in ids.iter().zip(unique) {
        let spec = &u.spec;
        let mut these = Vec::with_capacity(ids.len());
        for (&id, (_, micro)) in ids.iter().zip(u.functions()) {
            let result = match micro {
                Some(_) => assembled
                    .next()
                    .flatten()
                    .unwrap_or_else(|| Err(spec.codegen_error("micro-kernel was not assembled"))),
                None => compiled.next().unwrap_or_else(|| Err(spec.codegen_error("kernel was not compiled"))),
            };
            these.push(match result? {
                CompiledKernel::Bytes { code, alignment } => {
                    module
                        .define_function_bytes(id, alignment, &code, &[])
                        .map_err(|e| spec.codegen_error(format!("defining: {e}")))?;
                    code.len()
                }
                CompiledKernel::NeedsModule(func) => define_checked(module, id, *func, |msg| spec.codegen_error(msg))?,
            });
        }
        sizes.push(these);
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
