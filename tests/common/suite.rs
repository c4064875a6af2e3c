//! The runner behind kiln's data-driven suites (`tests/node_suite.rs`, `tests/models.rs`,
//! `tests/example.rs`): runs the `kiln` binary on ONNX test directories and judges the outputs.
//!
//! Why a subprocess per test and not the library: a test that crashes the compiler (a panic, a
//! segfault in JIT code, an endless loop) must not take the suite down with it, and the CLI is
//! the interface users run. Each `kiln run` is killed after [`TIMEOUT`]. A *crash* fails the
//! suite whatever the expected list says: a signal, exit code 101 (a panic, or an error the CLI
//! reports as a kiln bug: a panic the backend caught in its emitters or in Cranelift, invalid
//! IR, an optimizer failure) and a timeout (a hang must not pass unseen in a test that is not
//! on the list).
//!
//! The test data comes from `scripts/gen-test-data.sh` (cached in `target/test-data`, or
//! `$KILN_TEST_DATA`). Each category directory holds a `manifest.json` with every test's name, op
//! type, graph input names and output names, so this runner needs no ONNX parser of its own. A
//! missing manifest fails the suite with the command that generates it: never a vacuous pass.
//!
//! Expected results follow tract's `node.txt`: a checked-in sorted list of tests expected to
//! pass. A listed test that does not pass fails the run; a missing list is an error. Newly
//! passing tests are printed, and `KILN_BLESS=1` adds them to the list (those that pass at
//! every opt level a suite runs). Blessing never drops a test unless asked to by name,
//! `KILN_BLESS_REMOVE=test_a,test_b`, and always prints what left the list: a test that stops
//! passing fails the run, blessing or not, until it is named for removal.
#![allow(dead_code)]

use kiln_ir::{DType, Tensor};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The wall-clock limit of one `kiln run`; the process is killed after it (a crash).
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Parallel `kiln run` processes: the CI machine has two cores.
pub const WORKERS: usize = 2;
/// The command that generates the data, named in every "data missing" message.
pub const GEN_COMMAND: &str = "scripts/gen-test-data.sh";

/// The workspace root (where `Cargo.toml` of the root package is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test data cache: `$KILN_TEST_DATA` or `target/test-data`.
pub fn data_root() -> PathBuf {
    match std::env::var_os("KILN_TEST_DATA") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join("target").join("test-data"),
    }
}

/// Where summaries and scratch output go: `target/test-reports`.
pub fn report_root() -> PathBuf {
    repo_root().join("target").join("test-reports")
}

/// Writes a progress line straight to stderr, past the test harness's output capture, so that
/// counts show in CI logs even when the test passes.
pub fn progress(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// Element-wise tolerance: `|actual - expected| <= atol + rtol * |expected|`.
#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

/// The tolerance of the ONNX node tests (and of kiln's own reference comparisons).
pub const NODE_TOLERANCE: Tolerance = Tolerance { rtol: 1e-3, atol: 1e-5 };

/// One test directory as the manifest describes it.
#[derive(Clone, Debug)]
pub struct Case {
    /// The name in reports and expected lists (`test_abs`, `light/light_resnet50`).
    pub name: String,
    /// The op type the test exercises (`_expanded` tests count under their base op), or
    /// `(model)` for multi-op models.
    pub op: String,
    /// Graph input names (initializers excluded), in order: `input_N.pb` feeds `inputs[N]`.
    pub inputs: Vec<String>,
    pub dir: PathBuf,
    pub tolerance: Tolerance,
    /// `kiln run --opt-level` (2, the default, unless a suite also runs the unoptimized graph).
    pub opt_level: u8,
}

/// The outcome of one test.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Pass,
    /// Wrong output, or an error exit (with its first stderr line).
    Fail(String),
    /// Killed by a signal, exit code 101 (a kiln bug: a panic or an internal error), or a
    /// timeout (killed after [`TIMEOUT`]).
    Crash(String),
}

impl Status {
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail(_) => "fail",
            Status::Crash(_) => "crash",
        }
    }
    pub fn reason(&self) -> &str {
        match self {
            Status::Pass => "",
            Status::Fail(r) | Status::Crash(r) => r,
        }
    }
}

/// Reads `<data_root>/<category>/manifest.json`; names get `prefix` prepended.
///
/// # Errors
/// A message naming the missing file and the script that generates it.
pub fn load_manifest(category: &str, prefix: &str, tolerance: Tolerance) -> Result<Vec<Case>, String> {
    let dir = data_root().join(category);
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("test data missing: cannot read {} ({e}); generate it with `{GEN_COMMAND}`", path.display())
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: {e}; regenerate with `{GEN_COMMAND} --force`", path.display()))?;
    let entries = json.as_array().ok_or_else(|| format!("{}: not a JSON array", path.display()))?;
    entries.iter().map(|e| parse_entry(e, &dir, prefix, tolerance)).collect()
}

fn parse_entry(e: &serde_json::Value, dir: &Path, prefix: &str, tolerance: Tolerance) -> Result<Case, String> {
    let field = |k: &str| e.get(k).ok_or_else(|| format!("manifest entry without '{k}': {e}"));
    let name = field("name")?.as_str().ok_or("manifest 'name' is not a string")?.to_string();
    let op = field("op")?.as_str().unwrap_or("?").to_string();
    let inputs = field("inputs")?
        .as_array()
        .ok_or("manifest 'inputs' is not an array")?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    Ok(Case { name: format!("{prefix}{name}"), op, inputs, dir: dir.join(&name), tolerance, opt_level: 2 })
}

/// Runs every case on [`WORKERS`] threads, printing progress; results (status and wall time)
/// are in `cases` order.
pub fn run_all(suite: &str, cases: &[Case]) -> (Vec<Status>, Vec<Duration>) {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(Status, Duration)>>> = Mutex::new(vec![None; cases.len()]);
    let done = AtomicUsize::new(0);
    let start = Instant::now();
    let scratch = report_root().join("scratch").join(suite);
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let t0 = Instant::now();
                let status = run_case(case, &scratch.join(case.name.replace('/', "__")));
                results.lock().unwrap()[i] = Some((status, t0.elapsed()));
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                if n % 100 == 0 || n == cases.len() {
                    progress(&format!("[{suite}] {n}/{} run, {:.0}s", cases.len(), start.elapsed().as_secs_f64()));
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    results.into_inner().unwrap().into_iter().map(|s| s.expect("every case ran")).unzip()
}

/// Runs one test directory: every `test_data_set_*` through `kiln run`, outputs compared.
pub fn run_case(case: &Case, scratch: &Path) -> Status {
    let sets = match data_sets(&case.dir) {
        Ok(sets) if !sets.is_empty() => sets,
        Ok(_) => return Status::Fail(format!("no test_data_set_* in {}", case.dir.display())),
        Err(e) => return Status::Fail(e),
    };
    for set in sets {
        let out_dir = scratch.join(set.file_name().unwrap_or_default());
        let status = run_data_set(case, &set, &out_dir);
        let _ = std::fs::remove_dir_all(&out_dir);
        if status != Status::Pass {
            return status;
        }
    }
    Status::Pass
}

fn data_sets(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sets: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("test_data_set_")))
        .collect();
    sets.sort();
    Ok(sets)
}

/// `dir/{prefix}_0.pb`, `dir/{prefix}_1.pb`... while they exist.
fn numbered_files(dir: &Path, prefix: &str, ext: &str) -> Vec<PathBuf> {
    (0..).map(|i| dir.join(format!("{prefix}_{i}.{ext}"))).take_while(|p| p.is_file()).collect()
}

fn run_data_set(case: &Case, set: &Path, out_dir: &Path) -> Status {
    let inputs = numbered_files(set, "input", "pb");
    if inputs.len() > case.inputs.len() {
        return Status::Fail(format!("{} input files but the model has {} inputs", inputs.len(), case.inputs.len()));
    }
    let args: Vec<(String, PathBuf)> = case.inputs.iter().cloned().zip(inputs).collect();
    if let Err(status) = run_kiln_at(&case.dir.join("model.onnx"), &args, out_dir, case.opt_level) {
        return status;
    }
    // `kiln run` writes outputs in the format of its input files, and `.npy` when it was given
    // none (a model without graph inputs, e.g. test_constant).
    let out_ext = if args.is_empty() { "npy" } else { "pb" };
    let expected = numbered_files(set, "output", "pb");
    let files = output_files(&case.dir.join("model.onnx"), out_ext);
    for (j, want) in expected.iter().enumerate() {
        let Some(file) = files.get(j) else { return Status::Fail(format!("no graph output {j}")) };
        if let Err(e) = compare_pb_files(want, &out_dir.join(file), case.tolerance) {
            return Status::Fail(format!("output_{j} ({file}): {e}"));
        }
    }
    Status::Pass
}

/// The files `kiln run --output-dir` writes for `model`'s outputs, in graph order (named after
/// the outputs, see `kiln::io::output_file_names`).
pub fn output_files(model: &Path, ext: &str) -> Vec<String> {
    let names = kiln::Model::load(model).map(|m| m.output_names()).unwrap_or_default();
    kiln::io::output_file_names(&names, ext)
}

/// Runs `kiln run MODEL --input NAME=FILE... --output-dir OUT` with [`TIMEOUT`].
///
/// # Errors
/// The failing [`Status`]: crash on a signal, a kiln bug (exit 101) or a timeout, failure on an
/// error exit.
pub fn run_kiln(model: &Path, inputs: &[(String, PathBuf)], out_dir: &Path) -> Result<(), Status> {
    run_kiln_at(model, inputs, out_dir, 2)
}

/// [`run_kiln`] at `--opt-level opt_level`.
pub fn run_kiln_at(model: &Path, inputs: &[(String, PathBuf)], out_dir: &Path, opt_level: u8) -> Result<(), Status> {
    std::fs::create_dir_all(out_dir).map_err(|e| Status::Fail(format!("scratch dir {}: {e}", out_dir.display())))?;
    let stderr_path = out_dir.join("stderr.txt");
    let stderr_file = std::fs::File::create(&stderr_path).map_err(|e| Status::Fail(format!("stderr file: {e}")))?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.arg("run").arg(model).arg("--opt-level").arg(opt_level.to_string());
    for (name, file) in inputs {
        cmd.arg("--input").arg(format!("{name}={}", file.display()));
    }
    cmd.arg("--output-dir").arg(out_dir).stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr_file);
    let child = cmd.spawn().map_err(|e| Status::Crash(format!("cannot start kiln: {e}")))?;
    let exit = wait_or_kill(child, TIMEOUT)?;
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    classify_exit(exit, &stderr)
}

/// Waits for `child` at most `limit`; past it the child is killed and the run is a crash (a
/// hang is a kiln bug whether or not the test is on the pass list).
fn wait_or_kill(mut child: std::process::Child, limit: Duration) -> Result<ExitStatus, Status> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(exit)) => return Ok(exit),
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Status::Crash(format!("timeout: killed after {}s", limit.as_secs())));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(Status::Fail(format!("waiting for kiln: {e}"))),
        }
    }
}

fn classify_exit(exit: ExitStatus, stderr: &str) -> Result<(), Status> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = exit.signal() {
            return Err(Status::Crash(format!("killed by signal {sig}; {}", first_line(stderr))));
        }
    }
    match exit.code() {
        Some(0) => Ok(()),
        Some(101) => {
            let bug = |l: &&str| l.starts_with("internal error") || l.contains("panicked");
            let line = stderr.lines().find(bug).map(str::to_string);
            Err(Status::Crash(format!("kiln bug (exit 101): {}", line.unwrap_or_else(|| first_line(stderr)))))
        }
        code => Err(Status::Fail(format!("exit {}: {}", code.unwrap_or(-1), first_line(stderr)))),
    }
}

/// The first stderr line starting with `error`, else the first non-empty one (kiln prints
/// `note:` lines before its error), with a continuation line appended when it ends in `:`.
fn first_line(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let Some(i) = lines.iter().position(|l| l.starts_with("error")).or((!lines.is_empty()).then_some(0)) else {
        return "(no stderr)".into();
    };
    let mut line = lines[i].to_string();
    if line.ends_with(':') {
        if let Some(next) = lines.get(i + 1) {
            line = format!("{line} {next}");
        }
    }
    line.chars().take(200).collect()
}

/// Reads a `.pb` TensorProto with kiln's frontend.
pub fn read_pb(path: &Path) -> Result<Tensor, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    kiln_frontend::tensor_from_pb(&bytes).map(|(_, t)| t).map_err(|e| format!("{}: {e}", path.display()))
}

/// Compares an expected `.pb` with kiln's output file (`.pb` or `.npy`).
pub fn compare_pb_files(expected: &Path, actual: &Path, tol: Tolerance) -> Result<(), String> {
    if !actual.is_file() {
        return Err(format!("kiln wrote no {}", actual.file_name().unwrap_or_default().to_string_lossy()));
    }
    let got = kiln::io::read_tensor(actual).map(|t| t.tensor).map_err(|e| e.to_string())?;
    compare(&read_pb(expected)?, &got, tol)
}

/// Same dtype and shape, then floats (f32, f64, and f16/bf16 by value) within `tol` (NaN
/// equals NaN, infinities exact) and integers, bools and the narrow types exactly (see
/// [`exact_values`]).
///
/// # Errors
/// What differs: dtype, shape, or the number of mismatches with the first one and the largest
/// absolute error.
pub fn compare(expected: &Tensor, actual: &Tensor, tol: Tolerance) -> Result<(), String> {
    if expected.dtype() != actual.dtype() {
        return Err(format!("dtype {:?}, expected {:?}", actual.dtype(), expected.dtype()));
    }
    if expected.shape() != actual.shape() {
        return Err(format!("shape {:?}, expected {:?}", actual.shape(), expected.shape()));
    }
    let bad: Vec<usize> = if expected.dtype().is_float() || expected.dtype().is_half() {
        let tol = at_least_two_ulps(tol, expected.dtype());
        let (e, a) = (expected.to_f64_vec(), actual.to_f64_vec());
        (0..e.len()).filter(|&i| !floats_close(e[i], a[i], tol)).collect()
    } else {
        let (e, a) = (exact_values(expected), exact_values(actual));
        (0..e.len()).filter(|&i| e[i] != a[i]).collect()
    };
    let Some(&first) = bad.first() else { return Ok(()) };
    let (e, a) = (expected.to_f64_vec(), actual.to_f64_vec());
    let max_err = bad.iter().map(|&i| (e[i] - a[i]).abs()).fold(0.0, f64::max);
    Err(format!(
        "{} of {} elements differ; first at {first}: got {}, expected {}; max abs error {max_err:e}",
        bad.len(),
        e.len(),
        a[first],
        e[first]
    ))
}

/// f16/bf16 results: kiln computes each op in f32 and rounds once (as onnxruntime does on CPU),
/// while a reference may round intermediate results too, so the two may differ by a rounding
/// or two of the type: the relative tolerance is at least two units in the last place (f16
/// 2^-9, bf16 2^-6). Other types keep `tol`.
fn at_least_two_ulps(tol: Tolerance, dtype: DType) -> Tolerance {
    let ulp = match dtype {
        DType::F16 => 2f64.powi(-10),
        DType::BF16 => 2f64.powi(-7),
        _ => return tol,
    };
    Tolerance { rtol: tol.rtol.max(2.0 * ulp), ..tol }
}

fn floats_close(e: f64, a: f64, tol: Tolerance) -> bool {
    if e.is_nan() || a.is_nan() {
        return e.is_nan() && a.is_nan();
    }
    if e.is_infinite() || a.is_infinite() {
        return e == a;
    }
    (a - e).abs() <= tol.atol + tol.rtol * e.abs()
}

/// Integer and bool elements as bit-exact `i128`s (u64 beyond i64 stays distinct); the narrow
/// storage types (8/4-bit floats, 4/2-bit integers) as their stored byte, every NaN as -1 so
/// NaN equals NaN whatever its code.
fn exact_values(t: &Tensor) -> Vec<i128> {
    match t.dtype() {
        d if d.is_narrow() => {
            let bytes = t.to_le_bytes();
            (0..t.numel()).map(|i| if t.data().get_f64(i).is_nan() { -1 } else { i128::from(bytes[i]) }).collect()
        }
        DType::U64 => t.as_slice::<u64>().unwrap_or_default().iter().map(|&v| v as i128).collect(),
        _ => t.to_i64_vec().into_iter().map(i128::from).collect(),
    }
}

/// Reads a checked-in list: one name per line; blank lines and `#` comments ignored.
///
/// # Errors
/// The path and the cause when the list cannot be read: a missing list is not an empty one
/// (it would make every test optional).
pub fn read_expected(path: &Path) -> Result<BTreeSet<String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the pass list {}: {e}", path.display()))?;
    Ok(parse_list(&text))
}

fn parse_list(text: &str) -> BTreeSet<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

/// What one suite run found, judged against the expected list.
pub struct Verdict {
    pub passed: BTreeSet<String>,
    /// Listed as expected to pass, but did not (or is no longer in the data).
    pub regressions: Vec<String>,
    pub crashes: Vec<String>,
    pub newly_passing: Vec<String>,
}

/// Judges `results` against `expected`.
pub fn judge(cases: &[Case], results: &[Status], expected: &BTreeSet<String>) -> Verdict {
    let passed: BTreeSet<String> =
        cases.iter().zip(results).filter(|(_, s)| **s == Status::Pass).map(|(c, _)| c.name.clone()).collect();
    let crashes =
        cases.iter().zip(results).filter(|(_, s)| s.label() == "crash").map(|(c, _)| c.name.clone()).collect();
    let regressions = expected.difference(&passed).cloned().collect();
    let newly_passing = passed.difference(expected).cloned().collect();
    Verdict { passed, regressions, crashes, newly_passing }
}

/// Pass and total counts per op type, printed as a table.
pub fn per_op_table(cases: &[Case], results: &[Status]) -> String {
    let mut by_op: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (case, status) in cases.iter().zip(results) {
        let entry = by_op.entry(&case.op).or_default();
        entry.0 += usize::from(*status == Status::Pass);
        entry.1 += 1;
    }
    let mut out = String::new();
    for (op, (pass, total)) in by_op {
        out += &format!("  {op:<32} {pass:>4}/{total:<4}\n");
    }
    out
}

/// The `n` slowest tests with their wall times (the timeout is [`TIMEOUT`]).
pub fn slowest(cases: &[Case], times: &[Duration], n: usize) -> String {
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(times[i]));
    let top = order.iter().take(n).map(|&i| format!("{} {:.1}s", cases[i].name, times[i].as_secs_f64()));
    top.collect::<Vec<_>>().join(", ")
}

/// The totals line: `pass P / T, fail F, crash C`.
pub fn totals(results: &[Status]) -> String {
    let count = |l: &str| results.iter().filter(|s| s.label() == l).count();
    format!("pass {} / {}, fail {}, crash {}", count("pass"), results.len(), count("fail"), count("crash"))
}

/// Writes `target/test-reports/<suite>.txt`: totals, then every test with op, status, wall time
/// and reason.
pub fn write_report(suite: &str, cases: &[Case], results: &[Status], times: &[Duration]) -> PathBuf {
    let path = report_root().join(format!("{suite}.txt"));
    let mut text = format!("# kiln {suite}: {}\n# name\top\tstatus\tms\treason\n", totals(results));
    for ((case, status), time) in cases.iter().zip(results).zip(times) {
        let (name, op, label, ms) = (&case.name, &case.op, status.label(), time.as_millis());
        text += &format!("{name}\t{op}\t{label}\t{ms}\t{}\n", status.reason());
    }
    let _ = std::fs::create_dir_all(report_root());
    if let Err(e) = std::fs::write(&path, text) {
        progress(&format!("[{suite}] cannot write {}: {e}", path.display()));
    }
    path
}

/// `KILN_SUITE_FILTER=a,b`: run only the tests whose names contain one of the comma-separated
/// substrings (and judge only those lines of the expected list). For iterating on a few ops; the
/// whole suite is the acceptance.
pub struct NameFilter(Vec<String>);

impl NameFilter {
    pub fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|part| name.contains(part.as_str()))
    }
}

fn name_filter() -> Option<NameFilter> {
    let value = std::env::var("KILN_SUITE_FILTER").ok().filter(|v| !v.trim().is_empty())?;
    Some(NameFilter(value.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()))
}

/// Runs a whole suite end to end: run, print, report, judge, bless when asked (`KILN_BLESS=1`,
/// `KILN_BLESS_REMOVE`). Panics (fails the test) on a crash, on a regression of the expected
/// list that was not removed by name, when the list is missing, or when `cases` is empty.
pub fn run_suite(suite: &str, cases: &[Case], expected_list: &Path) {
    let run = run_and_judge(suite, cases, expected_list);
    let left = bless_if_asked(suite, expected_list, &run.passed, &run.regressions);
    fail_on(suite, &run, &left);
}

/// [`run_suite`] at the default `--opt-level 2`, then at 0 as `<suite>_opt0` against the same
/// list: the optimizer may neither break a test nor hide a kernel bug behind a rewrite. Blessing
/// adds only the tests that pass at both levels.
pub fn run_suite_at_both_levels(suite: &str, cases: Vec<Case>, expected_list: &Path) {
    let optimized = run_and_judge(suite, &cases, expected_list);
    let unoptimized: Vec<Case> = cases.into_iter().map(|c| Case { opt_level: 0, ..c }).collect();
    let opt0_suite = format!("{suite}_opt0");
    let unoptimized = run_and_judge(&opt0_suite, &unoptimized, expected_list);
    let both: BTreeSet<String> = optimized.passed.intersection(&unoptimized.passed).cloned().collect();
    let mut regressions = optimized.regressions.clone();
    regressions.extend(unoptimized.regressions.iter().cloned());
    let left = bless_if_asked(suite, expected_list, &both, &regressions);
    fail_on(suite, &optimized, &left);
    fail_on(&opt0_suite, &unoptimized, &left);
}

/// One run of a suite, judged: what passed, what crashed, which listed tests did not pass.
pub struct Judged {
    pub passed: BTreeSet<String>,
    pub crashes: Vec<String>,
    pub regressions: Vec<String>,
    pub report: PathBuf,
}

/// Runs `cases` (narrowed by `KILN_SUITE_FILTER`), writes the report and prints the per-op
/// table, the crashes, the regressions and the newly passing tests.
///
/// # Panics
/// When no case is left, or when `expected_list` cannot be read.
pub fn run_and_judge(suite: &str, cases: &[Case], expected_list: &Path) -> Judged {
    let filter = name_filter();
    let filtered: Vec<Case> =
        cases.iter().filter(|c| filter.as_ref().is_none_or(|f| f.matches(&c.name))).cloned().collect();
    let cases = &filtered[..];
    assert!(
        !cases.is_empty(),
        "[{suite}] no tests found in {}; regenerate with `{GEN_COMMAND} --force`",
        data_root().display()
    );
    let mut expected = read_expected(expected_list).unwrap_or_else(|e| panic!("[{suite}] {e}"));
    let (results, times) = run_all(suite, cases);
    if let Some(f) = &filter {
        expected.retain(|name| f.matches(name));
    }
    let verdict = judge(cases, &results, &expected);
    // A filtered run writes its own report, so the whole suite's report stays whole.
    let report_name = if filter.is_some() { format!("{suite}_filtered") } else { suite.to_string() };
    let report = write_report(&report_name, cases, &results, &times);
    progress(&format!("[{suite}] pass counts per op:\n{}", per_op_table(cases, &results)));
    progress(&format!("[{suite}] slowest: {}", slowest(cases, &times, 5)));
    progress(&format!("[{suite}] {} (report: {})", totals(&results), report.display()));
    for name in &verdict.crashes {
        let i = cases.iter().position(|c| &c.name == name).expect("crash is a case");
        progress(&format!("[{suite}] CRASH {name}: {}", results[i].reason()));
    }
    report_list_changes(suite, cases, &results, &verdict);
    Judged { passed: verdict.passed, crashes: verdict.crashes, regressions: verdict.regressions, report }
}

/// Fails the test on a crash, or on a regression that did not leave the list (`left`).
fn fail_on(suite: &str, run: &Judged, left: &BTreeSet<String>) {
    assert!(
        run.crashes.is_empty(),
        "[{suite}] {} tests crashed (see above and {})",
        run.crashes.len(),
        run.report.display()
    );
    let regressions: Vec<&String> = run.regressions.iter().filter(|name| !left.contains(*name)).collect();
    assert!(
        regressions.is_empty(),
        "[{suite}] {} tests of the expected-pass list do not pass (see REGRESSION lines above; \
         KILN_BLESS_REMOVE=name,... takes a test off the list)",
        regressions.len()
    );
}

fn report_list_changes(suite: &str, cases: &[Case], results: &[Status], verdict: &Verdict) {
    if !verdict.newly_passing.is_empty() {
        progress(&format!(
            "[{suite}] {} newly passing; add them with KILN_BLESS=1: {}",
            verdict.newly_passing.len(),
            verdict.newly_passing.iter().take(40).cloned().collect::<Vec<_>>().join(" ")
        ));
    }
    for name in &verdict.regressions {
        let reason = cases.iter().position(|c| &c.name == name).map_or("not in the test data", |i| results[i].reason());
        progress(&format!("[{suite}] REGRESSION {name}: {reason}"));
    }
}

/// The names in `KILN_BLESS_REMOVE` (comma-separated).
fn removal_requests() -> BTreeSet<String> {
    let value = std::env::var("KILN_BLESS_REMOVE").unwrap_or_default();
    value.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect()
}

/// What blessing does to a list: the new list and the names that left it.
#[derive(Debug, PartialEq)]
pub struct Blessed {
    pub list: BTreeSet<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Names asked for removal that stay: they passed, or this run did not judge them.
    pub kept: Vec<String>,
}

/// Blessing as a pure function: `add` (KILN_BLESS=1) puts every name of `passed` on `old`;
/// a name of `remove` leaves it only when it is one of this run's `regressions` (listed, and
/// did not pass, or is gone from the test data). Nothing else ever leaves the list.
pub fn bless_list(
    old: &BTreeSet<String>,
    passed: &BTreeSet<String>,
    regressions: &[String],
    add: bool,
    remove: &BTreeSet<String>,
) -> Blessed {
    let mut list = old.clone();
    let added: Vec<String> = if add { passed.difference(old).cloned().collect() } else { Vec::new() };
    list.extend(added.iter().cloned());
    let (removed, kept): (Vec<String>, Vec<String>) = remove.iter().cloned().partition(|n| regressions.contains(n));
    for name in &removed {
        list.remove(name);
    }
    Blessed { list, added, removed, kept }
}

/// Applies `KILN_BLESS=1` / `KILN_BLESS_REMOVE` to `path` and prints what was added, what left
/// the list (always, also when nothing did) and what was asked for removal but stays. Returns
/// the names that left the list.
fn bless_if_asked(suite: &str, path: &Path, passed: &BTreeSet<String>, regressions: &[String]) -> BTreeSet<String> {
    let add = std::env::var("KILN_BLESS").is_ok_and(|v| v == "1");
    let remove = removal_requests();
    if !add && remove.is_empty() {
        return BTreeSet::new();
    }
    let old = read_expected(path).unwrap_or_else(|e| panic!("[{suite}] {e}"));
    let blessed = bless_list(&old, passed, regressions, add, &remove);
    write_list(path, &blessed.list);
    let names = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join(" ") };
    progress(&format!(
        "[{suite}] blessed {}: added {}: {}",
        path.display(),
        blessed.added.len(),
        names(&blessed.added)
    ));
    progress(&format!("[{suite}] left the list: {}: {}", blessed.removed.len(), names(&blessed.removed)));
    if !blessed.kept.is_empty() {
        progress(&format!(
            "[{suite}] KILN_BLESS_REMOVE: kept (passed, or not judged in this run): {}",
            blessed.kept.join(" ")
        ));
    }
    blessed.removed.into_iter().collect()
}

/// The first line of every pass list.
const LIST_HEADER: &str =
    "# Tests expected to pass, sorted. KILN_BLESS=1 adds new passes, KILN_BLESS_REMOVE=name,... removes (see README.md).";

fn write_list(path: &Path, names: &BTreeSet<String>) {
    let mut text = format!("{LIST_HEADER}\n");
    for name in names {
        text += name;
        text.push('\n');
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Checks of the judging logic itself, on hand-made tensors (they run in every suite binary).
mod self_tests {
    use super::*;

    fn f32s(v: &[f32]) -> Tensor {
        Tensor::from_vec([v.len()], v.to_vec())
    }

    #[test]
    fn floats_within_tolerance_match() {
        let tol = NODE_TOLERANCE;
        assert!(compare(&f32s(&[1.0, 0.0, f32::NAN]), &f32s(&[1.0005, 5e-6, f32::NAN]), tol).is_ok());
        assert!(compare(&f32s(&[f32::INFINITY]), &f32s(&[f32::INFINITY]), tol).is_ok());
    }

    #[test]
    fn half_floats_compare_by_value() {
        let half = |v: &[f32]| f32s(v).cast(DType::F16).expect("f32 -> f16");
        assert!(compare(&half(&[0.5, 1.0]), &half(&[0.5, 1.0]), NODE_TOLERANCE).is_ok());
        let err = compare(&half(&[0.5, 1.0]), &half(&[0.0, 1.0]), NODE_TOLERANCE).unwrap_err();
        assert!(err.starts_with("1 of 2 elements differ; first at 0"), "{err}");
        // Two f16 ulps apart passes, three do not (1 + k * 2^-10 is exact in f16).
        let ulps = |k: f32| half(&[1.0 + k * 2f32.powi(-10)]);
        assert!(compare(&ulps(0.0), &ulps(2.0), NODE_TOLERANCE).is_ok());
        assert!(compare(&ulps(0.0), &ulps(3.0), NODE_TOLERANCE).is_err());
    }

    #[test]
    fn floats_outside_tolerance_differ() {
        let err = compare(&f32s(&[1.0, 2.0, 3.0]), &f32s(&[1.0, 2.01, 3.0]), NODE_TOLERANCE).unwrap_err();
        assert!(err.starts_with("1 of 3 elements differ; first at 1"), "{err}");
        assert!(compare(&f32s(&[f32::NAN]), &f32s(&[0.0]), NODE_TOLERANCE).is_err());
        assert!(compare(&f32s(&[f32::INFINITY]), &f32s(&[f32::NEG_INFINITY]), NODE_TOLERANCE).is_err());
        assert!(compare(&f32s(&[0.0]), &f32s(&[2e-5]), NODE_TOLERANCE).is_err());
    }

    #[test]
    fn dtype_and_shape_must_match() {
        let ints = Tensor::from_vec([2], vec![1i64, 2]);
        assert!(compare(&f32s(&[1.0, 2.0]), &ints, NODE_TOLERANCE).unwrap_err().starts_with("dtype"));
        let reshaped = f32s(&[1.0, 2.0]).reshaped([1, 2]).unwrap();
        assert!(compare(&f32s(&[1.0, 2.0]), &reshaped, NODE_TOLERANCE).unwrap_err().starts_with("shape"));
    }

    #[test]
    fn integers_and_bools_are_exact() {
        let big = Tensor::from_vec([1], vec![u64::MAX]);
        let big_minus = Tensor::from_vec([1], vec![u64::MAX - 1]);
        assert!(compare(&big, &big_minus, NODE_TOLERANCE).is_err());
        let a = Tensor::from_vec([2], vec![1000i32, 7]);
        let b = Tensor::from_vec([2], vec![1001i32, 7]);
        assert!(compare(&a, &b, NODE_TOLERANCE).is_err());
        let t = Tensor::from_vec([2], vec![true, false]);
        assert!(compare(&t, &t.clone(), NODE_TOLERANCE).is_ok());
        assert!(compare(&t, &Tensor::from_vec([2], vec![true, true]), NODE_TOLERANCE).is_err());
    }

    #[test]
    fn exit_codes_are_classified() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(classify_exit(ExitStatus::from_raw(0), ""), Ok(()));
        let panic = classify_exit(ExitStatus::from_raw(101 << 8), "x\nthread 'main' panicked at a.rs\n");
        assert_eq!(panic, Err(Status::Crash("kiln bug (exit 101): thread 'main' panicked at a.rs".into())));
        // A panic the backend caught: the CLI's `internal error` line, exit 101, is a crash too.
        let stderr = "note: x\ninternal error: kernel n1 (Abs): the kernel emitter panicked: boom\nthis is a bug";
        let caught = classify_exit(ExitStatus::from_raw(101 << 8), stderr);
        let want = "kiln bug (exit 101): internal error: kernel n1 (Abs): the kernel emitter panicked: boom";
        assert_eq!(caught, Err(Status::Crash(want.into())));
        let fail = classify_exit(ExitStatus::from_raw(1 << 8), "note: x\nerror: unsupported op Foo\nmore");
        assert_eq!(fail, Err(Status::Fail("exit 1: error: unsupported op Foo".into())));
        let fail = classify_exit(ExitStatus::from_raw(2 << 8), "\nerror: 1 unsupported op(s):\n  Foo (n1)");
        assert_eq!(fail, Err(Status::Fail("exit 2: error: 1 unsupported op(s): Foo (n1)".into())));
        let silent = classify_exit(ExitStatus::from_raw(3 << 8), "");
        assert_eq!(silent, Err(Status::Fail("exit 3: (no stderr)".into())));
        assert!(matches!(classify_exit(ExitStatus::from_raw(11), ""), Err(Status::Crash(_))));
    }

    #[test]
    fn a_run_past_the_time_limit_is_a_crash() {
        let child = Command::new("sleep").arg("5").spawn().expect("sleep");
        let started = Instant::now();
        let status = wait_or_kill(child, Duration::from_millis(100));
        assert_eq!(status, Err(Status::Crash("timeout: killed after 0s".into())));
        assert!(started.elapsed() < Duration::from_secs(4), "the child was not killed");
        let quick = Command::new("true").spawn().expect("true");
        assert!(wait_or_kill(quick, Duration::from_secs(30)).is_ok_and(|e| e.success()));
    }

    #[test]
    fn a_missing_pass_list_is_an_error() {
        let err = read_expected(Path::new("/nonexistent/kiln/pass-list.txt")).unwrap_err();
        assert!(err.starts_with("cannot read the pass list /nonexistent/kiln/pass-list.txt"), "{err}");
        let list = parse_list("# header\ntest_b\n\n  test_a  \n");
        assert_eq!(list.into_iter().collect::<Vec<_>>(), ["test_a", "test_b"]);
    }

    fn names(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn blessing_only_adds() {
        let old = names(&["a", "b", "gone"]);
        let regressions = ["b".to_string(), "gone".to_string()];
        let blessed = bless_list(&old, &names(&["a", "new"]), &regressions, true, &BTreeSet::new());
        assert_eq!(blessed.list, names(&["a", "b", "gone", "new"]));
        assert_eq!(blessed.added, ["new"]);
        assert!(blessed.removed.is_empty() && blessed.kept.is_empty());
    }

    #[test]
    fn blessing_removes_only_named_tests_that_did_not_pass() {
        let old = names(&["a", "b", "gone"]);
        let regressions = ["b".to_string(), "gone".to_string()];
        // `a` passes and `unrun` was not judged: both stay; `b` did not pass and leaves.
        let blessed = bless_list(&old, &names(&["a"]), &regressions, false, &names(&["a", "b", "unrun"]));
        assert_eq!(blessed.list, names(&["a", "gone"]));
        assert_eq!(blessed.removed, ["b"]);
        assert_eq!(blessed.kept, ["a", "unrun"]);
        assert!(blessed.added.is_empty());
    }

    #[test]
    fn judging_finds_regressions_crashes_and_new_passes() {
        let case = |n: &str| Case {
            name: n.into(),
            op: "Abs".into(),
            inputs: vec![],
            dir: PathBuf::new(),
            tolerance: NODE_TOLERANCE,
            opt_level: 2,
        };
        let cases = [case("a"), case("b"), case("c")];
        let results = [Status::Pass, Status::Fail("x".into()), Status::Crash("y".into())];
        let expected: BTreeSet<String> = ["b", "gone"].iter().map(|s| s.to_string()).collect();
        let v = judge(&cases, &results, &expected);
        assert_eq!(v.regressions, ["b", "gone"]);
        assert_eq!(v.crashes, ["c"]);
        assert_eq!(v.newly_passing, ["a"]);
        assert_eq!(totals(&results), "pass 1 / 3, fail 1, crash 1");
        let table = per_op_table(&cases, &results);
        assert_eq!(table.split_whitespace().collect::<Vec<_>>(), ["Abs", "1/3"]);
    }
}
