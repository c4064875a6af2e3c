//! Named CPU levels and cores for `--cpu` (`x86-64-v3`, `znver4`, `cortex-a76`, `apple-m1`...),
//! each mapped onto the feature set kiln's code generation distinguishes.
//!
//! Only features kiln can use are listed (`kiln_backend::isa::X86_FEATURES`,
//! `AARCH64_FEATURES`), so a core maps onto the nearest set below it: `x86-64-v4` gets
//! AVX-512F/VL/DQ (the BW and CD parts are not used), Ice Lake and Zen 4 also BITALG and VBMI.
//! A name stands for a generic baseline plus these features, so the result is what
//! `--cpu generic --features +...` would give; the table keeps users from having to know that
//! a Cortex-A76 means `+lse,+fp16,+dotprod`.

/// A named CPU: its architecture (`x86_64` or `aarch64`, as triples begin) and features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedCpu {
    pub name: &'static str,
    pub arch: &'static str,
    pub features: &'static [&'static str],
}

const V3: &[&str] = &["avx", "avx2", "fma", "bmi1", "bmi2", "lzcnt"];
const V4: &[&str] = &["avx", "avx2", "fma", "bmi1", "bmi2", "lzcnt", "avx512f", "avx512vl", "avx512dq"];
const ICELAKE: &[&str] =
    &["avx", "avx2", "fma", "bmi1", "bmi2", "lzcnt", "avx512f", "avx512vl", "avx512dq", "avx512bitalg", "avx512vbmi"];
/// Armv8.2-A cores with the dot product (Cortex-A55/A75/A76/A78, Neoverse-N1, Apple M1).
const V82_DOT: &[&str] = &["lse", "fp16", "dotprod"];
/// Also the int8 matrix multiply (Armv8.6-A / Armv9: Neoverse-V1/N2, Cortex-X2, Apple M2).
const V86: &[&str] = &["lse", "fp16", "dotprod", "i8mm"];

const fn x86(name: &'static str, features: &'static [&'static str]) -> NamedCpu {
    NamedCpu { name, arch: "x86_64", features }
}
const fn arm(name: &'static str, features: &'static [&'static str]) -> NamedCpu {
    NamedCpu { name, arch: "aarch64", features }
}

/// Every name `--cpu` accepts besides `native` and `generic`.
pub const NAMED_CPUS: &[NamedCpu] = &[
    x86("x86-64-v2", &[]),
    x86("x86-64-v3", V3),
    x86("x86-64-v4", V4),
    x86("haswell", V3),
    x86("skylake", V3),
    x86("skylake-avx512", V4),
    x86("cascadelake", V4),
    x86("icelake-server", ICELAKE),
    x86("sapphirerapids", ICELAKE),
    x86("znver2", V3),
    x86("znver3", V3),
    x86("znver4", ICELAKE),
    x86("znver5", ICELAKE),
    arm("armv8-a", &[]),
    arm("cortex-a53", &[]),
    arm("cortex-a72", &[]),
    arm("cortex-a55", V82_DOT),
    arm("cortex-a76", V82_DOT),
    arm("cortex-a78", V82_DOT),
    arm("neoverse-n1", V82_DOT),
    arm("neoverse-v1", V86),
    arm("neoverse-n2", V86),
    arm("cortex-x2", V86),
    arm("apple-m1", V82_DOT),
    arm("apple-m2", V86),
    arm("apple-m3", V86),
];

/// The named CPU `name` (case-insensitive), if there is one.
pub fn named_cpu(name: &str) -> Option<NamedCpu> {
    NAMED_CPUS.iter().copied().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// The names, comma-separated, for messages.
pub fn names() -> String {
    NAMED_CPUS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_is_one_kiln_knows_for_its_architecture() {
        for cpu in NAMED_CPUS {
            let known: &[&str] = match cpu.arch {
                "x86_64" => &kiln_backend::isa::X86_FEATURES,
                _ => &kiln_backend::isa::AARCH64_FEATURES,
            };
            for f in cpu.features {
                assert!(known.contains(f), "{}: {f}", cpu.name);
            }
        }
    }

    #[test]
    fn names_are_found_ignoring_case() {
        assert_eq!(named_cpu("Cortex-A76").map(|c| c.features), Some(V82_DOT));
        assert_eq!(named_cpu("x86-64-v4").map(|c| c.arch), Some("x86_64"));
        assert!(named_cpu("pentium").is_none());
    }
}
