//! Option 3 end to end: replicate the VNF's volumes (retype to the
//! replication-enabled type), then with site-a down fail over to the replicas
//! at site-b: manage them, boot, attach.

mod e2e;

use e2e::{check_recovered, production, s, Env};
use lifeboat_emulator::Site;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepare_then_failover_with_site_a_down() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "prepare: {}", p.describe());
    let reps: Vec<Value> = p.values("rep").into_iter().map(|(_, v)| v).collect();
    assert_eq!(reps.len(), 12);
    assert!(reps.iter().all(|r| s(r, "site") == "site-b" && !s(r, "ref").is_empty()), "{reps:?}");
    // Let replication catch up (fast timing: 200 ms lag), then lose site-a.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    env.emu.set_site_down(Site::A, true);
    let held = env.admin_get("/_emulator/sites/site-b/replicas").await;
    let before = env.counts().await;

    let refused = env.run_refused("option3/failover", json!({"vnf": "vims"})).await;
    assert!(!refused.ok());
    assert_eq!(env.counts().await, before, "a refused failover changes nothing");

    let r = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "failover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    // Every managed volume is one of the replicas site-b held.
    let managed = env.admin_get("/_emulator/sites/site-b/replicas").await;
    let n = managed.as_array().or(managed["replicas"].as_array()).map(|l| l.iter().filter(|x| !x["managed_as"].is_null() && x["managed_as"] != json!("")).count());
    assert_eq!(n, Some(12), "12 replicas managed: {managed}\n(before: {held})");
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
    let start = std::time::Instant::now();
    loop {
        let behind: Vec<&String> = sources
            .iter()
            .filter(|id| {
                let replica = env.emu.replica_checksum(Site::B, &format!("volume-{id}"));
                replica.is_none() || replica != env.emu.volume_checksum(Site::A, id)
            })
            .collect();
        if behind.is_empty() {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(15), "replicas still behind their sources: {behind:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    env.emu.set_site_down(Site::A, true);
    // The content at the moment of the outage.
    let at_outage: std::collections::BTreeMap<String, String> =
        sources.iter().map(|id| (id.clone(), env.emu.volume_checksum(Site::A, id).expect("source checksum"))).collect();
    // The workload did write before it stopped: the volumes are not all alike.
    let distinct: std::collections::BTreeSet<&String> = at_outage.values().collect();
    assert!(distinct.len() > 1, "the sources hold distinct content: {at_outage:?}");

    let r = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "failover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    let vols = env.api("site-b", "volume", "/volumes/detail").await;
    let promoted: Vec<(String, String)> = vols["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !s(&v["metadata"], "replicated_from").is_empty())
        .map(|v| (s(v, "id").to_string(), s(&v["metadata"], "replicated_from").to_string()))
        .collect();
    assert_eq!(promoted.len(), 12, "12 promoted volumes: {promoted:?}");
    for (id, source) in &promoted {
        let want = at_outage.get(source).unwrap_or_else(|| panic!("promoted volume {id} names an unknown source {source}"));
        assert_eq!(env.emu.volume_checksum(Site::B, id).as_ref(), Some(want), "promoted volume {id} (from {source} = {}) differs from its source at the outage", prod[source]);
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
    let victim = prod.iter().find(|(_, n)| n.as_str() == "vims-lb-2-data").map(|(id, _)| id.clone()).expect("vims-lb-2-data");
    let before = env.volumes("site-a").await;
    env.faults(&format!("rules:\n  - {{site: site-a, service: volume, method: POST, path_contains: \"volumes/{victim}/action\", error_rate: 1.0, error_status: 400}}\n"));
    let p = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(!p.ok(), "prepare must fail");
    let (instance, error) = p.first_failure().expect("a failed step");
    assert!(instance.starts_with("r["), "the retype failed: {instance}: {error}");
    assert!(error.contains(&victim) && error.contains("site-a"), "the error names the volume and the site: {error}");
    assert!(!p.succeeded("cinder.retype").is_empty(), "other retypes had gone through: {}", p.describe());
    assert_eq!(p.compensated().len(), p.succeeded("cinder.retype").len(), "each retype undone: {}", p.describe());
    assert_eq!(p.result.compensation_failures, 0, "{}", p.describe());
    // Every volume back to its type, available or in-use as before.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(env.volumes("site-a").await, before, "volumes as they were");
    let vols = env.api("site-a", "volume", "/volumes/detail").await;
    assert!(vols["volumes"].as_array().unwrap().iter().all(|v| s(v, "replication_status") != "enabled"), "replication stopped: {vols}");
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
    assert!(adopted > 0 && !r.succeeded("nova.boot_from_volume").is_empty(), "{}", r.describe());
    let (instance, error) = r.first_failure().expect("a failed step");
    assert!(instance.contains("att"), "the attach failed: {instance}: {error}");
    assert!(error.contains("site-b") && error.contains("server"), "the error names the resource and the site: {error}");
    assert_eq!(r.result.compensation_failures, 0, "{}", r.describe());
    let comp = r.compensated();
    assert!(comp.iter().any(|i| i.starts_with("srv")) && !comp.iter().any(|i| i.starts_with("boot") || i.starts_with("dv")), "servers deleted, adopted volumes kept: {comp:?}");
    let c = env.counts().await;
    assert_eq!(c["site-b"]["servers"], json!(0), "{c}\n{}", r.describe());
    let vols = env.volumes("site-b").await;
    assert_eq!(vols.len(), adopted, "{vols:?}");
    assert!(vols.iter().all(|(_, st, _)| st == "available"), "adopted volumes detached and available: {vols:?}");
    // The retry reuses them: nothing adopted twice, the VNF up at site-b.
    let r2 = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(r2.ok(), "failover retry: {}", r2.describe());
    check_recovered(&env, &r2, &prod, &roles, "").await;
    assert_eq!(env.volumes("site-b").await.len(), 12, "twelve volumes at site-b, none adopted twice");
    env.emu.shutdown().await;
}
