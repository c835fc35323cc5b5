//! One file per subcommand. Each exposes `Args` (clap) and
//! `run(args) -> CmdResult` (`crate::error`): how it ended ([`Exit`]), or
//! why it could not do what was asked ([`CliError`], printed by `main`).
//! Shared here: how a runbook argument (a path or a bundled short name) is
//! compiled, how diagnostics are printed, and the runtime.
//!
//! [`Exit`]: crate::error::Exit
//! [`CliError`]: crate::error::CliError

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

use crate::error::CliError;
use lifeboat_dsl::bundled;
use lifeboat_dsl::compiler::{self, Compilation};
use lifeboat_dsl::loader::{BundledLoader, FsLoader};
use lifeboat_dsl::plan::Plan;
use serde_json::{Map, Value};

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
    /// The command's error: this, and what was not done because of it
    /// (`no plan`, `nothing was run`); printed by `CliError::print`.
    pub fn not_done(self, not_done: &'static str) -> CliError {
        CliError::Load {
            error: self,
            not_done,
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
    let plan = compile_plan(input, runbook)?;
    let values = lifeboat_dsl::params::bind(&plan, given).map_err(LoadError::Params)?;
    Ok((plan, values))
}

/// [`load_plan`] before its parameters are bound: the plan of `runbook`
/// (or the only one) in `input`, its diagnostics printed. The daemon
/// compiles each runbook its jobs name once and binds each job's
/// parameters to it.
pub fn compile_plan(input: &str, runbook: Option<&str>) -> Result<Plan, LoadError> {
    let c = compile_input(input).map_err(LoadError::Unreadable)?;
    print_diagnostics(&c);
    if c.has_errors() {
        return Err(LoadError::Errors(c.diagnostics.error_count()));
    }
    Ok(c.plan(runbook).map_err(LoadError::NoRunbook)?.clone())
}

/// Print every diagnostic on stderr, rendered by miette.
pub fn print_diagnostics(c: &Compilation) {
    for d in &c.diagnostics.list {
        eprintln!("{:?}", d.report(&c.sources));
    }
}

/// The multi-thread runtime the running commands use.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}
