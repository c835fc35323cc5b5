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
use crate::event::{EventKind, Phase, RunOutcome};
use crate::journal::{self, CallRec, Journal, Record};
use crate::quiesce::{thaw_targets, FrozenTarget};
use crate::run::{ExecError, Executor, Rt, RunOptions, RunPhase, RunResult};
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
                Record::RunFailing { reason, .. } => r.failing = Some(reason),
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
    let failing = replay.failing.take();
    let finished = replay.finished.clone();
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
