//! Walking the plan: retries, fan-out, limits, the skip rule, loop results,
//! approvals, tags, bad input.

mod common;

use common::builder::*;
use common::fake::{Behaviour, FakeCloud};
use common::*;
use lifeboat_dsl::plan::{BinOp, Expr, Type};
use lifeboat_exec::{
    make_tag, AutoApprove, EventKind, ExecConfig, ExecError, Executor, Limits, Report, RunOptions,
    RunOutcome,
};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

fn echo_fake() -> Arc<FakeCloud> {
    let fake = FakeCloud::new();
    fake.respond("test.echo", |c| Value::Object(c.args.clone()));
    fake
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_after_retry_after() {
    let fake = echo_fake();
    fake.rule(
        "test.echo",
        None,
        2,
        Behaviour::Transient(Some(Duration::from_secs(7))),
    );
    let mut b = PlanBuilder::new("r");
    let a = b.action(
        None,
        "a",
        "test.echo",
        vec![arg("v", Type::Int, Expr::Int(1))],
    );
    b.retry(a, 3, 100);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let calls = fake.calls_of("test.echo");
    assert_eq!(
        calls.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    for w in calls.windows(2) {
        let gap = w[1].at - w[0].at;
        // the server's Retry-After (plus at most 25 % jitter), not the
        // step's 100ms backoff
        assert!(
            gap >= Duration::from_secs(7) && gap < Duration::from_millis(8760),
            "{gap:?}"
        );
        assert_eq!(w[0].tag, w[1].tag, "retries keep the tag");
    }
    let retries: Vec<u64> = evs
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepRetrying { delay_ms, .. } => Some(*delay_ms),
            _ => None,
        })
        .collect();
    assert_eq!(retries.len(), 2);
    assert!(
        retries.iter().all(|d| (7000..=8750).contains(d)),
        "{retries:?}"
    );
    assert_eq!(Report::from_events(&evs).step("a").unwrap().attempts, 3);
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_and_retries_run_out() {
    let fake = echo_fake();
    fake.rule("test.echo", None, 10, Behaviour::Transient(None));
    let mut b = PlanBuilder::new("r");
    let a = b.action(None, "a", "test.echo", vec![]);
    b.retry(a, 2, 1000);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    let calls = fake.calls_of("test.echo");
    assert_eq!(calls.len(), 3);
    let g1 = calls[1].at - calls[0].at;
    let g2 = calls[2].at - calls[1].at;
    // jitter in [1/2, 1] of 1s, then of 2s
    assert!(
        g1 >= Duration::from_millis(500) && g1 <= Duration::from_millis(1000),
        "{g1:?}"
    );
    assert!(
        g2 >= Duration::from_millis(1000) && g2 <= Duration::from_millis(2000),
        "{g2:?}"
    );
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let fake = echo_fake();
    fake.rule(
        "test.echo",
        None,
        1,
        Behaviour::Permanent("404 volume not found".into()),
    );
    let mut b = PlanBuilder::new("r");
    let a = b.action(None, "a", "test.echo", vec![]);
    b.retry(a, 3, 10);
    let after = b.action(None, "b", "test.echo", vec![]);
    b.after(after, a);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(fake.calls_of("test.echo").len(), 1);
    match res.outcome {
        RunOutcome::Failed { reason } => {
            assert!(reason.contains("a: 404 volume not found"), "{reason}")
        }
        o => panic!("{o:?}"),
    }
    let r = Report::from_events(&evs);
    assert_eq!(
        r.step("b").unwrap().outcome,
        lifeboat_exec::report::StepOutcome::Cancelled
    );
}

#[tokio::test(start_paused = true)]
async fn fan_out_never_exceeds_parallel_n() {
    let fake = echo_fake();
    fake.rule(
        "test.echo",
        None,
        100,
        Behaviour::Latency(Duration::from_millis(50)),
    );
    let mut b = PlanBuilder::new("r");
    let items: Vec<Expr> = (0..12).map(Expr::Int).collect();
    let l = b.for_each(None, "for@2", "i", list(items), 3);
    b.action(
        Some(l),
        "w",
        "test.echo",
        vec![arg("i", Type::Int, Expr::LoopVar(l))],
    );
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(fake.calls_of("test.echo").len(), 12);
    assert_eq!(fake.max_in_flight_action("test.echo"), 3);
}

#[tokio::test(start_paused = true)]
async fn per_site_limit_is_never_exceeded() {
    let fake = echo_fake();
    fake.rule(
        "test.echo",
        None,
        100,
        Behaviour::Latency(Duration::from_millis(50)),
    );
    let mut b = PlanBuilder::new("r");
    let items: Vec<Expr> = (0..10).map(Expr::Int).collect();
    let l = b.for_each(None, "for@2", "i", list(items.clone()), 10);
    b.action(
        Some(l),
        "a",
        "test.echo",
        vec![arg("site", Type::Site, s("site-a"))],
    );
    let l2 = b.for_each(None, "for@5", "i", list(items), 10);
    // site from the first record argument
    b.action(
        Some(l2),
        "b",
        "test.echo",
        vec![arg("vol", rec("volume"), Expr::Interp(vec![]))],
    );
    let plan = b.build();
    let exec = Executor::new(fake.clone()).with_config(ExecConfig {
        limits: Limits::default().with_site("site-a", 2),
        ..ExecConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&exec, &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(fake.max_in_flight_site("site-a"), 2);
    // a string is not a record with a site: no site, not limited
    assert!(fake
        .calls()
        .iter()
        .filter(|c| c.step.starts_with("b["))
        .all(|c| c.site.is_none()));
}

#[tokio::test(start_paused = true)]
async fn site_of_a_record_argument_is_limited_too() {
    let fake = echo_fake();
    fake.rule(
        "test.echo",
        None,
        100,
        Behaviour::Latency(Duration::from_millis(50)),
    );
    let mut b = PlanBuilder::new("r");
    let vols: Vec<Value> = (0..8)
        .map(|i| json!({"id": format!("v{i}"), "site": "site-b"}))
        .collect();
    b.param(
        "vols",
        Type::List(Box::new(rec("volume"))),
        Some(Value::Array(vols)),
    );
    let l = b.for_each(None, "for@2", "v", param("vols"), 8);
    b.action(
        Some(l),
        "a",
        "test.echo",
        vec![arg("volume", rec("volume"), Expr::LoopVar(l))],
    );
    let plan = b.build();
    let exec = Executor::new(fake.clone()).with_config(ExecConfig {
        limits: Limits {
            default_per_site: 3,
            ..Limits::default()
        },
        ..ExecConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&exec, &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(
        fake.calls_of("test.echo")[0].site.as_deref(),
        Some("site-b")
    );
    assert_eq!(fake.max_in_flight_site("site-b"), 3);
}

#[tokio::test]
async fn when_false_skips_and_data_dependants_skip_but_after_dependants_run() {
    let fake = echo_fake();
    let mut b = PlanBuilder::new("r");
    let a = b.action(None, "a", "test.echo", vec![]);
    b.when(a, Expr::Bool(false));
    let reads = b.action(
        None,
        "reads_a",
        "test.echo",
        vec![arg("x", Type::String, step(a))],
    );
    let after = b.action(None, "after_a", "test.echo", vec![]);
    b.after(after, a);
    let free = b.action(None, "free", "test.echo", vec![]);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let ran: Vec<String> = fake.calls().iter().map(|c| c.step.clone()).collect();
    assert!(ran.contains(&"after_a".to_string()) && ran.contains(&"free".to_string()));
    assert!(!ran.contains(&"a".to_string()) && !ran.contains(&"reads_a".to_string()));
    let skipped: Vec<&str> = evs
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepSkipped { instance, .. } => Some(instance.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, ["a", "reads_a"]);
    let _ = (reads, free);
}

#[tokio::test(start_paused = true)]
async fn loop_results_read_from_outside_are_lists_in_item_order() {
    let fake = echo_fake();
    // later items finish first
    for (i, ms) in [(0, 300), (1, 200), (2, 100), (3, 10)] {
        fake.rule(
            "test.echo",
            Some(&format!("x[{i}]")),
            1,
            Behaviour::Latency(Duration::from_millis(ms)),
        );
    }
    let mut b = PlanBuilder::new("r");
    let items: Vec<Expr> = ["a", "b", "c", "d"].iter().map(|v| s(v)).collect();
    let l = b.for_each(None, "for@2", "v", list(items), 4);
    let x = b.action(
        Some(l),
        "x",
        "test.echo",
        vec![arg("v", Type::String, Expr::LoopVar(l))],
    );
    // iteration "c" is skipped: left out of the list
    b.when(
        x,
        Expr::Binary(BinOp::Ne, Box::new(Expr::LoopVar(l)), Box::new(s("c"))),
    );
    let y = b.action(
        None,
        "y",
        "test.echo",
        vec![arg(
            "vs",
            Type::List(Box::new(Type::String)),
            field(step(x), "v"),
        )],
    );
    let plan = b.build();
    assert!(plan.node(y).deps.iter().any(|d| d.on == l));
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let ycall = fake.calls().into_iter().find(|c| c.step == "y").unwrap();
    assert_eq!(ycall.args["vs"], json!(["a", "b", "d"]));
}

#[tokio::test]
async fn nested_loops_name_instances_and_tags() {
    let fake = echo_fake();
    let mut b = PlanBuilder::new("r");
    let outer = b.for_each(
        None,
        "for@1",
        "o",
        list(vec![Expr::Int(0), Expr::Int(1)]),
        2,
    );
    let inner = b.for_each(Some(outer), "for@2", "i", list(vec![s("p"), s("q")]), 2);
    let att = b.action(
        Some(inner),
        "att",
        "test.echo",
        vec![
            arg("o", Type::Int, Expr::LoopVar(outer)),
            arg("i", Type::String, Expr::LoopVar(inner)),
        ],
    );
    let all = b.action(
        None,
        "all",
        "test.echo",
        vec![arg("x", Type::String, field(step(att), "i"))],
    );
    let plan = b.build();
    let _ = all;
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let c = fake
        .calls()
        .into_iter()
        .find(|c| c.step == "att[1][0]")
        .expect("instance att[1][0]");
    assert_eq!(c.tag, "lb-r1-att-1-0");
    assert_eq!(c.args["o"], json!(1));
    assert_eq!(c.args["i"], json!("p"));
    let all = fake.calls().into_iter().find(|c| c.step == "all").unwrap();
    // read from outside both loops: one flat list, outer then inner order
    assert_eq!(all.args["x"], json!(["p", "q", "p", "q"]));
    let tags: std::collections::HashSet<String> =
        fake.calls().iter().map(|c| c.tag.clone()).collect();
    assert_eq!(tags.len(), fake.calls().len(), "tags are unique");
}

#[test]
fn tags_are_short_safe_and_unique() {
    assert_eq!(make_tag("3f9a1c", "tmp[2]"), "lb-3f9a1c-tmp-2");
    assert_eq!(
        make_tag("3f9a1c", "nova.pause@12"),
        "lb-3f9a1c-nova-pause-12"
    );
    let long_a = make_tag("r", &format!("{}[1]", "x".repeat(80)));
    let long_b = make_tag("r", &format!("{}[2]", "x".repeat(80)));
    assert!(long_a.len() <= 48, "{long_a}");
    assert_ne!(long_a, long_b);
    assert!(long_a
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
}

fn approve_plan() -> lifeboat_dsl::plan::Plan {
    let mut b = PlanBuilder::new("failover");
    let a = b.action(None, "read", "test.echo", vec![]);
    let ap = b.approve(None, "approve@3", "Fail over vnf1 to site-b?");
    b.after(ap, a);
    let after = b.action(None, "boot", "test.create", vec![]);
    b.after(after, ap);
    b.build()
}

#[tokio::test]
async fn refused_approval_stops_the_run_before_anything_after_it() {
    let fake = echo_fake();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &approve_plan(), dir.path(), Map::new()).await;
    match &res.outcome {
        RunOutcome::Failed { reason } => assert!(reason.contains("--confirm"), "{reason}"),
        o => panic!("{o:?}"),
    }
    assert!(fake.calls_of("test.create").is_empty());
    assert!(evs.iter().any(|e| matches!(&e.kind, EventKind::ApprovalRequested { prompt, .. } if prompt == "Fail over vnf1 to site-b?")));

    let fake = echo_fake();
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(&fake).with_approver(Arc::new(AutoApprove));
    let (res, _) = run(&exec, &approve_plan(), dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(fake.calls_of("test.create").len(), 1);
}

#[tokio::test]
async fn bad_input_fails_a_step_with_context_never_panics() {
    let fake = echo_fake();
    let mut b = PlanBuilder::new("r");
    b.param("name", Type::String, Some(json!("x")));
    let l = b.for_each(None, "for@1", "v", param("name"), 2); // a string, not a list
    b.action(Some(l), "w", "test.echo", vec![]);
    let m = b.action(
        None,
        "m",
        "test.echo",
        vec![arg("x", Type::String, param("nope"))],
    );
    let f = b.action(
        None,
        "f",
        "test.echo",
        vec![arg("x", Type::String, field(param("name"), "id"))],
    );
    let plan = b.no_auto_deps().build();
    let _ = (m, f);
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    let errors: Vec<String> = evs
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepFailed { instance, error } => Some(format!("{instance}: {error}")),
            _ => None,
        })
        .collect();
    let all = errors.join("\n");
    assert!(
        all.contains("for@1: `for v` iterates over a string, expected a list"),
        "{all}"
    );
    assert!(
        all.contains("m: argument `x`: unknown parameter `nope`"),
        "{all}"
    );
    assert!(
        all.contains("f: argument `x`: cannot read field `id` of a string"),
        "{all}"
    );
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn missing_required_param_is_an_error_before_anything_runs() {
    let fake = echo_fake();
    let mut b = PlanBuilder::new("r");
    b.param("vnf", Type::String, None);
    b.action(
        None,
        "a",
        "test.echo",
        vec![arg("v", Type::String, param("vnf"))],
    );
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let err = executor(&fake)
        .run(&plan, Map::new(), RunOptions::new(dir.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecError::MissingParam(ref p) if p == "vnf"),
        "{err}"
    );
    assert!(fake.calls().is_empty());
    let mut params = Map::new();
    params.insert("vnf".into(), json!("vnf1"));
    let (res, _) = run(&executor(&fake), &plan, dir.path(), params.clone()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(fake.calls()[0].args["v"], json!("vnf1"));
    // a run directory is used once
    let err = executor(&fake)
        .run(&plan, params.clone(), RunOptions::new(dir.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, ExecError::RunDirInUse(_)), "{err}");
    params.insert("other".into(), json!(1));
    let dir2 = tempfile::tempdir().unwrap();
    let err = executor(&fake)
        .run(&plan, params, RunOptions::new(dir2.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExecError::UnknownParam(ref p, _) if p == "other"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn hundred_vm_fan_out_runs_as_wide_as_allowed() {
    // 100 items, parallel 100, site limit 200: every call overlaps; with a fixed
    // 1s latency the two dependent steps per item take two latencies in all.
    let fake = echo_fake();
    fake.rule(
        "test.echo",
        None,
        1000,
        Behaviour::Latency(Duration::from_secs(1)),
    );
    let mut b = PlanBuilder::new("r");
    let items: Vec<Expr> = (0..100).map(Expr::Int).collect();
    let l = b.for_each(None, "for@1", "i", list(items), 100);
    let x = b.action(
        Some(l),
        "x",
        "test.echo",
        vec![arg("i", Type::Int, Expr::LoopVar(l))],
    );
    b.action(
        Some(l),
        "y",
        "test.echo",
        vec![arg("x", Type::Int, step(x))],
    );
    let plan = b.build();
    let exec = Executor::new(fake.clone()).with_config(ExecConfig {
        limits: Limits {
            default_per_site: 200,
            ..Limits::default()
        },
        ..ExecConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let t0 = tokio::time::Instant::now();
    let (res, evs) = run(&exec, &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert_eq!(fake.calls().len(), 200);
    assert_eq!(fake.max_in_flight_action("test.echo"), 100);
    // virtual time: exactly the critical path (2 latencies), no added waits
    assert_eq!(t0.elapsed().as_secs(), 2);
    assert_eq!(Report::from_events(&evs).steps.len(), 200);
}

#[tokio::test(start_paused = true)]
async fn the_timeout_is_handed_to_the_action_and_enforced_around_it() {
    let fake = echo_fake();
    fake.rule("test.echo", None, 1, Behaviour::Hang);
    let mut b = PlanBuilder::new("r");
    let a = b.action(None, "a", "test.echo", vec![]);
    b.timeout(a, 10_000);
    b.retry(a, 3, 10); // a timeout is not transient: no retry
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let t0 = tokio::time::Instant::now();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(10) && waited < Duration::from_secs(60),
        "{waited:?}"
    );
    match res.outcome {
        RunOutcome::Failed { reason } => assert!(
            reason.contains("did not return within its timeout of 10s"),
            "{reason}"
        ),
        o => panic!("{o:?}"),
    }
    let calls = fake.calls_of("test.echo");
    assert_eq!(calls.len(), 1);
}

#[tokio::test]
async fn bytes_moved_and_timings_reach_the_report() {
    let fake = FakeCloud::new();
    fake.respond("test.backup", |c| json!({"id": c.tag, "bytes": 1_048_576}));
    let mut b = PlanBuilder::new("protect");
    let l = b.for_each(
        None,
        "for@1",
        "v",
        list(vec![Expr::Int(1), Expr::Int(2), Expr::Int(3)]),
        2,
    );
    b.action(
        Some(l),
        "b",
        "test.backup",
        vec![arg("v", Type::Int, Expr::LoopVar(l))],
    );
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    let r = Report::from_events(&evs);
    assert_eq!(r.bytes_moved, 3 * 1_048_576);
    assert_eq!(r.run_id, "r1");
    assert_eq!(r.outcome, Some(RunOutcome::Succeeded));
    let b1 = r.step("b[1]").unwrap();
    assert_eq!(b1.action, "test.backup");
    assert_eq!(b1.bytes_moved, 1_048_576);
    assert!(b1.duration_ms.is_some() && b1.started_ms.is_some());
    let text = r.render_text();
    assert!(text.contains("bytes moved: 3.0 MiB"), "{text}");
    assert!(text.contains("b[2]"), "{text}");
    let back: Report = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
    assert_eq!(back.bytes_moved, r.bytes_moved);
}

struct NeverAnswers;

#[async_trait::async_trait]
impl lifeboat_exec::Approver for NeverAnswers {
    async fn approve(&self, _prompt: &str) -> Result<bool, lifeboat_exec::ApproveError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn an_interrupt_while_waiting_for_approval_stops_the_run() {
    let fake = echo_fake();
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(&fake).with_approver(Arc::new(NeverAnswers));
    let cancel = lifeboat_exec::CancelHandle::new();
    let (h, mut rx) = spawn_run(exec, approve_plan(), dir.path(), cancel.clone());
    loop {
        let e = rx.recv().await.unwrap();
        if matches!(e.kind, EventKind::ApprovalRequested { .. }) {
            break;
        }
    }
    cancel.interrupt();
    let res = h.await.unwrap();
    assert!(
        matches!(res.outcome, RunOutcome::Interrupted { .. }),
        "{:?}",
        res.outcome
    );
    assert!(fake.calls_of("test.create").is_empty());
}

/// Actions that served other runs before: the pressure they report counts
/// every request since they were made.
struct Shared {
    fake: Arc<FakeCloud>,
    requests: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl lifeboat_exec::action::Actions for Shared {
    async fn run(
        &self,
        call: &lifeboat_exec::action::ActionCall,
    ) -> Result<lifeboat_exec::action::ActionOutput, lifeboat_exec::action::ActionError> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.fake.run(call).await
    }
    async fn find_created(
        &self,
        call: &lifeboat_exec::action::ActionCall,
    ) -> Result<Option<lifeboat_exec::action::ActionOutput>, lifeboat_exec::action::ActionError>
    {
        self.fake.find_created(call).await
    }
    fn pressure(&self) -> Vec<lifeboat_exec::action::SitePressure> {
        let requests = self.requests.load(std::sync::atomic::Ordering::SeqCst);
        vec![lifeboat_exec::action::SitePressure {
            site: "site-a".into(),
            requests,
            retries: requests / 10,
            throttled: requests / 10,
            limit: 4,
            lowest_limit: 2,
            ceiling: 8,
            holds: 0,
        }]
    }
}

/// A run reports what its sites did while it ran, not since the actions
/// were made.
#[tokio::test]
async fn a_run_reports_the_site_pressure_of_its_own_time() {
    let shared = Arc::new(Shared {
        fake: echo_fake(),
        requests: 1000.into(),
    });
    let mut b = PlanBuilder::new("r");
    for name in ["a", "b", "c"] {
        b.action(
            None,
            name,
            "test.echo",
            vec![arg("site", Type::Site, Expr::Str("site-a".into()))],
        );
    }
    let plan = b.build();
    let exec = Executor::new(shared.clone());
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let (res, evs) = run(&exec, &plan, dir.path(), Map::new()).await;
        assert_eq!(res.outcome, RunOutcome::Succeeded);
        let report = Report::from_events(&evs);
        let p = &report.sites[0];
        assert_eq!((p.site.as_str(), p.requests, p.retries), ("site-a", 3, 0));
        // The limit now; the lowest (2) was reached before this run.
        assert_eq!((p.limit, p.lowest_limit, p.ceiling), (4, 4, 8));
    }
}
