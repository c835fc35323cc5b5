//! The differences with real OpenStack that the differential run
//! (`tests/real_openstack/differential.rs`, Cinder 29 / Nova 34) found, each
//! pinned by a test of what the real service answers:
//! - `POST /snapshots/{id}/metadata` merges and answers 200 with the whole map
//!   (and the other snapshot metadata calls work like the volume ones);
//! - the 202 of a volume create (blank, from a snapshot, from a backup) and
//!   the 200 of an update carry no `os-vol-host-attr` / `os-vol-mig-status-attr`
//!   / `os-vol-tenant-attr` fields; show and the detail list do;
//! - no snapshot answer has `links`, at any microversion; the extended
//!   snapshot attributes appear in show and the detail list only, and the
//!   summary list has the base fields only;
//! - a restore to a new volume gives it the description
//!   `auto-created_from_restore_from_backup`, metadata `src_backup_id`, and the
//!   backed-up volume's metadata as the backup recorded it;
//! - from 2.71 `server_groups` is in server show and update, not in lists.

mod common;

use std::path::PathBuf;

use common::Cloud;
use lifeboat_emulator::Site;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn sample(rel: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/openstack-api-samples")
        .join(rel);
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .expect("sample json")
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

fn has_prefix(v: &Value, prefix: &str) -> bool {
    keys(v).iter().any(|k| k.starts_with(prefix))
}

/// A volume with `metadata`, and an available snapshot of it (metadata `{"a": "1"}`).
async fn snapshot_of_new_volume(c: &Cloud, mv: &str) -> (String, String) {
    let vol = c.new_volume(Site::A, 1, json!({})).await;
    let vb = c.volume(Site::A);
    let r = c
        .post(
            &format!("{vb}/snapshots"),
            Some(mv),
            json!({"snapshot": {"volume_id": vol, "name": "s", "metadata": {"a": "1"}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let sid = r.body["snapshot"]["id"].as_str().expect("id").to_string();
    c.wait(
        &format!("{vb}/snapshots/{sid}"),
        Some(mv),
        "/snapshot/status",
        "available",
    )
    .await;
    (vol, sid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_metadata_calls_answer_like_cinder() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let mv = Some("volume 3.14");
    let (_, sid) = snapshot_of_new_volume(&c, "volume 3.14").await;
    let url = format!("{vb}/snapshots/{sid}/metadata");

    // POST merges and answers 200 with the whole map (what the client's set_snapshot_metadata sends).
    let r = c
        .post(&url, mv, json!({"metadata": {"lifeboat_origin": "vol-1"}}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"metadata": {"a": "1", "lifeboat_origin": "vol-1"}})
    );
    assert_eq!(
        keys(&r.body),
        keys(&sample(
            "cinder/snapshots/snapshot-metadata-create-response.json"
        ))
    );
    let r = c.get(&url, mv).await;
    assert_eq!(
        r.body,
        json!({"metadata": {"a": "1", "lifeboat_origin": "vol-1"}})
    );
    let r = c.get(&format!("{vb}/snapshots/{sid}"), mv).await;
    assert_eq!(
        r.body["snapshot"]["metadata"],
        json!({"a": "1", "lifeboat_origin": "vol-1"})
    );

    // PUT replaces.
    let r = c
        .call(Method::PUT, &url, mv, Some(json!({"metadata": {"b": "2"}})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!({"metadata": {"b": "2"}}));

    // One key: GET, PUT, DELETE; a missing key is 404.
    let r = c.get(&format!("{url}/b"), mv).await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::OK, json!({"meta": {"b": "2"}}))
    );
    assert_eq!(
        keys(&r.body),
        keys(&sample(
            "cinder/snapshots/snapshot-metadata-show-key-response.json"
        ))
    );
    let r = c
        .call(
            Method::PUT,
            &format!("{url}/b"),
            mv,
            Some(json!({"meta": {"b": "3"}})),
        )
        .await;
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::OK, json!({"meta": {"b": "3"}}))
    );
    let r = c
        .call(
            Method::PUT,
            &format!("{url}/b"),
            mv,
            Some(json!({"meta": {"c": "3"}})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "URI and body mismatch: {}",
        r.text
    );
    let r = c.call(Method::DELETE, &format!("{url}/b"), mv, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = c.get(&format!("{url}/b"), mv).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        r.body["itemNotFound"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("has no metadata with key b")),
        "{}",
        r.text
    );

    // Bad input changes nothing; an unknown snapshot is 404 in Cinder's format.
    c.post(&url, mv, json!({"metadata": {"k": "v"}})).await;
    for bad in [
        json!({"metadata": {"n": 1}}),
        json!({"metadata": ["x"]}),
        json!({"meta": {"k": "w"}}),
    ] {
        let r = c.post(&url, mv, bad.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(r.body["badRequest"]["message"].is_string(), "{}", r.text);
    }
    assert_eq!(c.get(&url, mv).await.body, json!({"metadata": {"k": "v"}}));
    let r = c
        .post(
            &format!("{vb}/snapshots/00000000-0000-4000-8000-000000000000/metadata"),
            mv,
            json!({"metadata": {"k": "v"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["itemNotFound"]["message"].is_string(), "{}", r.text);
    c.h.shutdown().await;
}

const OS_VOL: [&str; 4] = [
    "os-vol-host-attr:host",
    "os-vol-mig-status-attr:migstat",
    "os-vol-mig-status-attr:name_id",
    "os-vol-tenant-attr:tenant_id",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_extension_fields_only_in_show_and_detail() {
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let (_, sid) = snapshot_of_new_volume(&c, "volume 3.13").await;
    for mv in ["volume 3.0", "volume 3.13", "volume 3.65"] {
        let mv = Some(mv);
        let r = c
            .post(
                &format!("{vb}/volumes"),
                mv,
                json!({"volume": {"size": 1, "name": "x"}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert!(
            !has_prefix(&r.body["volume"], "os-vol-"),
            "{mv:?} create: {}",
            r.text
        );
        let id = r.body["volume"]["id"].as_str().expect("id").to_string();
        let r = c
            .post(
                &format!("{vb}/volumes"),
                mv,
                json!({"volume": {"size": 1, "name": "y", "snapshot_id": sid}}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert!(
            !has_prefix(&r.body["volume"], "os-vol-"),
            "{mv:?} from snapshot: {}",
            r.text
        );
        let shown = c
            .wait(
                &format!("{vb}/volumes/{id}"),
                mv,
                "/volume/status",
                "available",
            )
            .await;
        for k in OS_VOL {
            assert!(
                shown["volume"].get(k).is_some(),
                "{mv:?} show lacks {k}: {shown}"
            );
        }
        let r = c.get(&format!("{vb}/volumes/detail?name=x"), mv).await;
        for v in r.body["volumes"].as_array().expect("volumes") {
            for k in OS_VOL {
                assert!(v.get(k).is_some(), "{mv:?} detail lacks {k}: {v}");
            }
        }
        let r = c
            .call(
                Method::PUT,
                &format!("{vb}/volumes/{id}"),
                mv,
                Some(json!({"volume": {"name": "x2"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(
            !has_prefix(&r.body["volume"], "os-vol-"),
            "{mv:?} update: {}",
            r.text
        );
    }
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_answers_have_no_links_and_extended_fields_only_in_show_and_detail() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let vol = c.new_volume(Site::A, 1, json!({})).await;
    for (mv, summary_sample, detail_sample, create_sample) in [
        (
            "volume 3.0",
            "cinder/snapshots/snapshots-list-response.json",
            "cinder/snapshots/snapshots-list-detailed-response.json",
            "cinder/snapshots/snapshot-create-response.json",
        ),
        (
            "volume 3.14",
            "cinder/snapshots/snapshots-list-response.json",
            "cinder/snapshots/v3.14/snapshots-list-detailed-response.json",
            "cinder/snapshots/v3.14/snapshot-create-response.json",
        ),
        (
            "volume 3.41",
            "cinder/snapshots/snapshots-list-response.json",
            "cinder/snapshots/v3.41/snapshots-list-detailed-response.json",
            "cinder/snapshots/v3.41/snapshot-create-response.json",
        ),
        (
            "volume 3.65",
            "cinder/snapshots/snapshots-list-response.json",
            "cinder/snapshots/v3.65/snapshots-list-detailed-response.json",
            "cinder/snapshots/v3.65/snapshot-create-response.json",
        ),
    ] {
        let m = Some(mv);
        let r = c.post(&format!("{vb}/snapshots"), m, json!({"snapshot": {"volume_id": vol, "name": "s", "description": "d", "metadata": {"k": "v"}}})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        // The exact key sets of the official samples (none has links).
        assert_eq!(
            keys(&r.body["snapshot"]),
            keys(&sample(create_sample)["snapshot"]),
            "{mv} create: {}",
            r.text
        );
        let sid = r.body["snapshot"]["id"].as_str().expect("id").to_string();
        let shown = c
            .wait(
                &format!("{vb}/snapshots/{sid}"),
                m,
                "/snapshot/status",
                "available",
            )
            .await;
        assert_eq!(
            keys(&shown["snapshot"]),
            keys(
                &sample(&detail_sample.replace("snapshots-list-detailed", "snapshot-show"))
                    ["snapshot"]
            ),
            "{mv} show: {shown}"
        );
        let r = c.get(&format!("{vb}/snapshots/detail?name=s"), m).await;
        for s in r.body["snapshots"].as_array().expect("list") {
            assert_eq!(
                keys(s),
                keys(&sample(detail_sample)["snapshots"][0]),
                "{mv} detail: {s}"
            );
        }
        let r = c.get(&format!("{vb}/snapshots?name=s"), m).await;
        for s in r.body["snapshots"].as_array().expect("list") {
            assert_eq!(
                keys(s),
                keys(&sample(summary_sample)["snapshots"][0]),
                "{mv} summary: {s}"
            );
        }
        let r = c
            .call(
                Method::PUT,
                &format!("{vb}/snapshots/{sid}"),
                m,
                Some(json!({"snapshot": {"name": "s2"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            keys(&r.body["snapshot"]),
            keys(&sample(create_sample)["snapshot"]),
            "{mv} update: {}",
            r.text
        );
        let r = c
            .call(
                Method::PUT,
                &format!("{vb}/snapshots/{sid}"),
                m,
                Some(json!({"snapshot": {"name": "s"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
    }
    // The highest microversion too: still no links.
    let r = c
        .get(&format!("{vb}/snapshots/detail"), Some("volume 3.71"))
        .await;
    assert!(
        r.body["snapshots"]
            .as_array()
            .expect("list")
            .iter()
            .all(|s| s.get("links").is_none()),
        "{}",
        r.text
    );
    c.h.shutdown().await;
}

/// A backup of a named volume with metadata; the volume's metadata then changes.
async fn backed_up_volume(c: &Cloud) -> (String, String) {
    let vb = c.volume(Site::A);
    let vol = c.new_volume(Site::A, 1, json!({"name": "src-vol", "description": "the source", "metadata": {"lifeboat_origin": "v-0"}})).await;
    let r = c
        .post(
            &format!("{vb}/backups"),
            Some("volume 3.43"),
            json!({"backup": {"volume_id": vol, "name": "b"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let bid = r.body["backup"]["id"].as_str().expect("id").to_string();
    c.wait(
        &format!("{vb}/backups/{bid}"),
        None,
        "/backup/status",
        "available",
    )
    .await;
    let r = c
        .call(
            Method::PUT,
            &format!("{vb}/volumes/{vol}/metadata"),
            None,
            Some(json!({"metadata": {"changed": "later"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    (vol, bid)
}

async fn restore(c: &Cloud, site: Site, bid: &str, body: Value) -> Value {
    let vb = c.volume(site);
    let r = c
        .post(
            &format!("{vb}/backups/{bid}/restore"),
            Some("volume 3.43"),
            json!({"restore": body}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let vid = r.body["restore"]["volume_id"]
        .as_str()
        .expect("volume_id")
        .to_string();
    let v = c
        .wait(
            &format!("{vb}/volumes/{vid}"),
            Some("volume 3.13"),
            "/volume/status",
            "available",
        )
        .await;
    c.wait(
        &format!("{vb}/backups/{bid}"),
        None,
        "/backup/status",
        "available",
    )
    .await;
    v["volume"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_to_new_volume_marks_it_like_cinder() {
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let (vol, bid) = backed_up_volume(&c).await;

    // Named restore: the name stays, Cinder's description, the recorded metadata + src_backup_id.
    let v = restore(&c, Site::A, &bid, json!({"name": "lb-r"})).await;
    assert_eq!(v["name"], "lb-r");
    assert_eq!(v["description"], "auto-created_from_restore_from_backup");
    assert_eq!(
        v["metadata"],
        json!({"lifeboat_origin": "v-0", "src_backup_id": bid})
    );
    let id = v["id"].as_str().expect("id");
    let r = c.get(&format!("{vb}/volumes/{id}/metadata"), None).await;
    assert_eq!(r.body["metadata"]["src_backup_id"], json!(bid));

    // Unnamed restore: Cinder names it restore_backup_<id>, then puts back the source's name and description.
    let v = restore(&c, Site::A, &bid, json!({})).await;
    assert_eq!(
        (v["name"].clone(), v["description"].clone()),
        (json!("src-vol"), json!("the source"))
    );
    assert_eq!(
        v["metadata"],
        json!({"lifeboat_origin": "v-0", "src_backup_id": bid})
    );

    // Restore onto the backed-up volume itself: the recorded metadata, no src_backup_id.
    let v = restore(&c, Site::A, &bid, json!({"volume_id": vol})).await;
    assert_eq!(v["metadata"], json!({"lifeboat_origin": "v-0"}));
    assert_eq!(v["description"], "the source");

    // A new volume from the backup (3.47) is a restore too.
    let r = c
        .post(
            &format!("{vb}/volumes"),
            Some("volume 3.47"),
            json!({"volume": {"name": "from-b", "backup_id": bid}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let nid = r.body["volume"]["id"].as_str().expect("id").to_string();
    let v = c
        .wait(
            &format!("{vb}/volumes/{nid}"),
            None,
            "/volume/status",
            "available",
        )
        .await;
    assert_eq!(
        v["volume"]["metadata"],
        json!({"lifeboat_origin": "v-0", "src_backup_id": bid})
    );
    assert_eq!(
        c.h.volume_checksum(Site::A, &nid),
        c.h.backup_checksum(Site::A, &bid)
    );

    // At the other site, after export/import: the metadata travels with the backup's data.
    let rec = c
        .get(&format!("{vb}/backups/{bid}/export_record"), None)
        .await;
    let r = c
        .post(
            &format!("{}/backups/import_record", c.volume(Site::B)),
            None,
            json!({"backup-record": rec.body["backup-record"].clone()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let v = restore(&c, Site::B, &bid, json!({"name": "at-b"})).await;
    assert_eq!(v["description"], "auto-created_from_restore_from_backup");
    assert_eq!(
        v["metadata"],
        json!({"lifeboat_origin": "v-0", "src_backup_id": bid})
    );
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_groups_only_in_answers_about_one_server() {
    let c = Cloud::start().await;
    let base = c.compute(Site::A);
    let id = c.server_named(Site::A, "vims-db-1").await["id"]
        .as_str()
        .expect("id")
        .to_string();
    // vims-db-1 is in the seeded anti-affinity group of its tier.
    let groups = c
        .get(&format!("{base}/os-server-groups"), Some("compute 2.64"))
        .await;
    let group = groups.body["server_groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["name"] == "vims-db")
        .expect("vims-db group")["id"]
        .clone();
    for mv in ["compute 2.71", "compute 2.90", "compute 2.96"] {
        let r = c.get(&format!("{base}/servers/detail"), Some(mv)).await;
        let list = r.body["servers"].as_array().expect("servers");
        assert!(!list.is_empty());
        assert!(
            list.iter().all(|s| s.get("server_groups").is_none()),
            "{mv} detail: {}",
            r.text
        );
        let r = c.get(&format!("{base}/servers/{id}"), Some(mv)).await;
        assert_eq!(
            r.body["server"]["server_groups"],
            json!([group]),
            "{mv} show"
        );
        let r = c
            .call(
                Method::PUT,
                &format!("{base}/servers/{id}"),
                Some(mv),
                Some(json!({"server": {"name": "vims-db-1"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            r.body["server"]["server_groups"],
            json!([group]),
            "{mv} update"
        );
    }
    let r = c
        .get(&format!("{base}/servers/{id}"), Some("compute 2.70"))
        .await;
    assert!(
        r.body["server"].get("server_groups").is_none(),
        "2.70 show: {}",
        r.text
    );
    c.h.shutdown().await;
}
