//! `lifeboat demo`: the whole option-1 story on an embedded emulator, in
//! well under a minute, on a fresh machine.
//!
//! 1. start the two-site emulator in-process (demo VNF `vims` at site-a);
//! 2. protect (option1/protect, vnf=vims): ordered quiesce, group snapshot,
//!    backups into site-b, manifest;
//! 3. let the workload write, protect again (incremental: fewer bytes);
//! 4. take site-a down; recover at site-b (option1/recover), approved by the
//!    demo itself (it says so);
//! 5. verify every restored volume: its content checksum equals that of the
//!    group-snapshot member it came from (or, failing that, its backup);
//! 6. print RPO, RTO, quiesce windows, bytes of each protect, steps.
//!
//! Exit 0 when every volume verifies, 1 otherwise (or when a run fails).

use super::runtime;
use crate::approver::DemoApprover;
use crate::cloud::{self, SiteSpec, SitesConfig};
use crate::dispatch::{self, Output};
use crate::error::{CliError, CmdResult, Exit};
use crate::report::{fmt_bytes, fmt_ms, RunReport};
use crate::state;
use lifeboat_daemon::run_dir::RunFile;
use lifeboat_emulator::{Emulator, EmulatorConfig, EmulatorHandle, Site};
use lifeboat_exec::journal::Record;
use lifeboat_exec::{new_run_id, Approver, Executor, Refuse};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The VNF to protect and recover (of the demo topology).
    #[arg(long, default_value = "vims")]
    pub vnf: String,
    /// Where the demo's runs are kept (default $XDG_STATE_HOME/lifeboat).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> CmdResult {
    let state = state::state_dir(args.state_dir.as_deref())?;
    let rt = runtime()?;
    rt.block_on(async move {
        // Fast transitions; a workload writing every 250 ms, so that the
        // second protect has fewer changed blocks to move than the first.
        let mut config = EmulatorConfig::fast();
        config.timing.write_interval = std::time::Duration::from_millis(250);
        let h = Emulator::start(config)
            .await
            .map_err(|e| format!("cannot start the embedded emulator: {e}"))?;
        let exit = match demo(&h, &args.vnf, &state).await {
            Ok(true) => Exit::Ok,
            Ok(false) => Exit::RunFailed,
            // Once the demo has started, what stops it is a failed demo
            // (exit 1) as much as a run that fails: said, not exit 2.
            Err(e) => {
                CliError::from(e).print();
                Exit::RunFailed
            }
        };
        h.shutdown().await;
        Ok(exit)
    })
}

async fn demo(h: &EmulatorHandle, vnf: &str, state: &Path) -> Result<bool, String> {
    println!("Lifeboat demo — option 1 (ordered quiesce, group snapshot, incremental backup) for VNF `{vnf}`");
    println!(
        "emulator: site-a {} · site-b {} (embedded, in this process)",
        h.site_url(Site::A),
        h.site_url(Site::B)
    );
    let dir = state.join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let clouds = dir.join("clouds.yaml");
    h.write_clouds_yaml(&clouds)
        .map_err(|e| format!("cannot write {}: {e}", clouds.display()))?;
    let sites = SitesConfig {
        sites: ["site-a", "site-b"]
            .iter()
            .map(|s| SiteSpec {
                site: s.to_string(),
                cloud: "emulator".into(),
                region: None,
            })
            .collect(),
        clouds_file: Some(clouds),
        emulator_admin: Some(h.admin_url()),
    };
    let params = Map::from_iter([("vnf".to_string(), Value::String(vnf.to_string()))]);

    println!("\n[1/4] protect #1 (full backups)");
    let (p1, _) = run_bundled("option1/protect", &params, &sites, state, Arc::new(Refuse)).await?;
    print_summary(&p1);
    if !p1.run.outcome.as_ref().is_some_and(|o| o.is_success()) {
        return Ok(false);
    }

    println!("\n[2/4] the workload keeps writing; protect #2 (incremental)");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let (p2, p2_journal) =
        run_bundled("option1/protect", &params, &sites, state, Arc::new(Refuse)).await?;
    print_summary(&p2);
    if !p2.run.outcome.as_ref().is_some_and(|o| o.is_success()) {
        return Ok(false);
    }

    println!("\n[3/4] site-a goes down; recover `{vnf}` at site-b");
    h.set_site_down(Site::A, true);
    // Held so that restored volumes compare byte for byte with the snapshot
    // (the recovered servers would otherwise start writing at once).
    println!(
        "  (the emulated workload is held during recovery so content can be compared exactly)"
    );
    let mut timing = h.timing();
    timing.write_interval = std::time::Duration::from_secs(24 * 3600);
    h.set_timing(timing);
    let (rec, rec_journal) = run_bundled(
        "option1/recover",
        &params,
        &sites,
        state,
        Arc::new(DemoApprover),
    )
    .await?;
    print_summary(&rec);
    if !rec.run.outcome.as_ref().is_some_and(|o| o.is_success()) {
        return Ok(false);
    }

    println!("\n[4/4] verify restored content against the recovery point");
    let ok = verify(h, &p2_journal, &rec_journal);
    // The network identity, as site-b's Neutron and Nova report it against
    // what protect recorded at site-a (the recover's compare_identity step).
    let identity = results(&rec_journal, "neutron.compare_identity");
    let identity_ok = match identity.first() {
        Some(v) => {
            let good = v.get("ok").and_then(Value::as_bool).unwrap_or(false);
            println!(
                "  {}      network identity: {}",
                if good { "ok" } else { "FAILED" },
                s(v, "detail")
            );
            good
        }
        None => {
            println!("  FAILED  network identity: the recover did not compare it");
            false
        }
    };
    let ok = ok && identity_ok;

    println!("\n=== report ===");
    if let Some(r) = &rec.recovery {
        println!(
            "RPO (age of the recovery point at the end of recovery): {}",
            r.rpo_ms.map(fmt_ms).unwrap_or_else(|| "unknown".into())
        );
        println!(
            "RTO (time to recover at site-b):                        {}",
            r.rto_ms.map(fmt_ms).unwrap_or_else(|| "unknown".into())
        );
    }
    for (name, r) in [("protect #1", &p1), ("protect #2", &p2)] {
        let windows: Vec<String> = r
            .run
            .scopes
            .iter()
            .map(|s| {
                s.window_ms
                    .map(fmt_ms)
                    .unwrap_or_else(|| "not thawed".into())
            })
            .collect();
        println!(
            "{name}: quiesce window {} · bytes moved {} · {} steps · {}",
            windows.join(", "),
            fmt_bytes(r.run.bytes_moved),
            r.run.steps.len(),
            r.run.duration_ms.map(fmt_ms).unwrap_or_default()
        );
    }
    let incremental = p2.run.bytes_moved < p1.run.bytes_moved;
    println!(
        "incremental: protect #2 moved {} vs {} for protect #1 ({})",
        fmt_bytes(p2.run.bytes_moved),
        fmt_bytes(p1.run.bytes_moved),
        if incremental {
            "less, as it should"
        } else {
            "NOT less"
        }
    );
    println!(
        "recover: {} steps · {}",
        rec.run.steps.len(),
        rec.run.duration_ms.map(fmt_ms).unwrap_or_default()
    );
    println!(
        "runs: {p1id}, {p2id}, {rid} (see `lifeboat show <id>`, `lifeboat runs`)",
        p1id = p1.run.run_id,
        p2id = p2.run.run_id,
        rid = rec.run.run_id
    );
    println!("verification: {}", if ok { "PASSED" } else { "FAILED" });
    Ok(ok && incremental)
}

/// Run a bundled runbook to its end under `<state>/runs/<id>`.
async fn run_bundled(
    name: &str,
    params: &Map<String, Value>,
    sites: &SitesConfig,
    state: &Path,
    approver: Arc<dyn Approver>,
) -> Result<(RunReport, Vec<Record>), String> {
    let given: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    let (plan, values) = super::load_plan(name, None, &given).map_err(|e| match e {
        super::LoadError::Errors(_) => format!("the bundled runbook {name} does not compile"),
        other => format!("{name}: {other}"),
    })?;
    let actions = cloud::build_actions(sites)?;
    let id = new_run_id();
    // Kept as `lifeboat run` keeps a run: under its lock, in the history.
    let store = state::store(state).map_err(|e| e.to_string())?;
    let key = lifeboat_daemon::lock::job_key(name, &values);
    let lease = state::lease(&store, &key, &id).map_err(|e| e.to_string())?;
    let dir = store.dir(&id);
    dir.create()?;
    dir.write(RunFile::Params, &values)?;
    dir.write(RunFile::Sites, sites)?;
    dir.write_lock_key(&key)?;
    println!("  running {name} (run {id})");
    state::record_start(
        &lease,
        &state::manual_run(&id, &plan.runbook, &values, sites, dir.path()),
    );
    let exec = Executor::new(Arc::new(actions)).with_approver(approver);
    let handle = exec.spawn(plan, values, dir.path().to_path_buf(), Some(id.clone()));
    let result = dispatch::follow(handle, Output::Quiet, None, RunReport::write_for).await;
    state::record_end(&*store, Some(lease), &id, &result);
    let report = result?;
    let journal = dir
        .journal()
        .map_err(|e| format!("cannot read the journal: {e}"))?;
    Ok((report, journal))
}

fn print_summary(r: &RunReport) {
    let outcome = match &r.run.outcome {
        Some(o) if o.is_success() => "succeeded".to_string(),
        Some(o) => o.word().to_string(),
        None => "unfinished".into(),
    };
    println!(
        "  {outcome} in {} · {} steps · {} moved",
        r.run.duration_ms.map(fmt_ms).unwrap_or_default(),
        r.run.steps.len(),
        fmt_bytes(r.run.bytes_moved)
    );
    for s in &r.run.scopes {
        let order: Vec<&str> = s.targets.iter().map(|t| t.target.as_str()).collect();
        println!(
            "  quiesce window {}: {} (frozen in order {})",
            s.scope,
            s.window_ms
                .map(fmt_ms)
                .unwrap_or_else(|| "not thawed".into()),
            order.join(" → ")
        );
    }
    if let Some(rec) = &r.recovery {
        if !rec.snapshot_time.is_empty() {
            println!("  recovery point: {}", rec.snapshot_time);
        }
    }
    if !r.run.outcome.as_ref().is_some_and(|o| o.is_success()) {
        print!("{}", r.render_text());
    }
}

/// The successful results of the steps calling `action`.
fn results<'a>(journal: &'a [Record], action: &str) -> Vec<&'a Value> {
    let mut mine = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in journal {
        match r {
            Record::StepIntent { instance, call, .. } if call.action == action => {
                mine.insert(instance.clone());
            }
            Record::StepOutcome {
                instance,
                value: Some(v),
                error: None,
                ..
            } if mine.contains(instance) => out.push(v),
            _ => {}
        }
    }
    out
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Every restored volume's content = its group-snapshot member's content.
fn verify(h: &EmulatorHandle, protect: &[Record], recover: &[Record]) -> bool {
    let snaps: Vec<&Value> = results(protect, "cinder.create_group_snapshot")
        .into_iter()
        .flat_map(|g| {
            g.get("snapshots")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .collect();
    let manifest = results(recover, "lifeboat.read_manifest")
        .into_iter()
        .next();
    let mvols: Vec<&Value> = manifest
        .and_then(|m| m.get("volumes"))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let restored = results(recover, "cinder.restore_backup");
    if restored.is_empty() || restored.len() != mvols.len() {
        println!(
            "  FAILED: {} volumes restored, the manifest lists {}",
            restored.len(),
            mvols.len()
        );
        return false;
    }
    let mut ok = true;
    for vol in restored {
        let name = s(vol, "name");
        // restored as lb-<vnf>-<production name>: find its manifest entry
        let Some(mv) = mvols
            .iter()
            .find(|m| name.ends_with(&format!("-{}", s(m, "name"))))
        else {
            println!("  FAILED: restored volume {name} matches no manifest volume");
            ok = false;
            continue;
        };
        let prod = s(mv, "id");
        let got = h.volume_checksum(Site::B, s(vol, "id"));
        let want = snaps
            .iter()
            .find(|sn| s(sn, "origin") == prod || s(sn, "volume_id") == prod)
            .and_then(|sn| h.snapshot_checksum(Site::A, s(sn, "id")))
            .map(|c| (c, "group snapshot member"))
            // the group snapshot is cleaned up at the end of protect; its
            // backup (made from it: the same bytes) stands for it then
            .or_else(|| {
                h.backup_checksum(Site::A, s(mv, "backup_id"))
                    .map(|c| (c, "backup (= group snapshot content)"))
            });
        match (got, want) {
            (Some(g), Some((w, from))) if g == w => {
                println!(
                    "  ok      {:<24} = its {from} ({}…)",
                    s(mv, "name"),
                    &g[..12.min(g.len())]
                );
            }
            (g, w) => {
                println!(
                    "  FAILED  {:<24} restored {:?} ≠ expected {:?}",
                    s(mv, "name"),
                    g,
                    w.map(|x| x.0)
                );
                ok = false;
            }
        }
    }
    ok
}
