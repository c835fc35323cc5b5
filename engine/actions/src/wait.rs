//! Waiting for asynchronous states (`creating` → `available`): poll with
//! exponential backoff until the wanted state, a failed state (Permanent), or
//! the call's deadline (Timeout). Transient errors while polling are ridden
//! out until the deadline.

use crate::args::from_client;
use lifeboat_exec::action::ActionError;
use std::future::Future;
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

/// Backoff between polls.
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    pub first: Duration,
    pub max: Duration,
    pub factor: f64,
}

/// The default looks again after 25 ms, then 1.5× longer each time, at
/// most every 5 s. A wait overshoots the moment the resource got there by at
/// most half its length (≥ 25 ms); 100 ms × 1.6 made every pause, unpause and
/// volume creation on a fast cloud wait twice as long as the cloud took —
/// servers stayed frozen twice as long (`cargo bench --bench makespan`). A
/// one-second operation costs about 8 looks instead of 5.
impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy { first: Duration::from_millis(25), max: Duration::from_secs(5), factor: 1.5 }
    }
}

/// Poll `probe` until it is ready, failed, or `deadline` passed. `what`
/// names the action, resource and site in the messages.
pub async fn until<T, F, Fut>(policy: PollPolicy, deadline: Instant, action: &str, what: &str, mut probe: F) -> Result<T, ActionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = lifeboat_openstack::Result<Poll<T>>>,
{
    let mut delay = policy.first;
    let mut last: String;
    loop {
        match probe().await {
            Ok(Poll::Ready(t)) => return Ok(t),
            Ok(Poll::Pending(s)) => last = s,
            Ok(Poll::Failed(s)) => return Err(ActionError::permanent(format!("{action}: {what} ended in state {s}")).with_hint(ENDED_IN_ERROR)),
            Err(e) if e.is_transient() => last = format!("unreachable ({e})"),
            Err(e) => return Err(from_client(action, e)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(ActionError::timeout(format!("{action}: {what} did not get there before the call's timeout; last state: {last}"))
                .with_hint("the cloud is slow or stuck; raise the step's timeout or look at the resource"));
        }
        tokio::time::sleep(delay.min(deadline - now)).await;
        delay = Duration::from_secs_f64((delay.as_secs_f64() * policy.factor).min(policy.max.as_secs_f64()));
    }
}

/// The hint of a wait that saw its resource end in a failed state.
const ENDED_IN_ERROR: &str = "look at the resource's fault or fail_reason in the cloud; delete it and retry the run";

/// Did the wait see its resource end in a failed state (`error`, …)?
pub fn ended_in_error(e: &ActionError) -> bool {
    e.class == lifeboat_exec::action::ErrorClass::Permanent && e.hint.as_deref() == Some(ENDED_IN_ERROR)
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
        Ok(()) => ActionError::transient(format!("{}; the failed {what} was deleted, a new one will be made", e.message), None),
        Err(d) if d.is_not_found() => ActionError::transient(format!("{}; the failed {what} is gone, a new one will be made", e.message), None),
        Err(d) => ActionError::permanent(format!("{}; deleting the failed {what} failed too: {d}", e.message)).with_hint(format!("delete {what} by hand, then run again")),
    }
}

/// Failed, or on its way out: not something a lost answer made that the
/// call could keep (a finder passes over it and the call makes a new one).
pub fn is_discarded(status: &str) -> bool {
    is_failed(status) || matches!(status.to_ascii_lowercase().as_str(), "deleting" | "deleted")
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
        let p = PollPolicy { first: Duration::from_millis(1), max: Duration::from_millis(5), factor: 2.0 };
        let mut n = 0;
        let r = until(p, Instant::now() + Duration::from_secs(2), "a", "volume v", || {
            n += 1;
            let k = n;
            async move { Ok(if k >= 3 { Poll::Ready(k) } else { Poll::Pending("creating".into()) }) }
        })
        .await
        .unwrap();
        assert_eq!(r, 3);
        let e = until::<(), _, _>(p, Instant::now() + Duration::from_secs(2), "a", "volume v", || async { Ok(Poll::Failed("error".into())) }).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Permanent);
        let e = until::<(), _, _>(p, Instant::now() + Duration::from_millis(20), "a", "volume v", || async { Ok(Poll::Pending("creating".into())) }).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::Timeout);
        assert!(e.message.contains("creating"));
        assert!(is_failed("error") && is_failed("error_deleting") && !is_failed("available"));
    }
}
