//! Option 3 by hand: replicate the chosen data volume, record its replica in
//! the manifest at site-b; with site-a down, promote the replica there.

mod common;

use common::{s, Env};
use lifeboat_emulator::Site;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option3_replica_promoted_with_site_a_down() {
    let env = Env::start().await;
    let servers = env
        .run(
            "nova.find_servers",
            "servers",
            json!({"site": "site-a", "tag": "vims"}),
        )
        .await;
    let srv = servers[0].clone();
    let vols = env
        .run(
            "cinder.volumes_of",
            "volumes",
            json!({"servers": [srv.clone()]}),
        )
        .await;
    let data = env
        .run(
            "cinder.retype",
            "rt",
            json!({"volume": vols[1], "volume_type": "replicated"}),
        )
        .await;
    let mut rep = env
        .try_run("cinder.replica_of", "rep", json!({"volume": data}))
        .await;
    for _ in 0..50 {
        match &rep {
            Err(e) if e.is_transient() => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                rep = env
                    .try_run("cinder.replica_of", "rep", json!({"volume": data}))
                    .await;
            }
            _ => break,
        }
    }
    let rep = rep.unwrap().value;
    // Let replication land the current content.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    // The manifest records the data volume as retyped (option3/prepare
    // reads the volumes again after the retype).
    let m = env.run("lifeboat.write_manifest", "m", json!({"site": "site-b", "vnf": "vims-3", "option": "3", "source": "site-a", "servers": [srv], "volumes": [vols[0].clone(), data.clone()], "replicas": [rep]})).await;
    assert_eq!(m["servers"][0]["data_volumes"][0]["replica"], rep);
    assert_eq!(m["servers"][0]["boot_volume"]["replica"]["ref"], json!(""));

    env.emu.set_site_down(Site::A, true);
    let m = env
        .run(
            "lifeboat.read_manifest",
            "read",
            json!({"site": "site-b", "vnf": "vims-3"}),
        )
        .await;
    let mv = &m["servers"][0]["data_volumes"][0];
    let v = env.run("cinder.manage_existing", "mg", json!({"site": "site-b", "replica": mv["replica"], "name": mv["name"], "volume_type": mv["volume_type"], "bootable": mv["bootable"]})).await;
    assert_eq!(s(&v, "site"), "site-b");
    assert_eq!(s(&v, "status"), "available");
    assert_eq!(s(&v, "origin"), s(mv, "id"));
    assert_eq!(v["size_gb"], mv["size_gb"]);
    assert!(env.emu.volume_checksum(Site::B, s(&v, "id")).is_some());
    // A resumed manage finds the managed volume by its tag.
    let found = lifeboat_exec::action::Actions::find_created(
        &env.acts,
        &env.call(
            "cinder.manage_existing",
            "mg",
            json!({"site": "site-b", "replica": mv["replica"], "name": mv["name"]}),
        ),
    )
    .await
    .unwrap()
    .expect("found");
    assert_eq!(found.value["id"], v["id"]);
    env.emu.shutdown().await;
}
