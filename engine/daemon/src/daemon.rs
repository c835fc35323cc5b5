//! The daemon's loop: start each job when it is due, never two runs of the
//! same job at once, retention after each successful protect, resume what a
//! crashed daemon left, stop safely.
//!
//! ```text
//! start ─ resume interrupted runs of its jobs (dead owner, no end) ─┐
//!         first due per job: a missed fire time → now (once);       │
//!         never ran + run_at_start → now; else the next fire time   ▼
//! loop ── shutdown ──────────────▶ stop: interrupt live runs (thaw, compensate), wait, exit
//!     ├── a run ended ───────────▶ history end, unlock; protect ok → retention run
//!     └── clock reaches a due ───▶ lock free? start : skip (overlap); next = next fire after now
//! ```
//!
//! Every time comes from the [`Clock`]; runs are started and resumed by the
//! [`Launcher`]; everything durable is in the [`History`].

use crate::clock::Clock;
use crate::fence::FenceWatch;
use crate::history::{parse_ts, ts, BackupRow, History, NewRun, PointRow, RunEnd, RunKind};
use crate::job::Job;
use crate::launcher::{Finished, Launcher};
use crate::lock::Acquired;
use crate::owner::Owner;
use crate::points;
use crate::retention::plan::{RetentionRun, RETENTION_FILE};
use crate::retention::policy::{self, Decision};
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
    pub state_dir: PathBuf,
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
}

struct Live {
    job: usize,
    kind: RunKind,
    key: String,
    cancel: CancelHandle,
    run_dir: PathBuf,
    retention: Option<RetentionRun>,
}

type Done = Pin<Box<dyn Future<Output = (String, Result<Finished, String>)> + Send>>;

struct Loop<'a> {
    d: &'a Daemon,
    h: History,
    me: Owner,
    live: HashMap<String, Live>,
    running: FuturesUnordered<Done>,
    stopping: bool,
    /// When this loop began: a job taken over that never started since
    /// then and had a due time after it missed that run.
    started: DateTime<Utc>,
}

/// The retention runbook's text, embedded (it is not one of the options'
/// bundled runbooks; `lifeboat run workflows/retention/expire.dr` runs it by hand).
pub const RETENTION_SOURCE: &str = include_str!("../../../workflows/retention/expire.dr");

/// Compile the embedded retention runbook.
pub fn retention_plan() -> Result<Plan, String> {
    let c = lifeboat_dsl::compiler::compile_text(
        RETENTION_FILE,
        RETENTION_SOURCE,
        &lifeboat_dsl::loader::BundledLoader,
    );
    if c.has_errors() {
        return Err(format!("the embedded {RETENTION_FILE} does not compile"));
    }
    c.plan(None).cloned()
}

impl Daemon {
    /// Run until `shutdown` resolves, then stop safely.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<(), String> {
        let h = History::open(&self.state_dir).map_err(|e| e.to_string())?;
        let mut lp = Loop {
            d: self,
            h,
            me: Owner::me(),
            live: HashMap::new(),
            running: FuturesUnordered::new(),
            stopping: false,
            started: self.clock.now(),
        };
        lp.resume_interrupted();
        let now = self.clock.now();
        let mut next: Vec<DateTime<Utc>> = Vec::new();
        for j in &self.jobs {
            let last = lp.h.last_start(&j.name).map_err(|e| e.to_string())?;
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
            tokio::select! {
                _ = &mut shutdown => break,
                Some((id, res)) = lp.running.next(), if !lp.running.is_empty() => lp.finished(&id, res),
                _ = self.clock.sleep_until(next_fence), if self.fence.is_some() => {
                    if let Some(f) = &self.fence {
                        // One read of the history for both.
                        match lp.h.runs(&crate::history::Query::default()) {
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
                    for i in lp.sweep().await {
                        if lp.owns(&self.jobs[i]).await {
                            lp.start_job(i, now);
                        }
                    }
                    next_sweep = self.clock.now() + sweep_every;
                }
                _ = self.clock.sleep_until(wake) => {
                    let now = self.clock.now();
                    for (i, j) in self.jobs.iter().enumerate() {
                        if next[i] <= now {
                            if lp.owns(j).await {
                                lp.start_job(i, now);
                            }
                            next[i] = j.due.next_after(now).unwrap_or(DateTime::<Utc>::MAX_UTC);
                        }
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
            lp.finished(&id, res);
        }
        Ok(())
    }

    fn emit(&self, e: DaemonEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    fn run_dir(&self, id: &str) -> PathBuf {
        self.state_dir.join("runs").join(id)
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
        let rows = match self.h.unfinished() {
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
            let journal = lifeboat_exec::read_journal(&dir).unwrap_or_default();
            if let Some(outcome) = journal.iter().rev().find_map(|r| match r {
                Record::RunFinished { outcome } => Some(outcome_word(outcome)),
                _ => None,
            }) {
                // It ended (resumed by hand, or the daemon died just after
                // the end): only the history missed it.
                let end = RunEnd {
                    ended: self.d.clock.now(),
                    outcome: outcome.to_string(),
                    ..Default::default()
                };
                let _ = self.h.record_end(&row.id, &end);
                if outcome == "succeeded" && row.kind == RunKind::Scheduled {
                    self.after_protect(i, &row.id, &dir);
                }
                continue;
            }
            let key = match row.kind {
                RunKind::Retention => job.retention_key(),
                RunKind::Fence => crate::fence::fence_key(job.vnf().unwrap_or_default()),
                _ => job.key(),
            };
            match self.h.try_lock(&key, &row.id, &self.me, self.d.clock.now()) {
                Ok(Ok(_)) => {}
                Ok(Err(held)) => {
                    tracing::warn!(job = %job.name, run = %row.id, holder = %held.run_id, "not resumed: its lock is held by a live process");
                    continue;
                }
                Err(e) => return self.error(&job.name, e.to_string()),
            }
            let _ = self.h.take_over(&row.id, &self.me);
            let retention = if row.kind == RunKind::Retention {
                retention_of(&row.params)
            } else {
                None
            };
            match self.d.launcher.resume(job, &dir) {
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
                            key,
                            cancel: l.cancel,
                            run_dir: dir,
                            retention,
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
                    let _ = self.h.unlock(&key, &row.id);
                }
            }
        }
    }

    /// Whether `job` runs here: always for a single daemon; in a cluster,
    /// when this member owns it (claimed now when placement names it). A
    /// member whose lease expired joins again first; without etcd (no
    /// quorum, no member answering) nothing starts — the next due time
    /// tries again.
    async fn owns(&self, job: &Job) -> bool {
        use crate::cluster::{Claim, ClusterError};
        let Some(m) = &self.d.cluster else {
            return true;
        };
        let mut m = m.lock().await;
        let target = job.target_site();
        let mut claim = m.claim(&job.name, target.as_deref()).await;
        if let Err(ClusterError::Lost) = claim {
            tracing::warn!("cluster lease lost: joining again");
            claim = match m.rejoin().await {
                Ok(()) => m.claim(&job.name, target.as_deref()).await,
                Err(e) => Err(e),
            };
        }
        match claim {
            // The start is recorded as the owner, fenced by the claim: a
            // member that lost it (paused past its lease) starts nothing.
            Ok(Claim::Mine { token }) | Ok(Claim::Claimed { token }) => {
                match m
                    .record_start(&job.name, token, &ts(self.d.clock.now()))
                    .await
                {
                    Ok(true) => true,
                    Ok(false) => {
                        tracing::warn!(job = %job.name, "not started: this member's claim is gone");
                        false
                    }
                    Err(e) => {
                        self.error(
                            &job.name,
                            format!("not started: the cluster cannot record its start ({e}); the next due time tries again"),
                        );
                        false
                    }
                }
            }
            Ok(Claim::Theirs { member }) | Ok(Claim::NotMine { preferred: member }) => {
                tracing::debug!(job = %job.name, %member, "due, another member's to run");
                self.d.emit(DaemonEvent::Elsewhere {
                    job: job.name.clone(),
                    member,
                });
                false
            }
            Err(e) => {
                self.error(
                    &job.name,
                    format!("not started: the cluster cannot say who owns it ({e}); the next due time tries again"),
                );
                false
            }
        }
    }

    /// Claim every job placement gives this member and nobody owns (a
    /// dead member's, once its lease expired). Returns the jobs taken over
    /// whose due time passed since their last start by any member (or,
    /// never started, since this member runs): the runs the dead member
    /// missed, to make up now.
    async fn sweep(&mut self) -> Vec<usize> {
        use crate::cluster::Claim;
        let Some(m) = &self.d.cluster else {
            return vec![];
        };
        let m = m.lock().await;
        // Lost, or etcd unavailable: the due path rejoins or reports it;
        // nothing is claimed meanwhile.
        let unreachable = |e: crate::cluster::ClusterError| {
            tracing::warn!(error = %e, "cluster sweep: nothing claimed");
            if let Some(v) = &self.d.cluster_view {
                if let Ok(mut v) = v.lock() {
                    v.live = m.is_live();
                    v.lease_age_seconds = m.lease_age();
                }
            }
        };
        // One read of who owns what; only the jobs nobody owns are claimed.
        let owners = match m.owners().await {
            Ok(o) => o,
            Err(e) => {
                unreachable(e);
                return vec![];
            }
        };
        // Jobs claimed now (nobody owned them): a dead member's, or never
        // owned before.
        let mut fresh = Vec::new();
        let mut owned = 0;
        for (i, job) in self.d.jobs.iter().enumerate() {
            if let Some(owner) = owners.get(&job.name) {
                if *owner == m.info.name {
                    owned += 1;
                }
                continue;
            }
            let target = job.target_site();
            match m.claim(&job.name, target.as_deref()).await {
                Ok(Claim::Mine { .. }) => owned += 1,
                Ok(Claim::Claimed { .. }) => {
                    owned += 1;
                    fresh.push(i);
                }
                Ok(_) => {}
                Err(e) => {
                    unreachable(e);
                    return vec![];
                }
            }
        }
        let now = self.d.clock.now();
        let mut missed = Vec::new();
        let mut taken = Vec::new();
        for i in fresh {
            let job = &self.d.jobs[i];
            // Since its last start by any member (it had an owner before:
            // a takeover); never started: since this member runs (a due
            // time before it is not this cluster's to make up, as a single
            // daemon would not either).
            let last = m
                .last_start(&job.name)
                .await
                .ok()
                .flatten()
                .and_then(|t| parse_ts(&t));
            if last.is_some() {
                taken.push(job.name.clone());
            }
            if job
                .due
                .next_after(last.unwrap_or(self.started))
                .is_some_and(|n| n <= now)
            {
                tracing::info!(job = %job.name, "a due time passed while nobody owned it: run now");
                missed.push(i);
            }
        }
        if !taken.is_empty() {
            tracing::info!(jobs = ?taken, "cluster: took over {} job(s)", taken.len());
        }
        let members = m.members().await.map(|l| l.len()).unwrap_or(0);
        if let Some(v) = &self.d.cluster_view {
            if let Ok(mut v) = v.lock() {
                v.member = m.info.name.clone();
                v.site = m.info.site.clone();
                v.live = m.is_live();
                v.lease_ttl_seconds = m.ttl();
                v.lease_age_seconds = m.lease_age();
                v.owned = owned;
                v.members = members;
                v.takeovers += taken.len() as u64;
            }
        }
        missed
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
            match (self.h.points(&job.name), self.h.backups(&job.name)) {
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
        match self.h.try_lock(&key, &id, &self.me, now) {
            Ok(Ok(Acquired::Fresh)) => {}
            Ok(Ok(Acquired::TakenOver { run_id })) => {
                tracing::warn!(job = %job.name, stale = %run_id, "took over a stale lock (its run is not resumable here)")
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
        }
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
        if let Err(e) = self.h.record_start(&rec) {
            let _ = self.h.unlock(&key, &id);
            return self.error(&job.name, e.to_string());
        }
        // Retention and fence runs were authorised by the job's configuration.
        let approved = matches!(kind, RunKind::Retention | RunKind::Fence);
        match self
            .d
            .launcher
            .start(job, plan, params, &id, &dir, approved)
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
                        key,
                        cancel: l.cancel,
                        run_dir: dir,
                        retention,
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
                let _ = self.h.record_end(&id, &end);
                let _ = self.h.unlock(&key, &id);
                self.error(&job.name, format!("run {id} could not start: {e}"));
            }
        }
    }

    fn finished(&mut self, id: &str, res: Result<Finished, String>) {
        let Some(l) = self.live.remove(id) else {
            return;
        };
        let job = &self.d.jobs[l.job];
        let f = res.unwrap_or_else(|e| {
            self.error(&job.name, format!("run {id}: {e}"));
            Finished {
                outcome: "failed".into(),
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
        if let Err(e) = self.h.record_end(id, &end) {
            self.error(&job.name, e.to_string());
        }
        let _ = self.h.unlock(&l.key, id);
        tracing::info!(job = %job.name, run = %id, outcome = %f.outcome, "run ended");
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
                        self.h
                            .mark_expired(&r.manifests, &r.backups, self.d.clock.now())
                    {
                        self.error(&job.name, e.to_string());
                    }
                }
            }
            RunKind::Scheduled if !self.stopping => self.after_protect(l.job, id, &l.run_dir),
            _ => {}
        }
    }

    /// Record the point a successful run made; expire what the policy says.
    fn after_protect(&mut self, i: usize, run_id: &str, dir: &Path) {
        let job = &self.d.jobs[i];
        let journal = match lifeboat_exec::read_journal(dir) {
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
        if let Err(e) = self.h.add_point(&point, &backups) {
            return self.error(&job.name, e.to_string());
        }
        let Some(pol) = job.policy else { return };
        let (pts, bks) = match (self.h.points(&job.name), self.h.backups(&job.name)) {
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
            match self.h.try_lock(&key, &o.run.id, &self.me, now) {
                Ok(Ok(_)) => {}
                // `lifeboat commit` / `rollback` is deciding it right now.
                Ok(Err(_)) => continue,
                Err(e) => return self.error("-", e.to_string()),
            }
            let job = &self.d.jobs[o.job];
            let dir = PathBuf::from(&o.run.run_dir);
            tracing::warn!(run = %o.run.id, default = o.default.as_str(), "the commit deadline passed: the runbook's default is applied");
            match self.d.launcher.resume(job, &dir) {
                Ok(l) => {
                    let _ = self.h.take_over(&o.run.id, &self.me);
                    self.d.emit(DaemonEvent::Resumed {
                        job: job.name.clone(),
                        run_id: o.run.id.clone(),
                    });
                    self.track(
                        o.run.id.clone(),
                        Live {
                            job: o.job,
                            kind: o.run.kind,
                            key,
                            cancel: l.cancel,
                            run_dir: dir,
                            retention: None,
                        },
                        l.done,
                    );
                }
                Err(e) => {
                    let _ = self.h.unlock(&key, &o.run.id);
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
        for row in self.h.unfinished().unwrap_or_default() {
            if row.status() != "running"
                || row.params.get("vnf").and_then(|v| v.as_str()) != Some(vnf)
            {
                continue;
            }
            if let Ok(j) = lifeboat_exec::read_journal(Path::new(&row.run_dir)) {
                if let Some(p) = points::read_point(&j) {
                    out.insert(p);
                }
            }
        }
        out
    }
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

pub fn outcome_word(o: &lifeboat_exec::RunOutcome) -> &'static str {
    match o {
        lifeboat_exec::RunOutcome::Succeeded => "succeeded",
        lifeboat_exec::RunOutcome::Failed { .. } => "failed",
        lifeboat_exec::RunOutcome::Interrupted { .. } => "interrupted",
        lifeboat_exec::RunOutcome::AwaitingCommit { .. } => "awaiting_commit",
        lifeboat_exec::RunOutcome::RolledBack { .. } => "rolled_back",
    }
}
