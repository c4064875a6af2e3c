//! Target ISAs: the host (for the JIT) and named targets (for native objects).
//!
//! Cranelift presets do not set `has_avx`, and without it a vector `fma` becomes four `fmaf`
//! libcalls (which neither the JIT nor a libc-free object can resolve). So the host ISA enables
//! every vector feature the CPU reports explicitly, and object targets take an explicit feature
//! list checked against what kiln knows ([`crate::native::target`] chooses that list).
//!
//! Objects are position-independent and probe their stack inline: some kernels keep scratch
//! buffers of up to a few hundred KiB on the stack, which must touch the guard page in order
//! (Windows requires it) and must not call `__probestack`/`__chkstk` (no undefined symbols).

use crate::error::{BackendError, Result};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use std::str::FromStr;

/// Triples [`isa_for_triple`] accepts: the two Linux targets objects are run on in tests, then
/// the Mach-O and COFF targets whose objects are only inspected.
pub const SUPPORTED_TRIPLES: [&str; 4] =
    ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", "aarch64-apple-darwin", "x86_64-pc-windows-msvc"];
/// x86-64 features [`isa_for_triple`] accepts (Cranelift flag names without `has_`).
pub const X86_FEATURES: [&str; 17] = [
    "sse3",
    "ssse3",
    "sse41",
    "sse42",
    "popcnt",
    "cmpxchg16b",
    "avx",
    "avx2",
    "fma",
    "bmi1",
    "bmi2",
    "lzcnt",
    "avx512f",
    "avx512vl",
    "avx512dq",
    "avx512bitalg",
    "avx512vbmi",
];
/// The host features the JIT enables explicitly when present, on top of what
/// `cranelift_native` detects (the node suites run with these). `avx512f` (or `avx2` + `fma`)
/// selects the machine-code micro-kernels (`crate::mk`).
const JIT_FEATURES: [&str; 6] = ["sse41", "sse42", "avx", "avx2", "fma", "avx512f"];
/// aarch64 features [`isa_for_triple`] accepts (NEON is part of the baseline).
pub const AARCH64_FEATURES: [&str; 4] = ["lse", "fp16", "dotprod", "i8mm"];

/// Shared flags: speed, PIC (objects may be linked anywhere), verifier off in release; objects
/// also get inline stack probes (see the module docs).
fn shared_flags(for_object: bool) -> Result<settings::Flags> {
    let mut b = settings::builder();
    let set = |b: &mut settings::Builder, k: &str, v: &str| {
        b.set(k, v).map_err(|e| BackendError::Target(format!("setting {k}={v}: {e}")))
    };
    set(&mut b, "opt_level", "speed")?;
    set(&mut b, "is_pic", if for_object { "true" } else { "false" })?;
    set(&mut b, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    if for_object {
        set(&mut b, "enable_probestack", "true")?;
        set(&mut b, "probestack_strategy", "inline")?;
    }
    Ok(settings::Flags::new(b))
}

/// The ISA of the host CPU with every vector feature it has enabled explicitly.
pub fn host_isa() -> Result<OwnedTargetIsa> {
    host_isa_with(&[])
}

/// [`host_isa`] with feature edits (`+name` / `-name`, comma-separated, as `kiln compile
/// --features` takes them): `-avx512f` runs the JIT on the AVX2 micro-kernels, `-avx2` on
/// Cranelift's kernels only. Additions beyond what the host has are an error (the code would not
/// run here).
pub fn host_isa_with(edits: &[String]) -> Result<OwnedTargetIsa> {
    let triple = crate::native::target::host_triple();
    let host = host_features();
    let features = if edits.is_empty() {
        host.clone()
    } else {
        crate::native::target::choose_features(&triple, Some(crate::native::target::Cpu::Native), edits)?.1
    };
    if let Some(f) = features.iter().find(|f| !host.contains(f)) {
        return Err(BackendError::Target(format!("feature `{f}` is not available on this CPU (the JIT runs here)")));
    }
    // Without edits: what `cranelift_native` detects plus the vector features (as validated).
    // With edits: exactly the chosen set, from a plain ISA, so removals hold.
    let mut builder = if edits.is_empty() {
        cranelift_native::builder().map_err(|e| BackendError::Target(format!("host ISA: {e}")))?
    } else {
        cranelift_codegen::isa::lookup(target_lexicon::Triple::host())
            .map_err(|e| BackendError::Target(format!("host ISA: {e}")))?
    };
    let explicit = features.into_iter().filter(|f| !edits.is_empty() || JIT_FEATURES.contains(f));
    for flag in explicit {
        // The flag names are Cranelift's own; enabling cannot fail for them.
        let _ = builder.enable(&format!("has_{flag}"));
    }
    // The JIT does not need PIC; objects use `isa_for_triple`.
    builder.finish(shared_flags(false)?).map_err(|e| BackendError::Target(format!("host ISA: {e}")))
}

/// The vector width (bits) of the micro-kernels `isa` gets (`crate::mk`), or `None`: what the
/// graph optimizer's cost model prices channels-last ops and MatMul by.
pub fn micro_vector_bits(isa: &dyn cranelift_codegen::isa::TargetIsa) -> Option<u32> {
    crate::TargetCaps::of(isa).micro.map(|m| 32 * m.lanes() as u32)
}

/// The features of [`X86_FEATURES`] / [`AARCH64_FEATURES`] the host CPU has.
#[cfg(target_arch = "x86_64")]
pub fn host_features() -> Vec<&'static str> {
    let detected = [
        ("sse3", std::is_x86_feature_detected!("sse3")),
        ("ssse3", std::is_x86_feature_detected!("ssse3")),
        ("sse41", std::is_x86_feature_detected!("sse4.1")),
        ("sse42", std::is_x86_feature_detected!("sse4.2")),
        ("popcnt", std::is_x86_feature_detected!("popcnt")),
        ("cmpxchg16b", std::is_x86_feature_detected!("cmpxchg16b")),
        ("avx", std::is_x86_feature_detected!("avx")),
        ("avx2", std::is_x86_feature_detected!("avx2")),
        ("fma", std::is_x86_feature_detected!("fma")),
        ("bmi1", std::is_x86_feature_detected!("bmi1")),
        ("bmi2", std::is_x86_feature_detected!("bmi2")),
        ("lzcnt", std::is_x86_feature_detected!("lzcnt")),
        ("avx512f", std::is_x86_feature_detected!("avx512f")),
        ("avx512vl", std::is_x86_feature_detected!("avx512vl")),
        ("avx512dq", std::is_x86_feature_detected!("avx512dq")),
        ("avx512bitalg", std::is_x86_feature_detected!("avx512bitalg")),
        ("avx512vbmi", std::is_x86_feature_detected!("avx512vbmi")),
    ];
    detected.into_iter().filter(|(_, present)| *present).map(|(name, _)| name).collect()
}

/// The features of [`X86_FEATURES`] / [`AARCH64_FEATURES`] the host CPU has.
#[cfg(target_arch = "aarch64")]
pub fn host_features() -> Vec<&'static str> {
    let detected = [
        ("lse", std::arch::is_aarch64_feature_detected!("lse")),
        ("fp16", std::arch::is_aarch64_feature_detected!("fp16")),
        ("dotprod", std::arch::is_aarch64_feature_detected!("dotprod")),
        ("i8mm", std::arch::is_aarch64_feature_detected!("i8mm")),
    ];
    detected.into_iter().filter(|(_, present)| *present).map(|(name, _)| name).collect()
}

/// The features of the host CPU kiln knows: none on other architectures.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub fn host_features() -> Vec<&'static str> {
    Vec::new()
}

/// The features kiln accepts for `triple`, or an error listing the supported triples.
pub fn known_features(triple: &str) -> Result<&'static [&'static str]> {
    match triple {
        "x86_64-unknown-linux-gnu" | "x86_64-pc-windows-msvc" => Ok(&X86_FEATURES),
        "aarch64-unknown-linux-gnu" | "aarch64-apple-darwin" => Ok(&AARCH64_FEATURES),
        _ => Err(BackendError::Target(format!(
            "unsupported target triple `{triple}`; supported: {}",
            SUPPORTED_TRIPLES.join(", ")
        ))),
    }
}

/// The ISA of `triple` with exactly `features` (names as in [`X86_FEATURES`] /
/// [`AARCH64_FEATURES`], an optional leading `+` or `has_` is ignored), position-independent,
/// for native objects.
pub fn isa_for_triple(triple: &str, features: &[&str]) -> Result<OwnedTargetIsa> {
    let known = known_features(triple)?;
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
