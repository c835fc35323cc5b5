//! Where a run's state is kept, behind one interface: its directory (plan,
//! journal, parameters, report — laid out by [`RunDir`]), its history row,
//! the lock it holds, and the recovery points protect runs made (what
//! retention and the metrics work on). `lifeboat run`, `resume`,
//! `commit`/`rollback`, `runs`, the daemon's loop, its metrics and its health
//! check go through a [`RunStore`] and a run's [`Lease`]; none of them opens
//! the history or the lock table itself.
//!
//! [`LocalStore`] keeps runs under a state directory: `<state>/runs/ID/`
//! and `<state>/history.sqlite` ([`crate::history`], [`crate::lock`]).
//! Another store replaces it by implementing [`RunStore`]; the daemon's
//! tests run it on one kept in memory. (A cluster member also copies each
//! run's record, plan and journal to etcd, fenced by its claim on the job:
//! [`crate::cluster::runs`]; that copy is what another member resumes
//! from, and it is written beside this store, not instead of it.)
//!
//! A run's life in the store:
//!
//! ```text
//! Lease::take(key) ─ held by a live process → Held (nothing was started)
//!     │  (a lock left by a dead process is taken over: Acquired::TakenOver)
//!     ├─ started(row)   a new run          ─┐
//!     └─ resumed(owner) a run picked up     ├─ … the run … ─ end(row's end) → unlocked
//!                                           └─ dropped without an end → unlocked, row left unfinished
//! ```

use crate::history::{BackupRow, History, HistoryError, NewRun, PointRow, Query, RunEnd, RunRow};
use crate::lock::{Acquired, Held};
use crate::owner::Owner;
use crate::run_dir::RunDir;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A store refused or failed an operation; the text says which store and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl From<HistoryError> for StoreError {
    fn from(e: HistoryError) -> StoreError {
        StoreError(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Where runs are kept: each run's directory, its history row, its lock.
pub trait RunStore: Send + Sync {
    /// Run `id`'s directory (it may not exist yet).
    fn dir(&self, id: &str) -> RunDir;
    /// The directory of run `run` — an id of this store, or a run
    /// directory's path — if the run was started (its journal exists);
    /// `Err` says where it was looked for.
    fn find(&self, run: &str) -> Result<RunDir, String>;
    /// Every run directory kept here (each holding a journal), in no order.
    fn dirs(&self) -> Vec<RunDir>;
    /// Take lock `key` for run `id`: `Err(Held)` when a live process holds
    /// it (this one included); a lock whose owner died is taken over.
    fn lock(
        &self,
        key: &str,
        id: &str,
        owner: &Owner,
        at: DateTime<Utc>,
    ) -> StoreResult<Result<Acquired, Held>>;
    /// Release lock `key` if run `id` holds it.
    fn unlock(&self, key: &str, id: &str) -> StoreResult<()>;
    /// A run starts: its row, not ended yet.
    fn started(&self, run: &NewRun) -> StoreResult<()>;
    /// Run `id` is picked up again by `owner`: not ended any more.
    fn resumed(&self, id: &str, owner: &Owner) -> StoreResult<()>;
    /// Run `id` ended.
    fn ended(&self, id: &str, end: &RunEnd) -> StoreResult<()>;
    /// The rows `q` selects, oldest first.
    fn runs(&self, q: &Query) -> StoreResult<Vec<RunRow>>;
    /// The rows without an end, oldest first.
    fn unfinished(&self) -> StoreResult<Vec<RunRow>>;
    /// When daemon job `job` last started a scheduled run.
    fn last_start(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>>;

    // ---- recovery points: what retention expires and the metrics age ----
    /// A protect run made a recovery point with these backups (idempotent).
    fn add_point(&self, point: &PointRow, backups: &[BackupRow]) -> StoreResult<()>;
    /// Job `job`'s points not expired yet, oldest first.
    fn points(&self, job: &str) -> StoreResult<Vec<PointRow>>;
    /// Job `job`'s backups not deleted yet (also those of expired points
    /// that a kept backup still needs), by id.
    fn backups(&self, job: &str) -> StoreResult<Vec<BackupRow>>;
    /// A retention run succeeded: these points expired, these backups are
    /// gone, at `at`.
    fn expired(&self, points: &[String], backups: &[String], at: DateTime<Utc>) -> StoreResult<()>;
    /// When job `job`'s newest point not expired was taken.
    fn newest_point(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// The store answers (the daemon's `/healthz`).
    fn check(&self) -> StoreResult<()>;
}

/// Runs kept under a state directory: their directories under `runs/`,
/// their rows and locks in `history.sqlite`.
pub struct LocalStore {
    state: PathBuf,
    /// Opened (and created if missing) when first needed: finding or
    /// listing run directories writes nothing.
    history: Mutex<Option<History>>,
}

impl LocalStore {
    /// The store of state directory `state`. Its history file is opened,
    /// and created if missing, by the first operation that needs it.
    pub fn open(state: &Path) -> StoreResult<LocalStore> {
        Ok(LocalStore {
            state: state.to_path_buf(),
            history: Mutex::new(None),
        })
    }

    /// [`LocalStore::open`], shared as a [`RunStore`].
    pub fn shared(state: &Path) -> StoreResult<Arc<dyn RunStore>> {
        Ok(Arc::new(LocalStore::open(state)?))
    }

    pub fn state(&self) -> &Path {
        &self.state
    }

    fn with<T>(&self, f: impl FnOnce(&History) -> Result<T, HistoryError>) -> StoreResult<T> {
        let mut slot = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let h = match &mut *slot {
            Some(h) => h,
            empty => empty.insert(History::open(&self.state)?),
        };
        Ok(f(h)?)
    }
}

impl RunStore for LocalStore {
    fn dir(&self, id: &str) -> RunDir {
        RunDir::new(&self.state, id)
    }
    fn find(&self, run: &str) -> Result<RunDir, String> {
        RunDir::find(&self.state, run)
    }
    fn dirs(&self) -> Vec<RunDir> {
        RunDir::all(&self.state)
    }
    fn lock(
        &self,
        key: &str,
        id: &str,
        owner: &Owner,
        at: DateTime<Utc>,
    ) -> StoreResult<Result<Acquired, Held>> {
        self.with(|h| h.try_lock(key, id, owner, at))
    }
    fn unlock(&self, key: &str, id: &str) -> StoreResult<()> {
        self.with(|h| h.unlock(key, id))
    }
    fn started(&self, run: &NewRun) -> StoreResult<()> {
        self.with(|h| h.record_start(run))
    }
    fn resumed(&self, id: &str, owner: &Owner) -> StoreResult<()> {
        self.with(|h| h.take_over(id, owner))
    }
    fn ended(&self, id: &str, end: &RunEnd) -> StoreResult<()> {
        self.with(|h| h.record_end(id, end))
    }
    fn runs(&self, q: &Query) -> StoreResult<Vec<RunRow>> {
        self.with(|h| h.runs(q))
    }
    fn unfinished(&self) -> StoreResult<Vec<RunRow>> {
        self.with(|h| h.unfinished())
    }
    fn last_start(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.with(|h| h.last_start(job))
    }
    fn add_point(&self, point: &PointRow, backups: &[BackupRow]) -> StoreResult<()> {
        self.with(|h| h.add_point(point, backups))
    }
    fn points(&self, job: &str) -> StoreResult<Vec<PointRow>> {
        self.with(|h| h.points(job))
    }
    fn backups(&self, job: &str) -> StoreResult<Vec<BackupRow>> {
        self.with(|h| h.backups(job))
    }
    fn expired(&self, points: &[String], backups: &[String], at: DateTime<Utc>) -> StoreResult<()> {
        self.with(|h| h.mark_expired(points, backups, at))
    }
    fn newest_point(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.with(|h| h.newest_point(job))
    }
    fn check(&self) -> StoreResult<()> {
        self.with(|_| Ok(()))
    }
}

/// A run's hold on its lock, from [`Lease::take`] to [`Lease::end`]. Dropped
/// without an end (the run could not start, or stopped short for another
/// process to resume), it releases the lock and leaves the row unfinished.
/// A process killed while holding one leaves a stale lock, taken over by
/// the next process that takes the key.
pub struct Lease {
    store: Arc<dyn RunStore>,
    key: String,
    id: String,
    owner: Owner,
    released: bool,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("key", &self.key)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Lease {
    /// Take `key` for run `id` on behalf of `owner`: `Ok(Err(held))` when a
    /// live process holds it — nothing was written.
    pub fn take(
        store: &Arc<dyn RunStore>,
        key: &str,
        id: &str,
        owner: &Owner,
        at: DateTime<Utc>,
    ) -> StoreResult<Result<(Lease, Acquired), Held>> {
        Ok(store.lock(key, id, owner, at)?.map(|a| {
            (
                Lease {
                    store: store.clone(),
                    key: key.to_string(),
                    id: id.to_string(),
                    owner: owner.clone(),
                    released: false,
                },
                a,
            )
        }))
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The run starts: its row (`run.id` must be the lease's run).
    pub fn started(&self, run: &NewRun) -> StoreResult<()> {
        debug_assert_eq!(run.id, self.id);
        self.store.started(run)
    }

    /// The run is picked up again by the lease's owner.
    pub fn resumed(&self) -> StoreResult<()> {
        self.store.resumed(&self.id, &self.owner)
    }

    /// The run ended: its row's end, then the lock released (released even
    /// when the row could not be written; that error is returned).
    pub fn end(mut self, end: &RunEnd) -> StoreResult<()> {
        let recorded = self.store.ended(&self.id, end);
        self.released = true;
        let unlocked = self.store.unlock(&self.key, &self.id);
        recorded.and(unlocked)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Err(e) = self.store.unlock(&self.key, &self.id) {
            tracing::warn!(key = %self.key, run = %self.id, "lock not released (the next run takes it over): {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::RunKind;

    fn new_run(id: &str, dir: &Path) -> NewRun {
        NewRun {
            id: id.into(),
            runbook: "protect".into(),
            job: None,
            kind: RunKind::Manual,
            params: Default::default(),
            cloud: "site-a=emulator".into(),
            run_dir: dir.join(id),
            started: Utc::now(),
            owner: Owner::me(),
        }
    }

    #[test]
    fn a_lease_holds_its_key_until_it_ends_or_is_dropped() {
        let state = tempfile::tempdir().unwrap();
        let store = LocalStore::shared(state.path()).unwrap();
        let me = Owner::me();
        let (lease, a) = Lease::take(&store, "k", "r1", &me, Utc::now())
            .unwrap()
            .unwrap();
        assert_eq!(a, Acquired::Fresh);
        lease.started(&new_run("r1", state.path())).unwrap();
        // A live holder (this process) refuses the key to a second run.
        let held = Lease::take(&store, "k", "r2", &me, Utc::now())
            .unwrap()
            .unwrap_err();
        assert_eq!(held.run_id, "r1");
        assert_eq!(store.unfinished().unwrap().len(), 1);
        let end = RunEnd {
            ended: Utc::now(),
            outcome: "succeeded".into(),
            ..Default::default()
        };
        lease.end(&end).unwrap();
        assert!(store.unfinished().unwrap().is_empty());
        let rows = store.runs(&Query::default()).unwrap();
        assert_eq!(rows[0].outcome.as_deref(), Some("succeeded"));
        // Dropped without an end: unlocked, the row left unfinished.
        let (lease, _) = Lease::take(&store, "k", "r2", &me, Utc::now())
            .unwrap()
            .unwrap();
        lease.started(&new_run("r2", state.path())).unwrap();
        drop(lease);
        assert_eq!(store.unfinished().unwrap()[0].id, "r2");
        assert!(Lease::take(&store, "k", "r3", &me, Utc::now())
            .unwrap()
            .is_ok());
        assert_eq!(store.dir("r2"), RunDir::new(state.path(), "r2"));
    }

    /// Finding and listing runs reads the run directories only: a state
    /// directory without a history gets none.
    #[test]
    fn finding_and_listing_runs_create_no_history() {
        let state = tempfile::tempdir().unwrap();
        let store = LocalStore::open(state.path()).unwrap();
        assert!(store.dirs().is_empty());
        assert!(store.find("r1").is_err());
        assert!(!state.path().join(crate::history::HISTORY_FILE).exists());
        store.unfinished().unwrap();
        assert!(state.path().join(crate::history::HISTORY_FILE).exists());
    }
}
