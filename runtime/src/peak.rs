//! The machine's FMA peak at each vector width, measured (never assumed): the reference
//! `kiln calibrate` quotes every kernel's throughput against.
//!
//! The probe is machine code from `kiln_backend::mk::x86::peak` (independent FMA chains),
//! defined in a JIT module like any kernel and timed over enough iterations to run ~50 ms; the
//! best of a few repetitions is kept, since interference on a shared machine only ever slows a
//! run down.

use cranelift_codegen::ir::{types, AbiParam};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module};
use std::time::Instant;

/// The widths (bits) this CPU can run the probe at, widest first.
pub fn probe_widths() -> Vec<u32> {
    let features = kiln_backend::isa::host_features();
    let mut widths = Vec::new();
    if features.contains(&"avx512f") {
        widths.push(512);
    }
    if features.contains(&"avx2") && features.contains(&"fma") {
        widths.push(256);
    }
    if features.contains(&"fma") {
        widths.push(128);
    }
    widths
}

/// A compiled FMA peak probe at one width, kept so it can be re-measured between other
/// measurements (on a shared machine the peak moves with the clock; a kernel's fraction of the
/// peak measured right next to it is the honest figure).
pub struct FmaProbe {
    module: Option<JITModule>,
    probe: extern "C" fn(u64),
    flops_per_iter: f64,
}

impl FmaProbe {
    /// The probe at `bits`, or `None` when this CPU or architecture has none.
    pub fn new(bits: u32) -> Option<FmaProbe> {
        if !probe_widths().contains(&bits) {
            return None;
        }
        let code = kiln_backend::mk::x86::peak::peak_kernel(bits, cfg!(windows))?;
        let isa = kiln_backend::host_isa().ok()?;
        let mut module = JITModule::new(JITBuilder::with_isa(isa, cranelift_module::default_libcall_names()));
        let mut sig = module.make_signature();
        sig.params.push(AbiParam::new(types::I64));
        let id = module.declare_function("kiln_fma_peak", Linkage::Local, &sig).ok()?;
        module.define_function_bytes(id, 64, &code, &[]).ok()?;
        module.finalize_definitions().ok()?;
        // SAFETY: the bytes are the probe, a leaf function taking one u64 in the platform's first
        // argument register; the module (kept in the struct) owns the code.
        let probe: extern "C" fn(u64) = unsafe { std::mem::transmute(module.get_finalized_function(id)) };
        let flops_per_iter = (kiln_backend::mk::x86::peak::FMAS_PER_ITERATION * 2 * (bits as usize / 32)) as f64;
        probe(1000);
        Some(FmaProbe { module: Some(module), probe, flops_per_iter })
    }

    /// GFLOP/s, best of `reps` runs of about 10 ms each.
    pub fn measure(&self, reps: usize) -> f64 {
        let iters = 1_000_000u64;
        let best = (0..reps.max(1))
            .map(|_| {
                let t = Instant::now();
                (self.probe)(iters);
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        iters as f64 * self.flops_per_iter / best / 1e9
    }
}

impl Drop for FmaProbe {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the probe's code is not called after this point.
            unsafe { module.free_memory() };
        }
    }
}

/// GFLOP/s of independent f32 FMAs at `bits` on one core (best of 5), or `None` when this CPU
/// or architecture has no probe for it.
pub fn measure_fma_peak(bits: u32) -> Option<f64> {
    FmaProbe::new(bits).map(|p| p.measure(5))
}
