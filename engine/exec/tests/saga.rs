//! Compensation (reverse order, on failure) and cleanup (always).

mod common;

use common::builder::*;
use common::fake::{Behaviour, FakeCloud};
use common::*;
use lifeboat_dsl::plan::{Expr, Plan, Type};
use lifeboat_exec::{EventKind, Report, RunOutcome};
use serde_json::{json, Map};

/// a → b → c, each creating; a and b compensate with `test.undo(id: result.id, was: input name)`;
/// every step has a cleanup `test.tidy(id: result.id)`.
fn chain(fail_c: bool) -> (Plan, std::sync::Arc<FakeCloud>) {
    let fake = FakeCloud::new();
    if fail_c {
        fake.rule(
            "test.create",
            Some("c"),
            1,
            Behaviour::Permanent("c exploded".into()),
        );
    }
    let mut b = PlanBuilder::new("r");
    let mut prev = None;
    for name in ["a", "b", "c"] {
        let id = b.action(
            None,
            name,
            "test.create",
            vec![arg("name", Type::String, s(&format!("n-{name}")))],
        );
        if let Some(p) = prev {
            b.after(id, p);
        }
        if name != "c" {
            b.compensate(
                id,
                "test.undo",
                vec![
                    arg("id", Type::String, field(Expr::Result, "id")),
                    arg("was", Type::String, Expr::Input("name".into())),
                ],
            );
        }
        b.cleanup(
            id,
            "test.tidy",
            vec![arg("id", Type::String, field(Expr::Result, "id"))],
        );
        prev = Some(id);
    }
    (b.build(), fake)
}

#[tokio::test]
async fn failure_compensates_in_reverse_and_cleans_up() {
    let (plan, fake) = chain(true);
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    let undo = fake.calls_of("test.undo");
    assert_eq!(
        undo.iter().map(|c| c.step.as_str()).collect::<Vec<_>>(),
        ["b:compensate", "a:compensate"]
    );
    // Expr::Result and Expr::Input
    assert_eq!(undo[0].args["id"], json!("res-lb-r1-b"));
    assert_eq!(undo[0].args["was"], json!("n-b"));
    assert_eq!(undo[0].tag, "lb-r1-b-c");
    // cleanup after compensation, reverse order, only of completed steps
    let trace = fake.trace();
    let tidy: Vec<&String> = trace
        .iter()
        .filter(|t| t.starts_with("test.tidy"))
        .collect();
    assert_eq!(tidy, ["test.tidy b:cleanup", "test.tidy a:cleanup"]);
    let last_undo = trace
        .iter()
        .rposition(|t| t.starts_with("test.undo"))
        .unwrap();
    let first_tidy = trace
        .iter()
        .position(|t| t.starts_with("test.tidy"))
        .unwrap();
    assert!(first_tidy > last_undo);
    let report = Report::from_events(&evs);
    assert_eq!(report.compensated, ["b", "a"]);
    assert_eq!(report.cleaned_up, ["b", "a"]);
}

#[tokio::test]
async fn success_cleans_up_without_compensating() {
    let (plan, fake) = chain(false);
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert_eq!(res.outcome, RunOutcome::Succeeded);
    assert!(fake.calls_of("test.undo").is_empty());
    let tidy: Vec<String> = fake
        .calls_of("test.tidy")
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert_eq!(tidy, ["c:cleanup", "b:cleanup", "a:cleanup"]);
    assert!(evs
        .iter()
        .any(|e| matches!(e.kind, EventKind::CleanedUp { .. })));
}

#[tokio::test]
async fn a_failed_compensation_is_reported_and_the_others_still_run() {
    let (plan, fake) = chain(true);
    fake.rule(
        "test.undo",
        Some("b:compensate"),
        1,
        Behaviour::Permanent("undo refused".into()),
    );
    fake.rule(
        "test.tidy",
        Some("b:cleanup"),
        1,
        Behaviour::Permanent("tidy refused".into()),
    );
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    assert_eq!(res.compensation_failures, 1);
    assert_eq!(res.cleanup_failures, 1);
    assert_eq!(
        fake.calls_of("test.undo").len(),
        2,
        "a is compensated although b's failed"
    );
    assert_eq!(fake.calls_of("test.tidy").len(), 2);
    assert!(evs.iter().any(|e| matches!(&e.kind, EventKind::CompensationFailed { instance, error } if instance == "b" && error.contains("undo refused"))));
    let report = Report::from_events(&evs);
    assert_eq!(report.compensated, ["a"]);
    assert_eq!(report.compensation_failures.len(), 1);
    assert_eq!(report.cleanup_failures.len(), 1);
    let text = report.render_text();
    assert!(
        text.contains("compensation FAILED for b: test.undo: undo refused"),
        "{text}"
    );
    assert!(text.contains("cleanup FAILED for b"), "{text}");
    // the report serialises
    let j = serde_json::to_value(&report).unwrap();
    assert_eq!(j["compensation_failures"][0]["instance"], json!("b"));
}

#[tokio::test]
async fn loop_steps_are_compensated_per_iteration_after_later_steps() {
    // for v in [1,2,3] { tmp = create } ; after: fail. tmp[*] compensated, each once.
    let fake = FakeCloud::new();
    fake.rule("test.fail", None, 1, Behaviour::Permanent("boom".into()));
    let mut b = PlanBuilder::new("r");
    let l = b.for_each(
        None,
        "for@1",
        "v",
        list(vec![Expr::Int(1), Expr::Int(2), Expr::Int(3)]),
        3,
    );
    let tmp = b.action(
        Some(l),
        "tmp",
        "test.create",
        vec![arg("v", Type::Int, Expr::LoopVar(l))],
    );
    b.compensate(
        tmp,
        "test.undo",
        vec![
            arg("id", Type::String, field(Expr::Result, "id")),
            arg("v", Type::Int, Expr::LoopVar(l)),
        ],
    );
    let later = b.action(None, "later", "test.create", vec![]);
    b.after(later, l);
    b.compensate(
        later,
        "test.undo",
        vec![arg("id", Type::String, field(Expr::Result, "id"))],
    );
    let f = b.action(None, "f", "test.fail", vec![]);
    b.after(f, later);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, _) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    let undo: Vec<String> = fake
        .calls_of("test.undo")
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert_eq!(undo[0], "later:compensate");
    let mut rest = undo[1..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        [
            "tmp[0]:compensate",
            "tmp[1]:compensate",
            "tmp[2]:compensate"
        ]
    );
    // the loop variable of each iteration is available to its compensation
    let mut vs: Vec<i64> = fake.calls_of("test.undo")[1..]
        .iter()
        .map(|c| c.args["v"].as_i64().unwrap())
        .collect();
    vs.sort();
    assert_eq!(vs, [1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_failure_lets_calls_in_flight_finish_and_compensates_them() {
    let fake = FakeCloud::new();
    fake.rule(
        "test.create",
        Some("slow"),
        1,
        Behaviour::Latency(std::time::Duration::from_secs(30)),
    );
    fake.rule(
        "test.create",
        Some("fails"),
        1,
        Behaviour::Permanent("quota".into()),
    );
    let mut b = PlanBuilder::new("r");
    let slow = b.action(None, "slow", "test.create", vec![]);
    b.compensate(
        slow,
        "test.undo",
        vec![arg("id", Type::String, field(Expr::Result, "id"))],
    );
    b.action(None, "fails", "test.create", vec![]);
    let later = b.action(None, "later", "test.create", vec![]);
    b.after(later, slow);
    let plan = b.build();
    let dir = tempfile::tempdir().unwrap();
    let (res, evs) = run(&executor(&fake), &plan, dir.path(), Map::new()).await;
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    // slow was in flight when fails failed: it finished, and was compensated
    assert!(evs.iter().any(
        |e| matches!(&e.kind, EventKind::StepSucceeded { instance, .. } if instance == "slow")
    ));
    assert_eq!(fake.calls_of("test.undo").len(), 1);
    // nothing new started after the failure
    assert!(!fake.calls().iter().any(|c| c.step == "later"));
}

/// `commit within … default …`: a run whose steps all succeed awaits the
/// decision with its saga open. A rollback compensates every completed step
/// in reverse order (and ends `RolledBack`); a commit keeps them (and ends
/// `Succeeded`); each is refused once the other was taken, repeating one
/// changes nothing, and past the deadline the runbook's default is taken.
#[tokio::test]
async fn a_run_awaiting_commit_is_committed_or_rolled_back() {
    use lifeboat_dsl::plan::{CommitPolicy, Decision};
    use lifeboat_exec::{DecideBy, RunOptions};
    let decide = |exec: lifeboat_exec::Executor, dir: std::path::PathBuf, by: DecideBy| async move {
        exec.decide(RunOptions::new(dir), by).await
    };

    // Rolled back by the operator.
    let (mut plan, fake) = chain(false);
    plan.commit = Some(CommitPolicy {
        within_ms: 3_600_000,
        default: Decision::Commit,
    });
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(&fake);
    let (res, _) = run(&exec, &plan, dir.path(), Map::new()).await;
    let RunOutcome::AwaitingCommit { deadline, default } = &res.outcome else {
        panic!("{:?}", res.outcome)
    };
    assert_eq!(*default, Decision::Commit);
    let deadline = chrono::DateTime::parse_from_rfc3339(deadline).unwrap();
    let left = deadline.signed_duration_since(chrono::Utc::now());
    assert!(
        left.num_minutes() > 58 && left.num_minutes() <= 60,
        "{left}"
    );
    assert!(res.outcome.is_success());
    // Cleanups ran at the end of the walk; nothing compensated yet.
    assert_eq!(fake.calls_of("test.tidy").len(), 3);
    assert!(fake.calls_of("test.undo").is_empty());
    // Not due: the deadline changes nothing.
    let r = decide(exec.clone(), dir.path().into(), DecideBy::Deadline)
        .await
        .unwrap();
    assert!(r.outcome.is_awaiting_commit(), "{:?}", r.outcome);
    let r = decide(
        exec.clone(),
        dir.path().into(),
        DecideBy::Operator(Decision::Rollback),
    )
    .await
    .unwrap();
    assert!(
        matches!(&r.outcome, RunOutcome::RolledBack { reason } if reason.contains("operator")),
        "{:?}",
        r.outcome
    );
    assert_eq!(r.compensation_failures, 0);
    let undo: Vec<String> = fake
        .calls_of("test.undo")
        .iter()
        .map(|c| c.step.clone())
        .collect();
    assert_eq!(undo, ["b:compensate", "a:compensate"]);
    // Rolled back again: nothing more; committed: refused, nothing done.
    let r = decide(
        exec.clone(),
        dir.path().into(),
        DecideBy::Operator(Decision::Rollback),
    )
    .await
    .unwrap();
    assert!(matches!(r.outcome, RunOutcome::RolledBack { .. }));
    let e = decide(
        exec.clone(),
        dir.path().into(),
        DecideBy::Operator(Decision::Commit),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("was rolled back"), "{e}");
    assert_eq!(fake.calls_of("test.undo").len(), 2);
    let records = lifeboat_exec::read_journal(dir.path()).unwrap();
    assert!(records
        .iter()
        .any(|r| matches!(r, lifeboat_exec::Record::Decided { decision: Decision::Rollback, by, .. } if by == "operator")));

    // Committed by the operator: nothing undone; a rollback is refused.
    let (mut plan, fake) = chain(false);
    plan.commit = Some(CommitPolicy {
        within_ms: 3_600_000,
        default: Decision::Rollback,
    });
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(&fake);
    let (res, _) = run(&exec, &plan, dir.path(), Map::new()).await;
    assert!(res.outcome.is_awaiting_commit());
    let r = decide(
        exec.clone(),
        dir.path().into(),
        DecideBy::Operator(Decision::Commit),
    )
    .await
    .unwrap();
    assert_eq!(r.outcome, RunOutcome::Succeeded);
    let e = decide(
        exec.clone(),
        dir.path().into(),
        DecideBy::Operator(Decision::Rollback),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("was committed"), "{e}");
    assert!(fake.calls_of("test.undo").is_empty());

    // Past the deadline: the default (rollback), by `resume` too.
    let (mut plan, fake) = chain(false);
    plan.commit = Some(CommitPolicy {
        within_ms: 1,
        default: Decision::Rollback,
    });
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(&fake);
    let (res, _) = run(&exec, &plan, dir.path(), Map::new()).await;
    assert!(res.outcome.is_awaiting_commit());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (r, _) = resume(&exec, dir.path()).await;
    assert!(
        matches!(&r.outcome, RunOutcome::RolledBack { reason } if reason.contains("deadline")),
        "{:?}",
        r.outcome
    );
    assert_eq!(fake.calls_of("test.undo").len(), 2);

    // A failed run: nothing to decide.
    let (mut plan, fake) = chain(true);
    plan.commit = Some(CommitPolicy {
        within_ms: 3_600_000,
        default: Decision::Commit,
    });
    let dir = tempfile::tempdir().unwrap();
    let exec = executor(&fake);
    let (res, _) = run(&exec, &plan, dir.path(), Map::new()).await;
    assert!(matches!(res.outcome, RunOutcome::Failed { .. }));
    let e = decide(
        exec,
        dir.path().into(),
        DecideBy::Operator(Decision::Commit),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("failed and was compensated"), "{e}");
}
