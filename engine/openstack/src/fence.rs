//! A fence on the requests that change a cloud. A caller may run a call
//! under a check ([`fenced`]); every request of it that is not a read asks
//! the check just before it is sent, and is not sent when the check says
//! no: the call fails with [`crate::ErrorKind::Fenced`].
//!
//! Lifeboat's daemons use it so that a member paused past its lease, once
//! it wakes, sends nothing that changes the cloud — not even the request it
//! was preparing when it was paused — while another member owns its run.
//! The check must answer at once (it is asked for every write).

use std::future::Future;
use std::sync::Arc;

/// Whether the caller may still change the cloud; `Err` says why not.
pub type Check = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

tokio::task_local! {
    static FENCE: Check;
}

/// Runs `f` with every write it makes asking `check` first.
pub async fn fenced<F: Future>(check: Check, f: F) -> F::Output {
    FENCE.scope(check, f).await
}

/// The current task's check, if any (none outside [`fenced`]).
pub(crate) fn check() -> Result<(), String> {
    FENCE.try_with(|c| c()).unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_check_holds_inside_its_scope_only() {
        assert!(check().is_ok());
        let no: Check = Arc::new(|| Err("lapsed".into()));
        assert_eq!(fenced(no, async { check() }).await, Err("lapsed".into()));
        assert!(check().is_ok());
    }
}
