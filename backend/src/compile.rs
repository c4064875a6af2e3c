//! Compiling a whole graph into a `Module`: kernels (deduplicated by [`KernelSpec::key`]),
//! weights ([`crate::weights`]) and the entry function ([`crate::entry`]).
//!
//! One code path for every `cranelift_module::Module`: the JIT and native objects differ only in
//! the module and ISA handed in.

use crate::entry::{emit_entry, Step};
use crate::error::Result;
use crate::kernel::{define_kernel_sized, KernelSpec};
use crate::weights::Weights;
use cranelift_module::{FuncId, Linkage, Module};
use kiln_ir::{Graph, Op};
use kiln_passes::MemoryPlan;
use std::collections::HashMap;

/// What [`compile_graph`] produced.
#[derive(Clone, Debug)]
pub struct CompiledGraph {
    /// The entry function (exported as `{prefix}entry`).
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
}

/// Compiles `graph` laid out by `plan` into `module`; symbols start with `symbol_prefix`.
pub fn compile_graph<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    symbol_prefix: &str,
) -> Result<CompiledGraph> {
    let mut kernels: HashMap<String, FuncId> = HashMap::new();
    let mut code_bytes = 0;
    let mut steps = Vec::with_capacity(graph.nodes.len());
    for (n, node) in graph.nodes.iter() {
        if plan.aliases.get(n.index()).copied().unwrap_or(false) {
            continue;
        }
        if matches!(node.op, Op::Reshape { .. } | Op::Identity) {
            steps.push(Step::Copy { node: n });
            continue;
        }
        let spec = KernelSpec {
            node: node.name.clone(),
            op: node.op.clone(),
            inputs: node.inputs.iter().map(|&v| graph.ty(v).clone()).collect(),
            outputs: node.outputs.iter().map(|&v| graph.ty(v).clone()).collect(),
        };
        let key = spec.key();
        let func = match kernels.get(&key) {
            Some(&f) => f,
            None => {
                let name = format!("{symbol_prefix}k{}_{}", kernels.len(), node.op.name());
                let (f, size) = define_kernel_sized(module, &spec, &name, Linkage::Local)?;
                code_bytes += size;
                kernels.insert(key, f);
                f
            }
        };
        steps.push(Step::Call { node: n, func });
    }
    let mut weights = Weights::default();
    let entry_symbol = format!("{symbol_prefix}entry");
    let (entry, entry_size) = emit_entry(module, graph, plan, &steps, &mut weights, symbol_prefix, &entry_symbol)?;
    code_bytes += entry_size;
    Ok(CompiledGraph {
        entry,
        kernels: kernels.len(),
        code_bytes,
        weight_bytes: weights.bytes,
        workspace_size: plan.arena_size,
        entry_symbol,
    })
}

