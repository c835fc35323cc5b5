//! What the executor tells the world: [`Event`]s on a tokio mpsc channel.
//!
//! The executor owns the work; whoever holds the receiving end (the CLI's
//! dispatcher: progress bars, JSON lines, the final [`crate::report::Report`])
//! owns what the user sees. The executor prints nothing. Sending never blocks
//! (an unbounded channel of small values) and a dropped receiver is not an
//! error: a run goes on whether anybody listens or not.
//!
//! Every event carries `at_ms`, the time since the run started on tokio's
//! clock (so tests with a paused clock see exact figures), and an
//! [`EventKind`]. Step events name the *step instance* (`tmp[2]`); quiesce
//! events name the scope instance and the target (its `name`, else `id`).
//!
//! Events never carry argument values (they may be large, and by policy the
//! executor does not surface them); errors carry the action's message, which
//! by the `Actions` contract holds no secret.

pub use lifeboat_dsl::plan::Decision;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// One event, stamped with the time since the run started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunOutcome {
    Succeeded,
    /// A step, a freeze, a thaw or the watchdog failed; compensation ran.
    Failed {
        reason: String,
    },
    /// An operator interrupted the run (Ctrl-C).
    Interrupted {
        reason: String,
    },
    /// Every step succeeded and the runbook says `commit within …`: what
    /// the run did stays until `lifeboat commit` (→ `Succeeded`) or
    /// `lifeboat rollback` (→ `RolledBack`); after `deadline` (RFC 3339)
    /// the runbook's `default` is taken.
    AwaitingCommit {
        deadline: String,
        default: Decision,
    },
    /// A run awaiting commit was rolled back: its compensations ran.
    RolledBack {
        reason: String,
    },
}

impl RunOutcome {
    /// The outcome in one word, as `lifeboat runs`, the daemon's history and
    /// its metrics name it.
    pub fn word(&self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed { .. } => "failed",
            RunOutcome::Interrupted { .. } => "interrupted",
            RunOutcome::AwaitingCommit { .. } => "awaiting_commit",
            RunOutcome::RolledBack { .. } => "rolled_back",
        }
    }

    /// Every step succeeded (committed or awaiting commit).
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            RunOutcome::Succeeded | RunOutcome::AwaitingCommit { .. }
        )
    }

    pub fn is_awaiting_commit(&self) -> bool {
        matches!(self, RunOutcome::AwaitingCommit { .. })
    }

    /// A run awaiting commit whose deadline has passed at `now`: its default.
    pub fn due(&self, now: chrono::DateTime<chrono::Utc>) -> Option<Decision> {
        match self {
            RunOutcome::AwaitingCommit { deadline, default } => {
                let d = chrono::DateTime::parse_from_rfc3339(deadline).ok()?;
                (d <= now).then_some(*default)
            }
            _ => None,
        }
    }
}

/// The phases of a run, as announced by [`EventKind::PhaseChanged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Resuming,
    Running,
    Compensating,
    CleaningUp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        run_id: String,
        runbook: String,
        started: String,
        resumed: bool,
    },
    PhaseChanged {
        phase: Phase,
    },
    StepStarted {
        instance: String,
        action: String,
        attempt: u32,
    },
    StepRetrying {
        instance: String,
        attempt: u32,
        delay_ms: u64,
        error: String,
    },
    StepSucceeded {
        instance: String,
        action: String,
        duration_ms: u64,
        bytes_moved: u64,
        reused: bool,
    },
    StepFailed {
        instance: String,
        error: String,
    },
    StepSkipped {
        instance: String,
        reason: String,
    },
    StepCancelled {
        instance: String,
    },
    ApprovalRequested {
        instance: String,
        prompt: String,
    },
    ApprovalGranted {
        instance: String,
    },
    FreezeStarted {
        scope: String,
        target: String,
        /// The target's freeze group (its `by` value): a group is frozen at
        /// once, after the groups before it, and thawed before them.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        group: String,
    },
    Frozen {
        scope: String,
        target: String,
    },
    FreezeFailed {
        scope: String,
        target: String,
        error: String,
    },
    ThawStarted {
        scope: String,
        target: String,
    },
    Thawed {
        scope: String,
        target: String,
    },
    /// A target could not be thawed: it may still be frozen. Loud.
    ThawFailed {
        scope: String,
        target: String,
        error: String,
    },
    WatchdogExpired {
        scope: String,
        within_ms: u64,
    },
    /// An attempt of a scope with `retry` was cut short (`error`: by its
    /// watchdog or a freeze); its targets are thawed and what its body did
    /// is undone. Attempt `attempt` of at most `of` starts after the
    /// backoff.
    ScopeRetrying {
        scope: String,
        attempt: u32,
        of: u32,
        error: String,
        backoff_ms: u64,
    },
    CompensationStarted {
        instance: String,
        action: String,
    },
    Compensated {
        instance: String,
    },
    CompensationFailed {
        instance: String,
        error: String,
    },
    CleanupStarted {
        instance: String,
        action: String,
    },
    /// The twins of step `instance`'s result were looked for (its outcome
    /// was uncertain): `found` of them.
    TwinsSought {
        instance: String,
        found: usize,
    },
    /// A twin of step `of`'s result landed: a create whose answer was lost
    /// arrived after it was looked for and made again. Disposed of by the
    /// step's undo call as cleanup `instance` (`of` + [`crate::ledger::TWIN_MARK`] + its id).
    TwinFound {
        of: String,
        instance: String,
        #[serde(flatten)]
        resource: OrphanResource,
    },
    CleanedUp {
        instance: String,
    },
    CleanupFailed {
        instance: String,
        error: String,
    },
    /// Something the run created could not be removed (its compensation
    /// or cleanup failed for good, or an interrupted call could not be
    /// settled): it is left at the site, journaled, and `lifeboat cleanup
    /// RUN` tries it again.
    Orphaned {
        instance: String,
        /// The undo call that did not succeed (or the call in doubt).
        action: String,
        #[serde(flatten)]
        resource: OrphanResource,
        why: String,
    },
    /// What a site's API did to the run's calls so far: sent when its
    /// retries, throttled answers or adaptive limit change, and once per
    /// site before the run finishes.
    SitePressure {
        #[serde(flatten)]
        pressure: crate::action::SitePressure,
    },
    RunFinished {
        outcome: RunOutcome,
        duration_ms: u64,
    },
}

/// The sending end handed to the executor.
pub type EventSender = mpsc::UnboundedSender<Event>;
/// The receiving end kept by the dispatcher.
pub type EventReceiver = mpsc::UnboundedReceiver<Event>;

/// A new event channel.
pub fn channel() -> (EventSender, EventReceiver) {
    mpsc::unbounded_channel()
}

/// Stamps and sends events; silently drops them when nobody listens.
#[derive(Clone)]
pub(crate) struct Emitter {
    tx: Option<EventSender>,
    start: tokio::time::Instant,
}

impl Emitter {
    pub(crate) fn new(tx: Option<EventSender>) -> Self {
        Emitter {
            tx,
            start: tokio::time::Instant::now(),
        }
    }

    pub(crate) fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub(crate) fn emit(&self, kind: EventKind) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Event {
                at_ms: self.elapsed_ms(),
                kind,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_flat_json_lines_and_read_back() {
        let e = Event {
            at_ms: 1500,
            kind: EventKind::StepRetrying {
                instance: "b[2]".into(),
                attempt: 1,
                delay_ms: 7000,
                error: "503".into(),
            },
        };
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(
            line,
            r#"{"at_ms":1500,"event":"step_retrying","instance":"b[2]","attempt":1,"delay_ms":7000,"error":"503"}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e);
        let fin = Event {
            at_ms: 9,
            kind: EventKind::RunFinished {
                outcome: RunOutcome::Failed { reason: "x".into() },
                duration_ms: 9,
            },
        };
        let back: Event = serde_json::from_str(&serde_json::to_string(&fin).unwrap()).unwrap();
        assert_eq!(back, fin);
    }
}

/// What a run left behind, as far as the undo call's arguments tell.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OrphanResource {
    pub site: Option<String>,
    /// The record type (`volume`, `snapshot`, …), else the action's service.
    pub kind: String,
    pub id: Option<String>,
    /// Its name; for a call in doubt, the tag every resource it made carries.
    pub name: Option<String>,
}
