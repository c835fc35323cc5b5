//! `lifeboat daemon` fences on its own: after a recovery of a job's VNF at
//! site-b (by hand, with site-a down), the daemon leaves site-a alone while
//! it is down; once site-a answers again it runs `fencing/fence` there —
//! the old copies stopped, marked with the fence run and locked — and does
//! it once, not at every check.

mod common;
use common::daemon::{daemon, runs, wait_for};
use common::*;
use lifeboat_emulator::Site;
use std::time::Duration;

fn fence_runs(env: &Env) -> Vec<serde_json::Value> {
    runs(env)
        .into_iter()
        .filter(|r| r["kind"] == "fence")
        .collect()
}

#[test]
fn the_daemon_fences_the_old_site_once_it_answers_after_a_recovery() {
    let env = start(three_servers(), None);
    let o = env.lifeboat(&["run", "option1/protect", "--param", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(0), "protect: {}", text(&o));
    env.emu.set_site_down(Site::A, true);
    let o = env.lifeboat(&["run", "option1/recover", "--param", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(0), "recover: {}", text(&o));
    let recovery = runs(&env)
        .into_iter()
        .find(|r| r["runbook"] == "recover")
        .expect("the recovery in the history");
    assert_eq!(recovery["outcome"], "awaiting_commit");

    // The VNF's protect job (not due for months); fencing checks often.
    let cfg = env.dir.path().join("lifeboat.yaml");
    std::fs::write(
        &cfg,
        "recovery_check: 200ms\njobs:\n  - name: vims\n    runbook: option1/protect\n    params: {vnf: vims}\n    cloud: emulator\n    schedule: \"0 0 1 1 *\"\n",
    )
    .unwrap();
    let log = env.dir.path().join("daemon.log");
    let mut d = daemon(&env, &cfg);

    // Site-a down: several checks, no fence run.
    std::thread::sleep(Duration::from_secs(3));
    assert!(d.try_wait().unwrap().is_none(), "the daemon exited");
    assert!(fence_runs(&env).is_empty(), "{:?}", fence_runs(&env));

    // Site-a back: its copies are fenced, once.
    env.emu.set_site_down(Site::A, false);
    let fence = wait_for(
        "a fence run to succeed",
        90,
        &mut d,
        || {
            fence_runs(&env)
                .into_iter()
                .find(|r| r["outcome"] == "succeeded")
        },
        &log,
    );
    assert_eq!(fence["runbook"], "fence", "{fence}");
    let fence_id = fence["id"].as_str().unwrap().to_string();
    let a = env.client("site-a");
    let servers = env
        .rt
        .block_on(async { a.nova().servers_with_tag("vims").await.unwrap() });
    assert_eq!(servers.len(), 3);
    for s in &servers {
        assert_eq!(s.status, "SHUTOFF", "{}", s.name);
        assert!(s.locked, "{} is not locked", s.name);
        assert_eq!(
            s.metadata.get("lifeboat_fenced").map(String::as_str),
            Some(fence_id.as_str()),
            "{}",
            s.name
        );
    }
    assert!(env
        .server_statuses("site-b")
        .iter()
        .all(|(_, st)| st == "ACTIVE"));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(fence_runs(&env).len(), 1, "{:?}", fence_runs(&env));
}

/// A recovery nobody decided takes its runbook's default at the deadline:
/// here option 1's recover with `commit within 2s default rollback` — the
/// daemon resumes it past the deadline and the rollback removes what it
/// made at site-b.
#[test]
fn the_daemon_applies_the_default_when_the_commit_deadline_passes() {
    let env = start(three_servers(), None);
    let o = env.lifeboat(&["run", "option1/protect", "--param", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(0), "protect: {}", text(&o));
    // The bundled recover, decided after 2 s instead of 4 h.
    let wf = repo().join("workflows/option1");
    let recover = std::fs::read_to_string(wf.join("recover.dr"))
        .unwrap()
        .replace(
            "commit within 4h default commit",
            "commit within 2s default rollback",
        );
    assert!(recover.contains("within 2s default rollback"));
    let file = env.dir.path().join("recover.dr");
    std::fs::write(&file, recover).unwrap();
    std::fs::copy(wf.join("restore.dr"), env.dir.path().join("restore.dr")).unwrap();
    env.emu.set_site_down(Site::A, true);
    let o = env.lifeboat(&[
        "run",
        file.to_str().unwrap(),
        "--param",
        "vnf=vims",
        "--confirm",
    ]);
    assert_eq!(o.status.code(), Some(0), "recover: {}", text(&o));
    assert_eq!(env.server_statuses("site-b").len(), 3);

    let cfg = env.dir.path().join("lifeboat.yaml");
    std::fs::write(
        &cfg,
        "recovery_check: 200ms\njobs:\n  - name: vims\n    runbook: option1/protect\n    params: {vnf: vims}\n    cloud: emulator\n    schedule: \"0 0 1 1 *\"\n    fence: false\n",
    )
    .unwrap();
    let log = env.dir.path().join("daemon.log");
    let mut d = daemon(&env, &cfg);
    let rolled = wait_for(
        "the recovery to be rolled back",
        90,
        &mut d,
        || {
            runs(&env)
                .into_iter()
                .find(|r| r["runbook"] == "recover" && r["outcome"] == "rolled_back")
        },
        &log,
    );
    assert!(env.server_statuses("site-b").is_empty(), "{rolled}");
    assert!(fence_runs(&env).is_empty(), "fence: false");
}
