//! The FMA peak probe `kiln calibrate` times: `fn(iterations: u64)` running 14 independent
//! `vfmadd231ps` chains, twice per iteration, at one vector width (512, 256 or 128 bits).
//!
//! Fourteen chains cover the FMA latency (4 cycles) times two FMA ports of current x86-64
//! cores with room to spare, so the loop is throughput-bound: its rate is the width's peak on
//! this machine, the figure kernel efficiencies are quoted against. Each chain computes
//! `acc += 0 * 0` on zeroed registers, exactly as fast as any other FMA, with no denormals or
//! infinities. Registers 0-15 only (the 256/128-bit probes must run on AVX2-only CPUs); the
//! Windows callee-saved xmm6-15 are saved on the stack.

use iced_x86::code_asm::*;

/// FMAs per iteration of the probe.
pub const FMAS_PER_ITERATION: usize = 28;

/// The probe at `bits` (512, 256 or 128) for the System V or Windows convention (the iteration
/// count arrives in rdi or rcx); `None` for another width.
pub fn peak_kernel(bits: u32, windows: bool) -> Option<Vec<u8>> {
    if !matches!(bits, 128 | 256 | 512) {
        return None;
    }
    let mut a = CodeAssembler::new(64).ok()?;
    let count = if windows { rcx } else { rdi };
    emit(&mut a, bits, count).ok()?;
    a.assemble(0).ok()
}

fn emit(a: &mut CodeAssembler, bits: u32, count: AsmRegister64) -> Result<(), IcedError> {
    let zmms = [zmm0, zmm1, zmm2, zmm3, zmm4, zmm5, zmm6, zmm7, zmm8, zmm9, zmm10, zmm11, zmm12, zmm13, zmm14, zmm15];
    let ymms = [ymm0, ymm1, ymm2, ymm3, ymm4, ymm5, ymm6, ymm7, ymm8, ymm9, ymm10, ymm11, ymm12, ymm13, ymm14, ymm15];
    let xmms = [xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15];
    a.sub(rsp, 160)?;
    for (k, &x) in xmms[6..].iter().enumerate() {
        a.vmovups(xmmword_ptr(rsp + 16 * k as i32), x)?;
    }
    for &x in &xmms {
        a.vxorps(x, x, x)?;
    }
    let mut top = a.create_label();
    a.set_label(&mut top)?;
    for i in 0..FMAS_PER_ITERATION {
        let acc = i % 14;
        match bits {
            512 => a.vfmadd231ps(zmms[acc], zmms[14], zmms[15])?,
            256 => a.vfmadd231ps(ymms[acc], ymms[14], ymms[15])?,
            _ => a.vfmadd231ps(xmms[acc], xmms[14], xmms[15])?,
        }
    }
    a.dec(count)?;
    a.jnz(top)?;
    for (k, &x) in xmms[6..].iter().enumerate() {
        a.vmovups(x, xmmword_ptr(rsp + 16 * k as i32))?;
    }
    a.add(rsp, 160)?;
    a.vzeroupper()?;
    a.ret()
}
