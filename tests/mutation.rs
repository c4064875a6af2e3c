//! Mutation test: every node-suite model (`target/test-data/node/*/model.onnx`, ~1,884) and the
//! bundled example, with their bytes mutated, through `kiln compile` in a subprocess. Each run
//! must end in exit 0 (the mutation was harmless) or exit 1 with an `error: ...` message; a
//! signal (an abort on a failed allocation included), exit 101 (a panic, or an error the CLI
//! reports as a kiln bug with `internal error: ...`: a panic the backend caught in its emitters or
//! in Cranelift, invalid IR, an optimizer failure), any other exit code or a run past [`TIMEOUT`]
//! is a finding and fails the test.
//!
//! Mutations, deterministic (seeded from [`SEED`] and the test name), per model:
//! - bit flips: [`BIT_FLIP_RUNS`] copies with 1 to 4 random bits flipped;
//! - truncation: cut at a random point and one byte short of the end;
//! - huge dims: the model parsed with `onnx_protobuf`, one integer "site" picked at random (a
//!   declared dim of a graph input, output or value_info, an initializer's or attribute
//!   tensor's dims, an INT64/INT32 tensor element, an attribute `i` or `ints` entry, in
//!   subgraphs too) set to each of [`HUGE`] (2^31, 2^40, -1), and written back: well-formed
//!   protobuf with absurd values, which reach shape inference and allocation.
//!
//! Limits on every `kiln` process: [`TIMEOUT`] wall clock (a hang) and an address-space limit of
//! [`ADDRESS_SPACE_LIMIT`] (2 GiB, `setrlimit(RLIMIT_AS)` in the child before exec, on Linux):
//! an allocation past it fails, and Rust aborts the process, which counts as a crash. So a
//! model whose absurd dims reach an allocation fails this test even on a machine with more RAM.
//!
//! Why the CLI and not the library: the failure modes under test (abort, stack overflow, hang)
//! take the process down, and the CLI is what users run. `KILN_SUITE_FILTER=a,b` restricts the
//! run to tests whose names contain one of the substrings. Reproducers of findings are kept in
//! `target/test-reports/mutation/`, and the counts in `target/test-reports/mutation.txt`.

#[path = "common/suite.rs"]
mod suite;

use onnx_protobuf::tensor_shape_proto::dimension::Value as DimValue;
use onnx_protobuf::type_proto::Value as TypeValue;
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto, TypeProto,
    ValueInfoProto,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use suite::{data_root, progress, repo_root, report_root};

/// The seed of every mutation (mixed with the test name's hash).
const SEED: u64 = 0x6b69_6c6e;
/// Bit-flipped copies per model.
const BIT_FLIP_RUNS: usize = 2;
/// The values a huge-dim mutation writes.
const HUGE: [i64; 3] = [1 << 31, 1 << 40, -1];
/// Extra copies of each mutation kind for the bundled example (one model, many sites).
const EXAMPLE_REPEATS: usize = 8;
/// Wall-clock limit of one `kiln compile`; unmutated node models compile in well under a second.
const TIMEOUT: Duration = Duration::from_secs(30);
/// The address-space limit of one `kiln compile` (bytes).
const ADDRESS_SPACE_LIMIT: u64 = 2 << 30;
/// Fewer node models than this means the test data is missing or truncated.
const MIN_NODE_MODELS: usize = 1800;

/// One mutated model to run.
struct Mutant {
    /// `<test>/<kind>`, e.g. `test_abs/huge-dim-2^40@3`.
    name: String,
    bytes: Vec<u8>,
}

/// How one run ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    Compiled,
    Error,
    Finding(String),
}

#[test]
fn mutated_models_give_an_error_or_a_result_never_a_crash() {
    let models = models();
    let filtered = std::env::var("KILN_SUITE_FILTER").is_ok_and(|v| !v.trim().is_empty());
    assert!(filtered || models.len() > MIN_NODE_MODELS, "only {} models; run scripts/gen-test-data.sh", models.len());
    let start = Instant::now();
    let outcomes = run_all(&models);
    let findings: Vec<&String> =
        outcomes.iter().filter_map(|o| if let Outcome::Finding(f) = o { Some(f) } else { None }).collect();
    let compiled = outcomes.iter().filter(|o| **o == Outcome::Compiled).count();
    let errors = outcomes.iter().filter(|o| **o == Outcome::Error).count();
    let summary = format!(
        "[mutation] {} models, {} mutants in {:.0}s: {compiled} compiled, {errors} errors, {} findings",
        models.len(),
        outcomes.len(),
        start.elapsed().as_secs_f64(),
        findings.len()
    );
    let mut report = summary.clone() + "\n";
    findings.iter().for_each(|f| report += &format!("FINDING {f}\n"));
    let _ = std::fs::write(report_root().join("mutation.txt"), &report);
    progress(&report);
    assert!(findings.is_empty(), "{summary}; reproducers in {}", findings_dir().display());
}

/// Regression: the backend's Pad copy plan held 16 bytes per output coordinate of an axis, so a
/// legal 128 MiB u8 tensor padded by 4 aborted under the 2 GiB limit (2 GiB for its one axis);
/// the plan is now streamed into segments.
#[test]
fn a_pad_along_a_long_axis_compiles_within_the_address_space_limit() {
    let scratch = report_root().join("scratch").join("mutation-long-pad");
    std::fs::create_dir_all(&scratch).expect("scratch directory");
    let model = scratch.join("model.onnx");
    std::fs::write(&model, long_pad_model(1 << 27)).expect("scratch model");
    let (exit, stderr) = compile(&model, &scratch).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exit.code(), Some(0), "{exit}: {stderr}");
}

/// `y = Pad(x, pads = [4, 4])` for a u8 input `x` of `[n]`.
fn long_pad_model(n: i64) -> Vec<u8> {
    let mut x = ValueInfoProto::new();
    x.name = "x".into();
    let mut t = onnx_protobuf::type_proto::Tensor::new();
    t.elem_type = 2; // UINT8
    let mut dim = onnx_protobuf::tensor_shape_proto::Dimension::new();
    dim.set_dim_value(n);
    t.shape.mut_or_insert_default().dim.push(dim);
    x.type_.mut_or_insert_default().value = Some(TypeValue::TensorType(t));
    let mut pads = AttributeProto::new();
    pads.name = "value_ints".into();
    pads.type_ = onnx_protobuf::attribute_proto::AttributeType::INTS.into();
    pads.ints = vec![4, 4];
    let node = |op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>| {
        let mut n = NodeProto::new();
        (n.op_type, n.name, n.attribute) = (op.into(), format!("{op}_0"), attribute);
        n.input = inputs.iter().map(|s| s.to_string()).collect();
        n.output = vec![output.into()];
        n
    };
    let mut g = GraphProto::new();
    g.input.push(x);
    g.node = vec![node("Constant", &[], "pads", vec![pads]), node("Pad", &["x", "pads"], "y", vec![])];
    g.output.push(ValueInfoProto { name: "y".into(), ..Default::default() });
    let mut m = ModelProto::new();
    m.ir_version = 8;
    m.opset_import.push(OperatorSetIdProto { version: 17, ..Default::default() });
    m.graph = Some(g).into();
    m.write_to_bytes().expect("serialize model")
}

/// `(test name, model path)` of every node-suite model (filtered) and the bundled example.
fn models() -> Vec<(String, PathBuf)> {
    let filter: Vec<String> = std::env::var("KILN_SUITE_FILTER")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let node = data_root().join("node");
    let mut models: Vec<(String, PathBuf)> = std::fs::read_dir(&node)
        .unwrap_or_else(|e| panic!("{}: {e}; generate it with `{}`", node.display(), suite::GEN_COMMAND))
        .filter_map(|e| e.ok())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path().join("model.onnx")))
        .filter(|(name, path)| path.is_file() && wanted(name))
        .collect();
    models.sort();
    if wanted("example") {
        models.push(("example".into(), repo_root().join("examples/mobilenet_tiny.onnx")));
    }
    models
}

/// Runs every model's mutants on [`suite::WORKERS`] threads, printing progress.
fn run_all(models: &[(String, PathBuf)]) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    let start = Instant::now();
    std::thread::scope(|s| {
        for worker in 0..suite::WORKERS {
            let (next, outcomes) = (&next, &outcomes);
            s.spawn(move || {
                let scratch = report_root().join("scratch").join(format!("mutation-{worker}"));
                std::fs::create_dir_all(&scratch).expect("scratch directory");
                while let Some((name, path)) = models.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    let repeats = if name == "example" { EXAMPLE_REPEATS } else { 1 };
                    let done: Vec<Outcome> =
                        mutants(name, &bytes, repeats).iter().map(|m| run_mutant(m, &scratch)).collect();
                    let mut all = outcomes.lock().unwrap();
                    let before = all.len();
                    all.extend(done);
                    if before / 1000 != all.len() / 1000 {
                        progress(&format!(
                            "[mutation] {} mutants run, {:.0}s",
                            all.len(),
                            start.elapsed().as_secs_f64()
                        ));
                    }
                }
                let _ = std::fs::remove_dir_all(&scratch);
            });
        }
    });
    outcomes.into_inner().unwrap()
}

/// The deterministic mutants of one model: bit flips, truncations and huge dims, `repeats`
/// times each.
fn mutants(name: &str, bytes: &[u8], repeats: usize) -> Vec<Mutant> {
    let mut rng = StdRng::seed_from_u64(SEED ^ fnv1a(name.as_bytes()));
    let mut out = Vec::new();
    for _ in 0..repeats {
        for i in 0..BIT_FLIP_RUNS {
            out.push(Mutant { name: format!("{name}/bit-flips-{i}"), bytes: flip_bits(bytes, &mut rng) });
        }
        let cut = rng.gen_range(1..bytes.len().max(2));
        out.push(Mutant { name: format!("{name}/truncated-at-{cut}"), bytes: bytes[..cut.min(bytes.len())].to_vec() });
        out.push(Mutant {
            name: format!("{name}/truncated-by-1"),
            bytes: bytes[..bytes.len().saturating_sub(1)].to_vec(),
        });
        out.extend(huge_dims(name, bytes, &mut rng));
    }
    out
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

fn flip_bits(bytes: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let i = rng.gen_range(0..b.len());
        b[i] ^= 1 << rng.gen_range(0..8);
    }
    b
}

/// One mutant per [`HUGE`] value, each at a randomly chosen integer site (none when the model
/// has no site or does not parse).
fn huge_dims(name: &str, bytes: &[u8], rng: &mut StdRng) -> Vec<Mutant> {
    let Ok(model) = ModelProto::parse_from_bytes(bytes) else { return Vec::new() };
    let mut sites = 0;
    visit_model(&mut model.clone(), &mut |_| sites += 1);
    if sites == 0 {
        return Vec::new();
    }
    HUGE.iter()
        .map(|&value| {
            let site = rng.gen_range(0..sites);
            let mut m = model.clone();
            let mut i = 0;
            visit_model(&mut m, &mut |x| {
                if i == site {
                    *x = value;
                }
                i += 1;
            });
            let bytes = m.write_to_bytes().expect("a parsed model serializes");
            Mutant { name: format!("{name}/huge-dim-{value}@{site}"), bytes }
        })
        .collect()
}

/// Calls `f` on every integer site of the model, in a fixed order.
fn visit_model(m: &mut ModelProto, f: &mut dyn FnMut(&mut i64)) {
    if let Some(g) = m.graph.as_mut() {
        visit_graph(g, f);
    }
}

fn visit_graph(g: &mut GraphProto, f: &mut dyn FnMut(&mut i64)) {
    for vi in g.input.iter_mut().chain(g.output.iter_mut()).chain(g.value_info.iter_mut()) {
        visit_value_info(vi, f);
    }
    g.initializer.iter_mut().for_each(|t| visit_tensor(t, f));
    for attr in g.node.iter_mut().flat_map(|n| n.attribute.iter_mut()) {
        f(&mut attr.i);
        attr.ints.iter_mut().for_each(&mut *f);
        if let Some(t) = attr.t.as_mut() {
            visit_tensor(t, f);
        }
        attr.tensors.iter_mut().for_each(|t| visit_tensor(t, f));
        if let Some(sub) = attr.g.as_mut() {
            visit_graph(sub, f);
        }
        attr.graphs.iter_mut().for_each(|sub| visit_graph(sub, f));
        attr.type_protos.iter_mut().for_each(|tp| visit_type(tp, f));
        if let Some(tp) = attr.tp.as_mut() {
            visit_type(tp, f);
        }
    }
}

fn visit_value_info(vi: &mut ValueInfoProto, f: &mut dyn FnMut(&mut i64)) {
    if let Some(tp) = vi.type_.as_mut() {
        visit_type(tp, f);
    }
}

fn visit_type(tp: &mut TypeProto, f: &mut dyn FnMut(&mut i64)) {
    let Some(TypeValue::TensorType(t)) = tp.value.as_mut() else { return };
    let Some(shape) = t.shape.as_mut() else { return };
    for dim in &mut shape.dim {
        if let Some(DimValue::DimValue(v)) = dim.value.as_mut() {
            f(v);
        }
    }
}

/// Dims and integer elements (`int64_data`, `int32_data`, INT64 `raw_data`) of a tensor.
fn visit_tensor(t: &mut TensorProto, f: &mut dyn FnMut(&mut i64)) {
    t.dims.iter_mut().for_each(&mut *f);
    t.int64_data.iter_mut().for_each(&mut *f);
    for v in &mut t.int32_data {
        let mut wide = i64::from(*v);
        f(&mut wide);
        *v = wide as i32;
    }
    const INT64: i32 = 7;
    if t.data_type == INT64 {
        for chunk in t.raw_data.chunks_exact_mut(8) {
            let mut v = i64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            f(&mut v);
            chunk.copy_from_slice(&v.to_le_bytes());
        }
    }
}

/// Compiles one mutant with `kiln compile` under the limits; a finding saves its reproducer.
fn run_mutant(m: &Mutant, scratch: &Path) -> Outcome {
    let model = scratch.join("model.onnx");
    std::fs::write(&model, &m.bytes).expect("scratch model");
    let outcome = match compile(&model, scratch) {
        Ok((exit, stderr)) => classify(exit, &stderr),
        Err(reason) => Outcome::Finding(reason),
    };
    match outcome {
        Outcome::Finding(reason) => {
            Outcome::Finding(format!("{}: {reason} ({})", m.name, save_reproducer(m).display()))
        }
        ok => ok,
    }
}

fn findings_dir() -> PathBuf {
    report_root().join("mutation")
}

fn save_reproducer(m: &Mutant) -> PathBuf {
    let path = findings_dir().join(m.name.replace(['/', '@'], "__") + ".onnx");
    let _ = std::fs::create_dir_all(findings_dir());
    let _ = std::fs::write(&path, &m.bytes);
    path
}

/// Runs `kiln compile MODEL -o OUT.o` with [`TIMEOUT`] and [`ADDRESS_SPACE_LIMIT`].
///
/// # Errors
/// A timeout or a failure to start, as the finding's reason.
fn compile(model: &Path, scratch: &Path) -> Result<(ExitStatus, String), String> {
    let stderr_path = scratch.join("stderr.txt");
    let stderr = std::fs::File::create(&stderr_path).map_err(|e| format!("stderr file: {e}"))?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.arg("compile").arg(model).arg("-o").arg(scratch.join("model.o"));
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr);
    limit_address_space(&mut cmd);
    let mut child = cmd.spawn().map_err(|e| format!("cannot start kiln: {e}"))?;
    let started = Instant::now();
    let exit = loop {
        match child.try_wait().map_err(|e| format!("waiting for kiln: {e}"))? {
            Some(exit) => break exit,
            None if started.elapsed() >= TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timeout: killed after {}s", TIMEOUT.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    };
    Ok((exit, std::fs::read_to_string(&stderr_path).unwrap_or_default()))
}

/// Exit 0, or exit 1 with an `error:` line, are the outcomes kiln promises; anything else is a
/// finding.
fn classify(exit: ExitStatus, stderr: &str) -> Outcome {
    let first = stderr.lines().find(|l| l.starts_with("error") || l.contains("panicked") || l.starts_with("internal"));
    let first = first.or(stderr.lines().next()).unwrap_or("(no stderr)").chars().take(300).collect::<String>();
    match exit.code() {
        Some(0) => Outcome::Compiled,
        Some(1) if stderr.lines().any(|l| l.starts_with("error: ") && l.len() > 7) => Outcome::Error,
        Some(code) => Outcome::Finding(format!("exit {code}: {first}")),
        None => Outcome::Finding(format!("killed by a signal ({exit}): {first}")),
    }
}

#[test]
fn only_a_clean_refusal_or_success_is_not_a_finding() {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(classify(ExitStatus::from_raw(0), ""), Outcome::Compiled);
    assert_eq!(classify(ExitStatus::from_raw(1 << 8), "error: node n1 (Abs): unsupported"), Outcome::Error);
    let internal = "internal error: kernel n1 (Abs): the kernel emitter panicked: boom\nthis is a bug in kiln";
    let finding = classify(ExitStatus::from_raw(101 << 8), internal);
    assert_eq!(
        finding,
        Outcome::Finding("exit 101: internal error: kernel n1 (Abs): the kernel emitter panicked: boom".into())
    );
    assert!(matches!(classify(ExitStatus::from_raw(1 << 8), ""), Outcome::Finding(_)));
    assert!(matches!(classify(ExitStatus::from_raw(6), ""), Outcome::Finding(_)));
}

/// Sets `RLIMIT_AS` to [`ADDRESS_SPACE_LIMIT`] in the child before exec (Linux only; other
/// systems run without the limit).
#[cfg(target_os = "linux")]
fn limit_address_space(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    #[repr(C)]
    struct RLimit {
        cur: u64,
        max: u64,
    }
    extern "C" {
        fn setrlimit(resource: i32, limit: *const RLimit) -> i32;
    }
    const RLIMIT_AS: i32 = 9;
    // SAFETY: between fork and exec only `setrlimit`, an async-signal-safe system call, runs;
    // it reads the struct on this closure's stack.
    unsafe {
        cmd.pre_exec(|| {
            let limit = RLimit { cur: ADDRESS_SPACE_LIMIT, max: ADDRESS_SPACE_LIMIT };
            if setrlimit(RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn limit_address_space(_cmd: &mut Command) {}
