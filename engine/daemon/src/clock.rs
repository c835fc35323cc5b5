//! Time, behind a trait, so every decision the daemon takes about time (is a
//! schedule due, how old is the newest recovery point) can be tested without
//! sleeping on the wall clock.
//!
//! - [`SystemClock`]: the wall clock. It sleeps in slices of at most a
//!   minute and looks at the clock again, so a suspended machine or a clock
//!   step does not make it oversleep a due time.
//! - [`TestClock`]: time moves only when a test calls [`TestClock::set`] or
//!   [`TestClock::advance`]; sleepers wake when it passes their deadline.

use chrono::{DateTime, Utc};
use std::sync::Mutex;
use tokio::sync::watch;

#[async_trait::async_trait]
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Returns at or after `t` (at once when `t` has passed).
    async fn sleep_until(&self, t: DateTime<Utc>);
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep_until(&self, t: DateTime<Utc>) {
        loop {
            let left = t - Utc::now();
            let Ok(left) = left.to_std() else { return };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(std::time::Duration::from_secs(60))).await;
        }
    }
}

/// A clock that moves only when told to.
pub struct TestClock {
    now: Mutex<DateTime<Utc>>,
    tick: watch::Sender<DateTime<Utc>>,
}

impl TestClock {
    pub fn new(start: DateTime<Utc>) -> TestClock {
        let (tick, _) = watch::channel(start);
        TestClock {
            now: Mutex::new(start),
            tick,
        }
    }

    /// Move to `t` (never backwards: an earlier `t` is ignored).
    pub fn set(&self, t: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if t > *now {
            *now = t;
            self.tick.send_replace(t);
        }
    }

    pub fn advance(&self, d: chrono::Duration) {
        let t = self.now() + d;
        self.set(t);
    }
}

#[async_trait::async_trait]
impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn sleep_until(&self, t: DateTime<Utc>) {
        let mut rx = self.tick.subscribe();
        loop {
            if self.now() >= t {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
