//! Option 2 by hand, through the `Actions` trait, against the emulator: per
//! VM createImage, the image's volume snapshots, temporary volumes, backups,
//! export, manifest at site-b; then with site-a down, recovery VM by VM.

mod common;

use common::{s, Env};
use lifeboat_emulator::Site;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option2_vm_snapshots_then_recover() {
    let env = Env::start().await;
    let all = env
        .run(
            "nova.find_servers",
            "servers",
            json!({"site": "site-a", "tag": "vims"}),
        )
        .await;
    // The db tier only (priority 1): two VMs.
    let servers: Vec<Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["priority"] == json!(1))
        .cloned()
        .collect();
    assert_eq!(servers.len(), 2);
    let volumes = env
        .run("cinder.volumes_of", "volumes", json!({"servers": servers}))
        .await;
    let (mut backups, mut records) = (Vec::new(), Vec::new());
    let mut sums: BTreeMap<String, String> = BTreeMap::new();
    for (i, srv) in servers.iter().enumerate() {
        let img = env
            .run(
                "nova.create_image",
                &format!("img[{i}]"),
                json!({"server": srv, "name": "vm"}),
            )
            .await;
        let snaps = env
            .run(
                "glance.image_snapshots",
                &format!("snaps[{i}]"),
                json!({"image": img}),
            )
            .await;
        for (j, sn) in snaps.as_array().unwrap().iter().enumerate() {
            sums.insert(
                s(sn, "origin").to_string(),
                env.emu.snapshot_checksum(Site::A, s(sn, "id")).unwrap(),
            );
            let tmp = env
                .run(
                    "cinder.volume_from_snapshot",
                    &format!("tmp[{i}][{j}]"),
                    json!({"snapshot": sn, "name": "tmp"}),
                )
                .await;
            let b = env
                .run(
                    "cinder.backup",
                    &format!("b[{i}][{j}]"),
                    json!({"volume": tmp, "name": "bk"}),
                )
                .await;
            records.push(
                env.run(
                    "cinder.export_backup",
                    &format!("r[{i}][{j}]"),
                    json!({"backup": b}),
                )
                .await,
            );
            backups.push(b);
            env.run(
                "cinder.delete_volume",
                &format!("dt[{i}][{j}]"),
                json!({"volume": tmp}),
            )
            .await;
            env.run(
                "cinder.delete_snapshot",
                &format!("ds[{i}][{j}]"),
                json!({"snapshot": sn}),
            )
            .await;
        }
        env.run(
            "glance.delete_image",
            &format!("di[{i}]"),
            json!({"image": img}),
        )
        .await;
    }
    assert_eq!(backups.len(), 4);
    let args = json!({"site": "site-b", "vnf": "vims-db", "option": "2", "source": "site-a", "servers": servers, "volumes": volumes, "backups": backups, "records": records});
    let written = env.run("lifeboat.write_manifest", "m", args.clone()).await;
    // A resumed write finds its own document.
    let found = lifeboat_exec::action::Actions::find_created(
        &env.acts,
        &env.call("lifeboat.write_manifest", "m", args.clone()),
    )
    .await
    .unwrap()
    .expect("found");
    assert_eq!(found.value, written);
    assert!(lifeboat_exec::action::Actions::find_created(
        &env.acts,
        &env.call("lifeboat.write_manifest", "other-step", args)
    )
    .await
    .unwrap()
    .is_none());
    // Listed under the VNF, readable by name too.
    let listed = env
        .acts
        .client("site-b")
        .unwrap()
        .swift()
        .list("lifeboat-manifests", "vims-db/")
        .await
        .unwrap();
    let name = listed
        .iter()
        .map(|o| o.name.clone())
        .find(|n| n.ends_with("-r1.json"))
        .expect("manifest object");
    let by_name = env.run("lifeboat.read_manifest", "by-name", json!({"site": "site-b", "vnf": "vims-db", "name": name.trim_start_matches("vims-db/")})).await;
    assert_eq!(by_name, written);
    let e = env
        .try_run(
            "lifeboat.read_manifest",
            "none",
            json!({"site": "site-b", "vnf": "no-such-vnf"}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("no-such-vnf"), "{e}");

    env.emu.set_site_down(Site::A, true);
    let m = env
        .run(
            "lifeboat.read_manifest",
            "read",
            json!({"site": "site-b", "vnf": "vims-db"}),
        )
        .await;
    assert_eq!(m["option"], json!("2"));
    for (i, ms) in m["servers"].as_array().unwrap().iter().enumerate() {
        let mut restored = Vec::new();
        for (j, mv) in std::iter::once(&ms["boot_volume"])
            .chain(ms["data_volumes"].as_array().unwrap().iter())
            .enumerate()
        {
            let b = env
                .run(
                    "cinder.import_backup",
                    &format!("imp[{i}][{j}]"),
                    json!({"site": "site-b", "record": mv["record"]}),
                )
                .await;
            let v = env
                .run(
                    "cinder.restore_backup",
                    &format!("rst[{i}][{j}]"),
                    json!({"backup": b, "name": mv["name"]}),
                )
                .await;
            assert_eq!(
                &env.emu.volume_checksum(Site::B, s(&v, "id")).unwrap(),
                sums.get(s(mv, "id")).unwrap()
            );
            restored.push(v);
        }
        let rv = Value::Array(restored);
        let boot = env
            .run(
                "lifeboat.volume_for",
                &format!("bv[{i}]"),
                json!({"volumes": rv, "source": ms["boot_volume"]}),
            )
            .await;
        let srv = env.run("nova.boot_from_volume", &format!("boot[{i}]"), json!({"site": "site-b", "name": ms["name"], "flavor": ms["flavor"], "volume": boot, "networks": ms["networks"], "role": ms["role"], "priority": ms["priority"]})).await;
        for (j, dv) in ms["data_volumes"].as_array().unwrap().iter().enumerate() {
            let v = env
                .run(
                    "lifeboat.volume_for",
                    &format!("dv[{i}][{j}]"),
                    json!({"volumes": rv, "source": dv}),
                )
                .await;
            env.run(
                "nova.attach_volume",
                &format!("att[{i}][{j}]"),
                json!({"server": srv, "volume": v}),
            )
            .await;
        }
        let shown = env
            .run(
                "nova.show_server",
                &format!("show[{i}]"),
                json!({"server": srv}),
            )
            .await;
        assert_eq!(shown["volumes"].as_array().unwrap().len(), 2);
        assert_eq!(shown["volumes"][0], boot["id"], "boot volume first");
    }
    env.emu.shutdown().await;
}
