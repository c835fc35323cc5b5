//! The daemon's loop on a test clock, with a launcher whose runs end when
//! the test says: no overlap, missed runs once, SIGTERM, resume after a
//! crash, retention after a protect. (The real executor against the
//! emulator is driven in engine/cli/tests/daemon_kill.rs.)

use chrono::{DateTime, Utc};
use lifeboat_daemon::clock::TestClock;
use lifeboat_daemon::cron::Due;
use lifeboat_daemon::history::{
    parse_ts, BackupRow, History, NewRun, PointRow, Query, RunEnd, RunKind, RunRow, HISTORY_FILE,
};
use lifeboat_daemon::launcher::{Finished, Launched, Launcher};
use lifeboat_daemon::lock::{Acquired, Held};
use lifeboat_daemon::owner::Owner;
use lifeboat_daemon::retention::policy::Policy;
use lifeboat_daemon::run_dir::RunDir;
use lifeboat_daemon::run_store::{LocalStore, RunStore, StoreResult};
use lifeboat_daemon::{Daemon, DaemonEvent, Job};
use lifeboat_dsl::plan::Plan;
use lifeboat_exec::{CancelHandle, CancelReason};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const RUNBOOK: &str = "runbook tick \"a scheduled runbook\" {\n  param vnf: string = \"vims\"\n}\n";

fn plan() -> Plan {
    let c =
        lifeboat_dsl::compiler::compile_text("tick.dr", RUNBOOK, &lifeboat_dsl::loader::FsLoader);
    assert!(!c.has_errors());
    c.plan(None).unwrap().clone()
}

fn job(cron: &str, run_at_start: bool, policy: Option<Policy>) -> Job {
    let mut params = Map::new();
    params.insert("vnf".into(), json!("vims"));
    Job {
        name: "tick-vims".into(),
        runbook: "tick.dr".into(),
        plan: plan(),
        params,
        due: Due::parse(cron, None).unwrap(),
        policy,
        run_at_start,
        full_every: None,
        cloud: "site-a=emulator".into(),
        rpo_target_ms: None,
        fence: true,
        approved: false,
    }
}

/// A start the fake launcher saw: run id, approved, params.
type Start = (String, bool, Map<String, Value>);

/// What the fake launcher saw; each run ends when `end(run_id, outcome)` is called.
#[derive(Default)]
struct Fake {
    starts: Mutex<Vec<Start>>,
    resumes: Mutex<Vec<PathBuf>>,
    cleanups: Mutex<Vec<PathBuf>>,
    gates: Mutex<HashMap<String, oneshot::Sender<String>>>,
    reasons: Mutex<Vec<Option<CancelReason>>>,
    /// Journal text to leave in each started run dir (a protect's).
    journals: Mutex<Vec<String>>,
}

impl Fake {
    fn launched(self: &Arc<Self>, id: String) -> Launched {
        let (tx, rx) = oneshot::channel();
        self.gates.lock().unwrap().insert(id, tx);
        let cancel = CancelHandle::new();
        let c = cancel.clone();
        let me = self.clone();
        Launched {
            cancel,
            done: Box::pin(async move {
                let outcome = tokio::select! {
                    o = rx => o.unwrap_or_else(|_| "failed".into()),
                    _ = c.stopped() => {
                        me.reasons.lock().unwrap().push(c.reason());
                        "interrupted".into()
                    }
                };
                Ok(Finished {
                    outcome,
                    duration_ms: Some(1000),
                    bytes: 7,
                    quiesce_ms: Some(250),
                    rpo_point: None,
                    resumable: false,
                    left_behind: false,
                })
            }),
        }
    }

    fn end(&self, id: &str, outcome: &str) {
        let tx = self
            .gates
            .lock()
            .unwrap()
            .remove(id)
            .expect("no such live run");
        tx.send(outcome.to_string()).unwrap();
    }
}

struct Shared(Arc<Fake>);

impl Launcher for Shared {
    fn start(
        &self,
        _job: &Job,
        _plan: &Plan,
        params: &Map<String, Value>,
        run_id: &str,
        run_dir: &Path,
        approved: bool,
        _replica: Option<Arc<dyn lifeboat_exec::journal::Replica>>,
    ) -> Result<Launched, String> {
        std::fs::create_dir_all(run_dir).unwrap();
        let journal = if approved {
            None
        } else {
            self.0.journals.lock().unwrap().pop()
        };
        if let Some(j) = journal {
            std::fs::write(run_dir.join("journal.jsonl"), j.replace("RUN_ID", run_id)).unwrap();
        }
        self.0
            .starts
            .lock()
            .unwrap()
            .push((run_id.to_string(), approved, params.clone()));
        Ok(self.0.launched(run_id.to_string()))
    }

    fn resume(
        &self,
        _job: &Job,
        run_dir: &Path,
        _replica: Option<Arc<dyn lifeboat_exec::journal::Replica>>,
    ) -> Result<Launched, String> {
        self.0.resumes.lock().unwrap().push(run_dir.to_path_buf());
        Ok(self
            .0
            .launched(run_dir.file_name().unwrap().to_string_lossy().into_owned()))
    }

    fn cleanup(&self, _job: &Job, run_dir: &Path) -> Result<Launched, String> {
        self.0.cleanups.lock().unwrap().push(run_dir.to_path_buf());
        Ok(self
            .0
            .launched(run_dir.file_name().unwrap().to_string_lossy().into_owned()))
    }
}

struct Rig {
    clock: Arc<TestClock>,
    fake: Arc<Fake>,
    state: tempfile::TempDir,
}

impl Rig {
    fn new(now: &str) -> Rig {
        Rig {
            clock: Arc::new(TestClock::new(t(now))),
            fake: Arc::new(Fake::default()),
            state: tempfile::tempdir().unwrap(),
        }
    }

    fn daemon(&self, job: Job, events: mpsc::UnboundedSender<DaemonEvent>) -> Daemon {
        self.daemon_on(LocalStore::shared(self.state.path()).unwrap(), job, events)
    }

    fn daemon_on(
        &self,
        runs: Arc<dyn RunStore>,
        job: Job,
        events: mpsc::UnboundedSender<DaemonEvent>,
    ) -> Daemon {
        Daemon {
            clock: self.clock.clone(),
            launcher: Arc::new(Shared(self.fake.clone())),
            jobs: vec![job],
            runs,
            retention: lifeboat_daemon::daemon::retention_plan().unwrap(),
            fence: None,
            events: Some(events),
            cluster: None,
            cluster_view: None,
            twins_after: Some(Duration::from_secs(600)),
        }
    }

    fn history(&self) -> History {
        History::open(self.state.path()).unwrap()
    }
}

async fn next(rx: &mut mpsc::UnboundedReceiver<DaemonEvent>) -> DaemonEvent {
    // A guard against a hang, not a timing assertion.
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the daemon said nothing")
        .expect("events closed")
}

fn started(e: DaemonEvent) -> String {
    match e {
        DaemonEvent::Started { run_id, .. } => run_id,
        other => panic!("expected a start, got {other:?}"),
    }
}

fn seed_run(h: &History, id: &str, started: &str, owner: &str, ended: bool, dir: &Path) {
    let mut params = Map::new();
    params.insert("vnf".into(), json!("vims"));
    h.record_start(&NewRun {
        id: id.into(),
        runbook: "tick".into(),
        job: Some("tick-vims".into()),
        kind: RunKind::Scheduled,
        params,
        cloud: "site-a=emulator".into(),
        run_dir: dir.to_path_buf(),
        started: t(started),
        owner: Owner::decode(owner).unwrap(),
    })
    .unwrap();
    if ended {
        h.record_end(
            id,
            &RunEnd {
                ended: t(started),
                outcome: "succeeded".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
}

#[tokio::test]
async fn missed_runs_run_once_and_runs_never_overlap() {
    let rig = Rig::new("2026-11-25T00:00:30Z");
    // The last run was at 20:00 yesterday: 24 fire times of */10 were missed.
    seed_run(
        &rig.history(),
        "before",
        "2026-11-24T20:00:00Z",
        "4194304:1",
        true,
        &rig.state.path().join("runs/before"),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = rig.daemon(job("*/10 * * * *", false, None), tx);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        let a = started(next(&mut rx).await);
        // Due again while `a` goes on: skipped, twice.
        rig.clock.set(t("2026-11-25T00:10:00Z"));
        assert_eq!(
            next(&mut rx).await,
            DaemonEvent::Skipped {
                job: "tick-vims".into(),
                running: a.clone()
            }
        );
        rig.clock.set(t("2026-11-25T00:20:00Z"));
        assert_eq!(
            next(&mut rx).await,
            DaemonEvent::Skipped {
                job: "tick-vims".into(),
                running: a.clone()
            }
        );
        rig.fake.end(&a, "succeeded");
        assert!(
            matches!(next(&mut rx).await, DaemonEvent::Finished { ref run_id, ref outcome, .. } if *run_id == a && outcome == "succeeded")
        );
        rig.clock.set(t("2026-11-25T00:29:59Z"));
        rig.clock.set(t("2026-11-25T00:30:00Z"));
        let b = started(next(&mut rx).await);
        rig.fake.end(&b, "failed");
        assert!(
            matches!(next(&mut rx).await, DaemonEvent::Finished { ref outcome, .. } if outcome == "failed")
        );
        stop_tx.send(()).unwrap();
        (a, b)
    };
    let (r, (a, b)) = tokio::join!(d.run(async { stop_rx.await.unwrap() }), driver);
    r.unwrap();
    assert_eq!(
        rig.fake.starts.lock().unwrap().len(),
        2,
        "one catch-up run, one on time"
    );
    let rows = rig
        .history()
        .runs(&Query {
            job: Some("tick-vims".into()),
            ..Query::default()
        })
        .unwrap();
    let got: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|r| (r.id.clone(), r.started.clone(), r.outcome.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "before".into(),
                "2026-11-24T20:00:00.000Z".into(),
                Some("succeeded".into())
            ),
            (
                a,
                "2026-11-25T00:00:30.000Z".into(),
                Some("succeeded".into())
            ),
            (b, "2026-11-25T00:30:00.000Z".into(), Some("failed".into())),
        ]
    );
    assert_eq!(rows[1].quiesce_ms, Some(250));
    assert_eq!(rig.history().lock_holder(&d.jobs[0].key()).unwrap(), None);
}

#[tokio::test]
async fn sigterm_interrupts_live_runs_once_and_starts_nothing_more() {
    let rig = Rig::new("2026-11-25T00:00:00Z");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = rig.daemon(job("*/10 * * * *", true, None), tx);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        let a = started(next(&mut rx).await);
        stop_tx.send(()).unwrap();
        assert_eq!(next(&mut rx).await, DaemonEvent::Stopping { live: 1 });
        assert!(
            matches!(next(&mut rx).await, DaemonEvent::Finished { ref run_id, ref outcome, .. } if *run_id == a && outcome == "interrupted")
        );
        a
    };
    let (r, a) = tokio::join!(d.run(async { stop_rx.await.unwrap() }), driver);
    r.unwrap();
    // One interrupt: thaw, compensate, clean up (a second would skip compensation).
    assert_eq!(
        *rig.fake.reasons.lock().unwrap(),
        vec![Some(CancelReason::Interrupt)]
    );
    assert_eq!(
        rig.history().run(&a).unwrap().unwrap().outcome.as_deref(),
        Some("interrupted")
    );
    assert_eq!(rig.history().lock_holder(&d.jobs[0].key()).unwrap(), None);
    assert_eq!(rig.fake.starts.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_restarted_daemon_resumes_the_run_its_dead_predecessor_left_and_keeps_the_lock() {
    let rig = Rig::new("2026-11-25T00:05:00Z");
    let dir = rig.state.path().join("runs/crashed1");
    std::fs::create_dir_all(&dir).unwrap();
    // A journal with a start and no end: the previous daemon died mid-run.
    std::fs::write(
        dir.join("journal.jsonl"),
        json!({"record": "run_started", "run_id": "crashed1", "runbook": "tick", "started": "2026-11-25T00:00:00Z", "plan_hash": "x", "params": {"vnf": "vims"}}).to_string() + "\n",
    )
    .unwrap();
    let dead = "4194304:1"; // above pid_max: never a live process
    seed_run(
        &rig.history(),
        "crashed1",
        "2026-11-25T00:00:00Z",
        dead,
        false,
        &dir,
    );
    let j = job("*/10 * * * *", false, None);
    let key = j.key();
    rig.history()
        .try_lock(
            &key,
            "crashed1",
            &Owner::decode(dead).unwrap(),
            t("2026-11-25T00:00:00Z"),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        rig.history().run("crashed1").unwrap().unwrap().status(),
        "interrupted"
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = rig.daemon(j, tx);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        assert_eq!(
            next(&mut rx).await,
            DaemonEvent::Resumed {
                job: "tick-vims".into(),
                run_id: "crashed1".into()
            }
        );
        let holder = rig.history().lock_holder(&key).unwrap().unwrap();
        assert_eq!(
            (holder.run_id.as_str(), holder.owner.clone()),
            ("crashed1", Owner::me().encode())
        );
        assert_eq!(
            rig.history().run("crashed1").unwrap().unwrap().status(),
            "running"
        );
        // Due while the resumed run goes on: no second run.
        rig.clock.set(t("2026-11-25T00:10:00Z"));
        assert_eq!(
            next(&mut rx).await,
            DaemonEvent::Skipped {
                job: "tick-vims".into(),
                running: "crashed1".into()
            }
        );
        rig.fake.end("crashed1", "succeeded");
        assert!(
            matches!(next(&mut rx).await, DaemonEvent::Finished { ref run_id, ref outcome, .. } if run_id == "crashed1" && outcome == "succeeded")
        );
        stop_tx.send(()).unwrap();
    };
    let (r, ()) = tokio::join!(d.run(async { stop_rx.await.unwrap() }), driver);
    r.unwrap();
    assert_eq!(*rig.fake.resumes.lock().unwrap(), vec![dir]);
    assert!(rig.fake.starts.lock().unwrap().is_empty());
    assert_eq!(
        rig.history()
            .run("crashed1")
            .unwrap()
            .unwrap()
            .outcome
            .as_deref(),
        Some("succeeded")
    );
}

/// Runs kept in memory: rows and locks in maps, directories under `root`.
/// A second implementation of the run store, to show the daemon keeps a
/// run's state only through it.
#[derive(Default)]
struct MemStore {
    root: PathBuf,
    rows: Mutex<Vec<RunRow>>,
    /// key → (run, owner).
    locks: Mutex<HashMap<String, (String, Owner)>>,
    /// Recovery points and backups, as added and expired.
    points: Mutex<Vec<PointRow>>,
    backups: Mutex<Vec<BackupRow>>,
    /// Every call, in order: what the daemon asked of its store.
    calls: Mutex<Vec<String>>,
}

impl MemStore {
    fn note(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
    fn row(&self, id: &str) -> Option<RunRow> {
        self.rows
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.id == id)
            .cloned()
    }
    fn update(&self, id: &str, f: impl FnOnce(RunRow) -> RunRow) {
        let mut rows = self.rows.lock().unwrap();
        if let Some(r) = rows.iter_mut().find(|r| r.id == id) {
            *r = f(r.clone());
        }
    }
}

impl RunStore for MemStore {
    fn dir(&self, id: &str) -> RunDir {
        RunDir::new(&self.root, id)
    }
    fn find(&self, run: &str) -> Result<RunDir, String> {
        RunDir::find(&self.root, run)
    }
    fn dirs(&self) -> Vec<RunDir> {
        RunDir::all(&self.root)
    }
    fn lock(
        &self,
        key: &str,
        id: &str,
        owner: &Owner,
        _at: DateTime<Utc>,
    ) -> StoreResult<Result<Acquired, Held>> {
        self.note(format!("lock {id}"));
        let mut locks = self.locks.lock().unwrap();
        let got = match locks.get(key) {
            Some((run, o)) if o.alive() => {
                return Ok(Err(Held {
                    run_id: run.clone(),
                    owner: o.encode(),
                    since: String::new(),
                }))
            }
            Some((run, _)) => Acquired::TakenOver {
                run_id: run.clone(),
            },
            None => Acquired::Fresh,
        };
        locks.insert(key.to_string(), (id.to_string(), owner.clone()));
        Ok(Ok(got))
    }
    fn unlock(&self, key: &str, id: &str) -> StoreResult<()> {
        self.note(format!("unlock {id}"));
        let mut locks = self.locks.lock().unwrap();
        if locks.get(key).is_some_and(|(run, _)| run == id) {
            locks.remove(key);
        }
        Ok(())
    }
    fn started(&self, run: &NewRun) -> StoreResult<()> {
        self.note(format!("started {}", run.id));
        self.rows.lock().unwrap().push(run.row());
        Ok(())
    }
    fn resumed(&self, id: &str, owner: &Owner) -> StoreResult<()> {
        self.note(format!("resumed {id}"));
        self.update(id, |r| RunRow {
            owner: owner.encode(),
            ended: None,
            outcome: None,
            ..r
        });
        Ok(())
    }
    fn ended(&self, id: &str, end: &RunEnd) -> StoreResult<()> {
        self.note(format!("ended {id} {}", end.outcome));
        self.update(id, |r| r.ended(end));
        Ok(())
    }
    fn runs(&self, q: &Query) -> StoreResult<Vec<RunRow>> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|r| q.job.is_none() || r.job == q.job)
            .cloned()
            .collect())
    }
    fn unfinished(&self) -> StoreResult<Vec<RunRow>> {
        let rows = self.rows.lock().unwrap();
        Ok(rows.iter().filter(|r| r.ended.is_none()).cloned().collect())
    }
    fn last_start(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|r| r.job.as_deref() == Some(job) && r.kind == RunKind::Scheduled)
            .filter_map(|r| parse_ts(&r.started))
            .max())
    }
    fn add_point(&self, point: &PointRow, backups: &[BackupRow]) -> StoreResult<()> {
        self.note(format!("add_point {}", point.run_id));
        let mut points = self.points.lock().unwrap();
        if !points.iter().any(|p| p.run_id == point.run_id) {
            points.push(point.clone());
        }
        let mut known = self.backups.lock().unwrap();
        for b in backups {
            if !known.iter().any(|k| k.id == b.id) {
                known.push(b.clone());
            }
        }
        Ok(())
    }
    fn points(&self, job: &str) -> StoreResult<Vec<PointRow>> {
        let mut v: Vec<PointRow> = self
            .points
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.job == job && p.expired.is_none())
            .cloned()
            .collect();
        v.sort_by(|a, b| (&a.taken, &a.run_id).cmp(&(&b.taken, &b.run_id)));
        Ok(v)
    }
    fn backups(&self, job: &str) -> StoreResult<Vec<BackupRow>> {
        let of_job: Vec<String> = self
            .points
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.job == job)
            .map(|p| p.run_id.clone())
            .collect();
        let mut v: Vec<BackupRow> = self
            .backups
            .lock()
            .unwrap()
            .iter()
            .filter(|b| of_job.contains(&b.point) && b.deleted.is_none())
            .cloned()
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(v)
    }
    fn expired(&self, points: &[String], backups: &[String], at: DateTime<Utc>) -> StoreResult<()> {
        self.note(format!("expired {points:?} {backups:?}"));
        let at = lifeboat_daemon::history::ts(at);
        for p in self.points.lock().unwrap().iter_mut() {
            if points.contains(&p.run_id) {
                p.expired = Some(at.clone());
            }
        }
        for b in self.backups.lock().unwrap().iter_mut() {
            if backups.contains(&b.id) {
                b.deleted = Some(at.clone());
            }
        }
        Ok(())
    }
    fn newest_point(&self, job: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self
            .points(job)?
            .iter()
            .filter_map(|p| parse_ts(&p.taken))
            .max())
    }
    fn check(&self) -> StoreResult<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_daemon_keeps_runs_only_in_its_run_store() {
    let rig = Rig::new("2026-11-25T00:05:00Z");
    let store = Arc::new(MemStore {
        root: rig.state.path().join("elsewhere"),
        ..MemStore::default()
    });
    // A run its dead predecessor left, known only to this store.
    let dead = Owner::decode("4194304:1").unwrap(); // above pid_max: never alive
    let crashed = store.dir("crashed1");
    std::fs::create_dir_all(crashed.path()).unwrap();
    std::fs::write(
        crashed.path().join("journal.jsonl"),
        json!({"record": "run_started", "run_id": "crashed1", "runbook": "tick", "started": "2026-11-25T00:00:00Z", "plan_hash": "x", "params": {"vnf": "vims"}}).to_string() + "\n",
    )
    .unwrap();
    let j = job("*/10 * * * *", false, None);
    let key = j.key();
    store
        .started(&NewRun {
            id: "crashed1".into(),
            runbook: "tick".into(),
            job: Some("tick-vims".into()),
            kind: RunKind::Scheduled,
            params: j.params.clone(),
            cloud: "site-a=emulator".into(),
            run_dir: crashed.path().to_path_buf(),
            started: t("2026-11-25T00:00:00Z"),
            owner: dead.clone(),
        })
        .unwrap();
    store
        .lock(&key, "crashed1", &dead, t("2026-11-25T00:00:00Z"))
        .unwrap()
        .unwrap();
    store.calls.lock().unwrap().clear();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = rig.daemon_on(store.clone(), j, tx);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        assert_eq!(
            next(&mut rx).await,
            DaemonEvent::Resumed {
                job: "tick-vims".into(),
                run_id: "crashed1".into()
            }
        );
        // The store's lock keeps a second run of the job from starting.
        rig.clock.set(t("2026-11-25T00:10:00Z"));
        assert_eq!(
            next(&mut rx).await,
            DaemonEvent::Skipped {
                job: "tick-vims".into(),
                running: "crashed1".into()
            }
        );
        rig.fake.end("crashed1", "succeeded");
        assert!(matches!(next(&mut rx).await, DaemonEvent::Finished { .. }));
        rig.clock.set(t("2026-11-25T00:20:00Z"));
        let a = started(next(&mut rx).await);
        rig.fake.end(&a, "failed");
        assert!(matches!(next(&mut rx).await, DaemonEvent::Finished { .. }));
        stop_tx.send(()).unwrap();
        a
    };
    let (r, a) = tokio::join!(d.run(async { stop_rx.await.unwrap() }), driver);
    r.unwrap();
    assert_eq!(
        *rig.fake.resumes.lock().unwrap(),
        vec![crashed.path().to_path_buf()]
    );
    // What the daemon asked of its store, in order (the run refused at
    // 00:10 had an id of its own).
    let calls: Vec<String> = store
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| match c.strip_prefix("lock ") {
            Some(id) if id != "crashed1" && id != a => "lock (refused)".to_string(),
            _ => c.clone(),
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            "lock crashed1".to_string(),
            "resumed crashed1".into(),
            "lock (refused)".into(),
            "ended crashed1 succeeded".into(),
            "unlock crashed1".into(),
            format!("lock {a}"),
            format!("started {a}"),
            format!("ended {a} failed"),
            format!("unlock {a}"),
        ]
    );
    assert_eq!(
        store.row("crashed1").unwrap().outcome.as_deref(),
        Some("succeeded")
    );
    assert_eq!(store.row(&a).unwrap().owner, Owner::me().encode());
    // The run's directory is the store's; the state directory's history
    // has no run in it.
    assert_eq!(rig.fake.starts.lock().unwrap()[0].0, a);
    assert!(store
        .dir(&a)
        .path()
        .starts_with(rig.state.path().join("elsewhere")));
    assert!(
        !rig.state.path().join(HISTORY_FILE).exists(),
        "the daemon opened the state directory's history"
    );
    assert!(store.locks.lock().unwrap().is_empty());
}

/// The journal a protect run leaves: a manifest written to site-b, one
/// incremental backup (parent `parent`) made at site-a.
fn protect_journal(taken: &str, backup: &str, parent: Option<&str>) -> String {
    use base64::Engine;
    let doc = json!({"id": backup, "parent_id": parent});
    let url = base64::engine::general_purpose::STANDARD.encode(doc.to_string());
    let frame = json!({"loops": []});
    let call =
        |action: &str, site: &str| json!({"action": action, "tag": "t", "site": site, "args": {}});
    [
        json!({"record": "run_started", "run_id": "RUN_ID", "runbook": "tick", "started": taken, "plan_hash": "x", "params": {"vnf": "vims"}}),
        json!({"record": "step_intent", "instance": "b", "node": 1, "frame": frame, "call": call("cinder.backup", "site-a")}),
        json!({"record": "step_outcome", "instance": "b", "value": {"id": backup, "site": "site-a", "origin": "vol-1"}, "bytes_moved": 1, "error": null}),
        json!({"record": "step_intent", "instance": "rec", "node": 2, "frame": frame, "call": call("cinder.export_backup", "site-a")}),
        json!({"record": "step_outcome", "instance": "rec", "value": {"backup_service": "s", "backup_url": url}, "bytes_moved": 0, "error": null}),
        json!({"record": "step_intent", "instance": "m", "node": 3, "frame": frame, "call": call("lifeboat.write_manifest", "site-b")}),
        json!({"record": "step_outcome", "instance": "m", "value": {"vnf": "vims", "snapshot_time": taken, "run_id": "RUN_ID"}, "bytes_moved": 0, "error": null}),
        json!({"record": "run_finished", "outcome": {"outcome": "succeeded"}}),
    ]
    .iter()
    .map(|v| v.to_string() + "\n")
    .collect()
}

#[tokio::test]
async fn after_a_successful_protect_a_retention_run_expires_what_the_policy_drops() {
    let rig = Rig::new("2026-11-25T00:00:00Z");
    // Three protects, 10 minutes apart; each backup chains on the one before.
    // Journals are popped: push the last first.
    *rig.fake.journals.lock().unwrap() = vec![
        protect_journal("2026-11-25T00:20:00Z", "bk3", Some("bk2")),
        protect_journal("2026-11-25T00:10:00Z", "bk2", None),
        protect_journal("2026-11-25T00:00:00Z", "bk1", None),
    ];
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = rig.daemon(
        job(
            "*/10 * * * *",
            true,
            Some(Policy {
                last: 1,
                ..Policy::default()
            }),
        ),
        tx,
    );
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        let p1 = started(next(&mut rx).await);
        rig.fake.end(&p1, "succeeded");
        assert!(matches!(next(&mut rx).await, DaemonEvent::Finished { .. }));
        // One point: nothing to expire, no retention run.
        assert!(
            matches!(next(&mut rx).await, DaemonEvent::Retention { ref decision, .. } if decision.expire.is_empty())
        );
        rig.clock.set(t("2026-11-25T00:10:00Z"));
        let p2 = started(next(&mut rx).await);
        rig.fake.end(&p2, "succeeded");
        assert!(matches!(next(&mut rx).await, DaemonEvent::Finished { .. }));
        let DaemonEvent::Retention { decision, .. } = next(&mut rx).await else {
            panic!("no retention decision")
        };
        assert_eq!(decision.expire, vec![p1.clone()]);
        assert_eq!(decision.delete_backups, vec!["bk1".to_string()]);
        let DaemonEvent::Started {
            run_id: r1,
            kind: RunKind::Retention,
            ..
        } = next(&mut rx).await
        else {
            panic!("no retention run")
        };
        rig.fake.end(&r1, "succeeded");
        assert!(matches!(
            next(&mut rx).await,
            DaemonEvent::Finished {
                kind: RunKind::Retention,
                ..
            }
        ));
        rig.clock.set(t("2026-11-25T00:20:00Z"));
        let p3 = started(next(&mut rx).await);
        rig.fake.end(&p3, "succeeded");
        assert!(matches!(next(&mut rx).await, DaemonEvent::Finished { .. }));
        let e = next(&mut rx).await;
        let DaemonEvent::Retention { decision, .. } = e else {
            panic!("no retention decision: {e:?}")
        };
        // p2 expires, but bk2 stays: bk3 (kept) is an incremental on it.
        assert_eq!(decision.expire, vec![p2.clone()]);
        assert!(decision.delete_backups.is_empty());
        assert_eq!(decision.kept_for_chain, ["bk2".to_string()].into());
        let DaemonEvent::Started {
            run_id: r2,
            kind: RunKind::Retention,
            ..
        } = next(&mut rx).await
        else {
            panic!("no retention run")
        };
        rig.fake.end(&r2, "succeeded");
        assert!(matches!(
            next(&mut rx).await,
            DaemonEvent::Finished {
                kind: RunKind::Retention,
                ..
            }
        ));
        stop_tx.send(()).unwrap();
        (p1, p2, p3, r1)
    };
    let (r, (p1, p2, p3, r1)) = tokio::join!(d.run(async { stop_rx.await.unwrap() }), driver);
    r.unwrap();
    let starts = rig.fake.starts.lock().unwrap().clone();
    let retention: Vec<_> = starts.iter().filter(|(id, _, _)| *id == r1).collect();
    // Retention runs are pre-approved (the policy authorised the deletions); protects are not.
    assert!(retention[0].1);
    assert!(starts
        .iter()
        .filter(|(id, _, _)| [&p1, &p2, &p3].contains(&id))
        .all(|(_, approved, _)| !approved));
    assert_eq!(
        Value::Object(retention[0].2.clone()),
        json!({"vnf": "vims", "from": "site-a", "to": "site-b", "manifests": [p1], "backups": ["bk1"]})
    );
    let h = rig.history();
    let left: Vec<String> = h
        .points("tick-vims")
        .unwrap()
        .into_iter()
        .map(|p| p.run_id)
        .collect();
    assert_eq!(left, vec![p3]);
    let backups: Vec<String> = h
        .backups("tick-vims")
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(backups, vec!["bk2", "bk3"]);
    let rows = h
        .runs(&Query {
            runbook: Some("expire".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r.kind == RunKind::Retention && r.outcome.as_deref() == Some("succeeded")));
}

#[tokio::test]
async fn a_point_a_live_recover_is_reading_is_not_expired() {
    let rig = Rig::new("2026-11-25T00:00:00Z");
    *rig.fake.journals.lock().unwrap() = vec![
        protect_journal("2026-11-25T00:10:00Z", "bk2", None),
        protect_journal("2026-11-25T00:00:00Z", "bk1", None),
    ];
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = rig.daemon(
        job(
            "*/10 * * * *",
            true,
            Some(Policy {
                last: 1,
                ..Policy::default()
            }),
        ),
        tx,
    );
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        let p1 = started(next(&mut rx).await);
        rig.fake.end(&p1, "succeeded");
        assert!(matches!(next(&mut rx).await, DaemonEvent::Finished { .. }));
        assert!(matches!(next(&mut rx).await, DaemonEvent::Retention { .. }));
        // A recover of the same VNF, started by hand in this (live) process,
        // has read p1's manifest and is importing its backups.
        let dir = rig.state.path().join("runs/recover1");
        std::fs::create_dir_all(&dir).unwrap();
        let frame = json!({"loops": []});
        let lines = [
            json!({"record": "run_started", "run_id": "recover1", "runbook": "recover", "started": "2026-11-25T00:05:00Z", "plan_hash": "x", "params": {"vnf": "vims"}}),
            json!({"record": "step_intent", "instance": "m", "node": 1, "frame": frame, "call": {"action": "lifeboat.read_manifest", "tag": "t", "site": "site-b", "args": {}}}),
            json!({"record": "step_outcome", "instance": "m", "value": {"vnf": "vims", "run_id": p1, "snapshot_time": "2026-11-25T00:00:00Z"}, "bytes_moved": 0, "error": null}),
        ];
        std::fs::write(
            dir.join("journal.jsonl"),
            lines
                .iter()
                .map(|l| l.to_string() + "\n")
                .collect::<String>(),
        )
        .unwrap();
        let mut params = Map::new();
        params.insert("vnf".into(), json!("vims"));
        rig.history()
            .record_start(&NewRun {
                id: "recover1".into(),
                runbook: "recover".into(),
                job: None,
                kind: RunKind::Manual,
                params,
                cloud: "site-b=emulator".into(),
                run_dir: dir,
                started: t("2026-11-25T00:05:00Z"),
                owner: Owner::me(),
            })
            .unwrap();
        rig.clock.set(t("2026-11-25T00:10:00Z"));
        let p2 = started(next(&mut rx).await);
        rig.fake.end(&p2, "succeeded");
        assert!(matches!(next(&mut rx).await, DaemonEvent::Finished { .. }));
        let DaemonEvent::Retention { decision, .. } = next(&mut rx).await else {
            panic!("no retention decision")
        };
        // `last 1` keeps only p2, but p1 is being read: nothing expires, no retention run.
        assert!(decision.expire.is_empty(), "{decision:?}");
        assert!(decision.delete_backups.is_empty(), "{decision:?}");
        assert_eq!(
            decision.keep[&p1],
            vec![lifeboat_daemon::retention::policy::Reason::InUse]
        );
        stop_tx.send(()).unwrap();
    };
    let (r, ()) = tokio::join!(d.run(async { stop_rx.await.unwrap() }), driver);
    r.unwrap();
    assert_eq!(
        rig.fake.starts.lock().unwrap().len(),
        2,
        "no retention run was started"
    );
}

#[tokio::test]
async fn full_every_passes_full_once_the_chain_holds_that_many_incrementals() {
    let rig = Rig::new("2026-11-25T00:00:00Z");
    // p1 full, p2 incremental on it; with full_every 1 the third is full.
    *rig.fake.journals.lock().unwrap() = vec![
        protect_journal("2026-11-25T00:20:00Z", "bk3", None),
        protect_journal("2026-11-25T00:10:00Z", "bk2", Some("bk1")),
        protect_journal("2026-11-25T00:00:00Z", "bk1", None),
    ];
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut j = job(
        "*/10 * * * *",
        true,
        Some(Policy {
            last: 10,
            ..Policy::default()
        }),
    );
    j.full_every = Some(1);
    let d = rig.daemon(j, tx);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        for at in ["2026-11-25T00:10:00Z", "2026-11-25T00:20:00Z", ""] {
            let p = started(next(&mut rx).await);
            rig.fake.end(&p, "succeeded");
            assert!(matches!(next(&mut rx).await, DaemonEvent::Finished { .. }));
            assert!(
                matches!(next(&mut rx).await, DaemonEvent::Retention { ref decision, .. } if decision.expire.is_empty())
            );
            if at.is_empty() {
                break;
            }
            rig.clock.set(t(at));
        }
        stop_tx.send(()).unwrap();
    };
    let (r, ()) = tokio::join!(d.run(async { stop_rx.await.unwrap() }), driver);
    r.unwrap();
    let starts = rig.fake.starts.lock().unwrap().clone();
    let full: Vec<Option<Value>> = starts
        .iter()
        .map(|(_, _, p)| p.get("full").cloned())
        .collect();
    // p1: no point yet; p2: the chain under p1 holds 0 incrementals; p3: bk2 is one.
    assert_eq!(full, vec![None, None, Some(json!(true))]);
}

/// A run with creates whose outcome was uncertain (`uncertain: true` in its
/// journal): ten minutes after its end (`twins_after`), the daemon has it
/// cleaned up again — its late twins looked for — under the job's lock,
/// without touching its end in the history; a minute later when the job's
/// next run holds the lock; and a run due meanwhile waits a minute rather
/// than being skipped. A run without any: never.
#[tokio::test]
async fn late_twins_of_uncertain_creates_are_looked_for_again_after_the_run() {
    let rig = Rig::new("2026-11-25T00:00:00Z");
    let uncertain = protect_journal("2026-11-25T00:00:00Z", "bk1", None).replace(
        r#""bytes_moved":1,"error":null"#,
        r#""bytes_moved":1,"error":null,"uncertain":true"#,
    );
    assert!(uncertain.contains("uncertain"));
    // Popped: the first run's last.
    *rig.fake.journals.lock().unwrap() = vec![
        protect_journal("2026-11-25T01:00:00Z", "bk3", None),
        protect_journal("2026-11-25T00:30:00Z", "bk2", None),
        uncertain,
    ];
    let (tx, mut rx) = mpsc::unbounded_channel();
    let d = rig.daemon(job("*/30 * * * *", true, None), tx);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let driver = async {
        let a = started(next(&mut rx).await);
        rig.clock.set(t("2026-11-25T00:25:00Z"));
        rig.fake.end(&a, "succeeded");
        assert!(
            matches!(next(&mut rx).await, DaemonEvent::Finished { ref run_id, .. } if *run_id == a)
        );
        // The next run holds the job's lock when the cleanup of `a` is due
        // (00:35): a minute later, once it has ended.
        rig.clock.set(t("2026-11-25T00:30:00Z"));
        let b = started(next(&mut rx).await);
        rig.clock.set(t("2026-11-25T00:35:00Z"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rig.fake.cleanups.lock().unwrap().is_empty());
        rig.clock.set(t("2026-11-25T00:35:30Z"));
        rig.fake.end(&b, "succeeded");
        assert!(
            matches!(next(&mut rx).await, DaemonEvent::Finished { ref run_id, .. } if *run_id == b)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rig.fake.cleanups.lock().unwrap().is_empty());
        rig.clock.set(t("2026-11-25T00:36:00Z"));
        // A guard against a hang, not a timing assertion.
        tokio::time::timeout(Duration::from_secs(20), async {
            while rig.fake.cleanups.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the cleanup of the run never started");
        assert!(rig.fake.cleanups.lock().unwrap()[0].ends_with(&a));
        assert_eq!(
            rig.history()
                .lock_holder(&d.jobs[0].key())
                .unwrap()
                .map(|h| h.run_id),
            Some(a.clone()),
            "the cleanup holds the job's lock"
        );
        // Due while the cleanup holds the lock: deferred a minute, not skipped.
        rig.clock.set(t("2026-11-25T01:00:00Z"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(rx.try_recv().is_err(), "nothing started nor skipped");
        rig.fake.end(&a, "succeeded");
        assert_eq!(
            next(&mut rx).await,
            DaemonEvent::TwinsSought {
                job: "tick-vims".into(),
                run_id: a.clone(),
                left: false,
            }
        );
        rig.clock.set(t("2026-11-25T01:01:00Z"));
        let c = started(next(&mut rx).await);
        rig.fake.end(&c, "succeeded");
        assert!(
            matches!(next(&mut rx).await, DaemonEvent::Finished { ref run_id, .. } if *run_id == c)
        );
        // `b` and `c` had no uncertain creates: nothing more is looked for.
        rig.clock.set(t("2026-11-25T01:20:00Z"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(rig.fake.cleanups.lock().unwrap().len(), 1);
        stop_tx.send(()).unwrap();
        a
    };
    let (r, a) = tokio::join!(d.run(async { stop_rx.await.unwrap() }), driver);
    r.unwrap();
    let rows = rig.history().runs(&Query::default()).unwrap();
    let row = rows.iter().find(|r| r.id == a).unwrap();
    assert_eq!(row.outcome.as_deref(), Some("succeeded"));
    assert_eq!(
        row.ended.as_deref(),
        Some("2026-11-25T00:25:00.000Z"),
        "its end as recorded stands"
    );
    assert_eq!(rig.history().lock_holder(&d.jobs[0].key()).unwrap(), None);
}
