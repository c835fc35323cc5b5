//! Waiting for asynchronous states (`creating` → `available`): poll until
//! the wanted state, a failed state (Permanent), or the call's deadline
//! (Timeout). Transient errors while polling are ridden out until the
//! deadline.
//!
//! **When to look** is learned. A wait that knows nothing looks at once,
//! then after 25 ms, 1.5× longer each time. Each finished wait teaches
//! [`Durations`] how long that operation took at that site (its action and
//! resource kind), and the next wait of the same kind looks first just when
//! it should be done, then at an eighth of that, growing. So on a cloud that
//! takes 20 ms to create a volume a wait costs about one look and overshoots
//! by a few per cent, where a fixed backoff costs two or three looks and
//! overshoots by up to half (servers stay frozen longer; a rate-limited
//! site is sent requests that tell nothing).

use crate::args::from_client;
use lifeboat_exec::action::ActionError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What one poll saw.
pub enum Poll<T> {
    /// Done, with the resource.
    Ready(T),
    /// Not yet; the current status, for the timeout message.
    Pending(String),
    /// It will never get there (e.g. status `error`).
    Failed(String),
}

/// Backoff between polls while nothing is known of the operation, and
/// whether waits learn when to look ([`Durations`]).
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    pub first: Duration,
    pub max: Duration,
    pub factor: f64,
    pub learn: bool,
}

/// The default looks again after 25 ms, then 1.5× longer each time, at
/// most every 5 s (a one-second operation costs about 8 looks), until it
/// has learned how long the operation takes.
impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            first: Duration::from_millis(25),
            max: Duration::from_secs(5),
            factor: 1.5,
            learn: true,
        }
    }
}

/// How long operations took, per site, action and resource kind: a
/// smoothed estimate (as TCP smooths its round-trip time), shared by every
/// wait of the actions.
#[derive(Debug, Default)]
pub struct Durations {
    learned: Mutex<HashMap<String, Duration>>,
}

/// Weight of the newest observation in the estimate.
const ALPHA: f64 = 0.25;
/// A wait whose first look found the operation done learns a little less
/// than it saw, so the estimate can come down to the true duration (a look
/// that is too late cannot tell by how much).
const DONE_AT_FIRST_LOOK: f64 = 0.85;
/// After the estimate passed, the next look comes after this share of it.
const STEP_SHARE: f64 = 0.125;
/// An operation expected to take longer than this is also looked at once at
/// the start: the resource may be there already (a resumed run adopting
/// what it made), and one look more is little beside the looks a long
/// operation costs anyway.
const LOOK_AT_ONCE_BEYOND: Duration = Duration::from_secs(2);

impl Durations {
    pub fn estimate(&self, key: &str) -> Option<Duration> {
        self.learned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
    }

    fn learn(&self, key: &str, sample: Duration) {
        let mut m = self.learned.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(key.to_string()).or_insert(sample);
        *e = e.mul_f64(1.0 - ALPHA) + sample.mul_f64(ALPHA);
    }
}

/// The schedule of one wait's looks.
struct Schedule {
    policy: PollPolicy,
    estimate: Option<Duration>,
    /// Delay before the next look after a pending one.
    delay: Duration,
    /// When the last pending look was, from the start of the wait.
    last_pending: Option<Duration>,
}

impl Schedule {
    fn new(policy: PollPolicy, estimate: Option<Duration>) -> Self {
        let delay = match estimate {
            Some(e) => e
                .mul_f64(STEP_SHARE)
                .max(Duration::from_millis(1))
                .min(policy.max),
            None => policy.first,
        };
        Schedule {
            policy,
            estimate,
            delay,
            last_pending: None,
        }
    }

    /// When to look first: at once when nothing is known or the operation
    /// is a long one, else when it should be done.
    fn first(&self) -> Duration {
        match self.estimate {
            Some(e) if e <= LOOK_AT_ONCE_BEYOND => e,
            _ => Duration::ZERO,
        }
    }

    /// A look at `at` found it pending: how long until the next one.
    fn pending(&mut self, at: Duration) -> Duration {
        self.last_pending = Some(at);
        if let Some(e) = self.estimate.filter(|e| at < *e) {
            return e - at;
        }
        let d = self.delay;
        self.delay = Duration::from_secs_f64(
            (d.as_secs_f64() * self.policy.factor).min(self.policy.max.as_secs_f64()),
        );
        d
    }

    /// A look at `at` found it done: what the wait learned of the duration.
    fn sample(&self, at: Duration) -> Duration {
        match self.last_pending {
            // It got there between the two looks.
            Some(p) => p + (at - p) / 2,
            None => at.mul_f64(DONE_AT_FIRST_LOOK),
        }
    }
}

/// Poll `probe` until it is ready, failed, or `deadline` passed. `what`
/// names the action, resource and site in the messages; `learn` is where
/// the durations of this kind of wait are learned (and the kind's key).
pub async fn until<T, F, Fut>(
    policy: PollPolicy,
    learn: Option<(&Durations, &str)>,
    deadline: Instant,
    action: &str,
    what: &str,
    mut probe: F,
) -> Result<T, ActionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = lifeboat_openstack::Result<Poll<T>>>,
{
    let start = Instant::now();
    let learn = learn.filter(|_| policy.learn);
    let mut schedule = Schedule::new(policy, learn.and_then(|(d, k)| d.estimate(k)));
    let first = schedule.first();
    if !first.is_zero() {
        tokio::time::sleep(first.min(deadline.saturating_duration_since(start))).await;
    }
    let mut last: String;
    loop {
        let at = start.elapsed();
        match probe().await {
            Ok(Poll::Ready(t)) => {
                if let Some((d, k)) = learn {
                    d.learn(k, schedule.sample(at));
                }
                return Ok(t);
            }
            Ok(Poll::Pending(s)) => last = s,
            Ok(Poll::Failed(s)) => {
                return Err(
                    ActionError::permanent(format!("{action}: {what} ended in state {s}"))
                        .with_hint(ENDED_IN_ERROR),
                )
            }
            Err(e) if e.is_transient() => last = format!("unreachable ({e})"),
            Err(e) => return Err(from_client(action, e)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(ActionError::timeout(format!(
                "{action}: {what} did not get there before the call's timeout; last state: {last}"
            ))
            .with_hint(
                "the cloud is slow or stuck; raise the step's timeout or look at the resource",
            ));
        }
        let delay = schedule.pending(at);
        tokio::time::sleep(delay.min(deadline - now)).await;
    }
}

/// The hint of a wait that saw its resource end in a failed state.
const ENDED_IN_ERROR: &str =
    "look at the resource's fault or fail_reason in the cloud; delete it and retry the run";

/// Did the wait see its resource end in a failed state (`error`, …)?
pub fn ended_in_error(e: &ActionError) -> bool {
    e.class == lifeboat_exec::action::ErrorClass::Permanent
        && e.hint.as_deref() == Some(ENDED_IN_ERROR)
}

/// A resource the call created ended in a failed state: it is deleted here
/// (the step failed, so no compensation will take it back), and the error
/// becomes transient — the call makes a new one, nothing is left behind.
/// When the delete fails too, the error stays permanent and says what to
/// delete by hand. Any other error is returned as it is.
pub async fn discard_failed<F>(e: ActionError, what: &str, delete: F) -> ActionError
where
    F: Future<Output = lifeboat_openstack::Result<()>>,
{
    if !ended_in_error(&e) {
        return e;
    }
    match delete.await {
        Ok(()) => ActionError::transient(
            format!(
                "{}; the failed {what} was deleted, a new one will be made",
                e.message
            ),
            None,
        ),
        Err(d) if d.is_not_found() => ActionError::transient(
            format!(
                "{}; the failed {what} is gone, a new one will be made",
                e.message
            ),
            None,
        ),
        Err(d) => ActionError::permanent(format!(
            "{}; deleting the failed {what} failed too: {d}",
            e.message
        ))
        .with_hint(format!("delete {what} by hand, then run again")),
    }
}

/// On its way out (being deleted, or gone).
pub fn is_going(status: &str) -> bool {
    matches!(status.to_ascii_lowercase().as_str(), "deleting" | "deleted")
}

/// Failed, or on its way out: not something a lost answer made that the
/// call could keep (a finder passes over it and the call makes a new one).
pub fn is_discarded(status: &str) -> bool {
    is_failed(status) || is_going(status)
}

/// A request answered 404, or refused (400/409) because the resource is
/// already on its way — an earlier send of it was taken and its answer
/// lost. `status` reads the resource's status to tell that refusal from
/// any other: one of `under_way`, or the resource gone, is success.
pub async fn ok_if_under_way<F>(
    action: &str,
    r: lifeboat_openstack::Result<()>,
    status: F,
    under_way: &[&str],
) -> Result<(), ActionError>
where
    F: Future<Output = lifeboat_openstack::Result<String>>,
{
    use lifeboat_openstack::ErrorKind;
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
        Err(e) if matches!(e.kind, ErrorKind::BadRequest | ErrorKind::Conflict) => {
            match status.await {
                Ok(s) if under_way.contains(&s.as_str()) => Ok(()),
                Err(g) if g.is_not_found() => Ok(()),
                _ => Err(from_client(action, e)),
            }
        }
        Err(e) => Err(from_client(action, e)),
    }
}

/// Statuses that mean a Cinder/Nova/Glance resource failed for good.
pub fn is_failed(status: &str) -> bool {
    let s = status.to_ascii_lowercase();
    s == "error" || s.starts_with("error_") || s == "killed"
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeboat_exec::action::ErrorClass;

    #[tokio::test]
    async fn ready_failed_timeout() {
        let p = PollPolicy {
            first: Duration::from_millis(1),
            max: Duration::from_millis(5),
            factor: 2.0,
            learn: true,
        };
        let mut n = 0;
        let r = until(
            p,
            None,
            Instant::now() + Duration::from_secs(2),
            "a",
            "volume v",
            || {
                n += 1;
                let k = n;
                async move {
                    Ok(if k >= 3 {
                        Poll::Ready(k)
                    } else {
                        Poll::Pending("creating".into())
                    })
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(r, 3);
        let e = until::<(), _, _>(
            p,
            None,
            Instant::now() + Duration::from_secs(2),
            "a",
            "volume v",
            || async { Ok(Poll::Failed("error".into())) },
        )
        .await
        .unwrap_err();
        assert_eq!(e.class, ErrorClass::Permanent);
        let e = until::<(), _, _>(
            p,
            None,
            Instant::now() + Duration::from_millis(20),
            "a",
            "volume v",
            || async { Ok(Poll::Pending("creating".into())) },
        )
        .await
        .unwrap_err();
        assert_eq!(e.class, ErrorClass::Timeout);
        assert!(e.message.contains("creating"));
        assert!(is_failed("error") && is_failed("error_deleting") && !is_failed("available"));
    }

    #[test]
    fn a_schedule_looks_when_the_operation_should_be_done() {
        let p = PollPolicy::default();
        let fresh = Schedule::new(p, None);
        assert_eq!(fresh.first(), Duration::ZERO, "nothing known: look at once");
        let mut s = Schedule::new(p, Some(Duration::from_millis(80)));
        assert_eq!(s.first(), Duration::from_millis(80));
        assert_eq!(
            s.sample(Duration::from_millis(80)),
            Duration::from_millis(68),
            "done at the first look: learn a little less"
        );
        // Pending at 80 ms: the next looks come 10 ms, then 15 ms later.
        assert_eq!(
            s.pending(Duration::from_millis(80)),
            Duration::from_millis(10)
        );
        assert_eq!(
            s.pending(Duration::from_millis(90)),
            Duration::from_millis(15)
        );
        // Done at 105 ms, pending at 90: it got there in between.
        assert_eq!(
            s.sample(Duration::from_millis(105)),
            Duration::from_micros(97_500)
        );
        // A long operation is looked at once at the start too, then when it
        // should be done.
        let mut long = Schedule::new(p, Some(Duration::from_secs(30)));
        assert_eq!(long.first(), Duration::ZERO);
        assert_eq!(
            long.pending(Duration::from_millis(5)),
            Duration::from_millis(29_995)
        );
        assert_eq!(
            long.pending(Duration::from_secs(30)),
            Duration::from_millis(3750)
        );
    }

    #[tokio::test]
    async fn waits_learn_how_long_an_operation_takes_and_look_less() {
        let d = Durations::default();
        let take = Duration::from_millis(60);
        let mut looks = Vec::new();
        for _ in 0..12 {
            let started = Instant::now();
            let mut n = 0;
            until(
                PollPolicy::default(),
                Some((&d, "site-a cinder.create_volume volume")),
                Instant::now() + Duration::from_secs(5),
                "a",
                "volume v",
                || {
                    n += 1;
                    let done = started.elapsed() >= take;
                    async move {
                        Ok(if done {
                            Poll::Ready(())
                        } else {
                            Poll::Pending("creating".into())
                        })
                    }
                },
            )
            .await
            .unwrap();
            looks.push(n);
        }
        // The first wait knows nothing (looks at 0, 25, 62.5 ms: 3 or 4 looks);
        // once learned, about one look and a second when it is a little early.
        assert!(looks[0] >= 3, "{looks:?}");
        let later: usize = looks[6..].iter().sum();
        assert!(
            later <= 6 * 2,
            "learned waits look at most twice: {looks:?}"
        );
        let e = d.estimate("site-a cinder.create_volume volume").unwrap();
        assert!(
            e >= Duration::from_millis(45) && e <= Duration::from_millis(90),
            "estimate {e:?}"
        );
        assert!(
            d.estimate("site-b cinder.create_volume volume").is_none(),
            "per site"
        );
    }
}
