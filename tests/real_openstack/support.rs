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
        let out = std::process::Command::new(self.harness.join("site-down.sh"))
            .arg(site)
            .arg(&self.base)
            .output()
            .expect("site-down.sh runs");
        assert!(
            out.status.success(),
            "site-down.sh {site}: {}{}",
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
