//! Option 3 end to end: replicate the VNF's volumes (retype to the
//! replication-enabled type), then with site-a down fail over to the replicas
//! at site-b: manage them, boot, attach.

mod e2e;

use e2e::{check_recovered, make_dr_networks, network_identity, production, s, store_mapping, Env};
use lifeboat_emulator::Site;
use lifeboat_tests::{re_ipd, REIP};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_then_failover_with_site_a_down() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "prepare: {}", p.describe());
    let reps: Vec<Value> = p.values("rep").into_iter().map(|(_, v)| v).collect();
    assert_eq!(reps.len(), 12);
    assert!(
        reps.iter()
            .all(|r| s(r, "site") == "site-b" && !s(r, "ref").is_empty()),
        "{reps:?}"
    );
    // Let replication catch up (fast timing: 200 ms lag), then lose site-a.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let bases: Vec<String> = roles.keys().cloned().collect();
    let identity = network_identity(&env, "site-a", &bases, true).await;
    env.emu.set_site_down(Site::A, true);
    let held = env.admin_get("/_emulator/sites/site-b/replicas").await;
    let before = env.counts().await;

    let refused = env
        .run_refused("option3/failover", json!({"vnf": "vims"}))
        .await;
    assert!(!refused.ok());
    assert_eq!(
        env.counts().await,
        before,
        "a refused failover changes nothing"
    );

    let r = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "failover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    assert_eq!(
        network_identity(&env, "site-b", &bases, true).await,
        identity
    );
    // Every managed volume is one of the replicas site-b held.
    let managed = env.admin_get("/_emulator/sites/site-b/replicas").await;
    let n = managed
        .as_array()
        .or(managed["replicas"].as_array())
        .map(|l| {
            l.iter()
                .filter(|x| !x["managed_as"].is_null() && x["managed_as"] != json!(""))
                .count()
        });
    assert_eq!(
        n,
        Some(12),
        "12 replicas managed: {managed}\n(before: {held})"
    );
    env.emu.shutdown().await;
}

/// Byte for byte: with the workload stopped after prepare and the
/// replication lag waited out, site-a is lost; every volume failover promotes
/// at site-b holds exactly what its source volume held at site-a at the
/// moment of the outage (the emulator's content checksums).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_promotes_the_source_content_byte_for_byte() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "prepare: {}", p.describe());
    // Stop the workload everywhere (no write falls due with an hour between
    // writes), also for the guests failover boots at site-b, so the promoted
    // volumes keep what they were promoted with.
    let mut timing = env.emu.timing();
    timing.write_interval = std::time::Duration::from_secs(3600);
    env.emu.set_timing(timing);
    // Wait out the replication lag: every replica at site-b catches up with
    // its source (bounded; the lag is 200 ms).
    let sources: Vec<String> = prod.keys().cloned().collect();
    assert_eq!(sources.len(), 12);
    e2e::replicas_caught_up(&env, Site::A, &sources).await;
    env.emu.set_site_down(Site::A, true);
    // The content at the moment of the outage.
    let at_outage: std::collections::BTreeMap<String, String> = sources
        .iter()
        .map(|id| {
            (
                id.clone(),
                env.emu
                    .volume_checksum(Site::A, id)
                    .expect("source checksum"),
            )
        })
        .collect();
    // The workload did write before it stopped: the volumes are not all alike.
    let distinct: std::collections::BTreeSet<&String> = at_outage.values().collect();
    assert!(
        distinct.len() > 1,
        "the sources hold distinct content: {at_outage:?}"
    );

    let r = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "failover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    let promoted = e2e::adopted(&env, "site-b").await;
    assert_eq!(promoted.len(), 12, "12 promoted volumes: {promoted:?}");
    for (id, source) in &promoted {
        let want = at_outage
            .get(source)
            .unwrap_or_else(|| panic!("promoted volume {id} names an unknown source {source}"));
        assert_eq!(
            env.emu.volume_checksum(Site::B, id).as_ref(),
            Some(want),
            "promoted volume {id} (from {source} = {}) differs from its source at the outage",
            prod[source]
        );
    }
    env.emu.shutdown().await;
}

/// One volume's retype is refused (400) while the others go through:
/// prepare compensates — every volume it retyped goes back to its type, and
/// replication of them stops — and the error names the step, the volume and
/// the site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_failure_mid_run_compensates() {
    let env = Env::start().await;
    let (prod, _) = production(&env).await;
    let victim = prod
        .iter()
        .find(|(_, n)| n.as_str() == "vims-lb-2-data")
        .map(|(id, _)| id.clone())
        .expect("vims-lb-2-data");
    let before = env.volumes("site-a").await;
    env.faults(&format!("rules:\n  - {{site: site-a, service: volume, method: POST, path_contains: \"volumes/{victim}/action\", error_rate: 1.0, error_status: 400}}\n"));
    let p = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(!p.ok(), "prepare must fail");
    let (instance, error) = p.first_failure().expect("a failed step");
    assert!(
        instance.starts_with("r["),
        "the retype failed: {instance}: {error}"
    );
    assert!(
        error.contains(&victim) && error.contains("site-a"),
        "the error names the volume and the site: {error}"
    );
    assert!(
        !p.succeeded("cinder.retype").is_empty(),
        "other retypes had gone through: {}",
        p.describe()
    );
    assert_eq!(
        p.compensated().len(),
        p.succeeded("cinder.retype").len(),
        "each retype undone: {}",
        p.describe()
    );
    assert_eq!(p.result.compensation_failures, 0, "{}", p.describe());
    // Every volume back to its type, available or in-use as before.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(env.volumes("site-a").await, before, "volumes as they were");
    let vols = env.api("site-a", "volume", "/volumes/detail").await;
    assert!(
        vols["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| s(v, "replication_status") != "enabled"),
        "replication stopped: {vols}"
    );
    // The manifest was never written: a failover finds nothing to adopt.
    assert_eq!(env.counts().await["site-b"]["volumes"], json!(0));
    env.emu.shutdown().await;
}

/// Attaching fails at site-b after the first group's replicas were adopted
/// and its servers booted: failover compensates — no server left at site-b —
/// and keeps the replicas it adopted (available, attached to nothing: a
/// backend volume can be adopted only once, so unmanaging would strand its
/// data); the error names the step, the server and the site. A retry without
/// the fault takes the adopted volumes as they are and completes the failover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_failure_mid_run_compensates_and_a_retry_completes() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "prepare: {}", p.describe());
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    env.emu.set_site_down(Site::A, true);
    env.faults("rules:\n  - {site: site-b, service: compute, method: POST, path_contains: os-volume_attachments, error_rate: 1.0, error_status: 400}\n");
    let r = env.run("option3/failover", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(!r.ok(), "failover must fail");
    let adopted = r.succeeded("cinder.manage_existing").len();
    assert!(
        adopted > 0 && !r.succeeded("nova.boot_from_volume").is_empty(),
        "{}",
        r.describe()
    );
    let (instance, error) = r.first_failure().expect("a failed step");
    assert!(
        instance.contains("att"),
        "the attach failed: {instance}: {error}"
    );
    assert!(
        error.contains("site-b") && error.contains("server"),
        "the error names the resource and the site: {error}"
    );
    assert_eq!(r.result.compensation_failures, 0, "{}", r.describe());
    let comp = r.compensated();
    assert!(
        comp.iter().any(|i| i.starts_with("srv"))
            && !comp
                .iter()
                .any(|i| i.starts_with("boot") || i.starts_with("dv")),
        "servers deleted, adopted volumes kept: {comp:?}"
    );
    let c = env.counts().await;
    assert_eq!(c["site-b"]["servers"], json!(0), "{c}\n{}", r.describe());
    let vols = env.volumes("site-b").await;
    assert_eq!(vols.len(), adopted, "{vols:?}");
    assert!(
        vols.iter().all(|(_, st, _)| st == "available"),
        "adopted volumes detached and available: {vols:?}"
    );
    // The retry reuses them: nothing adopted twice, the VNF up at site-b.
    let r2 = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(r2.ok(), "failover retry: {}", r2.describe());
    check_recovered(&env, &r2, &prod, &roles, "").await;
    assert_eq!(
        env.volumes("site-b").await.len(),
        12,
        "twelve volumes at site-b, none adopted twice"
    );
    env.emu.shutdown().await;
}

/// Object data (Swift container sync): prepare syncs the VNF's containers
/// to site-b, objects written and deleted afterwards follow, the drill
/// reads the replicas and reports their lag, and with site-a down the
/// failover checks them and boots servers that name them; every object
/// reads back at site-b byte for byte. The sync key is in no record, no
/// event and no manifest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_data_follows_by_container_sync_and_fails_over_byte_for_byte() {
    let env = Env::start().await;
    let a = env.acts.client("site-a").unwrap();
    let b = env.acts.client("site-b").unwrap();
    let mut want: std::collections::BTreeMap<(String, String), Vec<u8>> = Default::default();
    for (ct, n) in [("vims-cdr", 5u8), ("vims-config", 3)] {
        for i in 0..n {
            let name = format!("obj-{i}/part {i}.bin");
            let data: Vec<u8> = (0..(1000 + 37 * i as usize))
                .map(|k| (k as u8).wrapping_mul(i + 7) ^ 0xA5)
                .collect();
            a.swift()
                .put_object(ct, &name, data.clone(), "application/octet-stream")
                .await
                .expect("object written");
            want.insert((ct.to_string(), name), data);
        }
    }

    let p = env
        .run(
            "option3/prepare",
            json!({"vnf": "vims", "containers": ["vims-cdr", "vims-config"]}),
        )
        .await;
    assert!(p.ok(), "prepare: {}", p.describe());
    let synced: Vec<Value> = p.values("synced").into_iter().map(|(_, v)| v).collect();
    assert_eq!(synced.len(), 2, "{synced:?}");
    for r in &synced {
        assert!(
            s(r, "sync_to").starts_with("//LIFEBOAT/SITE-B/AUTH_"),
            "{r}"
        );
        assert_eq!(s(r, "replica_site"), "site-b");
        assert!(s(r, "key_ref").contains("never copied"), "{r}");
        assert!(r["source_seen"].as_bool().unwrap());
    }
    let key = a
        .swift()
        .container("vims-cdr")
        .await
        .unwrap()
        .sync_key
        .expose()
        .to_string();
    assert_eq!(key.len(), 64, "a new random key");
    assert_eq!(
        b.swift()
            .container("vims-cdr")
            .await
            .unwrap()
            .sync_key
            .expose(),
        key,
        "the replica holds the same key"
    );

    // After prepare: a new object, one overwritten, one deleted.
    let fresh = b"written after prepare".to_vec();
    a.swift()
        .put_object("vims-cdr", "late.txt", fresh.clone(), "text/plain")
        .await
        .unwrap();
    want.insert(("vims-cdr".into(), "late.txt".into()), fresh);
    let changed = b"changed after prepare".to_vec();
    a.swift()
        .put_object(
            "vims-config",
            "obj-0/part 0.bin",
            changed.clone(),
            "text/plain",
        )
        .await
        .unwrap();
    want.insert(("vims-config".into(), "obj-0/part 0.bin".into()), changed);
    a.swift()
        .delete_object("vims-cdr", "obj-4/part 4.bin")
        .await
        .unwrap();
    want.remove(&("vims-cdr".to_string(), "obj-4/part 4.bin".to_string()));

    // The sync catches up (the emulator's lag is 200 ms).
    let start = std::time::Instant::now();
    loop {
        let mut same = true;
        for ct in ["vims-cdr", "vims-config"] {
            let sa: Vec<(String, String)> = a
                .swift()
                .list(ct, "")
                .await
                .unwrap()
                .into_iter()
                .map(|o| (o.name, o.hash))
                .collect();
            let sb: Vec<(String, String)> = b
                .swift()
                .list(ct, "")
                .await
                .unwrap()
                .into_iter()
                .map(|o| (o.name, o.hash))
                .collect();
            same &= sa == sb;
        }
        if same {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "container sync did not catch up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let d = env.run("option3/drill", json!({"vnf": "vims"})).await;
    assert!(d.ok(), "drill: {}", d.describe());
    let looked: Vec<Value> = d.values("objects").into_iter().map(|(_, v)| v).collect();
    assert_eq!(looked.len(), 2);
    for r in &looked {
        assert!(r["source_seen"].as_bool().unwrap(), "{r}");
        assert_eq!(r["behind_objects"], json!(0), "caught up: {r}");
    }

    env.emu.set_site_down(Site::A, true);
    let f = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(f.ok(), "failover: {}", f.describe());
    let checked: Vec<Value> = f.values("objects").into_iter().map(|(_, v)| v).collect();
    assert_eq!(checked.len(), 2);
    assert!(
        checked.iter().all(|r| !r["source_seen"].as_bool().unwrap()),
        "site-a is down: {checked:?}"
    );
    for (_, srv) in f.values("srv") {
        let shown = env
            .api("site-b", "compute", &format!("/servers/{}", s(&srv, "id")))
            .await;
        assert_eq!(
            shown["server"]["metadata"]["lifeboat_containers"],
            json!("vims-cdr,vims-config"),
            "{shown}"
        );
    }
    for ((ct, name), data) in &want {
        let got = b
            .swift()
            .get_object(ct, name)
            .await
            .unwrap_or_else(|e| panic!("{ct}/{name} at site-b: {e}"));
        assert_eq!(&got, data, "{ct}/{name} byte for byte");
    }
    assert!(
        b.swift()
            .get_object("vims-cdr", "obj-4/part 4.bin")
            .await
            .is_err(),
        "the delete followed"
    );

    // The key is in no event (journal, report) and no manifest.
    for run in [&p, &d, &f] {
        let events = serde_json::to_string(&run.events).unwrap();
        assert!(
            !events.contains(&key),
            "the sync key leaked into the events"
        );
    }
    for o in b.swift().list("lifeboat-manifests", "").await.unwrap() {
        let text = b
            .swift()
            .get_object("lifeboat-manifests", &o.name)
            .await
            .unwrap();
        assert!(
            !String::from_utf8_lossy(&text).contains(&key),
            "the sync key leaked into {}",
            o.name
        );
    }

    // Failing back: the same action the other way, b → a, once site-a is
    // back. What the VNF wrote at site-b arrives at site-a; nothing echoes.
    env.emu.set_site_down(Site::A, false);
    let back = e2e::compile_text(
        "back.dr",
        "runbook back \"sync b to a\" {\n  param from: site = \"site-b\"\n  param to: site = \"site-a\"\n  param containers: list<string> = []\n  for name in containers parallel 4 {\n    synced = swift.replicate_container(site: from, container: name, to: to)\n  }\n}\n",
    );
    let r = env
        .run_plan(
            &back,
            json!({"containers": ["vims-cdr"]}),
            std::sync::Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    assert!(r.ok(), "sync back: {}", r.describe());
    let (_, rec) = r.values("synced").pop().expect("a replica record");
    assert!(
        s(&rec, "sync_to").starts_with("//LIFEBOAT/SITE-A/"),
        "{rec}"
    );
    assert_eq!(
        b.swift()
            .container("vims-cdr")
            .await
            .unwrap()
            .sync_key
            .expose(),
        key,
        "the pair keeps its key"
    );
    let at_b = b"written at site-b after failover".to_vec();
    b.swift()
        .put_object("vims-cdr", "failed-over.txt", at_b.clone(), "text/plain")
        .await
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Ok(got) = a.swift().get_object("vims-cdr", "failed-over.txt").await {
            assert_eq!(got, at_b);
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "b → a sync did not deliver"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let names = |l: Vec<lifeboat_openstack::swift::ObjectEntry>| {
        l.into_iter()
            .map(|o| (o.name, o.hash, o.last_modified))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(a.swift().list("vims-cdr", "").await.unwrap()),
        names(b.swift().list("vims-cdr", "").await.unwrap()),
        "both sides hold the same objects, with the same times"
    );
    env.emu.shutdown().await;
}

/// A container that does not exist fails prepare with a clear error, and
/// the containers it had already set syncing stop again (compensation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_with_a_missing_container_fails_and_stops_the_syncs_it_set() {
    let env = Env::start().await;
    let a = env.acts.client("site-a").unwrap();
    a.swift()
        .put_object("vims-cdr", "x", b"x".to_vec(), "text/plain")
        .await
        .unwrap();
    let p = env
        .run(
            "option3/prepare",
            json!({"vnf": "vims", "containers": ["vims-cdr", "no-such-container"]}),
        )
        .await;
    assert!(!p.ok());
    let (_, why) = p.first_failure().expect("a failed step");
    assert!(
        why.contains("no container \"no-such-container\" at site site-a"),
        "{why}"
    );
    let info = a.swift().container("vims-cdr").await.unwrap();
    assert!(
        info.sync_to.is_empty(),
        "the sync prepare set was taken back: {info:?}"
    );
    assert!(
        !info.meta.contains_key("lifeboat-sync-by"),
        "{:?}",
        info.meta
    );
    env.emu.shutdown().await;
}

/// Failover by the site mapping kept at site-b: the replicas are adopted
/// with the mapped volume type, the servers boot with the mapped flavor,
/// and every port is re-IP'd onto site-b's own networks exactly by the
/// rules (MACs, VIP pairs and the floating IP kept). A mapped type whose
/// backend is not the replicas' cannot adopt them: that failover fails,
/// leaves no volume behind, and the replicas stay adoptable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_by_the_site_mapping_re_ips_and_maps_types_and_flavors() {
    let mut config = lifeboat_emulator::EmulatorConfig::fast();
    config
        .topology
        .volume_types
        .push(lifeboat_emulator::topology::TypeSpec {
            name: "dr-replica".into(),
            specs: [("volume_backend_name".to_string(), "replica".to_string())].into(),
        });
    let env = Env::start_with(config).await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "prepare: {}", p.describe());
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let bases: Vec<String> = roles.keys().cloned().collect();
    let at_a = network_identity(&env, "site-a", &bases, true).await;
    make_dr_networks(&env).await;
    env.emu.set_site_down(Site::A, true);
    // `standard` lives on the lvm backend: no replica can be placed there.
    store_mapping(
        &env,
        &format!("{REIP}volume_types:\n  - {{from: replicated, to: standard}}\n"),
    )
    .await;
    let before = env.counts().await;
    let bad = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(!bad.ok());
    let (_, why) = bad.first_failure().expect("a failed step");
    assert!(why.contains("error_managing"), "{why}");
    // The volumes Cinder could not place are deleted (deletes are async).
    let mut after = env.counts().await;
    for _ in 0..100 {
        if after["site-b"]["volumes"] == before["site-b"]["volumes"] {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        after = env.counts().await;
    }
    assert_eq!(
        after["site-b"]["volumes"], before["site-b"]["volumes"],
        "{after}"
    );
    assert_eq!(
        after["site-b"]["ports"], before["site-b"]["ports"],
        "{after}"
    );
    store_mapping(
        &env,
        &format!("{REIP}flavors:\n  - {{from: m1.small, to: m1.medium}}\nvolume_types:\n  - {{from: replicated, to: dr-replica}}\n"),
    )
    .await;
    let r = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "failover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    assert_eq!(
        network_identity(&env, "site-b", &bases, true).await,
        re_ipd(&at_a)
    );
    let (_, cmp) = &r.values("identity")[0];
    assert_eq!(cmp["ok"], true, "{cmp}");
    let vols = env.api("site-b", "volume", "/volumes/detail").await;
    let vols = vols["volumes"].as_array().unwrap();
    assert_eq!(vols.len(), 12);
    assert!(
        vols.iter().all(|v| s(v, "volume_type") == "dr-replica"),
        "{vols:?}"
    );
    let srvs = env.api("site-b", "compute", "/servers/detail").await;
    for srv in srvs["servers"].as_array().unwrap() {
        let flavor = s(&srv["flavor"], "original_name");
        if s(srv, "name").contains("-lb-") {
            assert_eq!(flavor, "m1.medium", "{srv}");
        } else {
            assert_ne!(flavor, "m1.small", "{srv}");
        }
    }
}
