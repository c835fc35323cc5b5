//! The history survives reopening (a restart), its locks tell a live owner
//! from a dead one, and /metrics served over HTTP says what the history holds.

use chrono::{DateTime, Duration, Utc};
use lifeboat_daemon::clock::{Clock, TestClock};
use lifeboat_daemon::history::{BackupRow, History, NewRun, PointRow, Query, RunEnd, RunKind};
use lifeboat_daemon::http::MetricsState;
use lifeboat_daemon::lock::{Acquired, Held};
use lifeboat_daemon::metrics::JobLabel;
use lifeboat_daemon::owner::Owner;
use serde_json::{json, Map};
use std::collections::BTreeMap;
use std::sync::Arc;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn params(vnf: &str) -> Map<String, serde_json::Value> {
    let mut m = Map::new();
    m.insert("vnf".into(), json!(vnf));
    m
}

/// ended, outcome, duration ms, quiesce ms, recovery point.
type End<'a> = (&'a str, &'a str, u64, Option<u64>, Option<&'a str>);

fn run(h: &History, id: &str, job: &str, started: &str, end: Option<End>) {
    h.record_start(&NewRun {
        id: id.into(),
        runbook: "protect".into(),
        job: Some(job.into()),
        kind: RunKind::Scheduled,
        params: params("vims"),
        cloud: "site-a=emulator, site-b=emulator".into(),
        run_dir: format!("/nonexistent/{id}").into(),
        started: t(started),
        owner: Owner::me(),
    })
    .unwrap();
    if let Some((ended, outcome, ms, q, rpo)) = end {
        h.record_end(
            id,
            &RunEnd {
                ended: t(ended),
                outcome: outcome.into(),
                duration_ms: Some(ms),
                rpo_point: rpo.map(str::to_string),
                quiesce_ms: q,
                bytes: 100,
            },
        )
        .unwrap();
    }
}

#[test]
fn history_and_locks_survive_a_restart_and_tell_live_owners_from_dead_ones() {
    let dir = tempfile::tempdir().unwrap();
    let key = lifeboat_daemon::lock::job_key("option1/protect", &params("vims"));
    assert_ne!(
        key,
        lifeboat_daemon::lock::job_key("option1/protect", &params("other"))
    );
    {
        let h = History::open(dir.path()).unwrap();
        run(
            &h,
            "r1",
            "j",
            "2026-11-25T00:00:00Z",
            Some((
                "2026-11-25T00:05:00Z",
                "succeeded",
                300_000,
                Some(900),
                None,
            )),
        );
        run(&h, "r2", "j", "2026-11-25T04:00:00Z", None);
        let dead = Owner::decode("4194304:1").unwrap();
        assert_eq!(
            h.try_lock(&key, "r2", &dead, t("2026-11-25T04:00:00Z"))
                .unwrap(),
            Ok(Acquired::Fresh)
        );
        // A live owner (this process) holds it against everyone, itself included.
        let me = Owner::me();
        let at = t("2026-11-25T04:30:00Z");
        assert_eq!(
            h.try_lock("other-key", "x1", &me, at).unwrap(),
            Ok(Acquired::Fresh)
        );
        let held = Held {
            run_id: "x1".into(),
            owner: me.encode(),
            since: "2026-11-25T04:30:00.000Z".into(),
        };
        assert_eq!(
            h.try_lock("other-key", "x2", &me, Utc::now()).unwrap(),
            Err(held.clone())
        );
        assert_eq!(
            held.describe(),
            format!(
                "run x1 (pid {}, since 2026-11-25T04:30:00.000Z)",
                std::process::id()
            )
        );
    }
    // "Restart": a new connection to the same file.
    let h = History::open(dir.path()).unwrap();
    let rows = h.runs(&Query::default()).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec!["r1", "r2"]
    );
    assert_eq!(rows[0].quiesce_ms, Some(900));
    assert_eq!(
        rows[0].params_hash,
        lifeboat_daemon::history::params_hash(&params("vims"))
    );
    assert_eq!(
        h.runs(&Query {
            since: Some(t("2026-11-25T01:00:00Z")),
            ..Query::default()
        })
        .unwrap()
        .len(),
        1
    );
    assert_eq!(h.last_start("j").unwrap(), Some(t("2026-11-25T04:00:00Z")));
    // The dead owner's lock is taken over, naming the run to resume.
    assert_eq!(
        h.try_lock(&key, "r3", &Owner::me(), Utc::now()).unwrap(),
        Ok(Acquired::TakenOver {
            run_id: "r2".into()
        })
    );
    h.unlock(&key, "r2").unwrap(); // not the holder any more: no effect
    assert_eq!(h.lock_holder(&key).unwrap().unwrap().run_id, "r3");
    h.unlock(&key, "r3").unwrap();
    assert_eq!(h.lock_holder(&key).unwrap(), None);
    // A garbage history file is an error with its path, not a panic.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("history.sqlite"),
        "not a database at all, not at all",
    )
    .unwrap();
    let e = History::open(bad.path())
        .err()
        .expect("a broken history must not open")
        .to_string();
    assert!(e.contains("history.sqlite"), "{e}");
}

/// `name{labels} value` lines, keyed by `name{labels}`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("not a sample: {l}"));
            (
                k.to_string(),
                v.parse::<f64>()
                    .unwrap_or_else(|_| panic!("not a number: {l}")),
            )
        })
        .collect()
}

#[tokio::test]
async fn metrics_are_scraped_over_http_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    {
        let h = History::open(dir.path()).unwrap();
        run(
            &h,
            "r1",
            "vims-1",
            "2026-11-25T00:00:00Z",
            Some((
                "2026-11-25T00:05:00Z",
                "succeeded",
                300_000,
                Some(1500),
                Some("2026-11-25T00:00:02Z"),
            )),
        );
        run(
            &h,
            "r2",
            "vims-1",
            "2026-11-25T04:00:00Z",
            Some(("2026-11-25T04:02:00Z", "failed", 120_000, Some(800), None)),
        );
        run(
            &h,
            "r3",
            "vims-1",
            "2026-11-25T08:00:00Z",
            Some((
                "2026-11-25T08:04:30Z",
                "succeeded",
                270_000,
                None,
                Some("2026-11-25T08:00:03Z"),
            )),
        );
        run(&h, "r4", "vims-1", "2026-11-25T12:00:00Z", None); // going on (this process owns it)
        h.add_point(
            &PointRow {
                run_id: "r3".into(),
                job: "vims-1".into(),
                vnf: "vims".into(),
                taken: "2026-11-25T08:00:03.000Z".into(),
                manifest_site: "site-b".into(),
                backup_site: "site-a".into(),
                expired: None,
            },
            &[BackupRow {
                id: "b".into(),
                point: "r3".into(),
                parent: None,
                origin: "v".into(),
                site: "site-a".into(),
                deleted: None,
            }],
        )
        .unwrap();
    }
    let clock = Arc::new(TestClock::new(t("2026-11-25T12:00:03Z")));
    let state = MetricsState {
        runs: lifeboat_daemon::run_store::LocalStore::shared(dir.path()).unwrap(),
        jobs: vec![
            JobLabel {
                job: "vims-1".into(),
                runbook: "option1/protect".into(),
                kind: "protect".into(),
                rpo_target_ms: Some(4 * 3600 * 1000),
            },
            JobLabel {
                job: "idle".into(),
                runbook: "option2/protect".into(),
                kind: "protect".into(),
                rpo_target_ms: None,
            },
        ],
        clock: clock.clone() as Arc<dyn Clock>,
        cluster: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lifeboat_daemon::http::serve(listener, state, async {
        let _ = stop_rx.await;
    }));
    let http = reqwest::Client::new();
    let health = http
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let resp = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let m = parse(&resp.text().await.unwrap());
    let l = r#"{job="vims-1",runbook="option1/protect",kind="protect"}"#;
    let get = |name: &str| {
        *m.get(&format!("{name}{l}"))
            .unwrap_or_else(|| panic!("no {name}{l} in {m:?}"))
    };
    assert_eq!(
        get("lifeboat_last_success_timestamp_seconds"),
        t("2026-11-25T08:04:30Z").timestamp() as f64
    );
    assert_eq!(get("lifeboat_last_duration_seconds"), 270.0);
    // now − the newest good point's snapshot time: 12:00:03 − 08:00:03.
    assert_eq!(get("lifeboat_rpo_age_seconds"), 4.0 * 3600.0);
    assert_eq!(get("lifeboat_failures_total"), 1.0);
    assert_eq!(get("lifeboat_runs_total"), 4.0);
    assert_eq!(get("lifeboat_last_quiesce_window_seconds"), 0.8);
    assert_eq!(get("lifeboat_running"), 1.0);
    assert_eq!(m["lifeboat_up"], 1.0);
    // The objective, and the last finished run (r3) succeeded after a failure.
    assert_eq!(get("lifeboat_rpo_target_seconds"), 4.0 * 3600.0);
    assert_eq!(get("lifeboat_consecutive_failures"), 0.0);
    assert_eq!(get("lifeboat_last_run_succeeded"), 1.0);
    // Only drills have a verified point's age.
    assert!(!m.contains_key(&format!("lifeboat_verified_point_age_seconds{l}")));
    // A job that never ran has counters but no ages.
    let idle = r#"{job="idle",runbook="option2/protect",kind="protect"}"#;
    assert_eq!(m[&format!("lifeboat_runs_total{idle}")], 0.0);
    assert!(!m.contains_key(&format!("lifeboat_rpo_age_seconds{idle}")));
    assert!(!m.contains_key(&format!("lifeboat_rpo_target_seconds{idle}")));
    assert!(!m.contains_key(&format!("lifeboat_last_run_succeeded{idle}")));
    // The age grows with the clock.
    clock.advance(Duration::minutes(30));
    let m = parse(
        &http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(m[&format!("lifeboat_rpo_age_seconds{l}")], 4.5 * 3600.0);
    // Two more runs fail: two in a row, the last one failed.
    {
        let h = History::open(dir.path()).unwrap();
        for (id, start, end) in [
            ("r5", "2026-11-25T12:10:00Z", "2026-11-25T12:11:00Z"),
            ("r6", "2026-11-25T12:20:00Z", "2026-11-25T12:21:00Z"),
        ] {
            run(
                &h,
                id,
                "vims-1",
                start,
                Some((end, "failed", 60_000, None, None)),
            );
        }
    }
    let m = parse(
        &http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert_eq!(m[&format!("lifeboat_consecutive_failures{l}")], 2.0);
    assert_eq!(m[&format!("lifeboat_last_run_succeeded{l}")], 0.0);
    assert_eq!(m[&format!("lifeboat_failures_total{l}")], 3.0);
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
