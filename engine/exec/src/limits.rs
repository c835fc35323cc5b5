//! Concurrency limits: at most N calls in flight per site (API politeness).
//!
//! A [`Limits`] maps a site to its maximum number of calls in flight, with a
//! default for sites not named. A permit is held only while a call is in
//! flight — not during a retry's backoff — so waiting never holds capacity.
//! Calls without a site are not limited. Freezes and thaws bypass the limit
//! (`CallPurpose::is_urgent`): a VM is never kept frozen waiting for a slot.
//!
//! `parallel N` of a `for` loop is enforced by the scheduler (at most N
//! iterations polled at once), independently of these limits.
//!
//! A [`FreezeGate`] is shared by runs (the daemon's jobs): at most N quiesce
//! scopes hold targets frozen at once across all of them. The freezes of
//! many VNFs at once on one cloud make each VNF's slower, until their
//! watchdogs fire; a scope waits at the gate before its first freeze
//! instead, and its watchdog starts once it has its place.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Per-site limits on calls in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub default_per_site: usize,
    pub per_site: HashMap<String, usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            default_per_site: 8,
            per_site: HashMap::new(),
        }
    }
}

impl Limits {
    pub fn with_site(mut self, site: impl Into<String>, max: usize) -> Self {
        self.per_site.insert(site.into(), max);
        self
    }

    pub fn limit_for(&self, site: &str) -> usize {
        self.per_site
            .get(site)
            .copied()
            .unwrap_or(self.default_per_site)
            .max(1)
    }
}

pub(crate) struct SiteLimiter {
    limits: Limits,
    sems: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl SiteLimiter {
    pub(crate) fn new(limits: Limits) -> Self {
        SiteLimiter {
            limits,
            sems: Mutex::new(HashMap::new()),
        }
    }

    fn semaphore(&self, site: &str) -> Arc<Semaphore> {
        let mut map = self.sems.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(site.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.limits.limit_for(site))))
            .clone()
    }

    /// Waits for a slot at `site`; `None` when the call has no site.
    pub(crate) async fn acquire(&self, site: Option<&str>) -> Option<OwnedSemaphorePermit> {
        let site = site?;
        // The semaphore is never closed, so acquiring cannot fail.
        self.semaphore(site).acquire_owned().await.ok()
    }
}

/// At most N quiesce scopes with targets frozen at once, across every run
/// given the same gate. A scope takes its place before its first freeze
/// (waiting is not part of its window) and gives it back once its last
/// target is thawed; a stopping run stops waiting. Clones share places.
#[derive(Debug, Clone)]
pub struct FreezeGate {
    places: usize,
    sem: Arc<Semaphore>,
}

impl FreezeGate {
    /// A gate of `places` (at least 1).
    pub fn new(places: usize) -> Self {
        let places = places.max(1);
        FreezeGate {
            places,
            sem: Arc::new(Semaphore::new(places)),
        }
    }

    pub fn places(&self) -> usize {
        self.places
    }

    /// Waits for a place; held until the permit is dropped.
    pub(crate) async fn enter(&self) -> OwnedSemaphorePermit {
        // Never closed, so acquiring cannot fail.
        loop {
            if let Ok(p) = self.sem.clone().acquire_owned().await {
                return p;
            }
        }
    }
}
