//! `lifeboat run` on a real pseudo-terminal (util-linux `script` gives the
//! child a pty for stdin, stdout and stderr): the `approve` prompt answered
//! `y` lets the run go on, answered `n` refuses it with nothing changed, and
//! the progress display draws on the terminal. (Without a terminal and
//! without `--confirm` the run refuses: `run_e2e.rs`.)

mod common;
use common::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const APPROVE_SNAP3: &str = r#"
runbook snap3 "approve, then quiesce in order, group snapshot, backup" {
  param vnf: string = "vims"
  param from: site = "site-a"
  param order: list<string> = ["db", "app", "lb"]
  param method: string = "pause"

  approve "Back up {vnf} at {from}"

  servers = nova.find_servers(site: from, tag: vnf)
  volumes = cinder.volumes_of(servers)
  grp = cinder.ensure_group(site: from, name: "lb-{vnf}", volumes: volumes)

  quiesce servers by role in order via method within 30s {
    snap = cinder.create_group_snapshot(grp, name: "lb-{vnf}-{run.id}")
      cleanup cinder.delete_group_snapshot(snap)
  }

  for s in snap.snapshots parallel 4 {
    tmp = cinder.volume_from_snapshot(s, name: "lb-{vnf}-{run.id}-{s.origin}")
      cleanup cinder.delete_volume(tmp)
    b = cinder.backup(tmp, name: "lb-{vnf}-{s.origin}", incremental: true) retry 3 timeout 30m
  }
}
"#;

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn have_script() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs `lifeboat run RUNBOOK --cloud emulator` on a pty; when the output
/// shows the approval question, types `answer`. Returns (exit code, all the
/// terminal showed).
fn run_on_pty(env: &Env, runbook: &str, answer: &str) -> (Option<i32>, String) {
    let cmd = [
        env!("CARGO_BIN_EXE_lifeboat").to_string(),
        "run".into(),
        runbook.into(),
        "--cloud".into(),
        "emulator".into(),
        "--state-dir".into(),
        env.state().display().to_string(),
    ]
    .iter()
    .map(|a| sh_quote(a))
    .collect::<Vec<_>>()
    .join(" ");
    let mut child = Command::new("script")
        .args(["-q", "-f", "-e", "-c", &cmd, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .env("TERM", "xterm")
        .env("OS_CLIENT_CONFIG_FILE", env.clouds())
        .env_remove("OS_CLOUD")
        .env_remove("OS_AUTH_URL")
        .env_remove("RUST_LOG")
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut answered = false;
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => seen.extend_from_slice(&chunk),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if !answered && String::from_utf8_lossy(&seen).contains("Proceed? (y/N)") {
            stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
            stdin.flush().unwrap();
            answered = true;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
    }
    let status = match child.try_wait() {
        Ok(Some(s)) => s,
        _ => {
            let _ = child.kill();
            child.wait().unwrap()
        }
    };
    drop(stdin);
    let _ = reader.join();
    while let Ok(chunk) = rx.try_recv() {
        seen.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        answered,
        "the approval question never showed on the terminal:\n{text}"
    );
    (status.code(), text)
}

/// Whether the screen shows a `pos/len steps` counter.
fn progress_counts(screen: &str) -> bool {
    screen.match_indices(" steps").any(|(i, _)| {
        let before: String = screen[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '/')
            .collect();
        before.contains('/') && before.len() >= 3
    })
}

fn backups(env: &Env) -> usize {
    let c = env.client("site-a");
    env.rt
        .block_on(async { c.cinder().backups(&[]).await.unwrap().len() })
}

#[test]
fn approval_answered_yes_on_a_terminal_runs() {
    if !have_script() {
        panic!("util-linux `script` is needed for the pty tests (apt-get install bsdutils)");
    }
    let env = start(three_servers(), None);
    let rb = env.dir.path().join("approve.dr");
    std::fs::write(&rb, APPROVE_SNAP3).unwrap();
    let (code, screen) = run_on_pty(&env, &rb.display().to_string(), "y");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("Approval needed: Back up vims at site-a"),
        "{screen}"
    );
    // The progress display drew on the terminal: indicatif's elapsed time
    // and `pos/len steps`.
    assert!(
        screen.contains("[00:00:0") && progress_counts(&screen),
        "no progress display:\n{screen}"
    );
    // … with the quiesce window open while the servers were frozen.
    assert!(
        screen.contains("quiesce window") && screen.contains("vims-db-1"),
        "no quiesce window on the progress line:\n{screen}"
    );
    assert!(screen.contains("succeeded"), "{screen}");
    assert_eq!(
        backups(&env),
        6,
        "the approved run backed up the six volumes of the three servers"
    );
    assert!(env
        .server_statuses("site-a")
        .iter()
        .all(|(_, s)| s == "ACTIVE"));
    let j = journal(&env.run_dirs()[0]);
    assert!(
        j.iter().any(|r| r["record"] == "approved"),
        "approval journaled"
    );
}

#[test]
fn approval_answered_no_on_a_terminal_refuses_and_changes_nothing() {
    if !have_script() {
        panic!("util-linux `script` is needed for the pty tests (apt-get install bsdutils)");
    }
    let env = start(three_servers(), None);
    let rb = env.dir.path().join("approve.dr");
    std::fs::write(&rb, APPROVE_SNAP3).unwrap();
    let volumes = env.count_volumes("site-a");
    let (code, screen) = run_on_pty(&env, &rb.display().to_string(), "n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("Not approved"), "{screen}");
    assert_eq!(backups(&env), 0, "nothing backed up");
    assert_eq!(env.count_volumes("site-a"), volumes, "no volume made");
    assert!(env
        .server_statuses("site-a")
        .iter()
        .all(|(_, s)| s == "ACTIVE"));
    let j = journal(&env.run_dirs()[0]);
    assert!(
        !j.iter().any(|r| r["record"] == "step_intent"),
        "nothing may be called"
    );
}
