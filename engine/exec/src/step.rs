//! A step instance: its state machine, and making one call with retries.
//!
//! ```text
//! Pending → Ready → Running{1} → Succeeded
//!                      │  ↑
//!                      ↓  │ (transient error, attempts left)
//!                 Waiting{backoff}
//! any non-terminal → Failed | Skipped | Cancelled
//! ```
//!
//! `call_with_retries` makes one catalogue call the way every call is made
//! (steps, freezes, thaws, compensations, cleanups); the call's
//! [`CallPurpose`] says which:
//! - per-site limit: a permit is taken for the attempt only, except by a
//!   thaw (a VM is never kept frozen waiting for a slot);
//! - only a plan step announces its attempts as step events;
//! - the call's timeout is handed to the action and also enforced around the
//!   call (plus a grace period, so the action can report its own timeout);
//! - a transient error is retried after the server's `retry_after` when it
//!   gave one (and it is not zero; plus up to 25 % jitter), else after an exponential backoff (`backoff · 2^(n-1)`, capped)
//!   with jitter (uniform in [½, 1] of it); permanent errors are not retried;
//!   timeouts only when the policy says so (thaws);
//! - before a retry, [`crate::action::Actions::find_created`] is asked whether the failed
//!   attempt created something after all (a 5xx after the resource was
//!   made): if so, that is the result, and nothing is created twice;
//! - with a cancel handle: an abort drops the call in flight, a stop ends the
//!   wait between attempts. Without one (thaws) nothing cancels the call.
//!
//! The executor never logs argument values.

use crate::action::{ActionCall, ActionError, ActionOutput, CallPurpose, ErrorClass};
use crate::cancel::{CancelHandle, CancelReason};
use crate::context::Rt;
use crate::eval::{Frame, Kept};
use crate::event::{Emitter, EventKind};
use crate::journal::{CallRec, CallRef, EncodedIntent, EncodedOutcome, Record};
use crate::ledger::{Completed, InDoubt};
use lifeboat_dsl::plan::{site_of, ActionStep, Arg, Node};
use rand::Rng;
use serde_json::{Map, Value};
use std::future::Future;
use std::time::Duration;

/// The life of a step instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Ready,
    Running { attempt: u32 },
    Waiting { attempt: u32, delay: Duration },
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}

impl StepState {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            StepState::Succeeded | StepState::Failed | StepState::Skipped | StepState::Cancelled
        )
    }

    /// Whether `self → next` is a legal transition.
    pub fn can_go(self, next: StepState) -> bool {
        use StepState::*;
        match (self, next) {
            (s, _) if s.is_terminal() => false,
            (_, Failed | Skipped | Cancelled) => true,
            (Pending, Ready) => true,
            (Ready, Running { attempt: 1 }) => true,
            (Running { .. }, Succeeded) => true,
            (Running { attempt: a }, Waiting { attempt: b, .. }) => a == b,
            (Waiting { attempt: a, .. }, Running { attempt: b }) => b == a + 1,
            (Ready, Succeeded) => true, // reused from the journal or reconciled
            _ => false,
        }
    }
}

/// Where a step's result came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Got {
    /// A call made now.
    Called,
    /// Not called for: a resumed run's journal had it, or the call's tag
    /// found what an interrupted call made.
    Reused,
}

/// Holds a step instance's state, and announces it: a plan node's machine
/// turns each transition into the run's step event — its states drive what
/// the world sees. The walker makes one for each node instance when it is
/// ready ([`StepMachine::for_node`]): it is cancelled or skipped there, or
/// handed to what runs the node. An action's machine announces its
/// attempts and its result; a loop's, a scope's or an approval's only its
/// skip, cancel or failure (their own events tell the rest). The calls the
/// executor makes for itself (freezes, thaws, compensations, cleanups) go
/// through a silent one: their scope or the saga announces them. An
/// illegal transition is refused and logged, not panicked on (it would be
/// an executor bug, never bad input).
pub(crate) struct StepMachine<'a> {
    state: StepState,
    announce: Option<Announce<'a>>,
}

/// Where and as what a plan node's transitions are announced.
struct Announce<'a> {
    events: &'a Emitter,
    instance: String,
    /// The action called; `None` for a loop, a scope or an approval, whose
    /// attempts and success are not step events.
    action: Option<String>,
    since: tokio::time::Instant,
}

impl<'a> StepMachine<'a> {
    /// A call the executor makes for itself, ready to run.
    pub(crate) fn silent() -> Self {
        let mut m = StepMachine {
            state: StepState::Pending,
            announce: None,
        };
        m.go(StepState::Ready);
        m
    }

    /// A plan node's instance, ready: its transitions are events on
    /// `events`.
    pub(crate) fn for_node(events: &'a Emitter, instance: &str, node: &Node) -> Self {
        let action = match &node.kind {
            lifeboat_dsl::plan::NodeKind::Action(a) => Some(a.call.action.clone()),
            _ => None,
        };
        StepMachine::announcing(events, instance, action)
    }

    fn announcing(events: &'a Emitter, instance: &str, action: Option<String>) -> Self {
        let mut m = StepMachine::silent();
        m.announce = Some(Announce {
            events,
            instance: instance.to_string(),
            action,
            since: tokio::time::Instant::now(),
        });
        m
    }

    #[cfg(test)]
    pub(crate) fn state(&self) -> StepState {
        self.state
    }

    /// Moves to `next`; false (and nothing to announce) when it was there
    /// already, or when the move is illegal (then it stays, and says so).
    fn go(&mut self, next: StepState) -> bool {
        if self.state == next {
            return false;
        }
        if !self.state.can_go(next) {
            tracing::error!(from = ?self.state, to = ?next, "illegal step state transition refused");
            return false;
        }
        self.state = next;
        true
    }

    fn announce(&self, kind: impl FnOnce(&Announce) -> EventKind) {
        if let Some(a) = &self.announce {
            a.events.emit(kind(a));
        }
    }

    /// Announces what only an action's machine says (its attempts, its
    /// result).
    fn announce_action(&self, kind: impl FnOnce(&Announce, &str) -> EventKind) {
        if let Some(a) = &self.announce {
            if let Some(action) = &a.action {
                a.events.emit(kind(a, action));
            }
        }
    }

    /// Attempt `attempt` starts.
    pub(crate) fn attempt(&mut self, attempt: u32) {
        if self.go(StepState::Running { attempt }) {
            self.announce_action(|a, action| EventKind::StepStarted {
                instance: a.instance.clone(),
                action: action.to_string(),
                attempt,
            });
        }
    }

    /// Attempt `attempt` is settled without a call: what the failed one
    /// before it created was found by its tag.
    pub(crate) fn found(&mut self, attempt: u32) {
        self.go(StepState::Running { attempt });
    }

    /// Attempt `attempt` failed with `error`; the next comes after `delay`.
    pub(crate) fn wait(&mut self, attempt: u32, delay: Duration, error: &ActionError) {
        if self.go(StepState::Waiting { attempt, delay }) {
            self.announce(|a| EventKind::StepRetrying {
                instance: a.instance.clone(),
                attempt,
                delay_ms: delay.as_millis() as u64,
                error: error.to_string(),
            });
        }
    }

    /// The step has its result, from a call or not ([`Got`]).
    pub(crate) fn succeed(&mut self, bytes_moved: u64, got: Got) {
        let reused = got == Got::Reused;
        if self.go(StepState::Succeeded) {
            self.announce_action(|a, action| EventKind::StepSucceeded {
                instance: a.instance.clone(),
                action: action.to_string(),
                duration_ms: a.since.elapsed().as_millis() as u64,
                bytes_moved,
                reused,
            });
        }
    }

    pub(crate) fn fail(&mut self, error: &str) {
        if self.go(StepState::Failed) {
            self.announce(|a| EventKind::StepFailed {
                instance: a.instance.clone(),
                error: error.to_string(),
            });
        }
    }

    pub(crate) fn cancel(&mut self) {
        if self.go(StepState::Cancelled) {
            self.announce(|a| EventKind::StepCancelled {
                instance: a.instance.clone(),
            });
        }
    }

    /// The node must not run: its `when` is false, or it reads what was
    /// skipped.
    pub(crate) fn skip(&mut self, reason: String) {
        if self.go(StepState::Skipped) {
            self.announce(|a| EventKind::StepSkipped {
                instance: a.instance.clone(),
                reason,
            });
        }
    }
}

/// How a call is retried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    pub retries: u32,
    pub backoff: Duration,
    pub retry_timeouts: bool,
}

#[derive(Debug)]
pub(crate) enum CallFailure {
    Failed(ActionError),
    Cancelled,
}

/// Runs `f`, or gives up when the handle aborts.
pub(crate) async fn abortable<F: Future>(cancel: Option<&CancelHandle>, f: F) -> Option<F::Output> {
    match cancel {
        None => Some(f.await),
        Some(c) => {
            tokio::select! {
                biased;
                _ = c.aborted() => None,
                v = f => Some(v),
            }
        }
    }
}

pub(crate) fn backoff_delay(base: Duration, attempt: u32, cap: Duration) -> Duration {
    let base = if base.is_zero() {
        Duration::from_secs(1)
    } else {
        base
    };
    let exp = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(cap);
    let factor: f64 = rand::thread_rng().gen_range(0.5..=1.0);
    exp.mul_f64(factor)
}

/// Makes `call`, retrying per `policy`; its purpose decides whether it is
/// held to the site limit and whether its attempts are step events.
pub(crate) async fn call_with_retries(
    rt: &Rt,
    call: &mut ActionCall,
    policy: Retry,
    cancel: Option<&CancelHandle>,
    m: &mut StepMachine<'_>,
) -> Result<ActionOutput, CallFailure> {
    let limited = call.purpose.is_limited();
    // Every request that changes the cloud asks, as it leaves, whether this
    // process may still act for the run — but a thaw's (see below).
    if call.purpose != CallPurpose::Thaw {
        call.fence = rt.journal.fence();
    }
    let mut attempt = 1u32;
    loop {
        call.attempt = attempt;
        if attempt > 1 {
            match abortable(cancel, rt.actions.find_created(call)).await {
                None => return Err(CallFailure::Cancelled),
                Some(Ok(Some(out))) => {
                    m.found(attempt);
                    // Found after an attempt without an answer: earlier
                    // attempts may still land.
                    return Ok(ActionOutput {
                        uncertain: true,
                        ..out
                    });
                }
                Some(_) => {}
            }
        }
        m.attempt(attempt);
        let hard = call.timeout.saturating_add(rt.config.timeout_grace);
        let attempt_fut = async {
            let _permit = if limited {
                rt.limiter.acquire(call.site.as_deref()).await
            } else {
                None
            };
            // A process whose hold on the run may have lapsed (paused past
            // its lease) makes no call: the run stops here (`HoldLapsed`),
            // whatever the call, before the HTTP layer's fence would stop
            // its first write. A thaw still
            // goes: a VNF left paused is an outage, and only a refused
            // journal write proves that another process owns the run.
            if call.purpose != CallPurpose::Thaw && rt.journal.may_act().is_err() {
                return None;
            }
            Some(
                match tokio::time::timeout(hard, rt.actions.run(call)).await {
                    Ok(r) => r,
                    Err(_) => Err(ActionError::timeout(format!(
                        "{} ({}) did not return within its timeout of {:?}",
                        call.action, call.step, call.timeout
                    ))),
                },
            )
        };
        let res = match abortable(cancel, attempt_fut).await {
            None | Some(None) => {
                m.cancel();
                return Err(CallFailure::Cancelled);
            }
            Some(Some(r)) => r,
        };
        // Success is the caller's to declare (a plan step journals its
        // outcome first).
        let err = match res {
            // An earlier attempt may have created something and been
            // answered too late.
            Ok(out) if attempt > 1 => {
                return Ok(ActionOutput {
                    uncertain: true,
                    ..out
                })
            }
            Ok(out) => return Ok(out),
            Err(e) => e,
        };
        // Fenced, or its hold lapsed meanwhile: the call's effect is
        // unknown here, as if dropped in flight (the intent stays without an
        // outcome, and the resume by the run's owner reconciles it).
        if rt.cancel.reason() >= Some(CancelReason::HoldLapsed) {
            m.cancel();
            return Err(CallFailure::Cancelled);
        }
        let retry_after = match &err.class {
            ErrorClass::Transient { retry_after } => Some(*retry_after),
            ErrorClass::Timeout if policy.retry_timeouts => Some(None),
            ErrorClass::Cancelled if cancel.is_some_and(|c| c.is_aborted()) => {
                m.cancel();
                return Err(CallFailure::Cancelled);
            }
            _ => None,
        };
        let Some(retry_after) = retry_after.filter(|_| attempt <= policy.retries) else {
            m.fail(&err.to_string());
            return Err(CallFailure::Failed(err));
        };
        if cancel.is_some_and(|c| c.is_stopping()) {
            m.cancel();
            return Err(CallFailure::Cancelled);
        }
        // A `Retry-After: 0` is no hint at all: retrying at once would hit
        // an overloaded service again; the backoff applies.
        // A server's Retry-After is honoured, plus up to a quarter more at
        // random, so that calls turned away together do not all come back
        // in the same instant (and are turned away together again).
        let delay = match retry_after.filter(|d| !d.is_zero()) {
            Some(ra) => ra.mul_f64(1.0 + rand::thread_rng().gen_range(0.0..=0.25)),
            None => backoff_delay(policy.backoff, attempt, rt.config.backoff_cap),
        };
        m.wait(attempt, delay, &err);
        tracing::debug!(step = %call.step, attempt, ?delay, "retrying after a transient error");
        match cancel {
            None => tokio::time::sleep(delay).await,
            Some(c) => {
                tokio::select! {
                    _ = c.stopped() => {
                        m.cancel();
                        return Err(CallFailure::Cancelled);
                    }
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
        attempt += 1;
    }
}

/// How a node (or a block) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeOutcome {
    Succeeded,
    Skipped,
    Failed,
    Cancelled,
}

impl NodeOutcome {
    /// Failed beats Cancelled beats the rest.
    pub(crate) fn combine(outcomes: impl IntoIterator<Item = NodeOutcome>) -> NodeOutcome {
        let mut out = NodeOutcome::Succeeded;
        for o in outcomes {
            match o {
                NodeOutcome::Failed => return NodeOutcome::Failed,
                NodeOutcome::Cancelled => out = NodeOutcome::Cancelled,
                _ => {}
            }
        }
        out
    }
}

/// What the journal keeps of a call.
/// [`call_rec`], borrowed: for a record encoded at once.
fn call_ref(c: &ActionCall) -> CallRef<'_> {
    CallRef {
        action: &c.action,
        tag: &c.tag,
        site: c.site.as_deref(),
        args: &c.args,
    }
}

pub(crate) fn call_rec(c: &ActionCall) -> CallRec {
    CallRec {
        action: c.action.clone(),
        tag: c.tag.clone(),
        site: c.site.clone(),
        args: c.args.clone(),
    }
}

/// What a step's compensation and cleanup may read of its arguments: those
/// their calls name and the `site` an orphan's report falls back on. Kept
/// whole, each step of a loop would hold all it was given until the run
/// ends (a group snapshot's members, once per volume).
fn saga_args(a: &ActionStep, args: &Map<String, Value>) -> Map<String, Value> {
    let mut keep = vec!["site"];
    for c in [&a.compensate, &a.cleanup].into_iter().flatten() {
        keep.extend(c.inputs());
    }
    args.iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) fn eval_args(
    rt: &Rt,
    frame: &Frame,
    args: &[Arg],
    saga: Option<(&Value, &Map<String, Value>)>,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for a in args {
        let v = match saga {
            None => rt.eval(frame, &a.value),
            Some((r, i)) => rt.eval_saga(frame, &a.value, r, i),
        }
        .map_err(|e| format!("argument `{}`: {e}", a.name))?;
        out.insert(a.name.clone(), v);
    }
    Ok(out)
}

pub(crate) fn step_timeout(rt: &Rt, a: &ActionStep) -> Duration {
    if a.timeout_ms == 0 {
        rt.config.default_timeout
    } else {
        Duration::from_millis(a.timeout_ms)
    }
}

/// A plan step's whole life: reused from the journal of a resumed run, or
/// its arguments evaluated, the call settled by its tag if a crash left it
/// in doubt, else journaled (intent), made with retries and journaled
/// (outcome); a step with an undo joins the ledger.
pub(crate) async fn run_action(
    rt: &Rt,
    node: &Node,
    a: &ActionStep,
    frame: &Frame,
    cancel: &CancelHandle,
    instance: String,
    mut m: StepMachine<'_>,
) -> NodeOutcome {
    let path = frame.path();
    if let Some(value) = rt.replay.as_ref().and_then(|r| r.outcomes.get(&instance)) {
        rt.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_result(node.id, path, value);
        m.succeed(0, Got::Reused);
        return NodeOutcome::Succeeded;
    }
    let args = match eval_args(rt, frame, &a.call.args, None) {
        Ok(a) => a,
        Err(e) => return failed(rt, m, &instance, e),
    };
    let site = site_of(&a.call.args, &args);
    let mut call = ActionCall {
        action: a.call.action.clone(),
        args,
        site,
        run_id: rt.run.id.clone(),
        step: instance.clone(),
        tag: make_tag(&rt.run.id, &instance),
        attempt: 1,
        timeout: step_timeout(rt, a),
        purpose: CallPurpose::Step,
        fence: Default::default(),
    };
    let saga_relevant = a.compensate.is_some() || a.cleanup.is_some();

    // A call the crashed run had started: did it create something?
    let mut result = None;
    if rt
        .replay
        .as_ref()
        .is_some_and(|r| r.in_doubt.contains(&instance))
    {
        rt.replay_seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(instance.clone());
        match abortable(Some(cancel), rt.actions.find_created(&call)).await {
            None => return cancelled(m),
            Some(Ok(Some(out))) => result = Some((out, true)),
            Some(Ok(None)) => {}
            Some(Err(e)) => {
                let why = format!("after a crash, could not tell whether the call had created something (tag {}): {e}", call.tag);
                return failed(rt, m, &instance, why);
            }
        }
    }
    if result.is_none() {
        // The intent is encoded from the call itself (its arguments: a
        // manifest's are megabytes) and queued: nothing is copied or kept
        // while the disk syncs.
        let written = rt.journal.append_step_intent(
            &EncodedIntent {
                instance: &instance,
                node: node.id,
                frame,
                call: call_ref(&call),
            },
            a.call.effect,
        );
        if let Err(e) = written.await {
            let why = format!("not started, the journal cannot be written: {e}");
            return failed(rt, m, &instance, why);
        }
        let policy = Retry {
            retries: a.retry.retries,
            backoff: Duration::from_millis(a.retry.backoff_ms),
            retry_timeouts: false,
        };
        match call_with_retries(rt, &mut call, policy, Some(cancel), &mut m).await {
            Ok(out) => result = Some((out, false)),
            Err(CallFailure::Cancelled) => {
                if saga_relevant {
                    rt.ledger().in_doubt.push(InDoubt {
                        node: node.id,
                        instance: instance.clone(),
                        frame: frame.clone(),
                        call,
                    });
                }
                return cancelled(m);
            }
            // The machine announced the failure; the run stops.
            Err(CallFailure::Failed(e)) => {
                let rec = Record::StepOutcome {
                    instance: instance.clone(),
                    value: None,
                    bytes_moved: 0,
                    error: Some(e.to_string()),
                    reconciled: false,
                    uncertain: false,
                };
                rt.journal.append_nowait(&rec);
                // A call that ended without a clear answer (its last attempt
                // lost in transit or timed out) may have created something:
                // it is settled with the rest before compensation.
                if saga_relevant
                    && matches!(e.class, ErrorClass::Transient { .. } | ErrorClass::Timeout)
                {
                    rt.ledger().in_doubt.push(InDoubt {
                        node: node.id,
                        instance: instance.clone(),
                        frame: frame.clone(),
                        call: ActionCall {
                            purpose: CallPurpose::Reconcile,
                            fence: Default::default(),
                            ..call.clone()
                        },
                    });
                }
                rt.fail_quietly(format!("{instance}: {e}"));
                return NodeOutcome::Failed;
            }
        }
    }
    let Some((out, reconciled)) = result else {
        return NodeOutcome::Failed;
    };
    // Encoded once, if anything keeps it: the values (for the expressions
    // that read it) and the ledger (for its undo call) share the text.
    let read = rt
        .values
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .keeps(node.id);
    let keep = read || saga_relevant;
    let encoded = keep
        .then(|| serde_json::value::to_raw_value(&out.value).ok())
        .flatten();
    let kept = keep.then(|| match &encoded {
        Some(raw) => Kept::encoded(raw.get()),
        None => Kept::of(&out.value),
    });
    if let (true, Some(k)) = (read, &kept) {
        rt.values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_kept(node.id, path, k.clone());
    }
    if let (true, Some(k)) = (saga_relevant, kept) {
        rt.ledger().completed.push(Completed {
            node: node.id,
            instance: instance.clone(),
            tag: call.tag.clone(),
            frame: frame.clone(),
            // Its twins are looked for with the call's own arguments.
            args: if out.uncertain || reconciled {
                call.args.clone()
            } else {
                saga_args(a, &call.args)
            },
            value: k,
            uncertain: out.uncertain || reconciled,
        });
    }
    let uncertain = out.uncertain || reconciled;
    match &encoded {
        Some(value) => rt.journal.append_outcome_nowait(&EncodedOutcome {
            instance: &instance,
            value,
            bytes_moved: out.bytes_moved,
            error: None,
            reconciled,
            uncertain,
        }),
        // A result nothing keeps is encoded straight into the line.
        None => rt.journal.append_nowait(&Record::StepOutcome {
            instance: instance.clone(),
            value: Some(out.value),
            bytes_moved: out.bytes_moved,
            error: None,
            reconciled,
            uncertain,
        }),
    }
    m.succeed(
        out.bytes_moved,
        if reconciled { Got::Reused } else { Got::Called },
    );
    NodeOutcome::Succeeded
}

fn cancelled(mut m: StepMachine<'_>) -> NodeOutcome {
    m.cancel();
    NodeOutcome::Cancelled
}

/// The step fails with `error` (announced by its machine), and the run
/// stops.
pub(crate) fn failed(
    rt: &Rt,
    mut m: StepMachine<'_>,
    instance: &str,
    error: String,
) -> NodeOutcome {
    m.fail(&error);
    rt.fail_quietly(format!("{instance}: {error}"));
    NodeOutcome::Failed
}

/// `lb-{run_id}-{instance}`, made safe for resource names: `.`, `@`, `[`
/// and other punctuation become `-`, `]` is dropped, runs of `-` collapse.
/// Long names are cut and suffixed with a hash of the full instance, so tags
/// stay short and unique.
pub fn make_tag(run_id: &str, instance: &str) -> String {
    let mut s = String::with_capacity(instance.len());
    for c in instance.chars() {
        let c = match c {
            ']' => continue,
            c if c.is_ascii_alphanumeric() || c == '_' => c.to_ascii_lowercase(),
            // A quiesce scope's attempt (`snap~2`): kept, as no name makes it.
            '~' => '~',
            _ => '-',
        };
        if c == '-' && s.ends_with('-') {
            continue;
        }
        s.push(c);
    }
    let s = s.trim_matches('-');
    const MAX: usize = 40;
    let body = if s.len() > MAX {
        format!(
            "{}-{:08x}",
            &s[..MAX - 9],
            crate::journal::fnv1a(instance.as_bytes()) as u32
        )
    } else {
        s.to_string()
    };
    format!("lb-{run_id}-{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_transitions() {
        use StepState::*;
        assert!(Pending.can_go(Ready));
        assert!(Ready.can_go(Running { attempt: 1 }));
        assert!(!Ready.can_go(Running { attempt: 2 }));
        let w = Waiting {
            attempt: 1,
            delay: Duration::from_secs(1),
        };
        assert!(Running { attempt: 1 }.can_go(w));
        assert!(w.can_go(Running { attempt: 2 }));
        assert!(!w.can_go(Running { attempt: 3 }));
        assert!(Running { attempt: 2 }.can_go(Succeeded));
        assert!(Waiting {
            attempt: 2,
            delay: Duration::ZERO
        }
        .can_go(Cancelled));
        assert!(!Succeeded.can_go(Failed));
        assert!(!Skipped.can_go(Running { attempt: 1 }));
        assert!(!Pending.can_go(Succeeded));
    }

    /// The events emitted so far.
    fn drain(rx: &mut crate::event::EventReceiver) -> Vec<EventKind> {
        std::iter::from_fn(|| rx.try_recv().ok().map(|e| e.kind)).collect()
    }

    /// A plan step's transitions are its events, each once; a silent
    /// machine's are none.
    #[tokio::test]
    async fn the_machine_announces_what_its_states_say() {
        let (tx, mut rx) = crate::event::channel();
        let events = Emitter::new(Some(tx));
        let mut m =
            StepMachine::announcing(&events, "snap[0]", Some("cinder.create_snapshot".into()));
        m.attempt(1);
        let err = ActionError::transient("503", None);
        m.wait(1, Duration::from_millis(5), &err);
        m.attempt(2);
        m.succeed(7, Got::Called);
        m.cancel(); // illegal once it succeeded: refused, not announced
        let mut silent = StepMachine::silent();
        silent.attempt(1);
        silent.fail("no");
        assert_eq!(silent.state(), StepState::Failed);
        assert_eq!(m.state(), StepState::Succeeded);
        let kinds = drain(&mut rx);
        assert!(
            matches!(
                &kinds[..],
                [
                    EventKind::StepStarted { attempt: 1, .. },
                    EventKind::StepRetrying {
                        attempt: 1,
                        delay_ms: 5,
                        ..
                    },
                    EventKind::StepStarted { attempt: 2, .. },
                    EventKind::StepSucceeded {
                        bytes_moved: 7,
                        reused: false,
                        ..
                    },
                ]
            ),
            "{kinds:?}"
        );
    }

    /// A loop's, a scope's or an approval's machine announces its skip,
    /// cancel or failure, never attempts or a success.
    #[tokio::test]
    async fn a_composite_node_announces_only_how_it_did_not_succeed() {
        let (tx, mut rx) = crate::event::channel();
        let events = Emitter::new(Some(tx));
        let mut looped = StepMachine::announcing(&events, "for s", None);
        looped.attempt(1);
        looped.succeed(0, Got::Called);
        let mut skipped = StepMachine::announcing(&events, "for t", None);
        skipped.skip("`when` is false".into());
        let mut cancelled = StepMachine::announcing(&events, "approve", None);
        cancelled.cancel();
        let kinds = drain(&mut rx);
        assert!(
            matches!(
                &kinds[..],
                [
                    EventKind::StepSkipped { instance: a, .. },
                    EventKind::StepCancelled { instance: b },
                ] if a == "for t" && b == "approve"
            ),
            "{kinds:?}"
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let cap = Duration::from_secs(60);
        for attempt in 1..=4u32 {
            let full = Duration::from_millis(500) * 2u32.pow(attempt - 1);
            let d = backoff_delay(Duration::from_millis(500), attempt, cap);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(backoff_delay(Duration::from_secs(10), 30, cap) <= cap);
        // zero backoff in a plan means one second
        assert!(backoff_delay(Duration::ZERO, 1, cap) >= Duration::from_millis(500));
    }
}
