//! `lifeboat run` records its runs in the history: `runs` shows them with
//! their figures, an interrupted one (kill -9) as `interrupted — lifeboat
//! resume RUN`, and the end `lifeboat resume` reached; `show` still reads
//! the journal.

mod common;
use common::daemon::runs_with as runs;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn lifeboat_run_is_in_the_history_and_a_killed_run_says_how_to_resume() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    let o = env.lifeboat(&["run", &rb]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let rows = runs(&env, &[]);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (
            r["runbook"].as_str(),
            r["kind"].as_str(),
            r["outcome"].as_str()
        ),
        (Some("snap3"), Some("manual"), Some("succeeded"))
    );
    assert_eq!(r["cloud"], "site-a=emulator");
    assert!(
        r["quiesce_ms"].as_u64().unwrap() > 0
            && r["bytes"].as_u64().unwrap() > 0
            && r["duration_ms"].as_u64().is_some(),
        "{r}"
    );
    assert_eq!(r["params_hash"].as_str().unwrap().len(), 16);
    assert!(r["ended"].is_string() && r["action"].is_null());
    assert_eq!(runs(&env, &["--runbook", "snap3"]).len(), 1);
    assert_eq!(runs(&env, &["--runbook", "protect"]).len(), 0);
    assert_eq!(runs(&env, &["--since", "2999-01-01"]).len(), 0);
    let first = r["id"].as_str().unwrap().to_string();
    let show = env.cmd(&["show", &first]).output().unwrap();
    assert_eq!(show.status.code(), Some(0), "{}", text(&show));

    // kill -9 mid-run: interrupted, with the command that finishes it.
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::fixed_latency(150));
    let mut child = env
        .cmd(&["run", &rb, "--cloud", "emulator"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let second = loop {
        assert!(
            Instant::now() < deadline,
            "the second run never froze a server"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        if let Some(r) = runs(&env, &[])
            .into_iter()
            .find(|r| r["id"] != first.as_str())
        {
            let dir = env.state().join("runs").join(r["id"].as_str().unwrap());
            if journal(&dir)
                .iter()
                .any(|x| x["record"] == "freeze_outcome")
            {
                assert_eq!(r["outcome"], "running", "{r}");
                break r["id"].as_str().unwrap().to_string();
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    env.emu.clear_faults();
    let r = runs(&env, &[])
        .into_iter()
        .find(|r| r["id"] == second.as_str())
        .unwrap();
    assert_eq!(r["outcome"], "interrupted");
    assert_eq!(r["action"], format!("lifeboat resume {second}"));
    let human = String::from_utf8_lossy(&env.cmd(&["runs"]).output().unwrap().stdout).to_string();
    assert!(
        human.contains(&format!("interrupted — lifeboat resume {second}")),
        "{human}"
    );

    let o = env
        .cmd(&["resume", &second])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = runs(&env, &[])
        .into_iter()
        .find(|r| r["id"] == second.as_str())
        .unwrap();
    assert_eq!(r["outcome"], "succeeded", "{r}");
    assert!(r["action"].is_null());
    assert!(env
        .server_statuses("site-a")
        .iter()
        .all(|(_, s)| s == "ACTIVE"));
}
