//! Option 1 end to end: the bundled runbooks `option1/protect` and
//! `option1/recover`, run by the executor over HTTP against the two-site
//! emulator, with site-a gone before recovery.

mod e2e;

use e2e::{
    check_recovered, make_dr_networks, make_network, network_identity, production, s,
    store_mapping, Env, Run,
};
use lifeboat_emulator::Site;
use lifeboat_tests::{re_ipd, REIP};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_then_recover_with_site_a_down() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let since = log_seq(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    // The default method pauses: as the cloud saw it, db → app → lb, then unpaused in reverse.
    assert_cloud_order(
        &cloud_freezes(&env, since, "pause", "unpause").await,
        "pause",
        "unpause",
    );
    assert_eq!(p.succeeded("cinder.backup").len(), 12);
    // Quiesced group by group in role order, thawed group by group in reverse.
    let frozen: Vec<String> = p
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            lifeboat_exec::EventKind::Frozen { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect();
    let thawed: Vec<String> = p
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            lifeboat_exec::EventKind::Thawed { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(frozen.len(), 6, "{frozen:?}");
    assert_groups_reversed(&frozen, &thawed);
    // No temporary volume or snapshot left at site-a; 12 backups there.
    let c = env.counts().await;
    assert_eq!(c["site-a"]["volumes"], json!(12), "{c}");
    assert_eq!(c["site-a"]["snapshots"], json!(0), "{c}");
    assert_eq!(c["site-a"]["backups"], json!(12), "{c}");
    // Content of each backup, by production volume.
    let bks = env.api("site-a", "volume", "/backups/detail").await;
    let mut backup_sum = BTreeMap::new();
    for b in bks["backups"].as_array().unwrap() {
        backup_sum.insert(
            s(b, "volume_id").to_string(),
            env.emu
                .backup_checksum(Site::A, s(b, "id"))
                .expect("backup checksum"),
        );
    }
    assert_eq!(backup_sum.len(), 12);

    let bases: Vec<String> = roles.keys().cloned().collect();
    let identity = network_identity(&env, "site-a", &bases, true).await;
    assert_eq!(
        identity.iter().filter(|l| l.starts_with("nic ")).count(),
        12,
        "{identity:#?}"
    );
    env.emu.set_site_down(Site::A, true);
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "recover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    // Every NIC, VIP, floating IP, rule and group as at site-a.
    assert_eq!(
        network_identity(&env, "site-b", &bases, true).await,
        identity
    );
    let (_, cmp) = &r.values("restore.identity")[0];
    assert_eq!(cmp["ok"], true, "{cmp}");
    // A restore reads what the backups stored, not the volumes' logical size
    // (12 volumes of 10 or 20 GiB: 180 GiB).
    let (stored, restored) = (
        p.bytes_moved("cinder.backup"),
        r.bytes_moved("cinder.restore_backup"),
    );
    assert!(
        stored > 0 && restored == stored,
        "restore moved {restored} bytes, the backups stored {stored}"
    );
    assert!(restored < 180 << 30);
    // Restored content equals the backed-up snapshot content, byte for byte
    // (the restore step's volumes, before the guests booted wrote to them, are
    // checked by `lifeboat.verify`; here the booted data volumes' block 0 is
    // compared through the chain: imported backup at site-b = backup at site-a).
    let imported = env.api("site-b", "volume", "/backups/detail").await;
    let imported = imported["backups"].as_array().unwrap();
    assert_eq!(imported.len(), 12);
    for b in imported {
        let got = env
            .emu
            .backup_checksum(Site::B, s(b, "id"))
            .expect("imported backup checksum");
        assert!(
            backup_sum.values().any(|v| *v == got),
            "imported backup {} holds a protected snapshot",
            s(b, "id")
        );
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
    let r = env
        .run_refused("option1/recover", json!({"vnf": "vims"}))
        .await;
    assert!(!r.ok(), "a refused approval fails the run");
    assert!(
        r.succeeded("cinder.import_backup").is_empty()
            && r.succeeded("cinder.restore_backup").is_empty()
            && r.succeeded("nova.boot_from_volume").is_empty()
    );
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
    let t: Vec<i64> = r["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|x| x["txn"].as_i64().expect("txn"))
        .collect();
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
    let (b1, b2) = (
        p1.bytes_moved("cinder.backup"),
        p2.bytes_moved("cinder.backup"),
    );
    let ids = |r: &e2e::Run| -> Vec<String> {
        r.values("b")
            .into_iter()
            .map(|(_, v)| s(&v, "id").to_string())
            .collect()
    };
    // Transactions that may have written to some volume between the two
    // recovery points (a transaction may be part-way along the volumes).
    let ((t1, _), (_, t2)) = (txns(&env, &ids(&p1)).await, txns(&env, &ids(&p2)).await);
    let delta = (t2 - t1).max(0) as u64;
    eprintln!("bytes moved: first protect {b1}, second {b2}; {delta} transactions between the recovery points");
    let incr: Vec<Value> = p2.values("b").into_iter().map(|(_, v)| v).collect();
    assert_eq!(incr.len(), 12);
    assert!(
        incr.iter().all(|b| b["incremental"] == json!(true)),
        "second backups are incremental: {incr:?}"
    );
    assert!(delta >= 1, "the workload wrote between the two protects");
    assert!(
        b2 >= 2 * 4096,
        "at least one write (block 0 and a log block) moved: {b2}"
    );
    assert!(
        b2 <= 12 * (1 + delta.min(32)) * 4096,
        "second protect moved {b2} bytes, more than {delta} transactions can change"
    );
    assert!(
        b1 >= 12 * 33 * 4096 * 9 / 10,
        "the first is (nearly) full: {b1}"
    );
    assert!(b2 < b1, "incremental ({b2}) moves less than full ({b1})");
    // The chain restores: recover from the incremental recovery point.
    env.emu.set_site_down(Site::A, true);
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "recover: {}", r.describe());
    let (_, restored) = r
        .values("restore.restored")
        .pop()
        .expect("restored verified");
    assert_eq!(
        s(&restored, "detail").matches("content matches").count(),
        12,
        "{restored}"
    );
    // Restoring from the incremental point reads the whole chain: the full
    // backup's data and the increment's.
    assert_eq!(
        r.bytes_moved("cinder.restore_backup"),
        b1 + b2,
        "bytes restored = full + incremental"
    );
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
    assert!(
        st["writers"]["site-a:vims"]["txn"].as_i64().unwrap_or(0) > 0,
        "the workload is writing: {st}"
    );

    let ctl = e2e::compile_text("control.dr", CONTROL);
    let c = env
        .run_plan(
            &ctl,
            json!({"vnf": "vims"}),
            std::sync::Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    assert!(c.ok(), "control: {}", c.describe());
    let snaps: Vec<String> = c
        .values("snap")
        .into_iter()
        .map(|(_, v)| s(&v, "id").to_string())
        .collect();
    assert_eq!(snaps.len(), 12);
    let (ok, detail) = invariant(&env, "site-a", "snapshot_ids", &snaps).await;
    assert!(
        !ok,
        "snapshots taken one by one under writes break the invariant: {detail}"
    );

    env.emu.set_site_down(Site::A, true);
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "recover: {}", r.describe());
    // The restored volumes' content is the imported backups' (checked by
    // the `restored` verify step); those hold the invariant.
    let (_, restored) = r
        .values("restore.restored")
        .pop()
        .expect("restored verified");
    assert_eq!(
        s(&restored, "detail").matches("content matches").count(),
        12,
        "{restored}"
    );
    let imported: Vec<String> = r
        .values("restore.imp")
        .into_iter()
        .map(|(_, v)| s(&v, "id").to_string())
        .collect();
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
    env.emu.set_faults(
        lifeboat_emulator::FaultProfile::from_yaml_str(
            "rules:\n  - {operation: backup.create, fail_rate: 1.0}\n",
        )
        .unwrap(),
    );
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(!p.ok(), "protect must fail");
    env.emu.clear_faults();
    let after = env.counts().await;
    assert_eq!(
        after,
        before,
        "nothing left behind: {before} → {after}\n{}",
        p.describe()
    );
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    assert!(
        srvs["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| s(v, "status") == "ACTIVE"),
        "no server left paused"
    );
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
    env.emu.set_faults(
        lifeboat_emulator::FaultProfile::from_yaml_str(
            "rules:\n  - {operation: server.create, fail_rate: 1.0}\n",
        )
        .unwrap(),
    );
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(!r.ok(), "recover must fail");
    env.emu.clear_faults();
    let c = env.counts().await;
    assert_eq!(c["site-b"]["servers"], json!(0), "{c}\n{}", r.describe());
    assert_eq!(c["site-b"]["volumes"], json!(0), "{c}\n{}", r.describe());
    assert_eq!(
        c["site-b"]["backups"],
        json!(12),
        "imported backups kept: {c}"
    );
    // And a retry recovers.
    let r2 = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r2.ok(), "recover after the fault: {}", r2.describe());
    env.emu.shutdown().await;
}

/// A VNF manager for the `hook` method, in front of the emulator's
/// (`/_emulator/vnfm/hook`, which really freezes/thaws the guest I/O): every
/// call is forwarded and the emulator's answer (`"vims-db-1 (site-a)
/// frozen"`) kept, in the order the emulator applied them.
async fn vnfm_proxy(
    admin: String,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/vnfm", listener.local_addr().unwrap());
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log2 = log.clone();
    let task = tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65536];
            let body = loop {
                let n = sock.read(&mut buf).await.unwrap_or(0);
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .and_then(|v| v.trim().parse().ok())
                        })
                        .unwrap_or(0);
                    if got.len() >= i + 4 + len {
                        break got[i + 4..i + 4 + len].to_vec();
                    }
                }
                if n == 0 {
                    break Vec::new();
                }
            };
            let r = http
                .post(format!("{admin}/_emulator/vnfm/hook"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("emulator vnfm");
            let status = r.status().as_u16();
            let answer = r.text().await.unwrap_or_default();
            let v: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
            log2.lock()
                .unwrap()
                .push(v["output"].as_str().unwrap_or(&answer).to_string());
            let reply = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}", answer.len());
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (url, log, task)
}

/// How many writes the workload has made (admin status: transaction `txn`
/// at volume `pos` of the VNF's 12; a transaction that finished shows as the
/// next one at pos 0, so writes = txn × 12 + pos), sampled while a run goes
/// on: (time since `t0`, writes).
async fn sample_writer(
    env: &Env,
    t0: std::time::Instant,
    stop: &std::sync::atomic::AtomicBool,
) -> Vec<(u64, u64, i64)> {
    let mut out = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let asked = t0.elapsed().as_millis() as u64;
        let st = env.admin_get("/_emulator/status").await;
        let w = &st["writers"]["site-a:vims"];
        out.push((
            asked,
            t0.elapsed().as_millis() as u64,
            w["txn"].as_i64().unwrap_or(-1) * 12 + w["pos"].as_i64().unwrap_or(-1),
        ));
        tokio::time::sleep(std::time::Duration::from_millis(15)).await;
    }
    out
}

/// The freeze and thaw actions the cloud (site-a's Nova) answered after
/// request-log sequence number `since`, as `(action, server name, status)`,
/// in the order the emulator served them — its own record, not lifeboat's.
async fn cloud_freezes(
    env: &Env,
    since: u64,
    freeze: &str,
    thaw: &str,
) -> Vec<(String, String, u64)> {
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    let names: BTreeMap<String, String> = srvs["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (s(v, "id").to_string(), s(v, "name").to_string()))
        .collect();
    requests_since(env, since)
        .await
        .iter()
        .filter(|e| e["action"] == freeze || e["action"] == thaw)
        .map(|e| {
            let id = s(e, "path")
                .trim_end_matches("/action")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            (
                s(e, "action").to_string(),
                names.get(&id).cloned().unwrap_or(id),
                e["status"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The cloud saw every server frozen by role (db, app, lb), then thawed in
/// exactly the reverse order (the first frozen thawed last), each call accepted.
/// Frozen group by group (db, app, lb: the two servers of a role together)
/// and thawed group by group in exact reverse: every server of a group is
/// thawed before any of the group frozen before it.
fn assert_groups_reversed(frozen: &[String], thawed: &[String]) {
    let role = |n: &String| n.split('-').nth(1).unwrap_or("").to_string();
    let roles = |v: &[String]| v.iter().map(role).collect::<Vec<_>>();
    assert_eq!(
        roles(frozen),
        ["db", "db", "app", "app", "lb", "lb"],
        "frozen {frozen:?}"
    );
    assert_eq!(
        roles(thawed),
        ["lb", "lb", "app", "app", "db", "db"],
        "thawed {thawed:?}"
    );
    let mut f = frozen.to_vec();
    let mut t = thawed.to_vec();
    f.sort();
    t.sort();
    assert_eq!(f, t, "every frozen server thawed once");
}

fn assert_cloud_order(seen: &[(String, String, u64)], freeze: &str, thaw: &str) {
    assert!(
        seen.iter().all(|(_, _, st)| *st == 202),
        "every freeze/thaw accepted: {seen:?}"
    );
    let n = seen
        .iter()
        .position(|(a, _, _)| a == thaw)
        .unwrap_or(seen.len());
    let (frozen, thawed) = seen.split_at(n);
    assert!(
        frozen.iter().all(|(a, _, _)| a == freeze) && thawed.iter().all(|(a, _, _)| a == thaw),
        "all freezes before all thaws: {seen:?}"
    );
    let names =
        |v: &[(String, String, u64)]| v.iter().map(|(_, n, _)| n.clone()).collect::<Vec<_>>();
    assert_groups_reversed(&names(frozen), &names(thawed));
}

async fn log_seq(env: &Env) -> u64 {
    env.admin_get("/_emulator/requests?site=site-a&since=18446744073709551615")
        .await["last_seq"]
        .as_u64()
        .expect("last_seq")
}

/// The requests site-a answered after `since` (the log must hold them all).
async fn requests_since(env: &Env, since: u64) -> Vec<Value> {
    let log = env
        .admin_get(&format!("/_emulator/requests?site=site-a&since={since}"))
        .await;
    assert_eq!(log["dropped"], json!(0), "the request log overflowed");
    log["requests"].as_array().expect("request log").clone()
}

/// Protect with a quiesce `method`: frozen db → app → lb and thawed in
/// reverse (journal), really frozen in the emulator while the group snapshot
/// was taken (the live workload stood still; the snapshot call is slowed to
/// 400 ms to make that observable), really thawed afterwards (the workload goes on, and every
/// server accepts a quiesce again), and a consistent recovery point.
async fn protect_with_method(env: &Env, params: Value) -> Run {
    env.faults("rules:\n  - {site: site-a, service: volume, method: POST, path_contains: group_snapshots, latency: {kind: fixed, ms: 400}}\n");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let plan = e2e::bundled("option1/protect");
    let since = log_seq(env).await;
    let t0 = std::time::Instant::now();
    let (p, samples) = tokio::join!(
        async {
            let p = env
                .run_plan(
                    &plan,
                    params.clone(),
                    std::sync::Arc::new(lifeboat_exec::AutoApprove),
                )
                .await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            p
        },
        sample_writer(env, t0, &stop)
    );
    env.emu.clear_faults();
    assert!(p.ok(), "protect with {params}: {}", p.describe());
    // Order (the executor's journal): freeze by role, thaw in reverse.
    let frozen: Vec<String> = p
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            lifeboat_exec::EventKind::Frozen { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect();
    let thawed: Vec<String> = p
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            lifeboat_exec::EventKind::Thawed { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect();
    assert_groups_reversed(&frozen, &thawed);
    // Order as the cloud saw it (the emulator's request log): through Nova
    // for nova-quiesce; for a hook, Nova was asked to freeze nothing.
    match params["method"].as_str() {
        Some("nova-quiesce") => assert_cloud_order(
            &cloud_freezes(env, since, "quiesce", "unquiesce").await,
            "quiesce",
            "unquiesce",
        ),
        Some("hook") => {
            let nova = cloud_freezes(env, since, "quiesce", "unquiesce").await;
            let paused = cloud_freezes(env, since, "pause", "unpause").await;
            assert!(
                nova.is_empty() && paused.is_empty(),
                "a hook freezes through the VNFM, not Nova: {nova:?} {paused:?}"
            );
        }
        other => panic!("no cloud-order check for method {other:?}"),
    }
    // Really frozen: the live workload (a write every 2 ms while its servers
    // run) stood still for at least 300 ms during the run — the snapshot call
    // alone takes 400 ms, and only a frozen server stops the writer.
    let mut longest = 0;
    let mut i = 0;
    while i < samples.len() {
        let mut j = i;
        while j + 1 < samples.len() && samples[j + 1].2 == samples[i].2 {
            j += 1;
        }
        longest = longest.max(samples[j].0.saturating_sub(samples[i].1));
        i = j + 1;
    }
    assert!(
        longest >= 300,
        "the workload never stood still for 300 ms (longest {longest} ms): {samples:?}"
    );
    // Really thawed: the workload goes on, and no server is still quiesced.
    let before = env.admin_get("/_emulator/status").await["writers"]["site-a:vims"]["txn"]
        .as_i64()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let after = env.admin_get("/_emulator/status").await["writers"]["site-a:vims"]["txn"]
        .as_i64()
        .unwrap();
    assert!(
        after > before,
        "the workload is writing again ({before} → {after})"
    );
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    for srv in srvs["servers"].as_array().unwrap() {
        assert_eq!(s(srv, "status"), "ACTIVE");
        for (act, want) in [("quiesce", 202), ("unquiesce", 202)] {
            let code = server_action(env, s(srv, "id"), act).await;
            assert_eq!(
                code,
                want,
                "{act} of {} (409 = it was left quiesced)",
                s(srv, "name")
            );
        }
    }
    let ids: Vec<String> = p
        .values("b")
        .into_iter()
        .map(|(_, v)| s(&v, "id").to_string())
        .collect();
    let (ok, detail) = invariant(env, "site-a", "backup_ids", &ids).await;
    assert!(ok, "consistent recovery point: {detail}");
    p
}

async fn server_action(env: &Env, id: &str, action: &str) -> u16 {
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "operator", "domain": {"name": "Default"}, "password": "lifeboat"}}},
        "scope": {"project": {"name": "vnf-ops", "domain": {"name": "Default"}}}}});
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/auth/tokens", env.emu.keystone_url()))
        .json(&body)
        .send()
        .await
        .expect("token");
    let tok = r.headers()["X-Subject-Token"].to_str().unwrap().to_string();
    http.post(format!(
        "{}/compute/v2.1/servers/{id}/action",
        env.emu.site_url(Site::A)
    ))
    .header("X-Auth-Token", tok)
    .json(&json!({action: null}))
    .send()
    .await
    .expect("server action")
    .status()
    .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_with_nova_quiesce_freezes_and_thaws_in_order() {
    let env = Env::start().await;
    let p = protect_with_method(&env, json!({"vnf": "vims", "method": "nova-quiesce"})).await;
    assert_eq!(p.succeeded("cinder.backup").len(), 12);
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_with_a_hook_freezes_and_thaws_in_order() {
    let env = Env::start().await;
    let (url, log, task) = vnfm_proxy(env.emu.admin_url()).await;
    let p = protect_with_method(
        &env,
        json!({"vnf": "vims", "method": "hook", "hook_url": url}),
    )
    .await;
    assert_eq!(p.succeeded("cinder.backup").len(), 12);
    // The emulator's own answers, in the order it applied them.
    let log = log.lock().unwrap().clone();
    let want: Vec<String> = ["db-1", "db-2", "app-1", "app-2", "lb-1", "lb-2"]
        .iter()
        .map(|n| format!("vims-{n} (site-a) frozen"))
        .chain(
            ["lb-2", "lb-1", "app-2", "app-1", "db-2", "db-1"]
                .iter()
                .map(|n| format!("vims-{n} (site-a) thawed")),
        )
        .collect();
    assert_eq!(log, want);
    task.abort();
    env.emu.shutdown().await;
}

/// The `within` watchdog over HTTP: the group snapshot call is slowed to
/// 3 s, the scope allows 1 s — the body is abandoned, the servers thawed in
/// reverse order, the run fails naming the watchdog, and no server stayed
/// frozen much longer than allowed (1 s: the watchdog keeps as much time
/// for the thaws as the freezes took; the bound here leaves room for a
/// loaded machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchdog_expiry_thaws_and_fails_the_run() {
    let env = Env::start().await;
    env.faults("rules:\n  - {site: site-a, service: volume, method: POST, path_contains: group_snapshots, latency: {kind: fixed, ms: 3000}}\n");
    // No second attempt (see the test after this one).
    let plan = e2e::protect_edited("protect-1s.dr", |t| {
        t.replace("within 30s retry 2 backoff 15s", "within 1s")
    });
    let p = env
        .run_plan(
            &plan,
            json!({"vnf": "vims"}),
            std::sync::Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    env.emu.clear_faults();
    assert!(!p.ok(), "the watchdog fails the run");
    assert!(
        p.events.iter().any(|e| matches!(
            &e.kind,
            lifeboat_exec::EventKind::WatchdogExpired {
                within_ms: 1000,
                ..
            }
        )),
        "{}",
        p.describe()
    );
    assert!(
        format!("{:?}", p.result.outcome).contains("watchdog"),
        "the failure names the watchdog: {:?}",
        p.result.outcome
    );
    let at = |f: &dyn Fn(&lifeboat_exec::EventKind) -> bool| -> Vec<u64> {
        p.events
            .iter()
            .filter(|e| f(&e.kind))
            .map(|e| e.at_ms)
            .collect()
    };
    let frozen = at(&|k| matches!(k, lifeboat_exec::EventKind::FreezeStarted { .. }));
    let thawed = at(&|k| matches!(k, lifeboat_exec::EventKind::Thawed { .. }));
    assert_eq!((frozen.len(), thawed.len()), (6, 6));
    let first_frozen = frozen[0];
    let last_thawed = *thawed.last().unwrap();
    assert!(
        last_thawed - first_frozen < 2500,
        "frozen for {} ms: the 3 s snapshot call was not waited for",
        last_thawed - first_frozen
    );
    let targets = |f: &dyn Fn(&lifeboat_exec::EventKind) -> Option<String>| -> Vec<String> {
        p.events.iter().filter_map(|e| f(&e.kind)).collect()
    };
    let order = targets(&|k| match k {
        lifeboat_exec::EventKind::Frozen { target, .. } => Some(target.clone()),
        _ => None,
    });
    assert_groups_reversed(
        &order,
        &targets(&|k| match k {
            lifeboat_exec::EventKind::Thawed { target, .. } => Some(target.clone()),
            _ => None,
        }),
    );
    // Give the abandoned snapshot call time to land, then: every server up,
    // and the cleanup removed what the late call made.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    assert!(
        srvs["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| s(v, "status") == "ACTIVE"),
        "no server left paused"
    );
    env.emu.shutdown().await;
}

/// The bundled point's freeze is tried again: the first group snapshot is
/// slower (3 s) than the freeze allows (1 s here). The first attempt is cut
/// short, its servers thawed; the second freezes again in the same order,
/// snapshots, and the run succeeds with every backup, leaving no group
/// snapshot and no server paused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freeze_cut_short_by_a_slow_snapshot_is_tried_again() {
    let env = Env::start().await;
    env.faults("rules:\n  - {site: site-a, service: volume, method: POST, path_contains: group_snapshots, latency: {kind: fixed, ms: 3000}, times: 1}\n");
    let plan = e2e::protect_edited("protect-retry.dr", |t| {
        t.replace(
            "within 30s retry 2 backoff 15s",
            "within 1s retry 2 backoff 1s",
        )
    });
    let p = env
        .run_plan(
            &plan,
            json!({"vnf": "vims"}),
            std::sync::Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    env.emu.clear_faults();
    assert!(p.ok(), "{}", p.describe());
    p.print_report("protect with a slow first snapshot");
    let tried: Vec<(u32, String)> = p
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            lifeboat_exec::EventKind::ScopeRetrying { attempt, error, .. } => {
                Some((*attempt, error.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(tried.len(), 1, "{tried:?}");
    assert_eq!(tried[0].0, 2);
    assert!(tried[0].1.contains("watchdog"), "{tried:?}");
    // Each attempt froze in role order and thawed in reverse.
    let frozen: Vec<String> = p
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            lifeboat_exec::EventKind::Frozen { target, .. } => Some(target.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(frozen.len(), 12, "{frozen:?}");
    assert_eq!(frozen[..6], frozen[6..]);
    // The point is whole: the second attempt's snapshot, every volume backed up.
    assert_eq!(
        p.succeeded("cinder.create_group_snapshot")
            .iter()
            .map(|(_, i)| i.as_str())
            .collect::<Vec<_>>(),
        ["snap~2"]
    );
    assert_eq!(p.succeeded("cinder.backup").len(), 12);
    // Nothing left: no group snapshot (each attempt's was deleted), no
    // server paused.
    let gs = env.api("site-a", "volume", "/group_snapshots/detail").await;
    assert_eq!(
        gs["group_snapshots"].as_array().map(Vec::len),
        Some(0),
        "{gs}"
    );
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    assert!(srvs["servers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| s(v, "status") == "ACTIVE"));
    env.emu.shutdown().await;
}

/// Transient 5xx answers are retried with backoff: every backup POST beyond
/// two a second answers 503 (with `Retry-After: 0`, which is no hint: the
/// exponential backoff applies) — the run retries them and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried() {
    let env = Env::start().await;
    env.faults("rules:\n  - {site: site-a, service: volume, method: POST, path_contains: /backups, rate_limit: {max_requests: 2, per_seconds: 1, status: 503, retry_after_s: 0}}\n");
    // The bundled runbook with a shorter backoff (the catalogue's is 10 s).
    let plan = e2e::protect_edited("protect-backoff.dr", |t| {
        t.replace("retry 3 timeout 30m", "retry 6 backoff 1s timeout 30m")
    });
    let p = env
        .run_plan(
            &plan,
            json!({"vnf": "vims"}),
            std::sync::Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    env.emu.clear_faults();
    assert!(p.ok(), "protect: {}", p.describe());
    let retried: Vec<String> = p
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            lifeboat_exec::EventKind::StepRetrying {
                instance, error, ..
            } if error.contains("503") => Some(instance.clone()),
            _ => None,
        })
        .collect();
    assert!(
        retried.iter().any(|i| i.starts_with("b[")),
        "backups were retried after 503: {}",
        p.describe()
    );
    let delays: Vec<u64> = p
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            lifeboat_exec::EventKind::StepRetrying { delay_ms, .. } => Some(*delay_ms),
            _ => None,
        })
        .collect();
    assert!(
        delays.iter().all(|d| *d > 0),
        "backed off before each retry: {delays:?}"
    );
    assert_eq!(p.succeeded("cinder.backup").len(), 12);
    env.emu.shutdown().await;
}

/// `full=true` starts a new chain: every backup of that protect is full
/// (nothing to read from the previous chain), and the next default protect
/// is incremental again on it. Bounded chains are what let retention free
/// the data of old ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_param_starts_a_new_chain() {
    let env = Env::start().await;
    let p1 = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p1.ok(), "protect 1: {}", p1.describe());
    let p2 = env
        .run("option1/protect", json!({"vnf": "vims", "full": true}))
        .await;
    assert!(p2.ok(), "protect 2: {}", p2.describe());
    let p3 = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p3.ok(), "protect 3: {}", p3.describe());
    let kinds = |r: &e2e::Run| -> Vec<Value> {
        r.values("b")
            .into_iter()
            .map(|(_, v)| v["incremental"].clone())
            .collect()
    };
    assert_eq!(kinds(&p2).len(), 12);
    assert!(
        kinds(&p2).iter().all(|i| *i == json!(false)),
        "full=true made incremental backups: {:?}",
        kinds(&p2)
    );
    assert!(
        kinds(&p3).iter().all(|i| *i == json!(true)),
        "the next default protect is not incremental: {:?}",
        kinds(&p3)
    );
    let (b1, b2, b3) = (
        p1.bytes_moved("cinder.backup"),
        p2.bytes_moved("cinder.backup"),
        p3.bytes_moved("cinder.backup"),
    );
    eprintln!("bytes moved: protect 1 (full) {b1}, protect 2 (full=true) {b2}, protect 3 (incremental) {b3}");
    assert!(
        b2 >= b1 * 9 / 10,
        "a full backup moves the whole volumes again: {b2} vs {b1}"
    );
}

/// Port policy "keep IP" (a site mapping given for this run, `ports:
/// keep-ip`): every port keeps its fixed IPs and VIP pairs but takes a new
/// MAC; the VIP pair follows the lb's new MAC.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_keeping_addresses_with_new_macs() {
    let env = Env::start().await;
    let (_, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    let bases: Vec<String> = roles.keys().cloned().collect();
    let at_a = network_identity(&env, "site-a", &bases, true).await;
    env.emu.set_site_down(Site::A, true);
    let r = recover_with_mapping(&env, "ports: keep-ip\n").await;
    assert!(r.ok(), "recover: {}", r.describe());
    let at_b = network_identity(&env, "site-b", &bases, true).await;
    // Lines without MACs are the same; every MAC is a new one.
    let macs = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .flat_map(|l| {
                l.split(['=', ' ', '@', '"'])
                    .filter(|w| w.starts_with("fa:16:3e:"))
                    .map(str::to_string)
            })
            .collect()
    };
    let strip = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                l.split(['=', ' ', '@', '"'])
                    .map(|w| if w.starts_with("fa:16:3e:") { "MAC" } else { w })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    assert_eq!(strip(&at_b), strip(&at_a));
    let (old, new) = (macs(&at_a), macs(&at_b));
    assert!(
        !new.is_empty() && new.iter().all(|m| !old.contains(m)),
        "{old:?} → {new:?}"
    );
    // The lb's VIP pair names the lb port's new MAC.
    let lb = at_b
        .iter()
        .find(|l| l.starts_with("nic vims-lb-1#1"))
        .expect("lb media nic");
    let own = lb.split("mac=").nth(1).unwrap().split(' ').next().unwrap();
    assert!(lb.contains(&format!("@{own}")), "{lb}");
    let (_, cmp) = &r.values("restore.identity")[0];
    assert_eq!(cmp["ok"], true, "{cmp}");
    assert!(
        s(cmp, "detail").contains("as recorded (IPs, VIP pairs; new MACs)"),
        "{cmp}"
    );
}

/// SRM-style re-IP by the site mapping kept at the backup site: every port
/// comes back on the mapped network with its address moved to the same
/// offset in the mapped subnet, the same MAC, VIP pairs and security rules
/// moved alike, the floating IP kept; `compare_identity` checks it against
/// the translated manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_re_ips_by_the_site_mapping_stored_at_the_backup_site() {
    // A volume type of the backup site's own, to map the volumes' onto.
    let mut config = lifeboat_emulator::EmulatorConfig::fast();
    config
        .topology
        .volume_types
        .push(lifeboat_emulator::topology::TypeSpec {
            name: "gold".into(),
            specs: Default::default(),
        });
    let env = Env::start_with(config).await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    let bases: Vec<String> = roles.keys().cloned().collect();
    let at_a = network_identity(&env, "site-a", &bases, true).await;
    make_dr_networks(&env).await;
    // Kept at the backup site, where `lifeboat mapping put` keeps it.
    store_mapping(
        &env,
        &format!("{REIP}volume_types:\n  - {{from: standard, to: gold}}\n"),
    )
    .await;
    env.emu.set_site_down(Site::A, true);
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "recover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    let at_b = network_identity(&env, "site-b", &bases, true).await;
    assert_eq!(at_b, re_ipd(&at_a));
    // Every volume restored into the mapped type, its content as backed up.
    let vols = env.volumes("site-b").await;
    assert_eq!(vols.len(), 12, "{vols:?}");
    assert!(vols.iter().all(|(_, _, t)| t == "gold"), "{vols:?}");
    let (_, verified) = &r.values("restore.restored")[0];
    assert_eq!(verified["ok"], true, "{verified}");
    let (_, cmp) = &r.values("restore.identity")[0];
    assert_eq!(cmp["ok"], true, "{cmp}");
    assert!(
        s(cmp, "detail").contains("identical (IPs, MACs, VIP pairs)"),
        "{cmp}"
    );
    // The servers were booted on the mapped networks.
    let (_, m) = &r.values("restore.m")[0];
    assert!(m["servers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["networks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n.as_str().unwrap().ends_with("-dr"))));
}

/// Port policy "new" (a mapping for this run): every port takes a new
/// address on its subnet and a new MAC, and the lb pair's allowed-address
/// pairs follow the VIP port to its new address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_with_new_addresses_moves_the_vip_pairs() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    // site-b's subnets have other tenants' ports on their first addresses,
    // so the new ones differ from site-a's.
    let nets = env.api("site-b", "network", "/networks").await;
    for n in nets["networks"].as_array().unwrap() {
        if ["mgmt", "signalling", "media"].contains(&s(n, "name")) {
            for k in 0..8 {
                env.api_call(
                    "site-b",
                    "network",
                    reqwest::Method::POST,
                    "/ports",
                    Some(json!({"port": {"network_id": n["id"], "name": format!("tenant-{k}")}})),
                )
                .await;
            }
        }
    }
    env.emu.set_site_down(Site::A, true);
    let r = recover_with_mapping(&env, "ports: new\n").await;
    assert!(r.ok(), "recover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    let (_, rec) = &r.values("recorded")[0];
    let recorded = rec["network"]["ports"].as_array().unwrap();
    let ports = env.api("site-b", "network", "/ports").await;
    let ports = ports["ports"].as_array().unwrap();
    let vip_old = recorded
        .iter()
        .find(|p| p["index"] == json!(-1))
        .expect("a VIP port in the manifest");
    let vip_new = ports
        .iter()
        .find(|p| s(p, "name") == s(vip_old, "name"))
        .expect("the VIP port made at site-b");
    let old_ip = s(&vip_old["fixed_ips"][0], "ip_address");
    let new_ip = s(&vip_new["fixed_ips"][0], "ip_address");
    assert_ne!(old_ip, new_ip);
    for w in recorded {
        let made = ports
            .iter()
            .find(|p| s(p, "name") == s(w, "name"))
            .unwrap_or_else(|| panic!("port {} made", s(w, "name")));
        assert_ne!(s(made, "mac_address"), s(w, "mac_address"));
        assert_ne!(
            made["fixed_ips"][0]["ip_address"],
            w["fixed_ips"][0]["ip_address"]
        );
        for pair in w["allowed_address_pairs"].as_array().unwrap() {
            assert_eq!(s(pair, "ip_address"), old_ip, "{w}");
            let now = made["allowed_address_pairs"].as_array().unwrap();
            assert_eq!(now.len(), 1, "{made}");
            assert_eq!(s(&now[0], "ip_address"), new_ip, "{made}");
            assert_eq!(s(&now[0], "mac_address"), s(made, "mac_address"), "{made}");
        }
    }
    let (_, cmp) = &r.values("restore.identity")[0];
    assert_eq!(cmp["ok"], true, "{cmp}");
    assert!(s(cmp, "detail").contains("new addresses and MACs"), "{cmp}");
}

/// A drill runs on the mapping's test networks (here a lab network named in
/// the mapping, not the `-test` default) and deletes all it made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_runs_on_the_mapped_test_networks() {
    let env = Env::start().await;
    production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    for (n, cidr) in [
        ("mgmt-lab", "10.1.0.0/16"),
        ("signalling-lab", "10.2.0.0/16"),
        ("media-lab", "10.3.0.0/16"),
    ] {
        make_network(&env, "site-b", n, cidr, None, &[]).await;
    }
    let before = env.counts().await;
    let mapping = env.dir.path().join("lab.yaml");
    std::fs::write(
        &mapping,
        "version: 1\nsource: site-a\ntarget: site-b\nnetworks:\n  - {from: mgmt, to: mgmt, test: mgmt-lab}\n  - {from: signalling, to: signalling, test: signalling-lab}\n  - {from: media, to: media, test: media-lab}\n",
    )
    .unwrap();
    let d = env
        .run(
            "option1/drill",
            json!({"vnf": "vims", "mapping": mapping.to_str().unwrap()}),
        )
        .await;
    assert!(d.ok(), "drill: {}", d.describe());
    let made = d.values("port");
    assert_eq!(made.len(), 13);
    for (_, p) in &made {
        assert!(s(p, "network").ends_with("-lab"), "{p}");
    }
    let (_, cmp) = &d.values("identity")[0];
    assert_eq!(cmp["ok"], true, "{cmp}");
    // All it made is gone (the imported backups are kept by design: they
    // share the recovery point's data).
    let mut after = env.counts().await;
    after["site-b"]["backups"] = before["site-b"]["backups"].clone();
    assert_eq!(
        after["site-b"], before["site-b"],
        "the drill left something behind"
    );
}

/// A mapping that does not resolve stops a recovery before anything is
/// made, naming the problem: a network the backup site lacks; a flavor no
/// flavor there can hold; a document for another pair of sites; a document
/// with a mistake (its line and column); a re-IP rule promising DNS servers
/// the target subnet does not offer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_that_does_not_resolve_stops_before_anything_is_made() {
    let env = Env::start().await;
    production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    env.emu.set_site_down(Site::A, true);
    let before = env.counts().await;
    let head = "version: 1\nsource: site-a\ntarget: site-b\n";
    for (doc, says) in [
        (
            format!("{head}networks:\n  - {{from: mgmt, to: mgmt-nowhere}}\n"),
            "no network named \"mgmt-nowhere\" at site-b",
        ),
        (
            format!("{head}flavors:\n  - {{from: m1.large, to: m1.nowhere}}\n"),
            "flavor \"m1.nowhere\" does not exist at site-b",
        ),
        (
            "version: 1\nsource: site-c\ntarget: site-b\n".to_string(),
            "maps site-c to site-b, but this run goes from site-a to site-b",
        ),
        (
            format!("{head}ports: keep-everything\n"),
            ":4:8: ports: unknown variant `keep-everything`",
        ),
        (
            format!("{head}reip:\n  - {{from: 10.1.0.0/16, to: 10.1.0.0/16, dns: [10.1.0.53]}}\n"),
            "(10.1.0.0/16) at site-b offers DNS servers [], not [\"10.1.0.53\"]",
        ),
    ] {
        let path = env.dir.path().join("bad.yaml");
        std::fs::write(&path, &doc).unwrap();
        let r = env
            .run(
                "option1/recover",
                json!({"vnf": "vims", "mapping": path.to_str().unwrap()}),
            )
            .await;
        assert!(!r.ok(), "{doc}");
        let (_, why) = r.first_failure().expect("a failed step");
        assert!(why.contains(says), "{doc}\n{why}");
        assert_eq!(
            env.counts().await["site-b"],
            before["site-b"],
            "{doc}: something was made"
        );
    }
}

/// `option1/recover` of vims with a per-run site mapping (`mapping=FILE`)
/// from site-a to site-b whose body after the header is `body`.
async fn recover_with_mapping(env: &Env, body: &str) -> Run {
    let mapping = env.dir.path().join("mapping.yaml");
    std::fs::write(
        &mapping,
        format!("version: 1\nsource: site-a\ntarget: site-b\n{body}"),
    )
    .unwrap();
    env.run(
        "option1/recover",
        json!({"vnf": "vims", "mapping": mapping.to_str().unwrap()}),
    )
    .await
}

/// What the cloud is asked while the VNF is frozen does not grow with the
/// group or the project: the group snapshot, its status polls, one page of
/// the newest snapshots for its members and one volume list for their
/// origins — no member tagged (`…/metadata`), no member read one by one;
/// and no server's volumes read again by a freeze or a thaw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_freeze_window_asks_a_constant_number_of_requests() {
    let env = Env::start().await;
    let since = log_seq(&env).await;
    let p = env
        .run_plan(
            &e2e::bundled("option1/protect"),
            json!({"vnf": "vims"}),
            std::sync::Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    assert!(p.ok(), "protect: {}", p.describe());
    let entries = &requests_since(&env, since).await;
    let last_freeze = entries
        .iter()
        .rposition(|e| e["action"] == "pause")
        .expect("servers were paused");
    let first_thaw = entries
        .iter()
        .position(|e| e["action"] == "unpause")
        .expect("servers were unpaused");
    assert!(last_freeze < first_thaw, "every freeze before every thaw");
    // Block Storage's part of the window (a freeze's last status read may
    // come after the last pause).
    let window: Vec<String> = entries[last_freeze + 1..first_thaw]
        .iter()
        .map(|e| format!("{} {}", s(e, "method"), s(e, "path")))
        .filter(|r| r.contains("/volume/"))
        .collect();
    let polls = |r: &String| r.starts_with("GET ") && r.contains("/group_snapshots/");
    let rest: Vec<&String> = window.iter().filter(|r| !polls(r)).collect();
    assert!(
        window.iter().all(|r| !r.contains("/metadata")),
        "nothing tagged in the window: {window:?}"
    );
    assert_eq!(
        rest.iter()
            .filter(|r| r.ends_with("/snapshots/detail"))
            .count(),
        1,
        "one page of snapshots: {window:?}"
    );
    assert!(
        rest.len() <= 3,
        "the group snapshot, one snapshot page and one volume list: {rest:?}"
    );
    // A freeze or a thaw is its action and its status reads: the server's
    // volumes are not read again (pausing attaches nothing).
    let first_freeze = entries
        .iter()
        .position(|e| e["action"] == "pause")
        .expect("servers were paused");
    let last_thaw = entries
        .iter()
        .rposition(|e| e["action"] == "unpause")
        .expect("servers were unpaused");
    let reread: Vec<&str> = entries[first_freeze..=last_thaw]
        .iter()
        .map(|e| s(e, "path"))
        .filter(|p| p.contains("/os-volume_attachments"))
        .collect();
    assert!(reread.is_empty(), "volumes read in the window: {reread:?}");
    env.emu.shutdown().await;
}

/// A protect asks the cloud for each thing once: a freeze or a thaw is its
/// action first (a server is read only for its status after it, or when
/// Nova refuses it), the servers' volumes and NIC order come from the
/// records `nova.find_servers` made, and a group snapshot's members are not
/// looked up again through their group (a backup read no more than its
/// status polls: `each_action::a_backup_is_read_by_its_polls_alone`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protect_asks_for_each_thing_once() {
    let env = Env::start().await;
    let since = log_seq(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    let entries = &requests_since(&env, since).await;
    let req = |e: &Value| format!("{} {}", s(e, "method"), s(e, "path"));
    // A server read alone (not the list, not its attachments).
    let read_alone = |e: &Value, id: &str| {
        s(e, "method") == "GET" && s(e, "path").ends_with(&format!("/servers/{id}"))
    };
    let snapshot_taken = entries
        .iter()
        .position(|e| s(e, "method") == "POST" && s(e, "path").ends_with("/group_snapshots"))
        .expect("the group snapshot was taken");
    let first_thaw = entries
        .iter()
        .position(|e| e["action"] == "unpause")
        .expect("servers were unpaused");
    // Nothing reads a server before its freeze (the servers' records come
    // from the list), nor before its thaw once the snapshot is taken.
    for (from, action) in [(0, "pause"), (snapshot_taken, "unpause")] {
        let mut acted = 0;
        for (i, e) in entries.iter().enumerate().skip(from) {
            if e["action"] != action {
                continue;
            }
            acted += 1;
            let id = s(e, "path")
                .split("/servers/")
                .nth(1)
                .unwrap_or("")
                .split('/')
                .next()
                .unwrap_or("");
            let early: Vec<String> = entries[from..i]
                .iter()
                .filter(|x| read_alone(x, id))
                .map(req)
                .collect();
            assert!(
                early.is_empty(),
                "server {id} read before its {action}: {early:?}"
            );
        }
        assert_eq!(acted, 6, "every server got its {action}");
    }
    // After the thaw: no snapshot read at all (Cinder checks the one a
    // backup is made of), no member read through its group.
    let after: Vec<String> = entries[first_thaw..].iter().map(req).collect();
    let volumes = after
        .iter()
        .filter(|r| r.starts_with("POST ") && r.ends_with("/volumes"))
        .count();
    assert_eq!(volumes, 12, "a temporary volume per volume: {after:?}");
    let snapshot_reads = after
        .iter()
        .filter(|r| {
            r.starts_with("GET ") && r.contains("/snapshots/") && !r.contains("/group_snapshots/")
        })
        .count();
    assert_eq!(
        snapshot_reads, 0,
        "no snapshot read for a backup's chain: {after:?}"
    );
    let tagged = after
        .iter()
        .filter(|r| r.starts_with("POST ") && r.contains("/snapshots/") && r.ends_with("/metadata"))
        .count();
    assert_eq!(
        tagged, volumes,
        "each member tagged once, after the thaw: {after:?}"
    );
    let group_delete = after
        .iter()
        .position(|r| r.starts_with("DELETE ") && r.contains("/group_snapshots/"))
        .expect("the group snapshot is cleaned up");
    assert!(
        after[..group_delete]
            .iter()
            .all(|r| !(r.starts_with("GET ") && r.contains("/group_snapshots/"))),
        "members read through their group: {after:?}"
    );
    env.emu.shutdown().await;
}

/// A recover ends awaiting commit. Rolled back, everything it made at
/// site-b goes (servers, volumes, ports, groups, key pairs, floating IPs;
/// the imported backup records stay: they share the recovery point's data);
/// recovered again and committed, the VNF stays and is verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_awaits_commit_and_a_rollback_removes_what_it_made() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    env.emu.set_site_down(Site::A, true);
    let before = env.counts().await;
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(
        r.result.outcome.is_awaiting_commit(),
        "{:?}\n{}",
        r.result.outcome,
        r.describe()
    );
    let during = env.counts().await;
    assert_eq!(during["site-b"]["servers"], json!(6), "{during}");

    let rb = e2e::rolled_back(&env, &r).await;
    let mut after = env.counts().await;
    assert_eq!(
        after["site-b"]["backups"],
        json!(12),
        "imported backups kept: {after}"
    );
    after["site-b"]["backups"] = before["site-b"]["backups"].clone();
    assert_eq!(
        after, before,
        "a rollback leaves site-b as it was before the recover: {before} → {after}"
    );
    let report = lifeboat_exec::Report::from_events(&rb.events);
    assert!(report.orphans.is_empty(), "{:?}", report.orphans);

    // Recover again, commit: the VNF stays, verified; a rollback is refused.
    let r2 = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r2.result.outcome.is_awaiting_commit(), "{}", r2.describe());
    let c = env.decide(&r2, lifeboat_exec::Decision::Commit).await;
    assert_eq!(c.result.outcome, lifeboat_exec::RunOutcome::Succeeded);
    check_recovered(&env, &r2, &prod, &roles, "").await;
    assert_eq!(env.counts().await["site-b"]["servers"], json!(6));
    env.emu.shutdown().await;
}
