//! The `kiln` command line: argument definitions ([`args`]) and one module per command.

pub mod args;
pub mod bench;
pub mod calibrate;
pub mod compile;
pub mod inspect;
pub mod output;
pub mod prepare;
pub mod profile;
pub mod run;

use anyhow::Result;
use args::Command;

/// Runs one parsed command.
pub fn dispatch(command: &Command) -> Result<()> {
    match command {
        Command::Run(a) => run::run(a),
        Command::Inspect(a) => inspect::inspect(a),
        Command::Compile(a) => compile::compile(a),
        Command::Bench(a) => bench::bench(a),
        Command::Calibrate(a) => calibrate::calibrate(a.runs as usize),
    }
}
