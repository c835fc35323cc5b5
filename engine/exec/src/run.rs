//! A run's life, from start to its last journal record:
//!
//! ```text
//! Running ──(all done)──────────────────────────→ CleaningUp → Finished(Succeeded)
//!    └──(failure / watchdog / interrupt)→ Compensating → CleaningUp → Finished(Failed | Interrupted)
//! ```
//!
//! [`start`] validates the parameters (missing required → error before
//! anything happens), writes `plan.json` and the `RunStarted` record into
//! the run directory, walks the plan ([`crate::walk`]), then runs the saga
//! ([`crate::saga`]): compensation if the run failed, cleanup always.
//! Thaws happen inside the scopes, before any of this. A run picked up
//! again ([`crate::resume`]) goes through the same end.

use crate::cancel::CancelReason;
use crate::context::{Announce, Engine, ExecError, Rt, RunOptions};
use crate::eval::{Frame, RunInfo};
use crate::event::{EventKind, Phase, RunOutcome};
use crate::journal::{self, Record};
use crate::saga::{clean_up, reconcile_in_doubt, run_saga, sweep_twins, SagaKind, Tally};
use crate::step::NodeOutcome;
use crate::walk::run_block;
use lifeboat_dsl::plan::Plan;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

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

/// A short random run id, safe in resource names (8 hex digits).
pub fn new_run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Runs `plan` with `params` (defaults are filled in) as a new run in
/// `opts.run_dir`.
pub(crate) async fn start(
    engine: &Engine,
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
    let journal = engine.open_journal(&opts.run_dir, &opts.cancel)?;
    journal
        .append(&Record::RunStarted {
            run_id: run_id.clone(),
            runbook: plan.runbook.clone(),
            started: started.clone(),
            plan_hash: journal::plan_hash(plan),
            params: params.clone(),
        })
        .await?;
    let rt = engine.rt(
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

impl Rt {
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
        let mut comp = Tally::default();
        if failed {
            phase = self.next_phase(phase, RunPhase::Compensating);
            let reason = self.failure_reason();
            let rec = Record::RunFailing {
                reason,
                interrupted: self.interrupted(),
                rollback: false,
            };
            // A run left to its owner (hold lapsed, deposed) is not failing:
            // its journal stays as a crash would leave it, and the owner's
            // resume goes on with it.
            if !self.left_to_owner() {
                if let Err(e) = self.journal.append(&rec).await {
                    tracing::error!(error = %e, "journal write failed");
                }
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
                self.ledger().in_doubt.extend(unseen);
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
                Some(CancelReason::HoldLapsed) => {
                    "stopped: this daemon's hold on the run may have lapsed (paused, or cut off from etcd, past its lease); the job's owner resumes it".into()
                }
                Some(CancelReason::Deposed) => {
                    "deposed: another daemon owns this run now and finishes it".into()
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

    /// Reconciles calls in doubt, then compensates.
    pub(crate) async fn compensate(&self) -> Tally {
        if self.deposed() {
            return Tally::NOT_RUN;
        }
        let unreconciled = reconcile_in_doubt(self).await;
        // Twins first: one may depend on what a compensation removes (a
        // volume on its snapshot).
        let w = sweep_twins(self).await;
        if w.cut_short {
            return Tally {
                failures: w.failures + unreconciled,
                ..w
            };
        }
        let t = run_saga(self, SagaKind::Compensate).await;
        Tally {
            failures: t.failures + unreconciled + w.failures,
            ..t
        }
    }

    pub(crate) async fn clean_up_and_finish(
        &self,
        phase: RunPhase,
        comp: Tally,
        run_dir: &Path,
    ) -> RunResult {
        let failed = phase == RunPhase::Compensating;
        let phase = self.next_phase(phase, RunPhase::CleaningUp);
        let clean = if comp.cut_short {
            Tally::NOT_RUN
        } else {
            clean_up(self).await
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
        // A run whose hold lapsed or that was deposed is never finished
        // here, even with nothing to compensate: its owner resumes it.
        let finished = !(comp.cut_short || clean.cut_short || self.left_to_owner());
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
        self.announce_pressure(Announce::Final);
        self.events.emit(EventKind::RunFinished {
            outcome: outcome.clone(),
            duration_ms: self.events.elapsed_ms(),
        });
        RunResult {
            run_id: self.run.id.clone(),
            run_dir: run_dir.to_path_buf(),
            outcome,
            thaw_failures: self.thaw_failure_count(),
            compensation_failures: comp.failures,
            cleanup_failures: clean.failures,
            finished,
        }
    }
}
