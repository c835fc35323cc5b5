//! Option 1 end to end: the bundled runbooks `option1/protect` and
//! `option1/recover`, run by the executor over HTTP against the two-site
//! emulator, with site-a gone before recovery.

mod e2e;

use e2e::{check_recovered, production, s, Env};
use lifeboat_emulator::Site;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_then_recover_with_site_a_down() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    assert_eq!(p.succeeded("cinder.backup").len(), 12);
    // Quiesced in role order, thawed in reverse.
    let frozen: Vec<String> = p.events.iter().filter_map(|e| match &e.kind { lifeboat_exec::EventKind::Frozen { target, .. } => Some(target.clone()), _ => None }).collect();
    let thawed: Vec<String> = p.events.iter().filter_map(|e| match &e.kind { lifeboat_exec::EventKind::Thawed { target, .. } => Some(target.clone()), _ => None }).collect();
    assert_eq!(frozen.len(), 6, "{frozen:?}");
    let mut rev = frozen.clone();
    rev.reverse();
    assert_eq!(thawed, rev, "thawed in reverse order");
    // No temporary volume or snapshot left at site-a; 12 backups there.
    let c = env.counts().await;
    assert_eq!(c["site-a"]["volumes"], json!(12), "{c}");
    assert_eq!(c["site-a"]["snapshots"], json!(0), "{c}");
    assert_eq!(c["site-a"]["backups"], json!(12), "{c}");
    // Content of each backup, by production volume.
    let bks = env.api("site-a", "volume", "/backups/detail").await;
    let mut backup_sum = BTreeMap::new();
    for b in bks["backups"].as_array().unwrap() {
        backup_sum.insert(s(b, "volume_id").to_string(), env.emu.backup_checksum(Site::A, s(b, "id")).expect("backup checksum"));
    }
    assert_eq!(backup_sum.len(), 12);

    env.emu.set_site_down(Site::A, true);
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "recover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    // A restore reads what the backups stored, not the volumes' logical size
    // (12 volumes of 10 or 20 GiB: 180 GiB).
    let (stored, restored) = (p.bytes_moved("cinder.backup"), r.bytes_moved("cinder.restore_backup"));
    assert!(stored > 0 && restored == stored, "restore moved {restored} bytes, the backups stored {stored}");
    assert!(restored < 180 << 30);
    // Restored content equals the backed-up snapshot content, byte for byte
    // (the restore step's volumes, before the guests booted wrote to them, are
    // checked by `lifeboat.verify`; here the booted data volumes' block 0 is
    // compared through the chain: imported backup at site-b = backup at site-a).
    let imported = env.api("site-b", "volume", "/backups/detail").await;
    let imported = imported["backups"].as_array().unwrap();
    assert_eq!(imported.len(), 12);
    for b in imported {
        let got = env.emu.backup_checksum(Site::B, s(b, "id")).expect("imported backup checksum");
        assert!(backup_sum.values().any(|v| *v == got), "imported backup {} holds a protected snapshot", s(b, "id"));
    }
    env.emu.shutdown().await;
}

/// Without approval, recover refuses before touching anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_without_approval_refuses_and_changes_nothing() {
    let env = Env::start().await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    env.emu.set_site_down(Site::A, true);
    let before = env.counts().await;
    let r = env.run_refused("option1/recover", json!({"vnf": "vims"})).await;
    assert!(!r.ok(), "a refused approval fails the run");
    assert!(r.succeeded("cinder.import_backup").is_empty() && r.succeeded("cinder.restore_backup").is_empty() && r.succeeded("nova.boot_from_volume").is_empty());
    assert_eq!(env.counts().await, before, "nothing changed");
    env.emu.shutdown().await;
}

/// The transaction numbers (block 0) held by backups at site-a.
async fn txns(env: &Env, backups: &[String]) -> (i64, i64) {
    let r: Value = reqwest::Client::new()
        .post(format!("{}/_emulator/invariant", env.emu.admin_url()))
        .json(&json!({"site": "site-a", "backup_ids": backups}))
        .send()
        .await
        .expect("invariant")
        .json()
        .await
        .expect("json");
    let t: Vec<i64> = r["records"].as_array().expect("records").iter().map(|x| x["txn"].as_i64().expect("txn")).collect();
    (*t.iter().min().unwrap(), *t.iter().max().unwrap())
}

/// Transaction N of the workload writes block 0 and log block 64 + N % 32 of
/// each volume. Between two recovery points Δ transactions apart, at most
/// 1 + min(Δ, 32) blocks of each of the 12 volumes change (Δ counts the
/// transactions, finished or part-way, seen between them): the incremental
/// backup moves at least one write (2 blocks) and at most
/// 12 × (1 + min(Δ, 32)) × 4 KiB. The writes are slowed after the first
/// 32 log blocks are filled, so that Δ is small and the second protect moves
/// less than the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_protect_is_incremental() {
    let env = Env::start().await;
    // Let the workload fill all 32 log blocks first.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // Then slow it down (one transaction = 12 writes = 3 s), so that few
    // transactions fall between the two recovery points.
    let mut t = env.emu.timing();
    t.write_interval = std::time::Duration::from_millis(250);
    env.emu.set_timing(t);
    let p1 = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p1.ok(), "protect 1: {}", p1.describe());
    let p2 = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p2.ok(), "protect 2: {}", p2.describe());
    let (b1, b2) = (p1.bytes_moved("cinder.backup"), p2.bytes_moved("cinder.backup"));
    let ids = |r: &e2e::Run| -> Vec<String> { r.values("b").into_iter().map(|(_, v)| s(&v, "id").to_string()).collect() };
    // Transactions that may have written to some volume between the two
    // recovery points (a transaction may be part-way along the volumes).
    let ((t1, _), (_, t2)) = (txns(&env, &ids(&p1)).await, txns(&env, &ids(&p2)).await);
    let delta = (t2 - t1).max(0) as u64;
    eprintln!("bytes moved: first protect {b1}, second {b2}; {delta} transactions between the recovery points");
    let incr: Vec<Value> = p2.values("b").into_iter().map(|(_, v)| v).collect();
    assert_eq!(incr.len(), 12);
    assert!(incr.iter().all(|b| b["incremental"] == json!(true)), "second backups are incremental: {incr:?}");
    assert!(delta >= 1, "the workload wrote between the two protects");
    assert!(b2 >= 2 * 4096, "at least one write (block 0 and a log block) moved: {b2}");
    assert!(b2 <= 12 * (1 + delta.min(32)) * 4096, "second protect moved {b2} bytes, more than {delta} transactions can change");
    assert!(b1 >= 12 * 33 * 4096 * 9 / 10, "the first is (nearly) full: {b1}");
    assert!(b2 < b1, "incremental ({b2}) moves less than full ({b1})");
    // The chain restores: recover from the incremental recovery point.
    env.emu.set_site_down(Site::A, true);
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "recover: {}", r.describe());
    let (_, restored) = r.values("restored").pop().expect("restored verified");
    assert_eq!(s(&restored, "detail").matches("content matches").count(), 12, "{restored}");
    // Restoring from the incremental point reads the whole chain: the full
    // backup's data and the increment's.
    assert_eq!(r.bytes_moved("cinder.restore_backup"), b1 + b2, "bytes restored = full + incremental");
    env.emu.shutdown().await;
}

async fn invariant(env: &Env, site: &str, key: &str, ids: &[String]) -> (bool, String) {
    let r: Value = reqwest::Client::new()
        .post(format!("{}/_emulator/invariant", env.emu.admin_url()))
        .json(&json!({"site": site, key: ids}))
        .send()
        .await
        .expect("invariant")
        .json()
        .await
        .expect("invariant json");
    (r["ok"] == json!(true), r["detail"].to_string())
}

const CONTROL: &str = r#"
runbook control "Control: snapshot the VNF's volumes one by one, no quiesce" {
  param vnf: string
  servers = nova.find_servers(site: "site-a", tag: vnf)
  volumes = cinder.volumes_of(servers)
  for v in volumes parallel 1 {
    snap = cinder.create_snapshot(v, name: "control-{v.name}")
  }
}
"#;

/// Under live writes, option 1 recovers a write-order consistent VNF; the
/// control (volume by volume, no quiesce, same workload) does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_writes_keep_the_invariant_and_the_control_breaks_it() {
    let env = Env::start().await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    let st = env.admin_get("/_emulator/status").await;
    assert!(st["writers"]["site-a:vims"]["txn"].as_i64().unwrap_or(0) > 0, "the workload is writing: {st}");

    let ctl = e2e::compile_text("control.dr", CONTROL);
    let c = env.run_plan(&ctl, json!({"vnf": "vims"}), std::sync::Arc::new(lifeboat_exec::AutoApprove)).await;
    assert!(c.ok(), "control: {}", c.describe());
    let snaps: Vec<String> = c.values("snap").into_iter().map(|(_, v)| s(&v, "id").to_string()).collect();
    assert_eq!(snaps.len(), 12);
    let (ok, detail) = invariant(&env, "site-a", "snapshot_ids", &snaps).await;
    assert!(!ok, "snapshots taken one by one under writes break the invariant: {detail}");

    env.emu.set_site_down(Site::A, true);
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "recover: {}", r.describe());
    // The restored volumes' content is the imported backups' (checked by
    // the `restored` verify step); those hold the invariant.
    let (_, restored) = r.values("restored").pop().expect("restored verified");
    assert_eq!(s(&restored, "detail").matches("content matches").count(), 12, "{restored}");
    let imported: Vec<String> = r.values("imp").into_iter().map(|(_, v)| s(&v, "id").to_string()).collect();
    assert_eq!(imported.len(), 12);
    let (ok, detail) = invariant(&env, "site-b", "backup_ids", &imported).await;
    assert!(ok, "option 1 recovery point is consistent: {detail}");
    env.emu.shutdown().await;
}

/// Every backup fails: protect compensates — servers thawed, no temporary
/// volume, snapshot or backup left at site-a.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_failure_compensates() {
    let env = Env::start().await;
    let before = env.counts().await;
    env.emu.set_faults(lifeboat_emulator::FaultProfile::from_yaml_str("rules:\n  - {operation: backup.create, fail_rate: 1.0}\n").unwrap());
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(!p.ok(), "protect must fail");
    env.emu.clear_faults();
    let after = env.counts().await;
    assert_eq!(after, before, "nothing left behind: {before} → {after}\n{}", p.describe());
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    assert!(srvs["servers"].as_array().unwrap().iter().all(|v| s(v, "status") == "ACTIVE"), "no server left paused");
    env.emu.shutdown().await;
}

/// Booting fails at site-b: recover compensates — no server, no restored
/// volume left; the imported backups (the recovery point) stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_failure_compensates() {
    let env = Env::start().await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    env.emu.set_site_down(Site::A, true);
    env.emu.set_faults(lifeboat_emulator::FaultProfile::from_yaml_str("rules:\n  - {operation: server.create, fail_rate: 1.0}\n").unwrap());
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(!r.ok(), "recover must fail");
    env.emu.clear_faults();
    let c = env.counts().await;
    assert_eq!(c["site-b"]["servers"], json!(0), "{c}\n{}", r.describe());
    assert_eq!(c["site-b"]["volumes"], json!(0), "{c}\n{}", r.describe());
    assert_eq!(c["site-b"]["backups"], json!(12), "imported backups kept: {c}");
    // And a retry recovers.
    let r2 = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r2.ok(), "recover after the fault: {}", r2.describe());
    env.emu.shutdown().await;
}
