//! The executor's interface: [`Executor`] starts a run, picks one up
//! again, decides one awaiting commit or cleans up after one — each on the
//! caller's task or on its own ([`RunHandle`]). The top layer: it calls
//! [`crate::run`] and [`crate::resume`] and holds nothing of its own but
//! the [`Engine`] every run shares.

use crate::action::Actions;
use crate::approve::{Approver, Refuse};
use crate::cancel::CancelHandle;
use crate::context::{Engine, ExecConfig, ExecError, RunOptions};
use crate::resume::{DecideBy, ResumeMode};
use crate::run::{new_run_id, RunResult};
use lifeboat_dsl::plan::Plan;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;

/// A run going on in its own task.
pub struct RunHandle {
    /// For a resumed run: the run directory's name (the CLI names run
    /// directories after run ids); the result carries the journaled id.
    pub run_id: String,
    pub run_dir: PathBuf,
    pub events: crate::event::EventReceiver,
    pub cancel: CancelHandle,
    pub result: tokio::task::JoinHandle<Result<RunResult, ExecError>>,
}

/// Runs plans. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    engine: Engine,
}

impl Executor {
    /// An executor that refuses approvals (see [`Executor::with_approver`]).
    pub fn new(actions: Arc<dyn Actions>) -> Self {
        Executor {
            engine: Engine {
                actions,
                approver: Arc::new(Refuse),
                config: ExecConfig::default(),
            },
        }
    }

    pub fn with_approver(mut self, approver: Arc<dyn Approver>) -> Self {
        self.engine.approver = approver;
        self
    }

    pub fn with_config(mut self, config: ExecConfig) -> Self {
        self.engine.config = config;
        self
    }

    pub fn config_ref(&self) -> &ExecConfig {
        &self.engine.config
    }

    /// Runs `plan` with `params` (defaults are filled in).
    pub async fn run(
        &self,
        plan: &Plan,
        params: Map<String, Value>,
        opts: RunOptions,
    ) -> Result<RunResult, ExecError> {
        crate::run::start(&self.engine, plan, params, opts).await
    }

    /// Picks up the run in `opts.run_dir` after a crash or an interrupt.
    pub async fn resume(&self, opts: RunOptions) -> Result<RunResult, ExecError> {
        crate::resume::resume(&self.engine, opts, ResumeMode::Continue).await
    }

    /// Commits or rolls back the run awaiting commit in `opts.run_dir`.
    pub async fn decide(&self, opts: RunOptions, by: DecideBy) -> Result<RunResult, ExecError> {
        crate::resume::resume(&self.engine, opts, ResumeMode::Decide(by)).await
    }

    /// Tries again what a finished run left behind (its orphans): thaws
    /// first, settles calls in doubt, then the compensations (of a run that
    /// failed) and cleanups that did not succeed. Idempotent: what was done
    /// is not done again. The result counts what still could not be removed.
    pub async fn cleanup(&self, opts: RunOptions) -> Result<RunResult, ExecError> {
        crate::resume::resume(&self.engine, opts, ResumeMode::CleanupOnly).await
    }

    /// Starts a run on its own task: the dispatcher keeps the events, the
    /// cancel handle (Ctrl-C → `interrupt()`) and the join handle.
    pub fn spawn(
        &self,
        plan: Plan,
        params: Map<String, Value>,
        run_dir: PathBuf,
        run_id: Option<String>,
    ) -> RunHandle {
        let run_id = run_id.unwrap_or_else(new_run_id);
        let ex = self.clone();
        on_own_task(
            run_dir,
            run_id.clone(),
            Some(run_id),
            move |opts| async move { ex.run(&plan, params, opts).await },
        )
    }

    /// Resumes the run in `run_dir` on its own task.
    pub fn spawn_resume(&self, run_dir: PathBuf) -> RunHandle {
        self.spawn_again(run_dir, ResumeMode::Continue)
    }

    /// Commits or rolls back the run awaiting commit in `run_dir`, on its
    /// own task ([`DecideBy`]). A rollback runs the run's compensations in
    /// reverse order, like a failure, and ends `RolledBack`.
    pub fn spawn_decide(&self, run_dir: PathBuf, by: DecideBy) -> RunHandle {
        self.spawn_again(run_dir, ResumeMode::Decide(by))
    }

    /// [`Executor::cleanup`] of the run in `run_dir` on its own task.
    pub fn spawn_cleanup(&self, run_dir: PathBuf) -> RunHandle {
        self.spawn_again(run_dir, ResumeMode::CleanupOnly)
    }

    fn spawn_again(&self, run_dir: PathBuf, mode: ResumeMode) -> RunHandle {
        let engine = self.engine.clone();
        let shown = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        on_own_task(run_dir, shown, None, move |opts| async move {
            crate::resume::resume(&engine, opts, mode).await
        })
    }
}

/// Starts `start` on its own task with a new event channel and cancel
/// handle: what the caller keeps of it is the [`RunHandle`] (`shown_id`
/// names the run in it; `run_id` is the id the run is given, if new).
fn on_own_task<F, Fut>(
    run_dir: PathBuf,
    shown_id: String,
    run_id: Option<String>,
    start: F,
) -> RunHandle
where
    F: FnOnce(RunOptions) -> Fut,
    Fut: std::future::Future<Output = Result<RunResult, ExecError>> + Send + 'static,
{
    let (tx, rx) = crate::event::channel();
    let cancel = CancelHandle::new();
    let opts = RunOptions {
        run_dir: run_dir.clone(),
        run_id,
        events: Some(tx),
        cancel: cancel.clone(),
    };
    RunHandle {
        run_id: shown_id,
        run_dir,
        events: rx,
        cancel,
        result: tokio::spawn(start(opts)),
    }
}
