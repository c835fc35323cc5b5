//! `lifeboat daemon` against the emulator, as a real process: it starts a
//! protect at once (`run_at_start`), is killed with SIGKILL while the
//! servers are paused, is started again and resumes that run (thaws first,
//! nothing made twice); a minute later the schedule starts the next
//! protect, after which the retention run deletes the first recovery point
//! (its manifest at site-b, its full backups at site-a); /metrics is scraped
//! over HTTP and parsed; SIGTERM while the next protect has the servers
//! paused stops the daemon after that run thawed and compensated.

mod common;
use common::daemon::{daemon, runs, wait_for, PROTECT};
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[test]
fn daemon_killed_mid_run_resumes_it_on_restart_then_schedules_retains_and_reports_metrics() {
    let env = start(three_servers(), None);
    let rb = env.dir.path().join("protect.dr");
    std::fs::write(&rb, PROTECT).unwrap();
    let cfg = env.dir.path().join("lifeboat.yaml");
    std::fs::write(
        &cfg,
        format!(
            "metrics: 127.0.0.1:0\njobs:\n  - name: vims-protect\n    runbook: {}\n    params: {{vnf: vims}}\n    cloud: emulator\n    run_at_start: true\n",
            rb.display()
        ),
    )
    .unwrap();
    let log = env.dir.path().join("daemon.log");
    let volumes = env.count_volumes("site-a");

    // 1. The daemon starts the protect at once; kill -9 while the servers are paused.
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::fixed_latency(150));
    let mut d1 = daemon(&env, &cfg);
    let first = wait_for(
        "a frozen server",
        90,
        &mut d1,
        || {
            let d = env.run_dirs().into_iter().next()?;
            journal(&d)
                .iter()
                .any(|r| r["record"] == "freeze_outcome" && r["error"].is_null())
                .then_some(d)
        },
        &log,
    );
    d1.kill().unwrap();
    d1.wait().unwrap();
    env.emu.clear_faults();
    let first_id = first.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        env.server_statuses("site-a")
            .iter()
            .any(|(_, s)| s != "ACTIVE"),
        "killed too late: nothing was paused"
    );
    let rows = runs(&env);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["outcome"], "interrupted");
    assert_eq!(rows[0]["kind"], "scheduled");
    assert_eq!(rows[0]["action"], format!("lifeboat resume {first_id}"));
    let human = env.cmd(&["runs"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&human.stdout)
            .contains(&format!("interrupted — lifeboat resume {first_id}")),
        "{}",
        text(&human)
    );

    // 2. Restarted, it resumes the run (not a second one) and finishes it.
    let mut d2 = daemon(&env, &cfg);
    wait_for(
        "the resumed run to end",
        120,
        &mut d2,
        || {
            runs(&env)
                .iter()
                .find(|r| {
                    r["id"] == first_id.as_str()
                        && r["outcome"] != "interrupted"
                        && r["outcome"] != "running"
                })
                .cloned()
        },
        &log,
    );
    let rows = runs(&env);
    assert_eq!(rows[0]["outcome"], "succeeded", "{rows:?}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(first.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["resumed"], true);
    assert!(env
        .server_statuses("site-a")
        .iter()
        .all(|(_, s)| s == "ACTIVE"));
    let c = env.client("site-a");
    let backups_after_first = env
        .rt
        .block_on(async { c.cinder().backups(&[]).await.unwrap() });
    assert_eq!(
        backups_after_first.len(),
        volumes,
        "one backup per volume, none twice"
    );
    assert_eq!(
        env.count_volumes("site-a"),
        volumes,
        "temporary volumes left or made twice"
    );

    // 3. The next minute starts the next protect; retention then expires the first point.
    let retention = wait_for(
        "a retention run to end",
        150,
        &mut d2,
        || {
            runs(&env)
                .into_iter()
                .find(|r| r["kind"] == "retention" && r["outcome"] != "running")
        },
        &log,
    );
    assert_eq!(
        retention["outcome"],
        "succeeded",
        "{retention}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(retention["runbook"], "expire");
    let rows = runs(&env);
    let protects: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "scheduled").collect();
    assert_eq!(protects.len(), 2, "{rows:?}");
    assert!(
        protects.iter().all(|r| r["outcome"] == "succeeded"),
        "{rows:?}"
    );
    let second_id = protects[1]["id"].as_str().unwrap().to_string();
    // The retention run is journalled like any run, and `show` reads it.
    let show = env
        .cmd(&["show", retention["id"].as_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(show.status.code(), Some(0), "{}", text(&show));
    let rj = journal(
        &env.state()
            .join("runs")
            .join(retention["id"].as_str().unwrap()),
    );
    assert!(rj.iter().any(|r| r["record"] == "step_intent"
        && r["call"]["action"] == "lifeboat.delete_manifest"
        && r["call"]["args"]["run_id"] == first_id.as_str()));
    // What is left: the second point's manifest and backups only.
    let b = env.client("site-b");
    let manifests: Vec<String> = env
        .rt
        .block_on(async { b.swift().list("lifeboat-manifests", "vims/").await.unwrap() })
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert!(
        !manifests
            .iter()
            .any(|n| n.ends_with(&format!("-{first_id}.json"))),
        "{manifests:?}"
    );
    assert!(
        manifests
            .iter()
            .any(|n| n.ends_with(&format!("-{second_id}.json"))),
        "{manifests:?}"
    );
    let left = env
        .rt
        .block_on(async { c.cinder().backups(&[]).await.unwrap() });
    assert_eq!(
        left.len(),
        volumes,
        "{:?}",
        left.iter().map(|b| &b.id).collect::<Vec<_>>()
    );
    assert!(
        left.iter()
            .all(|b| !backups_after_first.iter().any(|f| f.id == b.id)),
        "the first point's backups are still there"
    );

    // 4. /metrics on the daemon's listener.
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(env.state().join("daemon.json")).unwrap())
            .unwrap();
    let addr = info["metrics"].as_str().unwrap().to_string();
    let body = env.rt.block_on(async {
        reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    let m: BTreeMap<String, f64> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect();
    let label = format!(
        "{{job=\"vims-protect\",runbook=\"{}\",kind=\"protect\"}}",
        rb.display()
    );
    let rpo = m[&format!("lifeboat_rpo_age_seconds{label}")];
    assert!(rpo > 0.0 && rpo < 300.0, "RPO age {rpo}s\n{body}");
    assert_eq!(m[&format!("lifeboat_runs_total{label}")], 2.0, "{body}");
    assert_eq!(m[&format!("lifeboat_failures_total{label}")], 0.0, "{body}");
    assert!(
        m[&format!("lifeboat_last_quiesce_window_seconds{label}")] > 0.0,
        "{body}"
    );
    assert!(
        m.contains_key(&format!("lifeboat_last_success_timestamp_seconds{label}")),
        "{body}"
    );
    let health = env.rt.block_on(async {
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(health, 200);

    // 5. SIGTERM while the next protect has the servers paused: the daemon
    //    stops starting runs, the run thaws, compensates and cleans up, exit 0.
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::fixed_latency(150));
    let mut known: Vec<String> = runs(&env)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let third = wait_for(
        "the next protect to pause a server",
        200,
        &mut d2,
        || {
            for r in runs(&env).into_iter().filter(|r| r["kind"] == "scheduled") {
                let id = r["id"].as_str().unwrap().to_string();
                if known.contains(&id) {
                    continue;
                }
                let j = journal(&env.state().join("runs").join(&id));
                if j.iter().any(|x| x["record"] == "run_finished") {
                    // Started before the latency was set and already done: the next one.
                    known.push(id);
                } else if j
                    .iter()
                    .any(|x| x["record"] == "freeze_outcome" && x["error"].is_null())
                {
                    return Some(id);
                }
            }
            None
        },
        &log,
    );
    let st = std::process::Command::new("kill")
        .args(["-TERM", &d2.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = d2.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    env.emu.clear_faults();
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        env.server_statuses("site-a")
            .iter()
            .all(|(_, s)| s == "ACTIVE"),
        "left paused after SIGTERM"
    );
    let rows = runs(&env);
    assert!(
        rows.iter().all(|r| r["outcome"] != "running"),
        "a run was left running: {rows:?}"
    );
    let r = rows.iter().find(|r| r["id"] == third.as_str()).unwrap();
    assert_eq!(r["outcome"], "interrupted", "{r}");
    assert!(
        r["action"].is_null(),
        "compensated to its end, nothing to resume: {r}"
    );
    let j = journal(&env.state().join("runs").join(&third));
    assert!(j.iter().any(|x| x["record"] == "run_finished"));
    // Compensation and cleanup done: no temporary volume, no snapshot left.
    assert_eq!(env.count_volumes("site-a"), volumes);
    let snaps = env
        .rt
        .block_on(async { c.cinder().snapshots(&[]).await.unwrap() });
    assert!(snaps.is_empty(), "{} snapshots left", snaps.len());
}
