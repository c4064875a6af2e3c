//! Compilation options shared by the API and the CLI.

use std::time::Duration;

/// How to compile a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Optimisation level 0..=2: 0 runs no graph passes, 2 runs all of them (default).
    pub opt_level: u8,
    /// Run the IR verifier after every stage. On by default in debug builds (and so in tests),
    /// off in release builds where it would only cost compile time.
    pub verify: bool,
    /// E-graph size at which equality saturation stops (reported as the stop reason).
    pub egraph_node_limit: usize,
    /// Saturation iterations at most.
    pub egraph_iter_limit: usize,
    /// Wall time of saturation at most.
    pub egraph_time_limit: Duration,
    /// Optimizer rules not to run, by name (`conv-to-winograd`, `conv-to-nhwc`...; the names
    /// `kiln inspect` reports): for experiments and for pinning a choice.
    pub disabled_rules: Vec<String>,
    /// CPU feature edits for the in-process JIT (`-avx512f`, `-avx2`, ...; see
    /// `kiln_backend::isa::host_isa_with`); empty: every feature of this CPU.
    pub jit_features: Vec<String>,
    /// Threads a run of the JIT-compiled model uses (the caller's included), and the thread
    /// count a native object's workspace is sized for; kernels with enough work are cut into
    /// that many parts, and results are the same bits for every count. Default: the machine's
    /// physical cores, as onnxruntime does.
    pub threads: usize,
    /// Also JIT-compile the probed entry that [`crate::CompiledModel::profile`] times kernel by
    /// kernel (`kiln bench --profile`); ordinary runs are unaffected.
    pub profile: bool,
}

impl Default for Options {
    fn default() -> Self {
        let limits = kiln_passes::OptConfig::default();
        Options {
            opt_level: 2,
            verify: cfg!(debug_assertions),
            egraph_node_limit: limits.node_limit,
            egraph_iter_limit: limits.iter_limit,
            egraph_time_limit: limits.time_limit,
            jit_features: Vec::new(),
            disabled_rules: Vec::new(),
            threads: kiln_runtime::physical_cores(),
            profile: false,
        }
    }
}

impl Options {
    /// Default options with the given optimisation level (clamped to 0..=2).
    pub fn with_opt_level(opt_level: u8) -> Self {
        Options { opt_level: opt_level.min(2), ..Options::default() }
    }
}
