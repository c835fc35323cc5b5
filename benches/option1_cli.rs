//! `cargo bench -p lifeboat-tests --bench option1_cli`: option 1 protect and
//! recover of the demo VNF done by `lifeboat` and by the stock `openstack`
//! CLI (`benches/option1-openstack-cli.sh`: the same calls, in the same
//! order, one after the other as scripts do), each against a fresh embedded
//! emulator with the same configuration (the demo's: fast transitions), in
//! one run. Prints a table with the ratio; the target is ≥ 50×.
//!
//! The CLI is `$LIFEBOAT_OPENSTACK_CLI`, else `target/osc-venv/bin/openstack`
//! (`.ci/install-openstackclient.sh` installs it); the script also needs
//! `jq` and `curl`. Without them the bench says so and stops.
//!
//! `cargo bench -p lifeboat-tests --bench option1_cli -- --serve DIR` only
//! starts such an emulator, writes `DIR/clouds.yaml` and waits (to run the
//! script by hand).

use lifeboat_actions::{ContentChecksums, OpenStackActions, SiteCloud};
use lifeboat_dsl::compiler;
use lifeboat_dsl::loader::FsLoader;
use lifeboat_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Site};
use lifeboat_exec::action::Actions;
use lifeboat_exec::{AutoApprove, Durability, ExecConfig, Executor, RunOptions};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TARGET: f64 = 50.0;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo's emulator: fast transitions, a workload writing every 250 ms.
fn config() -> EmulatorConfig {
    let mut c = EmulatorConfig::fast();
    c.timing.write_interval = Duration::from_millis(250);
    c
}

async fn start(dir: &Path) -> EmulatorHandle {
    let emu = Emulator::start(config()).await.expect("emulator starts");
    emu.write_clouds_yaml(&dir.join("clouds.yaml"))
        .expect("clouds.yaml");
    emu
}

/// Runs a bundled runbook in-process (fresh clients: a new token, as a new
/// `lifeboat run` would get) and returns its wall time.
async fn lifeboat(dir: &Path, emu: &EmulatorHandle, name: &str) -> Duration {
    let t = Instant::now();
    let loader = lifeboat_openstack::ConfigLoader::new(BTreeMap::new(), vec![dir.to_path_buf()]);
    let acts = OpenStackActions::from_clouds(
        &loader,
        &[
            SiteCloud::new("site-a", "emulator"),
            SiteCloud::new("site-b", "emulator"),
        ],
    )
    .expect("actions")
    .with_content_checksums(ContentChecksums::EmulatorAdmin {
        base_url: format!("{}/_emulator", emu.admin_url()),
    });
    let path = repo().join(format!("workflows/{name}.dr"));
    let c = compiler::compile(&path.to_string_lossy(), &FsLoader).expect("runbook readable");
    assert!(!c.has_errors(), "{:?}", c.diagnostics.list);
    let plan = c.plan(None).expect("one runbook").clone();
    let exec = Executor::new(Arc::new(acts) as Arc<dyn Actions>)
        .with_approver(Arc::new(AutoApprove))
        .with_config(ExecConfig {
            durability: Durability::Fsync,
            ..ExecConfig::default()
        });
    let params = json!({"vnf": "vims"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let r = exec
        .run(
            &plan,
            params,
            RunOptions::new(dir.join(format!("run-{}", name.replace('/', "-")))),
        )
        .await
        .expect("run starts");
    assert!(r.outcome.is_success(), "{name}: {:?}", r.outcome);
    t.elapsed()
}

/// Runs the script's `phase`; returns (wall time, calls it made).
fn script(dir: &Path, emu: &EmulatorHandle, osc: &Path, phase: &str) -> (Duration, u64) {
    let calls = dir.join(format!("calls-{phase}"));
    let t = Instant::now();
    let out = std::process::Command::new("bash")
        .arg(repo().join("benches/option1-openstack-cli.sh"))
        .arg(phase)
        .env("OSC", osc)
        .env("OS_CLIENT_CONFIG_FILE", dir.join("clouds.yaml"))
        .env("ADMIN_URL", emu.admin_url())
        .env("CALLS_FILE", &calls)
        .env("WORK_DIR", dir)
        .env("PYTHONWARNINGS", "ignore")
        .env_remove("OS_CLOUD")
        .env_remove("OS_AUTH_URL")
        .output()
        .expect("bash runs");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "script {phase} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let n = std::fs::read_to_string(&calls)
        .map(|s| s.lines().count() as u64)
        .unwrap_or(0);
    (took, n)
}

fn find_osc() -> Option<PathBuf> {
    let p = std::env::var_os("LIFEBOAT_OPENSTACK_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/osc-venv/bin/openstack"));
    p.is_file().then_some(p)
}

fn has(cmd: &str) -> bool {
    std::process::Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        let dir = PathBuf::from(args.get(i + 1).expect("--serve DIR"));
        std::fs::create_dir_all(&dir).expect("dir");
        rt.block_on(async {
            let emu = start(&dir).await;
            println!(
                "clouds.yaml in {}; admin {}; Ctrl-C to stop",
                dir.display(),
                emu.admin_url()
            );
            let _ = tokio::signal::ctrl_c().await;
        });
        return;
    }
    let Some(osc) = find_osc() else {
        println!("option1_cli bench skipped: no `openstack` CLI (run .ci/install-openstackclient.sh or set LIFEBOAT_OPENSTACK_CLI)");
        return;
    };
    if !has("jq") || !has("curl") {
        println!("option1_cli bench skipped: the script needs jq and curl");
        return;
    }
    rt.block_on(async move {
        // Lifeboat.
        let d1 = tempfile::tempdir().expect("tempdir");
        let emu = start(d1.path()).await;
        let lp = lifeboat(d1.path(), &emu, "option1/protect").await;
        emu.set_site_down(Site::A, true);
        let lr = lifeboat(d1.path(), &emu, "option1/recover").await;
        emu.shutdown().await;
        // The same with the stock CLI, on a fresh emulator.
        let d2 = tempfile::tempdir().expect("tempdir");
        let emu = start(d2.path()).await;
        let (dir, osc2) = (d2.path().to_path_buf(), osc.clone());
        let emu_ref = &emu;
        let (sp, np) = tokio::task::block_in_place(|| script(&dir, emu_ref, &osc2, "protect"));
        emu.set_site_down(Site::A, true);
        let (sr, nr) = tokio::task::block_in_place(|| script(&dir, emu_ref, &osc2, "recover"));
        // The CLI's recovery really happened: six servers at site-b.
        let st = reqwest::get(format!("{}/_emulator/status", emu.admin_url())).await.expect("status").json::<serde_json::Value>().await.expect("json");
        let servers_b = st["sites"]["site-b"]["servers"].as_u64().unwrap_or(0);
        emu.shutdown().await;
        assert_eq!(servers_b, 6, "the CLI script recovered six servers at site-b: {st}");

        let ratio = |cli: Duration, lb: Duration| cli.as_secs_f64() / lb.as_secs_f64().max(1e-9);
        println!();
        println!("option 1 on the demo VNF (6 servers, 12 volumes), emulator with the demo's timing ({:?} transitions)", config().timing.transition);
        println!("CLI: {} — one process per call", osc.display());
        println!();
        println!("| runbook | lifeboat s | openstack CLI s | CLI calls | CLI s/call | ratio |");
        println!("|---|---:|---:|---:|---:|---:|");
        for (name, lb, cli, n) in [("protect", lp, sp, np), ("recover", lr, sr, nr)] {
            println!("| {name} | {:.2} | {:.1} | {n} | {:.2} | {:.0}× |", lb.as_secs_f64(), cli.as_secs_f64(), cli.as_secs_f64() / n.max(1) as f64, ratio(cli, lb));
        }
        let (lb, cli) = (lp + lr, sp + sr);
        let total = ratio(cli, lb);
        println!("| **both** | **{:.2}** | **{:.1}** | **{}** | **{:.2}** | **{total:.0}×** |", lb.as_secs_f64(), cli.as_secs_f64(), np + nr, cli.as_secs_f64() / (np + nr).max(1) as f64);
        println!();
        println!("target ≥ {TARGET}×: {}", if total >= TARGET { "met" } else { "NOT met" });
    });
}
