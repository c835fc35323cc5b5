//! `lifeboat run` and `lifeboat resume` take the daemon's runbook + parameters
//! lock (the history's `locks` table): a second run of the same runbook and
//! parameters while the first is live is refused (exit 2, the holder named,
//! no run dir made); other parameters run beside it; a lock left by a
//! `kill -9` is taken over by `resume`, which writes the run's end into the
//! history. Against the emulator (ephemeral ports) slowed by a fixed latency
//! so the first run is still live when the others start.

mod common;
use common::*;
use lifeboat_daemon::history::History;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn spawn_run(env: &Env, rb: &str) -> Child {
    env.cmd(&["run", rb, "--cloud", "emulator"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The first run dir once its journal shows `record` (the lock is taken before the dir).
fn wait_for(
    env: &Env,
    child: &mut Child,
    what: &dyn Fn(&serde_json::Value) -> bool,
) -> std::path::PathBuf {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the run never got there");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the first run ended too early"
        );
        if let Some(d) = env.run_dirs().into_iter().next() {
            if journal(&d).iter().any(what) {
                return d;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_second_run_of_the_same_runbook_and_params_is_refused_other_params_run() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::fixed_latency(150));
    let mut first = spawn_run(&env, &rb);
    let dir = wait_for(&env, &mut first, &|r| r["record"] == "run_started");
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();

    // Same runbook, same parameters (the default given explicitly binds the same).
    let second = env.lifeboat(&["run", &rb, "-p", "method=pause"]);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already running"), "{err}");
    assert!(
        err.contains(&format!("run {id}"))
            && err.contains(&format!("pid {}", first.id()))
            && err.contains("since "),
        "{err}"
    );
    assert_eq!(env.run_dirs().len(), 1, "the refused run made a run dir");
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run was disturbed"
    );

    // Other parameters: not refused, it runs to its end beside the first.
    let other = env.lifeboat(&["run", &rb, "-p", "vnf=nothing-tagged"]);
    assert!(
        !String::from_utf8_lossy(&other.stderr).contains("already running"),
        "{}",
        text(&other)
    );
    assert_ne!(other.status.code(), Some(2), "{}", text(&other));
    assert_eq!(env.run_dirs().len(), 2);
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run ended before the other ran beside it: not an overlap"
    );

    assert_eq!(first.wait().unwrap().code(), Some(0));
    env.emu.clear_faults();
    // Released at the end: the same run again goes.
    let again = env.lifeboat(&["run", &rb]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let h = History::open(&env.state()).unwrap();
    assert_eq!(
        h.run(&id).unwrap().unwrap().outcome.as_deref(),
        Some("succeeded")
    );
}

#[test]
fn resume_after_kill_9_takes_the_stale_lock_over_and_records_the_end() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::fixed_latency(150));
    let mut first = spawn_run(&env, &rb);
    let dir = wait_for(&env, &mut first, &|r| {
        r["record"] == "freeze_outcome" && r["error"].is_null()
    });
    let id = dir.file_name().unwrap().to_str().unwrap().to_string();
    first.kill().unwrap(); // SIGKILL: the lock stays, its owner dead
    first.wait().unwrap();
    env.emu.clear_faults();
    {
        let h = History::open(&env.state()).unwrap();
        let row = h.run(&id).unwrap().unwrap();
        assert_eq!(row.outcome, None);
        assert_eq!(row.status(), "interrupted");
    }
    let o = env
        .cmd(&["resume", &id])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(env
        .server_statuses("site-a")
        .iter()
        .all(|(_, s)| s == "ACTIVE"));
    // The history itself has the end now (not only the journal).
    let h = History::open(&env.state()).unwrap();
    let row = h.run(&id).unwrap().unwrap();
    assert_eq!(row.outcome.as_deref(), Some("succeeded"), "{row:?}");
    assert!(row.ended.is_some() && row.duration_ms.is_some(), "{row:?}");
    let runs = env.cmd(&["runs", "--json"]).output().unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    let r = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(r["outcome"], "succeeded");
    assert!(r["action"].is_null());
    // ...and the lock is released: a new run of the same runbook goes.
    let again = env.lifeboat(&["run", &rb]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
}
