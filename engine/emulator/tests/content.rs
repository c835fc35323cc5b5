//! Content: snapshot → volume and backup → restore keep the checksum;
//! incremental backups move only changed blocks; a group snapshot captures
//! the workload at one instant (the invariant holds, quiesced or not), while
//! snapshots taken one by one under live writes break it; backups survive the
//! loss of the primary site; replicas follow with a lag and can be managed or
//! failed over at the other site.

mod common;

use std::time::Duration;

use common::Cloud;
use lifeboat_emulator::Site;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NOVA: Option<&str> = Some("compute 2.96");
const CINDER: Option<&str> = Some("volume 3.64");

async fn snapshot(c: &Cloud, site: Site, vol: &str) -> String {
    let r = c
        .post(
            &format!("{}/snapshots", c.volume(site)),
            CINDER,
            json!({"snapshot": {"volume_id": vol, "force": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["snapshot"]["id"].as_str().expect("id").to_string();
    c.wait(
        &format!("{}/snapshots/{id}", c.volume(site)),
        CINDER,
        "/snapshot/status",
        "available",
    )
    .await;
    id
}

async fn volume_from(c: &Cloud, site: Site, snap: &str, extra: Value) -> String {
    let mut v = json!({"snapshot_id": snap, "name": "copy"});
    for (k, x) in extra.as_object().into_iter().flatten() {
        v[k] = x.clone();
    }
    let r = c
        .post(
            &format!("{}/volumes", c.volume(site)),
            CINDER,
            json!({"volume": v}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["volume"]["id"].as_str().expect("id").to_string();
    c.wait(
        &format!("{}/volumes/{id}", c.volume(site)),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    id
}

async fn backup(c: &Cloud, site: Site, vol: &str, incremental: bool) -> Value {
    let body = json!({"backup": {"volume_id": vol, "incremental": incremental, "force": true, "container": "lifeboat-backups", "name": "b"}});
    let r = c
        .post(&format!("{}/backups", c.volume(site)), CINDER, body)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["backup"]["id"].as_str().expect("id").to_string();
    c.wait(
        &format!("{}/backups/{id}", c.volume(site)),
        CINDER,
        "/backup/status",
        "available",
    )
    .await["backup"]
        .clone()
}

async fn restore(c: &Cloud, site: Site, backup: &str) -> String {
    let r = c
        .post(
            &format!("{}/backups/{backup}/restore", c.volume(site)),
            CINDER,
            json!({"restore": {"name": "restored"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["restore"]["volume_id"]
        .as_str()
        .expect("id")
        .to_string();
    c.wait(
        &format!("{}/volumes/{id}", c.volume(site)),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    id
}

async fn set_state(c: &Cloud, names: &[&str], act: &str, want: &str) {
    for n in names {
        let s = c.server_named(Site::A, n).await;
        let id = s["id"].as_str().expect("id");
        let r = c
            .post(
                &format!("{}/servers/{id}/action", c.compute(Site::A)),
                NOVA,
                json!({act: null}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{act} {n}: {}", r.text);
        c.wait(
            &format!("{}/servers/{id}", c.compute(Site::A)),
            NOVA,
            "/server/status",
            want,
        )
        .await;
    }
}

const ORDER: [&str; 6] = [
    "vims-db-1",
    "vims-db-2",
    "vims-app-1",
    "vims-app-2",
    "vims-lb-1",
    "vims-lb-2",
];

async fn all_volumes(c: &Cloud) -> Vec<String> {
    let mut out = Vec::new();
    for n in ORDER {
        let s = c.server_named(Site::A, n).await;
        out.extend(c.volumes_of(Site::A, &s).await);
    }
    out
}

async fn invariant(c: &Cloud, site: Site, key: &str, ids: &[String]) -> Value {
    let r = c
        .admin(
            Method::POST,
            "/_emulator/invariant",
            Some(json!({"site": site.name(), key: ids})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_backup_round_trips_keep_the_checksum() {
    let c = Cloud::start().await;
    let db = c.server_named(Site::A, "vims-db-1").await;
    let data = c.volumes_of(Site::A, &db).await[1].clone();
    let snap = snapshot(&c, Site::A, &data).await;
    let copy = volume_from(&c, Site::A, &snap, json!({})).await;
    let s_sum =
        c.h.snapshot_checksum(Site::A, &snap)
            .expect("snapshot checksum");
    assert_eq!(
        c.h.volume_checksum(Site::A, &copy).as_deref(),
        Some(s_sum.as_str())
    );
    let r = c
        .admin(
            Method::GET,
            &format!("/_emulator/sites/site-a/volumes/{copy}/checksum"),
            None,
        )
        .await;
    assert_eq!(r.body["checksum"], s_sum.as_str());
    assert!(r.body["blocks"].as_u64().unwrap_or(0) >= 8, "{}", r.text);
    // The live volume moves on; the copy does not.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_ne!(
        c.h.volume_checksum(Site::A, &data).as_deref(),
        Some(s_sum.as_str())
    );
    let b = backup(&c, Site::A, &copy, false).await;
    let bid = b["id"].as_str().expect("id");
    assert_eq!(
        c.h.backup_checksum(Site::A, bid).as_deref(),
        Some(s_sum.as_str())
    );
    let restored = restore(&c, Site::A, bid).await;
    assert_eq!(
        c.h.volume_checksum(Site::A, &restored).as_deref(),
        Some(s_sum.as_str())
    );
    assert_eq!(
        c.admin(
            Method::GET,
            "/_emulator/sites/site-a/volumes/nope/checksum",
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_backup_moves_only_changed_blocks() {
    let c = Cloud::start().await;
    let app = c.server_named(Site::A, "vims-app-1").await;
    let data = c.volumes_of(Site::A, &app).await[1].clone();
    // Let every log block (32) be written once, so a full backup holds more
    // blocks than any incremental can change (record + 32 log blocks).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    // Pausing the first server of the VNF stalls the whole writer.
    set_state(&c, &["vims-db-1"], "pause", "PAUSED").await;
    let full = backup(&c, Site::A, &data, false).await;
    let full_blocks = full["object_count"].as_u64().expect("object_count");
    assert!(full_blocks > 8, "{full}");
    assert_eq!(
        full["emulator:bytes_moved"].as_u64(),
        Some(full_blocks * 4096)
    );
    let none = backup(&c, Site::A, &data, true).await;
    assert_eq!(none["is_incremental"], true);
    assert_eq!(
        none["object_count"], 0,
        "nothing changed while the VNF is paused"
    );
    set_state(&c, &["vims-db-1"], "unpause", "ACTIVE").await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    set_state(&c, &["vims-db-1"], "pause", "PAUSED").await;
    let some = backup(&c, Site::A, &data, true).await;
    let changed = some["object_count"].as_u64().expect("object_count");
    assert!(
        changed > 0 && changed < full_blocks,
        "changed {changed} of {full_blocks}"
    );
    assert_eq!(some["emulator:bytes_moved"].as_u64(), Some(changed * 4096));
    // The incremental restores the whole volume as it was.
    let live = c.h.volume_checksum(Site::A, &data).expect("live");
    let restored = restore(&c, Site::A, some["id"].as_str().expect("id")).await;
    assert_eq!(c.h.volume_checksum(Site::A, &restored), Some(live));
    // A backup with incrementals depending on it cannot be deleted.
    let r = c
        .call(
            Method::DELETE,
            &format!(
                "{}/backups/{}",
                c.volume(Site::A),
                full["id"].as_str().expect("id")
            ),
            CINDER,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    c.h.shutdown().await;
}

async fn group_of(c: &Cloud, vols: &[String]) -> String {
    let vb = c.volume(Site::A);
    let r = c.post(&format!("{vb}/groups"), CINDER, json!({"group": {"name": "vims-cg", "group_type": "consistent", "volume_types": ["standard"]}})).await;
    let gid = r.body["group"]["id"].as_str().expect("gid").to_string();
    c.wait(
        &format!("{vb}/groups/{gid}"),
        CINDER,
        "/group/status",
        "available",
    )
    .await;
    let r = c
        .call(
            Method::PUT,
            &format!("{vb}/groups/{gid}"),
            CINDER,
            Some(json!({"group": {"add_volumes": vols.join(",")}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    gid
}

async fn group_snapshot(c: &Cloud, gid: &str) -> Vec<String> {
    let vb = c.volume(Site::A);
    let r = c
        .post(
            &format!("{vb}/group_snapshots"),
            CINDER,
            json!({"group_snapshot": {"group_id": gid, "name": "gs"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let gsid = r.body["group_snapshot"]["id"]
        .as_str()
        .expect("gsid")
        .to_string();
    c.wait(
        &format!("{vb}/group_snapshots/{gsid}"),
        CINDER,
        "/group_snapshot/status",
        "available",
    )
    .await;
    let r = c
        .get(
            &format!("{vb}/snapshots/detail?group_snapshot_id={gsid}"),
            CINDER,
        )
        .await;
    r.body["snapshots"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_snapshot_keeps_the_invariant_one_by_one_breaks_it() {
    let c = Cloud::start().await;
    let mut t = c.h.timing();
    t.write_interval = Duration::from_millis(1);
    c.h.set_timing(t);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let vols = all_volumes(&c).await;
    assert_eq!(vols.len(), 12);
    let gid = group_of(&c, &vols).await;
    // Quiesced (paused in order db, app, lb), group snapshot, thaw in reverse order.
    set_state(&c, &ORDER, "pause", "PAUSED").await;
    let snaps = group_snapshot(&c, &gid).await;
    let mut rev = ORDER;
    rev.reverse();
    set_state(&c, &rev, "unpause", "ACTIVE").await;
    assert_eq!(snaps.len(), 12);
    let inv = invariant(&c, Site::A, "snapshot_ids", &snaps).await;
    assert_eq!(inv["ok"], true, "{inv}");
    // Volumes made from them keep it.
    let mut copies = Vec::new();
    for s in &snaps {
        copies.push(volume_from(&c, Site::A, s, json!({})).await);
    }
    assert_eq!(
        invariant(&c, Site::A, "volume_ids", &copies).await["ok"],
        true
    );
    // A group snapshot under live writes is still one instant.
    let live = group_snapshot(&c, &gid).await;
    let inv = invariant(&c, Site::A, "snapshot_ids", &live).await;
    assert_eq!(inv["ok"], true, "{inv}");
    // One by one under live writes: the volumes come from different instants.
    let mut one_by_one = Vec::new();
    for v in &vols {
        one_by_one.push(snapshot(&c, Site::A, v).await);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let inv = invariant(&c, Site::A, "snapshot_ids", &one_by_one).await;
    assert_eq!(inv["ok"], false, "{inv}");
    assert!(
        inv["detail"].as_str().unwrap_or("").contains("vims"),
        "{inv}"
    );
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_survive_the_loss_of_the_primary_site() {
    let c = Cloud::start().await;
    let db = c.server_named(Site::A, "vims-db-1").await;
    let data = c.volumes_of(Site::A, &db).await[1].clone();
    let b = backup(&c, Site::A, &data, false).await;
    assert_eq!(b["emulator:store_site"], "site-b");
    let bid = b["id"].as_str().expect("id").to_string();
    let sum = c.h.backup_checksum(Site::A, &bid).expect("sum");
    let rec = c
        .get(
            &format!("{}/backups/{bid}/export_record", c.volume(Site::A)),
            CINDER,
        )
        .await
        .body["backup-record"]
        .clone();
    assert!(rec["backup_url"].is_string());
    // The backup data sits in site-b's object store.
    let r = c
        .get(
            &format!("{}/lifeboat-backups?format=json", c.object(Site::B)),
            None,
        )
        .await;
    assert!(r.text.contains(&bid), "{}", r.text);
    c.h.set_site_down(Site::A, true);
    let r = c
        .post(
            &format!("{}/backups/import_record", c.volume(Site::B)),
            CINDER,
            json!({"backup-record": rec}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["backup"]["id"], bid.as_str());
    let again = c
        .post(
            &format!("{}/backups/import_record", c.volume(Site::B)),
            CINDER,
            json!({"backup-record": rec}),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    let bad = c
        .post(
            &format!("{}/backups/import_record", c.volume(Site::B)),
            CINDER,
            json!({"backup-record": {"backup_service": rec["backup_service"], "backup_url": "!!"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let restored = restore(&c, Site::B, &bid).await;
    assert_eq!(c.h.volume_checksum(Site::B, &restored), Some(sum.clone()));
    // Boot a server at site-b from a restored boot volume.
    let boot_b = {
        c.h.set_site_down(Site::A, false);
        let boot = c.volumes_of(Site::A, &db).await[0].clone();
        let bb = backup(&c, Site::A, &boot, false).await;
        let rec = c
            .get(
                &format!(
                    "{}/backups/{}/export_record",
                    c.volume(Site::A),
                    bb["id"].as_str().expect("id")
                ),
                CINDER,
            )
            .await
            .body["backup-record"]
            .clone();
        c.h.set_site_down(Site::A, true);
        let r = c
            .post(
                &format!("{}/backups/import_record", c.volume(Site::B)),
                CINDER,
                json!({"backup-record": rec}),
            )
            .await;
        restore(&c, Site::B, r.body["backup"]["id"].as_str().expect("id")).await
    };
    let v = c
        .get(&format!("{}/volumes/{boot_b}", c.volume(Site::B)), CINDER)
        .await
        .body;
    assert_eq!(v["volume"]["bootable"], "true");
    let mgmt = lifeboat_emulator::world::stable_id("site-b:net:mgmt");
    let req = json!({"server": {"name": "vims-db-1", "flavorRef": "m1.large", "networks": [{"uuid": mgmt}], "block_device_mapping_v2": [{"boot_index": 0, "uuid": boot_b, "source_type": "volume", "destination_type": "volume"}]}});
    let r = c
        .post(&format!("{}/servers", c.compute(Site::B)), NOVA, req)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let sid = r.body["server"]["id"].as_str().expect("sid");
    c.wait(
        &format!("{}/servers/{sid}", c.compute(Site::B)),
        NOVA,
        "/server/status",
        "ACTIVE",
    )
    .await;
    // With site-b down, site-a cannot back up (its store is unreachable).
    c.h.set_site_down(Site::A, false);
    c.h.set_site_down(Site::B, true);
    let r = c
        .post(
            &format!("{}/backups", c.volume(Site::A)),
            CINDER,
            json!({"backup": {"volume_id": data, "force": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
    c.h.shutdown().await;
}

async fn replica_sum(c: &Cloud, vol: &str) -> Option<String> {
    let r = c
        .admin(Method::GET, "/_emulator/sites/site-b/replicas", None)
        .await;
    r.body["replicas"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["source_volume_id"] == vol)
        .and_then(|x| x["checksum"].as_str().map(str::to_string))
}

async fn wait_replica(c: &Cloud, vol: &str, sum: &str) {
    for _ in 0..400 {
        if replica_sum(c, vol).await.as_deref() == Some(sum) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("replica of {vol} never caught up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_lag_then_are_managed_or_failed_over() {
    let c = Cloud::start().await;
    let mut t = c.h.timing();
    t.replication_lag = Duration::from_secs(30);
    c.h.set_timing(t.clone());
    let db = c.server_named(Site::A, "vims-db-1").await;
    let data = c.volumes_of(Site::A, &db).await[1].clone();
    let snap = snapshot(&c, Site::A, &data).await;
    let rep = volume_from(&c, Site::A, &snap, json!({"volume_type": "replicated"})).await;
    let v = c
        .get(&format!("{}/volumes/{rep}", c.volume(Site::A)), CINDER)
        .await
        .body["volume"]
        .clone();
    assert_eq!(v["replication_status"], "enabled");
    assert_eq!(v["metadata"]["replica_site"], "site-b");
    assert_eq!(v["metadata"]["replica_host"], "site-b@replica#pool");
    let reference = v["metadata"]["replica_ref"]
        .as_str()
        .expect("ref")
        .to_string();
    let sum = c.h.volume_checksum(Site::A, &rep).expect("sum");
    // The lag: the replica has not received the content yet.
    assert_ne!(replica_sum(&c, &rep).await.as_deref(), Some(sum.as_str()));
    t.replication_lag = Duration::from_millis(100);
    c.h.set_timing(t);
    wait_replica(&c, &rep, &sum).await;
    // The primary is lost; adopt the replica at site-b by its reference.
    c.h.set_site_down(Site::A, true);
    let vb = c.volume(Site::B);
    let list = c.get(&format!("{vb}/manageable_volumes"), CINDER).await;
    assert!(list.text.contains(&reference), "{}", list.text);
    let bad = c
        .post(
            &format!("{vb}/manageable_volumes"),
            CINDER,
            json!({"volume": {"host": "site-b@replica#pool", "ref": {"source-name": "nope"}}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let r = c.post(&format!("{vb}/manageable_volumes"), CINDER, json!({"volume": {"host": "site-b@replica#pool", "ref": {"source-name": reference}, "name": "adopted", "bootable": false}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let id = r.body["volume"]["id"].as_str().expect("id").to_string();
    c.wait(
        &format!("{vb}/volumes/{id}"),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    assert_eq!(c.h.volume_checksum(Site::B, &id), Some(sum));
    let twice = c
        .post(
            &format!("{vb}/os-volume-manage"),
            CINDER,
            json!({"volume": {"host": "site-b@replica", "ref": {"source-name": reference}}}),
        )
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    c.h.set_site_down(Site::A, false);
    // Group failover: every member's replica becomes a volume at site-b.
    let snap2 = snapshot(&c, Site::A, &data).await;
    let r1 = volume_from(&c, Site::A, &snap2, json!({"volume_type": "replicated"})).await;
    let sum1 = c.h.volume_checksum(Site::A, &r1).expect("sum1");
    wait_replica(&c, &r1, &sum1).await;
    let va = c.volume(Site::A);
    let g = c.post(&format!("{va}/groups"), CINDER, json!({"group": {"name": "rep", "group_type": "consistent", "volume_types": ["replicated"]}})).await;
    let gid = g.body["group"]["id"].as_str().expect("gid").to_string();
    c.wait(
        &format!("{va}/groups/{gid}"),
        CINDER,
        "/group/status",
        "available",
    )
    .await;
    c.call(
        Method::PUT,
        &format!("{va}/groups/{gid}"),
        CINDER,
        Some(json!({"group": {"add_volumes": r1}})),
    )
    .await;
    let r = c.post(&format!("{va}/groups/{gid}/action"), CINDER, json!({"failover_replication": {"allow_attached_volume": true, "secondary_backend_id": "site-b"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let g = c.get(&format!("{va}/groups/{gid}"), CINDER).await.body;
    assert_eq!(g["group"]["replication_status"], "failed-over");
    let at_b = c.get(&format!("{vb}/volumes/detail"), CINDER).await.body;
    let promoted = at_b["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["metadata"]["replicated_from"] == r1.as_str())
        .cloned()
        .expect("promoted volume");
    assert_eq!(
        c.h.volume_checksum(Site::B, promoted["id"].as_str().expect("id")),
        Some(sum1)
    );
    // failover_host of the replica backend adopts what is left; unknown hosts are refused.
    let bad = c
        .call(
            Method::PUT,
            &format!("{vb}/os-services/failover_host"),
            CINDER,
            Some(json!({"host": "nowhere@x"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let r = c
        .call(
            Method::PUT,
            &format!("{vb}/os-services/failover_host"),
            CINDER,
            Some(json!({"host": "site-b@replica", "backend_id": "site-a"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let svcs = c.get(&format!("{vb}/os-services"), CINDER).await.body;
    assert!(svcs["services"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s["replication_status"] == "failed-over"));
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_runs_even_when_the_workload_is_slow() {
    let c = Cloud::start().await;
    let mut t = c.h.timing();
    t.write_interval = Duration::from_secs(3600);
    t.replication_lag = Duration::from_millis(50);
    c.h.set_timing(t);
    let vid = c
        .new_volume(Site::A, 1, json!({"volume_type": "replicated"}))
        .await;
    let db = c.server_named(Site::A, "vims-db-1").await;
    let data = c.volumes_of(Site::A, &db).await[1].clone();
    let snap = snapshot(&c, Site::A, &data).await;
    let rep = volume_from(&c, Site::A, &snap, json!({"volume_type": "replicated"})).await;
    let sum = c.h.volume_checksum(Site::A, &rep).expect("sum");
    wait_replica(&c, &rep, &sum).await;
    assert!(replica_sum(&c, &vid).await.is_some());
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vnfm_hook_freezes_and_thaws_the_workload() {
    let c = Cloud::start().await;
    let db = c.server_named(Site::A, "vims-db-1").await;
    let data = c.volumes_of(Site::A, &db).await[1].clone();
    let r = c
        .admin(
            Method::POST,
            "/_emulator/vnfm/hook",
            Some(json!({"event": "freeze", "subject": db.clone()})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["ok"], true);
    // The first server of the VNF is frozen: nothing of the VNF is written any more.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let before = c.h.volume_checksum(Site::A, &data);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(c.h.volume_checksum(Site::A, &data), before);
    let r = c
        .admin(
            Method::POST,
            "/_emulator/vnfm/hook",
            Some(json!({"event": "lifeboat.thaw", "subject": "vims-db-1"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_ne!(c.h.volume_checksum(Site::A, &data), before);
    assert_eq!(
        c.admin(
            Method::POST,
            "/_emulator/vnfm/hook",
            Some(json!({"event": "freeze", "subject": "nope"}))
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.admin(
            Method::POST,
            "/_emulator/vnfm/hook",
            Some(json!({"event": "freeze"}))
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.admin(
            Method::POST,
            "/_emulator/vnfm/hook",
            Some(json!({"event": "protect.started", "subject": "x"}))
        )
        .await
        .body["ok"],
        true
    );
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_chain_from_snapshots_of_the_production_volume() {
    // The way to keep an incremental chain across protect runs: back up the
    // production volume from each run's snapshot (`snapshot_id`); the parent is
    // the newest backup of that volume.
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let db = c.server_named(Site::A, "vims-db-2").await;
    let data = c.volumes_of(Site::A, &db).await[1].clone();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let s1 = snapshot(&c, Site::A, &data).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let s2 = snapshot(&c, Site::A, &data).await;
    let mk = |snap: &str, inc: bool| json!({"backup": {"volume_id": data, "snapshot_id": snap, "incremental": inc, "container": "lifeboat-backups"}});
    let r = c
        .post(&format!("{vb}/backups"), CINDER, mk(&s1, false))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let b1 = c
        .wait(
            &format!(
                "{vb}/backups/{}",
                r.body["backup"]["id"].as_str().expect("id")
            ),
            CINDER,
            "/backup/status",
            "available",
        )
        .await;
    let r = c
        .post(&format!("{vb}/backups"), CINDER, mk(&s2, true))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let b2 = c
        .wait(
            &format!(
                "{vb}/backups/{}",
                r.body["backup"]["id"].as_str().expect("id")
            ),
            CINDER,
            "/backup/status",
            "available",
        )
        .await;
    assert_eq!(b2["backup"]["snapshot_id"], s2.as_str());
    let (full, inc) = (
        b1["backup"]["object_count"].as_u64().expect("n"),
        b2["backup"]["object_count"].as_u64().expect("n"),
    );
    assert!(inc > 0 && inc < full, "{inc} of {full}");
    let (c1, c2) = (
        c.h.snapshot_checksum(Site::A, &s1),
        c.h.snapshot_checksum(Site::A, &s2),
    );
    assert_ne!(c1, c2);
    assert_eq!(
        c.h.backup_checksum(Site::A, b2["backup"]["id"].as_str().expect("id")),
        c2
    );
    // The volume stayed in-use throughout: backing up from a snapshot does not touch it.
    assert_eq!(
        c.get(&format!("{vb}/volumes/{data}"), CINDER).await.body["volume"]["status"],
        "in-use"
    );
    c.h.shutdown().await;
}

/// The live workload stops while a server of the VNF is paused, suspended or
/// quiesced (the transaction waits for it), and goes on once it is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_stops_while_paused_suspended_or_quiesced() {
    let c = Cloud::start().await;
    let db = c.server_named(Site::A, "vims-db-1").await;
    let id = db["id"].as_str().expect("id").to_string();
    let data = c.volumes_of(Site::A, &db).await[1].clone();
    let url = format!("{}/servers/{id}", c.compute(Site::A));
    let txn = |c: &Cloud| {
        let admin = c.h.admin_url();
        async move {
            let (code, body) = tokio::task::spawn_blocking(move || {
                lifeboat_emulator::admin_request(&admin, "GET", "/_emulator/status", None)
                    .expect("admin")
            })
            .await
            .expect("join");
            assert_eq!(code, 200);
            serde_json::from_str::<Value>(&body).expect("json")["writers"]["site-a:vims"]["txn"]
                .as_u64()
                .expect("vims writer")
        }
    };
    for (freeze, thaw, status) in [
        ("pause", "unpause", "PAUSED"),
        ("suspend", "resume", "SUSPENDED"),
        ("quiesce", "unquiesce", "ACTIVE"),
    ] {
        let r = c
            .post(&format!("{url}/action"), NOVA, json!({freeze: null}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{freeze}: {}", r.text);
        c.wait(&url, NOVA, "/server/status", status).await;
        // Let a transaction in flight finish, then nothing moves for 50 write intervals.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (t0, sum0) = (txn(&c).await, c.h.volume_checksum(Site::A, &data));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(txn(&c).await, t0, "the workload wrote while {freeze}d");
        assert_eq!(
            c.h.volume_checksum(Site::A, &data),
            sum0,
            "{freeze}: the data volume changed"
        );
        let r = c
            .post(&format!("{url}/action"), NOVA, json!({thaw: null}))
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{thaw}: {}", r.text);
        c.wait(&url, NOVA, "/server/status", "ACTIVE").await;
        let t1 = std::time::Instant::now();
        while txn(&c).await == t0 {
            assert!(
                t1.elapsed() < Duration::from_secs(10),
                "the workload never resumed after {thaw}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    c.h.shutdown().await;
}
