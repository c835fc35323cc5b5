//! Option 1 by hand, through the `Actions` trait, against REAL OpenStack
//! (tests/real-openstack/up.sh): protect the seeded `vims` VNF at site-a
//! (find servers by tag, volumes, consistency group, pause in order, group
//! snapshot, unpause, temporary volumes, backups to the shared store, export,
//! manifest to Swift at site-b), then stop every site-a service
//! (site-down.sh) and recover at site-b (read manifest, import, restore, boot
//! by priority, attach). Every restored volume is compared byte for byte with
//! its group snapshot, reading the file-backed driver's files at both sites.
//!
//! This test takes site-a down: once per stack. The other tests of this
//! target use site-b only, so their order does not matter.

use crate::support::{keys, s, stack_or_skip};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option1_protect_at_site_a_then_recover_at_site_b_with_site_a_down() {
    let Some(stack) = stack_or_skip().await else { return };
    let env = stack.actions();
    let t0 = std::time::Instant::now();

    // ---- protect at site-a ----
    let servers = env.run("nova.find_servers", "servers", json!({"site": "site-a", "tag": "vims"})).await;
    let servers_l = servers.as_array().unwrap().clone();
    assert_eq!(servers_l.len(), 3, "{servers}");
    assert_eq!(keys(&servers_l[0]), ["id", "name", "site", "status", "role", "priority", "flavor", "networks", "tags", "volumes"]);
    let names: Vec<&str> = servers_l.iter().map(|v| s(v, "name")).collect();
    assert_eq!(names, ["vims-db-1", "vims-app-1", "vims-lb-1"], "sorted by priority");
    assert_eq!(servers_l.iter().map(|v| v["priority"].as_i64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(servers_l.iter().all(|v| v["volumes"].as_array().unwrap().len() == 2), "{servers}");
    assert!(servers_l.iter().all(|v| s(v, "flavor") == "m1.small"), "{servers}");

    let volumes = env.run("cinder.volumes_of", "volumes", json!({"servers": servers})).await;
    let vols = volumes.as_array().unwrap().clone();
    assert_eq!(vols.len(), 6);
    let seed = stack.seed();
    for v in &vols {
        let name = s(v, "name");
        assert_eq!(seed.get(name).map(String::as_str), Some(s(v, "id")), "volume {name} is the seeded one");
    }
    // Boot volumes first, on the root device. Nova's fake driver names disks
    // sdX (libvirt, and the emulator, vdX): accept either.
    assert!(vols[..3].iter().all(|v| v["bootable"] == json!(true) && ["/dev/vda", "/dev/sda"].contains(&s(v, "device"))), "boot volumes first: {vols:?}");
    assert!(vols[3..].iter().all(|v| v["bootable"] == json!(false) && ["/dev/vdb", "/dev/sdb"].contains(&s(v, "device"))), "then data volumes: {vols:?}");

    let group = env.run("cinder.ensure_group", "group", json!({"site": "site-a", "name": "vims", "volumes": volumes, "group_type": ""})).await;
    assert_eq!(group["volume_ids"].as_array().unwrap().len(), 6, "{group}");
    let again = env.run("cinder.ensure_group", "group", json!({"site": "site-a", "name": "vims", "volumes": volumes})).await;
    assert_eq!(again["id"], group["id"], "the group is reused");

    for (i, srv) in servers_l.iter().enumerate() {
        let p = env.run("nova.pause", &format!("pause[{i}]"), json!({"server": srv})).await;
        assert_eq!(s(&p, "status"), "PAUSED");
    }
    let gs = env.run("cinder.create_group_snapshot", "snap", json!({"group": group, "name": "vims"})).await;
    for (i, srv) in servers_l.iter().enumerate().rev() {
        let p = env.run("nova.unpause", &format!("unpause[{i}]"), json!({"server": srv})).await;
        assert_eq!(s(&p, "status"), "ACTIVE");
    }
    let snaps = gs["snapshots"].as_array().unwrap().clone();
    assert_eq!(snaps.len(), 6, "{gs}");
    // The workload writes on after the snapshot: what is restored must be the
    // snapshot, not the live volume.
    let mut snap_of: BTreeMap<String, String> = BTreeMap::new();
    for sn in &snaps {
        let origin = s(sn, "origin").to_string();
        assert!(vols.iter().any(|v| s(v, "id") == origin), "snapshot {sn} carries its production origin");
        snap_of.insert(origin.clone(), s(sn, "id").to_string());
        stack.write_after_snapshot("site-a", &origin);
        assert!(!stack.same_first_page(("site-a", &format!("snapshot-{}", s(sn, "id"))), ("site-a", &format!("volume-{origin}"))), "the live volume moved on after the snapshot");
    }

    let mut backups = Vec::new();
    let mut records = Vec::new();
    for (i, sn) in snaps.iter().enumerate() {
        let tmp = env.run("cinder.volume_from_snapshot", &format!("tmp[{i}]"), json!({"snapshot": sn, "name": "tmp"})).await;
        assert_eq!(s(&tmp, "origin"), s(sn, "origin"));
        let b = env.run("cinder.backup", &format!("b[{i}]"), json!({"volume": tmp, "name": "bk", "incremental": true, "container": "lifeboat-backups"})).await;
        assert_eq!(s(&b, "status"), "available");
        assert_eq!(s(&b, "origin"), s(sn, "origin"));
        assert!(b["bytes_moved"].as_i64().unwrap() > 0, "{b}");
        let r = env.run("cinder.export_backup", &format!("rec[{i}]"), json!({"backup": b})).await;
        assert_eq!(keys(&r), ["backup_service", "backup_url"]);
        assert_eq!(s(&r, "backup_service"), "cinder.backup.drivers.posix.PosixBackupDriver");
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
    assert_eq!(keys(&manifest), ["version", "vnf", "option", "run_id", "snapshot_time", "source_site", "servers", "volumes", "boot_groups"]);
    let prios: Vec<i64> = manifest["boot_groups"].as_array().unwrap().iter().map(|g| g["priority"].as_i64().unwrap()).collect();
    assert_eq!(prios, vec![1, 2, 3]);
    eprintln!("protect at site-a took {:.1}s", t0.elapsed().as_secs_f64());

    // ---- site-a is gone: every one of its services is stopped ----
    stack.site_down("site-a");
    let gone = env.try_run("nova.find_servers", "gone", json!({"site": "site-a", "tag": "vims"})).await;
    assert!(gone.is_err(), "site-a must not answer any more: {gone:?}");

    let t1 = std::time::Instant::now();
    let m = env.run("lifeboat.read_manifest", "read", json!({"site": "site-b", "vnf": "vims"})).await;
    assert_eq!(m, manifest, "the manifest reads back from Swift at site-b as written");

    let mut restored = Vec::new();
    for (i, mv) in m["volumes"].as_array().unwrap().iter().enumerate() {
        let b = env.run("cinder.import_backup", &format!("imp[{i}]"), json!({"site": "site-b", "record": mv["record"]})).await;
        assert_eq!(s(&b, "site"), "site-b");
        let v = env.run("cinder.restore_backup", &format!("rst[{i}]"), json!({"backup": b, "name": mv["name"]})).await;
        assert_eq!(s(&v, "site"), "site-b");
        assert_eq!(s(&v, "origin"), s(mv, "id"), "restored volume keeps its provenance");
        // Byte for byte: the restored volume at site-b == the group snapshot at site-a.
        let snap = &snap_of[s(mv, "id")];
        stack.assert_same_bytes(("site-a", &format!("snapshot-{snap}")), ("site-b", &format!("volume-{}", s(&v, "id"))), s(mv, "name"));
        restored.push(v);
    }
    let restored_v = Value::Array(restored.clone());

    let mut booted = Vec::new();
    for g in m["boot_groups"].as_array().unwrap() {
        for ms in g["servers"].as_array().unwrap() {
            let bootv = env.run("lifeboat.volume_for", &format!("bv-{}", s(ms, "name")), json!({"volumes": restored_v, "source": ms["boot_volume"]})).await;
            let srv = env
                .run(
                    "nova.boot_from_volume",
                    &format!("boot-{}", s(ms, "name")),
                    json!({"site": "site-b", "name": ms["name"], "flavor": ms["flavor"], "volume": bootv, "networks": ms["networks"], "role": ms["role"], "priority": ms["priority"]}),
                )
                .await;
            assert_eq!(s(&srv, "status"), "ACTIVE");
            assert_eq!(s(&srv, "site"), "site-b");
            assert_eq!(s(&srv, "role"), s(ms, "role"));
            for (j, dv) in ms["data_volumes"].as_array().unwrap().iter().enumerate() {
                let v = env.run("lifeboat.volume_for", &format!("dv-{}-{j}", s(ms, "name")), json!({"volumes": restored_v, "source": dv})).await;
                let att = env.run("nova.attach_volume", &format!("att-{}-{j}", s(ms, "name")), json!({"server": srv, "volume": v})).await;
                assert_eq!(keys(&att), ["id", "server_id", "volume_id", "device", "site"]);
                assert_eq!(s(&att, "volume_id"), s(&v, "id"));
            }
            booted.push(srv);
        }
    }
    assert_eq!(booted.len(), 3);
    // What site-b now runs, seen afresh: every server with its two volumes.
    for srv in &booted {
        let now = env.run("nova.show_server", &format!("show-{}", s(srv, "name")), json!({"server": srv})).await;
        assert_eq!(s(&now, "status"), "ACTIVE");
        assert_eq!(now["volumes"].as_array().unwrap().len(), 2, "{now}");
    }
    eprintln!("recover at site-b took {:.1}s", t1.elapsed().as_secs_f64());
}
