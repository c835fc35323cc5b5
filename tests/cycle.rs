//! The DR cycle after a disaster, over HTTP against the emulator with the
//! bundled runbooks: protect a → b; site-a down; recover at b; commit;
//! site-a back → its copies fenced (stopped, marked, locked, so they never
//! run beside the recovered VNF); unfenced on purpose. Planned migration
//! and its rollback. DNS: the VNF's names follow it (Designate).

mod e2e;

use e2e::{check_recovered, make_dr_networks, production, s, store_mapping, store_mapping_at, Env};
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
    newest_point_of(env, "option1").await
}

/// The newest point of `option` at site-b.
async fn newest_point_of(env: &Env, option: &str) -> String {
    const READ: &str = r#"
runbook read "The newest point of an option" {
  param vnf: string
  param option: string
  m = lifeboat.read_manifest(site: "site-b", vnf: vnf, option: option)
}
"#;
    let r = env
        .run_plan(
            &e2e::compile_text("read.dr", READ),
            json!({"vnf": "vims", "option": option}),
            std::sync::Arc::new(lifeboat_exec::AutoApprove),
        )
        .await;
    assert!(r.ok(), "{}", r.describe());
    s(&r.values("m")[0].1, "run_id").to_string()
}

/// RPO 0 for the migration `m` from `site`: each volume there, as it
/// stands stopped, holds exactly what the migration's final backup of it
/// holds (a backup's `origin` is the VNF's first volume; the volume it was
/// taken from is its snapshot's), and every restored volume was checked
/// against its backup before the servers booted (they write since).
fn nothing_lost(env: &Env, m: &e2e::Run, site: Site) {
    let (_, snap) = &m.values("snap")[0];
    final_backups_hold(env, m, site, snap["snapshots"].as_array().unwrap());
    let (_, restored) = &m.values("restore.restored")[0];
    assert_eq!(
        s(restored, "detail").matches("content matches").count(),
        12,
        "{restored}"
    );
}

/// Each volume at `site`, as it stands stopped, holds exactly what the
/// migration `m`'s final backup of it holds; `snapshots` are the
/// migration's snapshots (a backup's `origin` is the VNF's first volume,
/// the volume it was taken from is its snapshot's).
fn final_backups_hold(env: &Env, m: &e2e::Run, site: Site, snapshots: &[Value]) {
    let volume_of: std::collections::BTreeMap<&str, &str> = snapshots
        .iter()
        .map(|x| (s(x, "origin"), s(x, "volume_id")))
        .collect();
    let made: Vec<Value> = m.values("b").into_iter().map(|(_, v)| v).collect();
    assert_eq!(made.len(), 12);
    for bk in &made {
        let stopped = volume_of[s(bk, "origin")];
        let now = env.emu.volume_checksum(site, stopped);
        assert!(now.is_some(), "{bk}");
        assert_eq!(
            now,
            env.emu.backup_checksum(site, s(bk, "id")),
            "volume {stopped} differs from its final backup {bk}"
        );
    }
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
    // The VNF's name, served by the Designate at site-b: its VIP and the
    // VIP's floating IP, TTL an hour.
    let (vip, fip) = vip_at(&env, "site-a").await;
    let zone = env
        .api_call(
            "site-b",
            "dns",
            reqwest::Method::POST,
            "/zones",
            Some(json!({"name": "vims.example.", "email": "noc@vims.example", "ttl": 3600})),
        )
        .await;
    env.api_call(
        "site-b",
        "dns",
        reqwest::Method::POST,
        &format!("/zones/{}/recordsets", s(&zone, "id")),
        Some(json!({"name": "sbc.vims.example.", "type": "A", "ttl": 3600, "records": [vip, fip]})),
    )
    .await;
    dns_settled(&env, "site-b").await;
    let before_b = env.counts().await["site-b"].clone();
    let before_a = env.counts().await["site-a"].clone();

    let m = env
        .run(
            "option1/migrate",
            json!({"vnf": "vims", "dns": ["sbc.vims.example."], "dns_ttl": 60}),
        )
        .await;
    assert!(m.result.outcome.is_awaiting_commit(), "{}", m.describe());
    let a = servers(&env, "site-a").await;
    assert_eq!(a.len(), 6);
    assert!(a.iter().all(|(_, st, _, _)| st == "SHUTOFF"), "{a:?}");
    let b = servers(&env, "site-b").await;
    assert!(b.iter().all(|(_, st, _, _)| st == "ACTIVE"), "{b:?}");
    check_recovered(&env, &m, &prod, &roles, "").await;
    nothing_lost(&env, &m, Site::A);
    assert_eq!(newest_point(&env).await, m.result.run_id);
    // The name leads to site-b (the same addresses, kept by the default
    // mapping), its TTL lowered before the servers stopped.
    let (vip_b, fip_b) = vip_at(&env, "site-b").await;
    let (records, ttl, status) = recordset(&env, "site-b", "sbc.vims.example.").await;
    assert_eq!(records, [vip_b, fip_b]);
    assert_eq!((ttl, status.as_str()), (json!(60), "ACTIVE"));
    let lowered = m.succeeded("designate.set_ttl");
    assert_eq!(lowered.len(), 1, "{}", m.describe());

    // Rolled back: as if it never happened.
    e2e::rolled_back(&env, &m).await;
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
    let (records, ttl, _) = recordset(&env, "site-b", "sbc.vims.example.").await;
    assert_eq!(
        (records, ttl),
        (vec![vip.clone(), fip.clone()], json!(3600))
    );

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

/// The address of the VNF's VIP port at `site`, and its floating IP's.
async fn vip_at(env: &Env, site: &str) -> (String, String) {
    let ports = env.api(site, "network", "/ports?name=vims-lb-vip").await;
    let port = &ports["ports"][0];
    let ip = s(&port["fixed_ips"][0], "ip_address").to_string();
    let fips = env
        .api(
            site,
            "network",
            &format!("/floatingips?port_id={}", s(port, "id")),
        )
        .await;
    let fip = s(&fips["floatingips"][0], "floating_ip_address").to_string();
    (ip, fip)
}

/// (records, ttl, status) of the A recordset `name` at `site`'s Designate.
async fn recordset(env: &Env, site: &str, name: &str) -> (Vec<String>, Value, String) {
    let l = env
        .api(site, "dns", &format!("/recordsets?name={name}&type=A"))
        .await;
    let r = &l["recordsets"][0];
    let records = r["records"]
        .as_array()
        .unwrap_or_else(|| panic!("no recordset {name}: {l}"))
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    (records, r["ttl"].clone(), s(r, "status").to_string())
}

/// Wait until every recordset of the zones at `site` is ACTIVE.
async fn dns_settled(env: &Env, site: &str) {
    for _ in 0..200 {
        let l = env.api(site, "dns", "/recordsets").await;
        if l["recordsets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| s(r, "status") == "ACTIVE")
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the recordsets at {site} never settled");
}

/// The VNF's name `sbc.vims.example.` in a new zone, through `site`'s
/// Designate: its VIP and the VIP's floating IP at site-a (as the VNF's
/// clients know them) and an address that is not the VNF's; the records,
/// once ACTIVE.
async fn name_the_vnf(env: &Env, site: &str) -> Vec<String> {
    let (vip_a, fip_a) = vip_at(env, "site-a").await;
    assert!(!vip_a.is_empty() && !fip_a.is_empty());
    let z = env
        .api_call(
            site,
            "dns",
            reqwest::Method::POST,
            "/zones",
            Some(json!({"name": "vims.example.", "email": "noc@vims.example", "ttl": 3600})),
        )
        .await;
    let records = vec![vip_a, fip_a, "192.0.2.99".to_string()];
    env.api_call(
        site,
        "dns",
        reqwest::Method::POST,
        &format!("/zones/{}/recordsets", s(&z, "id")),
        Some(json!({"name": "sbc.vims.example.", "type": "A", "ttl": 3600, "records": records})),
    )
    .await;
    dns_settled(env, site).await;
    records
}

/// DNS redirection: the VNF's name resolves (Designate at the backup site)
/// to its VIP and the VIP's floating IP at site-a, plus an address that is
/// not the VNF's. Recovered at site-b onto re-addressed networks (site-a
/// down), the name leads to the recovered VIP's new address and floating
/// IP, the other address kept, the zone ACTIVE. Rolled back, the name
/// holds exactly what it held before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_redirects_the_vnfs_names_and_a_rollback_points_them_back() {
    let env = Env::start().await;
    production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    let before = name_the_vnf(&env, "site-b").await;
    let vip_a = before[0].clone();

    // Recovered onto the backup site's own networks: new fixed IPs.
    make_dr_networks(&env).await;
    store_mapping(&env, lifeboat_tests::REIP).await;
    env.emu.set_site_down(Site::A, true);
    let r = env
        .run(
            "option1/recover",
            json!({"vnf": "vims", "dns": ["sbc.vims.example."]}),
        )
        .await;
    assert!(r.result.outcome.is_awaiting_commit(), "{}", r.describe());
    let (vip_b, fip_b) = vip_at(&env, "site-b").await;
    assert_ne!(vip_b, vip_a, "the re-IP mapping moves the VIP");
    let (records, ttl, status) = recordset(&env, "site-b", "sbc.vims.example.").await;
    assert_eq!(records, [vip_b, fip_b, "192.0.2.99".to_string()]);
    assert_eq!((ttl, status.as_str()), (json!(3600), "ACTIVE"));
    let (_, moved) = &r.values("restore.moved")[0];
    assert_eq!(moved["was_records"], json!(before), "{moved}");

    e2e::rolled_back(&env, &r).await;
    let (records, ttl, status) = recordset(&env, "site-b", "sbc.vims.example.").await;
    assert_eq!(records, before);
    assert_eq!((ttl, status.as_str()), (json!(3600), "ACTIVE"));
    env.emu.shutdown().await;
}

/// The whole cycle with an option. Protect a → b; site-a lost; recover
/// at b onto the backup site's own networks (the stored site mapping
/// re-IPs every port) and commit — the VNF's name in DNS now leads there;
/// site-a back and fenced; reprotect b → a (a full chain, then the stale
/// copies at a retired: no server, port or floating IP of the VNF left
/// there); failback: migrate b → a by the mapping's reverse (`mapping put
/// --with-reverse`) and commit — the VNF runs at site-a again with its
/// original addresses, MACs, VIP pairs and floating IPs, its name leads
/// there again, each volume at site-b as it stopped equal to its final
/// backup (RPO 0); site-b's copies fenced and reprotect a → b retires
/// them: home, and protected as at the start.
async fn whole_cycle(option: &str) {
    let env = Env::start().await;
    let (_, roles) = production(&env).await;
    let bases: Vec<String> = roles.keys().cloned().collect();
    let identity_a = e2e::network_identity(&env, "site-a", &bases, true).await;
    // The VNF's name, through site-a's endpoint: one Designate serves
    // both regions.
    let before = name_the_vnf(&env, "site-a").await;
    // The backup site's own networks, the mapping there and its reverse
    // at site-a for the way back.
    make_dr_networks(&env).await;
    store_mapping(&env, lifeboat_tests::REIP).await;
    let back = lifeboat_actions::mapping::document::parse(lifeboat_tests::REIP)
        .unwrap()
        .reversed()
        .unwrap();
    store_mapping_at(
        &env,
        "site-a",
        "site-b",
        &serde_yaml::to_string(&back).unwrap(),
    )
    .await;

    let p = env
        .run(&format!("{option}/protect"), json!({"vnf": "vims"}))
        .await;
    assert!(p.ok(), "protect: {}", p.describe());
    p.print_report("protect a → b");

    // Disaster: recovered at site-b, committed; the name leads there.
    env.emu.set_site_down(Site::A, true);
    let r = env
        .run(
            &format!("{option}/recover"),
            json!({"vnf": "vims", "dns": ["sbc.vims.example."]}),
        )
        .await;
    assert!(r.result.outcome.is_awaiting_commit(), "{}", r.describe());
    let c = env.decide(&r, lifeboat_exec::Decision::Commit).await;
    assert_eq!(c.result.outcome, lifeboat_exec::RunOutcome::Succeeded);
    r.print_report("recover at b");
    c.print_report("commit");
    let (vip_b, fip_b) = vip_at(&env, "site-b").await;
    assert!(vip_b.starts_with("172."), "re-IP'd: {vip_b}");
    let (records, _, status) = recordset(&env, "site-b", "sbc.vims.example.").await;
    assert_eq!(
        (records, status.as_str()),
        (vec![vip_b, fip_b, "192.0.2.99".to_string()], "ACTIVE")
    );

    // Site-a back: its copies fenced, then the reverse protection.
    env.emu.set_site_down(Site::A, false);
    let f = env
        .run("fencing/fence", json!({"vnf": "vims", "at": "site-a"}))
        .await;
    assert!(f.ok(), "fence: {}", f.describe());
    f.print_report("fence a");
    let rp = env
        .run(&format!("{option}/reprotect"), json!({"vnf": "vims"}))
        .await;
    assert!(rp.ok(), "reprotect: {}", rp.describe());
    rp.print_report("reprotect b → a");
    let (_, point) = &rp.values("manifest")[0];
    assert_eq!(s(point, "source_site"), "site-b", "{point}");
    assert_eq!(rp.succeeded("cinder.backup").len(), 12);
    stale_copies_gone(&env, "site-a", &bases).await;

    // Failback: planned, RPO 0.
    let m = env
        .run(
            &format!("{option}/migrate"),
            json!({"vnf": "vims", "from": "site-b", "to": "site-a", "dns": ["sbc.vims.example."]}),
        )
        .await;
    assert!(m.result.outcome.is_awaiting_commit(), "{}", m.describe());
    let c = env.decide(&m, lifeboat_exec::Decision::Commit).await;
    assert_eq!(c.result.outcome, lifeboat_exec::RunOutcome::Succeeded);
    m.print_report("migrate b → a");
    c.print_report("commit");
    let at_a = servers(&env, "site-a").await;
    assert_eq!(at_a.len(), 6);
    assert!(at_a.iter().all(|(_, st, _, _)| st == "ACTIVE"), "{at_a:?}");
    assert!(servers(&env, "site-b")
        .await
        .iter()
        .all(|(_, st, _, _)| st == "SHUTOFF"));
    assert_eq!(
        e2e::network_identity(&env, "site-a", &bases, true).await,
        identity_a,
        "home with its original network identity"
    );
    let (records, _, status) = recordset(&env, "site-a", "sbc.vims.example.").await;
    assert_eq!(
        (records, status.as_str()),
        (before, "ACTIVE"),
        "the name leads home again"
    );
    if option == "option1" {
        nothing_lost(&env, &m, Site::B);
    } else {
        let own: Vec<Value> = m.values("own").into_iter().map(|(_, v)| v).collect();
        final_backups_hold(&env, &m, Site::B, &own);
    }
    // The VNF's own names, not a name given to a name given before.
    let names: Vec<String> = at_a.iter().map(|(n, _, _, _)| n.clone()).collect();
    for n in &names {
        assert!(
            bases.iter().any(|b| n.ends_with(&format!("-{b}"))),
            "{n}: none of {bases:?}"
        );
        assert_eq!(run_tags(n), 1, "{n}");
    }

    // Protected as at the start: site-b's copies fenced, then retired.
    let f = env
        .run("fencing/fence", json!({"vnf": "vims", "at": "site-b"}))
        .await;
    assert!(f.ok(), "fence b: {}", f.describe());
    f.print_report("fence b");
    let rp = env
        .run(
            &format!("{option}/reprotect"),
            json!({"vnf": "vims", "from": "site-a", "to": "site-b"}),
        )
        .await;
    assert!(rp.ok(), "reprotect a → b: {}", rp.describe());
    rp.print_report("reprotect a → b");
    assert!(servers(&env, "site-b").await.is_empty());
    assert_eq!(servers(&env, "site-a").await.len(), 6);
    assert_eq!(newest_point_of(&env, option).await, rp.result.run_id);
    env.emu.shutdown().await;
}

/// No server of the VNF at `site`, nor any of its ports or floating IPs:
/// the stale copies were retired.
async fn stale_copies_gone(env: &Env, site: &str, bases: &[String]) {
    assert!(
        servers(env, site).await.is_empty(),
        "servers left at {site}"
    );
    assert!(
        e2e::network_identity(env, site, bases, true)
            .await
            .is_empty(),
        "the stale copies' ports and floating IPs are gone at {site}"
    );
}

/// How many run tags (`lb-` and 8 hex digits) a server's name carries.
fn run_tags(name: &str) -> usize {
    name.match_indices("lb-")
        .filter(|(i, _)| {
            let tag = &name[i + 3..];
            tag.len() > 8
                && tag[..8].chars().all(|c| c.is_ascii_hexdigit())
                && tag[8..].starts_with('-')
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option1_fails_over_reprotects_and_fails_back_home() {
    whole_cycle("option1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option2_fails_over_reprotects_and_fails_back_home() {
    whole_cycle("option2").await;
}

/// Option 3's cycle, by replication both ways. Prepare a → b (volumes
/// replicated, the VNF's container synced); site-a lost: failover at b,
/// commit; the VNF writes an object there; site-a back, fenced; reprotect
/// b → a — the adopted volumes replicate back (their replicas at site-a
/// in a manifest there), the container syncs b → a and no longer a → b,
/// the stale copies at a retired. Then site-b lost: failover at a — home
/// with its original network identity, each volume equal to its source at
/// b at the outage, every object there; commit; site-b back, fenced;
/// reprotect a → b retires site-b's copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn option3_fails_over_reprotects_and_fails_over_back_home() {
    let env = Env::start().await;
    let (_, roles) = production(&env).await;
    let bases: Vec<String> = roles.keys().cloned().collect();
    let identity_a = e2e::network_identity(&env, "site-a", &bases, true).await;
    let a = env.acts.client("site-a").unwrap();
    let b = env.acts.client("site-b").unwrap();
    let mut objects = std::collections::BTreeMap::new();
    for i in 0..3u8 {
        let data: Vec<u8> = (0..(900 + 51 * i as usize))
            .map(|k| (k as u8) ^ i)
            .collect();
        let name = format!("cdr/{i}.bin");
        a.swift()
            .put_object("vims-cdr", &name, data.clone(), "application/octet-stream")
            .await
            .unwrap();
        objects.insert(name, data);
    }
    let p = env
        .run(
            "option3/prepare",
            json!({"vnf": "vims", "containers": ["vims-cdr"]}),
        )
        .await;
    assert!(p.ok(), "prepare: {}", p.describe());
    // No more writes: what each replica holds at an outage can be compared.
    let mut timing = env.emu.timing();
    timing.write_interval = std::time::Duration::from_secs(3600);
    env.emu.set_timing(timing);
    let at_a: Vec<String> = {
        let vols = env.api("site-a", "volume", "/volumes/detail").await;
        vols["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| s(v, "id").to_string())
            .collect()
    };
    e2e::replicas_caught_up(&env, Site::A, &at_a).await;

    // Disaster: failed over at site-b, committed.
    env.emu.set_site_down(Site::A, true);
    let f = env.run("option3/failover", json!({"vnf": "vims"})).await;
    assert!(f.result.outcome.is_awaiting_commit(), "{}", f.describe());
    env.decide(&f, lifeboat_exec::Decision::Commit).await;
    let at_b: Vec<String> = e2e::adopted(&env, "site-b")
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(at_b.len(), 12);
    let late = b"written at site-b after the failover".to_vec();
    b.swift()
        .put_object("vims-cdr", "cdr/at-b.txt", late.clone(), "text/plain")
        .await
        .unwrap();
    objects.insert("cdr/at-b.txt".into(), late);

    // Site-a back: fenced, then replicated the other way.
    env.emu.set_site_down(Site::A, false);
    let fe = env
        .run("fencing/fence", json!({"vnf": "vims", "at": "site-a"}))
        .await;
    assert!(fe.ok(), "fence: {}", fe.describe());
    let rp = env.run("option3/reprotect", json!({"vnf": "vims"})).await;
    assert!(rp.ok(), "reprotect: {}", rp.describe());
    let (_, point) = &rp.values("manifest")[0];
    assert_eq!(
        (s(point, "source_site"), s(point, "option")),
        ("site-b", "option3"),
        "{point}"
    );
    let reps: Vec<Value> = rp.values("rep").into_iter().map(|(_, v)| v).collect();
    assert_eq!(reps.len(), 12, "{reps:?}");
    assert!(
        reps.iter()
            .all(|r| s(r, "site") == "site-a" && at_b.iter().any(|id| id == s(r, "volume_id"))),
        "every adopted volume has its replica at site-a: {reps:?}"
    );
    assert!(
        a.swift()
            .container("vims-cdr")
            .await
            .unwrap()
            .sync_to
            .is_empty(),
        "the old primary's container no longer syncs toward site-b"
    );
    assert!(
        b.swift()
            .container("vims-cdr")
            .await
            .unwrap()
            .sync_to
            .contains("/SITE-A/"),
        "site-b's container syncs to site-a"
    );
    stale_copies_gone(&env, "site-a", &bases).await;
    assert!(
        e2e::adopted(&env, "site-a").await.is_empty()
            && env.api("site-a", "volume", "/volumes/detail").await["volumes"]
                .as_array()
                .unwrap()
                .is_empty(),
        "the stale volumes at site-a are gone"
    );
    e2e::replicas_caught_up(&env, Site::B, &at_b).await;
    let start = std::time::Instant::now();
    while a
        .swift()
        .get_object("vims-cdr", "cdr/at-b.txt")
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(15),
            "the object written at site-b never reached site-a"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Site-b lost: failover back at site-a.
    env.emu.set_site_down(Site::B, true);
    let at_outage: std::collections::BTreeMap<String, String> = at_b
        .iter()
        .map(|id| (id.clone(), env.emu.volume_checksum(Site::B, id).unwrap()))
        .collect();
    let f = env
        .run("option3/failover", json!({"vnf": "vims", "at": "site-a"}))
        .await;
    assert!(f.result.outcome.is_awaiting_commit(), "{}", f.describe());
    env.decide(&f, lifeboat_exec::Decision::Commit).await;
    let home = e2e::adopted(&env, "site-a").await;
    assert_eq!(home.len(), 12, "{home:?}");
    for (id, source) in &home {
        assert_eq!(
            env.emu.volume_checksum(Site::A, id).as_ref(),
            at_outage.get(source),
            "volume {id} at site-a differs from its source {source} at site-b at the outage"
        );
    }
    assert_eq!(
        e2e::network_identity(&env, "site-a", &bases, true).await,
        identity_a,
        "home with its original network identity"
    );
    for (name, data) in &objects {
        assert_eq!(
            &a.swift().get_object("vims-cdr", name).await.unwrap(),
            data,
            "vims-cdr/{name} at site-a"
        );
    }

    // Site-b back: fenced, and protected as at the start.
    env.emu.set_site_down(Site::B, false);
    let fe = env
        .run("fencing/fence", json!({"vnf": "vims", "at": "site-b"}))
        .await;
    assert!(fe.ok(), "fence b: {}", fe.describe());
    let rp = env
        .run(
            "option3/reprotect",
            json!({"vnf": "vims", "from": "site-a", "to": "site-b"}),
        )
        .await;
    assert!(rp.ok(), "reprotect a → b: {}", rp.describe());
    assert!(servers(&env, "site-b").await.is_empty());
    let running = servers(&env, "site-a").await;
    assert!(
        running.len() == 6 && running.iter().all(|(_, st, _, _)| st == "ACTIVE"),
        "{running:?}"
    );
    assert_eq!(newest_point_of(&env, "option3").await, rp.result.run_id);
    env.emu.shutdown().await;
}
