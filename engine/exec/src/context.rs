//! A run's context: what every future of a run shares ([`Rt`]: the plan,
//! the values computed so far, the journal, the events, the site limits,
//! the ledger, the cancel handle), what every run of an executor shares
//! ([`Engine`]: the actions, the approver, the tunables), and the options
//! and errors of starting a run. The lowest layer of the executor: every
//! other part is handed an `&Rt`; this file imports none of them.
//!
//! The whole run is one future (no task spawned), so dropping it — or
//! aborting the task that polls it — stops everything at once, like a
//! crash, and the journal tells the rest. Locks are short and never held
//! across an await.

use crate::action::Actions;
use crate::approve::Approver;
use crate::cancel::{CancelHandle, CancelReason};
use crate::eval::{EvalCtx, EvalError, Frame, RunInfo, SagaCtx, Values};
use crate::event::{Emitter, EventKind, EventSender};
use crate::journal::{self, Journal, JournalError};
use crate::ledger::Ledger;
use crate::limits::{Limits, SiteLimiter};
use crate::replay::Replay;
use lifeboat_dsl::plan::{Expr, Plan};
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
    /// A second home of each run's journal (a cluster's store), written
    /// before an effect goes ahead; `None`: the local file only.
    pub replica: Option<Arc<dyn journal::Replica>>,
    /// Shared with other runs: how many quiesce scopes may hold targets
    /// frozen at once across them; `None`: no bound.
    pub freeze_gate: Option<crate::limits::FreezeGate>,
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
            replica: None,
            freeze_gate: None,
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

/// What every run of one executor shares. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Engine {
    pub actions: Arc<dyn Actions>,
    pub approver: Arc<dyn Approver>,
    pub config: ExecConfig,
}

impl Engine {
    /// The run's journal in `dir`, kept in step with the replica if there
    /// is one (which deposes the run through `cancel` when it refuses it).
    pub(crate) fn open_journal(
        &self,
        dir: &Path,
        cancel: &CancelHandle,
    ) -> Result<Journal, JournalError> {
        let journal = Journal::open_with(dir, self.config.durability)?;
        if let Some(r) = &self.config.replica {
            journal.replicate_to(r.clone(), cancel.clone());
        }
        Ok(journal)
    }

    /// A run's context: `replay` is the journal of a run picked up again.
    pub(crate) fn rt(
        &self,
        plan: Plan,
        params: Map<String, Value>,
        run: RunInfo,
        journal: Journal,
        opts: &RunOptions,
        replay: Option<Replay>,
    ) -> Rt {
        let values = Mutex::new(Values::for_plan(&plan));
        Rt {
            plan,
            params,
            run,
            values,
            journal,
            events: Emitter::new(opts.events.clone()),
            limiter: SiteLimiter::new(self.config.limits.clone()),
            actions: self.actions.clone(),
            approver: self.approver.clone(),
            config: self.config.clone(),
            replay,
            ledger: Mutex::new(Ledger::default()),
            cancel: opts.cancel.clone(),
            replay_seen: Mutex::new(Default::default()),
            pressure_base: self.actions.pressure(),
            pressure_seen: Mutex::new(Vec::new()),
            failure: Mutex::new(None),
            rolling_back: Default::default(),
            thaw_failures: AtomicUsize::new(0),
        }
    }
}

/// Which sites' pressure a run announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Announce {
    /// Those whose figures changed since the last announcement.
    Changes,
    /// Every site that saw a request: the run's final counts.
    Final,
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
    pub ledger: Mutex<Ledger>,
    pub cancel: CancelHandle,
    /// Instances in doubt in the replayed journal that this walk reached.
    pub replay_seen: Mutex<std::collections::HashSet<String>>,
    pub(crate) failure: Mutex<Option<String>>,
    /// Compensating a run awaiting commit: it ends `RolledBack`.
    pub rolling_back: std::sync::atomic::AtomicBool,
    pub(crate) thaw_failures: AtomicUsize,
    /// The sites' pressure when the run started: what it announces is
    /// what happened since (the actions may have served other runs before).
    pub(crate) pressure_base: Vec<crate::action::SitePressure>,
    /// The sites' pressure as last announced.
    pub(crate) pressure_seen: Mutex<Vec<crate::action::SitePressure>>,
}

impl Rt {
    /// An evaluator over the run's values so far, held while `f` runs.
    fn evaluating<T>(
        &self,
        frame: &Frame,
        saga: Option<SagaCtx<'_>>,
        f: impl FnOnce(&EvalCtx<'_>) -> T,
    ) -> T {
        let values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        f(&EvalCtx {
            plan: &self.plan,
            params: &self.params,
            run: &self.run,
            values: &values,
            frame,
            saga,
            projection: None,
        })
    }

    pub(crate) fn eval(&self, frame: &Frame, e: &Expr) -> Result<Value, EvalError> {
        self.evaluating(frame, None, |c| c.eval(e))
    }

    pub(crate) fn eval_bool(&self, frame: &Frame, e: &Expr) -> Result<bool, EvalError> {
        self.evaluating(frame, None, |c| c.eval_bool(e))
    }

    /// `e` in a compensate or cleanup call: `result` and the step's inputs
    /// are defined.
    pub(crate) fn eval_saga(
        &self,
        frame: &Frame,
        e: &Expr,
        result: &Value,
        args: &Map<String, Value>,
    ) -> Result<Value, EvalError> {
        self.evaluating(frame, Some(SagaCtx { result, args }), |c| c.eval(e))
    }

    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Compensation and cleanup are skipped: a second Ctrl-C, or the run
    /// is another process's now.
    pub(crate) fn skips_saga(&self) -> bool {
        self.cancel.reason().is_some_and(CancelReason::skips_saga)
    }

    /// The run stops here and its owner resumes it: this process's hold
    /// on it lapsed, or another process owns it now.
    pub(crate) fn left_to_owner(&self) -> bool {
        self.cancel.reason() >= Some(CancelReason::HoldLapsed)
    }

    /// Another process owns the run now: this one calls nothing more.
    pub(crate) fn deposed(&self) -> bool {
        self.cancel.reason() == Some(CancelReason::Deposed)
    }

    pub(crate) fn interrupted(&self) -> bool {
        self.cancel.reason() >= Some(CancelReason::Interrupt)
    }

    /// Announces each site whose retries, throttled answers or adaptive
    /// limit changed since the last announcement ([`Announce::Changes`]),
    /// or every site that saw a request, with its final counts
    /// ([`Announce::Final`]).
    pub(crate) fn announce_pressure(&self, what: Announce) {
        let all = what == Announce::Final;
        let now = self.actions.pressure();
        let mut seen = self.pressure_seen.lock().unwrap_or_else(|e| e.into_inner());
        for p in now {
            let mut p = p.since(self.pressure_base.iter().find(|b| b.site == p.site));
            let before = seen.iter().find(|s| s.site == p.site);
            if let Some(b) = before {
                p.lowest_limit = p.lowest_limit.min(b.lowest_limit);
            }
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
                self.announce_pressure(Announce::Changes);
            }
        };
        tokio::select! {
            out = work => out,
            _ = sampler => unreachable!("the sampler never ends"),
        }
    }
}
