//! Resume: pick a run up again from its directory alone.
//!
//! `Replay::from_records` (`replay.rs`) folds the journal into what the
//! resumed run needs; `resume` then, in this order:
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
use crate::context::{Announce, Engine, ExecError, Rt, RunOptions};
use crate::event::Decision;
use crate::event::{EventKind, Phase, RunOutcome};
use crate::journal::{self, Record};
use crate::quiesce::{thaw_targets, FrozenTarget};
use crate::replay::{Replay, Started, Unthawed};
use crate::run::{RunPhase, RunResult};
use crate::saga::{clean_up, Tally};

/// Who decides the fate of a run awaiting commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecideBy {
    /// `lifeboat commit` / `lifeboat rollback`.
    Operator(Decision),
    /// The runbook's default, once the deadline has passed (the daemon, or
    /// `lifeboat resume`); before it, nothing changes.
    Deadline,
}

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

pub(crate) async fn resume(
    engine: &Engine,
    opts: RunOptions,
    mode: ResumeMode,
) -> Result<RunResult, ExecError> {
    let dir = opts.run_dir.clone();
    let plan = journal::read_plan(&dir)?;
    let records = journal::read_journal(&dir)?;
    let mut replay = Replay::from_records(records);
    let Some(Started {
        run,
        params,
        plan_hash: hash,
    }) = replay.started.take()
    else {
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
            .map(Taken::ByDefault),
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
    let journal = engine.open_journal(&dir, &opts.cancel)?;
    journal
        .append(&Record::RunResumed {
            at: chrono::Utc::now().to_rfc3339(),
        })
        .await?;

    let frozen: Vec<FrozenTarget> = replay
        .frozen
        .drain(..)
        .rev()
        .map(
            |Unthawed {
                 key,
                 scope,
                 target: name,
                 thaw,
                 group,
             }| {
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
                        timeout: engine.config.thaw_timeout,
                        purpose: CallPurpose::Thaw,
                        fence: Default::default(),
                    },
                }
            },
        )
        .collect();
    let mut failing = replay.failing.take();
    let mut finished = replay.finished.clone();
    let rolling_back = replay.rolling_back;
    let in_doubt = match (mode, &finished) {
        (ResumeMode::CleanupOnly, Some(o)) if !o.is_success() => {
            replay.unsettled_calls(&plan, &run.id, engine.config.default_timeout)
        }
        (ResumeMode::CleanupOnly, _) => Vec::new(),
        _ if failing.is_some() => {
            replay.in_doubt_calls(&plan, &run.id, engine.config.default_timeout)
        }
        _ => Vec::new(),
    };
    let completed = std::mem::take(&mut replay.completed);
    let compensated = std::mem::take(&mut replay.compensated);
    let cleaned = std::mem::take(&mut replay.cleaned);

    let rt = engine.rt(plan, params, run, journal, &opts, Some(replay));
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
        let mut s = rt.ledger();
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
    if let Some(taken) = decision {
        rt.journal
            .append(&Record::Decided {
                decision: taken.decision(),
                by: taken.by().to_string(),
                at: chrono::Utc::now().to_rfc3339(),
            })
            .await?;
        match taken.decision() {
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
                let reason = if let Taken::ByOperator(_) = taken {
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

/// A decision on a run awaiting commit, and who took it.
#[derive(Debug, Clone, Copy)]
enum Taken {
    ByOperator(Decision),
    /// The runbook's default, its deadline passed.
    ByDefault(Decision),
}

impl Taken {
    fn decision(self) -> Decision {
        match self {
            Taken::ByOperator(d) | Taken::ByDefault(d) => d,
        }
    }

    /// As the journal's `Decided` record names who took it.
    fn by(self) -> &'static str {
        match self {
            Taken::ByOperator(_) => "operator",
            Taken::ByDefault(_) => "default",
        }
    }
}

/// The decision `by` takes on the run `replay` tells of, and who took it;
/// `None` when there is nothing to do (already decided that way, or the
/// deadline not yet passed); an error when it cannot be taken.
fn decision(
    dir: &std::path::Path,
    replay: &Replay,
    by: DecideBy,
) -> Result<Option<Taken>, ExecError> {
    let refuse = |msg: String| ExecError::Resume {
        dir: dir.display().to_string(),
        msg,
    };
    let wanted = match by {
        DecideBy::Operator(d) => Some(d),
        DecideBy::Deadline => None,
    };
    match (&replay.finished, wanted) {
        (Some(RunOutcome::AwaitingCommit { .. }), Some(d)) => Ok(Some(Taken::ByOperator(d))),
        (Some(o @ RunOutcome::AwaitingCommit { .. }), None) => {
            Ok(o.due(chrono::Utc::now()).map(Taken::ByDefault))
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
        Tally::default()
    } else {
        rt.events.emit(EventKind::PhaseChanged {
            phase: Phase::Compensating,
        });
        rt.compensate().await
    };
    rt.events.emit(EventKind::PhaseChanged {
        phase: Phase::CleaningUp,
    });
    let clean = clean_up(rt).await;
    if let Err(e) = rt
        .journal
        .append(&Record::RunFinished {
            outcome: outcome.clone(),
        })
        .await
    {
        tracing::error!(error = %e, "journal write failed");
    }
    rt.announce_pressure(Announce::Final);
    rt.events.emit(EventKind::RunFinished {
        outcome: outcome.clone(),
        duration_ms: rt.events.elapsed_ms(),
    });
    RunResult {
        run_id: rt.run.id.clone(),
        run_dir: dir.to_path_buf(),
        outcome,
        thaw_failures: rt.thaw_failure_count(),
        compensation_failures: comp.failures,
        cleanup_failures: clean.failures,
        finished: !(comp.cut_short || clean.cut_short),
    }
}
