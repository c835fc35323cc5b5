//! Adaptive concurrency per site: how many requests may be in flight at one
//! site right now.
//!
//! AIMD, as TCP does with its window and botocore's adaptive retry mode with
//! its send rate: when the site answers 429 or 503 the limit halves
//! (multiplicative decrease, floor 1) — once per round of requests, since
//! the answers to requests sent before the last decrease say nothing new —
//! and each success adds `1/limit` (additive increase: about one more slot
//! per limit's worth of successes). The ceiling is the operator's
//! `--max-in-flight` / `--site-limit`; the limit starts there.
//!
//! An urgent request (a freeze or a thaw) takes no slot: a VM is never kept
//! frozen waiting for one.
//!
//! A freed slot wakes one waiter, not all: waking every waiter of a busy
//! site for one slot costs more CPU than the requests themselves.
//!
//! A rate limit is a rate, not a concurrency: however few requests are in
//! flight, a fast client sends more than the site admits per second. So when
//! a service answers 429 (or 413) with `Retry-After`, the whole service at
//! that site is **held** until then: no request to it leaves before the
//! time the site named, instead of every request in flight finding out for
//! itself and each spending an attempt and a `Retry-After` of its own (as
//! the AWS SDKs' adaptive mode and Google's client libraries do with a
//! shared token bucket). A hold only ever moves later.
//!
//! [`Throttle::pressure`] says what happened: requests, retries, throttled
//! answers, the limit now and the lowest it reached.

use crate::catalog::Service;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What a site's throttle saw.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Pressure {
    /// Requests sent (each send of a retried request counts).
    pub requests: u64,
    /// Sends that were repeats of a failed one.
    pub retries: u64,
    /// Answers that told the site to slow down (429, 413 rate limit, 503).
    pub throttled: u64,
    /// The limit now.
    pub limit: usize,
    /// The lowest limit reached.
    pub lowest_limit: usize,
    /// The operator's ceiling.
    pub ceiling: usize,
    /// Times a service was held for a `Retry-After` (a hold that extends
    /// one in place does not count again).
    pub holds: u64,
}

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
    /// Decreases so far: a throttled answer to a request sent before the
    /// last decrease does not decrease again.
    epoch: u64,
    /// Services that said when to come back, and when.
    held_until: HashMap<Service, Instant>,
    p: Pressure,
}

/// One site's adaptive limit.
#[derive(Debug)]
pub struct Throttle {
    ceiling: usize,
    state: Mutex<State>,
    freed: Notify,
}

/// A slot, given back when dropped. Remembers the epoch it was taken in.
#[derive(Debug)]
pub struct Slot<'a> {
    throttle: Option<&'a Throttle>,
    epoch: u64,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(t) = self.throttle {
            t.lock().in_flight -= 1;
            // One slot freed: one waiter (a waiter woken and then dropped
            // passes the wake-up on; see `Notify::notify_one`).
            t.freed.notify_one();
        }
    }
}

impl Throttle {
    pub fn new(ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        Throttle {
            ceiling,
            state: Mutex::new(State {
                limit: ceiling as f64,
                in_flight: 0,
                epoch: 0,
                held_until: HashMap::new(),
                p: Pressure {
                    limit: ceiling,
                    lowest_limit: ceiling,
                    ceiling,
                    ..Pressure::default()
                },
            }),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `service` is not held, then for a slot (an urgent request
    /// takes none, but waits out a hold like any other: the site named the
    /// time). `retry`: this send repeats a failed one.
    pub async fn acquire(&self, service: Service, urgent: bool, retry: bool) -> Slot<'_> {
        // Woken for a freed slot: if this waiter does not take it, the
        // next one must be woken instead.
        let mut woken = false;
        loop {
            let held = self
                .lock()
                .held_until
                .get(&service)
                .copied()
                .filter(|t| *t > Instant::now());
            if let Some(t) = held {
                if std::mem::take(&mut woken) {
                    self.freed.notify_one();
                }
                tokio::time::sleep_until(t).await;
                continue;
            }
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut s = self.lock();
                if urgent || s.in_flight < (s.limit.floor() as usize).max(1) {
                    s.p.requests += 1;
                    if retry {
                        s.p.retries += 1;
                    }
                    if urgent {
                        return Slot {
                            throttle: None,
                            epoch: s.epoch,
                        };
                    }
                    s.in_flight += 1;
                    return Slot {
                        throttle: Some(self),
                        epoch: s.epoch,
                    };
                }
            }
            freed.await;
            woken = true;
        }
    }

    /// The site answered: `throttled` when it said to slow down.
    pub fn record(&self, slot: &Slot<'_>, throttled: bool) {
        let mut s = self.lock();
        if throttled {
            s.p.throttled += 1;
            if slot.epoch == s.epoch {
                s.epoch += 1;
                s.limit = (s.limit / 2.0).max(1.0);
            }
        } else if s.limit < self.ceiling as f64 {
            s.limit = (s.limit + 1.0 / s.limit).min(self.ceiling as f64);
        }
        let grew = s.limit.floor() as usize > s.p.limit;
        s.p.limit = s.limit.floor() as usize;
        s.p.lowest_limit = s.p.lowest_limit.min(s.p.limit);
        drop(s);
        if grew {
            // A slot more: one waiter may take it.
            self.freed.notify_one();
        }
    }

    /// `service` said to come back in `after`: hold it until then (never
    /// earlier than a hold already in place).
    pub fn hold(&self, service: Service, after: std::time::Duration) {
        let now = Instant::now();
        let until = now + after;
        let mut s = self.lock();
        let current = s.held_until.get(&service).copied();
        if current.is_none_or(|t| t <= now) {
            s.p.holds += 1;
        }
        if current.is_none_or(|t| t < until) {
            s.held_until.insert(service, until);
        }
    }

    pub fn pressure(&self) -> Pressure {
        self.lock().p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn halves_once_per_round_and_grows_back_slowly() {
        let t = Throttle::new(8);
        let slots: Vec<_> = futures_lite(&t, 8).await;
        // Eight answers of the same round all say 429: one halving, not eight.
        for s in &slots {
            t.record(s, true);
        }
        assert_eq!(t.pressure().limit, 4);
        assert_eq!(t.pressure().throttled, 8);
        drop(slots);
        // A new round throttled again: 2, then 1, never 0.
        for want in [2, 1, 1] {
            let s = t.acquire(Service::Compute, false, true).await;
            t.record(&s, true);
            assert_eq!(t.pressure().limit, want);
        }
        assert_eq!(t.pressure().lowest_limit, 1);
        // Additive increase: from 1 back to 8 takes about 1+2+…+7 = 28 successes.
        let mut n = 0;
        while t.pressure().limit < 8 {
            let s = t.acquire(Service::Compute, false, false).await;
            t.record(&s, false);
            n += 1;
            assert!(n < 100);
        }
        assert!((20..=40).contains(&n), "{n} successes to grow from 1 to 8");
        assert_eq!(t.pressure().lowest_limit, 1);
        assert_eq!(t.pressure().retries, 3);
    }

    #[tokio::test]
    async fn the_limit_bounds_what_is_in_flight_but_not_urgent_requests() {
        let t = std::sync::Arc::new(Throttle::new(2));
        let a = t.acquire(Service::Compute, false, false).await;
        let _b = t.acquire(Service::Compute, false, false).await;
        // A third waits...
        let t2 = t.clone();
        let waiter = tokio::spawn(async move {
            let _c = t2.acquire(Service::Compute, false, false).await;
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        // ...an urgent one does not...
        let _u = t.acquire(Service::Compute, true, false).await;
        // ...and the third goes once a slot is free.
        drop(a);
        tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
            .await
            .expect("freed")
            .expect("joined");
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_service_sends_nothing_until_the_time_the_site_named() {
        let t = std::sync::Arc::new(Throttle::new(8));
        t.hold(Service::BlockStorage, std::time::Duration::from_secs(1));
        // An earlier time never shortens the hold; a later one extends it.
        t.hold(Service::BlockStorage, std::time::Duration::from_millis(10));
        assert_eq!(t.pressure().holds, 1);
        let start = Instant::now();
        // Another service is not held...
        let _c = t.acquire(Service::Compute, false, false).await;
        assert_eq!(start.elapsed(), std::time::Duration::ZERO);
        // ...the held one waits out the second, urgent or not.
        let _v = t.acquire(Service::BlockStorage, true, false).await;
        assert_eq!(start.elapsed(), std::time::Duration::from_secs(1));
        // Once it has passed, a new hold counts again.
        t.hold(Service::BlockStorage, std::time::Duration::from_secs(2));
        t.hold(Service::BlockStorage, std::time::Duration::from_secs(3));
        assert_eq!(t.pressure().holds, 2);
        let _w = t.acquire(Service::BlockStorage, false, false).await;
        assert_eq!(start.elapsed(), std::time::Duration::from_secs(4));
    }

    /// A freed slot wakes one waiter; one that cannot use it (its service
    /// is held) passes it on, so no waiter is left behind a free slot.
    #[tokio::test]
    async fn a_woken_waiter_that_cannot_go_wakes_the_next() {
        let t = std::sync::Arc::new(Throttle::new(1));
        let a = t.acquire(Service::Compute, false, false).await;
        let spawn = |service| {
            let t = t.clone();
            tokio::spawn(async move {
                let _s = t.acquire(service, false, false).await;
            })
        };
        let volume = spawn(Service::BlockStorage);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let compute = spawn(Service::Compute);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // The first waiter's service is held when its slot comes.
        t.hold(Service::BlockStorage, std::time::Duration::from_secs(3600));
        drop(a);
        // A guard against a hang, not a timing assertion.
        tokio::time::timeout(std::time::Duration::from_secs(5), compute)
            .await
            .expect("the compute waiter got the freed slot")
            .expect("joined");
        assert!(!volume.is_finished());
        volume.abort();
    }

    /// Many waiters on a small limit all get through, one slot at a time.
    #[tokio::test]
    async fn every_waiter_gets_a_slot_in_turn() {
        let t = std::sync::Arc::new(Throttle::new(2));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let (t, done) = (t.clone(), done.clone());
                tokio::spawn(async move {
                    let s = t.acquire(Service::Compute, false, false).await;
                    tokio::task::yield_now().await;
                    t.record(&s, false);
                    drop(s);
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                })
            })
            .collect();
        for task in tasks {
            tokio::time::timeout(std::time::Duration::from_secs(10), task)
                .await
                .expect("no waiter left behind")
                .expect("joined");
        }
        assert_eq!(done.load(std::sync::atomic::Ordering::Relaxed), 200);
        assert_eq!(t.pressure().requests, 200);
    }

    async fn futures_lite(t: &Throttle, n: usize) -> Vec<Slot<'_>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(t.acquire(Service::Compute, false, false).await);
        }
        v
    }
}
