//! Conformance: for every endpoint the emulator serves that has an official
//! sample in shared/fixtures/openstack-api-samples, the live response carries
//! the sample's fields with the same JSON types (checked recursively).
//!
//! Intentional differences are listed with their reasons: FREE (compared
//! loosely: user-keyed maps, a documented other type), NULLABLE (null where
//! the sample shows a value; the field must still be present) and ABSENT
//! (left out by the real service's default configuration).

mod common;

use std::path::PathBuf;

use common::Cloud;
use lifeboat_emulator::Site;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Paths compared loosely, with the reason: (path suffix, reason). A path is
/// keys joined by '.', array items as `[]`.
const FREE: &[(&str, &str)] = &[
    ("server.image", "volume-backed servers have image \"\" (a string), as real Nova answers for boot-from-volume"),
    ("servers[].image", "volume-backed servers have image \"\", as real Nova"),
    ("addresses", "keys are the server's network names (each value is checked against the sample's address list)"),
    ("metadata", "user-defined keys"),
    ("meta", "user-defined key"),
    ("extra_specs", "flavors/types carry their own specs"),
    ("group_specs", "group types carry their own specs"),
    ("rules", "a server group's rules are its own: {} when it has none, as Nova"),
];

/// Fields that may be null where the sample shows a value, with the reason.
const NULLABLE: &[(&str, &str)] = &[
    (
        "OS-EXT-SRV-ATTR:user_data",
        "no user data is given at boot (real Nova then answers null)",
    ),
    (
        "password_expires_at",
        "emulator passwords do not expire (Keystone then answers null)",
    ),
    (
        "description",
        "none was given (the real services then answer null)",
    ),
    (
        "locked_reason",
        "servers are not locked (the sample shows a locked one)",
    ),
    ("tag", "attachments are made without a device tag"),
    (
        "router_id",
        "routers are not modelled: a floating IP shows no router, as an unassociated one",
    ),
    (
        "remote_group_id",
        "null when the rule names a remote prefix instead, as Neutron",
    ),
    (
        "remote_ip_prefix",
        "null when the rule names a remote group instead, as Neutron",
    ),
    (
        "remote_address_group_id",
        "address groups are not modelled: null, as for a rule without one",
    ),
    (
        "ttl",
        "a recordset without a TTL of its own (the zone's SOA and NS) shows null, as Designate",
    ),
    (
        "port_details",
        "null once the floating IP is disassociated, as Neutron answers",
    ),
];

/// Fields a sample shows that the real service leaves out in its default
/// configuration, with the reason (the emulator leaves them out too).
const ABSENT: &[(&str, &str)] = &[
    ("locations", "Glance shows image locations only with show_multiple_locations=True (off by default); the sample was made with it on"),
    ("network.pvlan", "the pvlan extension is not in ML2's default extension drivers"),
    ("networks[].pvlan", "the pvlan extension is not in ML2's default extension drivers"),
    ("l2_adjacency", "not shown by real ML2 without the segments plugin (the harness)"),
    ("is_default", "real Neutron shows is_default on external networks only"),
    ("dns_publish_fixed_ip", "the subnet_dns_publish_fixed_ip extension driver is off (the harness)"),
    ("segment_id", "the segments service plugin is not loaded (the harness)"),
    ("dns_domain", "ports and floating IPs show dns_domain only with the dns_domain_ports extension driver (off in the harness)"),
    ("ip_allocation", "ip_allocation comes with the segments plugin (not loaded in the harness)"),
    ("port_forwardings", "the port_forwarding service plugin is not loaded (the harness)"),
    ("security_group_rule.tags", "rules are not taggable (real Neutron shows no tags on them)"),
    ("data_plane_status", "the data_plane_status extension driver is off by default"),
    ("qos_network_policy_id", "the QoS service plugin is not loaded by default"),
    ("qos_policy_id", "the QoS service plugin is not loaded by default"),
    ("propagate_uplink_status", "the uplink_status_propagation extension driver is off by default"),
    ("pvlan_type", "the pvlan extension is off by default"),
    ("pvlan_community", "the pvlan extension is off by default"),
    ("hardware_offload_type", "the port_hardware_offload_type extension driver is off by default"),
    ("trusted", "the port_trusted extension driver is off by default"),
    ("binding:host_id", "admin-only under Neutron's default policy (the project user does not see it)"),
    ("binding:profile", "admin-only under Neutron's default policy"),
    ("binding:vif_details", "admin-only under Neutron's default policy"),
    ("binding:vif_type", "admin-only under Neutron's default policy"),
];

fn matches(list: &[(&str, &str)], path: &str) -> bool {
    list.iter()
        .any(|(suffix, _)| path == *suffix || path.ends_with(&format!(".{suffix}")))
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/openstack-api-samples")
}

fn sample(rel: &str) -> Value {
    let p = fixtures().join(rel);
    let text =
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Walk the sample and the live value side by side.
fn walk(sample: &Value, live: &Value, path: &str, errs: &mut Vec<String>) {
    if !path.is_empty() && matches(FREE, path) {
        if path.ends_with("addresses") {
            for (_, v) in live.as_object().into_iter().flatten() {
                if let Some(s) = sample.as_object().and_then(|o| o.values().next()) {
                    walk(s, v, &format!("{path}.<net>"), errs);
                }
            }
        }
        return;
    }
    match (sample, live) {
        (Value::Null, _) => {}
        (Value::Object(s), Value::Object(l)) => {
            for (k, sv) in s {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match l.get(k) {
                    Some(lv) => walk(sv, lv, &p, errs),
                    None if matches(ABSENT, &p) => {}
                    None => errs.push(format!("{p}: missing")),
                }
            }
        }
        (Value::Array(s), Value::Array(l)) => {
            // Each live item must conform to one of the sample's items (samples
            // show variants, e.g. a managed and an unmanaged volume).
            for lv in l {
                let mut best: Option<Vec<String>> = None;
                for si in s {
                    let mut e = Vec::new();
                    walk(si, lv, &format!("{path}[]"), &mut e);
                    if best.as_ref().is_none_or(|b| e.len() < b.len()) {
                        best = Some(e);
                    }
                }
                errs.extend(best.unwrap_or_default());
            }
        }
        (_, Value::Null) if matches(NULLABLE, path) => {}
        (s, Value::Null) => errs.push(format!("{path}: null where the sample has {}", kind(s))),
        (s, l) => {
            if kind(s) != kind(l) {
                errs.push(format!(
                    "{path}: {} where the sample has {}",
                    kind(l),
                    kind(s)
                ));
            }
        }
    }
}

fn conforms(rel: &str, live: &Value) {
    let s = sample(rel);
    let mut errs = Vec::new();
    walk(&s, live, "", &mut errs);
    assert!(
        errs.is_empty(),
        "{rel}:\n  {}\nlive: {live}",
        errs.join("\n  ")
    );
}

#[test]
fn comparator_catches_differences() {
    let mut errs = Vec::new();
    walk(
        &json!({"a": 1, "b": {"c": "x"}, "d": [true]}),
        &json!({"a": "1", "b": {}, "d": [1]}),
        "",
        &mut errs,
    );
    assert_eq!(errs.len(), 3, "{errs:?}");
    let mut errs = Vec::new();
    walk(
        &json!({"server": {"image": {"id": "x"}, "description": "d"}}),
        &json!({"server": {"image": "", "description": null}}),
        "",
        &mut errs,
    );
    assert!(errs.is_empty(), "{errs:?}");
    // Nullable is not optional: a missing field is still reported.
    let mut errs = Vec::new();
    walk(
        &json!({"server": {"description": "d"}}),
        &json!({"server": {}}),
        "",
        &mut errs,
    );
    assert_eq!(errs, ["server.description: missing"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystone_conforms() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let ks = c.h.keystone_url();
    let r = c
        .http
        .get(c.h.admin_url() + "/")
        .send()
        .await
        .expect("versions");
    assert_eq!(r.status(), StatusCode::MULTIPLE_CHOICES);
    conforms(
        "keystone/admin/identity-versions-response.json",
        &r.json().await.expect("json"),
    );
    let r: Value = c
        .http
        .get(&ks)
        .send()
        .await
        .expect("v3")
        .json()
        .await
        .expect("json");
    conforms("keystone/admin/identity-version-response.json", &r);
    let r = c
        .http
        .post(format!("{ks}/auth/tokens"))
        .json(&common::password_auth())
        .send()
        .await
        .expect("auth");
    conforms(
        "keystone/auth/responses/project-scoped-password.json",
        &r.json().await.expect("json"),
    );
    let body = json!({"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": "lifeboat-appcred-id", "secret": "lifeboat-secret"}}}});
    let r = c
        .http
        .post(format!("{ks}/auth/tokens"))
        .json(&body)
        .send()
        .await
        .expect("appcred");
    assert_eq!(r.status(), StatusCode::CREATED);
    conforms(
        "keystone/admin/auth-application-credential-response.json",
        &r.json().await.expect("json"),
    );
    let r = c
        .http
        .get(format!("{ks}/auth/tokens"))
        .header("x-auth-token", &c.token)
        .header("x-subject-token", &c.token)
        .send()
        .await
        .expect("validate");
    assert_eq!(r.status(), StatusCode::OK);
    conforms(
        "keystone/auth/responses/project-scoped-password.json",
        &r.json().await.expect("json"),
    );
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_conforms() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let base = c.compute(Site::A);
    let r: Value = c
        .http
        .get(c.h.site_url(Site::A) + "/compute/")
        .send()
        .await
        .expect("versions")
        .json()
        .await
        .expect("json");
    conforms("nova/versions/versions-get-resp.json", &r);
    let r: Value = c
        .http
        .get(&base)
        .send()
        .await
        .expect("version")
        .json()
        .await
        .expect("json");
    conforms("nova/versions/v21-version-get-resp.json", &r);
    let db = c.server_named(Site::A, "vims-db-1").await;
    let id = db["id"].as_str().expect("id").to_string();
    for (mv, rel) in [
        ("2.1", "nova/servers/server-get-resp.json"),
        ("2.16", "nova/servers/v2.16/server-get-resp.json"),
        ("2.71", "nova/servers/v2.71/server-get-resp.json"),
        ("2.73", "nova/servers/v2.73/server-get-resp.json"),
        ("2.90", "nova/servers/v2.90/server-get-resp.json"),
    ] {
        let r = c
            .get(
                &format!("{base}/servers/{id}"),
                Some(&format!("compute {mv}")),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        conforms(rel, &r.body);
    }
    for (mv, path, rel) in [
        (
            "2.1",
            "servers?limit=2",
            "nova/servers/servers-list-resp.json",
        ),
        (
            "2.1",
            "servers/detail?limit=2",
            "nova/servers/servers-details-resp.json",
        ),
        (
            "2.90",
            "servers/detail?limit=2",
            "nova/servers/v2.90/servers-details-resp.json",
        ),
        ("2.1", "flavors", "nova/flavors/flavors-list-resp.json"),
        (
            "2.1",
            "flavors/detail",
            "nova/flavors/flavors-detail-resp.json",
        ),
        (
            "2.75",
            "flavors/detail",
            "nova/flavors/v2.75/flavors-detail-resp.json",
        ),
        ("2.1", "flavors/1", "nova/flavors/flavor-get-resp.json"),
        (
            "2.26",
            "servers/detail?limit=2",
            "nova/os-server-tags/v2.26/servers-tags-details-resp.json",
        ),
        (
            "2.55",
            "flavors/detail",
            "nova/flavors/v2.55/flavors-detail-resp.json",
        ),
        (
            "2.61",
            "flavors/1",
            "nova/flavors/v2.61/flavor-get-resp.json",
        ),
        (
            "2.75",
            "flavors/1",
            "nova/flavors/v2.75/flavor-get-resp.json",
        ),
    ] {
        let r = c
            .get(&format!("{base}/{path}"), Some(&format!("compute {mv}")))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        conforms(rel, &r.body);
    }
    let r = c.get(&format!("{base}/servers/{id}/metadata"), None).await;
    conforms(
        "nova/server-metadata/server-metadata-all-resp.json",
        &r.body,
    );
    let r = c
        .get(&format!("{base}/servers/{id}/metadata/role"), None)
        .await;
    conforms("nova/server-metadata/server-metadata-resp.json", &r.body);
    let r = c
        .get(&format!("{base}/servers/{id}/tags"), Some("compute 2.26"))
        .await;
    conforms(
        "nova/os-server-tags/v2.26/server-tags-index-resp.json",
        &r.body,
    );
    let r = c
        .call(
            Method::PUT,
            &format!("{base}/servers/{id}/tags"),
            Some("compute 2.26"),
            Some(json!({"tags": ["vims", "vnf:vims", "extra"]})),
        )
        .await;
    conforms(
        "nova/os-server-tags/v2.26/server-tags-put-all-resp.json",
        &r.body,
    );
    let r = c
        .get(&format!("{base}/servers/{id}"), Some("compute 2.26"))
        .await;
    conforms(
        "nova/os-server-tags/v2.26/server-tags-show-details-resp.json",
        &r.body,
    );
    for (mv, rel) in [
        (
            "2.1",
            "nova/os-volume_attachments/list-volume-attachments-resp.json",
        ),
        (
            "2.70",
            "nova/os-volume_attachments/v2.70/list-volume-attachments-resp.json",
        ),
        (
            "2.79",
            "nova/os-volume_attachments/v2.79/list-volume-attachments-resp.json",
        ),
        (
            "2.89",
            "nova/os-volume_attachments/v2.89/list-volume-attachments-resp.json",
        ),
    ] {
        let r = c
            .get(
                &format!("{base}/servers/{id}/os-volume_attachments"),
                Some(&format!("compute {mv}")),
            )
            .await;
        conforms(rel, &r.body);
    }
    let vols = c.volumes_of(Site::A, &db).await;
    let r = c
        .get(
            &format!("{base}/servers/{id}/os-volume_attachments/{}", vols[1]),
            Some("compute 2.89"),
        )
        .await;
    conforms(
        "nova/os-volume_attachments/v2.89/volume-attachment-detail-resp.json",
        &r.body,
    );
    // Attach a new volume, then boot a server from a new bootable volume.
    let extra = c.new_volume(Site::A, 1, json!({})).await;
    let r = c
        .post(
            &format!("{base}/servers/{id}/os-volume_attachments"),
            Some("compute 2.89"),
            json!({"volumeAttachment": {"volumeId": extra}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    conforms(
        "nova/os-volume_attachments/v2.89/attach-volume-to-server-resp.json",
        &r.body,
    );
    let boot = c.new_volume(Site::A, 1, json!({})).await;
    let req = json!({"server": {"name": "conf-1", "flavorRef": "1", "networks": "none", "block_device_mapping_v2": [{"boot_index": 0, "uuid": boot, "source_type": "volume", "destination_type": "volume"}]}});
    let r = c
        .post(&format!("{base}/servers"), Some("compute 2.47"), req)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("nova/servers/v2.47/server-create-resp.json", &r.body);
    let boot2 = c.new_volume(Site::A, 1, json!({})).await;
    let mgmt = lifeboat_emulator::world::stable_id("site-a:net:mgmt");
    let req = json!({"server": {"name": "conf-2", "flavorRef": "1", "networks": [{"uuid": mgmt}], "block_device_mapping_v2": [{"boot_index": 0, "uuid": boot2, "source_type": "volume", "destination_type": "volume"}]}});
    let r = c
        .post(&format!("{base}/servers"), Some("compute 2.1"), req)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("nova/servers/server-create-resp.json", &r.body);
    let r = c
        .post(
            &format!("{base}/servers/{id}/action"),
            Some("compute 2.45"),
            json!({"createImage": {"name": "conf-img"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms(
        "nova/servers/v2.45/server-action-create-image-resp.json",
        &r.body,
    );
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cinder_and_glance_conform() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let mv = Some("volume 3.65");
    let r = c
        .http
        .get(c.h.site_url(Site::A) + "/volume/")
        .send()
        .await
        .expect("versions");
    conforms(
        "cinder/versions/versions-response.json",
        &r.json().await.expect("json"),
    );
    let r = c
        .http
        .get(c.h.site_url(Site::A) + "/volume/v3/")
        .send()
        .await
        .expect("version");
    conforms(
        "cinder/versions/version-show-response.json",
        &r.json().await.expect("json"),
    );
    let db = c.server_named(Site::A, "vims-db-1").await;
    let vols = c.volumes_of(Site::A, &db).await;
    let data = vols[1].clone();
    let r = c.get(&format!("{vb}/volumes/{data}"), mv).await;
    conforms("cinder/volumes/v3.65/volume-show-response.json", &r.body);
    let r = c.get(&format!("{vb}/volumes/detail"), mv).await;
    conforms(
        "cinder/volumes/v3.65/volumes-list-detailed-response.json",
        &r.body,
    );
    let r = c.get(&format!("{vb}/volumes"), mv).await;
    conforms("cinder/volumes/volumes-list-response.json", &r.body);
    let r = c
        .post(
            &format!("{vb}/volumes"),
            mv,
            json!({"volume": {"size": 1, "name": "conf"}}),
        )
        .await;
    conforms("cinder/volumes/v3.65/volume-create-response.json", &r.body);
    // Snapshot.
    let r = c
        .post(
            &format!("{vb}/snapshots"),
            mv,
            json!({"snapshot": {"volume_id": data, "name": "s", "force": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms(
        "cinder/snapshots/v3.65/snapshot-create-response.json",
        &r.body,
    );
    let sid = r.body["snapshot"]["id"].as_str().expect("id").to_string();
    let r = c
        .wait(
            &format!("{vb}/snapshots/{sid}"),
            mv,
            "/snapshot/status",
            "available",
        )
        .await;
    conforms("cinder/snapshots/v3.65/snapshot-show-response.json", &r);
    let r = c.get(&format!("{vb}/snapshots/detail"), mv).await;
    conforms(
        "cinder/snapshots/v3.65/snapshots-list-detailed-response.json",
        &r.body,
    );
    let r = c.get(&format!("{vb}/snapshots"), mv).await;
    conforms("cinder/snapshots/snapshots-list-response.json", &r.body);
    // Types.
    let r = c.get(&format!("{vb}/types"), mv).await;
    conforms(
        "cinder/volume_type/volume-types-list-response.json",
        &r.body,
    );
    let tid = r.body["volume_types"][0]["id"]
        .as_str()
        .expect("type")
        .to_string();
    let r = c.get(&format!("{vb}/types/{tid}"), mv).await;
    conforms("cinder/volume_type/volume-type-show-response.json", &r.body);
    let r = c.get(&format!("{vb}/group_types"), mv).await;
    conforms("cinder/group-types-list-response.json", &r.body);
    let gt = r.body["group_types"][0]["id"]
        .as_str()
        .expect("gt")
        .to_string();
    let r = c.get(&format!("{vb}/group_types/{gt}"), mv).await;
    conforms("cinder/group-type-show-response.json", &r.body);
    // Groups and group snapshots.
    let r = c
        .post(
            &format!("{vb}/groups"),
            mv,
            json!({"group": {"name": "g", "group_type": gt, "volume_types": ["standard"]}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("cinder/group-create-response.json", &r.body);
    let gid = r.body["group"]["id"].as_str().expect("gid").to_string();
    c.wait(
        &format!("{vb}/groups/{gid}"),
        mv,
        "/group/status",
        "available",
    )
    .await;
    let r = c
        .call(
            Method::PUT,
            &format!("{vb}/groups/{gid}"),
            mv,
            Some(json!({"group": {"add_volumes": vols.join(",")}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let r = c.get(&format!("{vb}/groups/{gid}"), mv).await;
    conforms("cinder/group-show-response.json", &r.body);
    let r = c.get(&format!("{vb}/groups/detail"), mv).await;
    conforms("cinder/groups-list-detailed-response.json", &r.body);
    let r = c.get(&format!("{vb}/groups"), mv).await;
    conforms("cinder/groups-list-response.json", &r.body);
    let r = c
        .post(
            &format!("{vb}/group_snapshots"),
            mv,
            json!({"group_snapshot": {"group_id": gid, "name": "gs"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("cinder/group-snapshots-create-response.json", &r.body);
    let gsid = r.body["group_snapshot"]["id"]
        .as_str()
        .expect("gs")
        .to_string();
    let r = c
        .wait(
            &format!("{vb}/group_snapshots/{gsid}"),
            mv,
            "/group_snapshot/status",
            "available",
        )
        .await;
    conforms("cinder/group-snapshots-show-response.json", &r);
    let r = c.get(&format!("{vb}/group_snapshots/detail"), mv).await;
    conforms(
        "cinder/group-snapshots-list-detailed-response.json",
        &r.body,
    );
    // Cinder names and describes each member after its group snapshot
    // (cinder/group/api.py): a list by that name finds the members.
    let r = c.get(&format!("{vb}/snapshots/detail?name=gs"), mv).await;
    let members = r.body["snapshots"].as_array().expect("snapshots");
    assert!(!members.is_empty(), "{}", r.text);
    assert!(
        members
            .iter()
            .all(|m| m["group_snapshot_id"] == gsid.as_str() && m["name"] == "gs"),
        "{}",
        r.text
    );
    let r = c.get(&format!("{vb}/group_snapshots"), mv).await;
    conforms("cinder/group-snapshots-list-response.json", &r.body);
    // Backups.
    let r = c.post(&format!("{vb}/backups"), Some("volume 3.56"), json!({"backup": {"volume_id": data, "name": "b", "force": true, "container": "lifeboat-backups"}})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("cinder/backups/backup-create-response.json", &r.body);
    let bid = r.body["backup"]["id"].as_str().expect("bid").to_string();
    let r = c
        .wait(
            &format!("{vb}/backups/{bid}"),
            Some("volume 3.56"),
            "/backup/status",
            "available",
        )
        .await;
    conforms("cinder/backups/v3.56/backup-show-response.json", &r);
    let r = c
        .get(
            &format!("{vb}/backups/detail?with_count=true"),
            Some("volume 3.56"),
        )
        .await;
    conforms(
        "cinder/backups/v3.56/backups-list-detailed-response.json",
        &r.body,
    );
    let r = c.get(&format!("{vb}/backups"), mv).await;
    conforms("cinder/backups/backups-list-response.json", &r.body);
    let r = c
        .get(&format!("{vb}/backups/{bid}"), Some("volume 3.9"))
        .await;
    conforms("cinder/backups/v3.9/backup-show-response.json", &r.body);
    let r = c
        .get(&format!("{vb}/backups/{bid}/export_record"), mv)
        .await;
    conforms("cinder/backup-record-export-response.json", &r.body);
    let r = c
        .post(
            &format!("{}/backups/import_record", c.volume(Site::B)),
            mv,
            json!({"backup-record": r.body["backup-record"].clone()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms("cinder/backup-record-import-response.json", &r.body);
    let r = c
        .post(
            &format!("{vb}/backups/{bid}/restore"),
            mv,
            json!({"restore": {"name": "restored"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("cinder/backup-restore-response.json", &r.body);
    // Manageable volumes (replicas of replicated volumes live at the other site).
    c.new_volume(Site::A, 1, json!({"volume_type": "replicated"}))
        .await;
    let r = c
        .get(
            &format!("{}/manageable_volumes/detail", c.volume(Site::B)),
            mv,
        )
        .await;
    assert!(
        !r.body["manageable-volumes"]
            .as_array()
            .map(|a| a.is_empty())
            .unwrap_or(true),
        "{}",
        r.text
    );
    conforms("cinder/volume-manage-list-detail-response.json", &r.body);
    // Glance: the image of a createImage.
    let r = c
        .post(
            &format!(
                "{}/servers/{}/action",
                c.compute(Site::A),
                db["id"].as_str().expect("id")
            ),
            Some("compute 2.45"),
            json!({"createImage": {"name": "img"}}),
        )
        .await;
    let iid = r.body["image_id"].as_str().expect("image id").to_string();
    let img = c
        .wait(
            &format!("{}/images/{iid}", c.image(Site::A)),
            None,
            "/status",
            "active",
        )
        .await;
    conforms("glance/image-show-response.json", &img);
    let r = c.get(&format!("{}/images", c.image(Site::A)), None).await;
    conforms("glance/images-list-response.json", &r.body);
    c.h.shutdown().await;
}

/// The endpoints the first three tests leave out: metadata sub-resources,
/// update answers, limits, services, availability zones, Keystone's catalog,
/// projects and regions, Glance create and patch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remaining_endpoints_conform() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let ks = c.h.keystone_url();
    // Keystone: token method, catalog, projects, regions.
    let body = json!({"auth": {"identity": {"methods": ["token"], "token": {"id": c.token}}, "scope": {"project": {"id": c.project}}}});
    let r = c
        .http
        .post(format!("{ks}/auth/tokens"))
        .json(&body)
        .send()
        .await
        .expect("token auth");
    assert_eq!(r.status(), StatusCode::CREATED);
    conforms(
        "keystone/auth/responses/project-scoped-token.json",
        &r.json().await.expect("json"),
    );
    for (path, rel) in [
        (
            "auth/catalog",
            "keystone/admin/get-service-catalog-response.json",
        ),
        (
            "auth/projects",
            "keystone/admin/get-available-project-scopes-response.json",
        ),
        ("regions", "keystone/admin/regions-list-response.json"),
    ] {
        let r = c
            .http
            .get(format!("{ks}/{path}"))
            .header("x-auth-token", &c.token)
            .send()
            .await
            .expect(path);
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        conforms(rel, &r.json().await.expect("json"));
    }
    // Nova: update, metadata writes, limits.
    let base = c.compute(Site::A);
    let id = c.server_named(Site::A, "vims-lb-1").await["id"]
        .as_str()
        .expect("id")
        .to_string();
    for (mv, rel) in [
        ("2.1", "nova/servers/server-update-resp.json"),
        ("2.71", "nova/servers/v2.71/server-update-resp.json"),
        ("2.73", "nova/servers/v2.73/server-update-resp.json"),
        ("2.90", "nova/servers/v2.90/server-update-resp.json"),
    ] {
        let r = c
            .call(
                Method::PUT,
                &format!("{base}/servers/{id}"),
                Some(&format!("compute {mv}")),
                Some(json!({"server": {"name": "vims-lb-1"}})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        conforms(rel, &r.body);
    }
    let r = c
        .post(
            &format!("{base}/servers/{id}/metadata"),
            None,
            json!({"metadata": {"foo": "Bar"}}),
        )
        .await;
    conforms(
        "nova/server-metadata/server-metadata-all-resp.json",
        &r.body,
    );
    let r = c
        .call(
            Method::PUT,
            &format!("{base}/servers/{id}/metadata/foo"),
            None,
            Some(json!({"meta": {"foo": "Baz"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    conforms("nova/server-metadata/server-metadata-resp.json", &r.body);
    let r = c.get(&format!("{base}/limits"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    conforms("nova/limits/limit-get-resp.json", &r.body);
    // Cinder: volume and snapshot metadata, updates, limits, services, zones, manageable list.
    let vb = c.volume(Site::A);
    let mv = Some("volume 3.65");
    let vol = c
        .new_volume(Site::A, 1, json!({"metadata": {"key": "v"}}))
        .await;
    let snap = c
        .post(
            &format!("{vb}/snapshots"),
            mv,
            json!({"snapshot": {"volume_id": vol, "name": "s"}}),
        )
        .await;
    let sid = snap.body["snapshot"]["id"]
        .as_str()
        .expect("snapshot")
        .to_string();
    c.wait(
        &format!("{vb}/snapshots/{sid}"),
        mv,
        "/snapshot/status",
        "available",
    )
    .await;
    for (kind, id, dir) in [
        ("volumes", &vol, "cinder/volumes/volume"),
        ("snapshots", &sid, "cinder/snapshots/snapshot"),
    ] {
        let url = format!("{vb}/{kind}/{id}/metadata");
        let r = c
            .post(&url, mv, json!({"metadata": {"key": "value"}}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{kind}: {}", r.text);
        conforms(&format!("{dir}-metadata-create-response.json"), &r.body);
        conforms(
            &format!("{dir}-metadata-show-response.json"),
            &c.get(&url, mv).await.body,
        );
        conforms(
            &format!("{dir}-metadata-show-key-response.json"),
            &c.get(&format!("{url}/key"), mv).await.body,
        );
        let r = c
            .call(
                Method::PUT,
                &url,
                mv,
                Some(json!({"metadata": {"key": "v2"}})),
            )
            .await;
        conforms(&format!("{dir}-metadata-update-response.json"), &r.body);
        let r = c
            .call(
                Method::PUT,
                &format!("{url}/key"),
                mv,
                Some(json!({"meta": {"key": "v3"}})),
            )
            .await;
        conforms(&format!("{dir}-metadata-update-key-response.json"), &r.body);
    }
    let r = c
        .call(
            Method::PUT,
            &format!("{vb}/volumes/{vol}"),
            mv,
            Some(json!({"volume": {"name": "vol-003", "description": "d"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    conforms("cinder/volumes/v3.65/volume-update-response.json", &r.body);
    let r = c
        .call(
            Method::PUT,
            &format!("{vb}/snapshots/{sid}"),
            mv,
            Some(json!({"snapshot": {"name": "snap-002", "description": "d"}})),
        )
        .await;
    conforms(
        "cinder/snapshots/v3.65/snapshot-update-response.json",
        &r.body,
    );
    for (path, rel) in [
        ("limits", "cinder/limits/limits-show-response.json"),
        ("os-services", "cinder/services-list-response.json"),
        (
            "os-availability-zone",
            "cinder/availability-zone-list-response.json",
        ),
    ] {
        let r = c.get(&format!("{vb}/{path}"), mv).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        conforms(rel, &r.body);
    }
    c.new_volume(Site::A, 1, json!({"volume_type": "replicated"}))
        .await;
    let t0 = std::time::Instant::now();
    loop {
        let r = c
            .get(&format!("{}/manageable_volumes", c.volume(Site::B)), mv)
            .await;
        if r.body["manageable-volumes"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
        {
            conforms("cinder/volume-manage-list-response.json", &r.body);
            break;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(10),
            "no replica became manageable: {}",
            r.text
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Glance: create, patch.
    let ib = c.image(Site::A);
    let r = c
        .post(
            &format!("{ib}/images"),
            None,
            json!({"name": "conf-img", "container_format": "bare", "disk_format": "raw"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms("glance/image-create-response.json", &r.body);
    let iid = r.body["id"].as_str().expect("image id").to_string();
    // The sample is of an active image: upload its data first (checksums and size appear).
    let r = c
        .http
        .put(format!("{ib}/images/{iid}/file"))
        .header("x-auth-token", &c.token)
        .header("content-type", "application/octet-stream")
        .body(vec![7u8; 4096])
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let patch = json!([{"op": "replace", "path": "/name", "value": "Fedora 17"}, {"op": "add", "path": "/hypervisor_type", "value": "kvm"}]);
    let r = c
        .http
        .patch(format!("{ib}/images/{iid}"))
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
    conforms(
        "glance/image-update-response.json",
        &r.json().await.expect("json"),
    );
    c.h.shutdown().await;
}

/// A sample with Cinder's `__DEFAULT__` volume type renamed to one the
/// emulator has (per-type quota names are `<name>_<volume type>`).
fn sample_for_type(rel: &str, vtype: &str) -> Value {
    let text = serde_json::to_string(&sample(rel)).expect("json");
    serde_json::from_str(&text.replace("___DEFAULT__", &format!("_{vtype}"))).expect("json")
}

fn conforms_to(s: &Value, rel: &str, live: &Value) {
    let mut errs = Vec::new();
    walk(s, live, "", &mut errs);
    assert!(
        errs.is_empty(),
        "{rel}:\n  {}\nlive: {live}",
        errs.join("\n  ")
    );
}

/// Quotas: Nova's limits at each microversion that changes them, Cinder's
/// quota set (plain, with usage, defaults) and its update answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_endpoints_conform() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let base = c.compute(Site::A);
    for (mv, rel, absent) in [
        ("2.1", "nova/limits/limit-get-resp.json", ""),
        (
            "2.36",
            "nova/limits/v2.36/limit-get-resp.json",
            "maxSecurityGroups",
        ),
        (
            "2.39",
            "nova/limits/v2.39/limit-get-resp.json",
            "maxImageMeta",
        ),
        (
            "2.57",
            "nova/limits/v2.57/limit-get-resp.json",
            "maxPersonality",
        ),
    ] {
        let r = c
            .get(&format!("{base}/limits"), Some(&format!("compute {mv}")))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        conforms(rel, &r.body);
        if !absent.is_empty() {
            assert!(
                r.body["limits"]["absolute"].get(absent).is_none(),
                "{mv}: {absent} is gone at this microversion: {}",
                r.body
            );
        }
        // Same keys as the sample, no more.
        let keys = |v: &Value| {
            v["limits"]["absolute"]
                .as_object()
                .map(|o| o.keys().cloned().collect::<std::collections::BTreeSet<_>>())
                .unwrap_or_default()
        };
        assert_eq!(keys(&r.body), keys(&sample(rel)), "{mv}");
    }
    let vb = c.volume(Site::A);
    let mv = Some("volume 3.65");
    let p = &c.project;
    for (path, rel) in [
        (
            format!("os-quota-sets/{p}"),
            "cinder/quota_sets/quotas-show-response.json",
        ),
        (
            format!("os-quota-sets/{p}?usage=true"),
            "cinder/quota_sets/quotas-show-usage-response.json",
        ),
        (
            format!("os-quota-sets/{p}/defaults"),
            "cinder/quota_sets/quotas-show-defaults-response.json",
        ),
    ] {
        let r = c.get(&format!("{vb}/{path}"), mv).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        conforms_to(&sample_for_type(rel, "standard"), rel, &r.body);
        assert_eq!(r.body["quota_set"]["id"], p.as_str());
    }
    // The update sample lowers `volumes` to 5: at site-b, which starts empty.
    let req = sample("cinder/quota_sets/quotas-update-request.json");
    let r = c
        .call(
            Method::PUT,
            &format!("{}/os-quota-sets/{p}", c.volume(Site::B)),
            mv,
            Some(req),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rel = "cinder/quota_sets/quotas-update-response.json";
    conforms_to(&sample_for_type(rel, "standard"), rel, &r.body);
    assert_eq!(
        (
            r.body["quota_set"]["groups"].as_i64(),
            r.body["quota_set"]["volumes"].as_i64(),
            r.body["quota_set"]["backups"].as_i64()
        ),
        (Some(11), Some(5), Some(4))
    );
    // The defaults sample's values are a real default project's.
    let d = c.get(&format!("{vb}/os-quota-sets/{p}/defaults"), mv).await;
    for k in [
        "volumes",
        "gigabytes",
        "snapshots",
        "backups",
        "backup_gigabytes",
        "groups",
        "per_volume_gigabytes",
    ] {
        assert_eq!(
            d.body["quota_set"][k],
            sample("cinder/quota_sets/quotas-show-defaults-response.json")["quota_set"][k],
            "{k}"
        );
    }
    c.h.shutdown().await;
}

/// Neutron's networks, subnets, ports, security groups and rules, floating
/// IPs and quotas; Nova's key pairs, server groups, interfaces and zones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networking_conforms() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let n = c.network(Site::A);
    let nova = c.compute(Site::A);
    let mgmt = lifeboat_emulator::world::stable_id("site-a:net:mgmt");
    let public = lifeboat_emulator::world::stable_id("site-a:net:public");
    let get = |p: String| {
        let c = &c;
        async move {
            let r = c.get(&p, None).await;
            assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.text);
            r.body
        }
    };
    conforms(
        "neutron/networks/network-show-response.json",
        &get(format!("{n}/networks/{mgmt}")).await,
    );
    conforms(
        "neutron/networks/networks-list-response.json",
        &get(format!("{n}/networks")).await,
    );
    let r = c
        .post(
            &format!("{n}/networks"),
            None,
            sample("neutron/networks/network-create-request.json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms("neutron/networks/network-create-response.json", &r.body);
    let net = r.body["network"]["id"].as_str().unwrap().to_string();
    let r = c.post(&format!("{n}/subnets"), None, json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "192.168.199.0/24", "name": "s"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms("neutron/subnets/subnet-create-response.json", &r.body);
    let sub = r.body["subnet"]["id"].as_str().unwrap().to_string();
    conforms(
        "neutron/subnets/subnet-show-response.json",
        &get(format!("{n}/subnets/{sub}")).await,
    );
    conforms(
        "neutron/subnets/subnets-list-response.json",
        &get(format!("{n}/subnets")).await,
    );
    let r = c.post(&format!("{n}/ports"), None, json!({"port": {"network_id": net, "name": "p", "allowed_address_pairs": [{"ip_address": "192.168.199.100"}]}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms("neutron/ports/port-create-response.json", &r.body);
    let port = r.body["port"]["id"].as_str().unwrap().to_string();
    conforms(
        "neutron/ports/port-show-response.json",
        &get(format!("{n}/ports/{port}")).await,
    );
    conforms(
        "neutron/ports/ports-list-response.json",
        &get(format!("{n}/ports")).await,
    );
    let r = c
        .call(
            Method::PUT,
            &format!("{n}/ports/{port}"),
            None,
            Some(json!({"port": {"name": "q"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    conforms("neutron/ports/port-update-response.json", &r.body);
    let r = c
        .post(
            &format!("{n}/security-groups"),
            None,
            sample("neutron/security-groups/security-group-create-request.json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms(
        "neutron/security-groups/security-group-create-response.json",
        &r.body,
    );
    let sg = r.body["security_group"]["id"].as_str().unwrap().to_string();
    conforms(
        "neutron/security-groups/security-group-show-response.json",
        &get(format!("{n}/security-groups/{sg}")).await,
    );
    conforms(
        "neutron/security-groups/security-groups-list-response.json",
        &get(format!("{n}/security-groups")).await,
    );
    let r = c.post(&format!("{n}/security-group-rules"), None, json!({"security_group_rule": {"security_group_id": sg, "direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "0.0.0.0/0"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms(
        "neutron/security-groups/security-group-rule-create-response.json",
        &r.body,
    );
    let rule = r.body["security_group_rule"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    conforms(
        "neutron/security-groups/security-group-rule-show-response.json",
        &get(format!("{n}/security-group-rules/{rule}")).await,
    );
    conforms(
        "neutron/security-groups/security-group-rules-list-response.json",
        &get(format!("{n}/security-group-rules")).await,
    );
    let mport = c
        .post(
            &format!("{n}/ports"),
            None,
            json!({"port": {"network_id": mgmt}}),
        )
        .await;
    let mport = mport.body["port"]["id"].as_str().unwrap().to_string();
    let r = c
        .post(
            &format!("{n}/floatingips"),
            None,
            json!({"floatingip": {"floating_network_id": public, "port_id": mport}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms(
        "neutron/floatingips/floatingip-create-response.json",
        &r.body,
    );
    let fip = r.body["floatingip"]["id"].as_str().unwrap().to_string();
    conforms(
        "neutron/floatingips/floatingip-show-response.json",
        &get(format!("{n}/floatingips/{fip}")).await,
    );
    conforms(
        "neutron/floatingips/floating-ips-list-response.json",
        &get(format!("{n}/floatingips")).await,
    );
    let r = c
        .call(
            Method::PUT,
            &format!("{n}/floatingips/{fip}"),
            None,
            Some(json!({"floatingip": {"port_id": null}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    conforms(
        "neutron/floatingips/floatingip-disassociate-response.json",
        &r.body,
    );
    conforms(
        "neutron/quotas/quotas-list-for-project-response.json",
        &get(format!("{n}/quotas/{}", c.project)).await,
    );
    // Nova: key pairs (2.92 import), server groups (2.64), interfaces (2.70), zones.
    let r = c
        .post(
            &format!("{nova}/os-keypairs"),
            Some("compute 2.92"),
            sample("nova/os-keypairs/v2.92/keypairs-import-post-req.json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    conforms(
        "nova/os-keypairs/v2.92/keypairs-import-post-resp.json",
        &r.body,
    );
    let r = c
        .get(&format!("{nova}/os-keypairs?limit=1"), Some("compute 2.35"))
        .await;
    conforms("nova/os-keypairs/v2.35/keypairs-list-resp.json", &r.body);
    let r = c
        .post(
            &format!("{nova}/os-server-groups"),
            Some("compute 2.64"),
            sample("nova/os-server-groups/v2.64/server-groups-post-req.json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    conforms(
        "nova/os-server-groups/v2.64/server-groups-post-resp.json",
        &r.body,
    );
    let g = r.body["server_group"]["id"].as_str().unwrap().to_string();
    let r = c
        .get(
            &format!("{nova}/os-server-groups/{g}"),
            Some("compute 2.64"),
        )
        .await;
    conforms(
        "nova/os-server-groups/v2.64/server-groups-get-resp.json",
        &r.body,
    );
    let r = c
        .get(&format!("{nova}/os-server-groups"), Some("compute 2.64"))
        .await;
    conforms(
        "nova/os-server-groups/v2.64/server-groups-list-resp.json",
        &r.body,
    );
    let srv = c.server_named(Site::A, "vims-lb-1").await;
    let id = srv["id"].as_str().unwrap();
    let r = c
        .get(
            &format!("{nova}/servers/{id}/os-interface"),
            Some("compute 2.70"),
        )
        .await;
    assert_eq!(r.body["interfaceAttachments"].as_array().unwrap().len(), 2);
    conforms(
        "nova/os-attach-interfaces/v2.70/attach-interfaces-list-resp.json",
        &r.body,
    );
    let pid = r.body["interfaceAttachments"][0]["port_id"]
        .as_str()
        .unwrap();
    let r = c
        .get(
            &format!("{nova}/servers/{id}/os-interface/{pid}"),
            Some("compute 2.70"),
        )
        .await;
    conforms(
        "nova/os-attach-interfaces/v2.70/attach-interfaces-show-resp.json",
        &r.body,
    );
    let r = c.get(&format!("{nova}/os-availability-zone"), None).await;
    conforms(
        "nova/os-availability-zone/availability-zone-list-resp.json",
        &r.body,
    );
}

#[tokio::test]
async fn designate_conforms() {
    if common::fixtures_or_skip().is_none() {
        return;
    }
    let c = Cloud::start().await;
    let d = c.dns(Site::B);
    let r = c
        .post(
            &format!("{d}/zones"),
            None,
            sample("designate/zones/create-zone-request.json"),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("designate/zones/zone-response.json", &r.body);
    let zone = r.body["id"].as_str().unwrap().to_string();
    let zurl = format!("{d}/zones/{zone}");
    let body = c.wait(&zurl, None, "/status", "ACTIVE").await;
    conforms("designate/zones/zone-response.json", &body);
    let r = c
        .post(
            &format!("{d}/zones"),
            None,
            json!({"name": "example.net.", "email": "joe@example.net"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    // Two zones, a page of one: `links.next` as the sample shows.
    let r = c.get(&format!("{d}/zones?limit=1"), None).await;
    conforms("designate/zones/list-zones-response.json", &r.body);
    let r = c
        .post(
            &format!("{zurl}/recordsets"),
            None,
            json!({"name": "www.example.org.", "type": "A", "ttl": 3600, "records": ["10.1.0.2"], "description": "This is an example record set."}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms(
        "designate/recordsets/create-recordset-response.json",
        &r.body,
    );
    let rs = r.body["id"].as_str().unwrap().to_string();
    let rurl = format!("{zurl}/recordsets/{rs}");
    let body = c.wait(&rurl, None, "/status", "ACTIVE").await;
    conforms("designate/recordsets/show-recordset-response.json", &body);
    let r = c
        .call(
            Method::PUT,
            &rurl,
            None,
            Some(sample("designate/recordsets/update-recordset-request.json")),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms(
        "designate/recordsets/update-recordset-response.json",
        &r.body,
    );
    let r = c.get(&format!("{d}/recordsets?limit=1"), None).await;
    conforms(
        "designate/recordsets/list-all-recordset-response.json",
        &r.body,
    );
    // The zone's own SOA and NS first, then the A recordset: a page of one.
    let r = c.get(&format!("{zurl}/recordsets?limit=1"), None).await;
    conforms(
        "designate/recordsets/list-recordset-in-zone-response.json",
        &r.body,
    );
    let r = c.call(Method::DELETE, &rurl, None, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms(
        "designate/recordsets/delete-recordset-response.json",
        &r.body,
    );
    let r = c
        .call(
            Method::PATCH,
            &zurl,
            None,
            Some(sample("designate/zones/update-zone-request.json")),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("designate/zones/update-zone-response.json", &r.body);
    let r = c.call(Method::DELETE, &zurl, None, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    conforms("designate/zones/delete-zone-response.json", &r.body);
}
