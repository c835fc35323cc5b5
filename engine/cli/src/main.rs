//! `lifeboat`: disaster-recovery runbooks for OpenStack clouds hosting VNFs.
//!
//! This file holds the clap definitions and the dispatch only; each
//! subcommand lives in its own file under `commands/` and returns the exit
//! status. Add a command by adding a file there and a variant here.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "lifeboat",
    version,
    about = "Disaster-recovery runbooks for OpenStack clouds that host telecom VNFs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check runbook files: exit 0 when clean, 1 on warnings with --deny-warnings, 2 on errors.
    Check(commands::check::Args),
    /// Show the plan of a runbook (a file or a bundled name such as option1/protect) without running it.
    Plan(commands::plan::Args),
    /// Rewrite runbook files in the canonical layout (comments kept).
    Fmt(commands::fmt::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let status = match cli.command {
        Command::Check(a) => commands::check::run(a),
        Command::Plan(a) => commands::plan::run(a),
        Command::Fmt(a) => commands::fmt::run(a),
    };
    ExitCode::from(status)
}
