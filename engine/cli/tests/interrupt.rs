//! Ctrl-C on `lifeboat run` (a real SIGINT to the binary) while the servers
//! are quiesced: the first stops the run, thaws in reverse order and
//! compensates (exit 3); a second one stops compensating but the servers
//! are still thawed (what it leaves undone is `resume`'s, tested in the
//! executor's journal tests).

mod common;
use common::*;
use std::time::{Duration, Instant};

fn sigint(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -INT {pid}");
}

/// Starts the snap3 runbook with the group snapshot slowed to 4 s; returns
/// the child once every server is frozen (journal: three freeze outcomes).
fn start_and_wait_frozen(env: &Env) -> std::process::Child {
    env.emu.set_faults(
        lifeboat_emulator::FaultProfile::from_yaml_str("rules:\n  - {site: site-a, service: volume, method: POST, path_contains: group_snapshots, latency: {kind: fixed, ms: 4000}}\n").unwrap(),
    );
    let rb = write_snap3(env);
    let child = env
        .cmd(&["run", &rb, "--cloud", "emulator"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "the servers were never all frozen"
        );
        if let Some(d) = env.run_dirs().first() {
            if journal(d)
                .iter()
                .filter(|r| r["record"] == "freeze_outcome")
                .count()
                == 3
            {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    child
}

fn thaw_targets(j: &[serde_json::Value]) -> Vec<String> {
    let frozen: Vec<(String, String)> = j
        .iter()
        .filter(|r| r["record"] == "freeze_intent")
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    j.iter()
        .filter(|r| r["record"] == "thaw_outcome" && r["error"].is_null())
        .filter_map(|r| {
            frozen
                .iter()
                .find(|(k, _)| r["key"] == k.as_str())
                .map(|(_, t)| t.clone())
        })
        .collect()
}

#[test]
fn ctrl_c_while_quiesced_thaws_in_reverse_compensates_and_exits_3() {
    let env = start(three_servers(), None);
    let child = start_and_wait_frozen(&env);
    assert!(
        env.server_statuses("site-a")
            .iter()
            .all(|(_, s)| s == "PAUSED"),
        "frozen before the interrupt"
    );
    sigint(child.id());
    let o = child.wait_with_output().unwrap();
    env.emu.clear_faults();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("interrupt"), "{}", text(&o));
    let j = journal(&env.run_dirs()[0]);
    assert_eq!(
        thaw_targets(&j),
        vec!["vims-lb-1", "vims-app-1", "vims-db-1"]
    );
    assert!(
        j.iter().any(|r| r["record"] == "run_finished"),
        "compensation and cleanup finished"
    );
    assert!(
        env.server_statuses("site-a")
            .iter()
            .all(|(_, s)| s == "ACTIVE"),
        "no server left paused"
    );
}

#[test]
fn a_second_ctrl_c_still_thaws_in_reverse() {
    let env = start(three_servers(), None);
    let child = start_and_wait_frozen(&env);
    sigint(child.id());
    std::thread::sleep(Duration::from_millis(30));
    sigint(child.id());
    let o = child.wait_with_output().unwrap();
    env.emu.clear_faults();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let dir = env.run_dirs()[0].clone();
    assert_eq!(
        thaw_targets(&journal(&dir)),
        vec!["vims-lb-1", "vims-app-1", "vims-db-1"],
        "{}",
        text(&o)
    );
    assert!(
        env.server_statuses("site-a")
            .iter()
            .all(|(_, s)| s == "ACTIVE"),
        "thawed even after a second Ctrl-C"
    );
    // The snapshot call in flight was dropped with the run: nothing made.
    std::thread::sleep(Duration::from_millis(4500));
    let c = env.client("site-a");
    let snaps = env
        .rt
        .block_on(async { c.cinder().snapshots(&[]).await.unwrap().len() });
    assert_eq!(snaps, 0, "no snapshot left behind");
}
