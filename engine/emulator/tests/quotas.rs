//! Quotas over HTTP: usage follows creates and deletes (Cinder `/limits`,
//! `os-quota-sets?usage=true`, Nova `/limits`, the admin view), creating
//! beyond a limit answers as the real services do (Cinder 413 `overLimit`,
//! Nova 403 `forbidden`) and creates nothing, limits are set by
//! `PUT /os-quota-sets`, the admin API and the topology YAML, and bad input
//! is refused without changing anything.

mod common;

use common::{Cloud, Resp};
use lifeboat_emulator::quota::{quotas_of, Quotas};
use lifeboat_emulator::{Site, Topology};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MV: Option<&str> = Some("volume 3.64");

async fn cinder_abs(c: &Cloud, site: Site) -> Value {
    let r = c.get(&format!("{}/limits", c.volume(site)), MV).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["limits"]["absolute"].clone()
}

async fn nova_abs(c: &Cloud, site: Site) -> Value {
    let r = c
        .get(&format!("{}/limits", c.compute(site)), Some("compute 2.57"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body["limits"]["absolute"].clone()
}

fn used(a: &Value) -> [u64; 5] {
    [
        "totalVolumesUsed",
        "totalGigabytesUsed",
        "totalSnapshotsUsed",
        "totalBackupsUsed",
        "totalBackupGigabytesUsed",
    ]
    .map(|k| a[k].as_u64().unwrap_or(u64::MAX))
}

async fn boot(c: &Cloud, site: Site, name: &str, flavor: &str, vol: &str) -> Resp {
    let body = json!({"server": {"name": name, "flavorRef": flavor, "networks": "none",
        "block_device_mapping_v2": [{"uuid": vol, "source_type": "volume", "destination_type": "volume", "boot_index": 0}]}});
    c.post(
        &format!("{}/servers", c.compute(site)),
        Some("compute 2.74"),
        body,
    )
    .await
}

/// Cinder's over-quota answer: 413, `overLimit` with code, message and
/// `retryAfter`, and a `Retry-After: 0` header.
fn assert_cinder_over(r: &Resp, message: &str) {
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"overLimit": {"code": 413, "message": message, "retryAfter": "0"}}),
        "{}",
        r.text
    );
    assert_eq!(
        r.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_follows_creates_and_deletes() {
    let c = Cloud::start().await;
    let vb = c.volume(Site::B);
    assert_eq!(used(&cinder_abs(&c, Site::B).await), [0, 0, 0, 0, 0]);
    // The seeded VNF at site-a: 12 volumes, 180 GB; 6 servers of 2×4 + 2×2 + 2×1 cores.
    assert_eq!(used(&cinder_abs(&c, Site::A).await), [12, 180, 0, 0, 0]);
    let n = nova_abs(&c, Site::A).await;
    assert_eq!(
        (
            n["totalInstancesUsed"].as_u64(),
            n["totalCoresUsed"].as_u64(),
            n["totalRAMUsed"].as_u64()
        ),
        (Some(6), Some(14), Some(2 * 8192 + 2 * 4096 + 2 * 2048))
    );
    // Server groups: the seeded VNF's three (one per role), of the (roomy)
    // quota.
    assert_eq!(
        (
            n["totalServerGroupsUsed"].as_u64(),
            n["maxServerGroups"].as_u64()
        ),
        (Some(3), Some(100))
    );
    let nb = nova_abs(&c, Site::B).await;
    assert_eq!(nb["totalServerGroupsUsed"].as_u64(), Some(0));
    let r = c
        .post(
            &format!("{}/os-server-groups", c.compute(Site::B)),
            Some("compute 2.64"),
            json!({"server_group": {"name": "g", "policy": "anti-affinity"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        nova_abs(&c, Site::B).await["totalServerGroupsUsed"].as_u64(),
        Some(1)
    );

    let vol = c.new_volume(Site::B, 3, json!({})).await;
    assert_eq!(used(&cinder_abs(&c, Site::B).await), [1, 3, 0, 0, 0]);
    let r = c
        .post(
            &format!("{vb}/snapshots"),
            MV,
            json!({"snapshot": {"volume_id": vol, "name": "s"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let sid = r.body["snapshot"]["id"].as_str().unwrap().to_string();
    c.wait(
        &format!("{vb}/snapshots/{sid}"),
        MV,
        "/snapshot/status",
        "available",
    )
    .await;
    // Snapshots count in `gigabytes`, as Cinder does by default.
    assert_eq!(used(&cinder_abs(&c, Site::B).await), [1, 6, 1, 0, 0]);
    let r = c
        .post(
            &format!("{vb}/backups"),
            MV,
            json!({"backup": {"volume_id": vol, "name": "b"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let bid = r.body["backup"]["id"].as_str().unwrap().to_string();
    c.wait(
        &format!("{vb}/backups/{bid}"),
        MV,
        "/backup/status",
        "available",
    )
    .await;
    assert_eq!(used(&cinder_abs(&c, Site::B).await), [1, 6, 1, 1, 3]);
    // The quota set with usage says the same, per volume type too.
    let q = c
        .get(&format!("{vb}/os-quota-sets/{}?usage=true", c.project), MV)
        .await
        .body["quota_set"]
        .clone();
    assert_eq!(q["volumes"]["in_use"], 1);
    assert_eq!(q["gigabytes"]["in_use"], 6);
    assert_eq!(q["snapshots"]["in_use"], 1);
    assert_eq!(q["backups"]["in_use"], 1);
    assert_eq!(q["backup_gigabytes"]["in_use"], 3);
    assert_eq!(q["volumes_standard"]["in_use"], 1);
    assert_eq!(q["gigabytes_standard"]["in_use"], 6);
    assert_eq!(q["volumes_replicated"]["in_use"], 0);
    // And the admin view.
    let a = c
        .admin(Method::GET, "/_emulator/sites/site-b/quotas", None)
        .await;
    assert_eq!(
        a.body["quotas"]["volumes"],
        json!({"limit": 1000, "in_use": 1}),
        "{}",
        a.text
    );

    // Nova: a server at site-b counts; deleting it frees it.
    let bootvol = c.new_volume(Site::B, 1, json!({})).await;
    let r = boot(&c, Site::B, "q-1", "2", &bootvol).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let srv = r.body["server"]["id"].as_str().unwrap().to_string();
    let n = nova_abs(&c, Site::B).await;
    assert_eq!(
        (
            n["totalInstancesUsed"].as_u64(),
            n["totalCoresUsed"].as_u64(),
            n["totalRAMUsed"].as_u64()
        ),
        (Some(1), Some(2), Some(4096))
    );
    let r = c
        .call(
            Method::DELETE,
            &format!("{}/servers/{srv}", c.compute(Site::B)),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    c.wait_gone(&format!("{}/servers/{srv}", c.compute(Site::B)), None)
        .await;
    assert_eq!(nova_abs(&c, Site::B).await["totalInstancesUsed"], 0);

    // Deletes free the block storage.
    for (kind, id) in [
        ("backups", &bid),
        ("snapshots", &sid),
        ("volumes", &vol),
        ("volumes", &bootvol),
    ] {
        let url = format!("{vb}/{kind}/{id}");
        c.wait(
            &url,
            MV,
            &format!("/{}/status", kind.trim_end_matches('s')),
            "available",
        )
        .await;
        let r = c.call(Method::DELETE, &url, MV, None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{kind}: {}", r.text);
        c.wait_gone(&url, MV).await;
    }
    assert_eq!(used(&cinder_abs(&c, Site::B).await), [0, 0, 0, 0, 0]);
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_beyond_quota_answers_like_cinder_and_nova_and_creates_nothing() {
    let c = Cloud::start().await;
    let vb = c.volume(Site::B);
    let p = c.project.clone();
    let put = |body: Value| {
        let url = format!("{vb}/os-quota-sets/{p}");
        let c = &c;
        async move { c.call(Method::PUT, &url, MV, Some(body)).await }
    };
    let r = put(json!({"quota_set": {"volumes": 2, "gigabytes": 10, "snapshots": 1, "backups": 1, "groups": 0}})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v1 = c.new_volume(Site::B, 4, json!({})).await;
    c.new_volume(Site::B, 4, json!({})).await;
    let create = |size: u64| {
        let url = format!("{vb}/volumes");
        let c = &c;
        async move {
            c.post(&url, MV, json!({"volume": {"size": size, "name": "over"}}))
                .await
        }
    };
    // The count alone is over.
    assert_cinder_over(
        &create(1).await,
        "VolumeLimitExceeded: Maximum number of volumes allowed (2) exceeded for quota 'volumes'.",
    );
    // Count and gigabytes both over: Cinder reports the first name in sorted order, gigabytes.
    assert_cinder_over(&create(3).await, "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 10G and 8G has been consumed.");
    assert_eq!(
        used(&cinder_abs(&c, Site::B).await)[0],
        2,
        "nothing was created"
    );
    // Raise the count through the admin API; now gigabytes bite.
    let a = c
        .admin(
            Method::PUT,
            "/_emulator/sites/site-b/quotas",
            Some(json!({"volumes": 5})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["quotas"]["volumes"]["limit"], 5);
    assert_cinder_over(&create(3).await, "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 10G and 8G has been consumed.");
    // A snapshot needs gigabytes too.
    let (snap_url, backup_url) = (format!("{vb}/snapshots"), format!("{vb}/backups"));
    let snap = || {
        c.post(
            &snap_url,
            MV,
            json!({"snapshot": {"volume_id": v1, "name": "s"}}),
        )
    };
    assert_cinder_over(&snap().await, "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested 4G, quota is 10G and 8G has been consumed.");
    assert_eq!(
        put(json!({"quota_set": {"gigabytes": 100}})).await.status,
        StatusCode::OK
    );
    let r = snap().await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_cinder_over(
        &snap().await,
        "SnapshotLimitExceeded: Maximum number of snapshots allowed (1) exceeded",
    );
    assert_eq!(used(&cinder_abs(&c, Site::B).await)[2], 1);
    // Backups: count, then backup gigabytes.
    let backup = || {
        c.post(
            &backup_url,
            MV,
            json!({"backup": {"volume_id": v1, "name": "b"}}),
        )
    };
    let r = backup().await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let bid = r.body["backup"]["id"].as_str().unwrap().to_string();
    c.wait(
        &format!("{vb}/backups/{bid}"),
        MV,
        "/backup/status",
        "available",
    )
    .await;
    assert_cinder_over(
        &backup().await,
        "BackupLimitExceeded: Maximum number of backups allowed (1) exceeded",
    );
    assert_eq!(
        put(json!({"quota_set": {"backups": 5, "backup_gigabytes": 6}}))
            .await
            .status,
        StatusCode::OK
    );
    assert_cinder_over(&backup().await, "VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup gigabytes quota. Requested 4G, quota is 6G and 4G has been consumed.");
    assert_eq!(used(&cinder_abs(&c, Site::B).await)[3], 1);
    // Groups.
    let r = c.post(&format!("{vb}/groups"), Some("volume 3.13"), json!({"group": {"name": "g", "group_type": "consistent", "volume_types": ["standard"]}})).await;
    assert_cinder_over(
        &r,
        "GroupLimitExceeded: Maximum number of groups allowed (0) exceeded",
    );
    // Per-volume size.
    assert_eq!(
        put(json!({"quota_set": {"per_volume_gigabytes": 5}}))
            .await
            .status,
        StatusCode::OK
    );
    assert_cinder_over(
        &create(6).await,
        "VolumeSizeExceedsLimit: Requested volume size 6G is larger than maximum allowed limit 5G.",
    );

    // Nova: 403 forbidden naming what is over, nothing booted.
    let vol = c.new_volume(Site::B, 1, json!({})).await;
    c.h.set_quotas(Site::B, &[("instances", 0)]).unwrap();
    let r = boot(&c, Site::B, "q-1", "1", &vol).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 0 of 0 instances"}})
    );
    c.h.set_quotas(Site::B, &[("instances", 10), ("cores", 3), ("ram", 4096)])
        .unwrap();
    let r = boot(&c, Site::B, "q-1", "3", &vol).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["forbidden"]["message"], "Quota exceeded for cores, ram: Requested 4, 8192, but already used 0, 0 of 3, 4096 cores, ram");
    // Several names over: sorted, as Nova reports them.
    c.h.set_quotas(Site::B, &[("instances", 0), ("cores", 3), ("ram", -1)])
        .unwrap();
    let r = boot(&c, Site::B, "q-1", "3", &vol).await;
    assert_eq!(r.body["forbidden"]["message"], "Quota exceeded for cores, instances: Requested 4, 1, but already used 0, 0 of 3, 0 cores, instances", "{}", r.text);
    c.h.set_quotas(Site::B, &[("instances", 10), ("cores", 3), ("ram", 4096)])
        .unwrap();
    assert!(c.servers(Site::B, "").await.is_empty());
    let r = boot(&c, Site::B, "q-1", "1", &vol).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "within quota: {}", r.text);
    c.h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_quota_changes_are_refused_and_change_nothing() {
    let c = Cloud::start().await;
    let vb = c.volume(Site::A);
    let url = format!("{vb}/os-quota-sets/{}", c.project);
    let before = c.get(&url, MV).await.body;
    for (body, says) in [
        (json!({"quota_set": {"volumes": 3}}), "Quota volumes limit must be equal or greater than existing resources. Current usage is 12 and the requested limit is 3."),
        (json!({"quota_set": {"volumes": 50, "floppies": 1}}), "Bad key(s) in quota set: floppies"),
        (json!({"quota_set": {"volumes": 50, "gigabytes": -5}}), "must be an integer -1 or greater"),
        (json!({"quota_set": {"volumes": "many"}}), "must be an integer -1 or greater"),
        (json!({"quota_set": {"cores": 5}}), "Bad key(s) in quota set: cores"),
        (json!({"volumes": 50}), "'quota_set' is a required property"),
    ] {
        let r = c.call(Method::PUT, &url, MV, Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(r.body["badRequest"]["message"].as_str().unwrap_or("").contains(says), "{body}: {}", r.text);
        assert_eq!(c.get(&url, MV).await.body, before, "{body} changed nothing");
    }
    // -1 is unlimited.
    let r = c
        .call(
            Method::PUT,
            &url,
            MV,
            Some(json!({"quota_set": {"volumes": -1}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(cinder_abs(&c, Site::A).await["maxTotalVolumes"], -1);
    // The admin API refuses the same way.
    let before = c
        .admin(Method::GET, "/_emulator/sites/site-a/quotas", None)
        .await
        .body;
    for body in [
        json!({"instances": -3}),
        json!({"volumes": 4, "warp": 1}),
        json!([1]),
    ] {
        let r = c
            .admin(
                Method::PUT,
                "/_emulator/sites/site-a/quotas",
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(
            c.admin(Method::GET, "/_emulator/sites/site-a/quotas", None)
                .await
                .body,
            before
        );
    }
    assert_eq!(
        c.admin(Method::GET, "/_emulator/sites/site-z/quotas", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(c.h.set_quotas(Site::A, &[("volumes", -2)]).is_err());
    c.h.shutdown().await;
}

#[test]
fn the_topology_yaml_sets_quotas_per_site_with_real_defaults() {
    let base = "project: ops\nusers: [{name: operator, password: pw}]\n";
    // Nothing said: a real default project.
    let t = Topology::from_yaml_str(base).unwrap();
    let w = t.seed();
    assert_eq!(
        quotas_of(w.site(Site::B), &t.project_id()),
        Quotas::default()
    );
    let d = Quotas::default();
    assert_eq!(
        (
            d.volumes,
            d.gigabytes,
            d.snapshots,
            d.backups,
            d.backup_gigabytes,
            d.groups,
            d.instances,
            d.cores,
            d.ram
        ),
        (10, 1000, 10, 10, 1000, 10, 10, 20, 51200)
    );
    // Project-wide limits, and a per-site change.
    let y = format!("{base}quotas: {{volumes: 40, cores: 64}}\nsite_quotas:\n  site-b: {{volumes: 3, instances: 2}}\n");
    let t = Topology::from_yaml_str(&y).unwrap();
    let w = t.seed();
    let (a, b) = (
        quotas_of(w.site(Site::A), &t.project_id()),
        quotas_of(w.site(Site::B), &t.project_id()),
    );
    assert_eq!(
        (a.volumes, a.cores, a.instances, a.gigabytes),
        (40, 64, 10, 1000)
    );
    assert_eq!(
        (b.volumes, b.cores, b.instances, b.gigabytes),
        (3, 64, 2, 1000)
    );
    // A round trip keeps them.
    assert_eq!(Topology::from_yaml_str(&t.to_yaml()).unwrap(), t);
    // Bad input is a clear topology error.
    for (bad, says) in [
        (format!("{base}quotas: {{volumes: -4}}\n"), "volumes"),
        (format!("{base}quotas: {{floppies: 1}}\n"), "floppies"),
        (
            format!("{base}site_quotas: {{site-c: {{volumes: 1}}}}\n"),
            "site-c",
        ),
        (
            format!("{base}site_quotas: {{site-b: {{volumes: x}}}}\n"),
            "volumes",
        ),
    ] {
        let e = Topology::from_yaml_str(&bad).unwrap_err().to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
    // The demo and generated fleets have room for themselves and a restore.
    let g = Topology::generate(20, 10);
    let room = |limit: i64, need: i64| limit < 0 || limit >= need;
    assert!(
        room(g.quotas.volumes, 4 * 400) && room(g.quotas.instances, 2 * 200),
        "{:?}",
        g.quotas
    );
}
