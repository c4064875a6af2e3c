//! Compiling many kernels at once on all cores.
//!
//! Kernel compilation dominates kiln's compile time (about 10 ms per conv kernel at
//! `opt_level=speed`), and kernels are independent: each is a leaf function with no calls and no
//! data references. So [`compile_kernels`] builds and compiles every kernel on worker threads
//! (`Context::compile` needs only the `Sync` ISA) and the caller then defines the finished bytes
//! serially with `Module::define_function_bytes`, which is part of the `Module` trait and so works
//! for the JIT and for objects alike. A kernel whose code does carry relocations (none today) is
//! reported as such and defined through the ordinary `define_function` path instead. Leaf
//! kernels need no unwind information, which the bytes path does not emit. The machine-code
//! micro-kernels are assembled on the same workers ([`parallel_map`]).

use crate::error::Result;
use crate::kernel::{build_function, panic_message, KernelSpec, TargetCaps};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{Function, Signature, Type};
use cranelift_codegen::isa::{TargetFrontendConfig, TargetIsa};
use cranelift_codegen::Context;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One compiled kernel.
pub enum CompiledKernel {
    /// Position-independent machine code with no relocations.
    Bytes { code: Vec<u8>, alignment: u64 },
    /// Code that needs relocations: define this function through `Module::define_function`.
    NeedsModule(Box<Function>),
}

/// What every kernel compilation shares.
pub struct KernelTarget<'a> {
    pub isa: &'a dyn TargetIsa,
    pub config: TargetFrontendConfig,
    pub ptr: Type,
    pub caps: TargetCaps,
    /// The module's default signature (calling convention), without parameters.
    pub base_signature: Signature,
}

/// Compiles `kernels` (spec and function name index) on up to `threads` threads; results in
/// the order of `kernels`. Errors name the kernel's node and op.
pub fn compile_kernels(
    target: &KernelTarget,
    kernels: &[(KernelSpec, u32)],
    threads: usize,
) -> Vec<Result<CompiledKernel>> {
    parallel_map(kernels, threads, |(spec, index)| compile_one(target, spec, *index))
        .into_iter()
        .zip(kernels)
        .map(|(r, (spec, _))| {
            r.unwrap_or_else(|| Err(spec.codegen_error("kernel was not compiled (worker thread failed)")))
        })
        .collect()
}

/// `f` of every item on up to `threads` threads (a shared queue: items differ in cost), in the
/// order of `items`; `None` where a worker thread died before finishing its item. Also what
/// the machine-code micro-kernels are assembled with (`compile::define_kernels`).
pub fn parallel_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let worker = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(item) = items.get(i) else { break };
        let result = f(item);
        *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
    };
    let threads = threads.clamp(1, items.len().max(1));
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(worker);
        }
        worker();
    });
    results.into_iter().map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner())).collect()
}

/// Builds and compiles one kernel behind `catch_unwind`.
fn compile_one(target: &KernelTarget, spec: &KernelSpec, index: u32) -> Result<CompiledKernel> {
    let func = build_function(spec, index, &target.base_signature, target.ptr, target.caps, target.config)?;
    let mut ctx = Context::for_function(func);
    let compiled = catch_unwind(AssertUnwindSafe(|| match ctx.compile(target.isa, &mut ControlPlane::default()) {
        Ok(code) => Ok((code.buffer.relocs().is_empty(), code.buffer.data().to_vec(), code.buffer.alignment as u64)),
        Err(e) => Err(format!("{:?}", e.inner)),
    }));
    match compiled {
        Ok(Ok((true, code, alignment))) => Ok(CompiledKernel::Bytes { code, alignment }),
        // `ctx.func` has been optimised and legalised by the compile: hand over a fresh build.
        Ok(Ok((false, _, _))) => Ok(CompiledKernel::NeedsModule(Box::new(build_function(
            spec,
            index,
            &target.base_signature,
            target.ptr,
            target.caps,
            target.config,
        )?))),
        Ok(Err(msg)) => Err(spec.codegen_error(msg)),
        Err(panic) => Err(spec.internal_error(panic_message("cranelift", &panic))),
    }
}
