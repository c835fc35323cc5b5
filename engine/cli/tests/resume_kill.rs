//! A real `kill -9` of `lifeboat run` while the servers are paused (the
//! emulator slowed by a fixed latency), then `lifeboat resume RUN`: it
//! thaws first and finishes, no server stays paused and nothing is made
//! twice (volumes, snapshots, backups counted at the end).

mod common;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn kill_9_while_paused_then_resume_thaws_and_finishes_without_duplicates() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    let volumes_before = env.count_volumes("site-a");
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::fixed_latency(150));
    let mut child = env
        .cmd(&["run", &rb, "--cloud", "emulator"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // wait until the journal says a server is frozen
    let deadline = Instant::now() + Duration::from_secs(60);
    let dir = loop {
        assert!(Instant::now() < deadline, "the run never froze a server");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        if let Some(d) = env.run_dirs().into_iter().next() {
            let j = journal(&d);
            if j.iter()
                .any(|r| r["record"] == "freeze_outcome" && r["error"].is_null())
            {
                break d;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    env.emu.clear_faults();
    let paused: Vec<_> = env
        .server_statuses("site-a")
        .into_iter()
        .filter(|(_, s)| s != "ACTIVE")
        .collect();
    assert!(
        !paused.is_empty(),
        "kill -9 came too late: no server was left paused"
    );
    assert!(!dir.join("report.json").exists());

    let unknown = env.cmd(&["resume", "no-such-run"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    let o = env
        .cmd(&["resume", dir.file_name().unwrap().to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let statuses = env.server_statuses("site-a");
    assert!(
        statuses.iter().all(|(_, s)| s == "ACTIVE"),
        "left paused: {statuses:?}"
    );
    // no duplicates: one backup per volume, temporary volumes cleaned up
    let c = env.client("site-a");
    let (backups, snapshots) = env.rt.block_on(async {
        (
            c.cinder().backups(&[]).await.unwrap(),
            c.cinder().snapshots(&[]).await.unwrap(),
        )
    });
    assert_eq!(
        backups.len(),
        volumes_before,
        "backups: {:?}",
        backups.iter().map(|b| &b.name).collect::<Vec<_>>()
    );
    assert_eq!(
        env.count_volumes("site-a"),
        volumes_before,
        "temporary volumes left or duplicated"
    );
    assert!(
        snapshots.is_empty(),
        "group snapshot not cleaned up: {}",
        snapshots.len()
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["outcome"]["outcome"], "succeeded");
    assert_eq!(report["resumed"], true);
}
