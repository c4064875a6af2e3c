//! Choosing the CPU features of a native object: `--cpu native|generic` plus `--features` edits.
//!
//! Why a baseline per architecture: an object is usually built on one machine and run on
//! another, so cross-compiling defaults to a level every CPU of the family has: x86-64-v2
//! (SSE3, SSSE3, SSE4.1, SSE4.2, POPCNT, CMPXCHG16B; no AVX, no FMA, so kernels use mul+add)
//! and Armv8-A with NEON (Cranelift's aarch64 baseline). `native` takes what the host CPU
//! reports and is only meaningful for the host's architecture. Edits (`+avx2,-fma`) then add or
//! remove single features. Every name is checked, and the result is printed by the CLI so a user
//! knows which instructions the object may contain. On x86-64 a feature brings what it requires
//! (`+fma` adds AVX, without which Cranelift would not use FMA at all) and removing one removes
//! what requires it (`-avx` also drops AVX2, FMA and AVX-512).

use crate::error::{BackendError, Result};
use crate::isa::{host_features, known_features};
use std::str::FromStr;

/// The CPU level a feature set starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cpu {
    /// Everything the host CPU has (host architecture only).
    Native,
    /// The architecture's baseline: x86-64-v2, or Armv8-A with NEON.
    Generic,
}

impl Cpu {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Cpu::Native => "native",
            Cpu::Generic => "generic",
        }
    }
    /// What the level means for `triple`, for reports: `x86-64-v2`, `Armv8-A with NEON`, or the host.
    pub fn describe(self, triple: &str) -> &'static str {
        match (self, triple.starts_with("x86_64")) {
            (Cpu::Native, _) => "the host CPU",
            (Cpu::Generic, true) => "x86-64-v2",
            (Cpu::Generic, false) => "Armv8-A with NEON",
        }
    }
}

/// The x86-64-v2 feature level.
pub const X86_64_V2: [&str; 6] = ["sse3", "ssse3", "sse41", "sse42", "popcnt", "cmpxchg16b"];

/// The triple of the machine kiln runs on (e.g. `x86_64-unknown-linux-gnu`).
pub fn host_triple() -> String {
    target_lexicon::Triple::host().to_string()
}

/// The baseline features of `triple`'s architecture.
pub fn generic_features(triple: &str) -> Result<Vec<&'static str>> {
    let known = known_features(triple)?;
    Ok(if known.contains(&"avx") { X86_64_V2.to_vec() } else { Vec::new() })
}

/// The resolved feature set of `triple`: `cpu` (default: native for the host triple, generic
/// otherwise) plus `edits`, each `+name`, `name` (add) or `-name` (remove), possibly several
/// separated by commas. Returns the CPU level used and the features in canonical order.
pub fn choose_features(triple: &str, cpu: Option<Cpu>, edits: &[String]) -> Result<(Cpu, Vec<&'static str>)> {
    let known = known_features(triple)?;
    let cpu = cpu.unwrap_or(if triple == host_triple() { Cpu::Native } else { Cpu::Generic });
    let mut chosen: Vec<&'static str> = match cpu {
        Cpu::Generic => generic_features(triple)?,
        Cpu::Native => native_features(triple)?,
    };
    for edit in edits.iter().flat_map(|e| e.split(',')).map(str::trim).filter(|e| !e.is_empty()) {
        let (add, name) = match edit.strip_prefix('-') {
            Some(name) => (false, name),
            None => (true, edit.strip_prefix('+').unwrap_or(edit)),
        };
        let Some(&feature) = known.iter().find(|&&k| k == name) else {
            return Err(BackendError::Target(format!(
                "unknown feature `{name}` for `{triple}`; supported: {}",
                known.join(", ")
            )));
        };
        if add {
            add_with_requirements(&mut chosen, feature);
        } else {
            remove_with_dependents(&mut chosen, feature);
        }
    }
    chosen.sort_by_key(|f| known.iter().position(|k| k == f));
    Ok((cpu, chosen))
}

/// `(feature, what it requires)` on x86-64: every CPU with the feature has the requirement, and
/// Cranelift uses AVX encodings (and so FMA) only with `has_avx`, so `+fma` alone would do
/// nothing. aarch64 features have no such chain here.
const REQUIRES: [(&str, &str); 11] = [
    ("ssse3", "sse3"),
    ("sse41", "ssse3"),
    ("sse42", "sse41"),
    ("avx", "sse42"),
    ("avx2", "avx"),
    ("fma", "avx"),
    ("avx512f", "avx2"),
    ("avx512vl", "avx512f"),
    ("avx512dq", "avx512f"),
    ("avx512bitalg", "avx512f"),
    ("avx512vbmi", "avx512f"),
];

/// Adds `feature` and, transitively, what it requires.
fn add_with_requirements(chosen: &mut Vec<&'static str>, feature: &'static str) {
    if chosen.contains(&feature) {
        return;
    }
    chosen.push(feature);
    for (_, required) in REQUIRES.iter().filter(|(f, _)| *f == feature) {
        add_with_requirements(chosen, required);
    }
}

/// Removes `feature` and, transitively, what requires it.
fn remove_with_dependents(chosen: &mut Vec<&'static str>, feature: &str) {
    chosen.retain(|&f| f != feature);
    for (dependent, _) in REQUIRES.iter().filter(|(_, r)| *r == feature) {
        remove_with_dependents(chosen, dependent);
    }
}

/// The host's features, when `triple` has the host's architecture.
fn native_features(triple: &str) -> Result<Vec<&'static str>> {
    let arch = |t: &str| target_lexicon::Triple::from_str(t).map(|t| t.architecture);
    let host = host_triple();
    if arch(triple).ok() != arch(&host).ok() {
        return Err(BackendError::Target(format!(
            "--cpu native needs a target of the host's architecture ({host}), not `{triple}`; \
             use --cpu generic (the default when cross-compiling)"
        )));
    }
    Ok(host_features())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_x86_is_v2_and_edits_add_and_remove() {
        let t = "x86_64-unknown-linux-gnu";
        let (cpu, f) = choose_features(t, Some(Cpu::Generic), &[]).unwrap();
        assert_eq!((cpu, f), (Cpu::Generic, X86_64_V2.to_vec()));
        let (_, f) = choose_features(t, Some(Cpu::Generic), &["+avx2,fma".into(), "-popcnt".into()]).unwrap();
        assert_eq!(f, ["sse3", "ssse3", "sse41", "sse42", "cmpxchg16b", "avx", "avx2", "fma"]);
    }

    #[test]
    fn features_bring_their_requirements_and_take_their_dependents() {
        let t = "x86_64-unknown-linux-gnu";
        let (_, f) = choose_features(t, Some(Cpu::Generic), &["+avx512vl".into()]).unwrap();
        assert_eq!(
            f,
            ["sse3", "ssse3", "sse41", "sse42", "popcnt", "cmpxchg16b", "avx", "avx2", "avx512f", "avx512vl"]
        );
        let (_, f) = choose_features(t, Some(Cpu::Generic), &["+avx2,+fma,+avx512f".into(), "-avx".into()]).unwrap();
        assert_eq!(f, X86_64_V2.to_vec());
        let (_, f) = choose_features(t, Some(Cpu::Generic), &["-sse41".into()]).unwrap();
        assert_eq!(f, ["sse3", "ssse3", "popcnt", "cmpxchg16b"]);
    }

    #[test]
    fn cross_targets_default_to_generic() {
        let (cpu, f) = choose_features("aarch64-apple-darwin", None, &[]).unwrap();
        assert_eq!((cpu, f), (Cpu::Generic, vec![]));
        let (_, f) = choose_features("aarch64-unknown-linux-gnu", None, &["+lse".into()]).unwrap();
        assert_eq!(f, ["lse"]);
    }

    #[test]
    fn unknown_features_and_triples_list_what_is_supported() {
        let err = choose_features("x86_64-unknown-linux-gnu", None, &["+avx9".into()]).unwrap_err().to_string();
        assert!(err.contains("unknown feature `avx9`") && err.contains("avx2, fma"), "{err}");
        let err = choose_features("aarch64-unknown-linux-gnu", None, &["+avx2".into()]).unwrap_err().to_string();
        assert!(err.contains("unknown feature `avx2`") && err.contains("lse, fp16"), "{err}");
        let err = choose_features("mips-unknown-linux-gnu", None, &[]).unwrap_err().to_string();
        assert!(err.contains("supported: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu"), "{err}");
    }

    #[test]
    fn native_is_refused_for_another_architecture() {
        let other =
            if cfg!(target_arch = "aarch64") { "x86_64-unknown-linux-gnu" } else { "aarch64-unknown-linux-gnu" };
        let err = choose_features(other, Some(Cpu::Native), &[]).unwrap_err().to_string();
        assert!(err.contains("--cpu native needs a target of the host's architecture"), "{err}");
    }
}
