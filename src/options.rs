//! Compilation options shared by the API and the CLI.

/// How to compile a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Optimisation level 0..=2: 0 runs no graph passes, 2 runs all of them (default).
    pub opt_level: u8,
    /// Run the IR verifier after every stage. On by default in debug builds (and so in tests),
    /// off in release builds where it would only cost compile time.
    pub verify: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { opt_level: 2, verify: cfg!(debug_assertions) }
    }
}

impl Options {
    /// Default options with the given optimisation level (clamped to 0..=2).
    pub fn with_opt_level(opt_level: u8) -> Self {
        Options { opt_level: opt_level.min(2), ..Options::default() }
    }
}
