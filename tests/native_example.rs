//! The bundled example through `kiln compile`, as the README shows it: objects for x86-64 and
//! AArch64 linked with the C driver and run (AArch64 under qemu), from one thread and from two
//! threads with two workspaces at once; outputs equal the JIT's within 1e-5 relative. Also: the
//! objects are position-independent (they link into a shared library), have no writable data
//! and no undefined symbols (`nm -u` prints nothing); the Mach-O and COFF objects define the ABI
//! symbols; and bad targets, features and names are clear errors.

#[path = "common/native.rs"]
mod native;

use kiln::{Model, NativeOptions, Options, Tensor};
use native::{compare, link, repo_root, require_tools, run, undefined_symbols, Target, AARCH64, X86_64};
use object::{Object, ObjectSection, ObjectSymbol, SectionKind};
use std::path::{Path, PathBuf};
use std::process::Command;

const NAME: &str = "mobilenet_tiny";

fn example() -> PathBuf {
    repo_root().join("examples/mobilenet_tiny.onnx")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kiln-native").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The example's input and the JIT's outputs for it.
fn jit_reference(opt_level: u8) -> (Tensor, Vec<Tensor>) {
    let input = kiln::io::read_tensor(&repo_root().join("examples/input.npy")).expect("examples/input.npy").tensor;
    let compiled =
        Model::load(example()).expect("load").compile(&Options::with_opt_level(opt_level)).expect("JIT compile");
    let outputs = compiled.run(std::slice::from_ref(&input)).expect("JIT run");
    (input, outputs)
}

/// `kiln compile` with `args`; returns stdout, failing the test on an error exit.
fn kiln_compile(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln")).arg("compile").args(args).output().expect("run kiln");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kiln compile {args:?} failed:\n{stdout}{stderr}");
    stdout.into_owned()
}

/// The number after `label: ` in `kiln compile`'s report.
fn figure(report: &str, label: &str) -> usize {
    let line = report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no `{label}` in\n{report}"));
    // The figure is the first word (`weight bytes: N (the model's own: ...)`).
    let number = line.split_whitespace().next().unwrap_or_default();
    number.parse().unwrap_or_else(|_| panic!("`{label}: {line}` is not a number"))
}

/// Compiles the example for `t` through the CLI (`extra` flags), checks it, links it, runs it
/// single- and multi-threaded and compares with the JIT.
fn compile_link_run(t: &Target, extra: &[&str], test: &str) {
    require_tools(t);
    let dir = scratch(test);
    let object = dir.join(format!("{NAME}.o"));
    let mut args = vec![example().to_str().unwrap().to_string(), "--target".into(), t.triple.into()];
    args.extend(["-o".to_string(), object.to_str().unwrap().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let report = kiln_compile(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let (code, weights, workspace, size) = (
        figure(&report, "code bytes"),
        figure(&report, "weight bytes"),
        figure(&report, "workspace bytes"),
        figure(&report, "object bytes"),
    );
    assert!(code > 0 && weights > 0 && workspace > 0, "{report}");
    if t.triple == AARCH64.triple {
        // Every AArch64 object's dense kernels are the NEON micro-kernels.
        assert!(figure(&report, "micro-kernels") > 0 && report.contains("micro-kernel isa: neon"), "{report}");
    }
    if !extra.contains(&"--cpu") {
        // The default level: native for the host triple, generic when cross-compiling.
        let cpu = if t.triple == X86_64.triple { "cpu: native" } else { "cpu: generic" };
        assert!(report.contains(cpu), "{report}");
    }
    assert_eq!(size as u64, std::fs::metadata(&object).expect("object written").len(), "{report}");
    let features = report.lines().find(|l| l.starts_with("features: ")).unwrap_or_default();
    native::progress(&format!(
        "native example {} {}: object {size} B, code {code} B, weights {weights} B, workspace {workspace} B; {features}",
        t.triple,
        extra.join(" ")
    ));
    let undefined = undefined_symbols(t, &object).expect("nm");
    assert_eq!(undefined, "", "{}: nm -u must print nothing", t.triple);
    check_elf(&object, weights);
    let exe = link(&object, NAME, t, &dir).unwrap_or_else(|e| panic!("{e}"));
    let opt_level = extra.iter().position(|&a| a == "--opt-level").and_then(|i| extra.get(i + 1));
    let (input, want) = jit_reference(opt_level.map_or(2, |l| l.parse().expect("opt level")));
    let types: Vec<_> = want.iter().map(Tensor::ty).collect();
    let got = run(&exe, t, std::slice::from_ref(&input), &types, true).unwrap_or_else(|e| panic!("{e}"));
    for (w, g) in want.iter().zip(&got) {
        compare(w, g).unwrap_or_else(|e| panic!("{}: {e}", t.triple));
    }
    check_pic(&object, t, &dir);
}

/// Weights in read-only data, nothing writable.
fn check_elf(object: &Path, weights: usize) {
    let bytes = std::fs::read(object).expect("read object");
    let file = object::File::parse(bytes.as_slice()).expect("parse object");
    assert_eq!(file.format(), object::BinaryFormat::Elf);
    let size_of =
        |kinds: &[SectionKind]| file.sections().filter(|s| kinds.contains(&s.kind())).map(|s| s.size()).sum::<u64>();
    assert!(size_of(&[SectionKind::ReadOnlyData]) as usize >= weights, "weights must be read-only data");
    assert_eq!(size_of(&[SectionKind::Data, SectionKind::UninitializedData]), 0, "no writable data");
}

/// A position-dependent relocation would make a shared-library link fail.
fn check_pic(object: &Path, t: &Target, dir: &Path) {
    let lib = dir.join("libmodel.so");
    let out = Command::new(t.cc).args(["-shared", "-o"]).arg(&lib).arg(object).output().expect("run cc");
    assert!(out.status.success(), "{}: not position-independent: {}", t.triple, String::from_utf8_lossy(&out.stderr));
}

#[test]
fn example_runs_on_x86_64_generic_from_two_threads() {
    compile_link_run(&X86_64, &["--cpu", "generic"], "x86_64_generic");
}

#[test]
fn example_runs_on_x86_64_native_from_two_threads() {
    compile_link_run(&X86_64, &[], "x86_64_native");
}

#[test]
fn example_runs_on_x86_64_generic_plus_avx2_fma_from_two_threads() {
    compile_link_run(&X86_64, &["--cpu", "generic", "--features", "+avx2,+fma"], "x86_64_avx2_fma");
}

/// The unoptimized graph (no fusion, no folding): other kernels than at the default level.
#[test]
fn example_runs_on_aarch64_at_opt_level_0() {
    compile_link_run(&AARCH64, &["--opt-level", "0"], "aarch64_opt0");
}

/// Below x86-64-v2 (SSE2 only, no SSE4.1 rounding): the kernels' libcall-free fallbacks.
#[test]
fn example_runs_on_x86_64_sse2_from_two_threads() {
    compile_link_run(&X86_64, &["--cpu", "generic", "--features", "-sse3"], "x86_64_sse2");
}

#[test]
fn example_runs_on_aarch64_from_two_threads() {
    compile_link_run(&AARCH64, &[], "aarch64");
}

/// Mach-O and COFF: the format, the architecture, the two ABI symbols defined and global (with
/// Mach-O's `_` prefix), no undefined symbols, and the weights in read-only data.
#[test]
fn darwin_and_windows_objects_define_the_abi_symbols() {
    let cases = [
        ("aarch64-apple-darwin", object::BinaryFormat::MachO, object::Architecture::Aarch64, "_"),
        ("x86_64-pc-windows-msvc", object::BinaryFormat::Coff, object::Architecture::X86_64, ""),
    ];
    for (triple, format, arch, prefix) in cases {
        let opts = NativeOptions { target: Some(triple.into()), ..NativeOptions::default() };
        let obj = Model::load(example()).unwrap().compile_object(&Options::default(), &opts).unwrap();
        let file = object::File::parse(obj.object.as_slice()).unwrap_or_else(|e| panic!("{triple}: {e}"));
        assert_eq!((file.format(), file.architecture()), (format, arch), "{triple}");
        for sym in ["run", "workspace_size"] {
            let want = format!("{prefix}{NAME}_{sym}");
            let found = file.symbols().find(|s| s.name() == Ok(want.as_str()));
            let found = found.unwrap_or_else(|| panic!("{triple}: no symbol {want}"));
            assert!(found.is_definition() && found.is_global(), "{triple}: {want} must be a global definition");
        }
        let undefined: Vec<_> = file
            .symbols()
            .filter(|s| s.is_undefined())
            .filter_map(|s| s.name().ok())
            .filter(|n| !n.is_empty())
            .collect();
        assert!(undefined.is_empty(), "{triple}: undefined {undefined:?}");
        let rodata: u64 = file.sections().filter(|s| s.kind() == SectionKind::ReadOnlyData).map(|s| s.size()).sum();
        assert!(
            rodata as usize >= obj.stats.weight_bytes,
            "{triple}: rodata {rodata} < weights {}",
            obj.stats.weight_bytes
        );
    }
}

/// `kiln compile` with `args`; returns its stderr, requiring exit code 1.
fn compile_error(args: &[&str]) -> String {
    let dir = scratch("errors");
    let out_path = dir.join("x.o");
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("compile")
        .arg(example())
        .arg("-o")
        .arg(&out_path)
        .args(args)
        .output()
        .expect("run kiln");
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    assert!(!out_path.exists(), "{args:?}: no object on error");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_targets_features_and_names_are_clear_errors() {
    let err = compile_error(&["--target", "riscv64gc-unknown-linux-gnu"]);
    assert!(err.contains("unsupported target triple `riscv64gc-unknown-linux-gnu`; supported: x86_64-unknown-linux-gnu, aarch64-unknown-linux-gnu, aarch64-apple-darwin, x86_64-pc-windows-msvc"), "{err}");
    let err = compile_error(&["--target", "aarch64-unknown-linux-gnu", "--features", "+avx2"]);
    assert!(err.contains("unknown feature `avx2` for `aarch64-unknown-linux-gnu`; supported: lse, fp16"), "{err}");
    let err = compile_error(&["--features", "-sse5"]);
    assert!(err.contains("unknown feature `sse5`") && err.contains("avx2, fma"), "{err}");
    let err = compile_error(&["--target", "aarch64-unknown-linux-gnu", "--cpu", "native"]);
    assert!(err.contains("--cpu native needs a target of the host's architecture"), "{err}");
    let err = compile_error(&["--name", "3model"]);
    assert!(err.contains("`3model` is not a C identifier"), "{err}");
}

#[test]
fn features_edits_are_applied_and_printed() {
    let dir = scratch("features");
    let (object, model) = (dir.join("m.o"), example());
    let args = [
        model.to_str().unwrap(),
        "-o",
        object.to_str().unwrap(),
        "--cpu",
        "generic",
        "--features",
        "+fma,-popcnt",
        "--name",
        "m",
    ];
    let report = kiln_compile(&args);
    assert!(report.contains("features: sse3,ssse3,sse41,sse42,cmpxchg16b,avx,fma\n"), "{report}");
    assert!(report.contains("symbols: m_run, m_workspace_size"), "{report}");
    let header = std::fs::read_to_string(dir.join("m.h")).expect("header next to the object by default");
    assert!(
        header.contains("int m_run(const void *const *inputs, void *const *outputs, void *workspace);"),
        "{header}"
    );
}

/// The README's main command and C program, verbatim: compiled for AArch64, built as the README
/// says, run under qemu; the scores it prints are the JIT's for an all-zero input.
#[test]
fn readme_c_program_runs_on_aarch64() {
    require_tools(&AARCH64);
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let program = std::fs::read_to_string(repo_root().join("tests/c/readme_main.c")).expect("readme_main.c");
    let command = "compile examples/mobilenet_tiny.onnx --target aarch64-unknown-linux-gnu -o mobilenet_tiny.o";
    let build = "aarch64-linux-gnu-gcc -static main.c mobilenet_tiny.o -o main && qemu-aarch64 ./main";
    for text in [program.as_str(), command, build] {
        assert!(readme.contains(text), "README.md must contain verbatim:\n{text}");
    }
    let dir = scratch("readme");
    // The README's command, run as written from a directory where `examples/` is the repo's.
    std::os::unix::fs::symlink(repo_root().join("examples"), dir.join("examples")).expect("symlink examples/");
    let out =
        Command::new(env!("CARGO_BIN_EXE_kiln")).current_dir(&dir).args(command.split(' ')).output().expect("run kiln");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(dir.join("main.c"), &program).expect("write main.c");
    let run = Command::new("sh").arg("-c").arg(build).current_dir(&dir).output().expect("run sh");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{build}: {}{stdout}", String::from_utf8_lossy(&run.stderr));
    let printed: Vec<f64> = stdout.lines().filter_map(|l| l.split(": ").nth(1)?.parse().ok()).collect();
    let compiled = Model::load(example()).unwrap().compile(&Options::default()).unwrap();
    let zeros = Tensor::zeros(&compiled.input_types()[0]);
    let want = compiled.run(&[zeros]).unwrap()[0].to_f64_vec();
    assert_eq!(printed.len(), want.len(), "{stdout}");
    for (k, (p, w)) in printed.iter().zip(&want).enumerate() {
        // printf("%f") keeps 6 decimals.
        assert!((p - w).abs() <= 5e-7 + 1e-5 * w.abs(), "class {k}: printed {p}, JIT {w}");
    }
}

/// Without --name, the C name is the model file's stem made an identifier.
#[test]
fn the_default_name_is_the_file_stem_as_a_c_identifier() {
    let dir = scratch("default_name");
    let model = dir.join("3d-net.v2.onnx");
    std::fs::copy(example(), &model).expect("copy the example");
    let object = dir.join("out.o");
    let report = kiln_compile(&[model.to_str().unwrap(), "-o", object.to_str().unwrap()]);
    assert!(report.contains("symbols: m_3d_net_v2_run, m_3d_net_v2_workspace_size"), "{report}");
    let header = std::fs::read_to_string(dir.join("out.h")).expect("header");
    assert!(header.contains("#define m_3d_net_v2_NUM_INPUTS 1"), "{header}");
}
