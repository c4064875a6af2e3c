//! Shared harness of the backend kernel tests: JIT-compile one kernel, run it on tensors, and
//! compare it with the reference evaluator (`kiln_ir::eval_op`).
//!
//! Why a harness: every kernel family is checked the same way (odd sizes, every dtype), so the
//! plumbing (signature, ISA flags, catch_unwind, buffers with guard bytes) lives here once.
//! The kernel is called through a small Cranelift trampoline `fn(args: *const *mut u8)` so any
//! number of inputs/outputs works without hand-written `extern "C"` signatures.
#![allow(dead_code)]

pub mod graph;
pub mod qemu;

use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Signature, Value};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};
use kiln_backend::kernel::{build_function, define_kernel, KernelSpec, TargetCaps};
use kiln_ir::{DType, Op, Tensor, TensorData, TensorType};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Bytes appended after every buffer and checked after the run (catches out-of-bounds writes).
pub const GUARD: usize = 64;
pub const GUARD_BYTE: u8 = 0xCD;
/// Initial content of output buffers, so unwritten elements show up as mismatches.
pub const POISON_BYTE: u8 = 0xA5;

/// Which ISA flags the JIT uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsaFlavor {
    /// The host CPU with has_avx/avx2/fma/sse41/sse42 enabled when the CPU has them.
    Host,
    /// Baseline x86-64 (SSE2 only, no SSE4.1): exercises the libcall-free fallbacks.
    /// On a non-x86 host this is the same as `Host`.
    Baseline,
}

/// The host ISA as the runtime would configure it, `opt_level=speed`.
pub fn host_isa(flavor: IsaFlavor) -> Result<OwnedTargetIsa, String> {
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(|e| e.to_string())?;
    flags.set("is_pic", "false").map_err(|e| e.to_string())?;
    let isa_builder = match flavor {
        IsaFlavor::Baseline if cfg!(target_arch = "x86_64") => {
            cranelift_codegen::isa::lookup(target_lexicon::Triple::host()).map_err(|e| e.to_string())?
        }
        _ => host_builder()?,
    };
    isa_builder.finish(settings::Flags::new(flags)).map_err(|e| e.to_string())
}

fn host_builder() -> Result<cranelift_codegen::isa::Builder, String> {
    #[allow(unused_mut)]
    let mut b = cranelift_native::builder()?;
    #[cfg(target_arch = "x86_64")]
    {
        let detected = [
            ("has_avx", std::is_x86_feature_detected!("avx")),
            ("has_avx2", std::is_x86_feature_detected!("avx2")),
            ("has_fma", std::is_x86_feature_detected!("fma")),
            ("has_sse41", std::is_x86_feature_detected!("sse4.1")),
            ("has_sse42", std::is_x86_feature_detected!("sse4.2")),
        ];
        for (flag, present) in detected {
            if present {
                b.enable(flag).map_err(|e| format!("{flag}: {e}"))?;
            }
        }
    }
    Ok(b)
}

/// The `KernelSpec` of `op` on `inputs`, output types from `kiln_ir::infer_types`.
pub fn spec_for(op: &Op, inputs: &[TensorType]) -> Result<KernelSpec, String> {
    let refs: Vec<&TensorType> = inputs.iter().collect();
    let outputs = kiln_ir::infer_types(op, &refs).map_err(|e| format!("infer_types: {e}"))?;
    Ok(KernelSpec { node: format!("test_{}", op.name()), op: op.clone(), inputs: inputs.to_vec(), outputs })
}

/// Defines `fn tramp(args: *const *mut u8)` that loads `n` pointers and calls `kernel`.
fn define_trampoline(module: &mut JITModule, kernel: FuncId, n: usize) -> Result<FuncId, String> {
    define_ptr_function(module, "tramp", 1, |b, module, params| {
        let ptr = module.target_config().pointer_type();
        let bytes = ptr.bytes() as i32;
        let vals: Vec<_> =
            (0..n).map(|i| b.ins().load(ptr, MemFlagsData::trusted(), params[0], i as i32 * bytes)).collect();
        let callee = module.declare_func_in_func(kernel, b.func);
        b.ins().call(callee, &vals);
    })
}

/// Declares and defines the local function `name(p_0: ptr, .., p_{n-1}: ptr)` with no result in
/// `module`; `body` emits its single-entry body from the parameters (the return is added here).
pub fn define_ptr_function(
    module: &mut JITModule,
    name: &str,
    n: usize,
    body: impl FnOnce(&mut FunctionBuilder, &mut JITModule, &[Value]),
) -> Result<FuncId, String> {
    let ptr = module.target_config().pointer_type();
    let mut sig = module.make_signature();
    sig.params.extend((0..n).map(|_| AbiParam::new(ptr)));
    let id = module.declare_function(name, Linkage::Local, &sig).map_err(|e| e.to_string())?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        body(&mut b, module, &params);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(module.target_config());
    }
    module.define_function(id, &mut ctx).map_err(|e| format!("{name}: {e:?}"))?;
    Ok(id)
}

/// A buffer of `len` bytes plus guard bytes, 16-byte aligned.
struct Buffer {
    words: Vec<u128>,
    len: usize,
}

impl Buffer {
    fn new(bytes: &[u8], fill: u8, len: usize) -> Buffer {
        let words = vec![0u128; (len + GUARD).div_ceil(16)];
        let mut buf = Buffer { words, len };
        let raw = buf.bytes_mut();
        raw.fill(fill);
        raw[..bytes.len()].copy_from_slice(bytes);
        raw[len..len + GUARD].fill(GUARD_BYTE);
        buf
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        let n = self.words.len() * 16;
        // SAFETY: u128 storage viewed as bytes, same length in bytes.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, n) }
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: as above, shared.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.words.len() * 16) }
    }
    fn guard_intact(&self) -> bool {
        self.bytes()[self.len..self.len + GUARD].iter().all(|&b| b == GUARD_BYTE)
    }
}

/// JIT-compiles the kernel of `op` for `inputs` and runs it (host ISA, all detected features).
pub fn run_kernel(op: &Op, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    run_kernel_on(IsaFlavor::Host, op, inputs)
}

/// As [`run_kernel`], on the chosen ISA flavour.
pub fn run_kernel_on(flavor: IsaFlavor, op: &Op, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    let types: Vec<TensorType> = inputs.iter().map(|t| t.ty()).collect();
    let spec = spec_for(op, &types)?;
    let isa = host_isa(flavor)?;
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let n = spec.inputs.len() + spec.outputs.len();
    let kernel = define_kernel(&mut module, &spec, "kernel", Linkage::Local).map_err(|e| e.to_string())?;
    let tramp = define_trampoline(&mut module, kernel, n)?;
    module.finalize_definitions().map_err(|e| e.to_string())?;
    let code = module.get_finalized_function(tramp);
    let result = execute(code, inputs, &spec.outputs);
    // SAFETY: the code is no longer used after this point.
    unsafe { module.free_memory() };
    result
}

fn execute(code: *const u8, inputs: &[Tensor], outputs: &[TensorType]) -> Result<Vec<Tensor>, String> {
    let mut in_bufs: Vec<Buffer> =
        inputs.iter().map(|t| Buffer::new(&t.to_le_bytes(), 0, t.ty().byte_size())).collect();
    let mut out_bufs: Vec<Buffer> = outputs.iter().map(|t| Buffer::new(&[], POISON_BYTE, t.byte_size())).collect();
    let mut args: Vec<*mut u8> = in_bufs.iter_mut().map(|b| b.words.as_mut_ptr() as *mut u8).collect();
    args.extend(out_bufs.iter_mut().map(|b| b.words.as_mut_ptr() as *mut u8));
    // SAFETY: `code` is the trampoline with signature fn(*const *mut u8); every buffer has the
    // size the kernel was specialised for.
    unsafe {
        let f: extern "C" fn(*const *mut u8) = std::mem::transmute(code);
        f(args.as_ptr());
    }
    if let Some(i) = in_bufs.iter().position(|b| !b.guard_intact()) {
        return Err(format!("kernel wrote past input buffer {i}"));
    }
    let mut result = Vec::new();
    for (i, (buf, ty)) in out_bufs.iter().zip(outputs).enumerate() {
        if !buf.guard_intact() {
            return Err(format!("kernel wrote past the end of output {i}"));
        }
        let t = Tensor::from_le_bytes(ty.dtype, ty.shape.clone(), &buf.bytes()[..buf.len])
            .ok_or_else(|| format!("output {i}: bad size"))?;
        result.push(t);
    }
    Ok(result)
}

/// Asserts that the kernel of `op` agrees with `kiln_ir::eval_op` on `inputs` (host ISA).
pub fn check_against_reference(op: &Op, inputs: &[Tensor], rtol: f64, atol: f64) {
    check_against_reference_on(IsaFlavor::Host, op, inputs, rtol, atol)
}

/// As [`check_against_reference`], on the chosen ISA flavour.
pub fn check_against_reference_on(flavor: IsaFlavor, op: &Op, inputs: &[Tensor], rtol: f64, atol: f64) {
    let shapes: Vec<String> = inputs.iter().map(|t| t.ty().to_string()).collect();
    let what = format!("{op:?} on {}", shapes.join(", "));
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let expected = kiln_ir::eval_op(op, &refs).unwrap_or_else(|e| panic!("{what}: reference failed: {e}"));
    let actual = run_kernel_on(flavor, op, inputs).unwrap_or_else(|e| panic!("{what}: kernel failed: {e}"));
    assert_eq!(expected.len(), actual.len(), "{what}: output count");
    for (k, (e, a)) in expected.iter().zip(&actual).enumerate() {
        assert_eq!(e.ty(), a.ty(), "{what}: output {k} type");
        if let Some(msg) = first_mismatch(e, a, rtol, atol) {
            panic!("{what}: output {k}: {msg}\n expected {e:?}\n actual   {a:?}");
        }
    }
}

/// The first index where `a` differs from `e` beyond `atol + rtol*|e|`; NaN matches NaN only.
/// Integers and bools compare exactly (through i64/u64 so 64-bit values are not rounded).
pub fn first_mismatch(e: &Tensor, a: &Tensor, rtol: f64, atol: f64) -> Option<String> {
    let exact = !e.dtype().is_float();
    for i in 0..e.numel() {
        let ok = if exact {
            exact_eq(e.data(), a.data(), i)
        } else {
            close(e.data().get_f64(i), a.data().get_f64(i), rtol, atol)
        };
        if !ok {
            let (ev, av) = (e.data().get_f64(i), a.data().get_f64(i));
            return Some(format!("first mismatch at flat index {i} (of {}): expected {ev}, got {av}", e.numel()));
        }
    }
    None
}

fn exact_eq(e: &TensorData, a: &TensorData, i: usize) -> bool {
    match (e, a) {
        (TensorData::U64(x), TensorData::U64(y)) => x[i] == y[i],
        _ => e.get_i64(i) == a.get_i64(i),
    }
}

/// `|a - e| <= atol + rtol*|e|`, with NaN == NaN and equal infinities.
pub fn close(e: f64, a: f64, rtol: f64, atol: f64) -> bool {
    if e.is_nan() || a.is_nan() {
        return e.is_nan() && a.is_nan();
    }
    if e.is_infinite() || a.is_infinite() {
        return e == a;
    }
    (a - e).abs() <= atol + rtol * e.abs()
}

/// A seeded generator, so failures reproduce.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Random tensor of `dtype`: floats uniform in [-4, 4), signed ints over a small symmetric range,
/// unsigned ints in [0, 20), bools fair. Small ranges keep Mul/Pow from overflowing.
pub fn random_tensor(r: &mut StdRng, dtype: DType, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data = match dtype {
        DType::F32 => TensorData::F32((0..n).map(|_| r.gen_range(-4.0f32..4.0)).collect()),
        DType::F64 => TensorData::F64((0..n).map(|_| r.gen_range(-4.0f64..4.0)).collect()),
        DType::I8 => TensorData::I8((0..n).map(|_| r.gen_range(-10i8..10)).collect()),
        DType::U8 => TensorData::U8((0..n).map(|_| r.gen_range(0u8..20)).collect()),
        DType::I16 => TensorData::I16((0..n).map(|_| r.gen_range(-100i16..100)).collect()),
        DType::U16 => TensorData::U16((0..n).map(|_| r.gen_range(0u16..200)).collect()),
        DType::I32 => TensorData::I32((0..n).map(|_| r.gen_range(-1000i32..1000)).collect()),
        DType::U32 => TensorData::U32((0..n).map(|_| r.gen_range(0u32..2000)).collect()),
        DType::I64 => TensorData::I64((0..n).map(|_| r.gen_range(-1000i64..1000)).collect()),
        DType::U64 => TensorData::U64((0..n).map(|_| r.gen_range(0u64..2000)).collect()),
        DType::Bool => TensorData::Bool((0..n).map(|_| r.gen_bool(0.5)).collect()),
        DType::F16 => TensorData::F16((0..n).map(|_| kiln_ir::F16::from_f32(r.gen_range(-4.0f32..4.0))).collect()),
        DType::BF16 => TensorData::BF16((0..n).map(|_| kiln_ir::BF16::from_f32(r.gen_range(-4.0f32..4.0))).collect()),
        // The narrow storage types: values in [-8, 8) converted as Cast does.
        d => TensorData::from_f64_iter(d, (0..n).map(|_| r.gen_range(-8.0f64..8.0))),
    };
    Tensor::new(shape.to_vec(), data).expect("element count matches shape")
}

/// Random f32 tensor uniform in `[lo, hi)`.
pub fn random_f32(r: &mut StdRng, shape: &[usize], lo: f32, hi: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_vec(shape.to_vec(), (0..n).map(|_| r.gen_range(lo..hi)).collect::<Vec<f32>>())
}

/// Random tensor of `dtype` whose values are all non-zero (for divisors).
pub fn random_nonzero(r: &mut StdRng, dtype: DType, shape: &[usize]) -> Tensor {
    let t = random_tensor(r, dtype, shape);
    let v: Vec<f64> = t.to_f64_vec().into_iter().map(|x| if x == 0.0 { 1.0 } else { x }).collect();
    Tensor::from_f64(dtype, shape.to_vec(), &v)
}

/// The odd sizes every kernel is checked at.
pub const SIZES: [usize; 5] = [1, 3, 5, 17, 33];

/// True when the IR accepts `op` on these inputs (`kiln_ir::infer_types`): dtype sweeps use it to
/// skip combinations the frontend can never produce (e.g. PRelu on i8).
pub fn ir_accepts(op: &Op, inputs: &[Tensor]) -> bool {
    let types: Vec<TensorType> = inputs.iter().map(|t| t.ty()).collect();
    let refs: Vec<&TensorType> = types.iter().collect();
    kiln_ir::infer_types(op, &refs).is_ok()
}

/// Checks `op` against the reference when the IR accepts it; returns whether it was checked.
pub fn check_if_accepted(op: &Op, inputs: &[Tensor], rtol: f64, atol: f64) -> bool {
    let ok = ir_accepts(op, inputs);
    if ok {
        check_against_reference(op, inputs, rtol, atol);
    }
    ok
}

/// Compiles the kernel of `op` on inputs of `types` for aarch64 (`Context::compile`, no module)
/// and returns the machine-code size; Cranelift panics become errors.
pub fn compile_for_aarch64(op: &Op, types: &[TensorType]) -> Result<usize, String> {
    let spec = spec_for(op, types)?;
    let mut flags = settings::builder();
    flags.set("opt_level", "speed").map_err(|e| e.to_string())?;
    flags.set("is_pic", "true").map_err(|e| e.to_string())?;
    let triple: target_lexicon::Triple = "aarch64-unknown-linux-gnu".parse().map_err(|e| format!("{e:?}"))?;
    let isa = cranelift_codegen::isa::lookup(triple)
        .map_err(|e| e.to_string())?
        .finish(settings::Flags::new(flags))
        .map_err(|e| e.to_string())?;
    let base = Signature::new(isa.default_call_conv());
    let caps = TargetCaps::of(&*isa);
    let func =
        build_function(&spec, 0, &base, isa.pointer_type(), caps, isa.frontend_config()).map_err(|e| e.to_string())?;
    let mut ctx = cranelift_codegen::Context::for_function(func);
    let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut ctrl = cranelift_codegen::control::ControlPlane::default();
        ctx.compile(&*isa, &mut ctrl).map(|c| c.code_buffer().len()).map_err(|e| format!("{:?}", e.inner))
    }));
    compiled.map_err(|_| format!("{} ({}): cranelift panicked on aarch64", spec.node, spec.op.name()))?
}
