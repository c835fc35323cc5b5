//! The executor's only window on the world: the [`Actions`] trait.
//!
//! The executor evaluates a step's arguments to JSON values and hands an
//! [`ActionCall`] to an `Actions` implementation (in production
//! `lifeboat-actions`, which speaks OpenStack). It never sees an OpenStack
//! type; the implementation never sees the graph.
//!
//! An implementation must:
//! - carry the call out completely, waiting for asynchronous states
//!   (`creating` → `available`) itself, by polling with backoff, and give up
//!   with [`ErrorClass::Timeout`] when `call.timeout` has passed;
//! - put `call.tag` into the name or metadata of every resource it creates, so
//!   that [`Actions::find_created`] can find it after a crash;
//! - classify every failure ([`ErrorClass`]): the executor retries only
//!   transient ones, honouring `retry_after`;
//! - never put a secret (password, token, credential secret) into a value or
//!   an error message.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One call of a catalogue action, arguments evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionCall {
    /// Catalogue name, e.g. `cinder.backup`.
    pub action: String,
    /// Arguments by parameter name (all of the signature's, defaults filled).
    pub args: Map<String, Value>,
    /// The site (region) the call talks to, when it has one.
    pub site: Option<String>,
    /// The run this call belongs to.
    pub run_id: String,
    /// The step instance: step name plus iteration path, e.g. `tmp[2]`.
    pub step: String,
    /// A short marker, unique per run and step instance, safe in resource
    /// names and metadata (e.g. `lb-3f9a1c-tmp-2`). Resources created by the
    /// call carry it so that a resumed run finds them instead of creating
    /// them twice.
    pub tag: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// How long the call may take, waiting for asynchronous states included.
    #[serde(with = "duration_ms")]
    pub timeout: Duration,
    /// Why the executor makes the call: it decides how hard the
    /// implementation tries (see [`CallPurpose`]).
    #[serde(default)]
    pub purpose: CallPurpose,
    /// Asked before each request of the call that changes the cloud.
    #[serde(skip)]
    pub fence: Fence,
}

/// The check an implementation asks before each request that changes the
/// cloud: whether this process may still act for the run (a daemon whose
/// lease on it may have lapsed may not; see
/// [`crate::journal::Replica::may_act`]). None: always. Not part of what
/// the call is: never journaled, ignored by comparisons.
#[derive(Clone, Default)]
pub struct Fence(Option<FenceCheck>);

/// `Err(why)` once the process may no longer act for the run.
pub type FenceCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

impl Fence {
    pub fn new(check: FenceCheck) -> Fence {
        Fence(Some(check))
    }

    /// The check, if there is one.
    pub fn check(&self) -> Option<FenceCheck> {
        self.0.clone()
    }
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Fence(check)"
        } else {
            "Fence(none)"
        })
    }
}

impl PartialEq for Fence {
    fn eq(&self, _: &Fence) -> bool {
        true
    }
}

/// Why a call is made. Forward calls (a step, a freeze) may fail fast and
/// leave the retrying to the step's policy; the *safety paths* must not give
/// up early: an implementation retries their transient failures for as long
/// as the call's timeout allows, and a thaw never waits behind other calls
/// for a slot at its site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallPurpose {
    /// A step of the plan.
    #[default]
    Step,
    /// Freezing a quiesce target.
    Freeze,
    /// Thawing a quiesce target: never held back, never given up early.
    Thaw,
    /// Undoing a completed step after a failure.
    Compensate,
    /// A step's `cleanup`, at the end of every run.
    Cleanup,
    /// Finding what a call interrupted in flight created.
    Reconcile,
}

impl CallPurpose {
    /// A safety path: thaw, compensation, cleanup, reconciliation.
    pub fn is_safety(self) -> bool {
        !matches!(self, CallPurpose::Step | CallPurpose::Freeze)
    }

    /// A freeze or a thaw: the VNF's outage lasts from its group's first
    /// freeze to its last thaw, so these calls take no slot of a site's
    /// limits — neither the executor's calls in flight (a slot is held
    /// through a call's waits) nor the actions' requests in flight. How many
    /// go at once is the size of a freeze group, which the runbook's `by`
    /// field sets. They still wait out a rate limit's `Retry-After` and back
    /// off on errors.
    pub fn is_urgent(self) -> bool {
        matches!(self, CallPurpose::Freeze | CallPurpose::Thaw)
    }

    /// Held to the per-site limit on calls in flight? Not an urgent call.
    pub fn is_limited(self) -> bool {
        !self.is_urgent()
    }
}

/// What a site's API did to the calls, as the implementation saw it:
/// retried requests, answers telling it to slow down (429, 503), and the
/// adaptive in-flight limit (now, lowest reached, ceiling), and the holds a
/// rate limit's `Retry-After` put on its services.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SitePressure {
    pub site: String,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub limit: usize,
    pub lowest_limit: usize,
    pub ceiling: usize,
    /// Times one of the site's services was held for its `Retry-After`.
    #[serde(default)]
    pub holds: u64,
}

impl SitePressure {
    /// What the site did since `before` was read from the same actions
    /// (which may have served other runs before): the counts since
    /// then, the limit and ceiling now, and the lowest limit known to have
    /// been reached since then. No `before`: all of it.
    pub fn since(&self, before: Option<&SitePressure>) -> SitePressure {
        let Some(b) = before else {
            return self.clone();
        };
        SitePressure {
            site: self.site.clone(),
            requests: self.requests.saturating_sub(b.requests),
            retries: self.retries.saturating_sub(b.retries),
            throttled: self.throttled.saturating_sub(b.throttled),
            holds: self.holds.saturating_sub(b.holds),
            limit: self.limit,
            lowest_limit: if self.lowest_limit < b.lowest_limit {
                self.lowest_limit
            } else {
                b.limit.min(self.limit)
            },
            ceiling: self.ceiling,
        }
    }
}

/// What a successful call gives back.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ActionOutput {
    /// The result, shaped as the action's result type in the catalogue.
    pub value: Value,
    /// Bytes the call moved (a backup's changed blocks, a restore's size), for
    /// the report. Zero when the notion does not apply.
    pub bytes_moved: u64,
    /// A request of the call that may have created something went
    /// unanswered and was made again: the first may still land, later, as
    /// a twin of the result ([`Actions::twins`] looks for it at the run's end).
    pub uncertain: bool,
}

impl ActionOutput {
    pub fn new(value: Value) -> Self {
        ActionOutput {
            value,
            bytes_moved: 0,
            uncertain: false,
        }
    }
}

/// Why a call failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum ErrorClass {
    /// Worth retrying: 5xx, connection errors, 429/413 (with the server's
    /// Retry-After when it gave one), a resource briefly in a busy state.
    Transient {
        #[serde(with = "opt_duration_ms", default)]
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help: 4xx meaning a wrong request, a missing resource,
    /// a resource that ended in `error`.
    Permanent,
    /// The call's timeout passed while waiting for the resource.
    Timeout,
    /// The run was cancelled while the call was in flight.
    Cancelled,
}

/// A failed call, with the context an operator needs at 3 a.m.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionError {
    pub class: ErrorClass,
    /// What went wrong, naming the API call, the resource and the site.
    pub message: String,
    /// What to do about it, when something can be said.
    pub hint: Option<String>,
}

impl ActionError {
    pub fn permanent(message: impl Into<String>) -> Self {
        ActionError {
            class: ErrorClass::Permanent,
            message: message.into(),
            hint: None,
        }
    }

    pub fn transient(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        ActionError {
            class: ErrorClass::Transient { retry_after },
            message: message.into(),
            hint: None,
        }
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        ActionError {
            class: ErrorClass::Timeout,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_transient(&self) -> bool {
        matches!(self.class, ErrorClass::Transient { .. })
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ActionError {}

/// Carries out catalogue actions. See the module note for the obligations.
#[async_trait]
pub trait Actions: Send + Sync + 'static {
    /// Carry out the call.
    async fn run(&self, call: &ActionCall) -> Result<ActionOutput, ActionError>;

    /// After a crash: what an interrupted call with the same `tag` already
    /// created, if anything, shaped as the action's result. `Ok(None)` means
    /// nothing was created and the call can safely be made again. Actions that
    /// create nothing return `Ok(None)`.
    async fn find_created(&self, call: &ActionCall) -> Result<Option<ActionOutput>, ActionError>;

    /// At the end of a run (and in `lifeboat cleanup`), for a call whose
    /// outcome was uncertain ([`ActionOutput::uncertain`], retried, or
    /// reconciled): what else carries its `tag` besides `kept` (the result
    /// the run recorded), shaped as the action's result and settled (no
    /// longer being created) — a create whose answer was lost and that
    /// landed after it was looked for and made again. The run disposes of
    /// each twin with the step's own undo call. Actions that create
    /// nothing return nothing.
    async fn twins(&self, call: &ActionCall, kept: &Value) -> Result<Vec<Value>, ActionError> {
        let _ = (call, kept);
        Ok(Vec::new())
    }

    /// What each site's API did to the calls so far (for the report and the
    /// events). Implementations without such a notion return nothing.
    fn pressure(&self) -> Vec<SitePressure> {
        Vec::new()
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod opt_duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::SitePressure;

    /// A run reports what the site did since it started: counts as
    /// differences, the lowest limit reached since (not before).
    #[test]
    fn pressure_since_the_start_of_a_run() {
        let p = |requests, retries, limit, lowest| SitePressure {
            site: "site-a".into(),
            requests,
            retries,
            throttled: retries / 2,
            limit,
            lowest_limit: lowest,
            ceiling: 8,
            holds: retries / 4,
        };
        let start = p(100, 8, 6, 2);
        let now = p(130, 12, 7, 2).since(Some(&start));
        assert_eq!(
            (now.requests, now.retries, now.throttled, now.holds),
            (30, 4, 2, 1)
        );
        // The all-time lowest (2) was before the run: since, the limit
        // went from 6 to 7.
        assert_eq!((now.limit, now.lowest_limit), (7, 6));
        // A new low during the run is the run's.
        assert_eq!(p(130, 12, 5, 1).since(Some(&start)).lowest_limit, 1);
        // No start: everything.
        assert_eq!(p(5, 0, 8, 8).since(None), p(5, 0, 8, 8));
    }
}
