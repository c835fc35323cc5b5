//! How the daemon starts and resumes runs without knowing about clouds: the
//! CLI implements [`Launcher`] with the executor and the OpenStack actions
//! (tests may implement it with anything that ends when told to).

use crate::job::Job;
use lifeboat_dsl::plan::Plan;
use lifeboat_exec::journal::Replica;
use lifeboat_exec::CancelHandle;
use serde_json::{Map, Value};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

/// How a run ended, as the history records it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finished {
    /// `succeeded`, `failed`, `interrupted`.
    pub outcome: String,
    pub duration_ms: Option<u64>,
    pub bytes: u64,
    /// The longest quiesce window.
    pub quiesce_ms: Option<u64>,
    /// The snapshot time of the recovery point written or read.
    pub rpo_point: Option<String>,
    /// It stopped short of its end (compensation or cleanup left to a
    /// resume): in a cluster it stays in etcd for its job's owner to resume.
    pub resumable: bool,
    /// It left something it could not remove (orphans, servers not thawed).
    pub left_behind: bool,
}

pub type RunFuture = Pin<Box<dyn Future<Output = Result<Finished, String>> + Send>>;

/// A run going on.
pub struct Launched {
    /// SIGTERM → `interrupt()`: thaw, compensate, clean up, then end.
    pub cancel: CancelHandle,
    pub done: RunFuture,
}

pub trait Launcher: Send + Sync + 'static {
    /// Start `plan` with `params` for `job` as run `run_id` in `run_dir`
    /// (the job's clouds). Called inside the runtime. `approved`: the
    /// run's `approve` steps are approved in advance (retention runs, whose
    /// deletions the job's policy authorised); otherwise they are refused.
    /// `replica`: where the run's journal is kept besides `run_dir` (a
    /// cluster's store), if anywhere.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        job: &Job,
        plan: &Plan,
        params: &Map<String, Value>,
        run_id: &str,
        run_dir: &Path,
        approved: bool,
        replica: Option<Arc<dyn Replica>>,
    ) -> Result<Launched, String>;
    /// Resume the run in `run_dir` (thaws first, no duplicates).
    fn resume(
        &self,
        job: &Job,
        run_dir: &Path,
        replica: Option<Arc<dyn Replica>>,
    ) -> Result<Launched, String>;
    /// `lifeboat cleanup` of the finished run in `run_dir`: what it left
    /// behind tried again, the twins of its uncertain creates looked for
    /// again. Its end as recorded stands.
    fn cleanup(&self, job: &Job, run_dir: &Path) -> Result<Launched, String>;
    /// Whether `site` (one of the job's) answers now: its compute API, not
    /// only Keystone. The daemon fences a recovered VNF's old site only
    /// once it answers, instead of failing a fence run after another while
    /// it is down.
    fn probe(&self, job: &Job, site: &str) -> Probe {
        let _ = (job, site);
        Box::pin(async { true })
    }
}

pub type Probe = Pin<Box<dyn Future<Output = bool> + Send>>;
