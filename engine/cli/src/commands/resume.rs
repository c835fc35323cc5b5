//! `lifeboat resume RUN [--max-in-flight N] [--site-limit SITE=N]… [--confirm]
//! [--json] [--state-dir DIR]`: continue a
//! run after a crash or a second Ctrl-C. The executor thaws whatever the
//! journal says may still be frozen first, then reconciles calls in doubt
//! (no duplicates), then goes on. The clouds are those the run started with
//! (`sites.json` in the run dir), and so are the limits (`limits.json`)
//! unless given again. It takes the run's lock again (refused while a live
//! process holds it) and writes the run's end into the history.

use super::runtime;
use crate::cloud::{self, SitesConfig};
use crate::dispatch::{self, Output};
use crate::error::{CliError, CmdResult};
use crate::report::RunReport;
use crate::state;
use lifeboat_daemon::run_dir::RunFile;
use lifeboat_exec::Limits;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run id (see `lifeboat runs`) or a run directory.
    pub run: String,
    #[command(flatten)]
    pub limits: super::run::LimitOpts,
    /// Approve every `approve` step in advance (needed without a terminal).
    #[arg(long)]
    pub confirm: bool,
    /// One JSON event per line on stdout, then the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> CmdResult {
    pick_up(args, Again::Resume)
}

/// Why a run is picked up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Again {
    /// `lifeboat resume`: finish an interrupted run.
    Resume,
    /// `lifeboat cleanup`: retry what a finished run left behind.
    Cleanup,
    /// `lifeboat commit` / `lifeboat rollback`: decide a run awaiting commit.
    Decide(lifeboat_exec::Decision),
}

/// Picks the run up again with the clouds and limits it started with,
/// under its lock: resumes it, or retries its orphans.
pub fn pick_up(args: Args, again: Again) -> CmdResult {
    let store = state::store(&state::state_dir(args.state_dir.as_deref())?)?;
    let dir = store.find(&args.run)?;
    let sites: SitesConfig = dir
        .read(RunFile::Sites)
        .map_err(|e| format!("{e} (a run started by `lifeboat run` keeps its clouds there)"))?;
    let base: Limits = dir.read(RunFile::Limits).unwrap_or_default();
    let limits = args
        .limits
        .apply(base)
        .map_err(|e| CliError::from(e).not_done("nothing was done"))?;
    let output = if args.json {
        Output::Json
    } else {
        Output::Human
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let actions = cloud::build_actions(&sites)
            .map_err(|e| CliError::from(e).not_done("nothing was done"))?;
        // The lock the run took (`lock_key` in its dir): refused while a
        // live process holds it (the run itself, or another of the same
        // runbook + parameters); taken over from a dead one.
        let id = dir.id();
        // A decision also takes the run's decision lock, which the daemon
        // takes at the deadline: one decision at a time, never two.
        let decide_key = lifeboat_daemon::deadline::decide_key(&id);
        let mut deciding = match again {
            Again::Decide(_) => Some(state::decide_lease(
                &store,
                &id,
                std::time::Duration::from_secs(10),
            )?),
            Again::Resume | Again::Cleanup => None,
        };
        let lease = match dir.lock_key() {
            Some(key) if key == decide_key && deciding.is_some() => deciding.take(),
            Some(key) => Some(state::lease(&store, &key, &id)?),
            None => None,
        };
        let dir = dir.into_path();
        let bar = dispatch::progress_bar(output);
        let approver = crate::approver::choose(args.confirm, bar.clone());
        let exec = super::run::executor(actions, limits, approver);
        match again {
            Again::Resume => {
                state::record_resume(&*store, &id);
                let result =
                    dispatch::follow(exec.spawn_resume(dir), output, bar, RunReport::write_for)
                        .await;
                state::record_end(&*store, lease, &id, &result);
                super::run::finish(result, output)
            }
            Again::Cleanup => {
                let result = dispatch::follow(
                    exec.spawn_cleanup(dir),
                    output,
                    bar,
                    RunReport::write_cleanup_for,
                )
                .await;
                super::cleanup::finish(result, output)
            }
            Again::Decide(d) => {
                let by = lifeboat_exec::DecideBy::Operator(d);
                let result = dispatch::follow(
                    exec.spawn_decide(dir, by),
                    output,
                    bar,
                    RunReport::write_for,
                )
                .await;
                state::record_end(&*store, lease, &id, &result);
                super::cleanup::finish(result, output)
            }
        }
    })
}
