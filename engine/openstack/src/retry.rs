//! Request-level resilience: which failed requests are sent again, when, and
//! for how long.
//!
//! A DR tool is used when the surviving site's API is at its worst: every
//! tenant fails over at once, load balancers shed load, Keystone slows down.
//! So a single transient failure must cost one request, never a whole step.
//! Every request the client sends goes through [`RetryPolicy`]:
//!
//! - **What is transient**: the connection failed or broke before an answer
//!   (refused, reset, closed, timed out), 502/503/504, and 429/413 rate
//!   limits. Over-quota answers (Cinder's 413 `overLimit` about a quota,
//!   Nova's 403) are permanent: waiting does not help.
//! - **What may be sent again** ([`Repeat`]): idempotent methods (GET, HEAD,
//!   PUT, DELETE) and POSTs marked safe to repeat (server power actions,
//!   metadata updates) after any transient failure. A creating POST only
//!   after a failure that proves the service never took it: the connection
//!   could not be opened, or a rate limit turned it away. After an answer
//!   lost in flight (reset, 502/503/504, timeout) the error goes back to the
//!   caller, which looks for what the lost answer created (by its tag)
//!   before creating again — see `lifeboat-actions`.
//! - **When**: the server's `Retry-After` (seconds or an HTTP date) when it
//!   gave one and it is not zero, capped by [`RetryPolicy::max_retry_after`]
//!   and plus up to 25 % jitter; otherwise an exponential backoff with full
//!   jitter (uniform in `[0, min(cap, base · 2^n)]`, as the AWS
//!   architecture blog recommends for contended services).
//! - **How long**: at most [`RetryPolicy::max_attempts`] sends and
//!   [`RetryPolicy::max_elapsed`] per request, and never past the deadline
//!   of the call it belongs to ([`CallScope`]). A call on a *safety path*
//!   (a thaw, a compensation, a cleanup, a reconciliation) is
//!   [`Persistence::UntilDeadline`]: it keeps trying for as long as its
//!   deadline allows, whatever the attempt count.
//!
//! The scope of a call is set by the caller around the whole call with
//! [`CallScope::run`] (a tokio task-local), so every request the call makes,
//! however deep, follows it without threading a parameter through every
//! typed method.

use rand::Rng;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How failed requests are retried. The defaults suit a busy production
/// cloud; `lifeboat` exposes them as options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Sends per request at most, the first included (≥ 1).
    pub max_attempts: u32,
    /// Sends at most while the connection cannot even be opened: a site
    /// that refuses connections is most likely down, and saying so soon
    /// beats waiting out the whole budget (resets and lost answers, the
    /// signs of an overloaded site, get `max_attempts`).
    pub connect_attempts: u32,
    /// Time per request at most, waits included.
    pub max_elapsed: Duration,
    /// The first backoff's upper bound; doubles per attempt.
    pub base: Duration,
    /// The largest backoff.
    pub cap: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            connect_attempts: 4,
            max_elapsed: Duration::from_secs(120),
            base: Duration::from_millis(100),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (one send per request).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before send number `attempt + 1` (`attempt` ≥ 1 sends were
    /// made): the server's `Retry-After` when it gave a non-zero one
    /// (capped, plus up to 25 % jitter so that calls turned away together
    /// do not come back together), else full-jitter exponential backoff.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let mut rng = rand::thread_rng();
        match retry_after.filter(|d| !d.is_zero()) {
            Some(ra) => ra
                .min(self.max_retry_after)
                .mul_f64(1.0 + rng.gen_range(0.0..=0.25)),
            None => {
                let exp = self
                    .base
                    .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
                    .min(self.cap);
                exp.mul_f64(rng.gen_range(0.0..=1.0))
            }
        }
    }
}

/// Whether a request may be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Sending it twice has the effect of sending it once (GET, HEAD, PUT,
    /// DELETE; a power action whose repeat the caller reads as done).
    Idempotent,
    /// It creates something: sent again only when the service surely never
    /// took it (connection not opened, rate-limited).
    Creating,
}

/// How one failed send ended, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The connection could not be opened: nothing was sent.
    NotConnected,
    /// The request may have reached the service; no answer came back (reset,
    /// closed, timed out).
    AnswerLost,
    /// 429, or a 413 that is a rate limit: turned away, not processed.
    RateLimited,
    /// 503: the service or its load balancer is shedding load.
    Unavailable,
    /// 502 or 504: a gateway lost the backend's answer.
    Gateway,
    /// Anything else: not worth repeating.
    Permanent,
}

impl Failure {
    /// May a request of kind `repeat` be sent again after this?
    pub fn retryable(self, repeat: Repeat) -> bool {
        match self {
            Failure::Permanent => false,
            Failure::NotConnected | Failure::RateLimited => true,
            Failure::AnswerLost | Failure::Unavailable | Failure::Gateway => {
                repeat == Repeat::Idempotent
            }
        }
    }

    /// Does it tell the site to slow down (adaptive concurrency)?
    pub fn is_throttle(self) -> bool {
        matches!(self, Failure::RateLimited | Failure::Unavailable)
    }
}

/// How long the requests of one call keep trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Persistence {
    /// The policy's attempt and time budgets (a forward step: the step's own
    /// retries stay above it).
    #[default]
    Budget,
    /// Until the call's deadline, whatever the attempt count: thaws,
    /// compensations, cleanups, reconciliations.
    UntilDeadline,
}

/// What the requests of one call inherit from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallScope {
    /// No request of the call waits or retries past this.
    pub deadline: Option<Instant>,
    pub persistence: Persistence,
    /// Skips the adaptive concurrency limit (a thaw never waits for a slot
    /// while a VM is frozen).
    pub urgent: bool,
}

tokio::task_local! {
    static SCOPE: CallScope;
}

impl CallScope {
    /// Runs `f` with every request it makes following this scope.
    pub async fn run<F: Future>(self, f: F) -> F::Output {
        SCOPE.scope(self, f).await
    }

    /// The scope of the current task (the default outside any).
    pub fn current() -> CallScope {
        SCOPE.try_with(|s| *s).unwrap_or_default()
    }
}

/// The budget of one request: counts sends and decides whether another may
/// follow, and after how long.
#[derive(Debug)]
pub(crate) struct Budget {
    policy: RetryPolicy,
    scope: CallScope,
    started: Instant,
    pub(crate) attempts: u32,
}

impl Budget {
    pub(crate) fn new(policy: RetryPolicy, scope: CallScope) -> Self {
        Budget {
            policy,
            scope,
            started: Instant::now(),
            attempts: 0,
        }
    }

    /// After a failed send: the wait before the next one, or `None` when
    /// the request must give up.
    pub(crate) fn next(
        &self,
        failure: Failure,
        repeat: Repeat,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if !failure.retryable(repeat) {
            return None;
        }
        let delay = self.policy.delay(self.attempts, retry_after);
        let at = Instant::now() + delay;
        match self.scope.persistence {
            Persistence::Budget => {
                let most = match failure {
                    Failure::NotConnected => {
                        self.policy.connect_attempts.min(self.policy.max_attempts)
                    }
                    _ => self.policy.max_attempts,
                };
                if self.attempts >= most.max(1) || at > self.started + self.policy.max_elapsed {
                    return None;
                }
            }
            Persistence::UntilDeadline => {}
        }
        match self.scope.deadline {
            Some(d) if at >= d => None,
            // Without a deadline a persistent request is still bounded.
            None if self.scope.persistence == Persistence::UntilDeadline
                && at > self.started + self.policy.max_elapsed * 5 =>
            {
                None
            }
            _ => Some(delay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_backoff_is_bounded_and_capped() {
        let p = RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        for attempt in 1..=12u32 {
            let bound = (Duration::from_millis(100) * 2u32.pow((attempt - 1).min(20)))
                .min(Duration::from_secs(2));
            for _ in 0..50 {
                assert!(p.delay(attempt, None) <= bound, "attempt {attempt}");
            }
        }
        // Full jitter: the draws spread over the whole range, not just its top half.
        let low = (0..200)
            .filter(|_| p.delay(5, None) < Duration::from_millis(400))
            .count();
        assert!(low > 20, "only {low} of 200 draws in the lower quarter");
    }

    #[test]
    fn retry_after_is_honoured_capped_and_jittered() {
        let p = RetryPolicy {
            max_retry_after: Duration::from_secs(30),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let d = p.delay(1, Some(Duration::from_secs(2)));
            assert!(
                d >= Duration::from_secs(2) && d <= Duration::from_millis(2500),
                "{d:?}"
            );
            let d = p.delay(1, Some(Duration::from_secs(3600)));
            assert!(
                d >= Duration::from_secs(30) && d <= Duration::from_millis(37_500),
                "{d:?}"
            );
        }
        // `Retry-After: 0` is no hint: the backoff applies.
        assert!(p.delay(1, Some(Duration::ZERO)) <= p.base);
    }

    #[test]
    fn what_may_be_repeated() {
        use Failure::*;
        for f in [NotConnected, AnswerLost, RateLimited, Unavailable, Gateway] {
            assert!(f.retryable(Repeat::Idempotent), "{f:?}");
        }
        assert!(NotConnected.retryable(Repeat::Creating));
        assert!(RateLimited.retryable(Repeat::Creating));
        for f in [AnswerLost, Unavailable, Gateway, Permanent] {
            assert!(
                !f.retryable(Repeat::Creating),
                "{f:?}: a creating POST is not repeated blind"
            );
        }
        assert!(!Permanent.retryable(Repeat::Idempotent));
        assert!(RateLimited.is_throttle() && Unavailable.is_throttle() && !Gateway.is_throttle());
    }

    #[tokio::test]
    async fn budgets_count_attempts_time_and_the_deadline() {
        let p = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(1),
            ..RetryPolicy::default()
        };
        let mut b = Budget::new(p, CallScope::default());
        b.attempts = 2;
        assert!(b
            .next(Failure::Unavailable, Repeat::Idempotent, None)
            .is_some());
        b.attempts = 3;
        assert!(
            b.next(Failure::Unavailable, Repeat::Idempotent, None)
                .is_none(),
            "attempts spent"
        );
        // A site that refuses connections is given up on sooner.
        let p2 = RetryPolicy {
            max_attempts: 10,
            connect_attempts: 2,
            ..p
        };
        let mut b = Budget::new(p2, CallScope::default());
        b.attempts = 2;
        assert!(b
            .next(Failure::NotConnected, Repeat::Creating, None)
            .is_none());
        assert!(b
            .next(Failure::AnswerLost, Repeat::Idempotent, None)
            .is_some());
        // A safety path keeps going past the attempt count, until its deadline.
        let scope = CallScope {
            deadline: Some(Instant::now() + Duration::from_secs(60)),
            persistence: Persistence::UntilDeadline,
            urgent: true,
        };
        let mut b = Budget::new(p, scope);
        b.attempts = 1000;
        assert!(b
            .next(Failure::Unavailable, Repeat::Idempotent, None)
            .is_some());
        // ... and not past it: a Retry-After beyond the deadline ends it.
        assert!(b
            .next(
                Failure::RateLimited,
                Repeat::Idempotent,
                Some(Duration::from_secs(61))
            )
            .is_none());
        assert_eq!(CallScope::current(), CallScope::default());
        let inner = scope.run(async { CallScope::current() }).await;
        assert_eq!(inner, scope);
    }
}
