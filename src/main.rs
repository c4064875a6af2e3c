//! The `kiln` command-line tool: `kiln run`, `kiln inspect`, `kiln compile`, `kiln bench` (see
//! `kiln --help`).
//!
//! Every failure is one `error: ...` message on stderr (the cause chain joined with `: `) and
//! exit code 1; usage errors are clap's message and exit code 2. A panic is a kiln bug: the
//! panic hook only records its message (libraries may catch their own panics, e.g. around
//! Cranelift, and those must stay silent), and the `catch_unwind` around the command prints
//! `internal error: ...` without a backtrace and exits with 101.

mod cli;

use std::process::ExitCode;
use std::sync::Mutex;

/// The message and location of the last panic, recorded by the panic hook.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn main() -> ExitCode {
    let cli = cli::args::parse();
    std::panic::set_hook(Box::new(record_panic));
    match std::panic::catch_unwind(|| cli::dispatch(&cli.command)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
        Err(_) => {
            let msg = LAST_PANIC.lock().ok().and_then(|m| m.clone()).unwrap_or_else(|| "unknown panic".into());
            eprintln!("internal error: {msg}\nthis is a bug in kiln; please report it");
            ExitCode::from(101)
        }
    }
}

fn record_panic(info: &std::panic::PanicHookInfo<'_>) {
    let payload = info.payload();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into());
    let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
    if let Ok(mut slot) = LAST_PANIC.lock() {
        *slot = Some(format!("{text}{at}"));
    }
}
