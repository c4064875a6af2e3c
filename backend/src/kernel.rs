//! The kernel interface: how one IR node becomes one Cranelift function.
//!
//! A kernel is a function `fn(in_0: ptr, .., in_n: ptr, out_0: ptr, .., out_m: ptr)` with no
//! result. Every pointer is to a dense row-major buffer of the node's input/output type (weights
//! in read-only data, activations in the arena). The kernel is specialised to exactly these
//! types and the op's attributes; two nodes with equal [`KernelSpec::key`] share one function.
//! Families (one file each under `kernels/`) implement [`emit_kernel`] for their ops.
//! [`define_kernel`] is the one place that builds, compiles (behind `catch_unwind`, since some
//! Cranelift lowerings panic instead of erroring) and defines a kernel in any `Module`. A caught
//! panic, in the emitter or in Cranelift, is [`BackendError::Internal`] (a kiln bug), never the
//! [`BackendError::Codegen`] of a function Cranelift rejected with an error.

use crate::error::{BackendError, Result};
use crate::mk::{x86::Level, MicroIsa};
use cranelift_codegen::ir::{AbiParam, Function, InstBuilder, Signature, Type, UserFuncName, Value};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::{FuncId, Linkage, Module};
use kiln_ir::{Op, TensorType};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a kernel computes: the op and the exact types of its operands.
#[derive(Clone, Debug)]
pub struct KernelSpec {
    /// The ONNX node name, for diagnostics only (not part of the key).
    pub node: String,
    pub op: Op,
    pub inputs: Vec<TensorType>,
    pub outputs: Vec<TensorType>,
}

/// What makes two kernels the same function: op, attributes and operand types (not the node).
pub type KernelKey = (Op, Vec<TensorType>, Vec<TensorType>);

impl KernelSpec {
    /// Identity for deduplication: op, attributes and operand types.
    pub fn key(&self) -> KernelKey {
        (self.op.clone(), self.inputs.clone(), self.outputs.clone())
    }
    /// An `Unsupported` error naming this node and op.
    pub fn unsupported(&self, msg: impl Into<String>) -> BackendError {
        BackendError::Unsupported { node: self.node.clone(), op: self.op.name().to_string(), msg: msg.into() }
    }
    /// A `Codegen` error naming this node and op.
    pub fn codegen_error(&self, msg: impl Into<String>) -> BackendError {
        BackendError::Codegen { kernel: self.kernel_name(), msg: msg.into() }
    }
    /// An `Internal` error (a caught panic) naming this node and op.
    pub fn internal_error(&self, msg: impl Into<String>) -> BackendError {
        BackendError::Internal { kernel: self.kernel_name(), msg: msg.into() }
    }
    fn kernel_name(&self) -> String {
        format!("{} ({})", self.node, self.op.name())
    }
}

/// The state a family's emitter works with: the builder positioned in the kernel's entry block
/// (sealed), the pointer type, the parameter values and what the target can do.
pub struct KernelCtx<'a, 'b> {
    pub b: &'a mut FunctionBuilder<'b>,
    pub ptr: Type,
    pub inputs: Vec<Value>,
    pub outputs: Vec<Value>,
    /// True when a vector `fma` lowers to one instruction (x64 with AVX+FMA, aarch64 always);
    /// otherwise kernels emit `fmul` + `fadd` (an `fma` would become a libcall).
    pub has_fma: bool,
    /// True when vector `floor`/`ceil`/`nearest` lower without libcalls.
    pub has_vector_round: bool,
}

/// Emits the body of the kernel for `spec`. The caller adds the final `return`.
pub fn emit_kernel(cx: &mut KernelCtx, spec: &KernelSpec) -> Result<()> {
    crate::kernels::emit(cx, spec)
}

/// Target capabilities the kernels care about, read from the ISA flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetCaps {
    pub has_fma: bool,
    pub has_vector_round: bool,
    /// The machine-code micro-kernel ISA (`crate::mk`), when the target has one: AVX-512 with
    /// `avx512f`, AVX2 with `avx2` and `fma`, NEON on every AArch64 target, none otherwise.
    pub micro: Option<MicroIsa>,
}

impl TargetCaps {
    /// Reads the capabilities of `isa`.
    pub fn of(isa: &dyn TargetIsa) -> TargetCaps {
        let flag = |name: &str| isa.isa_flags().iter().any(|v| v.name == name && v.as_bool() == Some(true));
        match isa.triple().architecture {
            target_lexicon::Architecture::X86_64 => {
                let micro = if flag("has_avx512f") {
                    Some(MicroIsa::X86(Level::Avx512))
                } else if flag("has_avx2") && flag("has_fma") {
                    Some(MicroIsa::X86(Level::Avx2))
                } else {
                    None
                };
                TargetCaps { has_fma: flag("has_avx") && flag("has_fma"), has_vector_round: flag("has_sse41"), micro }
            }
            // NEON (Advanced SIMD) is baseline on AArch64: every AArch64 target gets its kernels.
            target_lexicon::Architecture::Aarch64(_) => {
                TargetCaps { has_fma: true, has_vector_round: true, micro: Some(MicroIsa::Neon) }
            }
            _ => TargetCaps { has_fma: true, has_vector_round: true, micro: None },
        }
    }
}

/// Builds, compiles and defines the kernel of `spec` in `module` under `name`; returns its id.
/// Errors name the node and op; a panic in the emitter or in Cranelift becomes
/// [`BackendError::Internal`].
pub fn define_kernel<M: Module>(module: &mut M, spec: &KernelSpec, name: &str, linkage: Linkage) -> Result<FuncId> {
    define_kernel_sized(module, spec, name, linkage).map(|(id, _)| id)
}

/// [`define_kernel`], also returning the size of the machine code in bytes.
pub fn define_kernel_sized<M: Module>(
    module: &mut M,
    spec: &KernelSpec,
    name: &str,
    linkage: Linkage,
) -> Result<(FuncId, usize)> {
    let ptr = module.target_config().pointer_type();
    let sig = kernel_signature(module.make_signature(), spec, ptr);
    let id = module
        .declare_function(name, linkage, &sig)
        .map_err(|e| BackendError::Module(format!("declaring kernel `{name}`: {e}")))?;
    let caps = TargetCaps::of(module.isa());
    let func = build_function(spec, id.as_u32(), &module.make_signature(), ptr, caps, module.target_config())?;
    let size = define_checked(module, id, func, |msg| spec.codegen_error(msg))?;
    Ok((id, size))
}

/// The kernel signature: `base` (the module's calling convention) plus one pointer per operand.
pub fn kernel_signature(mut base: Signature, spec: &KernelSpec, ptr: Type) -> Signature {
    for _ in 0..spec.inputs.len() + spec.outputs.len() {
        base.params.push(AbiParam::new(ptr));
    }
    base
}

/// The kernel of `spec` as a Cranelift function named `user(0, index)` (not yet compiled).
pub fn build_function(
    spec: &KernelSpec,
    index: u32,
    base: &Signature,
    ptr: Type,
    caps: TargetCaps,
    config: cranelift_codegen::isa::TargetFrontendConfig,
) -> Result<Function> {
    let sig = kernel_signature(base.clone(), spec, ptr);
    let mut func = Function::with_name_signature(UserFuncName::user(0, index), sig);
    build_body(&mut func, spec, ptr, caps, config, emit_kernel)?;
    Ok(func)
}

/// Compiles and defines `func` as `id` behind `catch_unwind`; returns the code size. Errors go
/// through `error` so they name the kernel or entry being compiled; a panic does too, made
/// [`BackendError::Internal`].
#[allow(clippy::result_large_err)] // cranelift's `ModuleError` is large; this is not a hot path.
pub(crate) fn define_checked<M: Module>(
    module: &mut M,
    id: FuncId,
    func: Function,
    error: impl Fn(String) -> BackendError,
) -> Result<usize> {
    let mut ctx = module.make_context();
    ctx.func = func;
    let defined = catch_unwind(AssertUnwindSafe(|| module.define_function(id, &mut ctx)));
    match defined {
        Ok(Ok(())) => Ok(ctx.compiled_code().map(|c| c.code_info().total_size as usize).unwrap_or(0)),
        Ok(Err(e)) => Err(error(format!("{e:?}"))),
        Err(panic) => Err(error(panic_message("cranelift", &panic)).into_internal()),
    }
}

/// Fills `func` with the kernel body `emit` writes (behind `catch_unwind` too: an emitter bug or
/// builder misuse panics, and becomes [`BackendError::Internal`]).
fn build_body(
    func: &mut Function,
    spec: &KernelSpec,
    ptr: Type,
    caps: TargetCaps,
    config: cranelift_codegen::isa::TargetFrontendConfig,
    emit: fn(&mut KernelCtx, &KernelSpec) -> Result<()>,
) -> Result<()> {
    let built = catch_unwind(AssertUnwindSafe(|| -> Result<()> {
        let mut fctx = FunctionBuilderContext::new();
        let mut b = FunctionBuilder::new(func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let (inputs, outputs) = params.split_at(spec.inputs.len());
        let mut cx = KernelCtx {
            b: &mut b,
            ptr,
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            has_fma: caps.has_fma,
            has_vector_round: caps.has_vector_round,
        };
        emit(&mut cx, spec)?;
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(config);
        Ok(())
    }));
    match built {
        Ok(r) => r,
        Err(panic) => Err(spec.internal_error(panic_message("the kernel emitter", &panic))),
    }
}

/// The text of a panic caught in `who` (`cranelift`, `the kernel emitter`, ...).
pub(crate) fn panic_message(who: &str, panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        format!("{who} panicked: {s}")
    } else if let Some(s) = panic.downcast_ref::<String>() {
        format!("{who} panicked: {s}")
    } else {
        format!("{who} panicked")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_ir::{DType, UnaryOp};

    fn abs_spec() -> KernelSpec {
        let ty = TensorType::new(DType::F32, vec![3]);
        KernelSpec { node: "n1".into(), op: Op::Unary(UnaryOp::Abs), inputs: vec![ty.clone()], outputs: vec![ty] }
    }

    fn build_with(emit: fn(&mut KernelCtx, &KernelSpec) -> Result<()>) -> Result<()> {
        let isa = crate::isa::host_isa().expect("host ISA");
        let spec = abs_spec();
        let ptr = isa.pointer_type();
        let sig = kernel_signature(Signature::new(isa.default_call_conv()), &spec, ptr);
        let mut func = Function::with_name_signature(UserFuncName::user(0, 0), sig);
        build_body(&mut func, &spec, ptr, TargetCaps::of(&*isa), isa.frontend_config(), emit)
    }

    #[test]
    fn a_panicking_emitter_is_an_internal_error_naming_the_kernel() {
        let err = build_with(|_, _| panic!("deliberate emitter bug")).unwrap_err();
        assert!(err.is_internal(), "{err:?}");
        assert_eq!(err.to_string(), "kernel n1 (abs): the kernel emitter panicked: deliberate emitter bug");
    }

    #[test]
    fn an_emitter_error_stays_what_it_was() {
        let err = build_with(|_, spec| Err(spec.unsupported("no lowering"))).unwrap_err();
        assert!(matches!(err, BackendError::Unsupported { .. }) && !err.is_internal(), "{err:?}");
        assert!(build_with(emit_kernel).is_ok());
    }

    #[test]
    fn a_codegen_error_becomes_internal_only_when_made_so() {
        let codegen = abs_spec().codegen_error("verifier says no");
        assert!(!codegen.is_internal());
        let internal = codegen.into_internal();
        assert!(internal.is_internal());
        assert_eq!(internal.to_string(), "kernel n1 (abs): verifier says no");
    }
}
