//! Cancellation: why a run (or a quiesce scope) stops, and how far.
//!
//! [`CancelReason`] is ordered by severity; when several reasons are raised
//! the highest wins. Two levels of stopping, each a `CancellationToken`:
//!
//! - **stop**: start nothing new (no new step, no new iteration, no retry
//!   after a backoff). Raised by every reason. A step failure raises only
//!   this: calls already in flight run to completion, so what they create is
//!   known and can be compensated.
//! - **abort**: also drop the calls in flight (they end `Cancelled`, their
//!   intent stays in the journal without an outcome and is reconciled with
//!   `Actions::find_created` before compensation). Raised by the watchdog
//!   (for its scope only) and by interrupts.
//!
//! Thaws never look at either token: a VM is thawed whatever happened —
//! except by a run [`CancelReason::Deposed`]: another process owns it now
//! (its journal refused this one's writes) and thaws, compensates and
//! finishes it; the deposed one calls nothing more at all.
//! A [`CancelHandle`] is what the CLI holds: [`CancelHandle::interrupt`] on
//! each Ctrl-C. The first interrupt stops the run, thaws, compensates and
//! cleans up; the second still thaws but skips compensation and cleanup (the
//! run can be resumed to finish them).

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Why work stops, least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    StepFailed,
    WatchdogExpired,
    Interrupt,
    SecondInterrupt,
    /// This process's hold on the run (a cluster member's lease) may have
    /// lapsed — it was paused, or cut off from its store, past the lease:
    /// stop at once and leave compensation and cleanup to a resume by the
    /// run's owner. Thaws still go: a VNF left paused is an outage, and
    /// only a refused journal write proves another process owns the run.
    HoldLapsed,
    /// The run's journal refused a write because another process owns the
    /// run now (a cluster member that took it over): stop at once and call
    /// nothing more — no thaw, no compensation, no cleanup. The new owner
    /// resumes the run from the journal as it stood before, and does all of
    /// that itself.
    Deposed,
}

impl CancelReason {
    /// Whether in-flight calls are dropped too.
    pub fn aborts(self) -> bool {
        self >= CancelReason::WatchdogExpired
    }

    /// Whether compensation and cleanup are skipped (left to `resume`, or
    /// to the run's new owner).
    pub fn skips_saga(self) -> bool {
        self >= CancelReason::SecondInterrupt
    }
}

struct Inner {
    stop: CancellationToken,
    abort: CancellationToken,
    reason: Mutex<Option<CancelReason>>,
    interrupts: AtomicU32,
    parent: Option<CancelHandle>,
}

/// A cloneable cancellation handle for a run or a scope.
#[derive(Clone)]
pub struct CancelHandle {
    inner: Arc<Inner>,
}

impl Default for CancelHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelHandle")
            .field("reason", &self.reason())
            .finish()
    }
}

impl CancelHandle {
    pub fn new() -> Self {
        CancelHandle {
            inner: Arc::new(Inner {
                stop: CancellationToken::new(),
                abort: CancellationToken::new(),
                reason: Mutex::new(None),
                interrupts: AtomicU32::new(0),
                parent: None,
            }),
        }
    }

    /// A handle cancelled with its parent, and cancellable on its own
    /// (a quiesce scope's watchdog cancels only its body).
    pub(crate) fn child(&self) -> CancelHandle {
        CancelHandle {
            inner: Arc::new(Inner {
                stop: self.inner.stop.child_token(),
                abort: self.inner.abort.child_token(),
                reason: Mutex::new(None),
                interrupts: AtomicU32::new(0),
                parent: Some(self.clone()),
            }),
        }
    }

    /// An operator's Ctrl-C. Returns the reason now in force.
    pub fn interrupt(&self) -> CancelReason {
        let n = self.inner.interrupts.fetch_add(1, Ordering::SeqCst);
        let reason = if n == 0 {
            CancelReason::Interrupt
        } else {
            CancelReason::SecondInterrupt
        };
        self.cancel(reason);
        self.reason().unwrap_or(reason)
    }

    /// Raise a reason; the most severe one raised so far is kept.
    pub fn cancel(&self, reason: CancelReason) {
        {
            let mut r = self.inner.reason.lock().unwrap_or_else(|e| e.into_inner());
            if !matches!(*r, Some(old) if reason <= old) {
                *r = Some(reason);
            }
        }
        self.inner.stop.cancel();
        if reason.aborts() {
            self.inner.abort.cancel();
        }
    }

    /// The most severe reason raised on this handle or an ancestor.
    pub fn reason(&self) -> Option<CancelReason> {
        let own = *self.inner.reason.lock().unwrap_or_else(|e| e.into_inner());
        let parent = self.inner.parent.as_ref().and_then(|p| p.reason());
        own.max(parent)
    }

    pub fn is_stopping(&self) -> bool {
        self.inner.stop.is_cancelled()
    }

    pub fn is_aborted(&self) -> bool {
        self.inner.abort.is_cancelled()
    }

    /// Resolves when nothing new may start.
    pub async fn stopped(&self) {
        self.inner.stop.cancelled().await
    }

    /// Resolves when calls in flight must be dropped.
    pub async fn aborted(&self) {
        self.inner.abort.cancelled().await
    }
}
