//! Every other catalogue action at least once through the `Actions` trait,
//! against the emulator; resumption through `find_created`; error classes.

mod common;

use common::{keys, s, Env};
use lifeboat_emulator::FaultProfile;
use lifeboat_exec::action::{Actions, ErrorClass};
use lifeboat_openstack::Service;
use serde_json::{json, Value};
use std::time::Duration;

async fn first_server(env: &Env) -> (Value, Vec<Value>) {
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
            "vols",
            json!({"servers": [srv.clone()]}),
        )
        .await;
    (srv, vols.as_array().unwrap().clone())
}

/// A thaw asked while its freeze is still landing (`lifeboat resume` right
/// after a crash cut the freeze's wait short): Nova refuses it (409, task
/// state `pausing`, the server still ACTIVE). The thaw lets the pause land
/// and asks again, and the server ends running: neither refused (the kill
/// sweep once saw that) nor left paused by a pause landing after a thaw
/// that took "ACTIVE while pausing" for done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thaw_while_its_freeze_lands_lets_it_land_and_unpauses() {
    let env = Env::start().await;
    let (srv, _) = first_server(&env).await;
    let transition = std::time::Duration::from_millis(400);
    let fast = env.emu.timing();
    env.emu.set_timing(lifeboat_emulator::Timing {
        transition,
        ..fast.clone()
    });
    let since = env.last_request().await;
    env.acts
        .client("site-a")
        .unwrap()
        .nova()
        .action(s(&srv, "id"), "pause")
        .await
        .expect("the freeze is taken");
    let thawed = env
        .run("nova.unpause", "thaw", json!({"server": srv}))
        .await;
    assert_eq!(s(&thawed, "status"), "ACTIVE");
    let (asked, _) = env.requests_since(since).await;
    let actions = asked
        .iter()
        .filter(|r| r.starts_with("POST ") && r.ends_with("/action"))
        .count();
    assert!(
        actions >= 3,
        "the pause, the thaw refused, the thaw again: {asked:#?}"
    );
    // Long after every transition: still running.
    tokio::time::sleep(transition * 3).await;
    let shown = env
        .run("nova.show_server", "show", json!({"server": srv}))
        .await;
    assert_eq!(s(&shown, "status"), "ACTIVE");
    env.emu.set_timing(fast);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_power_quiesce_show() {
    let env = Env::start().await;
    let (srv, _) = first_server(&env).await;
    let shown = env
        .run("nova.show_server", "show", json!({"server": srv}))
        .await;
    assert_eq!(shown["id"], srv["id"]);
    assert_eq!(
        s(
            &env.run("nova.suspend", "sus", json!({"server": srv})).await,
            "status"
        ),
        "SUSPENDED"
    );
    // A retried suspend is a no-op.
    assert_eq!(
        s(
            &env.run("nova.suspend", "sus", json!({"server": srv})).await,
            "status"
        ),
        "SUSPENDED"
    );
    // A freeze Nova refuses (a suspended server cannot be paused): the
    // refusal, not a wait for a state that will not come.
    let e = env
        .try_run("nova.pause", "p0", json!({"server": srv}))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent, "{e}");
    assert!(
        e.message.contains("pause") && e.message.contains(s(&srv, "id")),
        "{e}"
    );
    assert_eq!(
        s(
            &env.run("nova.resume", "res", json!({"server": srv})).await,
            "status"
        ),
        "ACTIVE"
    );
    env.run("nova.quiesce", "q", json!({"server": srv})).await;
    env.run("nova.quiesce", "q", json!({"server": srv})).await;
    env.run("nova.unquiesce", "uq", json!({"server": srv}))
        .await;
    // A server that does not exist: permanent, naming the server and site.
    let mut ghost = srv.clone();
    ghost["id"] = json!("00000000-dead-beef-0000-000000000000");
    let e = env
        .try_run("nova.pause", "p", json!({"server": ghost}))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(
        e.message.contains("00000000-dead-beef") && e.message.contains("site-a"),
        "{e}"
    );
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option2_create_image_and_its_snapshots() {
    let env = Env::start().await;
    let (srv, vols) = first_server(&env).await;
    let img = env
        .run(
            "nova.create_image",
            "img",
            json!({"server": srv, "name": "vm"}),
        )
        .await;
    assert_eq!(
        keys(&img),
        ["id", "name", "site", "status", "server_id", "snapshots"]
    );
    assert!(s(&img, "name").starts_with("lb-r1-img"));
    let snaps = env
        .run("glance.image_snapshots", "isnaps", json!({"image": img}))
        .await;
    let snaps = snaps.as_array().unwrap().clone();
    assert_eq!(snaps.len(), 2);
    let vol_ids: Vec<&str> = vols.iter().map(|v| s(v, "id")).collect();
    assert!(snaps
        .iter()
        .all(|sn| vol_ids.contains(&s(sn, "volume_id")) && vol_ids.contains(&s(sn, "origin"))));
    let shown = env
        .run("glance.show_image", "showimg", json!({"image": img}))
        .await;
    assert_eq!(s(&shown, "status"), "active");
    assert_eq!(shown["snapshots"].as_array().unwrap().len(), 2);
    // A resumed create_image finds the image by its tag.
    let found = env
        .acts
        .find_created(&env.call(
            "nova.create_image",
            "img",
            json!({"server": srv, "name": "vm"}),
        ))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.value["id"], img["id"]);
    let tmp = env
        .run(
            "cinder.volume_from_snapshot",
            "tmp",
            json!({"snapshot": snaps[0], "name": "tmp"}),
        )
        .await;
    assert_eq!(s(&tmp, "origin"), s(&snaps[0], "origin"));
    env.run("cinder.delete_volume", "deltmp", json!({"volume": tmp}))
        .await;
    for (i, sn) in snaps.iter().enumerate() {
        assert_eq!(
            s(
                &env.run(
                    "cinder.delete_snapshot",
                    &format!("dels[{i}]"),
                    json!({"snapshot": sn})
                )
                .await,
                "status"
            ),
            "deleted"
        );
    }
    assert_eq!(
        s(
            &env.run("glance.delete_image", "delimg", json!({"image": img}))
                .await,
            "status"
        ),
        "deleted"
    );
    // Deleting again is harmless (a retried cleanup).
    env.run("glance.delete_image", "delimg", json!({"image": img}))
        .await;
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_backups_groups_and_resumption() {
    let env = Env::start().await;
    let (_srv, vols) = first_server(&env).await;
    let v = &vols[1];
    let shown = env
        .run("cinder.show_volume", "sv", json!({"volume": v}))
        .await;
    assert_eq!(shown, *v);
    assert_eq!(
        keys(&shown),
        [
            "id",
            "name",
            "site",
            "status",
            "size_gb",
            "volume_type",
            "bootable",
            "server_id",
            "device",
            "origin",
            "snapshot_id"
        ]
    );

    let snap = env
        .run(
            "cinder.create_snapshot",
            "snap",
            json!({"volume": v, "name": "one", "force": true}),
        )
        .await;
    assert_eq!(
        keys(&snap),
        [
            "id",
            "name",
            "site",
            "volume_id",
            "size_gb",
            "status",
            "created_at",
            "origin",
            "group_snapshot_name"
        ]
    );
    assert_eq!(s(&snap, "origin"), s(v, "id"));
    // After a crash: the snapshot is found by its tag, not made twice.
    let call = env.call(
        "cinder.create_snapshot",
        "snap",
        json!({"volume": v, "name": "one", "force": true}),
    );
    let found = env.acts.find_created(&call).await.unwrap().expect("found");
    assert_eq!(found.value["id"], snap["id"]);
    let other = env.call(
        "cinder.create_snapshot",
        "snap2",
        json!({"volume": v, "name": "one"}),
    );
    assert!(env.acts.find_created(&other).await.unwrap().is_none());

    let tmp = env
        .run(
            "cinder.volume_from_snapshot",
            "tmp",
            json!({"snapshot": snap, "name": "tmp"}),
        )
        .await;
    let found = env
        .acts
        .find_created(&env.call(
            "cinder.volume_from_snapshot",
            "tmp",
            json!({"snapshot": snap, "name": "tmp"}),
        ))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.value["id"], tmp["id"]);

    let b1 = env.run("cinder.backup", "b1", json!({"volume": tmp, "name": "bk", "incremental": true, "container": "lifeboat-backups"})).await;
    assert_eq!(
        keys(&b1),
        [
            "id",
            "name",
            "site",
            "volume_id",
            "size_gb",
            "status",
            "incremental",
            "container",
            "created_at",
            "origin",
            "bytes_moved"
        ]
    );
    let b2 = env
        .run(
            "cinder.backup",
            "b2",
            json!({"volume": tmp, "name": "bk", "incremental": true}),
        )
        .await;
    assert_eq!(
        b2["incremental"],
        json!(true),
        "second backup of the same volume is incremental"
    );
    assert!(b2["bytes_moved"].as_i64().unwrap() <= b1["bytes_moved"].as_i64().unwrap());
    // The next protect run: a new snapshot and temporary volume of the same
    // production volume; its backup continues the origin's chain.
    let snap2 = env
        .run(
            "cinder.create_snapshot",
            "snap-next",
            json!({"volume": v, "name": "two"}),
        )
        .await;
    let tmp2 = env
        .run(
            "cinder.volume_from_snapshot",
            "tmp-next",
            json!({"snapshot": snap2, "name": "tmp"}),
        )
        .await;
    let b3 = env
        .run(
            "cinder.backup",
            "b-next",
            json!({"volume": tmp2, "name": "bk", "incremental": true}),
        )
        .await;
    assert_eq!(
        b3["incremental"],
        json!(true),
        "a fresh copy of the same origin backs up incrementally: {b3}"
    );
    assert_eq!(s(&b3, "origin"), s(v, "id"));
    assert_eq!(
        s(&b3, "volume_id"),
        s(v, "id"),
        "chained on the production volume"
    );
    // Only what the live guest wrote since the first backup moved, far below the volume's size.
    let moved = b3["bytes_moved"].as_i64().unwrap();
    assert!(
        moved > 0 && moved < b3["size_gb"].as_i64().unwrap() << 20,
        "{b3}"
    );
    env.run("cinder.delete_backup", "db3", json!({"backup": b3}))
        .await;
    env.run("cinder.delete_volume", "dt2", json!({"volume": tmp2}))
        .await;
    env.run("cinder.delete_snapshot", "ds2", json!({"snapshot": snap2}))
        .await;
    let found = env
        .acts
        .find_created(&env.call("cinder.backup", "b2", json!({"volume": tmp, "name": "bk"})))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.value["id"], b2["id"]);
    assert!(env
        .acts
        .find_created(&env.call("cinder.backup", "b3", json!({"volume": tmp, "name": "bk"})))
        .await
        .unwrap()
        .is_none());

    // Crash simulation: the volume was created (by the client, as the action
    // would) but the call never returned; find_created waits and returns it.
    let c = env.acts.client("site-a").unwrap();
    let call = env.call(
        "cinder.volume_from_snapshot",
        "crash",
        json!({"snapshot": snap, "name": "tmp"}),
    );
    let name = lifeboat_actions::args::resource_name(&call, "tmp");
    let made = c
        .cinder()
        .create_volume(
            json!({"snapshot_id": s(&snap, "id"), "size": snap["size_gb"], "name": name}),
            "crash test",
        )
        .await
        .unwrap();
    let found = env
        .acts
        .find_created(&call)
        .await
        .unwrap()
        .expect("found after crash");
    assert_eq!(s(&found.value, "id"), made.id);
    assert_eq!(s(&found.value, "status"), "available");
    assert_eq!(
        s(&found.value, "origin"),
        s(v, "id"),
        "the resumed call records the provenance"
    );

    assert_eq!(
        s(
            &env.run("cinder.delete_backup", "db2", json!({"backup": b2}))
                .await,
            "status"
        ),
        "deleted"
    );
    env.run("cinder.delete_backup", "db1", json!({"backup": b1}))
        .await;
    env.run("cinder.delete_volume", "dt", json!({"volume": tmp}))
        .await;
    env.run("cinder.delete_volume", "dc", json!({"volume": found.value}))
        .await;
    env.run("cinder.delete_snapshot", "ds", json!({"snapshot": snap}))
        .await;

    let group = env
        .run(
            "cinder.ensure_group",
            "g",
            json!({"site": "site-a", "name": "one", "volumes": vols}),
        )
        .await;
    assert!(env
        .acts
        .find_created(&env.call(
            "cinder.ensure_group",
            "g",
            json!({"site": "site-a", "name": "one", "volumes": vols})
        ))
        .await
        .unwrap()
        .is_some());
    let gs = env
        .run(
            "cinder.create_group_snapshot",
            "gs",
            json!({"group": group, "name": "x"}),
        )
        .await;
    let found = env
        .acts
        .find_created(&env.call(
            "cinder.create_group_snapshot",
            "gs",
            json!({"group": group, "name": "x"}),
        ))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.value["id"], gs["id"]);
    // Its members say which group snapshot of this run made them: a volume
    // is made of one without reading it or its group again, and the member
    // is tagged then (after the thaw, not inside the window).
    let members = gs["snapshots"].as_array().expect("members").clone();
    assert!(!members.is_empty());
    assert!(
        members
            .iter()
            .all(|m| m["group_snapshot_name"] == gs["name"]),
        "{members:?}"
    );
    let since = env.last_request().await;
    let made = env
        .run(
            "cinder.volume_from_snapshot",
            "vfm",
            json!({"snapshot": members[0], "name": "m"}),
        )
        .await;
    assert_eq!(s(&made, "origin"), s(&members[0], "origin"));
    let (asked, _) = env.requests_since(since).await;
    let member = s(&members[0], "id");
    assert!(
        asked.iter().any(
            |r| r.starts_with("POST ") && r.ends_with(&format!("/snapshots/{member}/metadata"))
        ),
        "the member is tagged: {asked:?}"
    );
    assert!(
        !asked
            .iter()
            .any(|r| r.starts_with("GET ") && r.contains("snapshots/")),
        "neither the member nor its group read again: {asked:?}"
    );
    env.run("cinder.delete_volume", "dvm", json!({"volume": made}))
        .await;
    env.run(
        "cinder.delete_group_snapshot",
        "dgs",
        json!({"group_snapshot": gs}),
    )
    .await;
    env.run("cinder.delete_group", "dg", json!({"group": group}))
        .await;
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swift_objects_and_hooks() {
    let env = Env::start().await;
    let o = env
        .run(
            "swift.put_object",
            "put",
            json!({"site": "site-b", "container": "c1", "name": "a/b.txt", "content": "hello"}),
        )
        .await;
    assert_eq!(keys(&o), ["container", "name", "site", "etag", "bytes"]);
    assert_eq!(o["bytes"], json!(5));
    let found = env
        .acts
        .find_created(&env.call(
            "swift.put_object",
            "put",
            json!({"site": "site-b", "container": "c1", "name": "a/b.txt", "content": "hello"}),
        ))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.value["etag"], o["etag"]);
    assert_eq!(
        env.run(
            "swift.get_object",
            "get",
            json!({"site": "site-b", "container": "c1", "name": "a/b.txt"})
        )
        .await,
        json!("hello")
    );
    env.run("swift.delete_object", "del", json!({"object": o}))
        .await;
    let e = env
        .try_run(
            "swift.get_object",
            "get2",
            json!({"site": "site-b", "container": "c1", "name": "a/b.txt"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);

    // Command hooks: the payload arrives on stdin; non-zero exit fails.
    let out = env.dir.path().join("hook.json");
    let cmd = format!("cat > {}; echo done", out.display());
    let r = env
        .run(
            "lifeboat.hook",
            "hook",
            json!({"event": "failover", "command": cmd, "subject": "vims"}),
        )
        .await;
    assert_eq!(r, json!({"ok": true, "output": "done\n"}));
    let payload: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(payload["event"], json!("failover"));
    assert_eq!(payload["subject"], json!("vims"));
    let e = env
        .try_run(
            "lifeboat.hook",
            "hook2",
            json!({"event": "x", "command": "echo nope >&2; exit 3"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(e.message.contains("nope"), "{e}");
    assert!(env
        .try_run("lifeboat.hook", "hook3", json!({"event": "x"}))
        .await
        .is_err());

    // HTTP hooks: a tiny receiver that answers 200, then 500.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut bodies = Vec::new();
        for status in ["200 OK", "500 Internal Server Error"] {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 65536];
            let mut got = Vec::new();
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some(i) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= i + 4 + len {
                        bodies.push(text[i + 4..].to_string());
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-length: 6\r\nconnection: close\r\n\r\nthawed"
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
        }
        bodies
    });
    let (srv, _) = first_server(&env).await;
    let url = format!("http://{addr}/hook");
    let r = env
        .run(
            "lifeboat.hook_freeze",
            "fz",
            json!({"server": srv, "url": url}),
        )
        .await;
    assert_eq!(r, json!({"ok": true, "output": "thawed"}));
    let e = env
        .try_run(
            "lifeboat.hook_thaw",
            "th",
            json!({"server": srv, "url": url}),
        )
        .await
        .unwrap_err();
    assert!(e.is_transient(), "5xx from a hook is worth retrying: {e}");
    let bodies = server.await.unwrap();
    let first: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(first["event"], json!("freeze"));
    assert_eq!(first["subject"]["id"], srv["id"]);
    let second: Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(second["event"], json!("thaw"));
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_detach_delete_verify_and_volume_for() {
    let env = Env::start().await;
    let (_srv, vols) = first_server(&env).await;
    // Make a bootable copy at site-a and boot it.
    let snap = env
        .run(
            "cinder.create_snapshot",
            "s",
            json!({"volume": vols[0], "name": "boot"}),
        )
        .await;
    let bootv = env
        .run(
            "cinder.volume_from_snapshot",
            "bv",
            json!({"snapshot": snap, "name": "boot"}),
        )
        .await;
    let datav = {
        let sn = env
            .run(
                "cinder.create_snapshot",
                "s2",
                json!({"volume": vols[1], "name": "data"}),
            )
            .await;
        env.run(
            "cinder.volume_from_snapshot",
            "dv",
            json!({"snapshot": sn, "name": "data"}),
        )
        .await
    };
    let srv = env.run("nova.boot_from_volume", "boot", json!({"site": "site-a", "name": "copy", "flavor": "m1.small", "volume": bootv, "networks": ["mgmt"], "role": "db", "priority": 1})).await;
    assert_eq!(s(&srv, "status"), "ACTIVE");
    assert!(s(&srv, "name").starts_with("lb-r1-boot"));
    assert_eq!(srv["networks"], json!(["mgmt"]));
    assert_eq!(srv["priority"], json!(1));
    let found = env
        .acts
        .find_created(&env.call(
            "nova.boot_from_volume",
            "boot",
            json!({"site": "site-a", "name": "copy", "flavor": "m1.small", "volume": bootv}),
        ))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.value["id"], srv["id"]);
    let att = env
        .run(
            "nova.attach_volume",
            "att",
            json!({"server": srv, "volume": datav}),
        )
        .await;
    assert_eq!(s(&att, "volume_id"), s(&datav, "id"));
    // Attaching again is a no-op.
    env.run(
        "nova.attach_volume",
        "att",
        json!({"server": srv, "volume": datav}),
    )
    .await;
    let volumes = Value::Array(vec![bootv.clone(), datav.clone()]);
    let mv = json!({"id": s(&vols[1], "id"), "name": "data", "size_gb": vols[1]["size_gb"], "volume_type": "standard", "bootable": false, "device": "/dev/vdb", "boot": false,
        "record": {"backup_service": "", "backup_url": ""}, "backup_id": "", "replica": {"volume_id": "", "site": "", "ref": "", "host": "", "status": ""}});
    let picked = env
        .run(
            "lifeboat.volume_for",
            "vf",
            json!({"volumes": volumes, "source": mv}),
        )
        .await;
    assert_eq!(picked["id"], datav["id"]);
    let mut other = mv.clone();
    other["id"] = json!("not-a-production-volume");
    let e = env
        .try_run(
            "lifeboat.volume_for",
            "vf2",
            json!({"volumes": volumes, "source": other}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);
    // verify: a manifest of the two volumes; sizes and the server.
    let mut bmv = mv.clone();
    bmv["id"] = json!(s(&vols[0], "id"));
    bmv["size_gb"] = vols[0]["size_gb"].clone();
    let manifest = json!({"version": 1, "vnf": "vims", "option": "1", "run_id": "r1", "snapshot_time": "", "source_site": "site-a", "servers": [], "volumes": [bmv, mv], "boot_groups": []});
    let ver = env
        .run(
            "lifeboat.verify",
            "ver",
            json!({"manifest": manifest, "volumes": volumes, "servers": [srv]}),
        )
        .await;
    assert_eq!(ver["ok"], json!(true), "{ver}");
    assert_eq!(ver["checked"], json!(3));
    let mut bigger = manifest.clone();
    bigger["volumes"][1]["size_gb"] = json!(999);
    let ver = env
        .run(
            "lifeboat.verify",
            "ver2",
            json!({"manifest": bigger, "volumes": volumes, "servers": [srv]}),
        )
        .await;
    assert_eq!(ver["ok"], json!(false));
    assert!(s(&ver, "detail").contains("999"));

    // A detach already under way (an earlier DELETE taken, its answer
    // lost): Nova answers 409 to the action's DELETE; it waits instead.
    let slow = env.emu.timing();
    env.emu.set_timing(lifeboat_emulator::Timing {
        transition: std::time::Duration::from_millis(400),
        ..slow.clone()
    });
    env.acts
        .client("site-a")
        .unwrap()
        .nova()
        .detach(s(&srv, "id"), s(&datav, "id"))
        .await
        .expect("a first detach");
    let det = env
        .run(
            "nova.detach_volume",
            "det",
            json!({"server": srv, "volume": datav}),
        )
        .await;
    env.emu.set_timing(slow);
    assert_eq!(s(&det, "volume_id"), s(&datav, "id"));
    let shown = env
        .run("cinder.show_volume", "sv", json!({"volume": datav}))
        .await;
    assert_eq!(s(&shown, "status"), "available");
    let del = env
        .run("nova.delete_server", "del", json!({"server": srv}))
        .await;
    assert_eq!(s(&del, "status"), "DELETED");
    let e = env
        .try_run("nova.show_server", "gone", json!({"server": srv}))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);
    // The endpoint used is the site's own.
    assert!(env
        .acts
        .client("site-a")
        .unwrap()
        .endpoint(Service::Compute)
        .await
        .unwrap()
        .contains("/compute"));
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option3_replication_manage_failover() {
    let env = Env::start().await;
    let (_srv, vols) = first_server(&env).await;
    let data = &vols[1];
    let rt = env
        .run(
            "cinder.retype",
            "rt",
            json!({"volume": data, "volume_type": "replicated", "migration_policy": "never"}),
        )
        .await;
    assert_eq!(s(&rt, "volume_type"), "replicated");
    let rep = env
        .run("cinder.replica_of", "rep", json!({"volume": rt}))
        .await;
    assert_eq!(keys(&rep), ["volume_id", "site", "ref", "host", "status"]);
    assert_eq!(s(&rep, "site"), "site-b");
    assert_eq!(s(&rep, "ref"), format!("volume-{}", s(data, "id")));
    assert!(s(&rep, "host").starts_with("site-b@replica"), "{rep}");
    let managed = env.run("cinder.manage_existing", "mg", json!({"site": "site-b", "replica": rep, "name": "data", "volume_type": "", "bootable": false})).await;
    assert_eq!(s(&managed, "site"), "site-b");
    assert_eq!(s(&managed, "origin"), s(data, "id"));
    assert_eq!(s(&managed, "status"), "available");
    let un = env
        .run("cinder.unmanage", "um", json!({"volume": managed}))
        .await;
    assert_eq!(s(&un, "id"), s(&managed, "id"));
    let back = env
        .run(
            "cinder.retype",
            "rt2",
            json!({"volume": rt, "volume_type": "standard"}),
        )
        .await;
    assert_eq!(s(&back, "volume_type"), "standard");
    // A driver that publishes nothing on the volume: found among the backup
    // site's manageable backend volumes instead.
    let servers = env
        .run(
            "nova.find_servers",
            "all",
            json!({"site": "site-a", "tag": "vims"}),
        )
        .await;
    let other = env
        .run(
            "cinder.volumes_of",
            "vols2",
            json!({"servers": [servers[1]]}),
        )
        .await[1]
        .clone();
    let rt2 = env
        .run(
            "cinder.retype",
            "rt3",
            json!({"volume": other, "volume_type": "replicated"}),
        )
        .await;
    let a = env.acts.client("site-a").unwrap();
    for key in ["replica_site", "replica_ref", "replica_host"] {
        a.request(
            Service::BlockStorage,
            reqwest::Method::DELETE,
            format!("volumes/{}/metadata/{key}", s(&rt2, "id")),
        )
        .send()
        .await
        .unwrap();
    }
    let mut found = env
        .try_run("cinder.replica_of", "rep2", json!({"volume": rt2}))
        .await;
    for _ in 0..50 {
        match &found {
            Err(e) if e.is_transient() => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                found = env
                    .try_run("cinder.replica_of", "rep2", json!({"volume": rt2}))
                    .await;
            }
            _ => break,
        }
    }
    let rep2 = found.unwrap().value;
    assert_eq!(s(&rep2, "ref"), format!("volume-{}", s(&other, "id")));
    assert_eq!(s(&rep2, "site"), "site-b");
    // A replicated group fails over as one.
    let g = env
        .run(
            "cinder.ensure_group",
            "rg",
            json!({"site": "site-a", "name": "repl", "volumes": [rt2]}),
        )
        .await;
    let fg = env
        .run(
            "cinder.failover_group",
            "fg",
            json!({"group": g, "backend_id": "site-b"}),
        )
        .await;
    assert_eq!(fg["id"], g["id"]);
    assert_eq!(fg["volume_ids"], json!([s(&rt2, "id")]));
    let after = env
        .acts
        .client("site-a")
        .unwrap()
        .cinder()
        .group_replication(s(&g, "id"))
        .await
        .unwrap();
    assert_eq!(after.replication_status, "failed-over");
    // Retried: already failed over, nothing to do.
    env.run(
        "cinder.failover_group",
        "fg",
        json!({"group": g, "backend_id": "site-b"}),
    )
    .await;
    // Backend failover at site-b (the host that holds the replicas).
    let host = s(&rep, "host").split('#').next().unwrap().to_string();
    let fo = env
        .try_run(
            "cinder.failover_host",
            "fo",
            json!({"site": "site-b", "host": host, "backend_id": ""}),
        )
        .await;
    match fo {
        Ok(o) => assert!(o.value.is_string()),
        Err(e) => panic!("failover_host: {e}"),
    }
    let svcs = env
        .acts
        .client("site-b")
        .unwrap()
        .cinder()
        .services("cinder-volume")
        .await
        .unwrap();
    let svc = svcs
        .iter()
        .find(|x| x.host == host)
        .expect("the failed-over backend");
    assert_eq!(svc.replication_status, "failed-over");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn bad_arguments_and_unknown_site_are_permanent() {
    let env = Env::start().await;
    let e = env
        .try_run("cinder.show_volume", "x", json!({"volume": "vol-1"}))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(e.message.contains("cinder.show_volume") && e.message.contains("volume"));
    let e = env
        .try_run(
            "nova.find_servers",
            "x",
            json!({"site": "site-z", "tag": "vims"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(e.message.contains("site-a, site-b"), "{e}");
    // A call bounded by a tiny timeout while the site is down: transient or timeout, never a hang.
    env.emu.set_site_down(lifeboat_emulator::Site::A, true);
    let mut call = env.call(
        "nova.find_servers",
        "down",
        json!({"site": "site-a", "tag": "vims"}),
    );
    call.timeout = std::time::Duration::from_millis(500);
    let e = env.acts.run(&call).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    env.emu.shutdown().await;
}

/// Two protect cycles of one volume: the second backup is incremental. At the
/// backup site, with the primary down, importing its record imports the
/// parents the manifest recorded, and the restore has the second snapshot's
/// content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_chain_recovers_at_backup_site() {
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
            "vols",
            json!({"servers": [srv.clone()]}),
        )
        .await;
    let v = vols[1].clone();
    let mut last = Value::Null;
    let mut last_snap = Value::Null;
    for cycle in 0..2 {
        let sn = env
            .run(
                "cinder.create_snapshot",
                &format!("snap[{cycle}]"),
                json!({"volume": v, "name": "s"}),
            )
            .await;
        let tmp = env
            .run(
                "cinder.volume_from_snapshot",
                &format!("tmp[{cycle}]"),
                json!({"snapshot": sn, "name": "tmp"}),
            )
            .await;
        let b = env
            .run(
                "cinder.backup",
                &format!("b[{cycle}]"),
                json!({"volume": tmp, "name": "bk", "incremental": true}),
            )
            .await;
        assert_eq!(b["incremental"], json!(cycle == 1), "{b}");
        env.run(
            "cinder.delete_volume",
            &format!("dt[{cycle}]"),
            json!({"volume": tmp}),
        )
        .await;
        last = b;
        last_snap = sn;
    }
    let want = env
        .emu
        .snapshot_checksum(lifeboat_emulator::Site::A, s(&last_snap, "id"))
        .unwrap();
    let rec = env
        .run("cinder.export_backup", "rec", json!({"backup": last}))
        .await;
    let m = env
        .run("lifeboat.write_manifest", "manifest", json!({"site": "site-b", "vnf": "one", "option": "1", "source": "site-a", "servers": [srv], "volumes": [v], "backups": [last], "records": [rec]}))
        .await;
    env.emu.set_site_down(lifeboat_emulator::Site::A, true);
    let m2 = env
        .run(
            "lifeboat.read_manifest",
            "read",
            json!({"site": "site-b", "vnf": "one"}),
        )
        .await;
    assert_eq!(m2, m);
    let mv = &m2["volumes"][0];
    let b = env
        .run(
            "cinder.import_backup",
            "imp",
            json!({"site": "site-b", "record": mv["record"]}),
        )
        .await;
    assert_eq!(b["incremental"], json!(true));
    // Its full parent came first.
    let at_b = env
        .acts
        .client("site-b")
        .unwrap()
        .cinder()
        .backups(&[])
        .await
        .unwrap();
    assert_eq!(at_b.len(), 2, "{at_b:?}");
    assert!(at_b.iter().any(|x| !x.is_incremental));
    // Importing again is idempotent.
    let again = env
        .run(
            "cinder.import_backup",
            "imp",
            json!({"site": "site-b", "record": mv["record"]}),
        )
        .await;
    assert_eq!(again["id"], b["id"]);
    let imp = env
        .acts
        .find_created(&env.call(
            "cinder.import_backup",
            "imp",
            json!({"site": "site-b", "record": mv["record"]}),
        ))
        .await
        .unwrap()
        .expect("import found");
    assert_eq!(imp.value["id"], b["id"]);
    assert!(env
        .acts
        .find_created(&env.call(
            "cinder.restore_backup",
            "rst",
            json!({"backup": b, "name": "data"})
        ))
        .await
        .unwrap()
        .is_none());
    let restored = env
        .run(
            "cinder.restore_backup",
            "rst",
            json!({"backup": b, "name": "data"}),
        )
        .await;
    let again = env
        .acts
        .find_created(&env.call(
            "cinder.restore_backup",
            "rst",
            json!({"backup": b, "name": "data"}),
        ))
        .await
        .unwrap()
        .expect("restore found");
    assert_eq!(again.value, restored);
    assert_eq!(
        env.emu
            .volume_checksum(lifeboat_emulator::Site::B, s(&restored, "id"))
            .unwrap(),
        want
    );
    env.emu.shutdown().await;
}

/// A backup is read by its status polls alone: with transitions of 1 ms
/// (a backup takes one to 21 of them) the wait looks at once (nothing
/// learned yet), then after 25 ms, when it is available, and that read is
/// its record (no third read for the bytes it moved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_read_by_its_polls_alone() {
    let mut config = lifeboat_emulator::EmulatorConfig::fast();
    config.timing.transition = std::time::Duration::from_millis(1);
    let env = Env::start_with(config).await;
    let (_, vols) = first_server(&env).await;
    let snap = env
        .run(
            "cinder.create_snapshot",
            "snap",
            json!({"volume": vols[0], "name": "one", "force": true}),
        )
        .await;
    let tmp = env
        .run(
            "cinder.volume_from_snapshot",
            "tmp",
            json!({"snapshot": snap, "name": "tmp"}),
        )
        .await;
    let since = env.last_request().await;
    let b = env
        .run(
            "cinder.backup",
            "b",
            json!({"volume": tmp, "name": "b", "incremental": false}),
        )
        .await;
    assert!(b["bytes_moved"].as_u64().is_some_and(|n| n > 0), "{b}");
    let (asked, _) = env.requests_since(since).await;
    let reads = asked
        .iter()
        .filter(|r| r.starts_with("GET ") && r.ends_with(&format!("/backups/{}", s(&b, "id"))))
        .count();
    assert!(reads <= 2, "{reads} reads: {asked:?}");
    env.emu.shutdown().await;
}

/// A group snapshot's members are found by its name (Cinder names each
/// member after its group snapshot) in one request, however many snapshots
/// were made meanwhile; the newest-first search read past every one of
/// them (a hundred VNFs snapshotting at once: thousands a time, inside the
/// quiesce window). A member renamed since is looked for that way still.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_snapshots_members_are_found_by_its_name_however_many_snapshots_are_newer() {
    let env = Env::start().await;
    let (_srv, vols) = first_server(&env).await;
    let group = env
        .run(
            "cinder.ensure_group",
            "g",
            json!({"site": "site-a", "name": "crowd", "volumes": vols}),
        )
        .await;
    // The group snapshot's polls take 3 s: meanwhile 250 snapshots more are
    // made, all newer than its members.
    env.emu.set_faults(
        FaultProfile::from_yaml_str("rules:\n  - {site: site-a, service: volume, method: GET, path_contains: group_snapshots/, latency: {kind: fixed, ms: 3000}}\n")
            .unwrap(),
    );
    let since = env.last_request().await;
    let call = env.call(
        "cinder.create_group_snapshot",
        "gs",
        json!({"group": group, "name": "crowd"}),
    );
    let a = env.acts.client("site-a").unwrap();
    let crowd = async {
        while !env
            .requests_since(since)
            .await
            .0
            .iter()
            .any(|r| r.starts_with("POST ") && r.ends_with("/group_snapshots"))
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let other = s(&vols[0], "id").to_string();
        futures::future::join_all((0..250).map(|i| {
            let body = json!({"snapshot": {"volume_id": other, "name": format!("other-{i}"), "force": true}});
            let req = a.request(Service::BlockStorage, reqwest::Method::POST, "snapshots");
            async move { req.json(body).send().await.map(|r| r.status) }
        }))
        .await
    };
    let (taken, made) = tokio::join!(env.acts.run(&call), crowd);
    assert!(made.iter().all(|r| matches!(r, Ok(202))), "{made:?}");
    let gs = taken.expect("group snapshot").value;
    env.emu.set_faults(FaultProfile::none());
    let members = gs["snapshots"].as_array().expect("members");
    assert_eq!(members.len(), vols.len(), "{gs}");
    let lists = |asked: &[String]| {
        asked
            .iter()
            .filter(|r| r.starts_with("GET ") && r.ends_with("/snapshots/detail"))
            .count()
    };
    let (asked, last) = env.requests_since(since).await;
    assert_eq!(lists(&asked), 1, "one list by name: {asked:?}");

    // A member renamed: found among the newest all the same.
    a.request(
        Service::BlockStorage,
        reqwest::Method::PUT,
        format!("snapshots/{}", s(&members[0], "id")),
    )
    .json(json!({"snapshot": {"name": "renamed"}}))
    .send()
    .await
    .unwrap();
    let found = env.acts.find_created(&call).await.unwrap().expect("found");
    assert_eq!(
        found.value["snapshots"].as_array().map(Vec::len),
        Some(vols.len())
    );
    let (asked, _) = env.requests_since(last).await;
    assert!(
        lists(&asked) >= 3,
        "by name, then pages of the newest: {asked:?}"
    );
    env.emu.shutdown().await;
}

/// A copy made from a snapshot is backed up as that snapshot, under its
/// origin's id (one chain per production volume), without reading the
/// snapshot first, nor the copy when the run made it (its record says what
/// the chain needs): Cinder refuses a snapshot that is gone, not available
/// or not the origin's, and then the copy itself is backed up. A volume
/// another run made is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copys_backup_is_of_its_snapshot_unread_and_of_the_copy_when_cinder_refuses_it() {
    let env = Env::start().await;
    let (_, vols) = first_server(&env).await;
    let snap = env
        .run(
            "cinder.create_snapshot",
            "snap",
            json!({"volume": vols[0], "name": "one", "force": true}),
        )
        .await;
    let copy = |step: &'static str| {
        env.run(
            "cinder.volume_from_snapshot",
            step,
            json!({"snapshot": snap, "name": step}),
        )
    };
    // A full backup of `vol` by step `step`, and the requests it made.
    let backed_up = |step: &'static str, vol: Value| {
        let env = &env;
        async move {
            let since = env.last_request().await;
            let b = env
                .run(
                    "cinder.backup",
                    step,
                    json!({"volume": vol, "name": step, "incremental": false}),
                )
                .await;
            (b, env.requests_since(since).await.0)
        }
    };
    let tmp = copy("tmp").await;
    let (b, asked) = backed_up("b", tmp.clone()).await;
    assert!(
        !asked.iter().any(|r| r.contains("/snapshots/")),
        "the snapshot is not read: {asked:?}"
    );
    let reads_of = |asked: &[String], vol: &Value| {
        asked
            .iter()
            .filter(|r| r.starts_with("GET ") && r.ends_with(&format!("/volumes/{}", s(vol, "id"))))
            .count()
    };
    assert_eq!(
        reads_of(&asked, &tmp),
        0,
        "this run's copy is not read: {asked:?}"
    );
    let a = env.acts.client("site-a").unwrap();
    let backup_of = |id: String| async move {
        let got: Value = a
            .request(
                Service::BlockStorage,
                reqwest::Method::GET,
                format!("backups/{id}"),
            )
            .send_json()
            .await
            .unwrap();
        got["backup"].clone()
    };
    let made = backup_of(s(&b, "id").to_string()).await;
    assert_eq!(made["volume_id"], vols[0]["id"], "{made}");
    assert_eq!(made["snapshot_id"], snap["id"], "{made}");

    // The copy's record says it comes from another volume than its
    // snapshot's: Cinder refuses the snapshot under that id, and the copy
    // is backed up.
    let mut tmp2 = copy("tmp2").await;
    tmp2["origin"] = vols[1]["id"].clone();
    let (b2, _) = backed_up("b2", tmp2.clone()).await;
    let made = backup_of(s(&b2, "id").to_string()).await;
    assert_eq!(made["volume_id"], tmp2["id"], "{made}");
    assert_eq!(made["snapshot_id"], Value::Null, "{made}");

    // A copy another run made is read: what it is now decides the chain.
    let mut other = copy("tmp3").await;
    other["name"] = json!("lb-another-run-tmp3");
    let (b3, asked) = backed_up("b3", other.clone()).await;
    assert_eq!(reads_of(&asked, &other), 1, "{asked:?}");
    let made = backup_of(s(&b3, "id").to_string()).await;
    assert_eq!(made["volume_id"], vols[0]["id"], "{made}");
    assert_eq!(made["snapshot_id"], snap["id"], "{made}");
    env.emu.shutdown().await;
}
