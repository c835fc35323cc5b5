//! The DR cycle after a disaster, over HTTP against the emulator with the
//! bundled runbooks: protect a → b; site-a down; recover at b; commit;
//! site-a back → its copies fenced (stopped, marked, locked, so they never
//! run beside the recovered VNF); unfenced on purpose.

mod e2e;

use e2e::{check_recovered, production, s, Env};
use lifeboat_emulator::Site;
use serde_json::{json, Value};

/// (name, status, locked, metadata) of the VNF's servers at `site`.
async fn servers(env: &Env, site: &str) -> Vec<(String, String, bool, Value)> {
    let l = env.api(site, "compute", "/servers/detail").await;
    let mut v: Vec<_> = l["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                s(x, "name").to_string(),
                s(x, "status").to_string(),
                x["locked"] == json!(true),
                x["metadata"].clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_recovery_the_old_sites_copies_are_fenced_until_unfenced() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    env.emu.set_site_down(Site::A, true);
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    assert!(r.result.outcome.is_awaiting_commit(), "{}", r.describe());
    let c = env.decide(&r, lifeboat_exec::Decision::Commit).await;
    assert!(c.ok());
    check_recovered(&env, &r, &prod, &roles, "").await;

    // Site-a answers again, its copies of the VNF still running: a split
    // brain until the fence.
    env.emu.set_site_down(Site::A, false);
    let before = servers(&env, "site-a").await;
    assert_eq!(before.len(), 6);
    assert!(before
        .iter()
        .all(|(_, st, locked, _)| st == "ACTIVE" && !locked));
    let f = env.run("fencing/fence", json!({"vnf": "vims"})).await;
    assert!(f.ok(), "fence: {}", f.describe());
    assert_eq!(f.succeeded("nova.fence").len(), 6);
    let fenced = servers(&env, "site-a").await;
    for (name, status, locked, meta) in &fenced {
        assert_eq!(status, "SHUTOFF", "{name}");
        assert!(locked, "{name} not locked");
        assert_eq!(
            meta["lifeboat_fenced"],
            json!(f.result.run_id),
            "{name}: {meta}"
        );
        assert_eq!(
            meta["lifeboat_fenced_status"],
            json!("ACTIVE"),
            "{name}: {meta}"
        );
    }
    // Nobody starts a fenced copy by mistake: its owner is refused.
    let id = env.api("site-a", "compute", "/servers/detail").await["servers"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, body) = env
        .api_answer(
            "site-a",
            "compute",
            reqwest::Method::POST,
            &format!("/servers/{id}/action"),
            Some(json!({"os-start": null})),
        )
        .await;
    assert_eq!(code, 409, "{body}");
    // The recovered VNF at site-b is untouched.
    let b = servers(&env, "site-b").await;
    assert_eq!(b.len(), 6);
    assert!(b.iter().all(|(_, st, locked, _)| st == "ACTIVE" && !locked));
    // Fencing again changes nothing (the mark keeps the first run).
    let f2 = env.run("fencing/fence", json!({"vnf": "vims"})).await;
    assert!(f2.ok(), "second fence: {}", f2.describe());
    assert_eq!(servers(&env, "site-a").await, fenced);

    // Unfenced on purpose: unlocked, unmarked, running again.
    let u = env.run("fencing/unfence", json!({"vnf": "vims"})).await;
    assert!(u.ok(), "unfence: {}", u.describe());
    let after = servers(&env, "site-a").await;
    for (name, status, locked, meta) in &after {
        assert_eq!(status, "ACTIVE", "{name}");
        assert!(!locked, "{name}");
        assert!(meta.get("lifeboat_fenced").is_none(), "{name}: {meta}");
        assert!(
            meta.get("lifeboat_fenced_status").is_none(),
            "{name}: {meta}"
        );
    }
    env.emu.shutdown().await;
}
