//! A run: the entry point and the run-level state machine.
//!
//! ```text
//! Running ──(all done)──────────────────────────→ CleaningUp → Finished(Succeeded)
//!    └──(failure / watchdog / interrupt)→ Compensating → CleaningUp → Finished(Failed | Interrupted)
//! ```
//!
//! [`Executor::run`] validates the parameters (missing required → error
//! before anything happens), writes `plan.json` and the `RunStarted` record
//! into the run directory, walks the plan ([`crate::scheduler`]), then runs
//! the saga ([`crate::saga`]): compensation if the run failed, cleanup
//! always. Thaws happen inside the scopes, before any of this.
//! [`Executor::resume`] ([`crate::resume`]) picks a run directory up again.
//!
//! The run's shared state (`Rt`) is borrowed by every future of the run;
//! the whole run is one future (no task spawned), so dropping it — or
//! aborting the task that polls it — stops everything at once, like a
//! crash, and the journal tells the rest. Locks are short and never held
//! across an await.

use crate::action::Actions;
use crate::approve::{Approver, Refuse};
use crate::cancel::{CancelHandle, CancelReason};
use crate::eval::{EvalCtx, EvalError, Frame, RunInfo, SagaCtx, Values};
use crate::event::{Decision, Emitter, EventKind, EventSender, Phase, RunOutcome};
use crate::journal::{self, Journal, JournalError, Record};
use crate::limits::{Limits, SiteLimiter};
use crate::resume::Replay;
use crate::saga::{reconcile_in_doubt, run_saga, Saga, SagaKind};
use crate::scheduler::{run_block, NodeOutcome};
use lifeboat_dsl::plan::{Expr, Plan};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Tunables. `Default` gives production values.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    pub limits: Limits,
    /// Timeout of a step whose plan says 0.
    pub default_timeout: Duration,
    /// Extra time allowed around a call's own timeout before it is dropped.
    pub timeout_grace: Duration,
    /// Cap of the exponential backoff.
    pub backoff_cap: Duration,
    pub freeze_timeout: Duration,
    pub freeze_retries: u32,
    pub thaw_timeout: Duration,
    /// Attempts per thaw (transient errors and timeouts are retried).
    pub thaw_attempts: u32,
    /// Minimum retries of a compensation or cleanup call.
    pub saga_retries: u32,
    /// How far journal records go before an effect (fsync by default).
    pub durability: journal::Durability,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            limits: Limits::default(),
            default_timeout: Duration::from_secs(3600),
            timeout_grace: Duration::from_secs(5),
            backoff_cap: Duration::from_secs(300),
            freeze_timeout: Duration::from_secs(120),
            freeze_retries: 3,
            thaw_timeout: Duration::from_secs(300),
            thaw_attempts: 8,
            saga_retries: 3,
            durability: journal::Durability::Fsync,
        }
    }
}

/// Where and how a run goes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run directory (see [`journal::default_run_dir`]).
    pub run_dir: PathBuf,
    /// The run id; a new one ([`new_run_id`]) when `None`. Ignored by resume.
    pub run_id: Option<String>,
    pub events: Option<EventSender>,
    pub cancel: CancelHandle,
}

impl RunOptions {
    pub fn new(run_dir: impl Into<PathBuf>) -> Self {
        RunOptions {
            run_dir: run_dir.into(),
            run_id: None,
            events: None,
            cancel: CancelHandle::new(),
        }
    }
}

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

/// How a run ended, for the caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub run_id: String,
    pub run_dir: PathBuf,
    pub outcome: RunOutcome,
    pub thaw_failures: usize,
    pub compensation_failures: usize,
    pub cleanup_failures: usize,
    /// False when a second interrupt left compensation or cleanup undone
    /// (`resume` finishes them).
    pub finished: bool,
}

/// Errors before the run could start (nothing was done).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("parameter `{0}` is required and was not given")]
    MissingParam(String),
    #[error("parameter `{0}` is not a parameter of runbook `{1}`")]
    UnknownParam(String, String),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("run directory {0} already holds a run; resume it, or pick a new run directory")]
    RunDirInUse(String),
    #[error("cannot resume {dir}: {msg}")]
    Resume { dir: String, msg: String },
}

/// Who decides the fate of a run awaiting commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecideBy {
    /// `lifeboat commit` / `lifeboat rollback`.
    Operator(Decision),
    /// The runbook's default, once the deadline has passed (the daemon, or
    /// `lifeboat resume`); before it, nothing changes.
    Deadline,
}

/// A short random run id, safe in resource names (8 hex digits).
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Runs plans. Cheap to clone.
#[derive(Clone)]
pub struct Executor {
    actions: Arc<dyn Actions>,
    approver: Arc<dyn Approver>,
    config: ExecConfig,
}

impl Executor {
    /// An executor that refuses approvals (see [`Executor::with_approver`]).
    pub fn new(actions: Arc<dyn Actions>) -> Self {
        Executor {
            actions,
            approver: Arc::new(Refuse),
            config: ExecConfig::default(),
        }
    }

    pub fn with_approver(mut self, approver: Arc<dyn Approver>) -> Self {
        self.approver = approver;
        self
    }

    pub fn with_config(mut self, config: ExecConfig) -> Self {
        self.config = config;
        self
    }

    pub fn config_ref(&self) -> &ExecConfig {
        &self.config
    }

    /// Runs `plan` with `params` (defaults are filled in).
    pub async fn run(
        &self,
        plan: &Plan,
        params: Map<String, Value>,
        opts: RunOptions,
    ) -> Result<RunResult, ExecError> {
        let params = fill_params(plan, params)?;
        let run_id = opts.run_id.clone().unwrap_or_else(new_run_id);
        let started = chrono::Utc::now().to_rfc3339();
        let existing = opts.run_dir.join(journal::JOURNAL_FILE);
        if std::fs::metadata(&existing).is_ok_and(|m| m.len() > 0) {
            return Err(ExecError::RunDirInUse(opts.run_dir.display().to_string()));
        }
        journal::write_plan(&opts.run_dir, plan)?;
        let journal = Journal::open_with(&opts.run_dir, self.config.durability)?;
        journal
            .append(&Record::RunStarted {
                run_id: run_id.clone(),
                runbook: plan.runbook.clone(),
                started: started.clone(),
                plan_hash: journal::plan_hash(plan),
                params: params.clone(),
            })
            .await?;
        let rt = self.rt(
            plan.clone(),
            params,
            RunInfo {
                id: run_id,
                started,
                runbook: plan.runbook.clone(),
            },
            journal,
            &opts,
            None,
        );
        rt.events.emit(EventKind::RunStarted {
            run_id: rt.run.id.clone(),
            runbook: rt.run.runbook.clone(),
            started: rt.run.started.clone(),
            resumed: false,
        });
        Ok(rt.walk_and_finish(&opts.run_dir).await)
    }

    /// Picks up the run in `opts.run_dir` after a crash or an interrupt.
    pub async fn resume(&self, opts: RunOptions) -> Result<RunResult, ExecError> {
        crate::resume::resume(self, opts, crate::resume::ResumeMode::Continue).await
    }

    /// Commits or rolls back the run awaiting commit in `opts.run_dir`.
    pub async fn decide(&self, opts: RunOptions, by: DecideBy) -> Result<RunResult, ExecError> {
        crate::resume::resume(self, opts, crate::resume::ResumeMode::Decide(by)).await
    }

    /// Tries again what a finished run left behind (its orphans): thaws
    /// first, settles calls in doubt, then the compensations (of a run that
    /// failed) and cleanups that did not succeed. Idempotent: what was done
    /// is not done again. The result counts what still could not be removed.
    pub async fn cleanup(&self, opts: RunOptions) -> Result<RunResult, ExecError> {
        crate::resume::resume(self, opts, crate::resume::ResumeMode::CleanupOnly).await
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
        let (tx, rx) = crate::event::channel();
        let run_id = run_id.unwrap_or_else(new_run_id);
        let cancel = CancelHandle::new();
        let opts = RunOptions {
            run_dir: run_dir.clone(),
            run_id: Some(run_id.clone()),
            events: Some(tx),
            cancel: cancel.clone(),
        };
        let ex = self.clone();
        let result = tokio::spawn(async move { ex.run(&plan, params, opts).await });
        RunHandle {
            run_id,
            run_dir,
            events: rx,
            cancel,
            result,
        }
    }

    /// Resumes the run in `run_dir` on its own task.
    pub fn spawn_resume(&self, run_dir: PathBuf) -> RunHandle {
        self.spawn_again(run_dir, crate::resume::ResumeMode::Continue)
    }

    /// Commits or rolls back the run awaiting commit in `run_dir`, on its
    /// own task ([`DecideBy`]). A rollback runs the run's compensations in
    /// reverse order, like a failure, and ends `RolledBack`.
    pub fn spawn_decide(&self, run_dir: PathBuf, by: DecideBy) -> RunHandle {
        self.spawn_again(run_dir, crate::resume::ResumeMode::Decide(by))
    }

    /// [`Executor::cleanup`] of the run in `run_dir` on its own task.
    pub fn spawn_cleanup(&self, run_dir: PathBuf) -> RunHandle {
        self.spawn_again(run_dir, crate::resume::ResumeMode::CleanupOnly)
    }

    fn spawn_again(&self, run_dir: PathBuf, mode: crate::resume::ResumeMode) -> RunHandle {
        let (tx, rx) = crate::event::channel();
        let cancel = CancelHandle::new();
        let opts = RunOptions {
            run_dir: run_dir.clone(),
            run_id: None,
            events: Some(tx),
            cancel: cancel.clone(),
        };
        let ex = self.clone();
        let run_id = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let result = tokio::spawn(async move { crate::resume::resume(&ex, opts, mode).await });
        RunHandle {
            run_id,
            run_dir,
            events: rx,
            cancel,
            result,
        }
    }

    pub(crate) fn rt(
        &self,
        plan: Plan,
        params: Map<String, Value>,
        run: RunInfo,
        journal: Journal,
        opts: &RunOptions,
        replay: Option<Replay>,
    ) -> Rt {
        Rt {
            plan,
            params,
            run,
            values: Mutex::new(Values::default()),
            journal,
            events: Emitter::new(opts.events.clone()),
            limiter: SiteLimiter::new(self.config.limits.clone()),
            actions: self.actions.clone(),
            approver: self.approver.clone(),
            config: self.config.clone(),
            replay,
            saga: Mutex::new(Saga::default()),
            cancel: opts.cancel.clone(),
            replay_seen: Mutex::new(Default::default()),
            pressure_seen: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
            rolling_back: Default::default(),
            thaw_failures: AtomicUsize::new(0),
        }
    }
}

fn fill_params(
    plan: &Plan,
    mut given: Map<String, Value>,
) -> Result<Map<String, Value>, ExecError> {
    if let Some(k) = given
        .keys()
        .find(|k| !plan.params.iter().any(|p| &p.name == *k))
    {
        return Err(ExecError::UnknownParam(k.clone(), plan.runbook.clone()));
    }
    let mut out = Map::new();
    for p in &plan.params {
        match given.remove(&p.name).or_else(|| p.default.clone()) {
            Some(v) => {
                out.insert(p.name.clone(), v);
            }
            None => return Err(ExecError::MissingParam(p.name.clone())),
        }
    }
    Ok(out)
}

/// The run phases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunPhase {
    Running,
    Compensating,
    CleaningUp,
    Finished(RunOutcome),
}

/// The state shared by every future of a run.
pub(crate) struct Rt {
    pub plan: Plan,
    pub params: Map<String, Value>,
    pub run: RunInfo,
    pub values: Mutex<Values>,
    pub journal: Journal,
    pub events: Emitter,
    pub limiter: SiteLimiter,
    pub actions: Arc<dyn Actions>,
    pub approver: Arc<dyn Approver>,
    pub config: ExecConfig,
    pub replay: Option<Replay>,
    pub saga: Mutex<Saga>,
    pub cancel: CancelHandle,
    /// Instances in doubt in the replayed journal that this walk reached.
    pub replay_seen: Mutex<std::collections::HashSet<String>>,
    failure: Mutex<Option<String>>,
    /// Compensating a run awaiting commit: it ends `RolledBack`.
    pub rolling_back: std::sync::atomic::AtomicBool,
    thaw_failures: AtomicUsize,
    /// The sites' pressure as last announced.
    pressure_seen: Mutex<Vec<crate::action::SitePressure>>,
}

impl Rt {
    pub(crate) fn eval(&self, frame: &Frame, e: &Expr) -> Result<Value, EvalError> {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        EvalCtx {
            plan: &self.plan,
            params: &self.params,
            run: &self.run,
            values: &values,
            frame,
            saga: None,
        }
        .eval(e)
    }

    pub(crate) fn eval_bool(&self, frame: &Frame, e: &Expr) -> Result<bool, EvalError> {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        EvalCtx {
            plan: &self.plan,
            params: &self.params,
            run: &self.run,
            values: &values,
            frame,
            saga: None,
        }
        .eval_bool(e)
    }

    pub(crate) fn eval_saga(
        &self,
        frame: &Frame,
        e: &Expr,
        result: &Value,
        args: &Map<String, Value>,
    ) -> Result<Value, EvalError> {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        EvalCtx {
            plan: &self.plan,
            params: &self.params,
            run: &self.run,
            values: &values,
            frame,
            saga: Some(SagaCtx { result, args }),
        }
        .eval(e)
    }

    pub(crate) fn saga(&self) -> MutexGuard<'_, Saga> {
        self.saga.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A step failed: report it and stop the run (nothing new starts).
    pub(crate) fn fail(&self, instance: &str, error: String) {
        self.events.emit(EventKind::StepFailed {
            instance: instance.to_string(),
            error: error.clone(),
        });
        self.fail_quietly(format!("{instance}: {error}"));
    }

    /// Marks the run failed (the first reason is kept) and stops it; the
    /// caller has emitted its own event.
    pub(crate) fn fail_quietly(&self, reason: String) {
        tracing::warn!(%reason, "run failing");
        {
            let mut f = self.failure.lock().unwrap_or_else(|e| e.into_inner());
            if f.is_none() {
                *f = Some(reason);
            }
        }
        self.cancel.cancel(CancelReason::StepFailed);
    }

    pub(crate) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn thaw_failure_count(&self) -> usize {
        self.thaw_failures.load(Ordering::SeqCst)
    }

    pub(crate) fn note_thaw_failure(&self) {
        self.thaw_failures.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn second_interrupt(&self) -> bool {
        self.cancel.reason() == Some(CancelReason::SecondInterrupt)
    }

    fn interrupted(&self) -> bool {
        self.cancel.reason() >= Some(CancelReason::Interrupt)
    }

    /// Announces each site whose retries, throttled answers or adaptive
    /// limit changed since the last announcement (`all`: every site that
    /// saw a request, with its final counts).
    pub(crate) fn announce_pressure(&self, all: bool) {
        let now = self.actions.pressure();
        let mut seen = self.pressure_seen.lock().unwrap_or_else(|e| e.into_inner());
        for p in now {
            let before = seen.iter().find(|s| s.site == p.site);
            let changed = match before {
                None => p.retries > 0 || p.throttled > 0 || p.limit != p.ceiling,
                Some(b) => (b.retries, b.throttled, b.limit) != (p.retries, p.throttled, p.limit),
            };
            if changed || (all && p.requests > 0) {
                seen.retain(|s| s.site != p.site);
                seen.push(p.clone());
                self.events.emit(EventKind::SitePressure { pressure: p });
            }
        }
    }

    /// Runs `work`, announcing the sites' pressure every half second meanwhile.
    pub(crate) async fn watching_pressure<F: std::future::Future>(&self, work: F) -> F::Output {
        let sampler = async {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                self.announce_pressure(false);
            }
        };
        tokio::select! {
            out = work => out,
            _ = sampler => unreachable!("the sampler never ends"),
        }
    }

    /// Walks the body, then the saga. Used by run and resume.
    pub(crate) async fn walk_and_finish(&self, run_dir: &Path) -> RunResult {
        self.watching_pressure(self.walk_and_finish_inner(run_dir))
            .await
    }

    async fn walk_and_finish_inner(&self, run_dir: &Path) -> RunResult {
        let mut phase = RunPhase::Running;
        self.events.emit(EventKind::PhaseChanged {
            phase: Phase::Running,
        });
        let body = self.plan.body.clone();
        let root = Frame::default();
        let outcome = run_block(self, &body, &root, &self.cancel).await;
        let failed =
            outcome != NodeOutcome::Succeeded || self.failure().is_some() || self.interrupted();
        let mut comp = (0, false);
        if failed {
            phase = self.next_phase(phase, RunPhase::Compensating);
            let reason = self.failure_reason();
            let rec = Record::RunFailing {
                reason,
                interrupted: self.interrupted(),
                rollback: false,
            };
            if let Err(e) = self.journal.append(&rec).await {
                tracing::error!(error = %e, "journal write failed");
            }
            if let Some(rep) = &self.replay {
                let seen = self
                    .replay_seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let unseen: Vec<_> = rep
                    .in_doubt_calls(&self.plan, &self.run.id, self.config.default_timeout)
                    .into_iter()
                    .filter(|d| !seen.contains(&d.instance))
                    .collect();
                self.saga().in_doubt.extend(unseen);
            }
            comp = self.compensate().await;
        }
        self.clean_up_and_finish(phase, comp, run_dir).await
    }

    fn failure_reason(&self) -> String {
        self.failure()
            .unwrap_or_else(|| match self.cancel.reason() {
                Some(CancelReason::Interrupt | CancelReason::SecondInterrupt) => {
                    "interrupted by the operator".into()
                }
                Some(r) => format!("cancelled ({r:?})"),
                None => "cancelled".into(),
            })
    }

    fn next_phase(&self, from: RunPhase, to: RunPhase) -> RunPhase {
        tracing::debug!(?from, ?to, "run phase");
        let p = match &to {
            RunPhase::Compensating => Some(Phase::Compensating),
            RunPhase::CleaningUp => Some(Phase::CleaningUp),
            _ => None,
        };
        if let Some(phase) = p {
            self.events.emit(EventKind::PhaseChanged { phase });
        }
        to
    }

    /// Reconciles calls in doubt, then compensates. `(failures, skipped)`.
    pub(crate) async fn compensate(&self) -> (usize, bool) {
        let unreconciled = reconcile_in_doubt(self).await;
        let (f, skipped) = run_saga(self, SagaKind::Compensate).await;
        (f + unreconciled, skipped)
    }

    pub(crate) async fn clean_up_and_finish(
        &self,
        phase: RunPhase,
        comp: (usize, bool),
        run_dir: &Path,
    ) -> RunResult {
        let failed = phase == RunPhase::Compensating;
        let phase = self.next_phase(phase, RunPhase::CleaningUp);
        let clean = if comp.1 {
            (0, true)
        } else {
            run_saga(self, SagaKind::Cleanup).await
        };
        let outcome = if self.rolling_back.load(Ordering::SeqCst) {
            RunOutcome::RolledBack {
                reason: self.failure_reason(),
            }
        } else if !failed && self.failure().is_none() && !self.interrupted() {
            match self.plan.commit {
                Some(c) => RunOutcome::AwaitingCommit {
                    deadline: (chrono::Utc::now()
                        + chrono::Duration::milliseconds(c.within_ms.min(i64::MAX as u64) as i64))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    default: c.default,
                },
                None => RunOutcome::Succeeded,
            }
        } else if self.interrupted() {
            RunOutcome::Interrupted {
                reason: self.failure_reason(),
            }
        } else {
            RunOutcome::Failed {
                reason: self.failure_reason(),
            }
        };
        let finished = !(comp.1 || clean.1);
        if finished {
            if let Err(e) = self
                .journal
                .append(&Record::RunFinished {
                    outcome: outcome.clone(),
                })
                .await
            {
                tracing::error!(error = %e, "journal write failed");
            }
        }
        let _ = self.next_phase(phase, RunPhase::Finished(outcome.clone()));
        self.announce_pressure(true);
        self.events.emit(EventKind::RunFinished {
            outcome: outcome.clone(),
            duration_ms: self.events.elapsed_ms(),
        });
        RunResult {
            run_id: self.run.id.clone(),
            run_dir: run_dir.to_path_buf(),
            outcome,
            thaw_failures: self.thaw_failures.load(Ordering::SeqCst),
            compensation_failures: comp.0,
            cleanup_failures: clean.0,
            finished,
        }
    }
}
