//! Where Lifeboat keeps its state: `$XDG_STATE_HOME/lifeboat` (else
//! `~/.local/state/lifeboat`), or `--state-dir DIR`.
//!
//! ```text
//! <state>/runs/<run id>/   one run: see lifeboat_daemon::run_dir, the one owner of its layout
//! <state>/emulator/        clouds.yaml + emulator.json of `lifeboat emulator serve`
//! <state>/history.sqlite   the run history and the runs' locks (lifeboat_daemon::history)
//! ```
//!
//! A run's directory, history row and lock are kept by the state
//! directory's run store (`lifeboat_daemon::run_store`); this file holds
//! what `run`, `resume`, `commit` and `rollback` say about it: the lock
//! refused or taken over, and the history as a record, not a gate (a row
//! that cannot be written is logged and the run goes on).

use crate::error::CliError;
use crate::report::RunReport;
use chrono::Utc;
use lifeboat_daemon::history::{NewRun, RunEnd};
use lifeboat_daemon::lock::Acquired;
use lifeboat_daemon::owner::Owner;
pub use lifeboat_daemon::run_dir::{read_json, write_json};
use lifeboat_daemon::run_store::{Lease, LocalStore, RunStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const EMULATOR_INFO: &str = "emulator.json";

/// The state directory: `explicit`, else the XDG default.
pub fn state_dir(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join("lifeboat"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/state/lifeboat")),
        None => {
            Err("no state directory: set XDG_STATE_HOME or HOME, or pass --state-dir DIR".into())
        }
    }
}

pub fn emulator_dir(state: &Path) -> PathBuf {
    state.join("emulator")
}

/// The run store of state directory `state`.
pub fn store(state: &Path) -> Result<Arc<dyn RunStore>, CliError> {
    LocalStore::shared(state).map_err(|e| {
        CliError::from(format!("cannot open the run history: {e}")).not_done("nothing was run")
    })
}

/// Take the runbook + parameters lock `key` for run `id`. Held by a live
/// process: the error names the holder (exit 2, nothing was run); a lock
/// left by a dead process is taken over.
pub fn lease(store: &Arc<dyn RunStore>, key: &str, id: &str) -> Result<Lease, CliError> {
    match Lease::take(store, key, id, &Owner::me(), Utc::now()) {
        Ok(Ok((lease, Acquired::Fresh))) => Ok(lease),
        Ok(Ok((lease, Acquired::TakenOver { run_id }))) => {
            if run_id != id {
                eprintln!("note: run {run_id} of the same runbook and parameters stopped without releasing its lock (its process is gone); taken over");
            }
            Ok(lease)
        }
        Ok(Err(held)) => Err(CliError::from(format!(
            "the same runbook with the same parameters is already running: {}",
            held.describe()
        ))
        .not_done(
            "nothing was run; wait for it to end (`lifeboat runs`) or run with other parameters",
        )),
        Err(e) => Err(
            CliError::from(format!("cannot take the run lock in the run history: {e}"))
                .not_done("nothing was run"),
        ),
    }
}

/// Take the lock under which run `id`'s commit is decided (the daemon takes
/// it at the run's deadline, and a member of a cluster while it brings the
/// run from etcd). Held by a live process: waited for up to `patience`
/// (the daemon holds it a moment each time it looks), then refused with
/// the holder's name; nothing was done.
pub fn decide_lease(
    store: &Arc<dyn RunStore>,
    id: &str,
    patience: std::time::Duration,
) -> Result<Lease, CliError> {
    let key = lifeboat_daemon::deadline::decide_key(id);
    let until = std::time::Instant::now() + patience;
    loop {
        match Lease::take(store, &key, id, &Owner::me(), Utc::now()) {
            Ok(Ok((lease, _))) => return Ok(lease),
            Ok(Err(held)) if std::time::Instant::now() >= until => {
                return Err(CliError::from(format!(
                    "run {id} is being decided right now: {}",
                    held.describe()
                ))
                .not_done("nothing was decided; see how it ended with `lifeboat show` and decide again if it still awaits commit"))
            }
            Ok(Err(_)) => std::thread::sleep(std::time::Duration::from_millis(100)),
            Err(e) => {
                return Err(CliError::from(format!(
                    "cannot take the decision lock in the run history: {e}"
                ))
                .not_done("nothing was decided"))
            }
        }
    }
}

/// The row of a run started by hand (`lifeboat run`, the demo) in `dir`.
pub fn manual_run(
    id: &str,
    runbook: &str,
    params: &serde_json::Map<String, serde_json::Value>,
    sites: &crate::cloud::SitesConfig,
    dir: &Path,
) -> NewRun {
    NewRun {
        id: id.to_string(),
        runbook: runbook.to_string(),
        job: None,
        kind: lifeboat_daemon::history::RunKind::Manual,
        params: params.clone(),
        cloud: crate::commands::runs::cloud_text(sites),
        run_dir: dir.to_path_buf(),
        started: Utc::now(),
        owner: Owner::me(),
    }
}

/// The run starts (`lifeboat run`, the demo).
pub fn record_start(lease: &Lease, run: &NewRun) {
    if let Err(e) = lease.started(run) {
        tracing::warn!("run {} is not in the run history: {e}", run.id);
    }
}

/// The run is picked up again by this process (`lifeboat resume`).
pub fn record_resume(store: &dyn RunStore, id: &str) {
    if let Err(e) = store.resumed(id, &Owner::me()) {
        tracing::warn!("run {id}: its resumption is not in the run history: {e}");
    }
}

/// The run ended with `r`: its row's end, and its lock (if it holds one)
/// released.
pub fn record_end(
    store: &dyn RunStore,
    lease: Option<Lease>,
    id: &str,
    r: &Result<RunReport, String>,
) {
    let end = match r {
        Ok(rep) => crate::commands::runs::end_of(rep),
        Err(_) => RunEnd {
            ended: Utc::now(),
            outcome: "failed".into(),
            ..Default::default()
        },
    };
    let recorded = match lease {
        Some(l) => l.end(&end),
        None => store.ended(id, &end),
    };
    if let Err(e) = recorded {
        tracing::warn!("run {id}: its end is not in the run history: {e}");
    }
}
