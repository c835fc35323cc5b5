//! Option 2 end to end: Nova createImage per VM at site-a, backups of the
//! image's volume snapshots, then with site-a down a VM-by-VM recovery.

mod e2e;

use e2e::{check_recovered, network_identity, production, s, Env};
use lifeboat_emulator::Site;
use serde_json::json;
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_then_recover_vm_by_vm_with_site_a_down() {
    let env = Env::start().await;
    let (prod, roles) = production(&env).await;
    let before = env.counts().await;
    let p = env.run("option2/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    assert_eq!(p.succeeded("nova.create_image").len(), 6);
    assert_eq!(p.succeeded("cinder.backup").len(), 12);
    // Cleanups in the right order left no image, snapshot or temporary volume.
    let c = env.counts().await;
    assert_eq!(c["site-a"]["images"], before["site-a"]["images"], "{c}");
    assert_eq!(c["site-a"]["snapshots"], json!(0), "{c}");
    assert_eq!(c["site-a"]["volumes"], json!(12), "{c}");
    assert_eq!(c["site-a"]["backups"], json!(12), "{c}");
    assert_eq!(p.result.cleanup_failures, 0, "{}", p.describe());
    let bks = env.api("site-a", "volume", "/backups/detail").await;
    let mut sums = BTreeMap::new();
    for b in bks["backups"].as_array().unwrap() {
        sums.insert(
            env.emu
                .backup_checksum(Site::A, s(b, "id"))
                .expect("checksum"),
            s(b, "volume_id").to_string(),
        );
    }

    let bases: Vec<String> = roles.keys().cloned().collect();
    let identity = network_identity(&env, "site-a", &bases, true).await;
    env.emu.set_site_down(Site::A, true);
    let r = env.run("option2/recover", json!({"vnf": "vims"})).await;
    assert!(r.ok(), "recover: {}", r.describe());
    check_recovered(&env, &r, &prod, &roles, "").await;
    assert_eq!(
        network_identity(&env, "site-b", &bases, true).await,
        identity
    );
    // Every restored volume came from a backup whose content is the
    // snapshot's (imported backup = the backup taken at site-a).
    let imported = env.api("site-b", "volume", "/backups/detail").await;
    let imported = imported["backups"].as_array().unwrap();
    assert_eq!(imported.len(), 12);
    for b in imported {
        let got = env
            .emu
            .backup_checksum(Site::B, s(b, "id"))
            .expect("checksum");
        assert!(
            sums.contains_key(&got),
            "imported backup {} holds a protected snapshot",
            s(b, "id")
        );
    }
    env.emu.shutdown().await;
}

/// Every backup fails: protect compensates — the images,
/// snapshots, temporary volumes and backups made so far are gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protect_failure_compensates() {
    let env = Env::start().await;
    let before = env.counts().await;
    env.emu.set_faults(
        lifeboat_emulator::FaultProfile::from_yaml_str(
            "rules:\n  - {operation: backup.create, fail_rate: 1.0}\n",
        )
        .unwrap(),
    );
    let p = env.run("option2/protect", json!({"vnf": "vims"})).await;
    assert!(!p.ok(), "protect must fail");
    env.emu.clear_faults();
    let after = env.counts().await;
    assert_eq!(
        after,
        before,
        "nothing left behind: {before} → {after}\n{}",
        p.describe()
    );
    env.emu.shutdown().await;
}

/// Attaching a data volume fails at site-b, after the first boot group's
/// volumes were restored and its servers booted: recover compensates — no
/// server and no restored volume left at site-b, the imported backups (the
/// recovery point) kept — and the error names the step, the resource and
/// the site. A retry without the fault recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_failure_mid_run_compensates() {
    let env = Env::start().await;
    let p = env.run("option2/protect", json!({"vnf": "vims"})).await;
    assert!(p.ok(), "protect: {}", p.describe());
    env.emu.set_site_down(Site::A, true);
    env.faults("rules:\n  - {site: site-b, service: compute, method: POST, path_contains: os-volume_attachments, error_rate: 1.0, error_status: 400}\n");
    let r = env.run("option2/recover", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    assert!(!r.ok(), "recover must fail");
    assert!(
        !r.succeeded("nova.boot_from_volume").is_empty(),
        "the failure came after servers were booted: {}",
        r.describe()
    );
    let (instance, error) = r.first_failure().expect("a failed step");
    assert!(
        instance.contains("att"),
        "the attach step failed: {instance}: {error}"
    );
    assert!(
        error.contains("site-b") && error.contains("server"),
        "the error names the resource and the site: {error}"
    );
    let comp = r.compensated();
    assert!(
        comp.iter().any(|i| i.contains("srv")) && comp.iter().any(|i| i.contains("vol")),
        "servers and restored volumes undone: {comp:?}"
    );
    // In reverse order: a server is deleted before the boot volume it was
    // booted from (restored before it) is.
    let last_srv = comp.iter().rposition(|i| i.starts_with("srv")).unwrap();
    let first_boot = comp
        .iter()
        .position(|i| i.starts_with("bvol"))
        .expect("boot volumes undone");
    assert!(
        last_srv < first_boot,
        "servers undone before their boot volumes: {comp:?}"
    );
    let c = env.counts().await;
    assert_eq!(c["site-b"]["servers"], json!(0), "{c}\n{}", r.describe());
    assert_eq!(c["site-b"]["volumes"], json!(0), "{c}\n{}", r.describe());
    assert_eq!(c["site-b"]["snapshots"], json!(0), "{c}");
    let imported = c["site-b"]["backups"].as_i64().unwrap();
    assert!(imported > 0 && imported <= 12, "imported backups kept: {c}");
    assert_eq!(r.result.compensation_failures, 0, "{}", r.describe());
    let r2 = env.run("option2/recover", json!({"vnf": "vims"})).await;
    assert!(r2.ok(), "recover after the fault: {}", r2.describe());
    env.emu.shutdown().await;
}
