//! `kiln compile` as a newcomer meets it: weight bytes against the model's own, no object left
//! when the header cannot be written, the note for the host triple given explicitly, named
//! `--cpu` levels and cores, and `--json`.

mod common;

use common::*;
use std::path::Path;

fn host_triple() -> String {
    kiln::native::host_triple()
}

/// A MatMul with a 3x4 f32 weight (48 bytes of the model's own).
fn matmul(dir: &Path) -> std::path::PathBuf {
    ModelBuilder::new()
        .input("a", Elem::FLOAT, &["2", "3"])
        .initializer_f32("b", &[3, 4], &[0.5; 12])
        .node("MatMul", &["a", "b"], &["c"])
        .output("c", Elem::FLOAT, &["2", "4"])
        .write(&dir.join("mm.onnx"))
}

#[test]
fn weight_bytes_are_printed_against_the_models_own() {
    let dir = scratch("compile_weights");
    let model = matmul(&dir);
    let object = dir.join("mm.o");
    let out = kiln(&["compile", s(&model), "-o", s(&object), "--target", "aarch64-unknown-linux-gnu"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let line = stdout.lines().find(|l| l.starts_with("weight bytes: ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("(the model's own: 48, x"), "{line}");
}

#[test]
fn no_object_is_kept_when_the_header_cannot_be_written() {
    let dir = scratch("compile_no_header");
    let model = matmul(&dir);
    let object = dir.join("mm.o");
    let header = dir.join("missing_dir").join("mm.h");
    let out = kiln(&[
        "compile",
        s(&model),
        "-o",
        s(&object),
        "--header",
        s(&header),
        "--target",
        "aarch64-unknown-linux-gnu",
    ]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(&format!("cannot write {}", header.display())), "{stderr}");
    assert!(stderr.contains("was not kept either"), "{stderr}");
    assert!(!object.exists(), "the object was removed");
}

#[test]
fn the_host_triple_given_explicitly_says_native_was_used() {
    let dir = scratch("compile_host_note");
    let model = matmul(&dir);
    let object = dir.join("mm.o");
    let host = host_triple();
    let out = kiln(&["compile", s(&model), "-o", s(&object), "--target", &host]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stderr.contains(&format!("note: {host} is this machine's triple, so --cpu native was used")), "{stderr}");
    assert!(stderr.contains("--cpu generic gives"), "{stderr}");
    assert!(stdout.contains("cpu: native (the host CPU)"), "{stdout}");
    // Not when --cpu is given, nor for another triple.
    let out = kiln(&["compile", s(&model), "-o", s(&object), "--target", &host, "--cpu", "generic"]);
    assert!(!texts(&out).1.contains("--cpu native was used"), "{}", texts(&out).1);
}

#[test]
fn named_cpus_map_onto_feature_sets() {
    let dir = scratch("compile_named_cpu");
    let model = matmul(&dir);
    let object = dir.join("mm.o");
    let cases = [
        ("x86_64-unknown-linux-gnu", "x86-64-v2", "sse3,ssse3,sse41,sse42,popcnt,cmpxchg16b"),
        (
            "x86_64-unknown-linux-gnu",
            "x86-64-v3",
            "sse3,ssse3,sse41,sse42,popcnt,cmpxchg16b,avx,avx2,fma,bmi1,bmi2,lzcnt",
        ),
        ("x86_64-unknown-linux-gnu", "znver4", "avx512f,avx512vl,avx512dq,avx512bitalg,avx512vbmi"),
        ("aarch64-unknown-linux-gnu", "cortex-a53", "none beyond the baseline"),
        ("aarch64-unknown-linux-gnu", "cortex-a76", "lse,fp16,dotprod"),
        ("aarch64-apple-darwin", "apple-m1", "lse,fp16,dotprod"),
    ];
    for (triple, cpu, features) in cases {
        let out = kiln(&["compile", s(&model), "-o", s(&object), "--target", triple, "--cpu", cpu]);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "{cpu}: {stderr}");
        let line = stdout.lines().find(|l| l.starts_with("features: ")).unwrap_or_default();
        assert!(line.contains(features), "{cpu}: {line}");
        assert!(stdout.contains(&format!("cpu: {cpu} (generic")), "{cpu}: {stdout}");
    }
    // --features still edits after the named level.
    let out = kiln(&[
        "compile",
        s(&model),
        "-o",
        s(&object),
        "--target",
        "x86_64-unknown-linux-gnu",
        "--cpu",
        "x86-64-v4",
        "--features",
        "-avx512f",
    ]);
    let (stdout, _) = texts(&out);
    let line = stdout.lines().find(|l| l.starts_with("features: ")).unwrap_or_default();
    assert!(!line.contains("avx512") && line.contains("avx2"), "{stdout}");
    // The wrong architecture, and an unknown name, are errors naming what was expected.
    let out =
        kiln(&["compile", s(&model), "-o", s(&object), "--target", "x86_64-unknown-linux-gnu", "--cpu", "cortex-a72"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--cpu cortex-a72 is an AArch64 CPU, but the target x86_64-unknown-linux-gnu is x86-64"),
        "{stderr}"
    );
    let out = kiln(&["compile", s(&model), "-o", s(&object), "--cpu", "pentium"]);
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown CPU 'pentium'; expected native, generic or one of x86-64-v2"), "{stderr}");
}

#[test]
fn compile_json_is_one_object() {
    let dir = scratch("compile_json");
    let model = matmul(&dir);
    let object = dir.join("mm.o");
    let out = kiln(&["compile", s(&model), "-o", s(&object), "--target", "aarch64-unknown-linux-gnu", "--json"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is one JSON object");
    assert_eq!(json["target"], "aarch64-unknown-linux-gnu");
    assert_eq!(json["model_weight_bytes"], 48);
    assert_eq!(json["object_bytes"].as_u64(), Some(std::fs::metadata(&object).unwrap().len()));
    assert_eq!(json["name"], "mm");
    assert!(json["features"].is_array() && json["code_bytes"].as_u64() > Some(0), "{json}");
}

#[test]
fn the_target_default_is_printed_as_the_host_triple() {
    let out = kiln(&["compile", "--help"]);
    let (stdout, _) = texts(&out);
    assert!(out.status.success());
    assert!(stdout.contains(&format!("[default: the host's, {}]", host_triple())), "{stdout}");
}

#[test]
fn the_jit_features_default_lists_this_cpus_features() {
    for cmd in ["run", "bench"] {
        let out = kiln(&[cmd, "--help"]);
        let (stdout, _) = texts(&out);
        assert!(stdout.contains("[default: every feature of this CPU: "), "{cmd}: {stdout}");
    }
}
