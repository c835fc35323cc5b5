//! The stack made by up.sh, the actions built from its clouds.yaml, and the
//! file-backed driver's files for byte-for-byte checks.

#![allow(dead_code)]

use lifeboat_actions::{OpenStackActions, SiteCloud};
use lifeboat_exec::action::{ActionCall, ActionError, ActionOutput, Actions};
use lifeboat_openstack::ConfigLoader;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Stack {
    pub base: PathBuf,
    pub harness: PathBuf,
    /// Held for the whole test: the tests of this target run one at a time
    /// whatever --test-threads says: they count what site-b holds (the
    /// differential lists, the drills' leftovers) and one of them takes
    /// site-a down.
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The running stack, or None (skipped) when LIFEBOAT_REALOS_BASE is unset.
/// With LIFEBOAT_REALOS_REQUIRED=1 (set by `.ci/run`'s real-OpenStack phase)
/// a missing stack is a failure.
pub async fn stack_or_skip() -> Option<Stack> {
    let harness = Path::new(env!("CARGO_MANIFEST_DIR")).join("real-openstack");
    match std::env::var("LIFEBOAT_REALOS_BASE") {
        Ok(b) if !b.is_empty() => {
            let base = PathBuf::from(b);
            assert!(
                base.join("clouds.yaml").is_file(),
                "{}/clouds.yaml missing: is the stack up (tests/real-openstack/up.sh)?",
                base.display()
            );
            Some(Stack {
                base,
                harness,
                _serial: SERIAL.lock().await,
            })
        }
        _ if std::env::var("LIFEBOAT_REALOS_REQUIRED").as_deref() == Ok("1") => {
            panic!("LIFEBOAT_REALOS_BASE is not set but LIFEBOAT_REALOS_REQUIRED=1: bring the stack up with tests/real-openstack/up.sh and source BASE/env")
        }
        _ => {
            eprintln!("skipped: LIFEBOAT_REALOS_BASE is not set (tests/real-openstack/up.sh, then source BASE/env)");
            None
        }
    }
}

impl Stack {
    pub fn loader(&self) -> ConfigLoader {
        ConfigLoader::new(BTreeMap::new(), vec![self.base.clone()])
    }

    /// Lifeboat's actions for both sites from the harness's clouds.yaml
    /// (cloud `real`, region = site name), as `lifeboat run --cloud real` builds them.
    pub fn actions(&self) -> Env {
        let acts = OpenStackActions::from_clouds(
            &self.loader(),
            &[
                SiteCloud::new("site-a", "real"),
                SiteCloud::new("site-b", "real"),
            ],
        )
        .expect("actions from the harness's clouds.yaml");
        Env {
            acts,
            run_id: format!("ro{}", std::process::id() % 100_000),
        }
    }

    /// Seeded volumes by name (BASE/seed.json).
    pub fn seed(&self) -> BTreeMap<String, String> {
        let v: Value =
            serde_json::from_slice(&std::fs::read(self.base.join("seed.json")).expect("seed.json"))
                .unwrap();
        v["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["name"].as_str().unwrap().to_string(),
                    x["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    pub fn volume_file(&self, site: &str, file: &str) -> PathBuf {
        self.base.join("data").join(site).join("volumes").join(file)
    }

    /// The guest writes on after the snapshot: overwrite the first 4 KiB of
    /// the live volume.
    pub fn write_after_snapshot(&self, site: &str, volume_id: &str) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.volume_file(site, &format!("volume-{volume_id}")))
            .expect("live volume file");
        f.write_all(&b"WRITTEN-AFTER-THE-SNAPSHOT ".repeat(100)[..2700])
            .unwrap();
    }

    /// Compare two driver files byte for byte (1 MiB chunks; sparse zeros
    /// read fast), and check the content is the seeded one, not zeros.
    pub fn assert_same_bytes(&self, a: (&str, &str), b: (&str, &str), what: &str) {
        self.assert_same_file_bytes(
            &self.volume_file(a.0, a.1),
            &self.volume_file(b.0, b.1),
            what,
        )
    }

    /// The same for any two files (`pa` must hold the seeded content).
    pub fn assert_same_file_bytes(&self, pa: &Path, pb: &Path, what: &str) {
        let (mut fa, mut fb) = (
            std::fs::File::open(pa).unwrap_or_else(|e| panic!("{}: {e}", pa.display())),
            std::fs::File::open(pb).unwrap_or_else(|e| panic!("{}: {e}", pb.display())),
        );
        let (la, lb) = (fa.metadata().unwrap().len(), fb.metadata().unwrap().len());
        assert_eq!(
            la,
            lb,
            "{what}: sizes differ ({} vs {})",
            pa.display(),
            pb.display()
        );
        // The seed's trailer (last 4 KiB: "END <volume name>") is there: the
        // files hold the seeded content, not zeros.
        let mut tail = vec![0u8; 64];
        fa.seek(SeekFrom::Start(la.saturating_sub(4096))).unwrap();
        fa.read_exact(&mut tail).unwrap();
        assert!(
            tail.starts_with(b"END v"),
            "{what}: {} does not hold the seeded content: {:?}",
            pa.display(),
            String::from_utf8_lossy(&tail)
        );
        fa.seek(SeekFrom::Start(0)).unwrap();
        let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
        let mut off = 0u64;
        while off < la {
            let n = ((la - off) as usize).min(ba.len());
            fa.read_exact(&mut ba[..n]).unwrap();
            fb.read_exact(&mut bb[..n]).unwrap();
            if ba[..n] != bb[..n] {
                let i = ba[..n]
                    .iter()
                    .zip(&bb[..n])
                    .position(|(x, y)| x != y)
                    .unwrap();
                panic!(
                    "{what}: {} and {} differ at byte {}",
                    pa.display(),
                    pb.display(),
                    off + i as u64
                );
            }
            off += n as u64;
        }
    }

    /// Whether the first 4 KiB of two driver files are equal.
    pub fn same_first_page(&self, a: (&str, &str), b: (&str, &str)) -> bool {
        let page = |site: &str, file: &str| {
            let mut buf = vec![0u8; 4096];
            std::fs::File::open(self.volume_file(site, file))
                .and_then(|mut f| f.read_exact(&mut buf))
                .unwrap_or_else(|e| panic!("{site}/{file}: {e}"));
            buf
        };
        page(a.0, a.1) == page(b.0, b.1)
    }

    /// Stop every service of `site` (site-down.sh).
    pub fn site_down(&self, site: &str) {
        self.harness_script("site-down.sh", site);
    }

    /// Start every service of `site` again (site-up.sh): back after a
    /// disaster, with what it held before.
    pub fn site_up(&self, site: &str) {
        self.harness_script("site-up.sh", site);
    }

    fn harness_script(&self, script: &str, site: &str) {
        let out = std::process::Command::new(self.harness.join(script))
            .arg(site)
            .arg(&self.base)
            .output()
            .unwrap_or_else(|e| panic!("{script} runs: {e}"));
        assert!(
            out.status.success(),
            "{script} {site}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

pub struct Env {
    pub acts: OpenStackActions,
    pub run_id: String,
}

impl Env {
    pub fn call(&self, action: &str, step: &str, args: Value) -> ActionCall {
        ActionCall {
            action: action.into(),
            args: args.as_object().cloned().unwrap_or_default(),
            site: None,
            run_id: self.run_id.clone(),
            step: step.into(),
            tag: format!(
                "lb-{}-{}",
                self.run_id,
                step.replace(['[', ']'], "-").trim_end_matches('-')
            ),
            attempt: 1,
            // Real services: a 1 GiB backup or restore takes 5-15 s here.
            timeout: Duration::from_secs(300),
            purpose: Default::default(),
            fence: Default::default(),
        }
    }

    pub async fn try_run(
        &self,
        action: &str,
        step: &str,
        args: Value,
    ) -> Result<ActionOutput, ActionError> {
        self.acts.run(&self.call(action, step, args)).await
    }

    /// Run and return the value; panics with the action's error.
    pub async fn run(&self, action: &str, step: &str, args: Value) -> Value {
        let t = std::time::Instant::now();
        let r = self.try_run(action, step, args).await;
        eprintln!("  {action} ({step}) {:.2}s", t.elapsed().as_secs_f64());
        match r {
            Ok(o) => o.value,
            Err(e) => panic!("{action} ({step}) failed: {e} [{:?}]", e.class),
        }
    }
}

pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// A VNF's network identity at one site as real Neutron and Nova report it,
/// one line per fact, names for ids (so two sites compare): each server's
/// NICs in Nova's order (network, fixed IPs, MAC, allowed-address pairs,
/// security groups), the VIP ports, floating IPs, the rules of the groups
/// used, the server groups' policies and members. Servers are named as at
/// the source (`vims-db-1` for a recovered `lb-…-vims-db-1`).
pub async fn network_identity(c: &lifeboat_openstack::Client, vnf: &str) -> Vec<String> {
    let base = |name: &str| -> String {
        match name.find(&format!("{vnf}-")) {
            Some(i) => name[i..].to_string(),
            None => name.to_string(),
        }
    };
    let nets: BTreeMap<String, String> = c
        .neutron()
        .networks(&[])
        .await
        .expect("networks")
        .into_iter()
        .map(|n| (n.id, n.name))
        .collect();
    let groups = c
        .neutron()
        .security_groups(&[])
        .await
        .expect("security groups");
    let sg: BTreeMap<String, String> = groups
        .iter()
        .map(|g| (g.id.clone(), g.name.clone()))
        .collect();
    let describe = |p: &lifeboat_openstack::neutron::Port| {
        let ips: Vec<&str> = p.fixed_ips.iter().map(|f| f.ip_address.as_str()).collect();
        let pairs: Vec<String> = p
            .allowed_address_pairs
            .iter()
            .map(|a| format!("{}@{}", a.ip_address, a.mac_address))
            .collect();
        let mut g: Vec<&str> = p.security_groups.iter().map(|x| sg[x].as_str()).collect();
        g.sort();
        format!(
            "net={} ips={ips:?} mac={} pairs={pairs:?} groups={g:?}",
            nets[&p.network_id], p.mac_address
        )
    };
    let servers = c.nova().servers_with_tag(vnf).await.expect("servers");
    let mut out = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    let mut names = BTreeMap::new();
    let mut pair_ips = Vec::new();
    for s in &servers {
        names.insert(s.id.clone(), base(&s.name));
        // The guest's NIC order: the server's addresses, as Nova lists them.
        let macs = s.addresses.macs();
        let mut nics = Vec::new();
        for f in c.nova().interfaces(&s.id).await.expect("interfaces") {
            nics.push(c.neutron().port(&f.port_id).await.expect("port"));
        }
        nics.sort_by_key(|p| {
            macs.iter()
                .position(|m| *m == p.mac_address)
                .unwrap_or(usize::MAX)
        });
        for (i, p) in nics.iter().enumerate() {
            out.push(format!("nic {}#{i} {}", base(&s.name), describe(p)));
            used.extend(p.security_groups.iter().map(|x| sg[x].clone()));
            pair_ips.extend(p.allowed_address_pairs.iter().map(|a| a.ip_address.clone()));
        }
    }
    let fips = c.neutron().floating_ips(&[]).await.expect("floating ips");
    for p in c.neutron().ports(&[]).await.expect("ports") {
        if p.device_id.is_empty() && p.fixed_ips.iter().any(|f| pair_ips.contains(&f.ip_address)) {
            out.push(format!("vip {}", describe(&p)));
            for f in fips
                .iter()
                .filter(|f| f.port_id.as_deref() == Some(p.id.as_str()))
            {
                out.push(format!(
                    "fip {} on vip {}",
                    f.floating_ip_address,
                    f.fixed_ip_address.clone().unwrap_or_default()
                ));
            }
        }
    }
    for g in groups.iter().filter(|g| used.contains(&g.name)) {
        let mut rules: Vec<String> = g
            .security_group_rules
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {:?}-{:?} {} {}",
                    r.direction,
                    r.ethertype,
                    r.protocol.as_deref().unwrap_or("any"),
                    r.port_range_min,
                    r.port_range_max,
                    r.remote_ip_prefix.as_deref().unwrap_or(""),
                    r.remote_group_id
                        .as_ref()
                        .map(|id| sg[id].as_str())
                        .unwrap_or("")
                )
            })
            .collect();
        rules.sort();
        out.push(format!("sg {} {rules:?}", g.name));
    }
    for g in c.nova().server_groups().await.expect("server groups") {
        let mut members: Vec<String> = g
            .members
            .iter()
            .filter_map(|m| names.get(m).cloned())
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort();
        out.push(format!("group {} {members:?}", g.policy));
    }
    out.sort();
    out
}
