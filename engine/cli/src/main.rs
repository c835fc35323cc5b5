//! `lifeboat`: disaster-recovery runbooks for OpenStack clouds hosting VNFs.
//!
//! This file holds the clap definitions and the dispatch only; each
//! subcommand lives in its own file under `commands/` and returns how it
//! ended, or its error (`error.rs`), which is printed here, once, and
//! turned into the exit status. Add a command by adding a file there and a
//! variant here. Logs
//! (tracing) go to stderr: errors by default, `-v` info, `-vv` debug;
//! `RUST_LOG` overrides.

mod approver;
mod cloud;
mod commands;
mod dispatch;
mod error;
mod history;
mod report;
mod resolve;
mod state;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "lifeboat",
    version,
    about = "Disaster-recovery runbooks for OpenStack clouds that host telecom VNFs"
)]
struct Cli {
    /// More logs on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
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
    /// Run a runbook: exit 0 success, 1 failed (compensated), 2 bad input, 3 interrupted.
    Run(commands::run::Args),
    /// Continue a run after a crash or an interrupt (thaws first).
    Resume(commands::resume::Args),
    /// Keep what a run awaiting commit did (a recover, failover or migrate): exit 0.
    Commit(commands::commit::Args),
    /// Undo what a run awaiting commit did (its compensations): exit 0 when nothing is left, 1 when something remains.
    Rollback(commands::rollback::Args),
    /// Retry what a finished run left behind (its orphans): exit 0 when nothing is left, 1 when something remains.
    Cleanup(commands::cleanup::Args),
    /// List the runs kept in the state directory.
    Runs(commands::runs::Args),
    /// Print a run's report again.
    Show(commands::show::Args),
    /// Run the configured runbooks on their schedules (history, retention, /metrics).
    Daemon(commands::daemon::Args),
    /// The daemons' cluster (etcd): its live members and who owns which job.
    Cluster(commands::cluster::Args),
    /// The two-site OpenStack emulator: serve, down/up SITE, fault, expire-tokens.
    Emulator(commands::emulator::Args),
    /// Protect, protect again, lose site-a, recover at site-b, verify — on an embedded emulator.
    Demo(commands::demo::Args),
    /// Site mappings (docs/mapping.md): put one at its target site, show the one stored there.
    Mapping(commands::mapping::Args),
    /// List the bundled runbooks with their titles and parameters.
    Runbooks(commands::runbooks::Args),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::Args),
    /// Print the man page (roff), or a subcommand's.
    Man(commands::man::Args),
}

fn init_logs(verbose: u8) {
    let default = match verbose {
        0 => "error",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal: a log redirected to a file
    // (or read by journald) gets no escape sequences.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .try_init();
}

impl Command {
    /// Whether the process carries out runs (or serves a cloud) for its
    /// whole life, rather than compile, print and exit: it then runs
    /// without transparent huge pages (`lifeboat_daemon::memory`).
    fn runs_for_long(&self) -> bool {
        matches!(
            self,
            Command::Run(_)
                | Command::Resume(_)
                | Command::Commit(_)
                | Command::Rollback(_)
                | Command::Cleanup(_)
                | Command::Daemon(_)
                | Command::Emulator(_)
                | Command::Demo(_)
        )
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    lifeboat_daemon::memory::transparent_huge_pages(!cli.command.runs_for_long());
    init_logs(cli.verbose);
    let result = match cli.command {
        Command::Check(a) => commands::check::run(a),
        Command::Plan(a) => commands::plan::run(a),
        Command::Fmt(a) => commands::fmt::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Resume(a) => commands::resume::run(a),
        Command::Cleanup(a) => commands::cleanup::run(a),
        Command::Commit(a) => commands::commit::run(a),
        Command::Rollback(a) => commands::rollback::run(a),
        Command::Runs(a) => commands::runs::run(a),
        Command::Show(a) => commands::show::run(a),
        Command::Daemon(a) => commands::daemon::run(a),
        Command::Cluster(a) => commands::cluster::run(a),
        Command::Emulator(a) => commands::emulator::run(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Mapping(a) => commands::mapping::run(a),
        Command::Runbooks(a) => commands::runbooks::run(a),
        Command::Completions(a) => commands::completions::run(a, Cli::command()),
        Command::Man(a) => commands::man::run(a, Cli::command()),
    };
    match result {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            e.print();
            ExitCode::from(e.code())
        }
    }
}
