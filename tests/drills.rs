//! Drills of the three options: each recovers an isolated copy at site-b,
//! verifies it and deletes what it made. Counted before and after, at both
//! sites: servers, volumes, snapshots, images unchanged. Imported backup
//! records are deliberately kept (deleting an imported backup on real Cinder
//! deletes the backup objects it shares with the original — the recovery
//! point); they are reused, so a second drill leaves nothing more.

mod e2e;

use e2e::{s, Env};
use serde_json::{json, Value};

fn without_backups(c: &Value) -> Value {
    let mut c = c.clone();
    for site in ["site-a", "site-b"] {
        c[site].as_object_mut().unwrap().remove("backups");
    }
    c
}

async fn drill_twice(env: &Env, option: &str) {
    let before = env.counts().await;
    let d1 = env
        .run(&format!("{option}/drill"), json!({"vnf": "vims"}))
        .await;
    assert!(d1.ok(), "{option} drill: {}", d1.describe());
    // The drill verified what it booted, and the content before boot.
    let checks = d1.values("check");
    assert_eq!(checks.len(), 3, "one check per boot group: {checks:?}");
    for (i, c) in &checks {
        assert_eq!(c["ok"], json!(true), "{i}: {c}");
    }
    if let Some((_, r)) = d1.values("restored").first() {
        assert_eq!(r["ok"], json!(true), "{r}");
        assert_eq!(s(r, "detail").matches("content matches").count(), 12, "{r}");
    }
    // On the test networks with the recorded identity (no floating IPs), as
    // site-b's Neutron and Nova reported it while the drill ran.
    let (_, id) = &d1.values("identity")[0];
    assert_eq!(id["ok"], json!(true), "{id}");
    assert!(s(id, "detail").starts_with("13/13 ports identical"), "{id}");
    assert_eq!(
        d1.succeeded("neutron.recreate_port").len(),
        13,
        "{}",
        d1.describe()
    );
    // Names suffixed; everything it made (ports, groups, key pairs) deleted.
    let after1 = env.counts().await;
    assert_eq!(
        without_backups(&after1),
        without_backups(&before),
        "{option} drill left resources: before {before} after {after1}"
    );
    let imported = after1["site-b"]["backups"].as_i64().unwrap()
        - before["site-b"]["backups"].as_i64().unwrap();
    let d2 = env
        .run(&format!("{option}/drill"), json!({"vnf": "vims"}))
        .await;
    assert!(d2.ok(), "second {option} drill: {}", d2.describe());
    let after2 = env.counts().await;
    assert_eq!(after2, after1, "a second {option} drill leaves nothing more (imported backups reused): {after1} → {after2}");
    assert!(
        imported == 0 || imported == 12,
        "imported backup records kept: {imported}"
    );
    // Production untouched: the six servers at site-a still ACTIVE.
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    assert!(srvs["servers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| s(v, "status") == "ACTIVE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option1_drill_leaves_nothing_behind() {
    let env = Env::start().await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    drill_twice(&env, "option1").await;
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option2_drill_leaves_nothing_behind() {
    let env = Env::start().await;
    let p = env.run("option2/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    drill_twice(&env, "option2").await;
    env.emu.shutdown().await;
}

/// Option 3: the drill is a readiness check (see workflows/option3/drill.dr
/// for why it boots nothing): every replica checked, nothing changed, the
/// replicas still unmanaged and still following production. A replica taken
/// over (managed) fails the next drill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option3_drill_checks_replicas_and_touches_nothing() {
    let env = Env::start().await;
    let p = env.run("option3/prepare", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "prepare: {}", p.describe());
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let list = |v: &Value| -> Vec<Value> {
        v.as_array()
            .or(v["replicas"].as_array())
            .cloned()
            .unwrap_or_default()
    };
    let before = env.counts().await;
    let d = env.run("option3/drill", json!({"vnf": "vims"})).await;
    assert!(d.ok(), "drill: {}", d.describe());
    let ready = d.values("ready");
    assert_eq!(ready.len(), 12, "{ready:?}");
    assert!(ready.iter().all(|(_, r)| s(r, "status") == "manageable"));
    assert_eq!(env.counts().await, before, "the drill changed nothing");
    let after = env.admin_get("/_emulator/sites/site-b/replicas").await;
    assert_eq!(list(&after).len(), 12, "{after}");
    assert!(
        list(&after)
            .iter()
            .all(|r| r["managed_as"].is_null() && r["active"] == json!(true)),
        "replicas untouched: {after}"
    );
    let sums =
        |v: &Value| -> Vec<String> { list(v).iter().map(|r| r["checksum"].to_string()).collect() };
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let later = env.admin_get("/_emulator/sites/site-b/replicas").await;
    assert_ne!(
        sums(&later),
        sums(&after),
        "replicas follow production after the drill"
    );

    // Take one replica over by hand: the drill now fails, naming it.
    let rep = &p.values("rep")[0].1;
    let r = env.acts.clone();
    let call = lifeboat_exec::action::ActionCall {
        action: "cinder.manage_existing".into(),
        args: json!({"site": "site-b", "replica": rep, "name": "taken", "volume_type": "", "bootable": false}).as_object().cloned().unwrap(),
        site: None,
        run_id: "manual".into(),
        step: "take".into(),
        tag: "lb-manual-take".into(),
        attempt: 1,
        timeout: std::time::Duration::from_secs(30),
        purpose: Default::default(),
        fence: Default::default(),
    };
    lifeboat_exec::action::Actions::run(r.as_ref(), &call)
        .await
        .expect("manage one replica");
    let d2 = env.run("option3/drill", json!({"vnf": "vims"})).await;
    assert!(!d2.ok(), "a replica already taken over fails the drill");
    assert!(d2.describe().contains(s(rep, "ref")), "{}", d2.describe());
    env.emu.shutdown().await;
}

/// A drill that fails half-way (attaching at site-b is refused once the
/// first boot group is up) still deletes everything it made: servers and
/// restored volumes at site-b, nothing at site-a touched; the error names
/// the step, the server and the site.
async fn failed_drill_leaves_nothing(env: &Env, option: &str) {
    let before = env.counts().await;
    env.faults("rules:\n  - {site: site-b, service: compute, method: POST, path_contains: os-volume_attachments, error_rate: 1.0, error_status: 400}\n");
    let d = env
        .run(&format!("{option}/drill"), json!({"vnf": "vims"}))
        .await;
    env.emu.clear_faults();
    assert!(!d.ok(), "{option} drill must fail");
    assert!(
        !d.succeeded("nova.boot_from_volume").is_empty(),
        "servers were up before the failure: {}",
        d.describe()
    );
    let (instance, error) = d.first_failure().expect("a failed step");
    assert!(instance.contains("att"), "{instance}: {error}");
    assert!(
        error.contains("site-b") && error.contains("server"),
        "the error names the resource and the site: {error}"
    );
    assert_eq!(
        d.result.compensation_failures + d.result.cleanup_failures,
        0,
        "{}",
        d.describe()
    );
    let after = env.counts().await;
    assert_eq!(
        without_backups(&after),
        without_backups(&before),
        "{option} failed drill left resources: before {before} after {after}"
    );
    assert_eq!(after["site-b"]["servers"], json!(0));
    let srvs = env.api("site-a", "compute", "/servers/detail").await;
    assert!(
        srvs["servers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| s(v, "status") == "ACTIVE"),
        "production untouched"
    );
    // And the next drill, without the fault, passes.
    let d2 = env
        .run(&format!("{option}/drill"), json!({"vnf": "vims"}))
        .await;
    assert!(d2.ok(), "{option} drill after the fault: {}", d2.describe());
    assert_eq!(
        without_backups(&env.counts().await),
        without_backups(&before)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option1_drill_failing_mid_run_leaves_nothing_behind() {
    let env = Env::start().await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    failed_drill_leaves_nothing(&env, "option1").await;
    env.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option2_drill_failing_mid_run_leaves_nothing_behind() {
    let env = Env::start().await;
    let p = env.run("option2/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    failed_drill_leaves_nothing(&env, "option2").await;
    env.emu.shutdown().await;
}
