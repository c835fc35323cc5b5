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

/// The newest point of option 1 at site-b: the protect (or migrate) run id
/// of the manifest `latest-option1.json` names.
async fn newest_point(env: &Env) -> String {
    const READ: &str = r#"
runbook read "The newest point of option 1" {
  param vnf: string
  m = lifeboat.read_manifest(site: "site-b", vnf: vnf, option: "option1")
}
"#;
    let r = env
        .run_plan(
            &e2e::compile_text("read.dr", READ),
            json!({"vnf": "vims"}),
            std::sync::Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    assert!(r.ok(), "{}", r.describe());
    s(&r.values("m")[0].1, "run_id").to_string()
}

/// Planned migration, RPO 0: the servers at site-a are stopped (kept), a
/// final incremental backup holds every volume exactly as it stopped, and
/// the VNF comes up at site-b from it, awaiting commit. Rolled back, site-b
/// is as before, the migration's backups and manifest are gone (the newest
/// point is the protect's again) and site-a runs again. Migrated again and
/// committed, the VNF runs at site-b only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option1_migrate_moves_the_vnf_with_nothing_lost_and_rolls_back() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    let before_b = env.counts().await["site-b"].clone();
    let before_a = env.counts().await["site-a"].clone();

    let m = env.run("option1/migrate", json!({"vnf": "vims"})).await;
    assert!(m.result.outcome.is_awaiting_commit(), "{}", m.describe());
    let a = servers(&env, "site-a").await;
    assert_eq!(a.len(), 6);
    assert!(a.iter().all(|(_, st, _, _)| st == "SHUTOFF"), "{a:?}");
    let b = servers(&env, "site-b").await;
    assert!(b.iter().all(|(_, st, _, _)| st == "ACTIVE"), "{b:?}");
    check_recovered(&env, &m, &prod, &roles, "").await;
    // RPO 0: each production volume, as it stands stopped, is exactly what
    // the migration's backup of it holds; the restored volumes were
    // verified against those backups before any guest wrote.
    let made: Vec<Value> = m.values("b").into_iter().map(|(_, v)| v).collect();
    assert_eq!(made.len(), 12);
    for bk in &made {
        let origin = s(bk, "origin");
        assert!(!origin.is_empty(), "{bk}");
        assert_eq!(
            env.emu.volume_checksum(Site::A, origin),
            env.emu.backup_checksum(Site::A, s(bk, "id")),
            "production volume {origin} differs from its final backup"
        );
    }
    let (_, restored) = &m.values("restore.restored")[0];
    assert_eq!(
        s(restored, "detail").matches("content matches").count(),
        12,
        "{restored}"
    );
    assert_eq!(newest_point(&env).await, m.result.run_id);
    // Rolled back: as if it never happened.
    let rb = env.decide(&m, lifeboat_exec::Decision::Rollback).await;
    assert!(
        matches!(
            rb.result.outcome,
            lifeboat_exec::RunOutcome::RolledBack { .. }
        ),
        "{:?}",
        rb.result.outcome
    );
    assert_eq!(rb.result.compensation_failures, 0, "{:?}", rb.result);
    let mut after_b = env.counts().await["site-b"].clone();
    // The imported backup records stay at site-b (they share the data).
    after_b["backups"] = before_b["backups"].clone();
    assert_eq!(after_b, before_b);
    assert_eq!(
        env.counts().await["site-a"],
        before_a,
        "the migration's backups and snapshots are gone"
    );
    let a = servers(&env, "site-a").await;
    assert!(
        a.iter().all(|(_, st, _, _)| st == "ACTIVE"),
        "started again: {a:?}"
    );
    assert_eq!(newest_point(&env).await, p.result.run_id);

    // Migrated again and committed.
    let m2 = env.run("option1/migrate", json!({"vnf": "vims"})).await;
    assert!(m2.result.outcome.is_awaiting_commit(), "{}", m2.describe());
    let c = env.decide(&m2, lifeboat_exec::Decision::Commit).await;
    assert_eq!(c.result.outcome, lifeboat_exec::RunOutcome::Succeeded);
    assert!(servers(&env, "site-a")
        .await
        .iter()
        .all(|(_, st, _, _)| st == "SHUTOFF"));
    assert!(servers(&env, "site-b")
        .await
        .iter()
        .all(|(_, st, _, _)| st == "ACTIVE"));
    assert_eq!(newest_point(&env).await, m2.result.run_id);
    env.emu.shutdown().await;
}
