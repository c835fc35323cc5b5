//! The saga: compensation when a run fails, cleanup whatever happens —
//! and before the cleanups, the twins of uncertain creates (`clean_up`).
//!
//! Every completed step that has a `compensate` or `cleanup` call is kept
//! (`Completed`: its instance, frame, evaluated args and result). Calls
//! dropped in flight (`InDoubt`: aborted by an interrupt or a watchdog) are
//! first *reconciled*: `Actions::find_created` with the same tag; what it
//! finds is journaled as the step's outcome and joins the completed list, so
//! it is compensated and cleaned up like the rest.
//!
//! Order: steps in reverse order of completion. Instances of one step (the
//! iterations of a loop) are independent of each other, so they are
//! compensated together, bounded by the per-site limits; a step's group
//! starts only when the group of every step completed after it is done.
//! This keeps the contract (reverse order) without making a hundred
//! deletions wait for each other.
//!
//! Each call is evaluated with `Expr::Result` = the step's result and
//! `Expr::Input(name)` = its arguments, journaled (intent, outcome), retried
//! on transient errors (`ExecConfig::saga_retries` at least) and never
//! cancelled once started. A failure is reported (event, report, run result)
//! and does not stop the others. A second interrupt stops starting new ones;
//! a resumed run finishes them (anything without a successful outcome).

use crate::action::{ActionCall, CallPurpose};
use crate::context::Rt;
use crate::eval::{Frame, Kept};
use crate::event::{EventKind, OrphanResource};
use crate::journal::Record;
use crate::ledger::{Completed, TWIN_MARK};
use crate::step::{
    call_rec, call_with_retries, eval_args, step_timeout, CallFailure, Got, Retry, StepMachine,
};
use futures::stream::{FuturesUnordered, StreamExt};
use lifeboat_dsl::plan::{site_of, Call, NodeKind, StepId, Type};
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SagaKind {
    Compensate,
    Cleanup,
    /// A twin's disposal: the step's compensation (its undo), else its
    /// cleanup, with the twin as the result; journaled as a cleanup.
    Twin,
}

/// Reconciles calls dropped in flight. Returns the number that could not be
/// reconciled (reported as failures).
pub(crate) async fn reconcile_in_doubt(rt: &Rt) -> usize {
    reconcile_where(rt, &|_, _| true).await
}

/// Which instances a pass concerns: by node and frame.
type Pick<'a> = &'a (dyn Fn(StepId, &Frame) -> bool + Sync);

/// Undoes at once what the instances `pick` chooses did — calls in doubt
/// among them settled, then their compensations, then their cleanups, as
/// the run's saga would — and marks it undone, so that the saga at the
/// run's end leaves it be. For an attempt of a quiesce scope given up
/// before the next. Returns the number of failures.
pub(crate) async fn undo_where(rt: &Rt, pick: impl Fn(StepId, &Frame) -> bool + Sync) -> usize {
    let mut failures = reconcile_where(rt, &pick).await;
    for kind in [SagaKind::Compensate, SagaKind::Cleanup] {
        let t = run_saga_where(rt, kind, &pick).await;
        failures += t.failures + usize::from(t.cut_short);
    }
    failures
}

async fn reconcile_where(rt: &Rt, pick: Pick<'_>) -> usize {
    let pending: Vec<_> = {
        let mut l = rt.ledger();
        let (mine, others) = std::mem::take(&mut l.in_doubt)
            .into_iter()
            .partition(|d| pick(d.node, &d.frame));
        l.in_doubt = others;
        mine
    };
    let mut failures = 0;
    for d in pending {
        match rt.actions.find_created(&d.call).await {
            Ok(Some(out)) => {
                rt.journal.append_nowait(&Record::StepOutcome {
                    instance: d.instance.clone(),
                    value: Some(out.value.clone()),
                    bytes_moved: out.bytes_moved,
                    error: None,
                    reconciled: true,
                    uncertain: true,
                });
                rt.ledger().completed.push(Completed {
                    node: d.node,
                    instance: d.instance,
                    tag: d.call.tag,
                    frame: d.frame,
                    args: d.call.args,
                    value: Kept::of(&out.value),
                    uncertain: true,
                });
            }
            Ok(None) => {}
            Err(e) => {
                failures += 1;
                let why = format!(
                    "could not tell whether the interrupted call created something (tag {}): {e}",
                    d.call.tag
                );
                rt.events.emit(EventKind::CompensationFailed {
                    instance: d.instance.clone(),
                    error: why.clone(),
                });
                rt.events.emit(EventKind::Orphaned {
                    instance: d.instance.clone(),
                    action: d.call.action.clone(),
                    resource: OrphanResource {
                        site: d.call.site.clone(),
                        kind: service_of(&d.call.action),
                        id: None,
                        name: Some(d.call.tag.clone()),
                    },
                    why,
                });
            }
        }
    }
    failures
}

/// How a pass of the saga (compensations or cleanups) went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Calls that failed (or calls in doubt that could not be settled).
    pub failures: usize,
    /// The pass stopped before its end (a second interrupt, or the run is
    /// another process's now): what is left, a resume does.
    pub cut_short: bool,
}

impl Tally {
    /// A pass that did not run at all, left for a resume.
    pub(crate) const NOT_RUN: Tally = Tally {
        failures: 0,
        cut_short: true,
    };
}

/// Runs the compensations or cleanups not done yet.
pub(crate) async fn run_saga(rt: &Rt, kind: SagaKind) -> Tally {
    run_saga_where(rt, kind, &|_, _| true).await
}

async fn run_saga_where(rt: &Rt, kind: SagaKind, pick: Pick<'_>) -> Tally {
    let items: Vec<Completed> = {
        let s = rt.ledger();
        let done = match kind {
            SagaKind::Compensate => &s.compensated,
            SagaKind::Cleanup | SagaKind::Twin => &s.cleaned,
        };
        s.completed
            .iter()
            .filter(|c| {
                !done.contains(&c.instance)
                    && pick(c.node, &c.frame)
                    && saga_call(rt, c.node, kind).is_some()
            })
            .cloned()
            .collect()
    };
    // Groups: one per step, in reverse order of each step's last completion.
    let mut groups: Vec<(StepId, Vec<Completed>)> = Vec::new();
    for c in items.into_iter().rev() {
        match groups.iter_mut().find(|(n, _)| *n == c.node) {
            Some((_, g)) => g.push(c),
            None => groups.push((c.node, vec![c])),
        }
    }
    let mut failures = 0;
    for (_, group) in groups {
        if rt.skips_saga() {
            return Tally {
                failures,
                cut_short: true,
            };
        }
        let mut running: FuturesUnordered<_> = group.iter().map(|c| run_one(rt, c, kind)).collect();
        while let Some(ok) = running.next().await {
            if !ok {
                failures += 1;
            }
        }
    }
    Tally {
        failures,
        cut_short: false,
    }
}

/// The run's twins, then its cleanups. Twins: for each step whose outcome
/// was uncertain (a create made again after a lost answer, retried, or
/// reconciled), what else carries its tag is disposed of with the step's
/// undo — first, as a twin may depend on what the cleanups remove (a
/// volume on the snapshot it was made from). Run at the end of every run
/// and by `lifeboat cleanup` (a twin may land after the run).
pub(crate) async fn clean_up(rt: &Rt) -> Tally {
    let w = sweep_twins(rt).await;
    if w.cut_short {
        return w;
    }
    let t = run_saga(rt, SagaKind::Cleanup).await;
    Tally {
        failures: t.failures + w.failures,
        cut_short: t.cut_short,
    }
}

/// The twins of the run's uncertain creates, each disposed of with its
/// step's undo (see [`clean_up`]); before the compensations of a failed
/// run too, as a twin may depend on what they undo.
pub(crate) async fn sweep_twins(rt: &Rt) -> Tally {
    let uncertain: Vec<Completed> = {
        let mut l = rt.ledger();
        let mine: Vec<Completed> = l
            .completed
            .iter()
            .filter(|c| {
                c.uncertain
                    && !l.swept.contains(&c.instance)
                    && saga_call(rt, c.node, SagaKind::Twin).is_some()
            })
            .cloned()
            .collect();
        l.swept.extend(mine.iter().map(|c| c.instance.clone()));
        mine
    };
    let mut failures = 0;
    for c in uncertain {
        if rt.skips_saga() {
            return Tally {
                failures,
                cut_short: true,
            };
        }
        let (NodeKind::Action(a), Some(undo)) = (
            &rt.plan.node(c.node).kind,
            saga_call(rt, c.node, SagaKind::Twin),
        ) else {
            continue;
        };
        let call = ActionCall {
            action: a.call.action.clone(),
            site: site_of(&a.call.args, &c.args),
            args: c.args.clone(),
            run_id: rt.run.id.clone(),
            step: c.instance.clone(),
            tag: c.tag.clone(),
            attempt: 1,
            timeout: step_timeout(rt, a),
            purpose: CallPurpose::Reconcile,
            fence: Default::default(),
        };
        let found = match c.value.value() {
            Ok(kept) => rt
                .actions
                .twins(&call, &kept)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let twins = match found {
            Ok(t) => t,
            Err(e) => {
                failures += 1;
                let why = format!(
                    "could not look for twins of its result (tag {}): {e}",
                    c.tag
                );
                rt.events.emit(EventKind::CleanupFailed {
                    instance: c.instance.clone(),
                    error: why.clone(),
                });
                rt.events.emit(EventKind::Orphaned {
                    instance: c.instance.clone(),
                    action: call.action.clone(),
                    resource: OrphanResource {
                        site: call.site.clone(),
                        kind: service_of(&call.action),
                        id: None,
                        name: Some(c.tag.clone()),
                    },
                    why,
                });
                continue;
            }
        };
        rt.events.emit(EventKind::TwinsSought {
            instance: c.instance.clone(),
            found: twins.len(),
        });
        for (n, t) in twins.into_iter().enumerate() {
            // A record's id, or (a list of one: groups) its element's.
            let id = t
                .get("id")
                .or_else(|| t.get(0)?.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| n.to_string());
            let twin = Completed {
                instance: format!("{}{TWIN_MARK}{id}", c.instance),
                tag: format!("{}-t{n}", c.tag),
                value: Kept::of(&t),
                uncertain: false,
                ..c.clone()
            };
            rt.events.emit(EventKind::TwinFound {
                of: c.instance.clone(),
                instance: twin.instance.clone(),
                resource: orphan_resource(undo, &t, &c.args),
            });
            tracing::warn!(step = %c.instance, twin = %id, undo = %undo.action, "a twin of the step's result landed late: disposing of it");
            if !run_one(rt, &twin, SagaKind::Twin).await {
                failures += 1;
            }
        }
    }
    Tally {
        failures,
        cut_short: false,
    }
}

/// `cinder` of `cinder.delete_volume`.
fn service_of(action: &str) -> String {
    action.split('.').next().unwrap_or(action).to_string()
}

/// What a failed undo leaves behind: the step's result when it is a record
/// (its `id`, `name`, `site`), typed by the undo call's record parameter.
fn orphan_resource(undo: &Call, value: &Value, args: &Map<String, Value>) -> OrphanResource {
    let kind = undo
        .args
        .iter()
        .find_map(|a| match &a.ty {
            Type::Record(n) => Some(n.clone()),
            Type::List(t) => match t.as_ref() {
                Type::Record(n) => Some(n.clone()),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_else(|| service_of(&undo.action));
    let field = |k: &str| value.get(k).and_then(Value::as_str).map(str::to_string);
    OrphanResource {
        site: field("site")
            .or_else(|| args.get("site").and_then(Value::as_str).map(str::to_string)),
        kind,
        id: field("id"),
        name: field("name"),
    }
}

fn saga_call(rt: &Rt, node: StepId, kind: SagaKind) -> Option<&Call> {
    match &rt.plan.nodes.get(node.index())?.kind {
        NodeKind::Action(a) => match kind {
            SagaKind::Compensate => a.compensate.as_ref(),
            SagaKind::Cleanup => a.cleanup.as_ref(),
            SagaKind::Twin => a.compensate.as_ref().or(a.cleanup.as_ref()),
        },
        _ => None,
    }
}

async fn run_one(rt: &Rt, c: &Completed, kind: SagaKind) -> bool {
    let Some(call_def) = saga_call(rt, c.node, kind) else {
        return true;
    };
    let (suffix, letter) = match kind {
        SagaKind::Compensate => ("compensate", 'c'),
        SagaKind::Cleanup | SagaKind::Twin => ("cleanup", 'k'),
    };
    let instance = c.instance.clone();
    let result = c.value.value();
    let fail = |error: String| {
        rt.events.emit(EventKind::Orphaned {
            instance: instance.clone(),
            action: call_def.action.clone(),
            // A result that does not read back leaves the arguments to
            // name the resource.
            resource: orphan_resource(
                call_def,
                result.as_ref().unwrap_or(&serde_json::Value::Null),
                &c.args,
            ),
            why: error.clone(),
        });
        rt.events.emit(match kind {
            SagaKind::Compensate => EventKind::CompensationFailed {
                instance: instance.clone(),
                error,
            },
            SagaKind::Cleanup | SagaKind::Twin => EventKind::CleanupFailed {
                instance: instance.clone(),
                error,
            },
        });
        false
    };
    let result_value = match &result {
        Ok(v) => v,
        Err(e) => return fail(format!("{}: {e}", call_def.action)),
    };
    let args = match eval_args(rt, &c.frame, &call_def.args, Some((result_value, &c.args))) {
        Ok(a) => a,
        Err(e) => return fail(format!("{}: {e}", call_def.action)),
    };
    let (policy, timeout) = match &rt.plan.node(c.node).kind {
        NodeKind::Action(a) => (
            Retry {
                retries: a.retry.retries.max(rt.config.saga_retries),
                backoff: Duration::from_millis(a.retry.backoff_ms),
                retry_timeouts: false,
            },
            step_timeout(rt, a),
        ),
        _ => return true,
    };
    let mut call = ActionCall {
        action: call_def.action.clone(),
        site: site_of(&call_def.args, &args),
        args,
        run_id: rt.run.id.clone(),
        step: format!("{instance}:{suffix}"),
        tag: format!("{}-{letter}", c.tag),
        attempt: 1,
        timeout,
        purpose: match kind {
            SagaKind::Compensate => CallPurpose::Compensate,
            SagaKind::Cleanup | SagaKind::Twin => CallPurpose::Cleanup,
        },
        fence: Default::default(),
    };
    let intent = match kind {
        SagaKind::Compensate => Record::CompensateIntent {
            instance: instance.clone(),
            call: call_rec(&call),
        },
        SagaKind::Cleanup | SagaKind::Twin => Record::CleanupIntent {
            instance: instance.clone(),
            call: call_rec(&call),
        },
    };
    if let Err(e) = rt.journal.append_intent(&intent, call_def.effect).await {
        return fail(format!("not started, the journal cannot be written: {e}"));
    }
    // Announced once its intent is journaled: the call starts now (its
    // duration, as events show it, is the call's own plus any wait for a
    // site permit).
    rt.events.emit(match kind {
        SagaKind::Compensate => EventKind::CompensationStarted {
            instance: instance.clone(),
            action: call_def.action.clone(),
        },
        SagaKind::Cleanup | SagaKind::Twin => EventKind::CleanupStarted {
            instance: instance.clone(),
            action: call_def.action.clone(),
        },
    });
    let mut m = StepMachine::silent();
    let res = call_with_retries(rt, &mut call, policy, None, &mut m).await;
    let error = match res {
        Ok(out) => {
            m.succeed(out.bytes_moved, Got::Called);
            None
        }
        Err(CallFailure::Failed(e)) => Some(e.to_string()),
        Err(CallFailure::Cancelled) => Some("cancelled".to_string()),
    };
    let outcome = match kind {
        SagaKind::Compensate => Record::CompensateOutcome {
            instance: instance.clone(),
            error: error.clone(),
        },
        SagaKind::Cleanup | SagaKind::Twin => Record::CleanupOutcome {
            instance: instance.clone(),
            error: error.clone(),
        },
    };
    rt.journal.append_nowait(&outcome);
    match error {
        Some(e) if e.starts_with(&call_def.action) => fail(e),
        Some(e) => fail(format!("{}: {e}", call_def.action)),
        None => {
            {
                let mut s = rt.ledger();
                match kind {
                    SagaKind::Compensate => s.compensated.insert(instance.clone()),
                    SagaKind::Cleanup | SagaKind::Twin => s.cleaned.insert(instance.clone()),
                };
            }
            rt.events.emit(match kind {
                SagaKind::Compensate => EventKind::Compensated { instance },
                SagaKind::Cleanup | SagaKind::Twin => EventKind::CleanedUp { instance },
            });
            true
        }
    }
}
