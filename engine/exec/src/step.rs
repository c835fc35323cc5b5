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
use crate::cancel::CancelHandle;
use crate::event::EventKind;
use crate::run::Rt;
use rand::Rng;
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

/// Holds a step instance's state; an illegal transition is logged, not
/// panicked on (it would be an executor bug, never bad input).
#[derive(Debug)]
pub(crate) struct StepMachine {
    pub(crate) state: StepState,
}

impl StepMachine {
    pub(crate) fn new() -> Self {
        StepMachine {
            state: StepState::Pending,
        }
    }

    pub(crate) fn go(&mut self, next: StepState) {
        if self.state == next {
            return;
        }
        if !self.state.can_go(next) {
            tracing::error!(from = ?self.state, to = ?next, "illegal step state transition");
        }
        self.state = next;
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
    m: &mut StepMachine,
) -> Result<ActionOutput, CallFailure> {
    let limited = call.purpose.is_limited();
    let emit = call.purpose == CallPurpose::Step;
    let mut attempt = 1u32;
    loop {
        call.attempt = attempt;
        if attempt > 1 {
            match abortable(cancel, rt.actions.find_created(call)).await {
                None => return Err(CallFailure::Cancelled),
                Some(Ok(Some(out))) => {
                    m.go(StepState::Running { attempt });
                    m.go(StepState::Succeeded);
                    return Ok(out);
                }
                Some(_) => {}
            }
        }
        m.go(StepState::Running { attempt });
        if emit {
            rt.events.emit(EventKind::StepStarted {
                instance: call.step.clone(),
                action: call.action.clone(),
                attempt,
            });
        }
        let hard = call.timeout.saturating_add(rt.config.timeout_grace);
        let attempt_fut = async {
            let _permit = if limited {
                rt.limiter.acquire(call.site.as_deref()).await
            } else {
                None
            };
            match tokio::time::timeout(hard, rt.actions.run(call)).await {
                Ok(r) => r,
                Err(_) => Err(ActionError::timeout(format!(
                    "{} ({}) did not return within its timeout of {:?}",
                    call.action, call.step, call.timeout
                ))),
            }
        };
        let res = match abortable(cancel, attempt_fut).await {
            None => {
                m.go(StepState::Cancelled);
                return Err(CallFailure::Cancelled);
            }
            Some(r) => r,
        };
        let err = match res {
            Ok(out) => {
                m.go(StepState::Succeeded);
                return Ok(out);
            }
            Err(e) => e,
        };
        let retry_after = match &err.class {
            ErrorClass::Transient { retry_after } => Some(*retry_after),
            ErrorClass::Timeout if policy.retry_timeouts => Some(None),
            ErrorClass::Cancelled if cancel.is_some_and(|c| c.is_aborted()) => {
                m.go(StepState::Cancelled);
                return Err(CallFailure::Cancelled);
            }
            _ => None,
        };
        let Some(retry_after) = retry_after.filter(|_| attempt <= policy.retries) else {
            m.go(StepState::Failed);
            return Err(CallFailure::Failed(err));
        };
        if cancel.is_some_and(|c| c.is_stopping()) {
            m.go(StepState::Cancelled);
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
        m.go(StepState::Waiting { attempt, delay });
        if emit {
            rt.events.emit(EventKind::StepRetrying {
                instance: call.step.clone(),
                attempt,
                delay_ms: delay.as_millis() as u64,
                error: err.to_string(),
            });
        }
        tracing::debug!(step = %call.step, attempt, ?delay, "retrying after a transient error");
        match cancel {
            None => tokio::time::sleep(delay).await,
            Some(c) => {
                tokio::select! {
                    _ = c.stopped() => {
                        m.go(StepState::Cancelled);
                        return Err(CallFailure::Cancelled);
                    }
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
        attempt += 1;
    }
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
