//! The command line, declared with clap's derive API, and the parsers of `NAME=DIMS` and
//! `[NAME=]FILE` arguments. The long help (`--help`) carries worked examples.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples (see `kiln COMMAND --help` for each command's own):
  kiln inspect model.onnx --io                     the inputs and outputs, symbolic dims included
  kiln run model.onnx                              run on seeded random inputs
  kiln run model.onnx --input x=x.npy --output-dir out/
                                                   run on x.npy, write out/<output name>.npy
  kiln bench model.onnx --profile                  latency, and time per kernel
  kiln compile model.onnx --target aarch64-unknown-linux-gnu -o model.o
                                                   a native object and model.h (C ABI)";

const RUN_EXAMPLES: &str = "\
Examples:
  kiln run model.onnx                              run on seeded random inputs
  kiln run model.onnx --input x=x.npy --output-dir out/
                                                   run on x.npy, write out/<output name>.npy
  kiln run model.onnx --input input_0.pb --input input_1.pb
                                                   ONNX test data, bound to inputs in order
  kiln run model.onnx --shape x=1,3,224,224        fix the symbolic dims of input x
  kiln run model.onnx --dim batch=4                fix the dim named batch in every input
  kiln run model.onnx --shape sr=                  a scalar input (empty dims)
  kiln run model.onnx --input x=cat.npy --top-k 5  the 5 best class scores";

const INSPECT_EXAMPLES: &str = "\
Examples:
  kiln inspect model.onnx --io                     the input and output signatures only
  kiln inspect model.onnx --stage import           the IR as imported, and a summary
  kiln inspect model.onnx                          the optimized IR and the optimizer's report
  kiln inspect model.onnx --json                   the summary as one JSON object
  kiln inspect model.onnx | grep -A5 '^layouts:'   which layout each conv got";

const COMPILE_EXAMPLES: &str = "\
Examples:
  kiln compile model.onnx -o model.o               host triple, --cpu native
  kiln compile model.onnx --target aarch64-unknown-linux-gnu -o model.o --header include/model.h
  kiln compile model.onnx -o model.o --cpu x86-64-v3
                                                   any x86-64 CPU with AVX2 and FMA
  kiln compile model.onnx --target aarch64-unknown-linux-gnu --cpu cortex-a76 -o model.o
  kiln compile model.onnx -o model.o --cpu generic --features +avx2,+fma --name net
  kiln compile model.onnx -o model.o --json        the figures as one JSON object";

const BENCH_EXAMPLES: &str = "\
Examples:
  kiln bench model.onnx                            compile time and latency
  kiln bench model.onnx --iters 100 --json         the last line is JSON
  kiln bench model.onnx --profile                  a table of the time per kernel
  kiln bench model.onnx --features -avx512f        the AVX2 kernels on an AVX-512 machine
  kiln bench model.onnx --opt-level 0              the baseline without graph rewrites";

const CALIBRATE_EXAMPLES: &str = "\
Examples:
  kiln calibrate                                   every probe, 30 runs each
  kiln calibrate --runs 5                          quicker, noisier";

/// kiln: an ONNX compiler for edge CPUs.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, after_long_help = EXAMPLES)]
#[command(long_about = "kiln: an ONNX compiler for edge CPUs.\n\n\
Compiles an ONNX model with static shapes to native code (Cranelift) and runs it in-process. \
Symbolic input dims are fixed with --shape, or from the shapes of the input files given.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile a model and run it once on inputs from files (or seeded random inputs).
    #[command(after_long_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Print the IR of a model after a pipeline stage, and a summary (ops, parameters, FLOPs).
    #[command(after_long_help = INSPECT_EXAMPLES)]
    Inspect(InspectArgs),
    /// Compile a model into a self-contained native object file and a C header.
    #[command(after_long_help = COMPILE_EXAMPLES)]
    Compile(CompileArgs),
    /// Measure compile time and run latency.
    #[command(after_long_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
    /// Time kiln's kernels on this machine: the figures the optimizer's cost model is set from.
    #[command(after_long_help = CALIBRATE_EXAMPLES)]
    Calibrate(CalibrateArgs),
}

/// `kiln calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Timed runs per probe (the median is reported).
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
}

/// What every command needs: the model and how to specialise and compile it.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The ONNX model file.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Fix the shape of an input, e.g. `--shape x=1,3,224,224`, `--shape sr=` for a scalar
    /// (dims separated by commas; once per input). Its symbolic dims' names are then fixed for
    /// every input that uses them.
    #[arg(long = "shape", value_name = "NAME=DIMS", value_parser = parse_shape)]
    pub shapes: Vec<ShapeArg>,
    /// Fix a symbolic dim by the name the model gives it, in every input, e.g. `--dim batch=4`
    /// (repeatable; `kiln inspect --io` lists the names).
    #[arg(long = "dim", value_name = "NAME=SIZE", value_parser = parse_dim)]
    pub dims: Vec<DimArg>,
    /// Optimisation level. 0: no graph rewrites (the baseline); 1: algebraic simplification and
    /// constant folding (BatchNorm, scales and biases into conv weights); 2: also operator
    /// fusion (epilogues, elementwise chains) and layout selection.
    #[arg(long, value_name = "0|1|2", default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub opt_level: u8,
    /// Stop equality saturation when the e-graph has this many nodes.
    #[arg(long, value_name = "N", default_value_t = kiln::Options::default().egraph_node_limit)]
    pub egraph_node_limit: usize,
    /// Stop equality saturation after this many iterations.
    #[arg(long, value_name = "N", default_value_t = kiln::Options::default().egraph_iter_limit)]
    pub egraph_iter_limit: usize,
    /// Stop equality saturation after this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = kiln::Options::default().egraph_time_limit.as_millis() as u64)]
    pub egraph_time_limit_ms: u64,
    /// Do not run these optimizer rules (comma-separated or repeated), e.g.
    /// `--disable-rule conv-to-winograd` keeps every conv direct.
    #[arg(long = "disable-rule", value_name = "RULE", value_delimiter = ',')]
    pub disabled_rules: Vec<String>,
    /// Threads a run uses (`run`, `bench`), or that an object's workspace is sized for
    /// (`compile`) [default: the machine's physical cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: Option<u64>,
}

impl ModelArgs {
    /// The compilation options these arguments ask for.
    pub fn options(&self) -> kiln::Options {
        let mut o = kiln::Options::with_opt_level(self.opt_level);
        o.egraph_node_limit = self.egraph_node_limit;
        o.egraph_iter_limit = self.egraph_iter_limit;
        o.egraph_time_limit = std::time::Duration::from_millis(self.egraph_time_limit_ms);
        o.disabled_rules = self.disabled_rules.clone();
        o.threads = self.threads.map_or(o.threads, |t| t as usize);
        o
    }
}

/// Input files of `run` and `bench`.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// An input tensor file (.npy or ONNX TensorProto .pb), as `NAME=FILE`, or `FILE` to bind
    /// to the model's inputs in order (repeatable). Its shape fixes that input's symbolic dims.
    #[arg(long = "input", value_name = "[NAME=]FILE", value_parser = parse_input)]
    pub inputs: Vec<InputArg>,
}

/// The CPU features of the in-process JIT (`run`, `bench`).
#[derive(Debug, Args)]
pub struct JitArgs {
    /// Restrict the CPU features the JIT uses, as `kiln compile --features` edits them, e.g.
    /// `--features -avx512f` runs the AVX2 micro-kernels on an AVX-512 machine and
    /// `--features -avx2` Cranelift's 128-bit kernels only [default: every feature of this CPU].
    #[arg(long = "features", value_name = "-F,+F", allow_hyphen_values = true)]
    pub features: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub inputs: InputArgs,
    #[command(flatten)]
    pub jit: JitArgs,
    /// Write the outputs into DIR, each named after its graph output (made a safe file name),
    /// in the inputs' format (.npy when no input was given). Checked before compiling.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Also print the K largest values of each output's rows (the last axis) with their
    /// indices: the best classes of class scores.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub top_k: Option<u64>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The pipeline stage whose IR to print.
    #[arg(long, value_enum, default_value_t = StageArg::Optimized)]
    pub stage: StageArg,
    /// Print only the input and output signatures as the model declares them (symbolic dims
    /// included), without compiling.
    #[arg(long)]
    pub io: bool,
    /// Print one JSON object (the signatures, or the summary and the optimizer's report)
    /// instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub inputs: InputArgs,
    #[command(flatten)]
    pub jit: JitArgs,
    /// Timed runs [default: 20, stopping early after about 10 s].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub iters: Option<u64>,
    /// Untimed runs before timing.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub warmup: u64,
    /// Print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Then time every kernel call (a probed copy of the entry, no perf needed) and print a
    /// table: kernel, its first ONNX node, calls, total time, share, GFLOP/s.
    #[arg(long)]
    pub profile: bool,
}

/// `kiln compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The object file to write.
    #[arg(short = 'o', long = "output", value_name = "OUT.o")]
    pub output: PathBuf,
    /// The C header to write [default: OUT.o with the extension .h].
    #[arg(long, value_name = "OUT.h")]
    pub header: Option<PathBuf>,
    /// Target triple [default: the host's]. Supported: x86_64-unknown-linux-gnu,
    /// aarch64-unknown-linux-gnu, aarch64-apple-darwin, x86_64-pc-windows-msvc.
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<String>,
    /// The C name of the symbols (NAME_run, NAME_workspace_size) [default: the model file's
    /// stem made a C identifier].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The CPU level: `native` (the host's features), `generic` (the architecture's baseline:
    /// x86-64-v2, or Armv8-A with NEON), or a named level or core: x86-64-v2/v3/v4, haswell,
    /// skylake, skylake-avx512, cascadelake, icelake-server, sapphirerapids, znver2..znver5,
    /// armv8-a, cortex-a53/a55/a72/a76/a78, cortex-x2, neoverse-n1/v1/n2, apple-m1/m2/m3
    /// [default: native for the host triple, generic when cross-compiling].
    #[arg(long, value_name = "CPU", value_parser = parse_cpu)]
    pub cpu: Option<CpuArg>,
    /// Features to add or remove after the CPU level, e.g. `+avx2,+fma` or `-sse41`.
    #[arg(long, value_name = "+F,-F", allow_hyphen_values = true)]
    pub features: Vec<String>,
    /// Print the figures as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `--cpu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuArg {
    Native,
    Generic,
    Named(kiln::cpus::NamedCpu),
}

/// Parses `native`, `generic` or a name of [`kiln::cpus::NAMED_CPUS`].
pub fn parse_cpu(s: &str) -> Result<CpuArg, String> {
    match s.to_ascii_lowercase().as_str() {
        "native" => Ok(CpuArg::Native),
        "generic" => Ok(CpuArg::Generic),
        _ => kiln::cpus::named_cpu(s)
            .map(CpuArg::Named)
            .ok_or_else(|| format!("unknown CPU '{s}'; expected native, generic or one of {}", kiln::cpus::names())),
    }
}

/// A pipeline stage on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    Import,
    Optimized,
}

/// `--shape NAME=DIMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeArg {
    pub name: String,
    pub dims: Vec<usize>,
}

/// Parses the command line, with the defaults only known at run time written into the help as
/// their values (the host's triple for `kiln compile --target`, this CPU's features for the
/// JIT's `--features`).
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let host = kiln::native::host_triple();
    let help = format!(
        "Target triple [default: the host's, {host}]. Supported: x86_64-unknown-linux-gnu, \
         aarch64-unknown-linux-gnu, aarch64-apple-darwin, x86_64-pc-windows-msvc."
    );
    let features = format!(
        "Restrict the CPU features the JIT uses, as `kiln compile --features` edits them, e.g. \
         `--features -avx512f` runs the AVX2 micro-kernels on an AVX-512 machine and \
         `--features -avx2` Cranelift's 128-bit kernels only [default: every feature of this CPU: {}].",
        Some(kiln_backend::isa::host_features().join(","))
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "the baseline".into())
    );
    let jit = |c: clap::Command| c.mut_arg("features", |a| a.help(features.clone()).long_help(features.clone()));
    let command = Cli::command()
        .mut_subcommand("compile", |c| c.mut_arg("target", |a| a.help(help.clone()).long_help(help)))
        .mut_subcommand("run", jit)
        .mut_subcommand("bench", jit);
    Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
}

/// `--dim NAME=SIZE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DimArg {
    pub name: String,
    pub size: usize,
}

/// `--input [NAME=]FILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputArg {
    pub name: Option<String>,
    pub path: PathBuf,
}

/// Parses `NAME=D0,D1,...`; `NAME=` is a scalar. Each bad dim is quoted as written.
pub fn parse_shape(s: &str) -> Result<ShapeArg, String> {
    let hint = "expected NAME=DIMS with dims separated by commas, e.g. x=1,3,224,224, or x= for a scalar";
    let (name, dims) = s.split_once('=').ok_or_else(|| format!("missing '=' ({hint})"))?;
    if name.is_empty() {
        return Err(format!("missing input name ({hint})"));
    }
    if dims.trim().is_empty() {
        return Ok(ShapeArg { name: name.to_string(), dims: Vec::new() });
    }
    let dims = dims.split(',').map(|d| parse_size(d).map_err(|e| format!("{e} ({hint})"))).collect::<Result<_, _>>()?;
    Ok(ShapeArg { name: name.to_string(), dims })
}

/// Parses `NAME=SIZE`.
pub fn parse_dim(s: &str) -> Result<DimArg, String> {
    let hint = "expected NAME=SIZE, e.g. batch=4";
    let (name, size) = s.split_once('=').ok_or_else(|| format!("missing '=' ({hint})"))?;
    if name.is_empty() {
        return Err(format!("missing dim name ({hint})"));
    }
    let size = parse_size(size).map_err(|e| format!("{e} ({hint})"))?;
    Ok(DimArg { name: name.to_string(), size })
}

fn parse_size(d: &str) -> Result<usize, String> {
    match d.trim() {
        "" => Err("empty dim".into()),
        t => t.parse::<usize>().map_err(|_| format!("dim '{t}' is not a non-negative integer")),
    }
}

/// Parses `NAME=FILE` or `FILE`; an existing file whose name contains `=` is taken whole.
pub fn parse_input(s: &str) -> Result<InputArg, String> {
    if s.is_empty() {
        return Err("empty input (expected [NAME=]FILE, e.g. x=x.npy)".into());
    }
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !std::path::Path::new(s).exists() => {
            if path.is_empty() {
                return Err(format!("missing file after '{name}=' (expected NAME=FILE)"));
            }
            Ok(InputArg { name: Some(name.to_string()), path: path.into() })
        }
        _ => Ok(InputArg { name: None, path: s.into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_parse_with_commas_and_empty_is_a_scalar() {
        let want = ShapeArg { name: "x".into(), dims: vec![1, 3, 224, 224] };
        assert_eq!(parse_shape("x=1,3,224,224"), Ok(want));
        assert_eq!(parse_shape("sr="), Ok(ShapeArg { name: "sr".into(), dims: vec![] }));
    }

    #[test]
    fn bad_shapes_say_what_is_wrong() {
        assert!(parse_shape("x").unwrap_err().contains("missing '='"));
        assert!(parse_shape("=1,2").unwrap_err().contains("missing input name"));
        assert!(parse_shape("x=1,a").unwrap_err().contains("dim 'a'"));
        assert!(parse_shape("x=1,-2").unwrap_err().contains("dim '-2'"));
        assert!(parse_shape("x=1x3").unwrap_err().contains("dim '1x3'"));
        assert!(parse_shape("x=1,,3").unwrap_err().contains("empty dim"));
        assert!(parse_dim("batch=x").unwrap_err().contains("dim 'x'"));
        assert_eq!(parse_dim("batch=4"), Ok(DimArg { name: "batch".into(), size: 4 }));
    }

    #[test]
    fn inputs_parse_named_or_positional() {
        let named = parse_input("x=data/x.npy").unwrap();
        assert_eq!(named, InputArg { name: Some("x".into()), path: "data/x.npy".into() });
        let positional = parse_input("data/x.npy").unwrap();
        assert_eq!(positional, InputArg { name: None, path: "data/x.npy".into() });
        assert!(parse_input("x=").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
