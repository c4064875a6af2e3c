//! Target ISAs: the host (for the JIT) and named cross targets (for native objects).
//!
//! Cranelift presets do not set `has_avx`, and without it a vector `fma` becomes four `fmaf`
//! libcalls (which neither the JIT nor a libc-free object can resolve). So the host ISA enables
//! every vector feature the CPU reports explicitly, and cross targets take an explicit feature
//! list checked against what kiln knows.

use crate::error::{BackendError, Result};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use std::str::FromStr;

/// Triples [`isa_for_triple`] accepts.
pub const SUPPORTED_TRIPLES: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];
/// x86-64 features [`isa_for_triple`] accepts (Cranelift flag names without `has_`).
pub const X86_FEATURES: [&str; 8] = ["sse3", "ssse3", "sse41", "sse42", "popcnt", "avx", "avx2", "fma"];
/// aarch64 features [`isa_for_triple`] accepts.
pub const AARCH64_FEATURES: [&str; 2] = ["lse", "fp16"];

/// Shared flags: speed, PIC (objects may be linked anywhere), verifier off in release.
fn shared_flags(is_pic: bool) -> Result<settings::Flags> {
    let mut b = settings::builder();
    let set = |b: &mut settings::Builder, k: &str, v: &str| {
        b.set(k, v).map_err(|e| BackendError::Target(format!("setting {k}={v}: {e}")))
    };
    set(&mut b, "opt_level", "speed")?;
    set(&mut b, "is_pic", if is_pic { "true" } else { "false" })?;
    set(&mut b, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    Ok(settings::Flags::new(b))
}

/// The ISA of the host CPU with every vector feature it has enabled explicitly.
pub fn host_isa() -> Result<OwnedTargetIsa> {
    let mut builder = cranelift_native::builder().map_err(|e| BackendError::Target(format!("host ISA: {e}")))?;
    enable_host_features(&mut builder);
    // The JIT does not need PIC; objects use `isa_for_triple`.
    builder.finish(shared_flags(false)?).map_err(|e| BackendError::Target(format!("host ISA: {e}")))
}

#[cfg(target_arch = "x86_64")]
fn enable_host_features(builder: &mut cranelift_codegen::isa::Builder) {
    let detected = [
        ("has_sse41", std::is_x86_feature_detected!("sse4.1")),
        ("has_sse42", std::is_x86_feature_detected!("sse4.2")),
        ("has_avx", std::is_x86_feature_detected!("avx")),
        ("has_avx2", std::is_x86_feature_detected!("avx2")),
        ("has_fma", std::is_x86_feature_detected!("fma")),
    ];
    for (flag, present) in detected {
        if present {
            // The flag names are Cranelift's own; enabling cannot fail for them.
            let _ = builder.enable(flag);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn enable_host_features(_builder: &mut cranelift_codegen::isa::Builder) {}

/// The ISA of `triple` with `features` (names as in [`X86_FEATURES`] / [`AARCH64_FEATURES`]),
/// position-independent, for native objects.
pub fn isa_for_triple(triple: &str, features: &[&str]) -> Result<OwnedTargetIsa> {
    let known: &[&str] = match triple {
        "x86_64-unknown-linux-gnu" => &X86_FEATURES,
        "aarch64-unknown-linux-gnu" => &AARCH64_FEATURES,
        _ => {
            return Err(BackendError::Target(format!(
                "unsupported target triple `{triple}`; supported: {}",
                SUPPORTED_TRIPLES.join(", ")
            )))
        }
    };
    let parsed =
        target_lexicon::Triple::from_str(triple).map_err(|e| BackendError::Target(format!("`{triple}`: {e}")))?;
    let mut builder =
        cranelift_codegen::isa::lookup(parsed).map_err(|e| BackendError::Target(format!("`{triple}`: {e}")))?;
    for f in features {
        let f = f.trim_start_matches('+').trim_start_matches("has_");
        if !known.contains(&f) {
            return Err(BackendError::Target(format!(
                "unknown feature `{f}` for `{triple}`; supported: {}",
                known.join(", ")
            )));
        }
        builder
            .enable(&format!("has_{f}"))
            .map_err(|e| BackendError::Target(format!("feature `{f}` for `{triple}`: {e}")))?;
    }
    builder.finish(shared_flags(true)?).map_err(|e| BackendError::Target(format!("`{triple}`: {e}")))
}
