//! One file per subcommand. Each exposes `Args` (clap) and `run(args) -> ExitCode`.
//! Shared here: how a runbook argument (a path or a bundled short name) is
//! compiled, how diagnostics are printed, the exit codes and the runtime.

pub mod check;
pub mod cleanup;
pub mod completions;
pub mod daemon;
pub mod demo;
pub mod emulator;
pub mod fmt;
pub mod man;
pub mod plan;
pub mod resume;
pub mod run;
pub mod runbooks;
pub mod runs;
pub mod show;

use lifeboat_dsl::bundled;
use lifeboat_dsl::compiler::{self, Compilation};
use lifeboat_dsl::loader::{BundledLoader, FsLoader};

/// Exit codes shared by the commands.
pub const EXIT_OK: u8 = 0;
pub const EXIT_WARNINGS: u8 = 1;
/// A run failed (what it did was compensated).
pub const EXIT_RUN_FAILED: u8 = 1;
pub const EXIT_ERRORS: u8 = 2;
/// A run was interrupted (Ctrl-C).
pub const EXIT_INTERRUPTED: u8 = 3;

/// Compile a runbook named by path, or by bundled short name
/// (`option1/protect`) when no such file exists.
pub fn compile_input(input: &str) -> Result<Compilation, String> {
    if std::path::Path::new(input).exists() {
        return compiler::compile(input, &FsLoader)
            .map_err(|e| format!("cannot read `{input}`: {e}"));
    }
    match bundled::resolve(input) {
        Some(path) => compiler::compile(path, &BundledLoader),
        None => Err(format!(
            "no file `{input}` and no bundled runbook of that name (bundled: {})",
            bundled::names().join(", ")
        )),
    }
}

/// Print every diagnostic on stderr, rendered by miette.
pub fn print_diagnostics(c: &Compilation) {
    for d in &c.diagnostics.list {
        eprintln!("{:?}", d.report(&c.sources));
    }
}

/// The multi-thread runtime the running commands use.
pub fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("error: cannot start the async runtime: {e}");
            EXIT_ERRORS
        })
}
