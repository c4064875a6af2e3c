//! The entry function of a compiled graph:
//! `extern "C" fn(inputs: *const *const u8, outputs: *const *mut u8, workspace: *mut u8) -> i32`.
//!
//! It calls the kernels in node order on buffer pointers: graph inputs from `inputs[i]`, graph
//! outputs straight into `outputs[j]` (their producer writes there, later readers read there),
//! intermediates at `workspace + offset`, constants through their data symbols. An output listed
//! twice, or one that is a graph input or a constant, is copied into place at the end. It
//! returns 0.

use crate::emit::{copy_bytes, load, offset};
use crate::error::{BackendError, Result};
use crate::kernel::define_checked;
use crate::mk::pack::PackedB;
use crate::weights::Weights;
use cranelift_codegen::ir::{types, AbiParam, Function, InstBuilder, Signature, UserFuncName, Value};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{FuncId, Linkage, Module};
use kiln_ir::{Graph, NodeId, ValueDef, ValueId};
use kiln_passes::MemoryPlan;
use std::collections::HashMap;

/// One step of the entry function.
#[derive(Clone, Debug)]
pub enum Step {
    /// Call `func` with the node's input then output pointers. Inputs listed in `packed` are
    /// constants passed in a micro-kernel's packed layout instead (`crate::mk::pack`); with
    /// `scratch`, a pointer to the workspace at that byte offset follows as the last argument.
    Call { node: NodeId, func: FuncId, packed: Vec<(usize, PackedB)>, scratch: Option<usize> },
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
    cache: HashMap<ValueId, Value>,
}

/// Declares and defines the entry function; returns its id and code size. With `probe` (an
/// imported `extern "C" fn(u32)`, the JIT's profiler), the entry calls `probe(i)` before step
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
) -> Result<(FuncId, usize)> {
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
    let params = b.block_params(block).to_vec();
    let mut cx = EntryCx {
        graph,
        plan,
        weights,
        prefix,
        inputs: params[0],
        outputs: params[1],
        workspace: params[2],
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
        Step::Call { node, func, packed, scratch } => {
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
            let callee = module.declare_func_in_func(*func, b.func);
            b.ins().call(callee, &args);
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
