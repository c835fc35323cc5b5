//! State machines over HTTP: every status transition the emulator models,
//! and invalid transitions answered like the real services (Nova 409
//! conflictingRequest; Cinder 400 badRequest "Invalid volume", as real Cinder).

mod common;

use common::Cloud;
use lifeboat_emulator::{FaultProfile, FaultRule, Site};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const NOVA: Option<&str> = Some("compute 2.96");
const CINDER: Option<&str> = Some("volume 3.64");

async fn action(c: &Cloud, id: &str, body: Value) -> common::Resp {
    c.post(
        &format!("{}/servers/{id}/action", c.compute(Site::A)),
        NOVA,
        body,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_actions_and_invalid_transitions() {
    let c = Cloud::start().await;
    let s = c.server_named(Site::A, "vims-app-1").await;
    let id = s["id"].as_str().expect("id").to_string();
    let url = format!("{}/servers/{id}", c.compute(Site::A));
    // pause: ACTIVE -(pausing)-> PAUSED
    let r = action(&c, &id, json!({"pause": null})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let now = c.get(&url, NOVA).await.body;
    assert!(
        now["server"]["OS-EXT-STS:task_state"] == json!("pausing")
            || now["server"]["status"] == json!("PAUSED")
    );
    let b = c.wait(&url, NOVA, "/server/status", "PAUSED").await;
    assert_eq!(b["server"]["OS-EXT-STS:vm_state"], "paused");
    assert_eq!(b["server"]["OS-EXT-STS:task_state"], Value::Null);
    // pause a paused server: 409 in Nova's format
    let r = action(&c, &id, json!({"pause": null})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["conflictingRequest"]["code"], 409);
    assert!(
        r.body["conflictingRequest"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("vm_state paused"),
        "{}",
        r.text
    );
    let r = action(&c, &id, json!({"suspend": null})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // unpause → ACTIVE; unpause again → 409
    assert_eq!(
        action(&c, &id, json!({"unpause": null})).await.status,
        StatusCode::ACCEPTED
    );
    c.wait(&url, NOVA, "/server/status", "ACTIVE").await;
    assert_eq!(
        action(&c, &id, json!({"unpause": null})).await.status,
        StatusCode::CONFLICT
    );
    // suspend / resume
    assert_eq!(
        action(&c, &id, json!({"suspend": null})).await.status,
        StatusCode::ACCEPTED
    );
    let b = c.wait(&url, NOVA, "/server/status", "SUSPENDED").await;
    assert_eq!(b["server"]["OS-EXT-STS:vm_state"], "suspended");
    assert_eq!(
        action(&c, &id, json!({"resume": null})).await.status,
        StatusCode::ACCEPTED
    );
    c.wait(&url, NOVA, "/server/status", "ACTIVE").await;
    assert_eq!(
        action(&c, &id, json!({"resume": null})).await.status,
        StatusCode::CONFLICT
    );
    // stop / start
    assert_eq!(
        action(&c, &id, json!({"os-stop": null})).await.status,
        StatusCode::ACCEPTED
    );
    let b = c.wait(&url, NOVA, "/server/status", "SHUTOFF").await;
    assert_eq!(b["server"]["OS-EXT-STS:power_state"], 4);
    assert_eq!(
        action(&c, &id, json!({"pause": null})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        action(&c, &id, json!({"os-start": null})).await.status,
        StatusCode::ACCEPTED
    );
    c.wait(&url, NOVA, "/server/status", "ACTIVE").await;
    // quiesce extension: immediate, twice → 409
    assert_eq!(
        action(&c, &id, json!({"quiesce": null})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        action(&c, &id, json!({"quiesce": null})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        action(&c, &id, json!({"unquiesce": null})).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        action(&c, &id, json!({"unquiesce": null})).await.status,
        StatusCode::CONFLICT
    );
    // task in progress → 409
    assert_eq!(
        action(&c, &id, json!({"pause": null})).await.status,
        StatusCode::ACCEPTED
    );
    let r = action(&c, &id, json!({"unpause": null})).await;
    if r.status == StatusCode::CONFLICT {
        assert!(r.text.contains("task_state pausing"), "{}", r.text);
    }
    // unknown action, malformed body, unknown server
    assert_eq!(
        action(&c, &id, json!({"fly": null})).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = c
        .call(Method::POST, &format!("{url}/action"), NOVA, None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .get(&format!("{}/servers/nope", c.compute(Site::A)), NOVA)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["itemNotFound"]["code"], 404);
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_from_volume_attach_detach_delete() {
    let c = Cloud::start().await;
    let (cb, vb) = (c.compute(Site::B), c.volume(Site::B));
    let boot = c.new_volume(Site::B, 1, json!({"name": "b-boot"})).await;
    let data = c.new_volume(Site::B, 1, json!({"name": "b-data"})).await;
    // bad requests
    let req = |bdm: Value, nets: Value| json!({"server": {"name": "rec-db-1", "flavorRef": "m1.small", "networks": nets, "metadata": {"role": "db", "priority": "1"}, "block_device_mapping_v2": bdm}});
    let bdm = json!([{"boot_index": 0, "uuid": boot, "source_type": "volume", "destination_type": "volume", "delete_on_termination": false}]);
    let r = c
        .post(
            &format!("{cb}/servers"),
            NOVA,
            req(bdm.clone(), json!([{"uuid": "no-such-net"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["badRequest"]["code"], 400);
    let mut noflavor = req(bdm.clone(), json!("none"));
    noflavor["server"]["flavorRef"] = json!("99");
    assert_eq!(
        c.post(&format!("{cb}/servers"), NOVA, noflavor)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let mut nonet = req(bdm.clone(), json!("none"));
    nonet["server"]
        .as_object_mut()
        .map(|o| o.remove("networks"));
    assert_eq!(
        c.post(&format!("{cb}/servers"), NOVA, nonet).await.status,
        StatusCode::BAD_REQUEST
    );
    // A network by name is not a uuid: Nova refuses it.
    let r = c
        .post(
            &format!("{cb}/servers"),
            NOVA,
            req(bdm.clone(), json!([{"uuid": "mgmt"}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // boot on a network: BUILD → ACTIVE, volume attaching → in-use
    let mgmt = lifeboat_emulator::world::stable_id("site-b:net:mgmt");
    let r = c
        .post(
            &format!("{cb}/servers"),
            NOVA,
            req(bdm.clone(), json!([{"uuid": mgmt}])),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let sid = r.body["server"]["id"].as_str().expect("id").to_string();
    let surl = format!("{cb}/servers/{sid}");
    let first = c.get(&surl, NOVA).await.body;
    assert!(["BUILD", "ACTIVE"].contains(&first["server"]["status"].as_str().unwrap_or("")));
    let b = c.wait(&surl, NOVA, "/server/status", "ACTIVE").await;
    assert!(b["server"]["addresses"]["mgmt"].is_array());
    assert_eq!(b["server"]["flavor"]["original_name"], "m1.small");
    c.wait(
        &format!("{vb}/volumes/{boot}"),
        CINDER,
        "/volume/status",
        "in-use",
    )
    .await;
    // the same volume cannot boot another server
    let r = c
        .post(
            &format!("{cb}/servers"),
            NOVA,
            req(bdm.clone(), json!("none")),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // attach: attaching → in-use; twice → 400
    let r = c
        .post(
            &format!("{surl}/os-volume_attachments"),
            NOVA,
            json!({"volumeAttachment": {"volumeId": data}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["volumeAttachment"]["device"], "/dev/vdb");
    c.wait(
        &format!("{vb}/volumes/{data}"),
        CINDER,
        "/volume/status",
        "in-use",
    )
    .await;
    let v = c.get(&format!("{vb}/volumes/{data}"), CINDER).await.body;
    assert_eq!(v["volume"]["attachments"][0]["server_id"], sid.as_str());
    let r = c
        .post(
            &format!("{surl}/os-volume_attachments"),
            NOVA,
            json!({"volumeAttachment": {"volumeId": data}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // deleting an in-use volume: Cinder's 400 "Invalid volume"
    let r = c
        .call(
            Method::DELETE,
            &format!("{vb}/volumes/{data}"),
            CINDER,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body["badRequest"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Invalid volume"),
        "{}",
        r.text
    );
    // root volume cannot be detached; data volume: detaching → available
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("{surl}/os-volume_attachments/{boot}"),
            NOVA,
            None
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("{surl}/os-volume_attachments/{data}"),
            NOVA,
            None
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    c.wait(
        &format!("{vb}/volumes/{data}"),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("{surl}/os-volume_attachments/{data}"),
            NOVA,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // delete the server: its boot volume becomes available again and is kept
    assert_eq!(
        c.call(Method::DELETE, &surl, NOVA, None).await.status,
        StatusCode::NO_CONTENT
    );
    c.wait_gone(&surl, NOVA).await;
    c.wait(
        &format!("{vb}/volumes/{boot}"),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    // delete an available volume: deleting → gone
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("{vb}/volumes/{data}"),
            CINDER,
            None
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    c.wait_gone(&format!("{vb}/volumes/{data}"), CINDER).await;
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_backups_groups_states() {
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let db = c.server_named(Site::A, "vims-db-1").await;
    let vols = c.volumes_of(Site::A, &db).await;
    // snapshot of an in-use volume needs force before 3.66
    let r = c
        .post(
            &format!("{vb}/snapshots"),
            Some("volume 3.0"),
            json!({"snapshot": {"volume_id": vols[1]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = c
        .post(
            &format!("{vb}/snapshots"),
            CINDER,
            json!({"snapshot": {"volume_id": vols[1], "force": true, "name": "s1"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["snapshot"]["status"], "creating");
    let sid = r.body["snapshot"]["id"].as_str().expect("sid").to_string();
    c.wait(
        &format!("{vb}/snapshots/{sid}"),
        CINDER,
        "/snapshot/status",
        "available",
    )
    .await;
    let r = c
        .call(
            Method::PUT,
            &format!("{vb}/snapshots/{sid}"),
            CINDER,
            Some(json!({"snapshot": {"metadata": {"lifeboat_tag": "t1"}}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let found = c
        .get(
            &format!(
                "{vb}/snapshots/detail?metadata={}",
                url_escape(r#"{"lifeboat_tag": "t1"}"#)
            ),
            CINDER,
        )
        .await;
    assert_eq!(
        found.body["snapshots"].as_array().map(|a| a.len()),
        Some(1),
        "{}",
        found.text
    );
    assert_eq!(
        c.get(&format!("{vb}/snapshots/{sid}/metadata"), CINDER)
            .await
            .body["metadata"]["lifeboat_tag"],
        "t1"
    );
    // volume from snapshot: creating → available, same size
    let r = c
        .post(
            &format!("{vb}/volumes"),
            CINDER,
            json!({"volume": {"snapshot_id": sid, "name": "from-snap"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.body["volume"]["status"], "creating");
    let vid = r.body["volume"]["id"].as_str().expect("vid").to_string();
    let v = c
        .wait(
            &format!("{vb}/volumes/{vid}"),
            CINDER,
            "/volume/status",
            "available",
        )
        .await;
    assert_eq!(v["volume"]["size"], 20);
    // a volume with snapshots cannot be deleted
    // (the source is in-use anyway; check the snapshot-dependency on the copy)
    let r2 = c
        .post(
            &format!("{vb}/snapshots"),
            CINDER,
            json!({"snapshot": {"volume_id": vid}}),
        )
        .await;
    let sid2 = r2.body["snapshot"]["id"]
        .as_str()
        .expect("sid2")
        .to_string();
    c.wait(
        &format!("{vb}/snapshots/{sid2}"),
        CINDER,
        "/snapshot/status",
        "available",
    )
    .await;
    assert_eq!(
        c.call(Method::DELETE, &format!("{vb}/volumes/{vid}"), CINDER, None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("{vb}/snapshots/{sid2}"),
            CINDER,
            None
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    c.wait_gone(&format!("{vb}/snapshots/{sid2}"), CINDER).await;
    // backup: incremental without a parent → 400; in-use without force → 400
    let r = c
        .post(
            &format!("{vb}/backups"),
            CINDER,
            json!({"backup": {"volume_id": vid, "incremental": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = c
        .post(
            &format!("{vb}/backups"),
            CINDER,
            json!({"backup": {"volume_id": vols[1]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // backup of an available volume: volume backing-up → available; backup creating → available
    let r = c
        .post(
            &format!("{vb}/backups"),
            CINDER,
            json!({"backup": {"volume_id": vid, "name": "b1", "container": "lifeboat-backups"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let bid = r.body["backup"]["id"].as_str().expect("bid").to_string();
    let st = c.get(&format!("{vb}/volumes/{vid}"), CINDER).await.body["volume"]["status"].clone();
    assert!(st == "backing-up" || st == "available", "{st}");
    let b = c
        .wait(
            &format!("{vb}/backups/{bid}"),
            CINDER,
            "/backup/status",
            "available",
        )
        .await;
    assert_eq!(b["backup"]["is_incremental"], false);
    c.wait(
        &format!("{vb}/volumes/{vid}"),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    // an incremental backup on it: the parent says it has dependents and
    // cannot be deleted until the child is gone, as in Cinder
    assert_eq!(b["backup"]["has_dependent_backups"], false);
    let r = c
        .post(
            &format!("{vb}/backups"),
            CINDER,
            json!({"backup": {"volume_id": vid, "name": "b1-incr", "incremental": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let child = r.body["backup"]["id"].as_str().expect("child").to_string();
    let cb = c
        .wait(
            &format!("{vb}/backups/{child}"),
            CINDER,
            "/backup/status",
            "available",
        )
        .await;
    assert_eq!(cb["backup"]["is_incremental"], true);
    c.wait(
        &format!("{vb}/volumes/{vid}"),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    let parent = c.get(&format!("{vb}/backups/{bid}"), CINDER).await;
    assert_eq!(parent.body["backup"]["has_dependent_backups"], true);
    let r = c
        .call(Method::DELETE, &format!("{vb}/backups/{bid}"), CINDER, None)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("Incremental backups exist"), "{}", r.text);
    let r = c
        .call(
            Method::DELETE,
            &format!("{vb}/backups/{child}"),
            CINDER,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    c.wait_gone(&format!("{vb}/backups/{child}"), CINDER).await;
    let parent = c.get(&format!("{vb}/backups/{bid}"), CINDER).await;
    assert_eq!(parent.body["backup"]["has_dependent_backups"], false);
    // restore into a new volume: restoring-backup → available
    let r = c
        .post(
            &format!("{vb}/backups/{bid}/restore"),
            CINDER,
            json!({"restore": {"name": "restored"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let rid = r.body["restore"]["volume_id"]
        .as_str()
        .expect("rid")
        .to_string();
    let st = c.get(&format!("{vb}/volumes/{rid}"), CINDER).await.body["volume"]["status"].clone();
    assert!(st == "restoring-backup" || st == "available", "{st}");
    c.wait(
        &format!("{vb}/volumes/{rid}"),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    c.wait(
        &format!("{vb}/backups/{bid}"),
        CINDER,
        "/backup/status",
        "available",
    )
    .await;
    // groups: creating → available; delete with volumes needs the flag
    let r = c.post(&format!("{vb}/groups"), CINDER, json!({"group": {"name": "g", "group_type": "consistent", "volume_types": ["standard"]}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
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
            Some(json!({"group": {"add_volumes": rid}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = c
        .call(
            Method::PUT,
            &format!("{vb}/groups/{gid}"),
            CINDER,
            Some(json!({"group": {"add_volumes": "nope"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .post(
            &format!("{vb}/group_snapshots"),
            CINDER,
            json!({"group_snapshot": {"group_id": gid, "name": "gs"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
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
    let snaps = c
        .get(
            &format!("{vb}/snapshots/detail?group_snapshot_id={gsid}"),
            CINDER,
        )
        .await
        .body;
    assert_eq!(snaps["snapshots"].as_array().map(|a| a.len()), Some(1));
    // group snapshots require 3.14
    assert_eq!(
        c.get(&format!("{vb}/group_snapshots"), Some("volume 3.13"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let del = |flag: bool| json!({"delete": {"delete-volumes": flag}});
    assert_eq!(
        c.post(&format!("{vb}/groups/{gid}/action"), CINDER, del(true))
            .await
            .status,
        StatusCode::BAD_REQUEST,
        "group snapshots depend on it"
    );
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("{vb}/group_snapshots/{gsid}"),
            CINDER,
            None
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    c.wait_gone(&format!("{vb}/group_snapshots/{gsid}"), CINDER)
        .await;
    assert_eq!(
        c.post(&format!("{vb}/groups/{gid}/action"), CINDER, del(false))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.post(&format!("{vb}/groups/{gid}/action"), CINDER, del(true))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    c.wait_gone(&format!("{vb}/groups/{gid}"), CINDER).await;
    c.wait_gone(&format!("{vb}/volumes/{rid}"), CINDER).await;
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_ending_in_error_or_stuck() {
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let vid = c.new_volume(Site::A, 1, json!({})).await;
    c.h.set_faults(FaultProfile {
        rules: vec![
            FaultRule {
                operation: Some("backup.create".into()),
                fail_rate: 1.0,
                ..Default::default()
            },
            FaultRule {
                operation: Some("volume.create".into()),
                stuck_rate: 1.0,
                ..Default::default()
            },
            FaultRule {
                operation: Some("backup.restore".into()),
                fail_rate: 1.0,
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    let r = c
        .post(
            &format!("{vb}/backups"),
            CINDER,
            json!({"backup": {"volume_id": vid}}),
        )
        .await;
    let bid = r.body["backup"]["id"].as_str().expect("bid").to_string();
    let b = c
        .wait(
            &format!("{vb}/backups/{bid}"),
            CINDER,
            "/backup/status",
            "error",
        )
        .await;
    assert!(b["backup"]["fail_reason"].is_string());
    c.wait(
        &format!("{vb}/volumes/{vid}"),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    let r = c
        .post(
            &format!("{vb}/volumes"),
            CINDER,
            json!({"volume": {"size": 1}}),
        )
        .await;
    let stuck = r.body["volume"]["id"].as_str().expect("id").to_string();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        c.get(&format!("{vb}/volumes/{stuck}"), CINDER).await.body["volume"]["status"],
        "creating"
    );
    c.h.clear_faults();
    let r = c
        .post(
            &format!("{vb}/backups"),
            CINDER,
            json!({"backup": {"volume_id": vid}}),
        )
        .await;
    let bid = r.body["backup"]["id"].as_str().expect("bid").to_string();
    c.wait(
        &format!("{vb}/backups/{bid}"),
        CINDER,
        "/backup/status",
        "available",
    )
    .await;
    c.h.set_faults(FaultProfile {
        rules: vec![FaultRule {
            operation: Some("backup.restore".into()),
            fail_rate: 1.0,
            ..Default::default()
        }],
        ..Default::default()
    });
    let r = c
        .post(
            &format!("{vb}/backups/{bid}/restore"),
            CINDER,
            json!({"restore": {}}),
        )
        .await;
    let rid = r.body["restore"]["volume_id"]
        .as_str()
        .expect("rid")
        .to_string();
    c.wait(
        &format!("{vb}/volumes/{rid}"),
        CINDER,
        "/volume/status",
        "error_restoring",
    )
    .await;
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microversions_filters_pagination_images() {
    let c = Cloud::start().await;
    let cb = c.compute(Site::A);
    let db = c.server_named(Site::A, "vims-db-1").await;
    let id = db["id"].as_str().expect("id").to_string();
    // echoed version and Vary
    let r = c
        .get(&format!("{cb}/servers/{id}"), Some("compute 2.26"))
        .await;
    assert_eq!(
        r.headers
            .get("openstack-api-version")
            .and_then(|v| v.to_str().ok()),
        Some("compute 2.26")
    );
    assert!(r
        .headers
        .get("vary")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .contains("OpenStack-API-Version"));
    assert_eq!(r.body["server"]["tags"], json!(["vims", "vnf:vims"]));
    let r = c
        .http
        .get(format!("{cb}/servers/{id}"))
        .header("x-auth-token", &c.token)
        .header("x-openstack-nova-api-version", "2.47")
        .send()
        .await
        .expect("legacy");
    assert_eq!(
        r.headers()
            .get("x-openstack-nova-api-version")
            .and_then(|v| v.to_str().ok()),
        Some("2.47")
    );
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["server"]["flavor"]["original_name"], "m1.large");
    let r = c.get(&format!("{cb}/servers/{id}"), None).await;
    assert!(r.body["server"].get("tags").is_none());
    assert!(r.body["server"]["flavor"]["id"].is_string());
    assert_eq!(
        c.get(&format!("{cb}/servers/{id}"), Some("compute 2.200"))
            .await
            .status,
        StatusCode::NOT_ACCEPTABLE
    );
    assert_eq!(
        c.get(&format!("{cb}/servers/{id}/tags"), Some("compute 2.25"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // tag filters (2.26+)
    assert_eq!(c.servers(Site::A, "?tags=vims").await.len(), 6);
    assert_eq!(c.servers(Site::A, "?tags=vims,nope").await.len(), 0);
    assert_eq!(c.servers(Site::A, "?tags-any=nope,vnf:vims").await.len(), 6);
    assert_eq!(c.servers(Site::B, "?tags=vims").await.len(), 0);
    assert_eq!(c.servers(Site::A, "?name=db").await.len(), 2);
    assert_eq!(c.servers(Site::A, "?status=active").await.len(), 6);
    // pagination
    let r = c.get(&format!("{cb}/servers?limit=4"), NOVA).await;
    assert_eq!(r.body["servers"].as_array().map(|a| a.len()), Some(4));
    let next = r.body["servers_links"][0]["href"]
        .as_str()
        .expect("next")
        .to_string();
    let r2 = c.get(&next, NOVA).await;
    assert_eq!(r2.body["servers"].as_array().map(|a| a.len()), Some(2));
    assert!(r2.body.get("servers_links").is_none());
    assert_eq!(
        c.get(&format!("{cb}/servers?marker=nope"), NOVA)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // metadata PUT/POST and tags
    let m = c
        .post(
            &format!("{cb}/servers/{id}/metadata"),
            NOVA,
            json!({"metadata": {"lifeboat_tag": "x"}}),
        )
        .await;
    assert_eq!(m.body["metadata"]["role"], "db");
    let m = c
        .call(
            Method::PUT,
            &format!("{cb}/servers/{id}/metadata"),
            NOVA,
            Some(json!({"metadata": {"role": "db"}})),
        )
        .await;
    assert_eq!(m.body["metadata"], json!({"role": "db"}));
    assert_eq!(
        c.post(
            &format!("{cb}/servers/{id}/metadata"),
            NOVA,
            json!({"metadata": {"n": 1}})
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.call(
            Method::PUT,
            &format!("{cb}/servers/{id}/tags/extra"),
            NOVA,
            None
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        c.get(&format!("{cb}/servers/{id}/tags/extra"), NOVA)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("{cb}/servers/{id}/tags/extra"),
            NOVA,
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.get(&format!("{cb}/servers/{id}/tags/extra"), NOVA)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // createImage before 2.45: Location header, no body; the image lists the volume snapshots
    let r = c
        .post(
            &format!("{cb}/servers/{id}/action"),
            Some("compute 2.44"),
            json!({"createImage": {"name": "img-old"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.text.is_empty());
    let loc = r
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_string();
    let img = c.wait(&loc, None, "/status", "active").await;
    assert_eq!(img["bdm_v2"], "True");
    let bdm: Value =
        serde_json::from_str(img["block_device_mapping"].as_str().expect("bdm string"))
            .expect("bdm json");
    let bdm = bdm.as_array().expect("list").clone();
    assert_eq!(bdm.len(), 2);
    assert_eq!(bdm[0]["boot_index"], 0);
    for b in &bdm {
        assert_eq!(b["source_type"], "snapshot");
        let sid = b["snapshot_id"].as_str().expect("snapshot id");
        c.wait(
            &format!("{}/snapshots/{sid}", c.volume(Site::A)),
            CINDER,
            "/snapshot/status",
            "available",
        )
        .await;
    }
    let patch = json!([{"op": "add", "path": "/lifeboat_tag", "value": "run-1"}, {"op": "replace", "path": "/name", "value": "img-renamed"}]);
    let r = c
        .http
        .patch(&loc)
        .header("x-auth-token", &c.token)
        .header(
            "content-type",
            "application/openstack-images-v2.1-json-patch",
        )
        .json(&patch)
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::OK);
    let img: Value = r.json().await.expect("json");
    assert_eq!(img["lifeboat_tag"], "run-1");
    assert_eq!(img["name"], "img-renamed");
    let ro = json!([{"op": "replace", "path": "/status", "value": "active"}]);
    let r = c
        .http
        .patch(&loc)
        .header("x-auth-token", &c.token)
        .json(&ro)
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        c.call(Method::DELETE, &loc, None, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(c.get(&loc, None).await.status, StatusCode::NOT_FOUND);
    // Cinder microversion bounds
    let vb = c.volume(Site::A);
    assert_eq!(
        c.get(&format!("{vb}/volumes"), Some("volume 3.99"))
            .await
            .status,
        StatusCode::NOT_ACCEPTABLE
    );
    let r = c
        .get(&format!("{vb}/volumes?limit=5"), Some("volume 3.64"))
        .await;
    assert_eq!(
        r.headers
            .get("openstack-api-version")
            .and_then(|v| v.to_str().ok()),
        Some("volume 3.64")
    );
    assert!(r.body["volumes_links"][0]["href"].is_string());
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_auth_errors_and_catalog() {
    let c = Cloud::start().await;
    let ks = c.h.keystone_url();
    let mut bad = common::password_auth();
    bad["auth"]["identity"]["password"]["user"]["password"] = json!("wrong");
    let r = c
        .http
        .post(format!("{ks}/auth/tokens"))
        .json(&bad)
        .send()
        .await
        .expect("auth");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["title"], "Unauthorized");
    let ac = json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"name": "lifeboat", "user": {"name": "operator", "domain": {"name": "Default"}}, "secret": "lifeboat-secret"}}}});
    let r = c
        .http
        .post(format!("{ks}/auth/tokens"))
        .json(&ac)
        .send()
        .await
        .expect("auth");
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.expect("json");
    let cat = body["token"]["catalog"]
        .as_array()
        .expect("catalog")
        .clone();
    for ty in [
        "compute",
        "volumev3",
        "block-storage",
        "image",
        "object-store",
    ] {
        let svc = cat
            .iter()
            .find(|s| s["type"] == ty)
            .unwrap_or_else(|| panic!("{ty}"));
        for region in ["site-a", "site-b"] {
            for iface in ["public", "internal"] {
                assert!(
                    svc["endpoints"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|e| e["region"] == region && e["interface"] == iface),
                    "{ty} {region} {iface}"
                );
            }
        }
    }
    let r = c
        .http
        .post(format!("{ks}/auth/tokens?nocatalog"))
        .json(&ac)
        .send()
        .await
        .expect("auth");
    let body: Value = r.json().await.expect("json");
    assert!(body["token"].get("catalog").is_none());
    assert!(body["token"]["project"]["id"].is_string());
    let mut wrong = ac.clone();
    wrong["auth"]["identity"]["application_credential"]["secret"] = json!("x");
    assert_eq!(
        c.http
            .post(format!("{ks}/auth/tokens"))
            .json(&wrong)
            .send()
            .await
            .expect("auth")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // no token / bad token at a service
    let r = c
        .http
        .get(format!("{}/servers", c.compute(Site::A)))
        .send()
        .await
        .expect("call");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .http
        .get(format!("{}/servers", c.compute(Site::A)))
        .header("x-auth-token", "bogus")
        .send()
        .await
        .expect("call");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // HEAD validates (200), DELETE revokes (204); a revoked token is unknown (404) and refused (401).
    let r = c
        .http
        .post(format!("{ks}/auth/tokens"))
        .json(&common::password_auth())
        .send()
        .await
        .expect("auth");
    let t = r
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .expect("token")
        .to_string();
    let tokens = format!("{ks}/auth/tokens");
    assert_eq!(
        c.http
            .head(&tokens)
            .header("x-auth-token", &c.token)
            .header("x-subject-token", &t)
            .send()
            .await
            .expect("head")
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        c.http
            .delete(&tokens)
            .header("x-auth-token", &c.token)
            .header("x-subject-token", &t)
            .send()
            .await
            .expect("delete")
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.http
            .get(&tokens)
            .header("x-auth-token", &c.token)
            .header("x-subject-token", &t)
            .send()
            .await
            .expect("get")
            .status(),
        StatusCode::NOT_FOUND
    );
    let r = c
        .http
        .get(format!("{}/servers", c.compute(Site::A)))
        .header("x-auth-token", &t)
        .send()
        .await
        .expect("call");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    c.h.shutdown().await;
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `deleting` (volume, snapshot, backup) is what a delete shows until it
/// finishes (here held by a stuck fault), and `error` is where a failed create
/// ends (volume, snapshot).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_and_error_statuses() {
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let vol = c.new_volume(Site::A, 1, json!({})).await;
    let victim = c.new_volume(Site::A, 1, json!({})).await;
    let r = c
        .post(
            &format!("{vb}/snapshots"),
            CINDER,
            json!({"snapshot": {"volume_id": vol, "name": "s"}}),
        )
        .await;
    let sid = r.body["snapshot"]["id"].as_str().expect("sid").to_string();
    c.wait(
        &format!("{vb}/snapshots/{sid}"),
        CINDER,
        "/snapshot/status",
        "available",
    )
    .await;
    let r = c
        .post(
            &format!("{vb}/backups"),
            CINDER,
            json!({"backup": {"volume_id": vol, "name": "b"}}),
        )
        .await;
    let bid = r.body["backup"]["id"].as_str().expect("bid").to_string();
    c.wait(
        &format!("{vb}/backups/{bid}"),
        CINDER,
        "/backup/status",
        "available",
    )
    .await;
    c.wait(
        &format!("{vb}/volumes/{vol}"),
        CINDER,
        "/volume/status",
        "available",
    )
    .await;
    let stuck = |op: &str| FaultRule {
        operation: Some(op.into()),
        stuck_rate: 1.0,
        ..Default::default()
    };
    c.h.set_faults(FaultProfile {
        rules: vec![
            stuck("volume.delete"),
            stuck("snapshot.delete"),
            stuck("backup.delete"),
        ],
        ..Default::default()
    });
    for (kind, id, key) in [
        ("volumes", &victim, "volume"),
        ("snapshots", &sid, "snapshot"),
        ("backups", &bid, "backup"),
    ] {
        assert_eq!(
            c.call(Method::DELETE, &format!("{vb}/{kind}/{id}"), CINDER, None)
                .await
                .status,
            StatusCode::ACCEPTED
        );
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
        let r = c.get(&format!("{vb}/{kind}/{id}"), CINDER).await;
        assert_eq!(r.body[key]["status"], "deleting", "{kind}: {}", r.text);
        // Deleting again while deleting: Cinder's 400.
        let again = c
            .call(Method::DELETE, &format!("{vb}/{kind}/{id}"), CINDER, None)
            .await;
        assert_eq!(
            again.status,
            StatusCode::BAD_REQUEST,
            "{kind} twice: {}",
            again.text
        );
    }
    let fail = |op: &str| FaultRule {
        operation: Some(op.into()),
        fail_rate: 1.0,
        ..Default::default()
    };
    c.h.set_faults(FaultProfile {
        rules: vec![fail("volume.create"), fail("snapshot.create")],
        ..Default::default()
    });
    let r = c
        .post(
            &format!("{vb}/volumes"),
            CINDER,
            json!({"volume": {"size": 1, "name": "doomed"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let doomed = r.body["volume"]["id"].as_str().expect("id").to_string();
    c.wait(
        &format!("{vb}/volumes/{doomed}"),
        CINDER,
        "/volume/status",
        "error",
    )
    .await;
    let r = c
        .post(
            &format!("{vb}/snapshots"),
            CINDER,
            json!({"snapshot": {"volume_id": vol, "name": "doomed"}}),
        )
        .await;
    let ds = r.body["snapshot"]["id"].as_str().expect("id").to_string();
    c.wait(
        &format!("{vb}/snapshots/{ds}"),
        CINDER,
        "/snapshot/status",
        "error",
    )
    .await;
    // An errored volume can be deleted (error is a deletable state).
    c.h.clear_faults();
    assert_eq!(
        c.call(
            Method::DELETE,
            &format!("{vb}/volumes/{doomed}"),
            CINDER,
            None
        )
        .await
        .status,
        StatusCode::ACCEPTED
    );
    c.wait_gone(&format!("{vb}/volumes/{doomed}"), CINDER).await;
    c.h.shutdown().await;
}

/// Nova's task states around BUILD and delete: BUILD/scheduling →
/// BUILD/spawning → ACTIVE; delete shows task_state `deleting`, then the
/// server is gone (404) and `changes-since` lists it as DELETED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_build_and_delete_task_states() {
    let c = Cloud::start().await;
    let cb = c.compute(Site::B);
    let since = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let boot = |name: &'static str| {
        let c = &c;
        let cb = cb.clone();
        async move {
            let vol = c.new_volume(Site::B, 1, json!({"name": name})).await;
            let req = json!({"server": {"name": name, "flavorRef": "1", "networks": "none", "block_device_mapping_v2": [{"boot_index": 0, "uuid": vol, "source_type": "volume", "destination_type": "volume"}]}});
            let r = c.post(&format!("{cb}/servers"), NOVA, req).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
            r.body["server"]["id"].as_str().expect("id").to_string()
        }
    };
    let stuck = |op: &str| FaultProfile {
        rules: vec![FaultRule {
            operation: Some(op.into()),
            stuck_rate: 1.0,
            ..Default::default()
        }],
        ..Default::default()
    };
    // A build held before its end shows BUILD with task_state spawning.
    c.h.set_faults(stuck("server.create"));
    let held = boot("held").await;
    let b = c
        .wait(
            &format!("{cb}/servers/{held}"),
            NOVA,
            "/server/OS-EXT-STS:task_state",
            "spawning",
        )
        .await;
    assert_eq!(
        (
            b["server"]["status"].clone(),
            b["server"]["OS-EXT-STS:vm_state"].clone()
        ),
        (json!("BUILD"), json!("building"))
    );
    c.h.clear_faults();
    // A normal build ends ACTIVE with no task.
    let id = boot("doomed").await;
    let url = format!("{cb}/servers/{id}");
    let b = c.wait(&url, NOVA, "/server/status", "ACTIVE").await;
    assert_eq!(b["server"]["OS-EXT-STS:task_state"], Value::Null);
    // A delete in progress: still ACTIVE, task_state deleting.
    let other = boot("slow-delete").await;
    c.wait(
        &format!("{cb}/servers/{other}"),
        NOVA,
        "/server/status",
        "ACTIVE",
    )
    .await;
    c.h.set_faults(stuck("server.delete"));
    assert_eq!(
        c.call(Method::DELETE, &format!("{cb}/servers/{other}"), NOVA, None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let b = c.get(&format!("{cb}/servers/{other}"), NOVA).await.body;
    assert_eq!(
        (
            b["server"]["status"].clone(),
            b["server"]["OS-EXT-STS:task_state"].clone()
        ),
        (json!("ACTIVE"), json!("deleting"))
    );
    c.h.clear_faults();
    // A finished delete: 404, and DELETED in changes-since (not in a plain list).
    assert_eq!(
        c.call(Method::DELETE, &url, NOVA, None).await.status,
        StatusCode::NO_CONTENT
    );
    c.wait_gone(&url, NOVA).await;
    assert!(c
        .servers(Site::B, "")
        .await
        .iter()
        .all(|s| s["id"] != id.as_str()));
    let listed = c.servers(Site::B, &format!("?changes-since={since}")).await;
    let gone = listed
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("the deleted server in changes-since");
    assert_eq!(
        (gone["status"].clone(), gone["OS-EXT-STS:vm_state"].clone()),
        (json!("DELETED"), json!("deleted"))
    );
    assert!(
        listed.iter().any(|s| s["id"] == other.as_str()),
        "live servers changed since are listed too"
    );
    let r = c
        .get(
            &format!("{cb}/servers/detail?changes-since=yesterday"),
            NOVA,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    c.h.shutdown().await;
}

/// A topology's flavor extra specs show where Nova shows them: in the
/// flavor detail from 2.61 and in `os-extra_specs`; not before 2.61.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flavor_extra_specs_show_as_nova_shows_them() {
    let mut cfg = lifeboat_emulator::EmulatorConfig::fast();
    cfg.topology
        .flavors
        .push(lifeboat_emulator::topology::FlavorSpec {
            name: "pinned.large".into(),
            vcpus: 8,
            ram: 16384,
            disk: 40,
            extra_specs: [("hw:cpu_policy".to_string(), "dedicated".to_string())].into(),
        });
    let c = Cloud::with(cfg).await;
    let nova = c.compute(Site::B);
    let list = c.get(&format!("{nova}/flavors/detail"), NOVA).await;
    let f = list.body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "pinned.large")
        .expect("pinned.large listed")
        .clone();
    assert_eq!(
        f["extra_specs"],
        json!({"hw:cpu_policy": "dedicated"}),
        "{f}"
    );
    let small = list.body["flavors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "m1.small")
        .unwrap()
        .clone();
    assert_eq!(small["extra_specs"], json!({}), "{small}");
    let old = c
        .get(&format!("{nova}/flavors/detail"), Some("compute 2.60"))
        .await;
    assert!(
        old.body["flavors"][0].get("extra_specs").is_none(),
        "{}",
        old.text
    );
    let specs = c
        .get(
            &format!(
                "{nova}/flavors/{}/os-extra_specs",
                f["id"].as_str().unwrap()
            ),
            NOVA,
        )
        .await;
    assert_eq!(specs.status, StatusCode::OK, "{}", specs.text);
    assert_eq!(
        specs.body,
        json!({"extra_specs": {"hw:cpu_policy": "dedicated"}})
    );
}

/// `lock` (with a reason from 2.73) and `unlock`, as Nova: a locked server
/// shows `locked` and `locked_reason` and refuses its owner's changes —
/// actions, delete, volume attach, metadata — with 409 `Instance … is
/// locked`; reading it still works; locking again changes nothing; after
/// `unlock` it obeys again. A reason before 2.73 is a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_server_refuses_changes_until_unlocked() {
    let c = Cloud::start().await;
    let s = c.server_named(Site::A, "vims-lb-1").await;
    let id = s["id"].as_str().expect("id").to_string();
    let url = format!("{}/servers/{id}", c.compute(Site::A));
    assert_eq!(s["locked"], json!(false));
    let old = c
        .post(
            &format!("{url}/action"),
            Some("compute 2.72"),
            json!({"lock": {"locked_reason": "x"}}),
        )
        .await;
    assert_eq!(old.status, StatusCode::BAD_REQUEST, "{}", old.text);
    let r = action(
        &c,
        &id,
        json!({"lock": {"locked_reason": "fenced by run r1"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let b = c.get(&url, NOVA).await.body;
    assert_eq!(b["server"]["locked"], json!(true));
    assert_eq!(b["server"]["locked_reason"], json!("fenced by run r1"));
    for body in [json!({"os-stop": null}), json!({"pause": null})] {
        let r = action(&c, &id, body.clone()).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{body}: {}", r.text);
        assert_eq!(
            r.body["conflictingRequest"]["message"],
            json!(format!("Instance {id} is locked"))
        );
    }
    let del = c.call(Method::DELETE, &url, NOVA, None).await;
    assert_eq!(del.status, StatusCode::CONFLICT, "{}", del.text);
    let meta = c
        .call(
            Method::PUT,
            &format!("{url}/metadata/k"),
            NOVA,
            Some(json!({"meta": {"k": "v"}})),
        )
        .await;
    assert_eq!(meta.status, StatusCode::CONFLICT, "{}", meta.text);
    let vol = c.new_volume(Site::A, 1, json!({})).await;
    let att = c
        .post(
            &format!("{url}/os-volume_attachments"),
            NOVA,
            json!({"volumeAttachment": {"volumeId": vol}}),
        )
        .await;
    assert_eq!(att.status, StatusCode::CONFLICT, "{}", att.text);
    // Locking again changes nothing, the reason stays; unlock lets it act.
    let again = action(&c, &id, json!({"lock": null})).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    let b = c.get(&url, NOVA).await.body;
    assert_eq!(b["server"]["locked_reason"], json!("fenced by run r1"));
    assert_eq!(b["server"]["status"], json!("ACTIVE"));
    let r = action(&c, &id, json!({"unlock": null})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let b = c.get(&url, NOVA).await.body;
    assert_eq!(b["server"]["locked"], json!(false));
    assert_eq!(b["server"]["locked_reason"], Value::Null);
    let r = action(&c, &id, json!({"os-stop": null})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    c.wait(&url, NOVA, "/server/status", "SHUTOFF").await;
}
