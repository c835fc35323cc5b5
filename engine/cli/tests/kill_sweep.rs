//! A `kill -9` at every journal boundary. `lifeboat run` of a bundled
//! runbook is started with the journal failpoint
//! (`LIFEBOAT_FAILPOINT_STOP_AFTER_RECORDS=N`): the process stops itself the
//! moment its N-th journal record is on disk, and the test kills it with
//! SIGKILL from outside — for every N of the protect (prepare) and recover
//! (failover) of all three options — then runs `lifeboat resume RUN`. Each
//! time: the run succeeds, no server is left paused, nothing is left behind
//! or made twice (the emulator's own counts equal those of a calm run), and
//! the report lists no orphan.

mod common;
use common::*;
use lifeboat_emulator::Site;
use serde_json::Value;
use std::time::{Duration, Instant};

const FAILPOINT: &str = "LIFEBOAT_FAILPOINT_STOP_AFTER_RECORDS";

/// Resource counts per site, from the emulator's admin status.
fn counts(env: &Env) -> Value {
    let (_, body) =
        lifeboat_emulator::admin_request(&env.emu.admin_url(), "GET", "/_emulator/status", None)
            .expect("admin status");
    let st: Value = serde_json::from_str(&body).expect("status json");
    let mut out = serde_json::Map::new();
    for site in ["site-a", "site-b"] {
        let s = &st["sites"][site];
        out.insert(site.into(), serde_json::json!({"servers": s["servers"], "volumes": s["volumes"], "snapshots": s["snapshots"], "backups": s["backups"], "images": s["images"]}));
    }
    Value::Object(out)
}

/// A run of `runbook` to its end, no failpoint: its run dir.
fn calm(env: &Env, runbook: &str) -> std::path::PathBuf {
    let before = env.run_dirs().len();
    let o = env.lifeboat(&["run", runbook, "--param", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(0), "calm {runbook}: {}", text(&o));
    let dirs = env.run_dirs();
    assert_eq!(dirs.len(), before + 1);
    dirs.last().unwrap().clone()
}

/// Runs `runbook` until its `n`-th journal record is on disk, kills it with
/// SIGKILL there, resumes it; returns the resumed run's report.
fn kill_at(env: &Env, runbook: &str, n: usize) -> Value {
    let before: Vec<_> = env.run_dirs();
    let mut child = env
        .cmd(&[
            "run",
            runbook,
            "--param",
            "vnf=vims",
            "--confirm",
            "--cloud",
            "emulator",
        ])
        .env(FAILPOINT, n.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_boundary = loop {
        if stopped(child.id()) {
            break true;
        }
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        assert!(
            Instant::now() < deadline,
            "{runbook}: never reached journal record {n}"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    child.kill().unwrap(); // SIGKILL, from outside
    child.wait().unwrap();
    let dir = env
        .run_dirs()
        .into_iter()
        .find(|d| !before.contains(d))
        .unwrap_or_else(|| panic!("{runbook} @ {n}: no run dir"));
    let on_disk = journal(&dir).len();
    if at_boundary {
        // Stopped by the failpoint: exactly the first n records are on disk.
        assert_eq!(on_disk, n, "{runbook}: stopped at journal record {n}");
    }
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    let o = env
        .cmd(&["resume", &id, "--confirm"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{runbook}: resume after kill -9 at journal record {n} of {on_disk}: {}",
        text(&o)
    );
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// Kills `runbook` at each boundary of `boundaries(total)` and checks the
/// resumed run against a calm one. `setup` brings a fresh cloud to the
/// moment `runbook` starts (a protect before a recover, site-a down, …).
fn sweep(runbook: &str, setup: &dyn Fn(&Env), every: usize) {
    // A calm run: how many records, and what the cloud holds after it.
    let env = start(three_servers(), None);
    setup(&env);
    let dir = calm(&env, runbook);
    let total = journal(&dir).len();
    // How the calm run ended: `succeeded`, or `awaiting_commit` for a
    // recovery (its runbook says `commit within …`).
    let calm_report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let ending = calm_report["outcome"]["outcome"].clone();
    assert!(
        ending == "succeeded" || ending == "awaiting_commit",
        "calm {runbook}: {calm_report}"
    );
    let want = counts(&env);
    assert!(total > 10, "{runbook}: {total} journal records");
    eprintln!("{runbook}: {total} journal records, killed at every {every}");
    drop(env);
    let mut boundaries: Vec<usize> = (1..=total).step_by(every.max(1)).collect();
    if !boundaries.contains(&total) {
        boundaries.push(total);
    }
    for n in boundaries {
        let env = start(three_servers(), None);
        setup(&env);
        let report = kill_at(&env, runbook, n);
        assert_eq!(
            report["outcome"]["outcome"], ending,
            "{runbook} @ {n}: {report}"
        );
        assert!(
            report["orphans"]
                .as_array()
                .map(|o| o.is_empty())
                .unwrap_or(true),
            "{runbook} @ {n}: orphans {}",
            report["orphans"]
        );
        assert!(
            report["thaw_failures"]
                .as_array()
                .map(|o| o.is_empty())
                .unwrap_or(true),
            "{runbook} @ {n}: {}",
            report["thaw_failures"]
        );
        if !env.emu.is_site_down(Site::A) {
            let paused: Vec<_> = env
                .server_statuses("site-a")
                .into_iter()
                .filter(|(_, s)| s != "ACTIVE")
                .collect();
            assert!(paused.is_empty(), "{runbook} @ {n}: left {paused:?}");
        }
        let got = counts(&env);
        assert_eq!(got, want, "{runbook} killed at journal record {n} of {total}, then resumed: the cloud differs from a calm run's (a duplicate or a leftover)");
    }
}

fn nothing(_: &Env) {}

fn protected(option: &str) -> impl Fn(&Env) + '_ {
    move |env: &Env| {
        calm(env, &format!("{option}/protect"));
        env.emu.set_site_down(Site::A, true);
    }
}

fn prepared(env: &Env) {
    calm(env, "option3/prepare");
    std::thread::sleep(Duration::from_millis(600)); // replication catches up
    env.emu.set_site_down(Site::A, true);
}

#[test]
fn option1_protect_at_every_journal_boundary() {
    sweep("option1/protect", &nothing, 1);
}

#[test]
fn option1_recover_at_every_journal_boundary() {
    sweep("option1/recover", &protected("option1"), 1);
}

#[test]
fn option2_protect_at_every_journal_boundary() {
    sweep("option2/protect", &nothing, 1);
}

#[test]
fn option2_recover_at_every_journal_boundary() {
    sweep("option2/recover", &protected("option2"), 1);
}

#[test]
fn option3_prepare_at_every_journal_boundary() {
    sweep("option3/prepare", &nothing, 1);
}

#[test]
fn option3_failover_at_every_journal_boundary() {
    sweep("option3/failover", &prepared, 1);
}
