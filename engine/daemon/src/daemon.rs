//! The daemon's loop: start each job when it is due, never two runs of the
//! same job at once, retention after each successful protect, resume what a
//! crashed daemon left, stop safely.
//!
//! ```text
//! start ─ resume interrupted runs of its jobs (dead owner, no end) ─┐
//!         first due per job: a missed fire time → now (once);       │
//!         never ran + run_at_start → now; else the next fire time   ▼
//! loop ── shutdown ──────────────▶ stop: interrupt live runs (thaw, compensate), wait, exit
//!     ├── a run ended ───────────▶ history end, unlock; protect ok → retention run;
//!     │                            uncertain creates → look for late twins `twins_after` later
//!     ├── late twins due ────────▶ lock free? `cleanup` of the ended run : a minute later
//!     └── clock reaches a due ───▶ lock free? start : skip (overlap); next = next fire after now
//! ```
//!
//! Every time comes from the [`Clock`]; runs are started and resumed by the
//! [`Launcher`]; a run's directory, row and lock are kept by the
//! [`RunStore`] (each run holds its lock through a [`Lease`]), as are the
//! recovery points retention works on.

use crate::clock::Clock;
use crate::cluster::runs::{Begin, SharedRuns};
use crate::fence::FenceWatch;
use crate::history::{parse_ts, ts, BackupRow, NewRun, PointRow, RunEnd, RunKind, RunRow};
use crate::job::Job;
use crate::launcher::{Finished, Launcher};
use crate::lock::Acquired;
use crate::owner::Owner;
use crate::points;
use crate::retention::plan::{RetentionRun, RETENTION_RUNBOOK_NAME};
use crate::retention::policy::{self, Decision};
use crate::run_dir::RunDir;
use crate::run_store::{Lease, RunStore};
use chrono::{DateTime, Utc};
use futures::stream::{FuturesUnordered, StreamExt};
use lifeboat_dsl::plan::Plan;
use lifeboat_exec::journal::Record;
use lifeboat_exec::{new_run_id, CancelHandle};
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedSender;

/// What the daemon did, for logs and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum DaemonEvent {
    Started {
        job: String,
        run_id: String,
        kind: RunKind,
    },
    Resumed {
        job: String,
        run_id: String,
    },
    /// A due time came, and the job is another cluster member's to run
    /// (or, while nobody owns it yet, the member placement names).
    Elsewhere {
        job: String,
        member: String,
    },
    /// A due time came while the job's previous run still went on.
    Skipped {
        job: String,
        running: String,
    },
    Finished {
        job: String,
        run_id: String,
        kind: RunKind,
        outcome: String,
    },
    /// An ended run's late twins were looked for again (its `cleanup`):
    /// `left` is what it still could not remove (0: nothing).
    TwinsSought {
        job: String,
        run_id: String,
        left: bool,
    },
    Retention {
        job: String,
        decision: Decision,
    },
    /// Shutdown asked: no new run; live runs are being stopped safely.
    Stopping {
        live: usize,
    },
    Error {
        job: String,
        message: String,
    },
}

pub struct Daemon {
    pub clock: Arc<dyn Clock>,
    pub launcher: Arc<dyn Launcher>,
    pub jobs: Vec<Job>,
    /// Where runs are kept: their directories, history rows and locks, and
    /// the recovery points they made.
    pub runs: Arc<dyn RunStore>,
    /// The compiled `retention/expire` runbook.
    pub retention: Plan,
    /// Fencing recovered VNFs' old sites on its own; `None`: never.
    pub fence: Option<FenceWatch>,
    pub events: Option<UnboundedSender<DaemonEvent>>,
    /// This daemon's membership of a cluster (`cluster` in the
    /// configuration): a due job runs here only when this member owns it.
    /// `None`: a single daemon, every job runs here.
    pub cluster: Option<tokio::sync::Mutex<crate::cluster::Member>>,
    /// What `/metrics` and `/healthz` show of the membership, refreshed
    /// after each sweep (shared with the HTTP listener).
    pub cluster_view: Option<Arc<std::sync::Mutex<crate::cluster::View>>>,
    /// How long after a run with uncertain creates its late twins are
    /// looked for again (`twins_after`); `None`: never.
    pub twins_after: Option<std::time::Duration>,
}

/// `twins_after` by default: an overloaded API's queue drains in minutes.
pub const TWINS_AFTER: std::time::Duration = std::time::Duration::from_secs(600);

/// An ended run whose late twins are to be looked for again.
struct TwinsDue {
    at: DateTime<Utc>,
    job: usize,
    kind: RunKind,
    run_id: String,
    run_dir: PathBuf,
}

struct Live {
    job: usize,
    kind: RunKind,
    /// Its hold on its lock, ended with the run.
    lease: Lease,
    cancel: CancelHandle,
    run_dir: PathBuf,
    retention: Option<RetentionRun>,
    /// In a cluster: the run as etcd records it, and the claim on its job
    /// that fences its writes there.
    shared: Option<(RunRow, i64)>,
    /// The `cleanup` of an ended run looking for its late twins: its end
    /// as recorded stands.
    twins: bool,
}

type Done = Pin<Box<dyn Future<Output = (String, Result<Finished, String>)> + Send>>;

struct Loop<'a> {
    d: &'a Daemon,
    me: Owner,
    live: HashMap<String, Live>,
    running: FuturesUnordered<Done>,
    stopping: bool,
    /// When this loop began: a job taken over that never started since
    /// then and had a due time after it missed that run.
    started: DateTime<Utc>,
    /// In a cluster: the runs as etcd holds them, and this member's claim
    /// on each job it owns (job → fencing token), as last learnt.
    store: Option<SharedRuns>,
    tokens: HashMap<String, i64>,
    /// This member's lease as it knows it, as of its last claim.
    hold: Option<crate::cluster::Hold>,
    /// This member's name: the owner etcd's record of a run names.
    member: String,
    /// The jobs this member owned at its last sweep.
    owned: BTreeSet<String>,
    /// Job → the claim (token) under which this member last looked whether
    /// a due time went unrun, or started it: a claim taken over, or a due
    /// start not recorded, is looked at by the next sweep.
    checked: HashMap<String, i64>,
    /// Recoveries awaiting commit brought here from etcd: run id → the
    /// batches of its journal there (where a decision's journal goes on).
    pending: HashMap<String, u64>,
    /// Ended runs whose late twins are to be looked for again.
    twins_due: Vec<TwinsDue>,
}

/// The retention runbook (`lifeboat run retention/expire` runs it by hand).
pub fn retention_plan() -> Result<Plan, String> {
    lifeboat_dsl::bundled::plan(RETENTION_RUNBOOK_NAME)
}

impl Daemon {
    /// Run until `shutdown` resolves, then stop safely.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), String> {
        let mut lp = Loop {
            d: self,
            me: Owner::me(),
            live: HashMap::new(),
            running: FuturesUnordered::new(),
            stopping: false,
            started: self.clock.now(),
            store: match &self.cluster {
                Some(m) => Some(m.lock().await.runs()),
                None => None,
            },
            tokens: HashMap::new(),
            hold: None,
            member: match &self.cluster {
                Some(m) => m.lock().await.info.name.clone(),
                None => String::new(),
            },
            owned: BTreeSet::new(),
            checked: HashMap::new(),
            pending: HashMap::new(),
            twins_due: Vec::new(),
        };
        // In a cluster the runs left unfinished are in etcd, resumed by
        // whichever member owns their job (see `adopt`), never from a
        // local journal that etcd may have moved past.
        if self.cluster.is_none() {
            lp.resume_interrupted();
        }
        let now = self.clock.now();
        let mut next: Vec<DateTime<Utc>> = Vec::new();
        for j in &self.jobs {
            let last = self.runs.last_start(&j.name).map_err(|e| e.to_string())?;
            let first = match last {
                None if j.run_at_start => now,
                // A fire time passed since the last run: once, now.
                Some(l) if j.due.next_after(l).is_some_and(|n| n <= now) => now,
                _ => j.due.next_after(now).unwrap_or(DateTime::<Utc>::MAX_UTC),
            };
            tracing::info!(job = %j.name, next = %ts(first), "scheduled");
            next.push(first);
        }
        tokio::pin!(shutdown);
        let mut next_fence = match &self.fence {
            Some(_) => now,
            None => DateTime::<Utc>::MAX_UTC,
        };
        // A member claims what placement gives it every half lease: a dead
        // member's jobs are owned again within its lease and this period.
        let sweep_every = match &self.cluster {
            Some(m) => chrono::Duration::milliseconds((m.lock().await.ttl() * 500) as i64),
            None => chrono::Duration::MAX,
        };
        let mut next_sweep = match &self.cluster {
            Some(_) => now,
            None => DateTime::<Utc>::MAX_UTC,
        };
        loop {
            let wake = next
                .iter()
                .copied()
                .min()
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            let twins_at = lp
                .twins_due
                .iter()
                .map(|t| t.at)
                .min()
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.clock.sleep_until(twins_at), if !lp.twins_due.is_empty() => lp.look_for_twins(),
                Some((id, res)) = lp.running.next(), if !lp.running.is_empty() => lp.finished(&id, res).await,
                _ = self.clock.sleep_until(next_fence), if self.fence.is_some() => {
                    if let Some(f) = &self.fence {
                        // One read of the history for both: in a cluster,
                        // etcd's, of the jobs this member owns.
                        let runs = match lp.store.is_some() {
                            true => lp.cluster_recoveries().await,
                            false => lp.d.runs.runs(&crate::history::Query::default()).map_err(|e| e.to_string()),
                        };
                        match runs {
                            Ok(runs) => {
                                lp.decide_overdue(&runs);
                                lp.fence_due(f, &runs).await;
                            }
                            Err(e) => lp.error("-", format!("cannot read the history to look after recoveries: {e}")),
                        }
                        let every = chrono::Duration::from_std(f.every).unwrap_or(chrono::Duration::MAX);
                        next_fence = self.clock.now() + every;
                    }
                }
                _ = self.clock.sleep_until(next_sweep), if self.cluster.is_some() => {
                    let now = self.clock.now();
                    let mut missed = lp.sweep().await;
                    // A due time the wake below has yet to reach is its
                    // own to start, not a missed one to make up twice.
                    missed.retain(|&i| next[i] > now);
                    for i in lp.owns_many(&missed).await {
                        lp.start_job(i, now);
                    }
                    lp.adopt().await;
                    next_sweep = self.clock.now() + sweep_every;
                }
                _ = self.clock.sleep_until(wake) => {
                    let now = self.clock.now();
                    let mut due = Vec::new();
                    for (i, j) in self.jobs.iter().enumerate() {
                        if next[i] <= now && lp.looking_for_twins(i) {
                            // Its last run's late twins are being looked for
                            // under its lock: a minute later, not skipped.
                            next[i] = now + chrono::Duration::minutes(1);
                            continue;
                        }
                        if next[i] <= now {
                            due.push(i);
                            next[i] = j.due.next_after(now).unwrap_or(DateTime::<Utc>::MAX_UTC);
                        }
                    }
                    for i in lp.owns_many(&due).await {
                        lp.start_job(i, now);
                    }
                }
            }
        }
        lp.stopping = true;
        self.emit(DaemonEvent::Stopping {
            live: lp.live.len(),
        });
        tracing::info!(
            live = lp.live.len(),
            "stopping: no new runs; live runs thaw, compensate and clean up"
        );
        for l in lp.live.values() {
            l.cancel.interrupt();
        }
        while let Some((id, res)) = lp.running.next().await {
            lp.finished(&id, res).await;
        }
        Ok(())
    }

    fn emit(&self, e: DaemonEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    fn run_dir(&self, id: &str) -> PathBuf {
        self.runs.dir(id).into_path()
    }
}

impl Loop<'_> {
    fn error(&self, job: &str, message: String) {
        tracing::error!(job, "{message}");
        self.d.emit(DaemonEvent::Error {
            job: job.to_string(),
            message,
        });
    }

    /// Runs of this daemon's jobs whose owner died before their end: resume
    /// each (the executor thaws first and makes nothing twice).
    fn resume_interrupted(&mut self) {
        let rows = match self.d.runs.unfinished() {
            Ok(r) => r,
            Err(e) => return self.error("-", e.to_string()),
        };
        for row in rows {
            if row.kind == RunKind::Manual || Owner::decode(&row.owner).is_some_and(|o| o.alive()) {
                continue;
            }
            let Some(i) = self
                .d
                .jobs
                .iter()
                .position(|j| Some(&j.name) == row.job.as_ref())
            else {
                continue;
            };
            let job = &self.d.jobs[i];
            let dir = PathBuf::from(&row.run_dir);
            let journal = RunDir::at(&dir).journal().unwrap_or_default();
            if let Some(outcome) = journal.iter().rev().find_map(|r| match r {
                Record::RunFinished { outcome } => Some(outcome.word()),
                _ => None,
            }) {
                // It ended (resumed by hand, or the daemon died just after
                // the end): only the history missed it.
                let end = RunEnd {
                    ended: self.d.clock.now(),
                    outcome: outcome.to_string(),
                    ..Default::default()
                };
                let _ = self.d.runs.ended(&row.id, &end);
                if outcome == "succeeded" && row.kind == RunKind::Scheduled {
                    self.after_protect(i, &row.id, &dir);
                }
                continue;
            }
            let key = job.lock_key(row.kind);
            let lease = match Lease::take(&self.d.runs, &key, &row.id, &self.me, self.d.clock.now())
            {
                Ok(Ok((lease, _))) => lease,
                Ok(Err(held)) => {
                    tracing::warn!(job = %job.name, run = %row.id, holder = %held.run_id, "not resumed: its lock is held by a live process");
                    continue;
                }
                Err(e) => return self.error(&job.name, e.to_string()),
            };
            let _ = lease.resumed();
            let retention = if row.kind == RunKind::Retention {
                retention_of(&row.params)
            } else {
                None
            };
            match self.d.launcher.resume(job, &dir, None) {
                Ok(l) => {
                    tracing::info!(job = %job.name, run = %row.id, "resuming an interrupted run");
                    self.d.emit(DaemonEvent::Resumed {
                        job: job.name.clone(),
                        run_id: row.id.clone(),
                    });
                    self.track(
                        row.id.clone(),
                        Live {
                            job: i,
                            kind: row.kind,
                            lease,
                            cancel: l.cancel,
                            run_dir: dir,
                            retention,
                            shared: None,
                            twins: false,
                        },
                        l.done,
                    );
                }
                Err(e) => {
                    self.error(
                        &job.name,
                        format!(
                            "cannot resume run {}: {e} (try `lifeboat resume {}`)",
                            row.id, row.id
                        ),
                    );
                    drop(lease);
                }
            }
        }
    }

    /// Which of the jobs `due` run here now: all of them for a single
    /// daemon; in a cluster, those this member owns (claimed now when
    /// placement names it), each start recorded as the owner — fenced by
    /// the claim, so a member that lost it (paused past its lease) starts
    /// nothing. A member whose lease expired joins again first. The claims
    /// and the starts go to etcd side by side ([`Member::claim_many`]): a
    /// minute that makes hundreds of jobs due waits for a few rounds of
    /// etcd, not one per job. A job not started for want of etcd is made up
    /// by a sweep once etcd answers (see [`Loop::sweep`]).
    ///
    /// [`Member::claim_many`]: crate::cluster::Member::claim_many
    async fn owns_many(&mut self, due: &[usize]) -> Vec<usize> {
        use crate::cluster::{Claim, CLAIMS_AT_ONCE};
        use futures::StreamExt;
        enum Due {
            /// Started under the claim `token`, claimed just now (`fresh`).
            Start {
                token: i64,
                fresh: bool,
            },
            Gone,
            Elsewhere(String),
            Unrecorded(String),
            Unclaimed(String),
        }
        let Some(m) = &self.d.cluster else {
            return due.to_vec();
        };
        if due.is_empty() {
            return vec![];
        }
        let mut m = m.lock().await;
        if !m.is_live() {
            tracing::warn!("cluster lease lost: joining again");
            if let Err(e) = m.rejoin().await {
                tracing::warn!(error = %e, "cluster lease lost, and joining again failed");
            }
        }
        let asks: Vec<(&str, Option<String>)> = due
            .iter()
            .map(|&i| (self.d.jobs[i].name.as_str(), self.d.jobs[i].target_site()))
            .collect();
        let claims: Vec<Result<Claim, String>> = match m.claim_many(&asks).await {
            Ok(c) => c
                .into_iter()
                .map(|c| c.map_err(|e| e.to_string()))
                .collect(),
            Err(e) => due.iter().map(|_| Err(e.to_string())).collect(),
        };
        let at = ts(self.d.clock.now());
        let member = &*m;
        let outcomes: Vec<Due> =
            futures::stream::iter(asks.iter().zip(claims).map(|((job, _), claim)| {
                let at = &at;
                async move {
                    match claim {
                        Err(e) => Due::Unclaimed(e),
                        Ok(Claim::Theirs { member: who })
                        | Ok(Claim::NotMine { preferred: who }) => Due::Elsewhere(who),
                        Ok(Claim::Mine { token }) | Ok(Claim::Claimed { token }) => {
                            let fresh = matches!(claim, Ok(Claim::Claimed { .. }));
                            match member.record_start(job, token, at).await {
                                Ok(true) => Due::Start { token, fresh },
                                Ok(false) => Due::Gone,
                                Err(e) => Due::Unrecorded(e.to_string()),
                            }
                        }
                    }
                }
            }))
            .buffered(CLAIMS_AT_ONCE)
            .collect()
            .await;
        self.hold = Some(m.hold());
        drop(m);
        let mut run = Vec::new();
        for (&i, outcome) in due.iter().zip(outcomes) {
            let job = self.d.jobs[i].name.clone();
            // Started here under a claim it had: nothing of it is missed
            // up to now. Claimed just now, or not started: the next sweep
            // looks at it (a hand-over's note, a due time to make up).
            self.checked.remove(&job);
            match outcome {
                Due::Start { token, fresh } => {
                    self.tokens.insert(job.clone(), token);
                    if !fresh {
                        self.checked.insert(job, token);
                    }
                    run.push(i);
                }
                Due::Gone => tracing::warn!(%job, "not started: this member's claim is gone"),
                Due::Elsewhere(member) => {
                    tracing::debug!(%job, %member, "due, another member's to run");
                    self.d.emit(DaemonEvent::Elsewhere { job, member });
                }
                Due::Unrecorded(e) => self.error(
                    &job,
                    format!("not started: the cluster cannot record its start ({e}); a sweep makes it up once etcd answers"),
                ),
                Due::Unclaimed(e) => self.error(
                    &job,
                    format!("not started: the cluster cannot say who owns it ({e}); a sweep makes it up once etcd answers"),
                ),
            }
        }
        run
    }

    /// Claim every job placement gives this member and nobody owns (a
    /// dead member's, once its lease expired, or one handed here), with one
    /// read of the owners and the claims side by side; hand each job it
    /// owns, between runs, to the member placement names once that member
    /// has stayed live for a few leases (one that joined after this one
    /// claimed everything; one at a recovery's target site). Returns the
    /// jobs whose due time passed unrun: of each job this member owns under
    /// a claim not yet looked at (taken over now, or one whose due start
    /// etcd could not record), a due time since its last start by any
    /// member (or, never started, since this member runs) — the runs to
    /// make up now. A claim is looked at once; when etcd cannot answer, the
    /// next sweep looks again.
    async fn sweep(&mut self) -> Vec<usize> {
        use crate::cluster::{Claim, CLAIMS_AT_ONCE};
        use futures::StreamExt;
        let Some(m) = &self.d.cluster else {
            return vec![];
        };
        let mut m = m.lock().await;
        // A member whose lease expired (etcd out of reach past it) joins
        // again here, not only at its next due time: it may have runs to
        // take back (see `adopt`) long before.
        if !m.is_live() {
            match m.rejoin().await {
                Ok(()) => tracing::warn!("cluster lease lost: joined again"),
                Err(e) => {
                    tracing::warn!(error = %e, "cluster lease lost, and joining again failed: nothing claimed");
                    return vec![];
                }
            }
        }
        let asks: Vec<(&str, Option<String>)> = self
            .d
            .jobs
            .iter()
            .map(|j| (j.name.as_str(), j.target_site()))
            .collect();
        let claims = match m.claim_many(&asks).await {
            Ok(c) => c,
            // Etcd unavailable: nothing is claimed meanwhile.
            Err(e) => {
                tracing::warn!(error = %e, "cluster sweep: nothing claimed");
                if let Some(v) = &self.d.cluster_view {
                    if let Ok(mut v) = v.lock() {
                        v.live = m.is_live();
                        v.lease_age_seconds = m.lease_age();
                    }
                }
                return vec![];
            }
        };
        // The jobs this member owns: job index, token, and whether it was
        // claimed just now.
        let mut mine = Vec::new();
        let mut unanswered = 0;
        self.hold = Some(m.hold());
        self.owned.clear();
        for (i, claim) in claims.into_iter().enumerate() {
            let job = &self.d.jobs[i].name;
            let (token, fresh) = match claim {
                Ok(Claim::Mine { token }) => (token, false),
                Ok(Claim::Claimed { token }) => (token, true),
                Ok(Claim::Theirs { .. }) | Ok(Claim::NotMine { .. }) => continue,
                Err(e) => {
                    unanswered += 1;
                    tracing::debug!(%job, error = %e, "cluster sweep: not claimed");
                    continue;
                }
            };
            self.tokens.insert(job.clone(), token);
            self.owned.insert(job.clone());
            mine.push((i, token, fresh));
        }
        if unanswered > 0 {
            tracing::warn!("cluster sweep: {unanswered} job(s) not claimed (etcd did not answer)");
        }
        // The jobs placement gives a member that has stayed live for a few
        // leases (one that joined after this one claimed them, or one at a
        // recovery's target site) are handed to it between runs: a run
        // going on here keeps its job, its journal fenced by the claim.
        let live_members = m.members().await.ok();
        let mut handed = Vec::new();
        if let Some(live) = &live_members {
            let settled = Utc::now()
                - chrono::Duration::seconds((m.ttl() * crate::cluster::SETTLE_LEASES) as i64);
            let mut handing: Vec<(usize, i64, String)> = mine
                .iter()
                .filter(|(i, ..)| !self.live.values().any(|l| l.job == *i))
                .filter_map(|&(i, token, _)| {
                    let job = &self.d.jobs[i];
                    let to = crate::cluster::placement::hand_to(
                        &job.name,
                        live,
                        job.target_site().as_deref(),
                        &m.info.name,
                        settled,
                    )?;
                    Some((i, token, to.name.clone()))
                })
                .collect();
            // A recovery awaiting its commit stays with its job's owner: an
            // operator may be deciding it there by hand, and the decision
            // reaches etcd under the owner's claim. Unknown (etcd's history
            // unread): it stays too.
            if handing
                .iter()
                .any(|(i, ..)| self.d.jobs[*i].plan.commit.is_some())
            {
                let awaiting: Option<BTreeSet<String>> = match &self.store {
                    Some(store) => store.history().await.ok().map(|rows| {
                        rows.into_iter()
                            .filter(|r| r.outcome.as_deref() == Some("awaiting_commit"))
                            .filter_map(|r| r.job)
                            .collect()
                    }),
                    None => None,
                };
                handing.retain(|(i, ..)| {
                    let job = &self.d.jobs[*i];
                    job.plan.commit.is_none()
                        || awaiting.as_ref().is_some_and(|a| !a.contains(&job.name))
                });
            }
            let member = &*m;
            let released: Vec<_> = futures::stream::iter(
                handing
                    .iter()
                    .map(|(i, token, to)| member.release(&self.d.jobs[*i].name, *token, to)),
            )
            .buffered(CLAIMS_AT_ONCE)
            .collect()
            .await;
            for ((i, _, to), released) in handing.into_iter().zip(released) {
                let job = self.d.jobs[i].name.clone();
                match released {
                    // Handed over, or another's already: not this
                    // member's to start or look at.
                    Ok(gone) => {
                        if gone {
                            handed.push(format!("{job} to {to}"));
                        }
                        mine.retain(|(j, ..)| *j != i);
                        self.owned.remove(&job);
                        self.tokens.remove(&job);
                        self.checked.remove(&job);
                    }
                    Err(e) => {
                        tracing::warn!(%job, %to, error = %e, "cluster: the job not handed over; the next sweep tries again")
                    }
                }
            }
        }
        // The claims to look at: taken over just now, or a due start not
        // recorded.
        let unchecked: Vec<(usize, i64, bool)> = mine
            .into_iter()
            .filter(|(i, token, _)| self.checked.get(&self.d.jobs[*i].name) != Some(token))
            .collect();
        let mut missed = Vec::new();
        let mut taken = Vec::new();
        if !unchecked.is_empty() {
            match m.job_records().await {
                Ok(records) => {
                    let now = self.d.clock.now();
                    let none = crate::cluster::JobRecord::default();
                    // Notes of a hand-over looked at: dropped side by side
                    // once the claims are looked at (a member handed a
                    // third of the jobs reads a hundred at once).
                    let mut noted = Vec::new();
                    for (i, token, fresh) in unchecked {
                        let job = &self.d.jobs[i];
                        let record = records.get(&job.name).unwrap_or(&none);
                        // Since its last start by any member (it had an
                        // owner before: a takeover); never started: since
                        // this member runs (a due time before it is not
                        // this cluster's to make up, as a single daemon
                        // would not either).
                        let last = record.last_start.as_deref().and_then(parse_ts);
                        // Handed here by a live owner: not taken over.
                        let handed_here = record.handed_to.as_deref() == Some(m.info.name.as_str());
                        if fresh && last.is_some() && !handed_here {
                            taken.push(job.name.clone());
                        }
                        if record.handed_to.is_some() {
                            noted.push((i, token));
                        }
                        if job
                            .due
                            .next_after(last.unwrap_or(self.started))
                            .is_some_and(|n| n <= now)
                        {
                            tracing::info!(job = %job.name, "a due time passed while nobody ran it: run now");
                            missed.push(i);
                        }
                        self.checked.insert(job.name.clone(), token);
                    }
                    let member = &*m;
                    let jobs = &self.d.jobs;
                    let forgotten: Vec<_> = futures::stream::iter(
                        noted
                            .iter()
                            .map(|&(i, token)| member.forget_handoff(&jobs[i].name, token)),
                    )
                    .buffered(CLAIMS_AT_ONCE)
                    .collect()
                    .await;
                    for ((i, _), forgotten) in noted.into_iter().zip(forgotten) {
                        if let Err(e) = forgotten {
                            tracing::debug!(job = %jobs[i].name, error = %e, "cluster: the note of a hand-over stays");
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cluster sweep: the last starts unread; the claims are looked at again next sweep")
                }
            }
        }
        if !taken.is_empty() {
            tracing::info!(jobs = ?taken, "cluster: took over {} job(s)", taken.len());
        }
        if !handed.is_empty() {
            tracing::info!(jobs = ?handed, "cluster: handed {} job(s) to the members placement names", handed.len());
        }
        let members = live_members.map(|l| l.len()).unwrap_or(0);
        if let Some(v) = &self.d.cluster_view {
            if let Ok(mut v) = v.lock() {
                v.member = m.info.name.clone();
                v.site = m.info.site.clone();
                v.live = m.is_live();
                v.lease_ttl_seconds = m.ttl();
                v.lease_age_seconds = m.lease_age();
                v.owned = self.owned.len();
                v.members = members;
                v.takeovers += taken.len() as u64;
                v.handoffs += handed.len() as u64;
            }
        }
        missed
    }

    /// In a cluster: the runs of the jobs this member owns, as etcd records
    /// them (any member's), for the commit deadlines and the fencing after
    /// a recovery. Each recovery awaiting commit is brought into a run
    /// directory here from etcd (its plan and journal), so that this member
    /// can decide it when its deadline passes.
    async fn cluster_recoveries(&mut self) -> Result<Vec<RunRow>, String> {
        let Some(store) = self.store.clone() else {
            return Ok(vec![]);
        };
        let all = store.history().await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for mut row in all {
            if !row.job.as_ref().is_some_and(|j| self.owned.contains(j)) {
                continue;
            }
            if row.outcome.as_deref() == Some("awaiting_commit") && !self.live.contains_key(&row.id)
            {
                let dir = self.d.run_dir(&row.id);
                // Held while this member reads the run here and brings
                // etcd's copy: `lifeboat commit` / `rollback` takes the same
                // lock, so a decision being written by hand is never
                // overwritten by etcd's older copy. Held by such a command
                // right now: the run is looked at again next time.
                let key = crate::deadline::decide_key(&row.id);
                let _lease =
                    match Lease::take(&self.d.runs, &key, &row.id, &self.me, self.d.clock.now()) {
                        Ok(Ok((lease, _))) => lease,
                        Ok(Err(_)) => continue,
                        Err(e) => return Err(e.to_string()),
                    };
                // Decided by hand here (`lifeboat commit` or `rollback` in
                // this member's run directory): etcd learns that end, and
                // the copy there never overwrites the decision.
                if let Some(end) = decided_here(&dir) {
                    let job = row.job.clone().unwrap_or_default();
                    if let Some(&token) = self.tokens.get(&job) {
                        let ended = RunRow {
                            outcome: Some(end.to_string()),
                            ended: Some(ts(self.d.clock.now())),
                            ..row.clone()
                        };
                        match store.finish(&job, token, &ended).await {
                            Ok(true) => {
                                tracing::info!(run = %row.id, outcome = end, "a decision taken by hand, recorded in etcd")
                            }
                            Ok(false) => {
                                tracing::warn!(run = %row.id, "a decision taken by hand not recorded in etcd: this member's claim on the job is gone")
                            }
                            Err(e) => {
                                tracing::warn!(run = %row.id, error = %e, "cannot record in etcd a decision taken by hand")
                            }
                        }
                    }
                    row.outcome = Some(end.to_string());
                    row.run_dir = dir.display().to_string();
                    out.push(row);
                    continue;
                }
                match store.fetch(&row.id).await {
                    Ok(Some(f)) if !f.journal.is_empty() => {
                        if let Err(e) = RunDir::at(&dir).materialize(&f.plan, &f.journal, &key) {
                            self.error("-", format!("run {}: {e}", row.id));
                            continue;
                        }
                        self.pending.insert(row.id.clone(), f.batches);
                        row.run_dir = dir.display().to_string();
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Resume each run left unfinished in etcd whose job this member owns
    /// and that does not go on here: its owner died (or was deposed)
    /// mid-way. Its plan and journal come from etcd into a run directory
    /// here; the executor's resume thaws first and makes nothing twice;
    /// its journal goes on in etcd, fenced by this member's claim.
    async fn adopt(&mut self) {
        use crate::cluster::Claim;
        if self.stopping {
            return;
        }
        let (Some(store), Some(m)) = (self.store.clone(), &self.d.cluster) else {
            return;
        };
        let runs = match store.unfinished().await {
            Ok(r) => r,
            Err(e) => return tracing::warn!(error = %e, "cluster: cannot list the runs going on"),
        };
        for (id, job_name) in runs {
            if self.live.contains_key(&id) {
                continue;
            }
            let Some(i) = self.d.jobs.iter().position(|j| j.name == job_name) else {
                continue;
            };
            let job = &self.d.jobs[i];
            let (token, hold) = {
                let m = m.lock().await;
                match m.claim(&job.name, job.target_site().as_deref()).await {
                    Ok(Claim::Mine { token }) | Ok(Claim::Claimed { token }) => (token, m.hold()),
                    Ok(_) => continue,
                    Err(e) => return tracing::warn!(error = %e, "cluster: cannot claim"),
                }
            };
            self.tokens.insert(job.name.clone(), token);
            // Its lease renewed since etcd came back, or the resumed run
            // would stop at its first call.
            if hold.check().is_err() {
                continue;
            }
            let fetched = match store.fetch(&id).await {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                Err(e) => {
                    return tracing::warn!(error = %e, run = %id, "cluster: cannot read the run")
                }
            };
            let dir = self.d.run_dir(&id);
            let key = job.lock_key(fetched.row.kind);
            if let Err(e) = RunDir::at(&dir).materialize(&fetched.plan, &fetched.journal, &key) {
                self.error(&job.name, format!("cannot take over run {id}: {e}"));
                continue;
            }
            let lease = match Lease::take(&self.d.runs, &key, &id, &self.me, self.d.clock.now()) {
                Ok(Ok((lease, _))) => lease,
                Ok(Err(held)) => {
                    tracing::warn!(job = %job.name, run = %id, holder = %held.run_id, "not taken over yet: its lock here is held by a live run");
                    continue;
                }
                Err(e) => return self.error(&job.name, e.to_string()),
            };
            let (replica, row) = match self.take_over(i, &fetched.row, token, hold, fetched.batches)
            {
                Ok(r) => r,
                // The lease, dropped, releases the lock.
                Err(e) => return self.error(&self.d.jobs[i].name, e),
            };
            let job = &self.d.jobs[i];
            let retention = if fetched.row.kind == RunKind::Retention {
                retention_of(&fetched.row.params)
            } else {
                None
            };
            match self.d.launcher.resume(job, &dir, Some(replica)) {
                Ok(l) => {
                    tracing::warn!(job = %job.name, run = %id, started_by = %fetched.row.owner, "cluster: took over a run left unfinished; resuming it");
                    self.d.emit(DaemonEvent::Resumed {
                        job: job.name.clone(),
                        run_id: id.clone(),
                    });
                    if let Some(v) = &self.d.cluster_view {
                        if let Ok(mut v) = v.lock() {
                            v.runs_taken_over += 1;
                        }
                    }
                    self.track(
                        id,
                        Live {
                            job: i,
                            kind: fetched.row.kind,
                            lease,
                            cancel: l.cancel,
                            run_dir: dir,
                            retention,
                            shared: Some((row, token)),
                            twins: false,
                        },
                        l.done,
                    );
                }
                Err(e) => {
                    drop(lease);
                    self.error(&job.name, format!("cannot resume run {id} taken over: {e}"));
                }
            }
        }
    }

    fn track(&mut self, id: String, live: Live, done: crate::launcher::RunFuture) {
        self.live.insert(id.clone(), live);
        self.running.push(Box::pin(async move { (id, done.await) }));
    }

    fn start_job(&mut self, i: usize, now: DateTime<Utc>) {
        let job = &self.d.jobs[i];
        let plan = job.plan.clone();
        let mut params = job.params.clone();
        if let Some(n) = job.full_every {
            match (
                self.d.runs.points(&job.name),
                self.d.runs.backups(&job.name),
            ) {
                (Ok(p), Ok(b)) if crate::retention::chain::next_is_full(n, &p, &b) => {
                    tracing::info!(job = %job.name, full_every = n, "the chain is full: this protect makes full backups");
                    params.insert("full".into(), serde_json::Value::Bool(true));
                }
                (Ok(_), Ok(_)) => {}
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(job = %job.name, "chain length unknown, protect stays incremental: {e}")
                }
            }
        }
        self.launch(i, RunKind::Scheduled, job.key(), &plan, &params, None, now);
    }

    #[allow(clippy::too_many_arguments)]
    fn launch(
        &mut self,
        i: usize,
        kind: RunKind,
        key: String,
        plan: &Plan,
        params: &serde_json::Map<String, serde_json::Value>,
        retention: Option<RetentionRun>,
        now: DateTime<Utc>,
    ) {
        let job = &self.d.jobs[i];
        let id = new_run_id();
        let lease = match Lease::take(&self.d.runs, &key, &id, &self.me, now) {
            Ok(Ok((lease, Acquired::Fresh))) => lease,
            Ok(Ok((lease, Acquired::TakenOver { run_id }))) => {
                tracing::warn!(job = %job.name, stale = %run_id, "took over a stale lock (its run is not resumable here)");
                lease
            }
            Ok(Err(held)) => {
                tracing::warn!(job = %job.name, running = %held.run_id, "due, but its previous run still goes on: skipped");
                self.d.emit(DaemonEvent::Skipped {
                    job: job.name.clone(),
                    running: held.run_id,
                });
                return;
            }
            Err(e) => return self.error(&job.name, e.to_string()),
        };
        let dir = self.d.run_dir(&id);
        // The runbook's name, as its journal and `lifeboat run` name it.
        let runbook = plan.runbook.clone();
        let rec = NewRun {
            id: id.clone(),
            runbook,
            job: Some(job.name.clone()),
            kind,
            params: params.clone(),
            cloud: job.cloud.clone(),
            run_dir: dir.clone(),
            started: now,
            owner: self.me.clone(),
        };
        // In a cluster the run's journal is kept in etcd too, fenced by
        // this member's claim on the job: written before each effect.
        let (replica, shared) = match &self.store {
            None => (None, None),
            Some(store) => {
                let (Some(&token), Some(hold)) = (self.tokens.get(&job.name), self.hold.clone())
                else {
                    drop(lease);
                    return self.error(
                        &job.name,
                        format!(
                            "run not started: this member holds no claim on job {}",
                            job.name
                        ),
                    );
                };
                let row = RunRow {
                    owner: self.member.clone(),
                    ..rec.row()
                };
                let plan_json = serde_json::to_vec(plan).expect("a plan serializes");
                let r = store.replica(
                    hold,
                    &job.name,
                    token,
                    Begin::New {
                        row: &row,
                        plan: &plan_json,
                    },
                );
                let r: Arc<dyn lifeboat_exec::journal::Replica> = Arc::new(r);
                (Some(r), Some((row, token)))
            }
        };
        if let Err(e) = lease.started(&rec) {
            drop(lease);
            return self.error(&job.name, e.to_string());
        }
        // Retention and fence runs were authorised by the job's
        // configuration, and every run of a job configured `approved`.
        let approved = matches!(kind, RunKind::Retention | RunKind::Fence) || job.approved;
        match self
            .d
            .launcher
            .start(job, plan, params, &id, &dir, approved, replica)
        {
            Ok(l) => {
                tracing::info!(job = %job.name, run = %id, kind = kind.as_str(), "run started");
                self.d.emit(DaemonEvent::Started {
                    job: job.name.clone(),
                    run_id: id.clone(),
                    kind,
                });
                self.track(
                    id,
                    Live {
                        job: i,
                        kind,
                        lease,
                        cancel: l.cancel,
                        run_dir: dir,
                        retention,
                        shared,
                        twins: false,
                    },
                    l.done,
                );
            }
            Err(e) => {
                let end = RunEnd {
                    ended: self.d.clock.now(),
                    outcome: "failed".into(),
                    ..Default::default()
                };
                let _ = lease.end(&end);
                self.error(&job.name, format!("run {id} could not start: {e}"));
            }
        }
    }

    async fn finished(&mut self, id: &str, res: Result<Finished, String>) {
        let Some(l) = self.live.remove(id) else {
            return;
        };
        let job = &self.d.jobs[l.job];
        if l.twins {
            // The run's end as recorded stands; its lock goes with the lease.
            let left = match &res {
                Ok(f) => f.left_behind,
                Err(e) => {
                    self.error(&job.name, format!("run {id}: looking for its late twins again: {e} (`lifeboat cleanup {id}`)"));
                    true
                }
            };
            tracing::info!(job = %job.name, run = %id, left, "late twins looked for again");
            self.d.emit(DaemonEvent::TwinsSought {
                job: job.name.clone(),
                run_id: id.to_string(),
                left,
            });
            return;
        }
        let f = res.unwrap_or_else(|e| {
            self.error(&job.name, format!("run {id}: {e}"));
            Finished {
                outcome: "failed".into(),
                // What it left is for a resume to settle.
                resumable: true,
                ..Default::default()
            }
        });
        let end = RunEnd {
            ended: self.d.clock.now(),
            outcome: f.outcome.clone(),
            duration_ms: f.duration_ms,
            rpo_point: f.rpo_point.clone(),
            quiesce_ms: f.quiesce_ms,
            bytes: f.bytes,
        };
        if let Err(e) = l.lease.end(&end) {
            self.error(&job.name, e.to_string());
        }
        if let (Some(store), Some((row, token))) = (&self.store, l.shared) {
            if f.resumable {
                // Stopped short (deposed, its hold lapsed, or a second
                // interrupt): left in etcd, resumed by its job's owner.
                tracing::warn!(job = %job.name, run = %id, "the run stopped short of its end: left in etcd for its job's owner to resume");
                return;
            }
            match store.finish(&job.name, token, &row.ended(&end)).await {
                Ok(true) => {}
                Ok(false) => {
                    // Deposed: the member that owns the job now resumes the
                    // run from etcd and records its end.
                    tracing::warn!(job = %job.name, run = %id, "the run is another member's now: its end is theirs to record");
                    return;
                }
                Err(e) => self.error(
                    &job.name,
                    format!("run {id} ended {}, but etcd could not record it ({e}); the job's owner will resume it, which finds it ended", end.outcome),
                ),
            }
        }
        tracing::info!(job = %job.name, run = %id, outcome = %f.outcome, "run ended");
        // A recovery awaiting commit is looked after by its decision (a
        // rollback's cleanup looks for twins again); a run that stopped
        // short, by its resume.
        if f.outcome != "awaiting_commit" && !f.resumable {
            self.twins_later(l.job, l.kind, id, &l.run_dir);
        }
        self.d.emit(DaemonEvent::Finished {
            job: job.name.clone(),
            run_id: id.to_string(),
            kind: l.kind,
            outcome: f.outcome.clone(),
        });
        if f.outcome != "succeeded" {
            return;
        }
        match l.kind {
            RunKind::Fence => {}
            RunKind::Retention => {
                if let Some(r) = &l.retention {
                    if let Err(e) =
                        self.d
                            .runs
                            .expired(&r.manifests, &r.backups, self.d.clock.now())
                    {
                        self.error(&job.name, e.to_string());
                    }
                }
            }
            RunKind::Scheduled if !self.stopping => self.after_protect(l.job, id, &l.run_dir),
            _ => {}
        }
    }

    /// An ended run whose journal has uncertain outcomes: its late twins
    /// are looked for again `twins_after` from now.
    fn twins_later(&mut self, job: usize, kind: RunKind, id: &str, dir: &Path) {
        let Some(after) = self.d.twins_after else {
            return;
        };
        if self.store.is_some() {
            // In a cluster a run's journal goes on in etcd, fenced by the
            // job's claim: a cleanup from here would write beside it.
            tracing::info!(run = %id, "in a cluster, late twins are looked for at the run's end only: `lifeboat cleanup {id}` looks again");
            return;
        }
        let uncertain = RunDir::at(dir).journal().is_ok_and(|j| {
            j.iter().any(|r| {
                matches!(
                    r,
                    Record::StepOutcome {
                        uncertain: true,
                        ..
                    }
                )
            })
        });
        if uncertain && !self.stopping {
            let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
            self.twins_due.push(TwinsDue {
                at: self.d.clock.now() + after,
                job,
                kind,
                run_id: id.to_string(),
                run_dir: dir.to_path_buf(),
            });
        }
    }

    /// Whether a cleanup looking for late twins of job `job`'s runs goes on.
    fn looking_for_twins(&self, job: usize) -> bool {
        self.live.values().any(|l| l.job == job && l.twins)
    }

    /// The `cleanup` of each ended run whose late twins are due, when its
    /// job's lock is free (else a minute later: the job's next run holds it).
    fn look_for_twins(&mut self) {
        let now = self.d.clock.now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.twins_due)
            .into_iter()
            .partition(|t| t.at <= now);
        self.twins_due = later;
        for t in due {
            if self.stopping || self.live.contains_key(&t.run_id) {
                continue;
            }
            let job = &self.d.jobs[t.job];
            let key = job.lock_key(t.kind);
            let lease = match Lease::take(&self.d.runs, &key, &t.run_id, &self.me, now) {
                Ok(Ok((lease, _))) => lease,
                Ok(Err(_)) => {
                    self.twins_due.push(TwinsDue {
                        at: now + chrono::Duration::minutes(1),
                        ..t
                    });
                    continue;
                }
                Err(e) => {
                    self.error(&job.name, e.to_string());
                    continue;
                }
            };
            match self.d.launcher.cleanup(job, &t.run_dir) {
                Ok(l) => self.track(
                    t.run_id.clone(),
                    Live {
                        job: t.job,
                        kind: t.kind,
                        lease,
                        cancel: l.cancel,
                        run_dir: t.run_dir,
                        retention: None,
                        shared: None,
                        twins: true,
                    },
                    l.done,
                ),
                Err(e) => self.error(
                    &job.name,
                    format!(
                        "run {}: its late twins could not be looked for again: {e} (`lifeboat cleanup {}`)",
                        t.run_id, t.run_id
                    ),
                ),
            }
        }
    }

    /// Record the point a successful run made; expire what the policy says.
    fn after_protect(&mut self, i: usize, run_id: &str, dir: &Path) {
        let job = &self.d.jobs[i];
        let journal = match RunDir::at(dir).journal() {
            Ok(j) => j,
            // Without a policy a point is only a figure for the metrics.
            Err(_) if job.policy.is_none() => return,
            Err(e) => return self.error(&job.name, format!("run {run_id}: {e}")),
        };
        let Some(made) = points::made_point(&journal) else {
            return;
        };
        let taken = parse_ts(&made.taken)
            .map(ts)
            .unwrap_or_else(|| ts(self.d.clock.now()));
        let backup_site = made
            .backups
            .first()
            .map(|b| b.site.clone())
            .unwrap_or_default();
        let point = PointRow {
            run_id: made.run_id.clone(),
            job: job.name.clone(),
            vnf: made.vnf.clone(),
            taken,
            manifest_site: made.manifest_site.clone(),
            backup_site: backup_site.clone(),
            expired: None,
        };
        let backups: Vec<BackupRow> = made
            .backups
            .iter()
            .map(|b| BackupRow {
                id: b.id.clone(),
                point: made.run_id.clone(),
                parent: b.parent.clone(),
                origin: b.origin.clone(),
                site: b.site.clone(),
                deleted: None,
            })
            .collect();
        if let Err(e) = self.d.runs.add_point(&point, &backups) {
            return self.error(&job.name, e.to_string());
        }
        let Some(pol) = job.policy else { return };
        let (pts, bks) = match (
            self.d.runs.points(&job.name),
            self.d.runs.backups(&job.name),
        ) {
            (Ok(p), Ok(b)) => (p, b),
            (Err(e), _) | (_, Err(e)) => return self.error(&job.name, e.to_string()),
        };
        let in_use = self.in_use(&made.vnf);
        let pp: Vec<policy::Point> = pts
            .iter()
            .filter_map(|p| {
                Some(policy::Point {
                    id: p.run_id.clone(),
                    taken: parse_ts(&p.taken)?,
                    good: true,
                })
            })
            .collect();
        let bb: Vec<policy::Backup> = bks
            .iter()
            .map(|b| policy::Backup {
                id: b.id.clone(),
                point: b.point.clone(),
                parent: b.parent.clone(),
            })
            .collect();
        let decision = policy::decide(&pp, &bb, &pol, job.due.tz(), &in_use);
        self.d.emit(DaemonEvent::Retention {
            job: job.name.clone(),
            decision: decision.clone(),
        });
        let Some(run) =
            RetentionRun::from_decision(&decision, &made.vnf, &backup_site, &made.manifest_site)
        else {
            return;
        };
        tracing::info!(job = %job.name, expire = run.manifests.len(), backups = run.backups.len(), "retention run");
        let plan = self.d.retention.clone();
        let params = run.params();
        let key = job.retention_key();
        self.launch(
            i,
            RunKind::Retention,
            key,
            &plan,
            &params,
            Some(run),
            self.d.clock.now(),
        );
    }

    /// Resume each recovery past its commit deadline: it takes its default
    /// (see [`crate::deadline`]).
    fn decide_overdue(&mut self, runs: &[crate::history::RunRow]) {
        if self.stopping {
            return;
        }
        let now = self.d.clock.now();
        let due = crate::deadline::overdue(runs, &self.d.jobs, now);
        for o in due {
            if self.live.contains_key(&o.run.id) {
                continue;
            }
            let key = o.key();
            let lease = match Lease::take(&self.d.runs, &key, &o.run.id, &self.me, now) {
                Ok(Ok((lease, _))) => lease,
                // `lifeboat commit` / `rollback` is deciding it right now.
                Ok(Err(_)) => continue,
                Err(e) => return self.error("-", e.to_string()),
            };
            let job = &self.d.jobs[o.job];
            let dir = PathBuf::from(&o.run.run_dir);
            // In a cluster the decision's journal goes on in etcd, fenced
            // by this member's claim on the job, and the run is recorded
            // here (another member may have run it).
            let (replica, shared) = match self.cluster_decision(o.job, &o.run) {
                Ok(r) => r,
                Err(e) => {
                    drop(lease);
                    self.error(&job.name, e);
                    continue;
                }
            };
            tracing::warn!(run = %o.run.id, default = o.default.as_str(), "the commit deadline passed: the runbook's default is applied");
            match self.d.launcher.resume(job, &dir, replica) {
                Ok(l) => {
                    let _ = lease.resumed();
                    self.d.emit(DaemonEvent::Resumed {
                        job: job.name.clone(),
                        run_id: o.run.id.clone(),
                    });
                    self.track(
                        o.run.id.clone(),
                        Live {
                            job: o.job,
                            kind: o.run.kind,
                            lease,
                            cancel: l.cancel,
                            run_dir: dir,
                            retention: None,
                            shared,
                            twins: false,
                        },
                        l.done,
                    );
                }
                Err(e) => {
                    drop(lease);
                    self.error(
                        &job.name,
                        format!(
                            "the commit deadline of run {} passed, but it could not be resumed: {e} (`lifeboat {} {}` decides it)",
                            o.run.id,
                            o.default.as_str(),
                            o.run.id
                        ),
                    );
                }
            }
        }
    }

    /// In a cluster, for deciding `run` (a recovery awaiting commit brought
    /// here from etcd by `cluster_recoveries`): its journal's replica and
    /// what `finished` records in etcd; recorded in this member's history.
    /// `(None, None)` for a single daemon.
    #[allow(clippy::type_complexity)]
    fn cluster_decision(
        &mut self,
        job: usize,
        run: &RunRow,
    ) -> Result<
        (
            Option<Arc<dyn lifeboat_exec::journal::Replica>>,
            Option<(RunRow, i64)>,
        ),
        String,
    > {
        if self.store.is_none() {
            return Ok((None, None));
        }
        let name = &self.d.jobs[job].name;
        let (Some(&token), Some(hold), Some(&batches)) = (
            self.tokens.get(name),
            self.hold.clone(),
            self.pending.get(&run.id),
        ) else {
            return Err(format!(
                "run {}: its commit deadline passed, but this member cannot decide it (no claim on job {name}, or its journal is not here)",
                run.id
            ));
        };
        let (replica, row) = self.take_over(job, run, token, hold, batches)?;
        Ok((Some(replica), Some((row, token))))
    }

    /// Run `run` (etcd's record of it) taken over by this member in its
    /// run directory here: recorded in this member's history, and its
    /// journal's replica, whose first batch rewrites etcd's record naming
    /// this member (the outcome as `run` says: none for a run going on,
    /// awaiting commit for a decision). `batches`: its journal's in etcd.
    fn take_over(
        &mut self,
        job: usize,
        run: &RunRow,
        token: i64,
        hold: crate::cluster::Hold,
        batches: u64,
    ) -> Result<(Arc<dyn lifeboat_exec::journal::Replica>, RunRow), String> {
        let (Some(store), j) = (&self.store, &self.d.jobs[job]) else {
            return Err("not in a cluster".into());
        };
        let dir = self.d.run_dir(&run.id);
        let rec = NewRun {
            id: run.id.clone(),
            runbook: run.runbook.clone(),
            job: Some(j.name.clone()),
            kind: run.kind,
            params: run.params.as_object().cloned().unwrap_or_default(),
            cloud: run.cloud.clone(),
            run_dir: dir.clone(),
            started: parse_ts(&run.started).unwrap_or_else(|| self.d.clock.now()),
            owner: self.me.clone(),
        };
        self.d.runs.started(&rec).map_err(|e| e.to_string())?;
        let row = RunRow {
            owner: self.member.clone(),
            run_dir: dir.display().to_string(),
            ..run.clone()
        };
        let replica = store.replica(
            hold,
            &j.name,
            token,
            Begin::TakenOver { row: &row, batches },
        );
        Ok((Arc::new(replica), row))
    }

    /// Fence each old site owed a fence that answers again (see [`crate::fence`]).
    async fn fence_due(&mut self, f: &FenceWatch, runs: &[crate::history::RunRow]) {
        if self.stopping {
            return;
        }
        let owed = crate::fence::pending(runs, &self.d.jobs);
        for p in owed {
            let job = &self.d.jobs[p.job];
            let probe = self.d.launcher.probe(job, &p.site);
            let answers = tokio::time::timeout(std::time::Duration::from_secs(15), probe)
                .await
                .unwrap_or(false);
            if !answers {
                tracing::debug!(vnf = %p.vnf, site = %p.site, recovery = %p.recovery, "the old site does not answer yet: fence later");
                continue;
            }
            tracing::warn!(vnf = %p.vnf, site = %p.site, recovery = %p.recovery, "the old site answers again: fencing its copies of the recovered VNF");
            let plan = f.plan.clone();
            self.launch(
                p.job,
                RunKind::Fence,
                p.key(),
                &plan,
                &p.params(),
                None,
                self.d.clock.now(),
            );
        }
    }

    /// Points that running runs of `vnf` read (a recover importing them).
    fn in_use(&self, vnf: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for row in self.d.runs.unfinished().unwrap_or_default() {
            if row.status() != "running"
                || row.params.get("vnf").and_then(|v| v.as_str()) != Some(vnf)
            {
                continue;
            }
            if let Ok(j) = RunDir::at(&row.run_dir).journal() {
                if let Some(p) = points::read_point(&j) {
                    out.insert(p);
                }
            }
        }
        out
    }
}

/// How the run in `dir` ended, when its journal here says it was decided
/// (committed or rolled back) — by hand, past what etcd knows.
fn decided_here(dir: &Path) -> Option<&'static str> {
    let end = RunDir::at(dir).ending()?;
    (!end.is_awaiting_commit()).then(|| end.word())
}

fn retention_of(params: &serde_json::Value) -> Option<RetentionRun> {
    let s = |k: &str| {
        params
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let l = |k: &str| -> Vec<String> {
        params
            .get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(RetentionRun {
        vnf: s("vnf"),
        backup_site: s("from"),
        manifest_site: s("to"),
        manifests: l("manifests"),
        backups: l("backups"),
    })
}
