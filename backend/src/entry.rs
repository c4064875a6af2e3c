//! The entry function of a compiled graph:
//! `extern "C" fn(inputs: *const *const u8, outputs: *const *mut u8, workspace: *mut u8) -> i32`.
//!
//! It calls the kernels in node order on buffer pointers: graph inputs from `inputs[i]`, graph
//! outputs straight into `outputs[j]` (their producer writes there, later readers read there),
//! intermediates at `workspace + offset`, constants through their data symbols. An output listed
//! twice, or one that is a graph input or a constant, is copied into place at the end. It
//! returns 0.
//!
//! # Threads
//! The body is `{entry}_parallel(inputs, outputs, workspace, parallel)`; `{entry}` is a wrapper
//! passing a null `parallel`. `parallel` points at a descriptor the caller owns (the C header's
//! `NAME_parallel`):
//!
//! ```text
//! offset 0:       u32 threads
//! offset ptr:     void *pool
//! offset 2 * ptr: void (*run)(void *pool, u32 n, void (*task)(void *ctx, u32 index), void *ctx)
//! ```
//!
//! `run` must call `task(ctx, i)` once for every `i < n`, on any threads, and return when all
//! have returned. For a kernel cut into parts ([`crate::mk::split`]) the entry stores the
//! kernel's arguments in a stack slot and calls `run(pool, parts, {kernel}_tasks, slot)` when
//! `parallel` is non-null with `threads > 1`; else it calls the parts one after the other
//! itself. Either way the same parts compute the same bits. Why the application's callback
//! rather than threads inside the code: objects have no libc and no undefined symbols, an RTOS
//! or an app with a pool of its own owns its threads, and the JIT supplies its pool through the
//! same door, so both run the same code.

use crate::emit::{copy_bytes, load, offset};
use crate::error::{BackendError, Result};
use crate::kernel::define_checked;
use crate::mk::pack::PackedB;
use crate::weights::Weights;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, BlockCall, Function, InstBuilder, JumpTableData, Signature, StackSlot, StackSlotData,
    StackSlotKind, UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{FuncId, Linkage, Module};
use kiln_ir::{Graph, NodeId, ValueDef, ValueId};
use kiln_passes::MemoryPlan;
use std::collections::HashMap;

/// One step of the entry function.
#[derive(Clone, Debug)]
pub enum Step {
    /// Call `funcs` with the node's input then output pointers: one kernel, or the parts of a
    /// split kernel (then `tasks` is their task function, see the module docs). Inputs listed
    /// in `packed` are constants passed in a micro-kernel's packed layout instead
    /// (`crate::mk::pack`); with `scratch`, a pointer to the workspace at that byte offset
    /// follows as the last argument. Part `j` gets its arguments moved by `offsets[j]` bytes
    /// (its own scratch; its slice of the buffers of an elementwise kernel).
    Call {
        node: NodeId,
        funcs: Vec<FuncId>,
        tasks: Option<FuncId>,
        packed: Vec<(usize, PackedB)>,
        scratch: Option<usize>,
        offsets: Vec<Vec<i64>>,
    },
    /// Copy the node's single input into its single output (a Reshape/Identity that cannot alias).
    Copy { node: NodeId },
}

/// Everything the steps of the entry function read: the graph and its memory plan, the weight
/// objects (defined on first use, under `prefix`), the entry's parameters, and the buffer pointer
/// of every value used so far. One struct so the helpers below take it instead of seven arguments.
struct EntryCx<'a> {
    graph: &'a Graph,
    plan: &'a MemoryPlan,
    weights: &'a mut Weights,
    prefix: &'a str,
    inputs: Value,
    outputs: Value,
    workspace: Value,
    /// The parallel descriptor (may be null) and the slot split kernels' arguments go to.
    parallel: Value,
    args_slot: Option<StackSlot>,
    cache: HashMap<ValueId, Value>,
}

/// The two entry functions [`emit_entry`] defines and their code sizes.
pub struct EntryFunctions {
    pub plain: FuncId,
    pub plain_size: usize,
    pub parallel: FuncId,
    pub parallel_size: usize,
}

/// Byte offsets of the parallel descriptor's `pool` and `run` for pointers of `ptr_bytes`.
pub fn descriptor_offsets(ptr_bytes: i64) -> (i64, i64) {
    (ptr_bytes.max(4), 2 * ptr_bytes.max(4))
}

/// Declares and defines the entry functions `name` and `{name}_parallel`. With `probe` (an
/// imported `extern "C" fn(u32)`, the JIT's profiler), the body calls `probe(i)` before step
/// `i` and `probe(steps.len())` after the last, so the time between two calls is one step's.
#[allow(clippy::too_many_arguments)]
pub fn emit_entry<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    steps: &[Step],
    weights: &mut Weights,
    prefix: &str,
    name: &str,
    probe: Option<FuncId>,
) -> Result<EntryFunctions> {
    let (parallel, parallel_size) = emit_parallel_entry(module, graph, plan, steps, weights, prefix, name, probe)?;
    let (plain, plain_size) = emit_plain_entry(module, name, parallel)?;
    Ok(EntryFunctions { plain, plain_size, parallel, parallel_size })
}

/// `name(inputs, outputs, workspace)`: `{name}_parallel` with a null descriptor.
fn emit_plain_entry<M: Module>(module: &mut M, name: &str, parallel: FuncId) -> Result<(FuncId, usize)> {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(ptr)]);
    sig.returns.push(AbiParam::new(types::I32));
    let (id, mut func) = exported_function(module, name, sig)?;
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let mut args = b.block_params(block).to_vec();
    args.push(b.ins().iconst(ptr, 0));
    let callee = module.declare_func_in_func(parallel, b.func);
    let call = b.ins().call(callee, &args);
    let status = b.inst_results(call)[0];
    b.ins().return_(&[status]);
    b.finalize(module.target_config());
    let size = define_checked(module, id, func, |msg| BackendError::Codegen { kernel: name.to_string(), msg })?;
    Ok((id, size))
}

/// `{name}_parallel(inputs, outputs, workspace, parallel)`: the body (see the module docs).
#[allow(clippy::too_many_arguments)]
fn emit_parallel_entry<M: Module>(
    module: &mut M,
    graph: &Graph,
    plan: &MemoryPlan,
    steps: &[Step],
    weights: &mut Weights,
    prefix: &str,
    name: &str,
    probe: Option<FuncId>,
) -> Result<(FuncId, usize)> {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(ptr), AbiParam::new(ptr)]);
    sig.returns.push(AbiParam::new(types::I32));
    let name = format!("{name}_parallel");
    let name = name.as_str();
    let (id, mut func) = exported_function(module, name, sig)?;
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    let params = b.block_params(block).to_vec();
    let slot_bytes = steps.iter().map(|s| split_arguments(graph, s)).max().unwrap_or(0) as u32 * ptr.bytes();
    let args_slot = (slot_bytes > 0)
        .then(|| b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, slot_bytes, 3)));
    let mut cx = EntryCx {
        graph,
        plan,
        weights,
        prefix,
        inputs: params[0],
        outputs: params[1],
        workspace: params[2],
        parallel: params[3],
        args_slot,
        cache: HashMap::new(),
    };
    let probe = probe.map(|p| module.declare_func_in_func(p, b.func));
    let call_probe = |b: &mut FunctionBuilder, i: usize| {
        if let Some(p) = probe {
            let index = b.ins().iconst(types::I32, i as i64);
            b.ins().call(p, &[index]);
        }
    };
    for (i, step) in steps.iter().enumerate() {
        call_probe(&mut b, i);
        emit_step(module, &mut b, &mut cx, step)?;
    }
    call_probe(&mut b, steps.len());
    copy_outputs_into_place(module, &mut b, &mut cx)?;
    let zero = b.ins().iconst(types::I32, 0);
    b.ins().return_(&[zero]);
    b.seal_all_blocks();
    b.finalize(module.target_config());
    let size = define_checked(module, id, func, |msg| BackendError::Codegen { kernel: name.to_string(), msg })?;
    Ok((id, size))
}

/// Emits one step: a kernel call on the node's buffers, or a copy.
fn emit_step<M: Module>(module: &mut M, b: &mut FunctionBuilder, cx: &mut EntryCx, step: &Step) -> Result<()> {
    let graph = cx.graph;
    match step {
        Step::Call { node, funcs, tasks, packed, scratch, offsets } => {
            let nd = graph.node(*node);
            let mut args = Vec::with_capacity(nd.inputs.len() + nd.outputs.len() + 1);
            for (i, &v) in nd.inputs.iter().enumerate() {
                let ptr = match packed.iter().find(|(input, _)| *input == i) {
                    Some((_, packing)) => packed_pointer(module, b, cx, v, packing)?,
                    None => pointer_of(module, b, cx, v)?,
                };
                args.push(ptr);
            }
            for &v in &nd.outputs {
                args.push(pointer_of(module, b, cx, v)?);
            }
            if let Some(off) = scratch {
                args.push(offset(b, cx.workspace, *off as i64));
            }
            match tasks {
                Some(tasks) => emit_split_call(module, b, cx, &args, funcs, *tasks, offsets)?,
                None => {
                    for &func in funcs {
                        let callee = module.declare_func_in_func(func, b.func);
                        b.ins().call(callee, &args);
                    }
                }
            }
        }
        Step::Copy { node } => {
            let nd = graph.node(*node);
            let (x, y) = (nd.inputs[0], nd.outputs[0]);
            let src = pointer_of(module, b, cx, x)?;
            let dst = pointer_of(module, b, cx, y)?;
            copy_bytes(b, dst, src, graph.ty(y).byte_size().min(graph.ty(x).byte_size()));
        }
    }
    Ok(())
}

/// The pointer arguments a split step stores for its task function (0 for other steps).
fn split_arguments(graph: &Graph, step: &Step) -> usize {
    match step {
        Step::Call { node, tasks: Some(_), scratch, .. } => {
            let nd = graph.node(*node);
            nd.inputs.len() + nd.outputs.len() + usize::from(scratch.is_some())
        }
        _ => 0,
    }
}

/// A split kernel's parts on `args`: through the descriptor's `run` when the caller gave one
/// with more than one thread, else one part after the other (see the module docs). Values
/// computed before the branch dominate the join, so the pointer cache stays valid.
#[allow(clippy::too_many_arguments)]
fn emit_split_call<M: Module>(
    module: &mut M,
    b: &mut FunctionBuilder,
    cx: &mut EntryCx,
    args: &[Value],
    parts: &[FuncId],
    tasks: FuncId,
    offsets: &[Vec<i64>],
) -> Result<()> {
    let slot = cx.args_slot.ok_or_else(|| BackendError::Module("a split kernel's step has no argument slot".into()))?;
    let ptr = module.target_config().pointer_type();
    let (threaded, check, inline, join) = (b.create_block(), b.create_block(), b.create_block(), b.create_block());
    b.ins().brif(cx.parallel, check, &[], inline, &[]);
    b.switch_to_block(check);
    let threads = load(b, types::I32, cx.parallel, 0);
    let many = b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, threads, 1);
    b.ins().brif(many, threaded, &[], inline, &[]);
    b.switch_to_block(threaded);
    for (i, &a) in args.iter().enumerate() {
        b.ins().stack_store(ptr, a, slot, (i as u32 * ptr.bytes()) as i32);
    }
    let ctx = b.ins().stack_addr(ptr, slot, 0);
    let (pool_at, run_at) = descriptor_offsets(ptr.bytes() as i64);
    let pool = load(b, ptr, cx.parallel, pool_at);
    let run = load(b, ptr, cx.parallel, run_at);
    let task_ref = module.declare_func_in_func(tasks, b.func);
    let task = b.ins().func_addr(ptr, task_ref);
    let n = b.ins().iconst(types::I32, parts.len() as i64);
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I32), AbiParam::new(ptr), AbiParam::new(ptr)]);
    let sig = b.import_signature(sig);
    b.ins().call_indirect(sig, run, &[pool, n, task, ctx]);
    b.ins().jump(join, &[]);
    b.switch_to_block(inline);
    for (j, &part) in parts.iter().enumerate() {
        let part_args = moved_arguments(b, args, offsets.get(j));
        let callee = module.declare_func_in_func(part, b.func);
        b.ins().call(callee, &part_args);
    }
    b.ins().jump(join, &[]);
    b.switch_to_block(join);
    Ok(())
}

/// `args` each moved by its byte offset in `offsets` (none: as they are).
fn moved_arguments(b: &mut FunctionBuilder, args: &[Value], offsets: Option<&Vec<i64>>) -> Vec<Value> {
    let moved = args.iter().enumerate().map(|(i, &a)| (a, offsets.and_then(|o| o.get(i)).copied().unwrap_or(0)));
    moved.collect::<Vec<_>>().into_iter().map(|(a, off)| offset(b, a, off)).collect()
}

/// Defines `name(ctx, index)`: part `index` of `parts` on the `params` pointers stored at `ctx`,
/// moved by `offsets[index]`; an index past the parts does nothing. Returns its id and size.
pub fn emit_task_function<M: Module>(
    module: &mut M,
    name: &str,
    parts: &[FuncId],
    params: usize,
    offsets: &[Vec<i64>],
) -> Result<(FuncId, usize)> {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(ptr), AbiParam::new(types::I32)]);
    let id = module
        .declare_function(name, Linkage::Local, &sig)
        .map_err(|e| BackendError::Module(format!("declaring `{name}`: {e}")))?;
    let mut func = Function::with_name_signature(UserFuncName::user(0, id.as_u32()), sig);
    let mut fctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let (ctx, index) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let args: Vec<Value> = (0..params).map(|i| load(&mut b, ptr, ctx, (i as u32 * ptr.bytes()) as i64)).collect();
    let done = b.create_block();
    let cases: Vec<Block> = parts.iter().map(|_| b.create_block()).collect();
    let pool = &mut b.func.dfg.value_lists;
    let table: Vec<BlockCall> = cases.iter().map(|&c| BlockCall::new(c, [], pool)).collect();
    let default = BlockCall::new(done, [], pool);
    let jt = b.create_jump_table(JumpTableData::new(default, &table));
    b.ins().br_table(index, jt);
    for (j, (&case, &part)) in cases.iter().zip(parts).enumerate() {
        b.switch_to_block(case);
        let part_args = moved_arguments(&mut b, &args, offsets.get(j));
        let callee = module.declare_func_in_func(part, b.func);
        b.ins().call(callee, &part_args);
        b.ins().return_(&[]);
    }
    b.switch_to_block(done);
    b.ins().return_(&[]);
    b.seal_all_blocks();
    b.finalize(module.target_config());
    let size = define_checked(module, id, func, |msg| BackendError::Codegen { kernel: name.to_string(), msg })?;
    Ok((id, size))
}

/// The buffer of `v` (see the module docs), computed once and cached.
fn pointer_of<M: Module>(module: &mut M, b: &mut FunctionBuilder, cx: &mut EntryCx, v: ValueId) -> Result<Value> {
    if let Some(&ptr) = cx.cache.get(&v) {
        return Ok(ptr);
    }
    let (graph, plan) = (cx.graph, cx.plan);
    let ptr_ty = module.target_config().pointer_type();
    let slot = ptr_ty.bytes() as i64;
    let ptr = match graph.value(v).def {
        ValueDef::Input(i) => load(b, ptr_ty, cx.inputs, i as i64 * slot),
        ValueDef::Const(_) => {
            let data = cx.weights.data_of(module, graph, v, cx.prefix)?.ok_or_else(|| {
                BackendError::Module(format!("constant value `{}` has no tensor in the store", graph.value(v).name))
            })?;
            let gv = weight_address(module, data, b.func);
            b.ins().symbol_value(ptr_ty, gv)
        }
        ValueDef::Node { .. } => match graph.outputs.iter().position(|&o| o == v) {
            Some(j) => load(b, ptr_ty, cx.outputs, j as i64 * slot),
            None => {
                let off = plan.offsets.get(v.index()).copied().flatten().ok_or_else(|| {
                    BackendError::Module(format!(
                        "value `{}` has no workspace offset in the memory plan",
                        graph.value(v).name
                    ))
                })?;
                offset(b, cx.workspace, off as i64)
            }
        },
    };
    cx.cache.insert(v, ptr);
    Ok(ptr)
}

/// The address of constant `v` packed as `packing` (a data object of its own, defined once per
/// constant and packing).
fn packed_pointer<M: Module>(
    module: &mut M,
    b: &mut FunctionBuilder,
    cx: &mut EntryCx,
    v: ValueId,
    packing: &PackedB,
) -> Result<Value> {
    let data = cx.weights.packed_data_of(module, cx.graph, v, packing, cx.prefix)?;
    let gv = weight_address(module, data, b.func);
    Ok(b.ins().symbol_value(module.target_config().pointer_type(), gv))
}

/// Copies every graph output that was not produced in place: outputs that are graph inputs or
/// constants, and the second and later occurrences of a value listed twice.
fn copy_outputs_into_place<M: Module>(module: &mut M, b: &mut FunctionBuilder, cx: &mut EntryCx) -> Result<()> {
    let graph = cx.graph;
    let ptr_ty = module.target_config().pointer_type();
    for (j, &v) in graph.outputs.iter().enumerate() {
        let produced_here = matches!(graph.value(v).def, ValueDef::Node { .. })
            && graph.outputs.iter().position(|&o| o == v) == Some(j);
        if produced_here {
            continue;
        }
        let src = pointer_of(module, b, cx, v)?;
        let dst = load(b, ptr_ty, cx.outputs, j as i64 * ptr_ty.bytes() as i64);
        copy_bytes(b, dst, src, graph.ty(v).byte_size());
    }
    Ok(())
}

/// The address of weight object `data` as a global value.
///
/// In PIC code (native objects) the weights sit in the same object as the code, so a colocated
/// PC-relative reference is right and cheapest. Non-PIC code is the JIT, which maps code and data
/// separately: large weights (vgg19's 548 MB) land more than 2 GB from the code, where a 32-bit
/// PC-relative relocation cannot reach (cranelift-jit then panics). There the address is a 64-bit
/// absolute (`movabs` on x86-64), at one instruction per weight pointer in the entry function.
fn weight_address<M: Module>(
    module: &M,
    data: cranelift_module::DataId,
    func: &mut cranelift_codegen::ir::Function,
) -> cranelift_codegen::ir::GlobalValue {
    let gv = module.declare_data_in_func(data, func);
    if let cranelift_codegen::ir::GlobalValueData::Symbol { colocated, .. } = &mut func.global_values[gv] {
        *colocated = module.isa().flags().is_pic();
    }
    gv
}

/// Declares the exported function `name` with `sig` and returns its id and an empty body.
pub(crate) fn exported_function<M: Module>(module: &mut M, name: &str, sig: Signature) -> Result<(FuncId, Function)> {
    let id = module
        .declare_function(name, Linkage::Export, &sig)
        .map_err(|e| BackendError::Module(format!("declaring `{name}`: {e}")))?;
    Ok((id, Function::with_name_signature(UserFuncName::user(0, id.as_u32()), sig)))
}
