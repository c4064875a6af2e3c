//! The `kiln` command-line tool: `kiln run`, `kiln inspect`, `kiln compile`, `kiln bench` (see
//! `kiln --help`).
//!
//! Every failure is one `error: ...` message on stderr (the cause chain joined with `: `) and
//! exit code 1; usage errors are clap's message and exit code 2. A panic is a kiln bug: the
//! panic hook only records its message (libraries may catch their own panics, e.g. around
//! Cranelift, and those must stay silent), and the `catch_unwind` around the command prints
//! `internal error: ...` without a backtrace and exits with 101. An error that is a kiln bug
//! ([`kiln::Error::is_internal`]: a panic the backend caught in its emitters or in Cranelift,
//! invalid IR, an optimizer failure) is reported the same way, `internal error: ...` and exit
//! 101, so a script or test tells a kiln bug from a model kiln refuses (exit 1).

mod cli;

use std::process::ExitCode;
use std::sync::Mutex;

/// The exit code of a kiln bug: a panic, or an error [`kiln::Error::is_internal`] calls one
/// (101 is Rust's exit code for a panic in `main`).
const INTERNAL_ERROR: u8 = 101;
/// The line after every internal error.
const BUG_NOTE: &str = "this is a bug in kiln; please report it";

/// The message and location of the last panic, recorded by the panic hook.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn main() -> ExitCode {
    let cli = cli::args::parse();
    std::panic::set_hook(Box::new(record_panic));
    match std::panic::catch_unwind(|| cli::dispatch(&cli.command)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) if is_internal(&e) => {
            eprintln!("internal error: {e:#}\n{BUG_NOTE}");
            ExitCode::from(INTERNAL_ERROR)
        }
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
        Err(_) => {
            let msg = LAST_PANIC.lock().ok().and_then(|m| m.clone()).unwrap_or_else(|| "unknown panic".into());
            eprintln!("internal error: {msg}\n{BUG_NOTE}");
            ExitCode::from(INTERNAL_ERROR)
        }
    }
}

/// True when `e` or one of its causes is an error that is a kiln bug.
fn is_internal(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause.downcast_ref::<kiln::Error>().is_some_and(kiln::Error::is_internal)
            || cause.downcast_ref::<kiln::BackendError>().is_some_and(kiln::BackendError::is_internal)
    })
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

#[cfg(test)]
mod tests {
    use super::is_internal;
    use anyhow::Context;
    use kiln::BackendError;

    fn backend(e: BackendError) -> anyhow::Error {
        Err::<(), _>(kiln::Error::Native(e)).context("compiling model.onnx").unwrap_err()
    }

    #[test]
    fn a_caught_panic_is_an_internal_error_and_a_refusal_is_not() {
        assert!(is_internal(&backend(BackendError::Internal { kernel: "n1 (Abs)".into(), msg: "boom".into() })));
        let jit = kiln::Error::Runtime(kiln::RuntimeError::Backend(BackendError::Internal {
            kernel: "n1 (Abs)".into(),
            msg: "boom".into(),
        }));
        assert!(is_internal(&anyhow::Error::from(jit)));
        assert!(!is_internal(&backend(BackendError::Codegen { kernel: "n1 (Abs)".into(), msg: "no".into() })));
        let unsupported = BackendError::Unsupported { node: "n1".into(), op: "Abs".into(), msg: "no".into() };
        assert!(!is_internal(&backend(unsupported)));
        assert!(!is_internal(&anyhow::anyhow!("cannot read model.onnx")));
    }
}
