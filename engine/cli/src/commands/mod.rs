//! One file per subcommand. Each exposes `Args` (clap) and `run(args) -> ExitCode`.
//! Shared here: how a runbook argument (a path or a bundled short name) is
//! compiled, how diagnostics are printed, the exit codes and the runtime.

pub mod check;
pub mod cleanup;
pub mod cluster;
pub mod commit;
pub mod completions;
pub mod daemon;
pub mod demo;
pub mod emulator;
pub mod fmt;
pub mod man;
pub mod mapping;
pub mod plan;
pub mod resume;
pub mod rollback;
pub mod run;
pub mod runbooks;
pub mod runs;
pub mod show;

use lifeboat_dsl::bundled;
use lifeboat_dsl::compiler::{self, Compilation};
use lifeboat_dsl::loader::{BundledLoader, FsLoader};
use lifeboat_dsl::plan::Plan;
use serde_json::{Map, Value};

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

/// Why a runbook argument could not be made ready.
#[derive(Debug)]
pub enum LoadError {
    /// No such file or bundled runbook, or unreadable.
    Unreadable(String),
    /// The compiler found errors (their diagnostics are printed already).
    Errors(usize),
    /// The file has several runbooks and none was picked, or not that one.
    NoRunbook(String),
    /// Parameters missing, unknown or of the wrong type.
    Params(Vec<String>),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Unreadable(e) | LoadError::NoRunbook(e) => f.write_str(e),
            LoadError::Errors(n) => write!(f, "{n} error(s)"),
            LoadError::Params(errs) => f.write_str(&errs.join("; ")),
        }
    }
}

impl LoadError {
    /// Print it on stderr, one `error:` line each, then what was not done
    /// (`no plan`, `nothing was run`).
    pub fn print(&self, not_done: &str) {
        match self {
            LoadError::Errors(n) => eprintln!("{n} error(s): {not_done}"),
            LoadError::Params(errs) => {
                for e in errs {
                    eprintln!("error: {e}");
                }
                eprintln!("{not_done}");
            }
            other => eprintln!("error: {other}"),
        }
    }
}

/// The one way the commands and the daemon make a runbook argument ready:
/// compiled (a path, else a bundled name), its diagnostics printed, one
/// runbook picked (`runbook`, or the only one), the parameters bound
/// (`name=value` each).
pub fn load_plan(
    input: &str,
    runbook: Option<&str>,
    given: &[String],
) -> Result<(Plan, Map<String, Value>), LoadError> {
    let c = compile_input(input).map_err(LoadError::Unreadable)?;
    print_diagnostics(&c);
    if c.has_errors() {
        return Err(LoadError::Errors(c.diagnostics.error_count()));
    }
    let plan = c.plan(runbook).map_err(LoadError::NoRunbook)?.clone();
    let values = lifeboat_dsl::params::bind(&plan, given).map_err(LoadError::Params)?;
    Ok((plan, values))
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
