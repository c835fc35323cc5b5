//! A `lifeboat daemon` child process and what tests ask of it: the runs
//! of the history (`lifeboat runs --json`), and waiting for a condition
//! while it lives.

use super::{text, Env};
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Option 1's protect with full backups (each point stands alone, so
/// retention can delete its backups), every minute, keeping the last point.
pub const PROTECT: &str = r#"
runbook protect "protect every minute, full backups, keep the newest point" {
  param vnf: string = "vims"
  param from: site = "site-a"
  param to: site = "site-b"
  param order: list<string> = ["db", "app", "lb"]
  param method: string = "pause"
  schedule "* * * * *" tz "UTC"
  retain last 1

  servers = nova.find_servers(site: from, tag: vnf)
  volumes = cinder.volumes_of(servers)
  net = neutron.capture(servers)
  grp = cinder.ensure_group(site: from, name: "lb-{vnf}", volumes: volumes)

  quiesce servers by role in order via method within 30s {
    snap = cinder.create_group_snapshot(grp, name: "lb-{vnf}-{run.id}")
      cleanup cinder.delete_group_snapshot(snap)
  }

  for s in snap.snapshots parallel 4 {
    tmp = cinder.volume_from_snapshot(s, name: "lb-{vnf}-{run.id}-{s.origin}")
      cleanup cinder.delete_volume(tmp)
    b = cinder.backup(tmp, name: "lb-{vnf}-{s.origin}", incremental: false) retry 3 timeout 30m
    rec = cinder.export_backup(b)
  }

  lifeboat.write_manifest(site: to, vnf: vnf, option: "option1", source: from, servers: servers, volumes: volumes, backups: b, records: rec, snapshot_time: snap.created_at, network: net)
}
"#;

/// A daemon process, killed when dropped (a failing test leaves none behind).
pub struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for Guard {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

pub fn daemon(env: &Env, cfg: &std::path::Path) -> Guard {
    daemon_in(env, cfg, &env.state(), "daemon.log")
}

/// A daemon with its own state dir, logging to `log` in the test's dir.
pub fn daemon_in(env: &Env, cfg: &std::path::Path, state: &std::path::Path, log: &str) -> Guard {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(env.dir.path().join(log))
        .unwrap();
    Guard(
        env.cmd_in(state, &["daemon", "--config", cfg.to_str().unwrap()])
            // Its warnings in the log a failing test prints.
            .env(
                "RUST_LOG",
                std::env::var("LIFEBOAT_TEST_DAEMON_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    )
}

pub fn runs(env: &Env) -> Vec<Value> {
    runs_with(env, &[])
}

/// The runs of the history in `state`.
pub fn runs_in(env: &Env, state: &std::path::Path) -> Vec<Value> {
    runs_in_with(env, state, &[])
}

/// `lifeboat runs --json EXTRA…`.
pub fn runs_with(env: &Env, extra: &[&str]) -> Vec<Value> {
    runs_in_with(env, &env.state(), extra)
}

fn runs_in_with(env: &Env, state: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["runs", "--json"];
    args.extend_from_slice(extra);
    let o = env.cmd_in(state, &args).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

pub fn wait_for<T>(
    what: &str,
    secs: u64,
    child: &mut Child,
    mut f: impl FnMut() -> Option<T>,
    log: &std::path::Path,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!(
                "the daemon exited ({st}) while waiting for {what}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
