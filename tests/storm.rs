//! A stormy cloud: the bundled runbooks of the three options, run by the
//! executor over HTTP against the emulator while it injects faults from a
//! seeded profile — protect (or prepare), drill, then recover (or failover)
//! with site-a down. Every run must succeed, leave no server paused and
//! nothing behind (the run's report lists no orphan, and the emulator's own
//! lists hold exactly what a calm run leaves), and the recovered VNF must be
//! the protected one (each server's volumes restored from the right
//! production volume, in boot order).
//!
//! The profiles are the issue's: (a) 10 % 503, 3 % resets, 2 % answers lost
//! after the call was carried out, and a volume rate limit with Retry-After
//! at both sites; (b) 20 % 503 on one service; (c) uniform latency 5–300 ms;
//! (d) 20 % of asynchronous operations ending in `error`.
//!
//! `cargo bench -p lifeboat-tests --bench storm` runs the same scenario many
//! times per profile and prints success rates and the slowdown.

mod e2e;

use e2e::{check_recovered, production, storm, Env};
use lifeboat_emulator::Site;
use serde_json::json;

async fn scenario(option: &str, profile: &str, seed: u64) {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let calm = env.counts().await;
    let first = if option == "option3" {
        "prepare"
    } else {
        "protect"
    };
    let last = if option == "option3" {
        "failover"
    } else {
        "recover"
    };

    env.faults(&storm::profile(profile, seed));
    let p = env
        .run(&format!("{option}/{first}"), json!({"vnf": "vims"}))
        .await;
    env.emu.clear_faults();
    assert!(
        p.ok(),
        "{option}/{first} under profile {profile} (seed {seed}): {}",
        p.describe()
    );
    storm::assert_nothing_left(&env, &p, &format!("{option}/{first}")).await;
    storm::assert_site_a_as_after_a_calm_protect(&env, option, &calm).await;

    let before_drill = env.counts().await;
    env.faults(&storm::profile(profile, seed + 1));
    let d = env
        .run(&format!("{option}/drill"), json!({"vnf": "vims"}))
        .await;
    env.emu.clear_faults();
    assert!(
        d.ok(),
        "{option}/drill under profile {profile} (seed {seed}): {}",
        d.describe()
    );
    storm::assert_nothing_left(&env, &d, &format!("{option}/drill")).await;
    let after_drill = env.counts().await;
    assert_eq!(
        storm::without_backups(&after_drill),
        storm::without_backups(&before_drill),
        "{option}/drill left resources under profile {profile}"
    );

    if option == "option3" {
        // Replication catches up (fast timing: 200 ms lag) before the outage.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    }
    env.emu.set_site_down(Site::A, true);
    env.faults(&storm::profile(profile, seed + 2));
    let r = env
        .run(&format!("{option}/{last}"), json!({"vnf": "vims"}))
        .await;
    env.emu.clear_faults();
    assert!(
        r.ok(),
        "{option}/{last} under profile {profile} (seed {seed}): {}",
        r.describe()
    );
    storm::assert_nothing_left(&env, &r, &format!("{option}/{last}")).await;
    check_recovered(&env, &r, &prod, &roles, "").await;
    env.emu.shutdown().await;
}

macro_rules! sweep {
    ($($name:ident: $option:literal, $profile:literal, $seed:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            scenario($option, $profile, $seed).await;
        }
    )*};
}

sweep! {
    option1_through_errors_resets_and_rate_limits: "option1", "a", 101;
    option2_through_errors_resets_and_rate_limits: "option2", "a", 201;
    option3_through_errors_resets_and_rate_limits: "option3", "a", 301;
    option1_through_a_failing_volume_service: "option1", "b", 102;
    option2_through_a_failing_volume_service: "option2", "b", 202;
    option3_through_a_failing_volume_service: "option3", "b", 302;
    option1_through_slow_answers: "option1", "c", 103;
    option2_through_slow_answers: "option2", "c", 203;
    option3_through_slow_answers: "option3", "c", 303;
    option1_through_failing_operations: "option1", "d", 104;
    option2_through_failing_operations: "option2", "d", 204;
    option3_through_failing_operations: "option3", "d", 304;
}

/// An action that makes several things with creating POSTs (the security
/// groups of the VNF's network identity) and looks for them first: six 503s
/// in a row on the group creations, more than one step attempt's worth of
/// the step's own retries, are settled inside the call by calling again;
/// the recover succeeds with each group made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creations_that_look_first_are_called_again_within_the_step() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    env.emu.set_site_down(Site::A, true);
    env.faults(
        "rules:\n  - {site: site-b, service: network, method: POST, path_contains: /security-groups, error_rate: 1.0, error_status: 503, times: 6}\n",
    );
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(r.ok(), "recover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    storm::assert_made_once(
        &env,
        "site-b",
        "network",
        "/security-groups",
        "security_groups",
    )
    .await;
    env.emu.shutdown().await;
}

/// Creates whose answer is lost and that land later, after Lifeboat
/// looked for them by their tag, found nothing and made them again (an
/// overloaded API's queue): the twins are found by the tag and removed —
/// by the run itself when they land before its end, by `lifeboat cleanup`
/// when they land after it. Site-a then holds what a calm protect leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_that_land_late_leave_no_twin() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let calm = env.counts().await;
    // The first three temporary volumes land 500 ms after they were asked
    // for: after Lifeboat found nothing by their tag and made them again
    // (were the lookup later, it would find and use them: no twin), and
    // before the run's end — the first backups (of those volumes, `parallel
    // 4`) answer a second after they are asked for. A protect ending sooner
    // deletes the snapshot they are made from, and they never land.
    env.faults(concat!(
        "rules:\n",
        "  - {site: site-a, service: volume, method: POST, path_contains: /volumes, late_landing_rate: 1.0, land_after_ms: 500, times: 3}\n",
        "  - {site: site-a, service: volume, method: POST, path_contains: /backups, latency: {kind: fixed, ms: 1000}, times: 4}\n",
    ));
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(p.ok(), "protect: {}", p.describe());
    let report = lifeboat_exec::Report::from_events(&p.events);
    assert_eq!(report.twins.len(), 3, "twins: {:?}", report.twins);
    assert!(report.uncertain.len() >= 3, "{:?}", report.uncertain);
    assert!(
        report
            .twins
            .iter()
            .all(|t| t.resource.kind == "volume" && report.cleaned_up.contains(&t.instance)),
        "{:?} / cleaned up {:?}",
        report.twins,
        report.cleaned_up
    );
    storm::assert_nothing_left(&env, &p, "option1/protect").await;
    storm::assert_site_a_as_after_a_calm_protect(&env, "option1", &calm).await;

    // The volume a backup is restored into lands after the recover has
    // ended (empty: the restore went into the one made again).
    env.emu.set_site_down(Site::A, true);
    let before = env.counts().await;
    env.faults(
        "rules:\n  - {site: site-b, service: volume, method: POST, path_contains: /volumes, late_landing_rate: 1.0, land_after_ms: 10000, times: 1}\n",
    );
    let started = std::time::Instant::now();
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(r.ok(), "recover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    let ran = started.elapsed();
    assert!(
        ran < std::time::Duration::from_millis(9500),
        "the recover took {ran:?}: the twin may have landed before its end"
    );
    let report = lifeboat_exec::Report::from_events(&r.events);
    assert!(report.twins.is_empty(), "{:?}", report.twins);
    assert!(
        !report.uncertain.is_empty(),
        "the restore made again is uncertain"
    );
    let restored = |c: &serde_json::Value| c["site-b"]["volumes"].as_u64().unwrap_or(0);
    let after_run = restored(&env.counts().await);
    let deadline = started + std::time::Duration::from_secs(20);
    while restored(&env.counts().await) == after_run {
        assert!(
            std::time::Instant::now() < deadline,
            "the twin never landed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(restored(&env.counts().await), after_run + 1);
    let c = env.cleanup(&r).await;
    let report = lifeboat_exec::Report::from_events(&c.events);
    assert_eq!(report.twins.len(), 1, "{}", c.describe());
    assert_eq!(c.result.cleanup_failures, 0, "{}", c.describe());
    assert!(report.orphans.is_empty(), "{:?}", report.orphans);
    assert_eq!(restored(&env.counts().await), after_run);
    assert!(restored(&before) < after_run);
    env.emu.shutdown().await;
}

/// The network identity's creates landing late during a recover: a
/// security group and a server group made again after their answers were
/// lost land 300 ms later, and the run removes them — each group once at
/// site-b, the recovered VNF as protected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_creates_that_land_late_leave_no_twin() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    env.emu.set_site_down(Site::A, true);
    env.faults(concat!(
        "rules:\n",
        "  - {site: site-b, service: network, method: POST, path_contains: /security-groups, late_landing_rate: 1.0, land_after_ms: 300, times: 1}\n",
        "  - {site: site-b, service: compute, method: POST, path_contains: /os-server-groups, late_landing_rate: 1.0, land_after_ms: 300, times: 1}\n",
    ));
    let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(r.ok(), "recover: {}", r.describe());
    let report = lifeboat_exec::Report::from_events(&r.events);
    let mut kinds: Vec<&str> = report
        .twins
        .iter()
        .map(|t| t.resource.kind.as_str())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["security_group", "server_group"],
        "{:?}",
        report.twins
    );
    storm::assert_nothing_left(&env, &r, "option1/recover").await;
    check_recovered(&env, &r, &prod, &roles, "").await;
    storm::assert_made_once(
        &env,
        "site-b",
        "network",
        "/security-groups",
        "security_groups",
    )
    .await;
    storm::assert_made_once(
        &env,
        "site-b",
        "compute",
        "/os-server-groups",
        "server_groups",
    )
    .await;
    env.emu.shutdown().await;
}

/// A protect that fails after creates landed late (its backups refused
/// a second after they are asked for): a failed run removes its twins too,
/// and site-a holds what it held before, nothing left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_removes_its_late_twins_too() {
    let env = Env::start().await;
    production(&env).await;
    let calm = env.counts().await;
    env.faults(concat!(
        "rules:\n",
        "  - {site: site-a, service: volume, method: POST, path_contains: /volumes, late_landing_rate: 1.0, land_after_ms: 500, times: 3}\n",
        "  - {site: site-a, service: volume, method: POST, path_contains: /backups, latency: {kind: fixed, ms: 1000}, error_rate: 1.0, error_status: 400}\n",
    ));
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(!p.ok(), "the backups are refused: {}", p.describe());
    let report = lifeboat_exec::Report::from_events(&p.events);
    assert_eq!(report.twins.len(), 3, "twins: {:?}", report.twins);
    storm::assert_nothing_left(&env, &p, "option1/protect").await;
    let now = env.counts().await;
    for k in ["servers", "volumes", "snapshots", "backups"] {
        assert_eq!(
            now["site-a"][k], calm["site-a"][k],
            "site-a {k}: {now} (before: {calm})"
        );
    }
    env.emu.shutdown().await;
}
