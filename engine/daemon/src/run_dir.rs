//! A run's directory: the one place that knows what a run keeps on disk,
//! under which name, and how it is read and written. `lifeboat run`,
//! `resume`, `show`, `runs`, the demo, the daemon's launcher and a cluster
//! member bringing a run over from etcd all go through [`RunDir`].
//!
//! ```text
//! <state>/runs/<run id>/
//!   plan.json      the compiled plan            (the executor writes it)
//!   journal.jsonl  what the run did, step by step (the executor writes it)
//!   params.json    the parameters' values
//!   sites.json     which cloud served each site (resume uses the same)
//!   limits.json    calls in flight per site     (`lifeboat run`; resume keeps them)
//!   lock_key       the lock the run holds       (resume takes the same one)
//!   report.json    the report, once the run ended
//! ```
//!
//! The run's history row and its lock live in the state directory's sqlite
//! file ([`crate::history`], [`crate::lock`]); in a cluster, its record,
//! plan and journal also live in etcd ([`crate::cluster::runs`]).

use lifeboat_dsl::plan::Plan;
use lifeboat_exec::journal::{self, JournalError, Record, JOURNAL_FILE, PLAN_FILE};
use lifeboat_exec::RunOutcome;
use std::path::{Path, PathBuf};

/// A file of a run's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunFile {
    Plan,
    Journal,
    Params,
    Sites,
    Limits,
    LockKey,
    Report,
}

impl RunFile {
    pub const fn name(self) -> &'static str {
        match self {
            RunFile::Plan => PLAN_FILE,
            RunFile::Journal => JOURNAL_FILE,
            RunFile::Params => "params.json",
            RunFile::Sites => "sites.json",
            RunFile::Limits => "limits.json",
            RunFile::LockKey => "lock_key",
            RunFile::Report => "report.json",
        }
    }
}

/// Where the runs of state directory `state` are kept.
pub fn runs_dir(state: &Path) -> PathBuf {
    state.join("runs")
}

/// One run's directory (it may not exist yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Run `id`'s directory under state directory `state`.
    pub fn new(state: &Path, id: &str) -> RunDir {
        RunDir {
            path: runs_dir(state).join(id),
        }
    }

    /// The run directory at `path`.
    pub fn at(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    /// An existing run, named by its id (or by the path of its directory),
    /// as an operator gives it on the command line.
    pub fn find(state: &Path, run: &str) -> Result<RunDir, String> {
        let given = RunDir::at(run);
        if given.exists() {
            return Ok(given);
        }
        if run.is_empty() || run.contains('/') || run.contains("..") {
            return Err(format!(
                "no run `{run}`: give a run id from `lifeboat runs`"
            ));
        }
        let d = RunDir::new(state, run);
        if d.exists() {
            Ok(d)
        } else {
            Err(format!(
                "no run `{run}` under {} (see `lifeboat runs`, or pass --state-dir)",
                runs_dir(state).display()
            ))
        }
    }

    /// Every run directory under `state` that holds a journal, in no order.
    pub fn all(state: &Path) -> Vec<RunDir> {
        let Ok(entries) = std::fs::read_dir(runs_dir(state)) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| RunDir::at(e.path()))
            .filter(RunDir::exists)
            .collect()
    }

    /// Whether a run was started here (its journal exists).
    pub fn exists(&self) -> bool {
        self.file(RunFile::Journal).is_file()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn into_path(self) -> PathBuf {
        self.path
    }

    /// The run's id: the directory's name.
    pub fn id(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn file(&self, f: RunFile) -> PathBuf {
        self.path.join(f.name())
    }

    /// Create the directory (and the runs directory above it).
    pub fn create(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.path).map_err(|e| {
            format!(
                "cannot create the run directory {}: {e}",
                self.path.display()
            )
        })
    }

    /// Write `f` as JSON (a temporary file renamed over it).
    pub fn write(&self, f: RunFile, v: &impl serde::Serialize) -> Result<(), String> {
        write_json(&self.file(f), v)
    }

    /// Read `f` as JSON.
    pub fn read<T: serde::de::DeserializeOwned>(&self, f: RunFile) -> Result<T, String> {
        read_json(&self.file(f))
    }

    /// Record the key of the lock the run holds, for `lifeboat resume`.
    pub fn write_lock_key(&self, key: &str) -> Result<(), String> {
        self.write_bytes(RunFile::LockKey, key.as_bytes())
    }

    /// The key of the lock the run holds, if it recorded one.
    pub fn lock_key(&self) -> Option<String> {
        std::fs::read_to_string(self.file(RunFile::LockKey))
            .ok()
            .map(|k| k.trim().to_string())
    }

    pub fn journal(&self) -> Result<Vec<Record>, JournalError> {
        journal::read_journal(&self.path)
    }

    pub fn plan(&self) -> Result<Plan, JournalError> {
        journal::read_plan(&self.path)
    }

    /// How the run ended, if its journal says it did.
    pub fn ending(&self) -> Option<RunOutcome> {
        self.journal().ok().as_deref().and_then(ending)
    }

    /// The run as etcd holds it, brought here by the member taking it
    /// over: its plan, its journal (etcd's copy is the one that counts,
    /// whatever an earlier owner's files here say) and its lock key.
    pub fn materialize(&self, plan: &[u8], journal: &[u8], lock_key: &str) -> Result<(), String> {
        self.create()?;
        self.write_bytes(RunFile::Plan, plan)?;
        self.write_bytes(RunFile::Journal, journal)?;
        self.write_lock_key(lock_key)
    }

    /// `bytes` as file `f`, whole (a temporary file renamed over it, so a
    /// reader never sees half of it); left alone when it holds them already.
    fn write_bytes(&self, f: RunFile, bytes: &[u8]) -> Result<(), String> {
        let path = self.file(f);
        if std::fs::read(&path).is_ok_and(|b| b == bytes) {
            return Ok(());
        }
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// How a run ended, from its journal: its last `RunFinished`.
pub fn ending(journal: &[Record]) -> Option<RunOutcome> {
    journal.iter().rev().find_map(|r| match r {
        Record::RunFinished { outcome } => Some(outcome.clone()),
        _ => None,
    })
}

/// Write JSON at `path` (a temporary file renamed over it, so a reader
/// never sees half of it).
pub fn write_json(path: &Path, v: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Read the JSON at `path`.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_found_by_id_or_path_and_nothing_else() {
        let state = tempfile::tempdir().unwrap();
        let d = RunDir::new(state.path(), "r1");
        assert_eq!(
            RunDir::find(state.path(), "r1").unwrap_err(),
            format!(
                "no run `r1` under {} (see `lifeboat runs`, or pass --state-dir)",
                runs_dir(state.path()).display()
            )
        );
        d.create().unwrap();
        // A directory without a journal is no run.
        assert!(RunDir::find(state.path(), "r1").is_err());
        std::fs::write(d.file(RunFile::Journal), "").unwrap();
        assert_eq!(RunDir::find(state.path(), "r1").unwrap(), d);
        let by_path = RunDir::find(state.path(), d.path().to_str().unwrap()).unwrap();
        assert_eq!(by_path.id(), "r1");
        assert!(RunDir::find(state.path(), "../r1").is_err());
        assert_eq!(RunDir::all(state.path()), vec![d]);
    }

    #[test]
    fn files_round_trip_and_the_lock_key_is_trimmed() {
        let state = tempfile::tempdir().unwrap();
        let d = RunDir::new(state.path(), "r2");
        d.create().unwrap();
        d.write(RunFile::Params, &serde_json::json!({"vnf": "vims"}))
            .unwrap();
        let back: serde_json::Value = d.read(RunFile::Params).unwrap();
        assert_eq!(back["vnf"], "vims");
        assert!(d.read::<serde_json::Value>(RunFile::Sites).is_err());
        assert_eq!(d.lock_key(), None);
        d.materialize(b"{}", b"", "protect#abc\n").unwrap();
        assert_eq!(d.lock_key().as_deref(), Some("protect#abc"));
        assert!(d.exists());
        assert_eq!(d.ending(), None);
    }
}
