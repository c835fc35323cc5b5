//! The journal and resume: crashes simulated by aborting the run's task at
//! chosen points, then resuming from the run directory alone.

mod common;

use common::builder::*;
use common::fake::{Behaviour, FakeCloud};
use common::*;
use lifeboat_dsl::plan::{Expr, Plan, Type};
use lifeboat_exec::{read_journal, CancelHandle, EventKind, Record, RunOutcome};
use serde_json::Map;
use std::sync::Arc;

/// a (creates) → b (creates) → c (creates)
fn chain() -> Plan {
    let mut b = PlanBuilder::new("r");
    let mut prev = None;
    for name in ["a", "b", "c"] {
        let id = b.action(None, name, "test.create", vec![]);
        if let Some(p) = prev {
            b.after(id, p);
        }
        b.compensate(
            id,
            "test.undo",
            vec![arg("id", Type::String, field(Expr::Result, "id"))],
        );
        prev = Some(id);
    }
    b.build()
}

#[tokio::test]
async fn crash_after_intent_before_outcome_resume_finds_the_resource() {
    let fake = FakeCloud::new();
    fake.rule("test.create", Some("b"), 1, Behaviour::CreateThenHang);
    let dir = tempfile::tempdir().unwrap();
    crash_when_hung(&fake, chain(), dir.path()).await;

    let recs = read_journal(dir.path()).unwrap();
    assert!(recs
        .iter()
        .any(|r| matches!(r, Record::StepIntent { instance, .. } if instance == "b")));
    assert!(!recs
        .iter()
        .any(|r| matches!(r, Record::StepOutcome { instance, .. } if instance == "b")));
    assert!(dir.path().join("plan.json").exists());

    let before = fake.calls().len();
    let (res, evs) = resume(&executor(&fake), dir.path()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(res.run_id, "r1");
    // b was found by its tag, not created again; a was reused from the journal
    assert!(fake.finds().contains(&"lb-r1-b".to_string()));
    assert_eq!(fake.create_count("lb-r1-b"), 1);
    assert_eq!(fake.create_count("lb-r1-a"), 1);
    let after: Vec<String> = fake.calls()[before..]
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert_eq!(after, ["c"]);
    assert!(evs.iter().any(|e| matches!(&e.kind, EventKind::StepSucceeded { instance, reused: true, .. } if instance == "a")));
    assert!(matches!(
        read_journal(dir.path()).unwrap().last(),
        Some(Record::RunFinished { .. })
    ));
}

#[tokio::test]
async fn crash_before_anything_was_created_resume_makes_the_call_again_once() {
    let fake = FakeCloud::new();
    fake.rule("test.create", Some("b"), 1, Behaviour::Hang);
    let dir = tempfile::tempdir().unwrap();
    crash_when_hung(&fake, chain(), dir.path()).await;
    let (res, _) = resume(&executor(&fake), dir.path()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert!(fake.finds().contains(&"lb-r1-b".to_string()));
    assert_eq!(fake.create_count("lb-r1-b"), 1);
    assert_eq!(fake.total_created(), 3);
}

#[tokio::test]
async fn crash_while_frozen_resume_thaws_first_in_reverse_order() {
    let fake = FakeCloud::new();
    let list = servers(&[("app1", "app"), ("db1", "db"), ("lb1", "lb")]);
    fake.respond("test.find", move |_| list.clone());
    fake.rule("test.create", Some("snap"), 1, Behaviour::Hang);
    let mut b = PlanBuilder::new("protect");
    let find = b.action(None, "servers", "test.find", vec![]);
    let q = b.quiesce(
        None,
        "quiesce@3",
        step(find),
        "role",
        list_of(&["db", "app", "lb"]),
        "pause",
        60_000,
    );
    b.action(Some(q), "snap", "test.create", vec![]);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    crash_when_hung(&fake, plan, dir.path()).await;
    assert_eq!(fake.frozen().len(), 3, "crashed with the targets frozen");

    let before = fake.calls().len();
    let (res, _) = resume(&executor(&fake), dir.path()).await;
    let after: Vec<String> = fake.calls()[before..]
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c.action,
                c.args
                    .get("server")
                    .and_then(|s| s.get("name"))
                    .and_then(|n| n.as_str())
                    .unwrap_or(&c.step)
            )
        })
        .collect();
    // first: thaws, in reverse freeze order; then the run goes on (freeze again, body, thaw)
    assert_eq!(
        after[..3],
        ["nova.unpause lb1", "nova.unpause app1", "nova.unpause db1"].map(String::from)
    );
    assert_eq!(
        after[3..6],
        ["nova.pause db1", "nova.pause app1", "nova.pause lb1"].map(String::from)
    );
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert!(fake.frozen().is_empty());
    // the servers step was reused, not called again
    assert!(!after.iter().any(|c| c.starts_with("test.find")));
}

fn list_of(items: &[&str]) -> Expr {
    list(items.iter().map(|i| s(i)).collect())
}

#[tokio::test]
async fn crash_during_compensation_resume_finishes_it() {
    let fake = FakeCloud::new();
    fake.rule(
        "test.create",
        Some("c"),
        1,
        Behaviour::Permanent("c failed".into()),
    );
    fake.rule("test.undo", Some("b:compensate"), 1, Behaviour::Hang);
    let dir = tempfile::tempdir().unwrap();
    crash_when_hung(&fake, chain(), dir.path()).await;
    assert!(read_journal(dir.path())
        .unwrap()
        .iter()
        .any(|r| matches!(r, Record::RunFailing { .. })));

    let (res, evs) = resume(&executor(&fake), dir.path()).await;
    match &res.outcome {
        RunOutcome::Failed { reason } => assert!(reason.contains("c failed"), "{reason}"),
        o => panic!("{o:?}"),
    }
    let undo: Vec<String> = fake
        .calls_of("test.undo")
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert_eq!(undo, ["b:compensate", "b:compensate", "a:compensate"]);
    // nothing of the run body ran again
    assert_eq!(fake.calls_of("test.create").len(), 3);
    assert!(evs
        .iter()
        .any(|e| matches!(&e.kind, EventKind::Compensated { instance } if instance == "a")));

    // resuming a finished run does nothing
    let before = fake.calls().len();
    let (again, _) = resume(&executor(&fake), dir.path()).await;
    assert_eq!(again.outcome, res.outcome);
    assert_eq!(fake.calls().len(), before);
}

#[tokio::test]
async fn journal_orders_intent_before_outcome_and_tolerates_a_torn_tail() {
    let fake = FakeCloud::new();
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &chain(), dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let recs = read_journal(dir.path()).unwrap();
    assert!(matches!(recs[0], Record::RunStarted { .. }));
    for name in ["a", "b", "c"] {
        let i = recs
            .iter()
            .position(|r| matches!(r, Record::StepIntent { instance, .. } if instance == name))
            .unwrap();
        let o = recs
            .iter()
            .position(|r| matches!(r, Record::StepOutcome { instance, .. } if instance == name))
            .unwrap();
        assert!(i < o);
    }
    // a crash in the middle of a write leaves a torn last line
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("journal.jsonl"))
        .unwrap();
    f.write_all(br#"{"record":"step_intent","insta"#).unwrap();
    assert_eq!(read_journal(dir.path()).unwrap().len(), recs.len());
}

#[test]
fn default_run_dir_follows_xdg_state_home() {
    std::env::set_var("XDG_STATE_HOME", "/var/state-test");
    assert_eq!(
        lifeboat_exec::default_run_dir("abc123").unwrap(),
        std::path::PathBuf::from("/var/state-test/lifeboat/runs/abc123")
    );
}

#[tokio::test]
async fn a_second_interrupt_leaves_compensation_to_resume() {
    let fake = FakeCloud::new();
    fake.rule("test.create", Some("c"), 1, Behaviour::Hang);
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancelHandle::new();
    let (h, _rx) = spawn_run(executor(&fake), chain(), dir.path(), cancel.clone());
    fake.hung.notified().await;
    cancel.interrupt();
    cancel.interrupt();
    let res = h.await.unwrap();
    assert!(matches!(res.outcome, RunOutcome::Interrupted { .. }));
    assert!(!res.finished);
    assert!(fake.calls_of("test.undo").is_empty());
    // c was dropped in flight: resume reconciles it (nothing created) and
    // compensates a and b, in reverse order
    let (res, _) = resume(&executor(&fake), dir.path()).await;
    assert!(res.finished);
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    assert!(fake.finds().contains(&"lb-r1-c".to_string()));
    let undo: Vec<String> = fake
        .calls_of("test.undo")
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert_eq!(undo, ["b:compensate", "a:compensate"]);
}

#[tokio::test]
async fn an_interrupted_call_that_created_something_is_compensated() {
    let fake = FakeCloud::new();
    fake.rule("test.create", Some("c"), 1, Behaviour::CreateThenHang);
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancelHandle::new();
    let (h, _rx) = spawn_run(executor(&fake), chain(), dir.path(), cancel.clone());
    fake.hung.notified().await;
    cancel.interrupt();
    let res = h.await.unwrap();
    assert!(matches!(res.outcome, RunOutcome::Interrupted { .. }));
    assert!(res.finished);
    let undo: Vec<String> = fake
        .calls_of("test.undo")
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert_eq!(undo, ["c:compensate", "b:compensate", "a:compensate"]);
    let recs = read_journal(dir.path()).unwrap();
    assert!(recs.iter().any(
        |r| matches!(r, Record::StepOutcome { instance, reconciled: true, .. } if instance == "c")
    ));
}

#[tokio::test]
async fn spawned_run_streams_events_and_can_be_interrupted_then_resumed() {
    let fake = FakeCloud::new();
    fake.rule("test.create", Some("b"), 1, Behaviour::Hang);
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("runs").join("abc12345");
    let mut h = executor(&fake).spawn(
        chain(),
        Map::new(),
        run_dir.clone(),
        Some("abc12345".into()),
    );
    // the dispatcher reads events as they come
    loop {
        let e = h.events.recv().await.expect("events until the end");
        if matches!(&e.kind, EventKind::StepStarted { instance, .. } if instance == "b") {
            break;
        }
    }
    fake.hung.notified().await;
    h.cancel.interrupt();
    let res = h.result.await.unwrap().unwrap();
    assert!(matches!(res.outcome, RunOutcome::Interrupted { .. }));
    let mut last = None;
    while let Some(e) = h.events.recv().await {
        last = Some(e);
    }
    assert!(matches!(last.unwrap().kind, EventKind::RunFinished { .. }));
    // a finished (interrupted and compensated) run resumes to its outcome
    let r = executor(&fake).spawn_resume(run_dir);
    assert_eq!(r.run_id, "abc12345");
    let again = r.result.await.unwrap().unwrap();
    assert_eq!(again.outcome, res.outcome);
    assert_eq!(
        fake.calls_of("test.undo").len(),
        1,
        "only a was compensated, once"
    );
}

/// The protect shape: find; quiesce (3 servers) { snap }; for each server
/// { tmp (cleanup) → b }; manifest after the loop.
fn protect_plan() -> Plan {
    let mut b = PlanBuilder::new("protect");
    let find = b.action(None, "servers", "test.find", vec![]);
    let q = b.quiesce(
        None,
        "quiesce@3",
        step(find),
        "role",
        list_of(&["db", "app", "lb"]),
        "pause",
        60_000,
    );
    let snap = b.action(Some(q), "snap", "test.create", vec![]);
    b.compensate(
        snap,
        "test.undo",
        vec![arg("id", Type::String, field(Expr::Result, "id"))],
    );
    let l = b.for_each(None, "for@7", "s", step(find), 2);
    b.after(l, q);
    let tmp = b.action(
        Some(l),
        "tmp",
        "test.create",
        vec![arg("server", rec("server"), Expr::LoopVar(l))],
    );
    b.cleanup(
        tmp,
        "test.tidy",
        vec![arg("id", Type::String, field(Expr::Result, "id"))],
    );
    b.action(
        Some(l),
        "b",
        "test.create",
        vec![arg("tmp", Type::String, field(step(tmp), "id"))],
    );
    let m = b.action(None, "manifest", "test.create", vec![]);
    b.after(m, l);
    b.build()
}

fn protect_fake() -> Arc<FakeCloud> {
    let fake = FakeCloud::new();
    let list = servers(&[("app1", "app"), ("db1", "db"), ("lb1", "lb")]);
    fake.respond("test.find", move |_| list.clone());
    fake
}

#[tokio::test]
async fn a_crash_at_any_call_never_duplicates_nor_leaves_anything_frozen() {
    let clean = protect_fake();
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&clean), &protect_plan(), dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let total = clean.calls().len();
    assert_eq!(total, 18);
    for n in 0..total {
        for after_effect in [false, true] {
            let fake = protect_fake();
            fake.crash_at(n, after_effect);
            let dir = tempfile::tempdir().unwrap();
            crash_when_hung(&fake, protect_plan(), dir.path()).await;
            let (res, _) = resume(&executor(&fake), dir.path()).await;
            let at = format!(
                "crash at call {n} ({}), after_effect {after_effect}",
                clean.trace()[n]
            );
            assert_eq!(res.outcome, RunOutcome::Succeeded, "{at}");
            assert!(
                fake.frozen().is_empty(),
                "{at}: left frozen {:?}",
                fake.frozen()
            );
            assert_eq!(
                fake.total_created(),
                clean.total_created(),
                "{at}: a resource was created twice"
            );
            let tidied: std::collections::HashSet<String> = fake
                .calls_of("test.tidy")
                .iter()
                .map(|c| c.step.clone())
                .collect();
            assert_eq!(tidied.len(), 3, "{at}: every tmp cleaned up");
        }
    }
}

#[tokio::test]
async fn a_crash_at_any_call_of_a_failing_run_still_compensates_and_thaws() {
    let failing_fake = || {
        let f = protect_fake();
        f.rule(
            "test.create",
            Some("manifest"),
            1,
            Behaviour::Permanent("manifest refused".into()),
        );
        f
    };
    let clean = failing_fake();
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&clean), &protect_plan(), dir.path(), Map::new()).await;
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    let total = clean.calls().len();
    assert_eq!(
        clean
            .trace()
            .iter()
            .filter(|t| t.starts_with("test.undo"))
            .count(),
        1
    );
    for n in 0..total {
        for after_effect in [false, true] {
            let fake = failing_fake();
            fake.crash_at(n, after_effect);
            let dir = tempfile::tempdir().unwrap();
            crash_when_hung(&fake, protect_plan(), dir.path()).await;
            let (res, _) = resume(&executor(&fake), dir.path()).await;
            let at = format!(
                "crash at call {n} ({}), after_effect {after_effect}",
                clean.trace()[n]
            );
            assert!(res.finished, "{at}");
            assert!(
                fake.frozen().is_empty(),
                "{at}: left frozen {:?}",
                fake.frozen()
            );
            assert!(fake.total_created() <= clean.total_created() + 1, "{at}");
            for tag in [
                "lb-r1-snap",
                "lb-r1-tmp-0",
                "lb-r1-tmp-1",
                "lb-r1-tmp-2",
                "lb-r1-b-0",
                "lb-r1-b-1",
                "lb-r1-b-2",
            ] {
                assert!(fake.create_count(tag) <= 1, "{at}: {tag} created twice");
            }
            let undone = fake
                .calls_of("test.undo")
                .iter()
                .any(|c| c.step == "snap:compensate");
            match &res.outcome {
                RunOutcome::Failed { .. } => assert!(undone, "{at}: snap not compensated"),
                // the crash hit the manifest after it was made: found on resume, no failure
                RunOutcome::Succeeded => assert!(!undone && after_effect, "{at}"),
                o => panic!("{at}: {o:?}"),
            }
        }
    }
}

#[tokio::test]
async fn flush_durability_journals_the_same_records() {
    let fake = FakeCloud::new();
    fake.rule("test.create", Some("b"), 1, Behaviour::CreateThenHang);
    let exec = lifeboat_exec::Executor::new(fake.clone()).with_config(lifeboat_exec::ExecConfig {
        durability: lifeboat_exec::Durability::Flush,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (h, _rx) = spawn_run(exec.clone(), chain(), dir.path(), CancelHandle::new());
    fake.hung.notified().await;
    h.abort();
    let _ = h.await;
    let (res, _) = resume(&exec, dir.path()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(fake.create_count("lb-r1-b"), 1);
}

#[tokio::test]
async fn crash_while_thawing_resume_thaws_the_rest_and_does_not_freeze_again() {
    let fake = protect_fake();
    // the second thaw hangs: lb1 is thawed, app1 and db1 are still frozen
    fake.rule("nova.unpause", Some("quiesce@3:thaw-1"), 1, Behaviour::Hang);
    let dir = tempfile::tempdir().unwrap();
    crash_when_hung(&fake, protect_plan(), dir.path()).await;
    let mut still: Vec<String> = fake.frozen().into_iter().collect();
    still.sort();
    assert_eq!(still, ["app1", "db1"]);
    let before = fake.calls().len();
    let (res, _) = resume(&executor(&fake), dir.path()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let after: Vec<String> = fake.calls()[before..]
        .iter()
        .map(|c| format!("{} {}", c.action, c.step))
        .collect();
    assert_eq!(
        after[..2],
        [
            "nova.unpause quiesce@3:thaw-1",
            "nova.unpause quiesce@3:thaw-0"
        ]
        .map(String::from)
    );
    assert!(
        !after.iter().any(|c| c.starts_with("nova.pause")),
        "froze again: {after:?}"
    );
    assert!(fake.frozen().is_empty());
    assert_eq!(fake.create_count("lb-r1-snap"), 1);
}

/// A cloud of three servers, one per role.
fn three_servers() -> Arc<FakeCloud> {
    let fake = FakeCloud::new();
    let found = servers(&[("db1", "db"), ("app1", "app"), ("lb1", "lb")]);
    fake.respond("test.find", move |_| found.clone());
    fake
}

/// servers = test.find(); quiesce servers by role in order via pause
/// { snap = test.snap() compensate test.undo() }: the builder, the scope
/// and the snapshot step (more steps may go into the scope).
fn frozen_snapshot() -> (
    PlanBuilder,
    lifeboat_dsl::plan::StepId,
    lifeboat_dsl::plan::StepId,
) {
    let mut b = PlanBuilder::new("protect");
    let find = b.action(None, "servers", "test.find", vec![]);
    let q = b.quiesce(
        None,
        "quiesce@3",
        step(find),
        "role",
        list(vec![s("db"), s("app"), s("lb")]),
        "pause",
        30_000,
    );
    let snap = b.action(Some(q), "snap", "test.snap", vec![]);
    b.compensate(snap, "test.undo", vec![]);
    (b, q, snap)
}

/// `plan` run to its end with its journal kept in `replica` too.
async fn run_replicated(
    fake: &Arc<FakeCloud>,
    plan: &Plan,
    replica: Arc<dyn lifeboat_exec::journal::Replica>,
    dir: &std::path::Path,
) -> lifeboat_exec::RunResult {
    let config = lifeboat_exec::ExecConfig {
        replica: Some(replica),
        ..Default::default()
    };
    let exec = lifeboat_exec::Executor::new(fake.clone()).with_config(config);
    run(&exec, plan, dir, Map::new()).await.0
}

/// The run was interrupted, for a reason saying `why`.
fn interrupted_for(res: &lifeboat_exec::RunResult, why: &str) {
    match &res.outcome {
        RunOutcome::Interrupted { reason } => assert!(reason.contains(why), "{reason}"),
        o => panic!("{o:?}"),
    }
}

/// A replica that keeps what it took and refuses (deposes the run) from
/// the first batch holding a `test.snap` intent on.
#[derive(Debug, Default)]
struct Replica {
    taken: std::sync::Mutex<Vec<u8>>,
}

impl lifeboat_exec::journal::Replica for Replica {
    fn append(&self, batch: &[u8]) -> Result<(), lifeboat_exec::journal::ReplicaError> {
        if String::from_utf8_lossy(batch).contains("\"action\":\"test.snap\"") {
            return Err(lifeboat_exec::journal::ReplicaError::Deposed(
                "member b owns the run now".into(),
            ));
        }
        self.taken.lock().unwrap().extend_from_slice(batch);
        Ok(())
    }
}

#[tokio::test]
async fn a_run_whose_replica_refuses_it_calls_nothing_more_and_its_new_owner_finishes_it() {
    let fake = three_servers();
    let (b, _, _) = frozen_snapshot();
    let plan = b.build();
    let replica = Arc::new(Replica::default());
    let dir = tempfile::tempdir().unwrap();
    let res = run_replicated(&fake, &plan, replica.clone(), dir.path()).await;
    // Deposed before the snapshot: no snapshot, no thaw, no compensation
    // from here — the servers stay frozen for the new owner to thaw.
    interrupted_for(&res, "deposed");
    assert!(!res.finished);
    assert!(fake.calls_of("test.snap").is_empty());
    assert!(fake.calls_of("nova.unpause").is_empty());
    assert!(fake.calls_of("test.undo").is_empty());
    assert_eq!(fake.frozen().len(), 3);

    // The new owner resumes from the replica's copy: thaws first, in
    // reverse, then takes the snapshot once and finishes.
    let new = tempfile::tempdir().unwrap();
    std::fs::copy(dir.path().join("plan.json"), new.path().join("plan.json")).unwrap();
    std::fs::write(
        new.path().join("journal.jsonl"),
        replica.taken.lock().unwrap().clone(),
    )
    .unwrap();
    let (res, _) = resume(&executor(&fake), new.path()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(fake.targets_of("nova.unpause")[..3], ["lb1", "app1", "db1"]);
    assert_eq!(fake.calls_of("test.snap").len(), 1);
    assert!(fake.frozen().is_empty());
}

/// A replica whose hold lapses (a lease not renewed in time) once set.
#[derive(Debug, Default)]
struct Lapsing {
    lapsed: std::sync::atomic::AtomicBool,
}

impl lifeboat_exec::journal::Replica for Lapsing {
    fn append(&self, _batch: &[u8]) -> Result<(), lifeboat_exec::journal::ReplicaError> {
        Ok(())
    }
    fn may_act(&self) -> Result<(), String> {
        if self.lapsed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("the lease may have lapsed".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_run_whose_hold_lapses_makes_no_further_call_but_still_thaws() {
    let fake = three_servers();
    let replica = Arc::new(Lapsing::default());
    let r = replica.clone();
    // The hold lapses while the first snapshot is taken.
    fake.respond("test.snap", move |_| {
        r.lapsed.store(true, std::sync::atomic::Ordering::SeqCst);
        serde_json::json!({"id": "snap-1"})
    });
    let (mut b, q, snap) = frozen_snapshot();
    let again = b.action(Some(q), "again", "test.snap2", vec![]);
    b.after(again, snap);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let res = run_replicated(&fake, &plan, replica.clone(), dir.path()).await;
    interrupted_for(&res, "lapsed");
    // No call after the lapse but the thaws, in reverse; compensation is
    // left to the resume of the run's owner.
    assert!(fake.calls_of("test.snap2").is_empty());
    assert_eq!(fake.targets_of("nova.unpause"), ["lb1", "app1", "db1"]);
    assert!(fake.frozen().is_empty());
    assert!(fake.calls_of("test.undo").is_empty());
    assert!(!res.finished);
}

/// `append` queues the record when it is called, so a caller can drop a
/// large record before waiting for the disk; the file keeps call order and
/// a loop item in a frame is written as the value itself.
#[tokio::test]
async fn an_append_is_queued_when_called_and_keeps_call_order() {
    use lifeboat_dsl::plan::StepId;
    use lifeboat_exec::eval::Frame;
    use lifeboat_exec::journal::{CallRec, Journal};
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    let item = serde_json::json!({"name": "vm1", "role": "db"});
    let frame = Frame::default().enter(StepId(0), 3, item.clone());
    let written = {
        let intent = Record::StepIntent {
            instance: "s[3]".into(),
            node: StepId(1),
            frame: frame.clone(),
            call: CallRec {
                action: "test.create".into(),
                tag: "t".into(),
                site: None,
                args: Map::new(),
            },
        };
        j.append(&intent)
        // `intent` is dropped here, before the disk is waited for.
    };
    j.append_nowait(&Record::RunResumed { at: "later".into() });
    written.await.unwrap();
    j.append(&Record::RunResumed { at: "last".into() })
        .await
        .unwrap();
    let recs = read_journal(dir.path()).unwrap();
    assert_eq!(recs.len(), 3, "{recs:?}");
    match &recs[0] {
        Record::StepIntent {
            instance, frame: f, ..
        } => {
            assert_eq!(instance, "s[3]");
            assert_eq!(f, &frame);
            assert_eq!(*f.loops[0].item, item);
        }
        other => panic!("first record: {other:?}"),
    }
    assert!(matches!(&recs[1], Record::RunResumed { at } if at == "later"));
    // The frame's item is the value itself in the file, not a wrapper.
    let text =
        std::fs::read_to_string(dir.path().join(lifeboat_exec::journal::JOURNAL_FILE)).unwrap();
    assert!(
        text.contains(r#""item":{"name":"vm1","role":"db"}"#),
        "{text}"
    );
}
