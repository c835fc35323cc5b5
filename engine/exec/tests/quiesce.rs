//! Quiesce scopes: freeze order, reverse thaw on every path, watchdog,
//! interrupts, thaw failures.

mod common;

use common::builder::*;
use common::fake::{Behaviour, FakeCloud};
use common::*;
use lifeboat_dsl::plan::{Expr, NodeKind, Plan, Type};
use lifeboat_exec::{CancelHandle, EventKind, ExecConfig, Executor, Limits, Report, RunOutcome};
use serde_json::{json, Map};
use std::time::Duration;

/// servers = test.find(); quiesce servers by role in ["db","app","lb"] via pause { snap = test.snap(servers) }
fn scope_plan(within_ms: u64, method: &str) -> (Plan, lifeboat_dsl::plan::StepId) {
    let mut b = PlanBuilder::new("protect");
    let find = b.action(None, "servers", "test.find", vec![]);
    let q = b.quiesce(
        None,
        "quiesce@3",
        step(find),
        "role",
        list(vec![s("db"), s("app"), s("lb")]),
        method,
        within_ms,
    );
    let snap = b.action(
        Some(q),
        "snap",
        "test.snap",
        vec![arg(
            "servers",
            Type::List(Box::new(rec("server"))),
            step(find),
        )],
    );
    (b.build(), snap)
}

fn fake_with_servers() -> std::sync::Arc<FakeCloud> {
    let fake = FakeCloud::new();
    let list = servers(&[
        ("lb1", "lb"),
        ("app1", "app"),
        ("db1", "db"),
        ("x1", "other"),
        ("app2", "app"),
        ("db2", "db"),
    ]);
    fake.respond("test.find", move |_| list.clone());
    fake
}

#[tokio::test]
async fn freeze_in_group_order_thaw_in_exact_reverse() {
    let fake = fake_with_servers();
    let (plan, _) = scope_plan(30_000, "pause");
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let frozen = fake.targets_of("nova.pause");
    assert_eq!(frozen, ["db1", "db2", "app1", "app2", "lb1", "x1"]);
    let mut rev = frozen.clone();
    rev.reverse();
    assert_eq!(fake.targets_of("nova.unpause"), rev);
    // the body ran with every target frozen, and nothing is frozen now
    assert_eq!(fake.calls_of("test.snap")[0].frozen_then, 6);
    assert!(fake.frozen().is_empty());
    // the freeze call's site is the target's site
    assert_eq!(
        fake.calls_of("nova.pause")[0].site.as_deref(),
        Some("site-a")
    );
    let report = Report::from_events(&evs);
    assert_eq!(report.scopes.len(), 1);
    assert_eq!(report.scopes[0].targets.len(), 6);
    assert!(report.scopes[0].window_ms.is_some());
}

#[tokio::test]
async fn failure_inside_the_scope_thaws_in_reverse() {
    let fake = fake_with_servers();
    fake.rule(
        "test.snap",
        None,
        1,
        Behaviour::Permanent("snapshot failed: quota".into()),
    );
    let (plan, _) = scope_plan(30_000, "pause");
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    match &res.outcome {
        RunOutcome::Failed { reason } => {
            assert!(reason.contains("snapshot failed: quota"), "{reason}")
        }
        o => panic!("expected failure, got {o:?}"),
    }
    let mut rev = fake.targets_of("nova.pause");
    rev.reverse();
    assert_eq!(fake.targets_of("nova.unpause"), rev);
    assert!(fake.frozen().is_empty());
    // the thaws come after the failure
    let fail_at = evs
        .iter()
        .position(|e| matches!(e.kind, EventKind::StepFailed { .. }))
        .unwrap();
    let first_thaw = evs
        .iter()
        .position(|e| matches!(e.kind, EventKind::ThawStarted { .. }))
        .unwrap();
    assert!(first_thaw > fail_at);
}

#[tokio::test(start_paused = true)]
async fn watchdog_expiry_cancels_the_body_thaws_and_fails() {
    let fake = fake_with_servers();
    fake.rule("test.snap", None, 1, Behaviour::Hang);
    let (plan, _) = scope_plan(30_000, "pause");
    let dir = tempfile::tempdir().unwrap();
    let t0 = tokio::time::Instant::now();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(t0.elapsed() >= Duration::from_secs(30));
    match &res.outcome {
        RunOutcome::Failed { reason } => assert!(reason.contains("watchdog"), "{reason}"),
        o => panic!("expected failure, got {o:?}"),
    }
    assert!(evs.iter().any(|e| matches!(
        &e.kind,
        EventKind::WatchdogExpired {
            within_ms: 30_000,
            ..
        }
    )));
    assert!(evs
        .iter()
        .any(|e| matches!(&e.kind, EventKind::StepCancelled { instance } if instance == "snap")));
    let mut rev = fake.targets_of("nova.pause");
    rev.reverse();
    assert_eq!(fake.targets_of("nova.unpause"), rev);
    assert!(fake.frozen().is_empty());
    assert!(Report::from_events(&evs).scopes[0].watchdog_expired);
}

/// `within` bounds the first freeze to the last thaw: with freezes and thaws
/// of 2 s each (6 targets: 12 s each way) and a body that hangs, the watchdog
/// fires early enough that the first target frozen — thawed last — was
/// frozen no longer than the 30 s allowed (paused time: exact).
#[tokio::test(start_paused = true)]
async fn watchdog_leaves_time_for_the_thaws_within_the_bound() {
    let fake = fake_with_servers();
    let step = Duration::from_secs(2);
    fake.rule("nova.pause", None, 6, Behaviour::Latency(step));
    fake.rule("nova.unpause", None, 6, Behaviour::Latency(step));
    fake.rule("test.snap", None, 1, Behaviour::Hang);
    let (plan, _) = scope_plan(30_000, "pause");
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(
        matches!(&res.outcome, RunOutcome::Failed { reason } if reason.contains("watchdog")),
        "{:?}",
        res.outcome
    );
    assert!(evs.iter().any(|e| matches!(
        &e.kind,
        EventKind::WatchdogExpired {
            within_ms: 30_000,
            ..
        }
    )));
    let pauses = fake.calls_of("nova.pause");
    let unpauses = fake.calls_of("nova.unpause");
    assert_eq!((pauses.len(), unpauses.len()), (6, 6));
    let mut rev = fake.targets_of("nova.pause");
    rev.reverse();
    assert_eq!(fake.targets_of("nova.unpause"), rev);
    assert!(fake.frozen().is_empty());
    // First freeze call to the end of the last thaw call.
    let frozen_for = (unpauses[5].at + step) - pauses[0].at;
    assert!(
        frozen_for <= Duration::from_secs(30),
        "the first target frozen stayed frozen {frozen_for:?} (> within 30 s)"
    );
    // And the body was not cut needlessly short: it ran until the budget left for the thaws.
    let body_time = unpauses[0].at - (pauses[5].at + step);
    assert!(
        body_time >= Duration::from_secs(5),
        "the body had only {body_time:?}"
    );
}

#[tokio::test]
async fn interrupt_thaws() {
    let fake = fake_with_servers();
    fake.rule("test.snap", None, 1, Behaviour::Hang);
    let (plan, _) = scope_plan(0, "pause");
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancelHandle::new();
    let (h, _rx) = spawn_run(executor(&fake), plan, dir.path(), cancel.clone());
    fake.hung.notified().await;
    assert_eq!(fake.frozen().len(), 6);
    cancel.interrupt();
    let res = h.await.unwrap();
    assert!(
        matches!(res.outcome, RunOutcome::Interrupted { .. }),
        "{:?}",
        res.outcome
    );
    assert!(fake.frozen().is_empty());
    let mut rev = fake.targets_of("nova.pause");
    rev.reverse();
    assert_eq!(fake.targets_of("nova.unpause"), rev);
}

#[tokio::test]
async fn second_interrupt_during_thaw_still_thaws_everything() {
    let fake = fake_with_servers();
    fake.rule("test.snap", None, 1, Behaviour::Hang);
    // the first thaw waits for the gate: the second interrupt arrives then
    fake.rule("nova.unpause", None, 1, Behaviour::Gate);
    let mut b = PlanBuilder::new("protect");
    let made = b.action(None, "made", "test.create", vec![]);
    b.compensate(
        made,
        "test.delete",
        vec![arg(
            "id",
            Type::String,
            field(lifeboat_dsl::plan::Expr::Result, "id"),
        )],
    );
    let (inner, _) = scope_plan(0, "pause");
    // graft: a plan with a compensable step before the scope
    let plan = {
        let mut p = inner;
        let off = p.nodes.len() as u32;
        let mut extra = b.build();
        for n in &mut extra.nodes {
            n.id.0 += off;
        }
        let mut ids = vec![];
        for n in extra.nodes {
            ids.push(n.id);
            p.nodes.push(n);
        }
        p.body.extend(ids);
        p
    };
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancelHandle::new();
    let (h, _rx) = spawn_run(executor(&fake), plan, dir.path(), cancel.clone());
    fake.hung.notified().await; // the body hangs
    cancel.interrupt();
    fake.hung.notified().await; // the first thaw is in flight
    cancel.interrupt();
    fake.open_gate(1);
    let res = h.await.unwrap();
    assert!(fake.frozen().is_empty(), "left frozen: {:?}", fake.frozen());
    assert_eq!(fake.calls_of("nova.unpause").len(), 6);
    assert!(matches!(res.outcome, RunOutcome::Interrupted { .. }));
    // the second interrupt skipped compensation: the run is resumable
    assert!(fake.calls_of("test.delete").is_empty());
    assert!(!res.finished);
}

#[tokio::test]
async fn unknown_method_fails_before_anything_is_frozen() {
    let fake = fake_with_servers();
    let (plan, _) = scope_plan(30_000, "no-such-method");
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    match &res.outcome {
        RunOutcome::Failed { reason } => assert!(
            reason.contains("unknown quiesce method `no-such-method`"),
            "{reason}"
        ),
        o => panic!("{o:?}"),
    }
    assert!(fake.calls_of("nova.pause").is_empty());
    assert!(fake.calls_of("test.snap").is_empty());
}

#[tokio::test(start_paused = true)]
async fn thaw_retries_transient_errors_and_reports_a_thaw_it_cannot_do() {
    let fake = fake_with_servers();
    // db2 is thawed fifth: two transient errors then success
    fake.rule(
        "nova.unpause",
        None,
        2,
        Behaviour::Transient(Some(Duration::from_secs(2))),
    );
    let (plan, _) = scope_plan(0, "pause");
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert!(fake.frozen().is_empty());

    let fake = fake_with_servers();
    fake.rule(
        "nova.unpause",
        Some("quiesce@3:thaw-2"),
        1,
        Behaviour::Permanent("server gone".into()),
    );
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.thaw_failures, 1);
    match &res.outcome {
        RunOutcome::Failed { reason } => {
            assert!(reason.contains("could not thaw app1"), "{reason}")
        }
        o => panic!("{o:?}"),
    }
    // every other target was still thawed
    assert_eq!(fake.frozen().into_iter().collect::<Vec<_>>(), ["app1"]);
    let report = Report::from_events(&evs);
    assert_eq!(report.thaw_failures.len(), 1);
    assert!(report.render_text().contains("THAW FAILED"));
    let _ = json!(null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_holds_on_a_multi_threaded_runtime_inside_a_fan_out() {
    // for g in [1, 2] parallel 2 { quiesce servers ... { snap } }: each scope
    // keeps its own order and thaws its own targets in reverse
    let fake = FakeCloud::new();
    let mut b = PlanBuilder::new("protect");
    let groups = json!([
        servers(&[("lb1", "lb"), ("app1", "app"), ("db1", "db")]),
        servers(&[("app2", "app"), ("db2", "db"), ("lb2", "lb")]),
    ]);
    b.param(
        "groups",
        Type::List(Box::new(Type::List(Box::new(rec("server"))))),
        Some(groups),
    );
    let l = b.for_each(None, "for@2", "g", param("groups"), 2);
    let q = b.quiesce(
        Some(l),
        "quiesce@3",
        lifeboat_dsl::plan::Expr::LoopVar(l),
        "role",
        list(vec![s("db"), s("app"), s("lb")]),
        "suspend",
        60_000,
    );
    b.action(Some(q), "snap", "test.snap", vec![]);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    for (scope, order) in [
        ("quiesce@3[0]", ["db1", "app1", "lb1"]),
        ("quiesce@3[1]", ["db2", "app2", "lb2"]),
    ] {
        let frozen: Vec<String> = evs
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Frozen { scope: s, target } if s == scope => Some(target.clone()),
                _ => None,
            })
            .collect();
        let thawed: Vec<String> = evs
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Thawed { scope: s, target } if s == scope => Some(target.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(frozen, order);
        let mut rev = frozen.clone();
        rev.reverse();
        assert_eq!(thawed, rev);
    }
    assert_eq!(fake.calls_of("nova.suspend").len(), 6);
    assert_eq!(fake.calls_of("nova.resume").len(), 6);
    assert!(fake.frozen().is_empty());
}

/// The freezes of one group (one `by` value) run at once, groups one after
/// the other; the thaws likewise in reverse. Each freeze takes 100 ms: six
/// targets in four groups (db ×2, app ×2, lb, other) freeze in 400 ms, not
/// 600 ms; `one at a time` freezes them one after the other again.
#[tokio::test(start_paused = true)]
async fn a_group_freezes_at_once_and_one_at_a_time_does_not() {
    for (one_at_a_time, in_flight, freeze_ms) in [(false, 2, 400), (true, 1, 600)] {
        let fake = fake_with_servers();
        fake.rule(
            "nova.pause",
            None,
            6,
            Behaviour::Latency(Duration::from_millis(100)),
        );
        let (mut plan, _) = scope_plan(30_000, "pause");
        for n in &mut plan.nodes {
            if let lifeboat_dsl::plan::NodeKind::Quiesce(q) = &mut n.kind {
                q.one_at_a_time = one_at_a_time;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
        assert_eq!(res.outcome, RunOutcome::Succeeded);
        assert_eq!(
            fake.max_in_flight_action("nova.pause"),
            in_flight,
            "one at a time: {one_at_a_time}"
        );
        // Groups in order, and every target of a group frozen before the next group starts.
        let frozen = fake.targets_of("nova.pause");
        let role = |n: &str| n.trim_end_matches(char::is_numeric).to_string();
        let roles: Vec<String> = frozen.iter().map(|n| role(n)).collect();
        assert_eq!(roles, ["db", "db", "app", "app", "lb", "x"]);
        let thawed: Vec<String> = fake
            .targets_of("nova.unpause")
            .iter()
            .map(|n| role(n))
            .collect();
        assert_eq!(
            thawed,
            ["x", "lb", "app", "app", "db", "db"],
            "groups thawed in reverse"
        );
        let first = evs
            .iter()
            .find(|e| matches!(e.kind, EventKind::FreezeStarted { .. }))
            .unwrap()
            .at_ms;
        let last = evs
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Frozen { .. }))
            .map(|e| e.at_ms)
            .max()
            .unwrap();
        assert!(
            (last - first) >= freeze_ms && (last - first) < freeze_ms + 50,
            "freezing took {} ms, expected {freeze_ms}",
            last - first
        );
        assert!(fake.frozen().is_empty());
    }
}

/// Freezes and thaws take no slot of the site's limit on calls in flight:
/// a group of three freezes at once at a site that allows one call.
#[tokio::test]
async fn a_group_freezes_at_once_beyond_the_site_limit() {
    let fake = FakeCloud::new();
    let list = servers(&[("db1", "db"), ("db2", "db"), ("db3", "db")]);
    fake.respond("test.find", move |_| list.clone());
    for action in ["nova.pause", "nova.unpause"] {
        fake.rule(
            action,
            None,
            3,
            Behaviour::Latency(Duration::from_millis(100)),
        );
    }
    let (plan, _) = scope_plan(30_000, "pause");
    let exec = Executor::new(fake.clone()).with_config(ExecConfig {
        limits: Limits::default().with_site("site-a", 1),
        ..ExecConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&exec, &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(fake.max_in_flight_action("nova.pause"), 3);
    assert_eq!(fake.max_in_flight_action("nova.unpause"), 3);
    assert!(fake.frozen().is_empty());
}

/// One freeze of a group fails: the group's other targets, which froze, are
/// thawed (and the groups before it), nothing after it is frozen, the run
/// fails naming the target.
#[tokio::test]
async fn a_failed_freeze_in_a_group_thaws_its_siblings_and_stops() {
    let fake = fake_with_servers();
    fake.rule(
        "nova.pause",
        Some("quiesce@3:freeze-3"),
        1,
        Behaviour::Permanent("server is locked".into()),
    );
    let (plan, _) = scope_plan(30_000, "pause");
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    match &res.outcome {
        RunOutcome::Failed { reason } => assert!(
            reason.contains("server is locked") && reason.contains("app2"),
            "{reason}"
        ),
        o => panic!("expected failure, got {o:?}"),
    }
    // db1, db2 froze; app1 and app2 were tried together (app2 failed); lb and x never.
    let tried = fake.targets_of("nova.pause");
    assert_eq!(tried.len(), 4, "{tried:?}");
    assert!(
        !tried.contains(&"lb1".to_string()) && !tried.contains(&"x1".to_string()),
        "{tried:?}"
    );
    let thawed = fake.targets_of("nova.unpause");
    assert_eq!(
        thawed,
        ["app1", "db2", "db1"],
        "the sibling that froze, then the group before"
    );
    assert!(fake.frozen().is_empty());
}

/// servers = test.find()
/// quiesce servers by role in [db, app, lb] via pause within 30s retry 2 backoff 5s {
///   mark = test.create(name: "m") compensate test.undo(id: result.id)
///   snap = test.create(name: "s") cleanup test.tidy(id: result.id)
/// }
/// used = test.read(id: snap.id)
fn retried_scope_plan() -> Plan {
    let mut b = PlanBuilder::new("protect");
    let find = b.action(None, "servers", "test.find", vec![]);
    let q = b.quiesce(
        None,
        "q",
        step(find),
        "role",
        list(vec![s("db"), s("app"), s("lb")]),
        "pause",
        30_000,
    );
    let mut plan_retry = Some(lifeboat_dsl::plan::RetryPolicy {
        retries: 2,
        backoff_ms: 5_000,
    });
    let mark = b.action(
        Some(q),
        "mark",
        "test.create",
        vec![arg("name", Type::String, s("m"))],
    );
    b.compensate(
        mark,
        "test.undo",
        vec![arg("id", Type::String, field(Expr::Result, "id"))],
    );
    let snap = b.action(
        Some(q),
        "snap",
        "test.create",
        vec![arg("name", Type::String, s("s"))],
    );
    b.cleanup(
        snap,
        "test.tidy",
        vec![arg("id", Type::String, field(Expr::Result, "id"))],
    );
    b.after(snap, mark);
    b.action(
        None,
        "used",
        "test.read",
        vec![arg("id", Type::String, field(step(snap), "id"))],
    );
    let mut plan = b.build();
    if let NodeKind::Quiesce(scope) = &mut plan.nodes[q.index()].kind {
        scope.retry = plan_retry.take();
    }
    assert!(plan_retry.is_none());
    plan
}

fn ids_of(fake: &FakeCloud, action: &str) -> Vec<String> {
    fake.calls_of(action)
        .iter()
        .map(|c| c.args["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The storm's case: the snapshot takes longer than the freeze allows. The
/// attempt is cut short, thawed, and what it did is undone at once (the
/// mark compensated, the snapshot found by its tag and cleaned up); the
/// second attempt succeeds, the run too, and the rest of the run reads the
/// second attempt's results.
#[tokio::test(start_paused = true)]
async fn a_scope_cut_short_by_its_watchdog_is_undone_and_tried_again() {
    let fake = fake_with_servers();
    fake.rule("test.create", Some("snap"), 1, Behaviour::CreateThenHang);
    let plan = retried_scope_plan();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded, "{:?}", res.outcome);
    // Frozen twice, thawed twice, in exact reverse each time; nothing frozen.
    let pauses = fake.targets_of("nova.pause");
    assert_eq!(pauses.len(), 12);
    let mut rev = pauses[..6].to_vec();
    rev.reverse();
    assert_eq!(fake.targets_of("nova.unpause")[..6], rev[..]);
    assert!(fake.frozen().is_empty());
    // The first attempt undone before the second froze anything: its mark
    // compensated, its snapshot cleaned up.
    let second_freeze = fake.calls_of("nova.pause")[6].at;
    let undo = fake.calls_of("test.undo");
    assert_eq!(ids_of(&fake, "test.undo"), ["res-lb-r1-mark"]);
    assert!(undo[0].at < second_freeze);
    let tidy = fake.calls_of("test.tidy");
    assert_eq!(
        ids_of(&fake, "test.tidy"),
        ["res-lb-r1-snap", "res-lb-r1-snap~2"],
        "the first snapshot at once, the second at the run's end"
    );
    assert!(tidy[0].at < second_freeze);
    // The second attempt's mark stays (the run succeeded); the step after
    // the scope read the second attempt's snapshot.
    assert_eq!(
        fake.calls_of("test.read")[0].args["id"],
        json!("res-lb-r1-snap~2")
    );
    let retrying: Vec<_> = evs
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ScopeRetrying {
                scope,
                attempt,
                of,
                error,
                backoff_ms,
            } => Some((scope.clone(), *attempt, *of, error.clone(), *backoff_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(retrying.len(), 1, "{retrying:?}");
    let (scope, attempt, of, error, backoff_ms) = &retrying[0];
    assert_eq!((scope.as_str(), *attempt, *of), ("q", 2, 3));
    assert!(error.contains("watchdog"), "{error}");
    assert!((2_500..=5_000).contains(backoff_ms), "{backoff_ms}");
    let report = Report::from_events(&evs);
    assert_eq!(report.scopes.len(), 2);
    assert!(report.scopes[0].watchdog_expired);
    assert_eq!(
        report.scopes[0].tried_again.as_ref().map(|t| t.attempt),
        Some(2)
    );
    assert_eq!(report.scopes[1].scope, "q~2");
    assert!(!report.scopes[1].watchdog_expired);
    assert!(report.render_text().contains("attempt 2 of 3"));
}

/// A freeze refused is tried again the same way; the attempts' freeze and
/// thaw calls carry their own tags.
#[tokio::test(start_paused = true)]
async fn a_freeze_that_fails_is_tried_again() {
    let fake = fake_with_servers();
    fake.rule(
        "nova.pause",
        None,
        1,
        Behaviour::Permanent("guest agent not responding".into()),
    );
    let plan = retried_scope_plan();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded, "{:?}", res.outcome);
    assert!(fake.frozen().is_empty());
    assert!(evs.iter().any(|e| matches!(
        &e.kind,
        EventKind::ScopeRetrying { error, attempt: 2, .. } if error.contains("guest agent")
    )));
    // Nothing of the body ran in the first attempt: nothing to undo.
    assert!(fake.calls_of("test.undo").is_empty());
    let steps: Vec<String> = fake
        .calls_of("nova.pause")
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert!(
        steps.iter().any(|s| s.starts_with("q~2:freeze-")),
        "{steps:?}"
    );
}

/// Every attempt cut short: the run fails with the last attempt's reason,
/// after 3 attempts, and leaves nothing behind.
#[tokio::test(start_paused = true)]
async fn a_scope_out_of_attempts_fails_the_run_and_leaves_nothing() {
    let fake = fake_with_servers();
    fake.rule("test.create", None, 3, Behaviour::CreateThenHang);
    let plan = retried_scope_plan();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    match &res.outcome {
        RunOutcome::Failed { reason } => {
            assert!(reason.starts_with("q~3: watchdog"), "{reason}")
        }
        o => panic!("expected failure, got {o:?}"),
    }
    assert_eq!(fake.targets_of("nova.pause").len(), 18);
    assert!(fake.frozen().is_empty());
    let retries = evs
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ScopeRetrying { .. }))
        .count();
    assert_eq!(retries, 2);
    // Each attempt's mark was made (and hung): every one undone, by tag.
    let mut undone = ids_of(&fake, "test.undo");
    undone.sort();
    assert_eq!(
        undone,
        ["res-lb-r1-mark", "res-lb-r1-mark~2", "res-lb-r1-mark~3"]
    );
    assert!(fake.calls_of("test.read").is_empty());
}

/// A step of the body that fails on its own is not the freeze's fault:
/// no second attempt, the run fails and compensates as before.
#[tokio::test]
async fn a_body_step_that_fails_is_not_tried_again() {
    let fake = fake_with_servers();
    fake.rule(
        "test.create",
        Some("snap"),
        1,
        Behaviour::Permanent("quota exceeded".into()),
    );
    let plan = retried_scope_plan();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(
        matches!(&res.outcome, RunOutcome::Failed { reason } if reason.contains("quota exceeded")),
        "{:?}",
        res.outcome
    );
    assert_eq!(fake.targets_of("nova.pause").len(), 6);
    assert!(!evs
        .iter()
        .any(|e| matches!(e.kind, EventKind::ScopeRetrying { .. })));
    assert_eq!(ids_of(&fake, "test.undo"), ["res-lb-r1-mark"]);
}

/// A crash in the second attempt: the resumed run thaws, goes on with the
/// second attempt (not the first again), finds what it had made by its
/// tag, and makes nothing twice.
#[tokio::test(start_paused = true)]
async fn a_run_resumed_in_a_later_attempt_goes_on_with_it() {
    let fake = fake_with_servers();
    fake.rule(
        "test.create",
        Some("snap"),
        1,
        Behaviour::Latency(Duration::from_secs(600)),
    );
    fake.rule("test.create", Some("mark~2"), 1, Behaviour::CreateThenHang);
    let dir = tempfile::tempdir().unwrap();
    crash_when_hung(&fake, retried_scope_plan(), dir.path()).await;
    assert_eq!(fake.frozen().len(), 6, "the crash left the servers frozen");
    let freezes_before = fake.calls_of("nova.pause").len();

    let (res, _) = resume(&executor(&fake), dir.path()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded, "{:?}", res.outcome);
    assert!(fake.frozen().is_empty());
    let after: Vec<String> = fake.calls_of("nova.pause")[freezes_before..]
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert_eq!(after.len(), 6);
    assert!(after.iter().all(|s| s.starts_with("q~2:")), "{after:?}");
    assert_eq!(fake.create_count("lb-r1-mark~2"), 1);
    assert_eq!(fake.create_count("lb-r1-snap~2"), 1);
    assert_eq!(ids_of(&fake, "test.undo"), ["res-lb-r1-mark"]);
    assert_eq!(
        fake.calls_of("test.read")[0].args["id"],
        json!("res-lb-r1-snap~2")
    );
}

/// A crash while the first attempt is being undone: the resumed run
/// finishes the undo before the second attempt freezes, and never reuses
/// what it undid.
#[tokio::test(start_paused = true)]
async fn a_crash_while_an_attempt_is_undone_is_finished_on_resume() {
    let fake = fake_with_servers();
    fake.rule(
        "test.create",
        Some("snap"),
        1,
        Behaviour::Latency(Duration::from_secs(600)),
    );
    fake.rule("test.undo", None, 1, Behaviour::Hang);
    let dir = tempfile::tempdir().unwrap();
    crash_when_hung(&fake, retried_scope_plan(), dir.path()).await;
    assert!(fake.frozen().is_empty(), "thawed before the undo");
    assert_eq!(fake.targets_of("nova.pause").len(), 6);

    let (res, _) = resume(&executor(&fake), dir.path()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded, "{:?}", res.outcome);
    let undo = fake.calls_of("test.undo");
    assert_eq!(
        ids_of(&fake, "test.undo"),
        ["res-lb-r1-mark", "res-lb-r1-mark"]
    );
    let pauses = fake.calls_of("nova.pause");
    assert_eq!(pauses.len(), 12);
    assert!(
        undo[1].at <= pauses[6].at,
        "undone before the second freeze"
    );
    assert!(pauses[6].step.starts_with("q~2:"), "{}", pauses[6].step);
    assert_eq!(fake.create_count("lb-r1-mark"), 1);
    assert_eq!(fake.create_count("lb-r1-mark~2"), 1);
    assert!(fake.frozen().is_empty());
}

/// The kill sweep over a run whose scope is tried again: a crash at any
/// call (before or after its effect), then a resume, always ends with the
/// run succeeded, nothing frozen, nothing made twice, and exactly one
/// attempt kept — the one the step after the scope reads: its mark stays,
/// every other attempt's mark is undone, every snapshot cleaned up.
#[tokio::test(start_paused = true)]
async fn a_crash_at_any_call_of_a_retried_scope_resumes_cleanly() {
    let fake_for = || {
        let f = fake_with_servers();
        f.rule(
            "test.create",
            Some("snap"),
            1,
            Behaviour::Latency(Duration::from_secs(600)),
        );
        f
    };
    let clean = fake_for();
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(
        &executor(&clean),
        &retried_scope_plan(),
        dir.path(),
        Map::new(),
    )
    .await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let total = clean.calls().len();
    assert!(total > 20, "{:?}", clean.trace());
    for n in 0..total {
        for after_effect in [false, true] {
            let at = format!(
                "crash at call {n} ({}), after_effect {after_effect}",
                clean.trace()[n]
            );
            let fake = fake_for();
            fake.crash_at(n, after_effect);
            let dir = tempfile::tempdir().unwrap();
            crash_when_hung(&fake, retried_scope_plan(), dir.path()).await;
            let (res, _) = resume(&executor(&fake), dir.path()).await;
            assert_eq!(res.outcome, RunOutcome::Succeeded, "{at}");
            assert!(fake.frozen().is_empty(), "{at}: left frozen");
            let read = fake.calls_of("test.read");
            let kept = read
                .last()
                .and_then(|c| c.args["id"].as_str())
                .and_then(|id| id.strip_prefix("res-lb-r1-snap"))
                .map(str::to_string)
                .unwrap_or_else(|| panic!("{at}: nothing read after the scope"));
            let undone = ids_of(&fake, "test.undo");
            let tidied = ids_of(&fake, "test.tidy");
            for suffix in ["", "~2", "~3"] {
                for step in ["mark", "snap"] {
                    let tag = format!("lb-r1-{step}{suffix}");
                    assert!(fake.create_count(&tag) <= 1, "{at}: {tag} made twice");
                }
                let mark = format!("res-lb-r1-mark{suffix}");
                let made = fake.create_count(&format!("lb-r1-mark{suffix}")) == 1;
                let was_undone = undone.contains(&mark);
                if suffix == kept {
                    assert!(
                        made && !was_undone,
                        "{at}: the kept attempt's mark: {undone:?}"
                    );
                } else if made {
                    assert!(was_undone, "{at}: {mark} left behind: {undone:?}");
                }
                let snap = format!("res-lb-r1-snap{suffix}");
                if fake.create_count(&format!("lb-r1-snap{suffix}")) == 1 {
                    assert!(tidied.contains(&snap), "{at}: {snap} not cleaned up");
                }
            }
        }
    }
}

/// The span from a run's first freeze call to its last thaw call.
fn frozen_span(fake: &FakeCloud) -> (tokio::time::Instant, tokio::time::Instant) {
    let first = fake.calls_of("nova.pause")[0].at;
    let last = fake.calls_of("nova.unpause").last().unwrap().at;
    (first, last)
}

/// Three runs, each freezing its six servers around a snapshot of 10 s,
/// started together: with a freeze gate of one place shared by their
/// executors, no two hold servers frozen at the same time, each one's
/// window is its own snapshot's (waiting at the gate is not part of it) and
/// all succeed; without the gate, they freeze together.
#[tokio::test(start_paused = true)]
async fn a_shared_freeze_gate_lets_one_run_at_a_time_hold_servers_frozen() {
    async fn three(
        gate: Option<lifeboat_exec::FreezeGate>,
    ) -> Vec<(std::sync::Arc<FakeCloud>, Report)> {
        let (plan, _) = scope_plan(30_000, "pause");
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let fakes: Vec<_> = (0..3)
            .map(|_| {
                let f = fake_with_servers();
                f.rule(
                    "test.snap",
                    None,
                    1,
                    Behaviour::Latency(Duration::from_secs(10)),
                );
                f
            })
            .collect();
        let runs = fakes.iter().zip(&dirs).map(|(f, d)| {
            let exec = Executor::new(f.clone()).with_config(ExecConfig {
                freeze_gate: gate.clone(),
                ..ExecConfig::default()
            });
            let plan = plan.clone();
            async move { run(&exec, &plan, d.path(), Map::new()).await }
        });
        let results = futures::future::join_all(runs).await;
        fakes
            .into_iter()
            .zip(results)
            .map(|(f, (res, evs))| {
                assert_eq!(res.outcome, RunOutcome::Succeeded);
                assert!(f.frozen().is_empty());
                (f, Report::from_events(&evs))
            })
            .collect()
    }

    let gated = three(Some(lifeboat_exec::FreezeGate::new(1))).await;
    let mut spans: Vec<_> = gated.iter().map(|(f, _)| frozen_span(f)).collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "two runs held servers frozen at once: {spans:?}"
        );
    }
    for (_, report) in &gated {
        let window = report.scopes[0].window_ms.unwrap();
        assert!(
            (10_000..11_000).contains(&window),
            "the window is the snapshot's, not the wait's: {window} ms"
        );
    }

    let free = three(None).await;
    let spans: Vec<_> = free.iter().map(|(f, _)| frozen_span(f)).collect();
    assert!(
        spans.iter().all(|s| s.0 < spans[0].1),
        "without a gate the runs freeze together: {spans:?}"
    );
}

/// A run interrupted while it waits at the freeze gate (another run holds
/// the only place) has frozen nothing and ends interrupted; the other run
/// goes on and gives the place back.
#[tokio::test]
async fn a_run_interrupted_at_the_freeze_gate_freezes_nothing() {
    let gate = lifeboat_exec::FreezeGate::new(1);
    let gated = |f: &std::sync::Arc<FakeCloud>| {
        Executor::new(f.clone()).with_config(ExecConfig {
            freeze_gate: Some(gate.clone()),
            ..ExecConfig::default()
        })
    };
    let holder = fake_with_servers();
    holder.rule("test.snap", None, 1, Behaviour::Gate);
    let (plan, _) = scope_plan(0, "pause");
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (h1, _rx1) = spawn_run(gated(&holder), plan.clone(), d1.path(), CancelHandle::new());
    holder.hung.notified().await;
    let waiter = fake_with_servers();
    let cancel = CancelHandle::new();
    let (h2, _rx2) = spawn_run(gated(&waiter), plan, d2.path(), cancel.clone());
    // It found its targets and now waits at the gate.
    while waiter.calls_of("test.find").is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        waiter.calls_of("nova.pause").is_empty(),
        "froze without a place"
    );
    cancel.interrupt();
    let res = h2.await.unwrap();
    assert!(
        matches!(res.outcome, RunOutcome::Interrupted { .. }),
        "{:?}",
        res.outcome
    );
    assert!(waiter.calls_of("nova.pause").is_empty());
    assert!(waiter.calls_of("nova.unpause").is_empty());
    holder.open_gate(1);
    assert_eq!(h1.await.unwrap().outcome, RunOutcome::Succeeded);
    assert!(holder.frozen().is_empty());
}
