//! Quiesce scopes: freeze group by group, run the body, thaw in exact reverse.
//!
//! ```text
//! Freezing{group} → Frozen → Thawing{group} → Thawed
//!      │                          └─────────→ ThawFailed   (loud: a VM may stay frozen)
//!      └─ (freeze failed / cancelled / watchdog) → Thawing{group}
//! ```
//!
//! The scope's phases are told target by target: each freeze and thaw is
//! a call with its own machine and events (`FreezeStarted`, `Frozen`,
//! `FreezeFailed`, `ThawStarted`, `Thawed`, `ThawFailed`).
//!
//! 1. Evaluate targets, `order` and the method name; resolve the method in
//!    `plan.quiesce_methods` (unknown → the scope fails before anything is
//!    frozen). Sort targets stably by the position of `target[by]` in
//!    `order`; values not in `order` come last, in list order. Consecutive
//!    targets with the same `by` value form a **freeze group** (each target
//!    its own group with `one at a time`).
//!    With a freeze gate shared by runs (`ExecConfig::freeze_gate`, the
//!    daemon's `freezes_at_once`), the attempt first takes a place there,
//!    and holds it until step 4 has thawed every target; waiting is not
//!    part of the window, and a run stopped while it waits froze nothing.
//! 2. Journal every target's freeze intent with its group (one sync for the
//!    lot), then freeze group after group, the targets of a group at once
//!    (urgent calls: they take no slot of the site's limits, see
//!    `CallPurpose::is_urgent`). A target joins the thaw list
//!    *before* its freeze call: a freeze interrupted in flight may have taken
//!    effect, so it is thawed too; a freeze that returned an error did not,
//!    so it is not; targets never attempted get a "not attempted" outcome.
//!    When one freeze of a group fails, its siblings finish (and are thawed)
//!    and no later group is frozen. Thaw actions must therefore succeed on a
//!    target that is not frozen.
//! 3. Run the body with a child cancel handle. The watchdog (`within`)
//!    bounds the first freeze to the last thaw — no target stays frozen
//!    longer than asked, and the first group frozen is thawed last. The thaws
//!    are budgeted as long as the freezes took: the watchdog fires at
//!    `within` minus the time spent freezing so far. When it fires, the
//!    freezes or the body are aborted ([`CancelReason::WatchdogExpired`]),
//!    the targets are thawed, and the run fails.
//! 4. Thaw the list in reverse, group by group, the targets of a group at
//!    once — after success, failure, interrupt and second interrupt alike.
//!    Thaws take no cancel handle and no site slot; transient errors and
//!    timeouts are retried (`ExecConfig::thaw_attempts`) and a thaw that
//!    still fails emits `ThawFailed` and fails the run. A resumed run thaws
//!    the groups its journal names the same way (journals without groups:
//!    one target at a time).
//!
//! 5. `retry N [backoff D]` ([`QuiesceScope::retry`]): an attempt cut short
//!    by its watchdog or by a freeze that failed is not yet the run's
//!    failure. Once every target is thawed, `ScopeRetried` is journaled,
//!    then what the attempt's body did is undone at once — calls in doubt
//!    settled by their tags, compensations, then cleanups
//!    (`saga::undo_where`: the instances of the scope's body in the
//!    attempt's frame) — and after the backoff (doubling, with jitter) the
//!    next attempt freezes again. Each
//!    attempt's instances are named apart (`snap~2`, see [`Frame`]), its
//!    results land where the rest of the run reads them. A body step that
//!    fails, a thaw that fails, a stopping run or an undo that fails end
//!    the retries; the last attempt fails the run as a scope without
//!    `retry` would. A resumed run goes on with the attempt it was in.
//!
//! Freeze and thaw calls take the target in the method's `target_param` plus
//! the evaluated `method_args`; their site is the target's `site` field.
//! A scope whose body finished and whose targets were all thawed is
//! journaled `ScopeFinished`; a resumed run does not freeze it again, nor a
//! scope whose body steps all have journaled results (a crash while
//! thawing): resume has thawed it already, and there is nothing left to do
//! under the freeze.

use crate::action::{ActionCall, CallPurpose};
use crate::cancel::{CancelHandle, CancelReason};
use crate::context::Rt;
use crate::eval::{display_name, shape, Frame};
use crate::event::EventKind;
use crate::journal::Record;
use crate::step::{
    call_rec, call_with_retries, eval_args, make_tag, CallFailure, Got, NodeOutcome, Retry,
    StepMachine,
};
use lifeboat_dsl::plan::{FreezeOrder, Node, NodeKind, QuiesceScope, StepId};
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;

/// A target whose freeze was started, with what it takes to thaw it.
#[derive(Debug, Clone)]
pub(crate) struct FrozenTarget {
    pub key: String,
    pub scope: String,
    pub name: String,
    /// Its freeze group within the scope: the targets of one group are
    /// thawed together. `None`: alone.
    pub group: Option<usize>,
    pub thaw: ActionCall,
}

/// Runs the scope `q` (of `node`): freezes, then `body` (the walker
/// running the scope's block in the frame and under the cancel handle it
/// is given: the attempt's, and the scope's own, which its watchdog
/// aborts), then thaws; with a `retry`, again while an attempt fails for
/// want of time or of a freeze (see [`QuiesceScope::retry`]).
pub(crate) async fn run_scope<B, F>(
    rt: &Rt,
    q: &QuiesceScope,
    node: &Node,
    frame: &Frame,
    cancel: &CancelHandle,
    body: B,
) -> NodeOutcome
where
    B: Fn(CancelHandle, Frame) -> F,
    F: std::future::Future<Output = NodeOutcome>,
{
    let instance = frame.instance(&node.name);
    let prepared = (|| -> Result<_, String> {
        let targets = match rt
            .eval(frame, &q.targets)
            .map_err(|e| format!("quiesce targets: {e}"))?
        {
            Value::Array(t) => t,
            Value::Null => Vec::new(),
            other => {
                return Err(format!(
                    "quiesce targets must be a list, got {}",
                    shape(&other)
                ))
            }
        };
        let order = match rt
            .eval(frame, &q.order)
            .map_err(|e| format!("quiesce order: {e}"))?
        {
            Value::Array(o) => o,
            Value::Null => Vec::new(),
            other => {
                return Err(format!(
                    "quiesce order must be a list, got {}",
                    shape(&other)
                ))
            }
        };
        let method_name = match rt
            .eval(frame, &q.method)
            .map_err(|e| format!("quiesce method: {e}"))?
        {
            Value::String(s) => s,
            other => {
                return Err(format!(
                    "quiesce method must be a string, got {}",
                    shape(&other)
                ))
            }
        };
        let Some(method) = rt.plan.quiesce_method(&method_name) else {
            let known: Vec<&str> = rt
                .plan
                .quiesce_methods
                .iter()
                .map(|m| m.name.as_str())
                .collect();
            return Err(format!(
                "unknown quiesce method `{method_name}` (known: {}); nothing was frozen",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        let margs = eval_args(rt, frame, &q.method_args, None)
            .map_err(|e| format!("quiesce method {e}"))?;
        Ok(Freezes {
            order: q.freeze_order(targets, &order),
            method: method.clone(),
            margs,
        })
    })();
    let freezes = match prepared {
        Ok(p) => p,
        Err(e) => {
            rt.fail(&instance, e);
            return NodeOutcome::Failed;
        }
    };

    let Some(retry) = q.retry else {
        return match attempt(rt, q, &freezes, frame, &instance, cancel, &body, true).await {
            Attempt::Ended(o) | Attempt::Short { outcome: o, .. } => o,
        };
    };
    // A resumed run goes on with the attempt it was in.
    let mut n = rt
        .replay
        .as_ref()
        .and_then(|r| r.scope_attempts.get(&instance).copied())
        .unwrap_or(1);
    let last = retry.retries.saturating_add(1);
    // The attempt before, cut short: its name, why, and the backoff.
    let mut before: Option<(String, String, Duration)> = None;
    loop {
        if n > 1 {
            // What the attempts before did, undone before this one freezes
            // (a resumed run too: its crash may have cut the undo short).
            let failures = undo_attempts_before(rt, node, frame, n).await;
            if failures > 0 {
                let why = before
                    .as_ref()
                    .map(|(_, why, _)| format!("{why}; "))
                    .unwrap_or_default();
                rt.fail_quietly(format!(
                    "{instance}: {why}attempt {n} not started: {failures} of what the attempts before did could not be undone"
                ));
                return NodeOutcome::Failed;
            }
        }
        if let Some((scope, error, delay)) = before.take() {
            rt.events.emit(EventKind::ScopeRetrying {
                scope,
                attempt: n,
                of: last,
                error,
                backoff_ms: delay.as_millis().min(u64::MAX as u128) as u64,
            });
            if crate::step::abortable(Some(cancel), tokio::time::sleep(delay))
                .await
                .is_none()
            {
                return NodeOutcome::Cancelled;
            }
        }
        let aframe = frame.in_attempt(n);
        let ainstance = aframe.instance(&node.name);
        let outcome = attempt(
            rt,
            q,
            &freezes,
            &aframe,
            &ainstance,
            cancel,
            &body,
            n >= last,
        )
        .await;
        let (outcome, why) = match outcome {
            Attempt::Ended(o) => return o,
            Attempt::Short { outcome, why } => (outcome, why),
        };
        if cancel.is_stopping() || rt.failure().is_some() {
            // The run stopped meanwhile: its saga undoes the attempt.
            return outcome;
        }
        // Journaled before anything is undone: a run resumed from here on
        // undoes this attempt and goes on with the next, never reusing
        // what the undo removes.
        if let Err(e) = rt
            .journal
            .append(&Record::ScopeRetried {
                scope: instance.clone(),
                attempt: n + 1,
                reason: why.clone(),
            })
            .await
        {
            rt.fail_quietly(format!(
                "{ainstance}: {why}; not tried again: the journal cannot be written: {e}"
            ));
            return NodeOutcome::Failed;
        }
        let delay = crate::step::backoff_delay(
            Duration::from_millis(retry.backoff_ms),
            n,
            rt.config.backoff_cap,
        );
        before = Some((ainstance, why, delay));
        n += 1;
    }
}

/// Undoes what attempts of scope `node` (in `frame`) before attempt `n`
/// did — calls in doubt settled by their tags (a resumed run's too),
/// compensations, cleanups — unless undone already. Returns the failures.
async fn undo_attempts_before(rt: &Rt, node: &Node, frame: &Frame, n: u32) -> usize {
    let depth = frame.attempts.len();
    let earlier = |id: StepId, f: &Frame| {
        frame.contains(f)
            && f.attempts.get(depth).is_some_and(|&a| a < n)
            && rt.plan.ancestors(id).any(|a| a == node.id)
    };
    if let Some(rep) = &rt.replay {
        // Calls in doubt the resumed walk will not meet again.
        let calls: Vec<_> = rep
            .in_doubt_calls(&rt.plan, &rt.run.id, rt.config.default_timeout)
            .into_iter()
            .filter(|d| earlier(d.node, &d.frame))
            .collect();
        let mut seen = rt.replay_seen.lock().unwrap_or_else(|e| e.into_inner());
        let fresh: Vec<_> = calls
            .into_iter()
            .filter(|d| seen.insert(d.instance.clone()))
            .collect();
        drop(seen);
        rt.ledger().in_doubt.extend(fresh);
    }
    crate::saga::undo_where(rt, earlier).await
}

/// What a scope freezes, and with what.
struct Freezes {
    order: FreezeOrder,
    method: lifeboat_dsl::plan::QuiesceMethod,
    margs: serde_json::Map<String, Value>,
}

/// How one attempt of a scope ended.
enum Attempt {
    /// For good: it succeeded, or failed or stopped in a way another
    /// attempt would not mend (a step of the body, a thaw, the run).
    Ended(NodeOutcome),
    /// Cut short by its watchdog or a freeze (`why`), every target
    /// thawed; the run was not failed for it (`last` was false).
    Short { outcome: NodeOutcome, why: String },
}

/// One attempt: freeze group by group, the body, thaw in reverse. With
/// `last`, a watchdog or a freeze that fails fails the run; otherwise the
/// attempt ends [`Attempt::Short`] and the caller decides.
#[allow(clippy::too_many_arguments)]
async fn attempt<B, F>(
    rt: &Rt,
    q: &QuiesceScope,
    fz: &Freezes,
    frame: &Frame,
    instance: &str,
    cancel: &CancelHandle,
    body: &B,
    last: bool,
) -> Attempt
where
    B: Fn(CancelHandle, Frame) -> F,
    F: std::future::Future<Output = NodeOutcome>,
{
    let instance = instance.to_string();
    let Freezes {
        order: FreezeOrder { targets, groups },
        method,
        margs,
    } = fz;
    let body_journaled = |r: &crate::replay::Replay| {
        r.scopes_done.contains(&instance)
            || (!q.body.is_empty()
                && q.body.iter().all(|id| match rt.plan.nodes.get(id.index()) {
                    Some(n) => {
                        matches!(n.kind, NodeKind::Action(_))
                            && r.outcomes.contains_key(&frame.instance(&n.name))
                    }
                    None => false,
                }))
    };
    if rt.replay.as_ref().is_some_and(body_journaled) {
        // The body had finished before the crash (its results are all
        // journaled): nothing to freeze for; the walk reuses the results.
        return Attempt::Ended(body(cancel.clone(), frame.clone()).await);
    }

    let scope_cancel = cancel.child();
    let frozen: Mutex<Vec<FrozenTarget>> = Mutex::new(Vec::with_capacity(targets.len()));
    let within = Duration::from_millis(q.within_ms);
    // Why the attempt was cut short, when another may follow.
    let short: Mutex<Option<String>> = Mutex::new(None);
    // Time spent freezing so far: the watchdog keeps as much for the thaws.
    let (freeze_time, mut freeze_time_rx) = tokio::sync::watch::channel(Duration::ZERO);
    let make_call =
        |action: &str, target: &Value, suffix: String, timeout: Duration, purpose: CallPurpose| {
            let mut args = margs.clone();
            args.insert(method.target_param.clone(), target.clone());
            let step = format!("{instance}:{suffix}");
            ActionCall {
                action: action.to_string(),
                args,
                site: target
                    .get("site")
                    .and_then(|s| s.as_str())
                    .map(str::to_string),
                run_id: rt.run.id.clone(),
                tag: make_tag(&rt.run.id, &step),
                step,
                attempt: 1,
                timeout,
                purpose,
                fence: Default::default(),
            }
        };

    // Every target's freeze intent, journaled with one sync before the
    // first freeze. A target not attempted in the end (the scope stopped
    // early) gets a "not attempted" freeze outcome.
    struct Prepared {
        key: String,
        name: String,
        /// Its freeze group's index and label (the `by` value).
        group: usize,
        label: String,
        freeze: ActionCall,
        thaw: ActionCall,
    }
    // Freeze groups ([`QuiesceScope::freeze_order`]) as ranges into `targets`.
    let group_of = |i: usize| groups.iter().position(|g| g.contains(&i)).unwrap_or(0);
    let label_of = |t: &Value| match t.get(&q.by) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(v) => v.to_string(),
    };
    let prepared: Vec<Prepared> = targets
        .iter()
        .enumerate()
        .map(|(i, target)| Prepared {
            key: format!("{instance}#{i}"),
            name: display_name(target),
            group: group_of(i),
            label: label_of(target),
            freeze: make_call(
                &method.freeze,
                target,
                format!("freeze-{i}"),
                rt.config.freeze_timeout,
                CallPurpose::Freeze,
            ),
            thaw: make_call(
                &method.thaw,
                target,
                format!("thaw-{i}"),
                rt.config.thaw_timeout,
                CallPurpose::Thaw,
            ),
        })
        .collect();
    let skip_from = |from: usize| {
        for p in &prepared[from..] {
            rt.journal.append_nowait(&Record::FreezeOutcome {
                key: p.key.clone(),
                error: Some("not attempted".into()),
            });
        }
    };

    let work = async {
        if let Some((last, first)) = prepared.split_last() {
            let intent = |p: &Prepared| Record::FreezeIntent {
                key: p.key.clone(),
                scope: instance.clone(),
                target: p.name.clone(),
                freeze: call_rec(&p.freeze),
                thaw: call_rec(&p.thaw),
                group: Some(p.group),
            };
            for p in first {
                rt.journal.append_nowait(&intent(p));
            }
            if let Err(e) = rt.journal.append(&intent(last)).await {
                rt.fail(
                    &instance,
                    format!("nothing frozen: the journal cannot be written: {e}"),
                );
                skip_from(0);
                return NodeOutcome::Failed;
            }
        }
        let policy = Retry {
            retries: rt.config.freeze_retries,
            backoff: Duration::from_secs(1),
            retry_timeouts: false,
        };
        for range in groups.iter() {
            if scope_cancel.is_stopping() {
                skip_from(range.start);
                return NodeOutcome::Cancelled;
            }
            let group = &prepared[range.clone()];
            // Every target of the group joins the thaw list before its
            // freeze call: one interrupted in flight may have taken effect.
            for p in group {
                frozen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(FrozenTarget {
                        key: p.key.clone(),
                        scope: instance.clone(),
                        name: p.name.clone(),
                        group: Some(p.group),
                        thaw: p.thaw.clone(),
                    });
                rt.events.emit(EventKind::FreezeStarted {
                    scope: instance.clone(),
                    target: p.name.clone(),
                    group: p.label.clone(),
                });
            }
            let began = tokio::time::Instant::now();
            // The group's freezes at once (no call slot: see above).
            let results = futures::future::join_all(group.iter().map(|p| {
                let mut fcall = p.freeze.clone();
                let cancel = &scope_cancel;
                async move {
                    let mut m = StepMachine::silent();
                    let r = call_with_retries(rt, &mut fcall, policy, Some(cancel), &mut m).await;
                    if let Ok(out) = &r {
                        m.succeed(out.bytes_moved, Got::Called);
                    }
                    r
                }
            }))
            .await;
            // The thaws are budgeted as long as the freezes took.
            freeze_time.send_modify(|d| *d += began.elapsed());
            let mut failure: Option<String> = None;
            let mut cancelled = false;
            for (p, result) in group.iter().zip(results) {
                match result {
                    Ok(_) => {
                        rt.journal.append_nowait(&Record::FreezeOutcome {
                            key: p.key.clone(),
                            error: None,
                        });
                        rt.events.emit(EventKind::Frozen {
                            scope: instance.clone(),
                            target: p.name.clone(),
                        });
                    }
                    // Dropped in flight: it may have frozen; it stays on the
                    // thaw list, its outcome unknown.
                    Err(CallFailure::Cancelled) => cancelled = true,
                    Err(CallFailure::Failed(e)) => {
                        // Did not freeze: nothing to thaw.
                        frozen
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .retain(|f| f.key != p.key);
                        rt.journal.append_nowait(&Record::FreezeOutcome {
                            key: p.key.clone(),
                            error: Some(e.to_string()),
                        });
                        rt.events.emit(EventKind::FreezeFailed {
                            scope: instance.clone(),
                            target: p.name.clone(),
                            error: e.to_string(),
                        });
                        failure.get_or_insert(format!("could not freeze {}: {e}", p.name));
                    }
                }
            }
            if let Some(f) = failure {
                skip_from(range.end);
                if last {
                    rt.fail(&instance, f);
                } else {
                    *short.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
                }
                return NodeOutcome::Failed;
            }
            if cancelled {
                skip_from(range.end);
                return NodeOutcome::Cancelled;
            }
        }
        body(scope_cancel.clone(), frame.clone()).await
    };

    // A place at the freeze gate shared with other runs, if any: taken
    // before the first freeze (the watchdog starts after it), given back
    // once every target is thawed. Nothing is frozen or journaled yet, so
    // a run stopping while it waits has nothing to thaw.
    let place = match &rt.config.freeze_gate {
        Some(gate) if !targets.is_empty() => {
            let asked = tokio::time::Instant::now();
            let Some(place) = crate::step::abortable(Some(cancel), gate.enter()).await else {
                return Attempt::Ended(NodeOutcome::Cancelled);
            };
            let waited = asked.elapsed();
            if waited >= Duration::from_millis(1) {
                tracing::info!(scope = %instance, waited_ms = waited.as_millis() as u64, places = gate.places(), "waited for a place at the freeze gate");
            }
            Some(place)
        }
        _ => None,
    };

    let outcome = if q.within_ms == 0 || targets.is_empty() {
        work.await
    } else {
        // `within` bounds the first freeze to the last thaw (the first target
        // frozen is thawed last). The thaws are expected to take as long as
        // the freezes did, so the watchdog fires at `within` minus the time
        // spent freezing so far, and moves earlier with every freeze.
        let start = tokio::time::Instant::now();
        tokio::pin!(work);
        let mut watching_freezes = true;
        loop {
            let deadline = start + within.saturating_sub(*freeze_time_rx.borrow_and_update());
            tokio::select! {
                o = &mut work => break o,
                changed = freeze_time_rx.changed(), if watching_freezes => {
                    watching_freezes = changed.is_ok();
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let freezing = *freeze_time_rx.borrow();
                    rt.events.emit(EventKind::WatchdogExpired { scope: instance.clone(), within_ms: q.within_ms });
                    scope_cancel.cancel(CancelReason::WatchdogExpired);
                    let why = format!(
                        "watchdog: the targets were quiesced for {:?} of the {within:?} allowed, and the freezes took {freezing:?} that the thaws need too; the body was cancelled and the targets thawed",
                        start.elapsed()
                    );
                    if last {
                        rt.fail_quietly(format!("{instance}: {why}"));
                    } else {
                        *short.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                    }
                    let _ = work.await;
                    break NodeOutcome::Failed;
                }
            }
        }
    };

    let list = std::mem::take(&mut *frozen.lock().unwrap_or_else(|e| e.into_inner()));
    let all_thawed = thaw_targets(rt, list.into_iter().rev().collect()).await;
    drop(place);
    if all_thawed && outcome == NodeOutcome::Succeeded {
        rt.journal.append_nowait(&Record::ScopeFinished {
            scope: instance.clone(),
        });
    }
    tracing::debug!(scope = %instance, all_thawed, "scope done");
    if !all_thawed {
        return Attempt::Ended(NodeOutcome::Failed);
    }
    match short.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(why) if outcome == NodeOutcome::Failed => Attempt::Short { outcome, why },
        _ => Attempt::Ended(outcome),
    }
}

/// Thaws `list` in the order given (callers pass reverse freeze order):
/// consecutive targets of one freeze group together, group after group.
/// Never cancelled. Returns whether every target was thawed.
pub(crate) async fn thaw_targets(rt: &Rt, list: Vec<FrozenTarget>) -> bool {
    let mut runs: Vec<Vec<FrozenTarget>> = Vec::new();
    for t in list {
        let joins = match runs.last().and_then(|r| r.last()) {
            Some(prev) => prev.group.is_some() && prev.group == t.group && prev.scope == t.scope,
            None => false,
        };
        match runs.last_mut() {
            Some(r) if joins => r.push(t),
            _ => runs.push(vec![t]),
        }
    }
    let mut all = true;
    for run in runs {
        let thawed = futures::future::join_all(run.into_iter().map(|t| thaw_one(rt, t))).await;
        all &= thawed.into_iter().all(|ok| ok);
    }
    all
}

/// Thaws one target, retrying (its purpose makes the actions persist until
/// its deadline); a thaw that still fails is loud and fails the run.
async fn thaw_one(rt: &Rt, mut t: FrozenTarget) -> bool {
    if rt.deposed() {
        // The run's new owner thaws it (first thing on resume); a thaw from
        // here could land inside that owner's own freeze.
        tracing::warn!(scope = %t.scope, target = %t.name, "not thawed here: the run is another daemon's now, which thaws it");
        return false;
    }
    tracing::debug!(scope = %t.scope, target = %t.name, group = ?t.group, "thawing");
    rt.events.emit(EventKind::ThawStarted {
        scope: t.scope.clone(),
        target: t.name.clone(),
    });
    // Not waited for: nothing depends on it, and a VM is not kept
    // frozen for a disk sync.
    rt.journal
        .append_nowait(&Record::ThawIntent { key: t.key.clone() });
    let policy = Retry {
        retries: rt.config.thaw_attempts.saturating_sub(1),
        backoff: Duration::from_secs(1),
        retry_timeouts: true,
    };
    let mut m = StepMachine::silent();
    match call_with_retries(rt, &mut t.thaw, policy, None, &mut m).await {
        Ok(out) => {
            m.succeed(out.bytes_moved, Got::Called);
            rt.journal.append_nowait(&Record::ThawOutcome {
                key: t.key,
                error: None,
            });
            rt.events.emit(EventKind::Thawed {
                scope: t.scope,
                target: t.name,
            });
            true
        }
        Err(e) => {
            let msg = match e {
                CallFailure::Failed(e) => e.to_string(),
                CallFailure::Cancelled => "cancelled".to_string(),
            };
            rt.journal.append_nowait(&Record::ThawOutcome {
                key: t.key,
                error: Some(msg.clone()),
            });
            tracing::error!(scope = %t.scope, target = %t.name, error = %msg, "THAW FAILED: the target may still be frozen");
            rt.events.emit(EventKind::ThawFailed {
                scope: t.scope.clone(),
                target: t.name.clone(),
                error: msg.clone(),
            });
            rt.note_thaw_failure();
            rt.fail_quietly(format!(
                "{}: could not thaw {}: {msg} — it may still be frozen; thaw it by hand or run `lifeboat resume`",
                t.scope, t.name
            ));
            false
        }
    }
}
