//! Option 1 by hand, through the `Actions` trait, against the emulator:
//! protect at site-a (find servers, volumes, group, pause in order, group
//! snapshot, unpause, temporary volumes, incremental backups, export, manifest
//! to site-b), then with site-a down recover at site-b (read manifest,
//! import, restore, boot by priority, attach) and check the restored content
//! equals the snapshots'.

mod common;

use common::{keys, s, Env};
use lifeboat_emulator::Site;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option1_protect_then_recover_with_site_a_down() {
    let env = Env::start().await;

    // ---- protect at site-a ----
    let servers = env
        .run(
            "nova.find_servers",
            "servers",
            json!({"site": "site-a", "tag": "vims"}),
        )
        .await;
    let servers_l = servers.as_array().unwrap().clone();
    assert_eq!(servers_l.len(), 6);
    assert_eq!(
        keys(&servers_l[0]),
        [
            "id",
            "name",
            "site",
            "status",
            "role",
            "priority",
            "flavor",
            "networks",
            "tags",
            "volumes",
            "key_name",
            "availability_zone",
            "macs"
        ]
    );
    assert!(
        servers_l
            .iter()
            .all(|s| s["macs"].as_array().is_some_and(|m| !m.is_empty())),
        "each server's MACs: {servers_l:?}"
    );
    assert!(servers_l
        .iter()
        .all(|s| s["volumes"].as_array().unwrap().len() == 2));

    let volumes = env
        .run("cinder.volumes_of", "volumes", json!({"servers": servers}))
        .await;
    let vols = volumes.as_array().unwrap().clone();
    assert_eq!(vols.len(), 12);
    assert!(
        vols[..6]
            .iter()
            .all(|v| v["bootable"] == json!(true) && s(v, "device") == "/dev/vda"),
        "boot volumes first: {vols:?}"
    );
    assert!(vols.iter().all(|v| s(v, "origin").is_empty()));

    let group = env
        .run(
            "cinder.ensure_group",
            "group",
            json!({"site": "site-a", "name": "vims", "volumes": volumes, "group_type": ""}),
        )
        .await;
    assert_eq!(group["volume_ids"].as_array().unwrap().len(), 12);
    assert!(s(&group, "name").starts_with("lb-"));
    // Reused when it exists.
    let again = env
        .run(
            "cinder.ensure_group",
            "group",
            json!({"site": "site-a", "name": "vims", "volumes": volumes}),
        )
        .await;
    assert_eq!(again["id"], group["id"]);

    let order = ["db", "app", "lb"];
    let mut ordered: Vec<Value> = Vec::new();
    for role in order {
        ordered.extend(
            servers_l
                .iter()
                .filter(|s| s["role"] == json!(role))
                .cloned(),
        );
    }
    for (i, srv) in ordered.iter().enumerate() {
        let p = env
            .run("nova.pause", &format!("pause[{i}]"), json!({"server": srv}))
            .await;
        assert_eq!(s(&p, "status"), "PAUSED");
    }
    let gs = env
        .run(
            "cinder.create_group_snapshot",
            "snap",
            json!({"group": group, "name": "vims"}),
        )
        .await;
    for (i, srv) in ordered.iter().enumerate().rev() {
        let p = env
            .run(
                "nova.unpause",
                &format!("unpause[{i}]"),
                json!({"server": srv}),
            )
            .await;
        assert_eq!(s(&p, "status"), "ACTIVE");
    }
    let snaps = gs["snapshots"].as_array().unwrap().clone();
    assert_eq!(snaps.len(), 12);
    let vol_ids: Vec<&str> = vols.iter().map(|v| s(v, "id")).collect();
    assert!(
        snaps.iter().all(|sn| vol_ids.contains(&s(sn, "origin"))),
        "snapshots carry their production origin"
    );
    // The snapshot of each production volume, by content.
    let mut snap_sums: BTreeMap<String, String> = BTreeMap::new();
    for sn in &snaps {
        snap_sums.insert(
            s(sn, "origin").to_string(),
            env.emu
                .snapshot_checksum(Site::A, s(sn, "id"))
                .expect("snapshot checksum"),
        );
    }

    let mut backups = Vec::new();
    let mut records = Vec::new();
    for (i, sn) in snaps.iter().enumerate() {
        let tmp = env
            .run(
                "cinder.volume_from_snapshot",
                &format!("tmp[{i}]"),
                json!({"snapshot": sn, "name": "tmp"}),
            )
            .await;
        assert_eq!(s(&tmp, "origin"), s(sn, "origin"));
        assert!(s(&tmp, "name").starts_with("lb-r1-tmp-"));
        let b = env.run("cinder.backup", &format!("b[{i}]"), json!({"volume": tmp, "name": "bk", "incremental": true, "container": "lifeboat-backups"})).await;
        assert_eq!(s(&b, "status"), "available");
        assert_eq!(s(&b, "origin"), s(sn, "origin"));
        assert!(b["bytes_moved"].as_i64().unwrap() > 0);
        let r = env
            .run(
                "cinder.export_backup",
                &format!("rec[{i}]"),
                json!({"backup": b}),
            )
            .await;
        assert_eq!(keys(&r), ["backup_service", "backup_url"]);
        backups.push(b);
        records.push(r);
    }
    let manifest = env
        .run(
            "lifeboat.write_manifest",
            "manifest",
            json!({"site": "site-b", "vnf": "vims", "option": "1", "source": "site-a", "servers": servers, "volumes": volumes, "backups": backups, "records": records, "snapshot_time": s(&gs, "created_at")}),
        )
        .await;
    assert_eq!(manifest["version"], json!(2));
    assert_eq!(
        keys(&manifest),
        [
            "version",
            "vnf",
            "option",
            "run_id",
            "snapshot_time",
            "source_site",
            "servers",
            "volumes",
            "boot_groups",
            "containers",
            "network"
        ]
    );
    assert_eq!(
        manifest["containers"],
        json!([]),
        "option 1 syncs no container"
    );
    let prios: Vec<i64> = manifest["boot_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["priority"].as_i64().unwrap())
        .collect();
    assert_eq!(prios, vec![1, 2, 3]);

    // ---- site-a is gone; recover at site-b ----
    env.emu.set_site_down(Site::A, true);
    let m = env
        .run(
            "lifeboat.read_manifest",
            "read",
            json!({"site": "site-b", "vnf": "vims"}),
        )
        .await;
    assert_eq!(m, manifest, "the manifest reads back as written");

    let mut restored = Vec::new();
    for (i, mv) in m["volumes"].as_array().unwrap().iter().enumerate() {
        let b = env
            .run(
                "cinder.import_backup",
                &format!("imp[{i}]"),
                json!({"site": "site-b", "record": mv["record"]}),
            )
            .await;
        assert_eq!(s(&b, "site"), "site-b");
        let v = env
            .run(
                "cinder.restore_backup",
                &format!("rst[{i}]"),
                json!({"backup": b, "name": mv["name"]}),
            )
            .await;
        assert_eq!(
            s(&v, "origin"),
            s(mv, "id"),
            "restored volume keeps its provenance"
        );
        let got = env.emu.volume_checksum(Site::B, s(&v, "id")).unwrap();
        assert_eq!(
            &got,
            snap_sums.get(s(mv, "id")).unwrap(),
            "restored content of {} equals its snapshot",
            s(mv, "name")
        );
        restored.push(v);
    }
    let restored_v = Value::Array(restored.clone());
    // Paused in order and snapshotted at one instant: the restored volumes
    // satisfy the workload's write-order invariant (crash-consistent VNF).
    let restored_ids: Vec<&str> = restored.iter().map(|v| s(v, "id")).collect();
    let (ok, detail) = env.emu.check_invariant(Site::B, &restored_ids);
    assert!(ok, "restored volumes are consistent: {detail}");
    // Before any guest writes: content equals the backups recorded in the manifest.
    let ver = env
        .run(
            "lifeboat.verify",
            "verify-volumes",
            json!({"manifest": m, "volumes": restored_v}),
        )
        .await;
    assert_eq!(ver["ok"], json!(true), "{ver}");
    assert_eq!(ver["checked"], json!(12));
    assert_eq!(
        s(&ver, "detail").matches("content matches").count(),
        12,
        "{ver}"
    );

    let mut booted = Vec::new();
    for g in m["boot_groups"].as_array().unwrap() {
        for ms in g["servers"].as_array().unwrap() {
            let bootv = env
                .run(
                    "lifeboat.volume_for",
                    &format!("bv-{}", s(ms, "name")),
                    json!({"volumes": restored_v, "source": ms["boot_volume"]}),
                )
                .await;
            let srv = env
                .run(
                    "nova.boot_from_volume",
                    &format!("boot-{}", s(ms, "name")),
                    json!({"site": "site-b", "name": ms["name"], "flavor": ms["flavor"], "volume": bootv, "networks": ms["networks"], "role": ms["role"], "priority": ms["priority"]}),
                )
                .await;
            assert_eq!(s(&srv, "status"), "ACTIVE");
            assert_eq!(s(&srv, "role"), s(ms, "role"));
            for (j, dv) in ms["data_volumes"].as_array().unwrap().iter().enumerate() {
                let v = env
                    .run(
                        "lifeboat.volume_for",
                        &format!("dv-{}-{j}", s(ms, "name")),
                        json!({"volumes": restored_v, "source": dv}),
                    )
                    .await;
                let att = env
                    .run(
                        "nova.attach_volume",
                        &format!("att-{}-{j}", s(ms, "name")),
                        json!({"server": srv, "volume": v}),
                    )
                    .await;
                assert_eq!(
                    keys(&att),
                    ["id", "server_id", "volume_id", "device", "site"]
                );
                assert_eq!(s(&att, "volume_id"), s(&v, "id"));
            }
            booted.push(srv);
        }
    }
    let ver = env
        .run(
            "lifeboat.verify",
            "verify",
            json!({"manifest": m, "volumes": restored_v, "servers": booted}),
        )
        .await;
    assert_eq!(ver["ok"], json!(true), "{ver}");
    assert_eq!(ver["checked"], json!(18));
    assert!(
        s(&ver, "detail").contains("in use, content not compared"),
        "{ver}"
    );
    env.emu.shutdown().await;
}
