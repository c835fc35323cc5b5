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
