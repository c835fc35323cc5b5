//! Resume: pick a run up again from its directory alone.
//!
//! `Replay::from_records` folds the journal into what the resumed run
//! needs; `resume` then, in this order:
//!
//! 1. **Thaws first.** Every freeze intent without a successful thaw outcome
//!    (a freeze that returned an error excepted) is thawed, in reverse order
//!    of the freeze intents — before anything else is looked at.
//! 2. A run that had **finished** is reported as it ended; nothing runs.
//! 3. A run that was **failing** (compensating, or stopped by a second
//!    interrupt) finishes its compensation: calls in doubt are reconciled
//!    with `find_created`, every completed step without a successful
//!    compensation outcome is compensated (reverse order), then cleanup.
//! 4. Otherwise the run **continues**: the plan is walked again with the same
//!    run id (so the same tags); a step with a journaled result is not called
//!    again, its value is reused; a step with an intent and no outcome is
//!    reconciled (`find_created` with the same tag: found → its value is
//!    journaled and used; not found → the call is made again); approvals
//!    given are not asked again; scopes already finished are not frozen
//!    again. Then the saga as for any run.
//!
//! A crash at any point therefore neither duplicates a created resource nor
//! leaves a target frozen, as long as the `Actions` honour the tag contract.
//! A call in doubt that the resumed walk never reaches again (the run fails
//! earlier this time) is reconciled with the rest before compensation.

use crate::action::{ActionCall, CallPurpose};
use crate::eval::{Frame, RunInfo};
use crate::event::Decision;
use crate::event::{EventKind, Phase, RunOutcome};
use crate::journal::{self, CallRec, Journal, Record};
use crate::quiesce::{thaw_targets, FrozenTarget};
use crate::run::{DecideBy, ExecError, Executor, Rt, RunOptions, RunPhase, RunResult};
use crate::saga::{run_saga, Completed, InDoubt, SagaKind};
use lifeboat_dsl::plan::{NodeKind, Plan, StepId};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// What picking a run up again is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResumeMode {
    /// `lifeboat resume`: finish an interrupted run.
    Continue,
    /// `lifeboat cleanup`: retry what a finished run left behind.
    CleanupOnly,
    /// `lifeboat commit` / `lifeboat rollback`, or the deadline's default:
    /// decide a run awaiting commit.
    Decide(DecideBy),
}

/// What the journal says about an interrupted run.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub run: Option<(RunInfo, Map<String, Value>, String)>,
    /// Successful step results, by instance.
    pub outcomes: HashMap<String, Value>,
    /// Instances with an intent and no outcome.
    pub in_doubt: HashSet<String>,
    /// Instances whose last outcome is an error (a lost answer may still
    /// have created something).
    pub failed: HashSet<String>,
    intents: HashMap<String, (StepId, Frame, CallRec)>,
    /// Completed steps, in completion order.
    pub completed: Vec<Completed>,
    pub approved: HashSet<String>,
    pub scopes_done: HashSet<String>,
    /// Freeze intents not thawed, in freeze order: key, scope, target,
    /// thaw call, freeze group.
    pub frozen: Vec<(String, String, String, CallRec, Option<usize>)>,
    pub compensated: HashSet<String>,
    pub cleaned: HashSet<String>,
    /// The reason of a run that was failing, if it was.
    pub failing: Option<String>,
    /// It was failing because it was being rolled back.
    pub rolling_back: bool,
    pub finished: Option<RunOutcome>,
}

impl Replay {
    pub(crate) fn from_records(records: Vec<Record>) -> Replay {
        let mut r = Replay::default();
        for rec in records {
            match rec {
                Record::RunStarted {
                    run_id,
                    runbook,
                    started,
                    plan_hash,
                    params,
                } => {
                    r.run = Some((
                        RunInfo {
                            id: run_id,
                            started,
                            runbook,
                        },
                        params,
                        plan_hash,
                    ));
                }
                Record::RunResumed { .. } | Record::StepSkipped { .. } => {}
                Record::StepIntent {
                    instance,
                    node,
                    frame,
                    call,
                } => {
                    r.in_doubt.insert(instance.clone());
                    r.intents.insert(instance, (node, frame, call));
                }
                Record::StepOutcome {
                    instance, value, ..
                } => {
                    r.in_doubt.remove(&instance);
                    r.failed.remove(&instance);
                    if value.is_none() {
                        r.failed.insert(instance.clone());
                    }
                    if let Some(v) = value {
                        if let Some((node, frame, call)) = r.intents.get(&instance) {
                            r.completed.retain(|c| c.instance != instance);
                            r.completed.push(Completed {
                                node: *node,
                                instance: instance.clone(),
                                tag: call.tag.clone(),
                                frame: frame.clone(),
                                args: call.args.clone(),
                                value: v.clone(),
                            });
                        }
                        r.outcomes.insert(instance, v);
                    }
                }
                Record::Approved { instance } => {
                    r.approved.insert(instance);
                }
                Record::FreezeIntent {
                    key,
                    scope,
                    target,
                    thaw,
                    group,
                    ..
                } => {
                    r.frozen.retain(|f| f.0 != key);
                    r.frozen.push((key, scope, target, thaw, group));
                }
                Record::FreezeOutcome {
                    key,
                    error: Some(_),
                } => r.frozen.retain(|f| f.0 != key),
                Record::ThawOutcome { key, error: None } => r.frozen.retain(|f| f.0 != key),
                Record::FreezeOutcome { .. }
                | Record::ThawIntent { .. }
                | Record::ThawOutcome { .. } => {}
                Record::ScopeFinished { scope } => {
                    r.scopes_done.insert(scope);
                }
                Record::RunFailing {
                    reason, rollback, ..
                } => {
                    // A rollback follows the `RunFinished` of a run awaiting
                    // commit: the run is unfinished again until it ends.
                    r.failing = Some(reason);
                    r.rolling_back = rollback;
                    r.finished = None;
                }
                Record::Decided { .. } => {}
                Record::CompensateOutcome {
                    instance,
                    error: None,
                } => {
                    r.compensated.insert(instance);
                }
                Record::CleanupOutcome {
                    instance,
                    error: None,
                } => {
                    r.cleaned.insert(instance);
                }
                Record::CompensateIntent { .. }
                | Record::CompensateOutcome { .. }
                | Record::CleanupIntent { .. }
                | Record::CleanupOutcome { .. } => {}
                Record::RunFinished { outcome } => r.finished = Some(outcome),
            }
        }
        r
    }

    pub(crate) fn in_doubt_calls(
        &self,
        plan: &Plan,
        run_id: &str,
        rt_default: std::time::Duration,
    ) -> Vec<InDoubt> {
        self.calls_of(self.in_doubt.iter(), plan, run_id, rt_default)
    }

    /// Calls in doubt and calls that failed: what a cleanup settles before
    /// it compensates (finding what they made is harmless when they made
    /// nothing).
    fn unsettled_calls(
        &self,
        plan: &Plan,
        run_id: &str,
        rt_default: std::time::Duration,
    ) -> Vec<InDoubt> {
        self.calls_of(
            self.in_doubt.iter().chain(self.failed.iter()),
            plan,
            run_id,
            rt_default,
        )
    }

    fn calls_of<'a>(
        &self,
        instances: impl Iterator<Item = &'a String>,
        plan: &Plan,
        run_id: &str,
        rt_default: std::time::Duration,
    ) -> Vec<InDoubt> {
        let mut out = Vec::new();
        for inst in instances {
            let Some((node, frame, call)) = self.intents.get(inst) else {
                continue;
            };
            let timeout = match plan.nodes.get(node.index()).map(|n| &n.kind) {
                Some(NodeKind::Action(a)) if a.timeout_ms > 0 => {
                    std::time::Duration::from_millis(a.timeout_ms)
                }
                _ => rt_default,
            };
            out.push(InDoubt {
                node: *node,
                instance: inst.clone(),
                frame: frame.clone(),
                call: ActionCall {
                    action: call.action.clone(),
                    args: call.args.clone(),
                    site: call.site.clone(),
                    run_id: run_id.to_string(),
                    step: inst.clone(),
                    tag: call.tag.clone(),
                    attempt: 1,
                    timeout,
                    purpose: CallPurpose::Reconcile,
                },
            });
        }
        out.sort_by(|a, b| a.instance.cmp(&b.instance));
        out
    }
}

pub(crate) async fn resume(
    ex: &Executor,
    opts: RunOptions,
    mode: ResumeMode,
) -> Result<RunResult, ExecError> {
    let dir = opts.run_dir.clone();
    let plan = journal::read_plan(&dir)?;
    let records = journal::read_journal(&dir)?;
    let mut replay = Replay::from_records(records);
    let Some((run, params, hash)) = replay.run.take() else {
        return Err(ExecError::Resume {
            dir: dir.display().to_string(),
            msg: "the journal has no run-started record".into(),
        });
    };
    if hash != journal::plan_hash(&plan) {
        return Err(ExecError::Resume {
            dir: dir.display().to_string(),
            msg: "plan.json is not the plan the run started with".into(),
        });
    }
    if mode == ResumeMode::CleanupOnly && replay.finished.is_none() {
        return Err(ExecError::Resume {
            dir: dir.display().to_string(),
            msg: "the run has not finished: `lifeboat resume` it (cleanup retries what a finished run left behind)".into(),
        });
    }
    // What a decision does, settled before anything is written.
    let decision = match mode {
        ResumeMode::Decide(by) => decision(&dir, &replay, by)?,
        // `lifeboat resume` of a run awaiting commit past its deadline
        // takes the runbook's default.
        ResumeMode::Continue => replay
            .finished
            .as_ref()
            .and_then(|o| o.due(chrono::Utc::now()))
            .map(|d| (d, "default".to_string())),
        ResumeMode::CleanupOnly => None,
    };
    let half_rolled_back = replay.finished.is_none() && replay.rolling_back;
    if decision.is_none() && matches!(mode, ResumeMode::Decide(_)) && !half_rolled_back {
        // Already decided that way, or not due yet: reported as it stands.
        let events = crate::event::Emitter::new(opts.events.clone());
        events.emit(EventKind::RunStarted {
            run_id: run.id.clone(),
            runbook: run.runbook.clone(),
            started: run.started.clone(),
            resumed: true,
        });
        events.emit(EventKind::RunFinished {
            outcome: replay.finished.clone().unwrap_or(RunOutcome::Succeeded),
            duration_ms: 0,
        });
        return Ok(RunResult {
            run_id: run.id.clone(),
            run_dir: dir,
            outcome: replay.finished.clone().unwrap_or(RunOutcome::Succeeded),
            thaw_failures: 0,
            compensation_failures: 0,
            cleanup_failures: 0,
            finished: true,
        });
    }
    let journal = Journal::open_with(&dir, ex.config_ref().durability)?;
    journal
        .append(&Record::RunResumed {
            at: chrono::Utc::now().to_rfc3339(),
        })
        .await?;

    let frozen: Vec<FrozenTarget> = replay
        .frozen
        .drain(..)
        .rev()
        .map(|(key, scope, name, thaw, group)| {
            // the key is `{scope}#{i}`; the thaw call was `{scope}:thaw-{i}`
            let step = match key.rsplit_once('#') {
                Some((sc, i)) => format!("{sc}:thaw-{i}"),
                None => format!("{scope}:thaw"),
            };
            FrozenTarget {
                key,
                scope,
                name,
                group,
                thaw: ActionCall {
                    action: thaw.action,
                    args: thaw.args,
                    site: thaw.site,
                    run_id: run.id.clone(),
                    // the key is `{scope}#{i}`; the thaw call was `{scope}:thaw-{i}`
                    step: step.clone(),
                    tag: thaw.tag,
                    attempt: 1,
                    timeout: ex_config_thaw_timeout(ex),
                    purpose: CallPurpose::Thaw,
                },
            }
        })
        .collect();
    let mut failing = replay.failing.take();
    let mut finished = replay.finished.clone();
    let rolling_back = replay.rolling_back;
    let in_doubt = match (mode, &finished) {
        (ResumeMode::CleanupOnly, Some(o)) if !o.is_success() => {
            replay.unsettled_calls(&plan, &run.id, ex_default_timeout(ex))
        }
        (ResumeMode::CleanupOnly, _) => Vec::new(),
        _ if failing.is_some() => replay.in_doubt_calls(&plan, &run.id, ex_default_timeout(ex)),
        _ => Vec::new(),
    };
    let completed = std::mem::take(&mut replay.completed);
    let compensated = std::mem::take(&mut replay.compensated);
    let cleaned = std::mem::take(&mut replay.cleaned);

    let rt = ex.rt(plan, params, run, journal, &opts, Some(replay));
    rt.events.emit(EventKind::RunStarted {
        run_id: rt.run.id.clone(),
        runbook: rt.run.runbook.clone(),
        started: rt.run.started.clone(),
        resumed: true,
    });
    rt.events.emit(EventKind::PhaseChanged {
        phase: Phase::Resuming,
    });

    // 1. Thaw whatever a scope left frozen, before anything else.
    thaw_targets(&rt, frozen).await;

    {
        let mut s = rt.saga();
        s.completed = completed;
        s.in_doubt = in_doubt;
        s.compensated = compensated;
        s.cleaned = cleaned;
    }

    if rolling_back {
        rt.rolling_back
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
    // A decision on a run awaiting commit: a commit ends it; a rollback
    // compensates it as a failure would (step 3).
    if let Some((d, by)) = decision {
        rt.journal
            .append(&Record::Decided {
                decision: d,
                by: by.clone(),
                at: chrono::Utc::now().to_rfc3339(),
            })
            .await?;
        match d {
            Decision::Commit => {
                let outcome = RunOutcome::Succeeded;
                rt.journal
                    .append(&Record::RunFinished {
                        outcome: outcome.clone(),
                    })
                    .await?;
                finished = Some(outcome);
            }
            Decision::Rollback => {
                let reason = if by == "operator" {
                    "rolled back by the operator".to_string()
                } else {
                    "rolled back: the commit deadline passed and the runbook's default is rollback"
                        .to_string()
                };
                rt.journal
                    .append(&Record::RunFailing {
                        reason: reason.clone(),
                        interrupted: false,
                        rollback: true,
                    })
                    .await?;
                rt.rolling_back
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                finished = None;
                failing = Some(reason);
            }
        }
    }

    // 2. Finished already: a cleanup retries what it left behind.
    if let (ResumeMode::CleanupOnly, Some(outcome)) = (mode, &finished) {
        return Ok(rt
            .watching_pressure(clean_up_again(&rt, outcome.clone(), &dir))
            .await);
    }
    if let Some(outcome) = finished {
        rt.events.emit(EventKind::RunFinished {
            outcome: outcome.clone(),
            duration_ms: rt.events.elapsed_ms(),
        });
        return Ok(RunResult {
            run_id: rt.run.id.clone(),
            run_dir: dir,
            outcome,
            thaw_failures: 0,
            compensation_failures: 0,
            cleanup_failures: 0,
            finished: true,
        });
    }

    // 3. Failing: finish compensation.
    if let Some(reason) = failing {
        rt.fail_quietly(reason);
        rt.events.emit(EventKind::PhaseChanged {
            phase: Phase::Compensating,
        });
        let comp = rt.compensate().await;
        return Ok(rt
            .clean_up_and_finish(RunPhase::Compensating, comp, &dir)
            .await);
    }

    // 4. Continue.
    Ok(rt.walk_and_finish(&dir).await)
}

/// The decision `by` takes on the run `replay` tells of, and who took it;
/// `None` when there is nothing to do (already decided that way, or the
/// deadline not yet passed); an error when it cannot be taken.
fn decision(
    dir: &std::path::Path,
    replay: &Replay,
    by: DecideBy,
) -> Result<Option<(Decision, String)>, ExecError> {
    let refuse = |msg: String| ExecError::Resume {
        dir: dir.display().to_string(),
        msg,
    };
    let wanted = match by {
        DecideBy::Operator(d) => Some(d),
        DecideBy::Deadline => None,
    };
    match (&replay.finished, wanted) {
        (Some(RunOutcome::AwaitingCommit { .. }), Some(d)) => Ok(Some((d, "operator".into()))),
        (Some(o @ RunOutcome::AwaitingCommit { .. }), None) => {
            Ok(o.due(chrono::Utc::now()).map(|d| (d, "default".into())))
        }
        (Some(_), None) => Ok(None),
        (Some(RunOutcome::Succeeded), Some(Decision::Commit))
        | (Some(RunOutcome::RolledBack { .. }), Some(Decision::Rollback)) => Ok(None),
        (Some(RunOutcome::Succeeded), Some(Decision::Rollback)) => Err(refuse(
            "the run was committed (or its runbook awaits no commit): what it did stays; nothing is rolled back".into(),
        )),
        (Some(RunOutcome::RolledBack { .. }), Some(Decision::Commit)) => Err(refuse(
            "the run was rolled back: there is nothing left to commit".into(),
        )),
        (Some(_), Some(_)) => Err(refuse(
            "the run failed and was compensated: there is nothing to commit or roll back (`lifeboat cleanup` retries what it left behind)".into(),
        )),
        (None, Some(Decision::Rollback)) if replay.rolling_back => {
            // A rollback that stopped half-way: finish it (step 3).
            Ok(None)
        }
        (None, _) => Err(refuse(
            "the run has not finished: `lifeboat resume` it first; it awaits commit once every step has succeeded".into(),
        )),
    }
}

/// The saga of a finished run again: calls in doubt settled and
/// compensations (when it failed), then cleanups — only those not done.
async fn clean_up_again(rt: &Rt, outcome: RunOutcome, dir: &std::path::Path) -> RunResult {
    let comp = if outcome.is_success() {
        (0, false)
    } else {
        rt.events.emit(EventKind::PhaseChanged {
            phase: Phase::Compensating,
        });
        rt.compensate().await
    };
    rt.events.emit(EventKind::PhaseChanged {
        phase: Phase::CleaningUp,
    });
    let clean = run_saga(rt, SagaKind::Cleanup).await;
    if let Err(e) = rt
        .journal
        .append(&Record::RunFinished {
            outcome: outcome.clone(),
        })
        .await
    {
        tracing::error!(error = %e, "journal write failed");
    }
    rt.announce_pressure(true);
    rt.events.emit(EventKind::RunFinished {
        outcome: outcome.clone(),
        duration_ms: rt.events.elapsed_ms(),
    });
    RunResult {
        run_id: rt.run.id.clone(),
        run_dir: dir.to_path_buf(),
        outcome,
        thaw_failures: rt.thaw_failure_count(),
        compensation_failures: comp.0,
        cleanup_failures: clean.0,
        finished: !(comp.1 || clean.1),
    }
}

fn ex_config_thaw_timeout(ex: &Executor) -> std::time::Duration {
    ex.config_ref().thaw_timeout
}

fn ex_default_timeout(ex: &Executor) -> std::time::Duration {
    ex.config_ref().default_timeout
}
