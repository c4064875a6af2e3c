//! The README's command-line section against the binary: one install step, `kiln` used
//! throughout, every `kiln ...` line it shows parses (each flag exists for its subcommand and
//! each value is accepted: clap checks them before `--help`), and it says what stack
//! `NAME_run` needs.

mod common;

use common::*;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// The `kiln ...` commands of the README's shell blocks (after `perf record` too), without
/// trailing comments and pipes.
fn kiln_lines(readme: &str) -> Vec<String> {
    let mut in_sh = false;
    let mut lines = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        let Some(at) = line.find("kiln ").filter(|_| in_sh && !line.trim_start().starts_with('#')) else { continue };
        let command = line[at..].split(" # ").next().unwrap_or_default();
        let command = command.split(" | ").next().unwrap_or_default().split(" && ").next().unwrap_or_default();
        lines.push(command.trim().to_string());
    }
    lines
}

#[test]
fn readme_installs_once_and_says_kiln_throughout() {
    let text = readme();
    assert!(text.contains("```sh\ncargo install --path .\n```"), "one install step");
    let cargo_runs: Vec<&str> = text.lines().filter(|l| l.contains("cargo run")).collect();
    assert_eq!(cargo_runs.len(), 1, "only the note on running without installing: {cargo_runs:?}");
    assert!(
        text.contains("`NAME_run` runs on\nthe calling thread's stack and needs up to 1 MiB"),
        "the stack NAME_run needs"
    );
}

#[test]
fn every_kiln_command_in_the_readme_parses() {
    let lines = kiln_lines(&readme());
    assert!(lines.len() >= 20, "{lines:?}");
    for line in &lines {
        let mut args: Vec<&str> = line.split_whitespace().skip(1).map(|a| a.trim_matches('\'')).collect();
        args.push("--help");
        let out = kiln(&args);
        assert!(out.status.success(), "README: `{line}`: {}", texts(&out).1);
    }
}
