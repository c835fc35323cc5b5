//! Shared by the binary-driving tests: an emulator in the test process (its
//! own runtime), a state dir with its clouds.yaml, and `lifeboat` as a child
//! process pointed at both.
#![allow(dead_code)]

pub mod daemon;

use lifeboat_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Topology};
use lifeboat_openstack::{Client, ConfigLoader};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub rt: tokio::runtime::Runtime,
    pub emu: EmulatorHandle,
    pub dir: tempfile::TempDir,
}

/// The demo topology cut down to three servers, one per role (db, app, lb).
pub fn three_servers() -> Topology {
    let mut t = Topology::demo();
    t.servers.retain(|s| s.name.ends_with("-1"));
    t
}

pub fn start(topology: Topology, password: Option<&str>) -> Env {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = EmulatorConfig::fast();
    config.topology = topology;
    if let Some(p) = password {
        for u in &mut config.topology.users {
            u.password = p.to_string();
        }
    }
    let emu = rt.block_on(Emulator::start(config)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    emu.write_clouds_yaml(&dir.path().join("clouds.yaml"))
        .unwrap();
    Env { rt, emu, dir }
}

impl Env {
    pub fn clouds(&self) -> PathBuf {
        self.dir.path().join("clouds.yaml")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        self.cmd_in(&self.state(), args)
    }

    /// `cmd` with another state dir (a second daemon, say).
    pub fn cmd_in(&self, state: &std::path::Path, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lifeboat"));
        c.args(args)
            .arg("--state-dir")
            .arg(state)
            // Whatever a command reads without --state-dir stays in the temp dir too.
            .env("XDG_STATE_HOME", self.dir.path().join("xdg"))
            .env("OS_CLIENT_CONFIG_FILE", self.clouds())
            .env_remove("OS_CLOUD")
            .env_remove("OS_AUTH_URL")
            .env_remove("RUST_LOG")
            .current_dir(repo());
        c
    }

    /// `lifeboat ARGS --state-dir … --cloud emulator`, stdin closed (no TTY).
    pub fn lifeboat(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .arg("--cloud")
            .arg("emulator")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    pub fn client(&self, site: &str) -> Client {
        let mut env = BTreeMap::new();
        env.insert(
            "OS_CLIENT_CONFIG_FILE".to_string(),
            self.clouds().display().to_string(),
        );
        let cfg = ConfigLoader::new(env, vec![])
            .load(Some("emulator"))
            .unwrap()
            .with_region(site);
        Client::new(site, cfg).unwrap()
    }

    /// Status of every server at `site`.
    pub fn server_statuses(&self, site: &str) -> Vec<(String, String)> {
        let c = self.client(site);
        self.rt.block_on(async {
            c.nova()
                .servers_with_tag("vims")
                .await
                .unwrap()
                .into_iter()
                .map(|s| (s.name, s.status))
                .collect()
        })
    }

    pub fn count_volumes(&self, site: &str) -> usize {
        let c = self.client(site);
        self.rt
            .block_on(async { c.cinder().volumes(&[]).await.unwrap().len() })
    }

    /// The only run dir under the state dir (the newest when several).
    pub fn run_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.state().join("runs"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        v
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn journal(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn text(o: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A runbook that quiesces the VNF's servers in role order, group-snapshots
/// their volumes and backs them up to the other site.
pub const SNAP3: &str = r#"
runbook snap3 "quiesce in order, group snapshot, backup" {
  param vnf: string = "vims"
  param from: site = "site-a"
  param order: list<string> = ["db", "app", "lb"]
  param method: string = "pause"

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

pub fn write_snap3(env: &Env) -> String {
    let p = env.dir.path().join("snap3.dr");
    std::fs::write(&p, SNAP3).unwrap();
    p.display().to_string()
}

/// Whether the process `pid` is stopped (state `T` in /proc).
pub fn stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('T'))
        })
        .unwrap_or(false)
}
