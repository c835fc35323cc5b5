//! The bundled option 1, 2 and 3 runbooks against REAL OpenStack through
//! the ordinary CLI (`lifeboat run <name> --cloud real --confirm`, the
//! harness's clouds.yaml), as an operator would run them:
//!
//! 1. keep a sparse copy of every seeded volume (the content at protect time);
//! 2. `option1/protect` (VNF `vims`: ordered pause, group snapshot, backups,
//!    manifest in Swift at site-b) and `option2/protect` (VNF `vepc`: Nova
//!    createImage per server, its volume snapshots, backups, manifest);
//! 3. the guests write on: the first page of every live volume at site-a is
//!    overwritten, so a restore of the live state would not match;
//! 4. `option1/drill` and `option2/drill` at site-b: isolated copies restored,
//!    verified and booted, then every volume and server they made is gone;
//! 5. `site-down.sh site-a`: every site-a service stopped;
//! 6. `option1/recover` and `option2/recover` at site-b with site-a down:
//!    every restored volume's file at site-b is compared byte for byte with
//!    the copy from step 1, and the servers run with their volumes attached.
//!
//! Option 3 (VNF `vmme`) runs alongside: `option3/prepare` retypes its volumes
//! to `replicated` (the file-backed driver then mirrors them into site-b's
//! backend), the guests write on, `option3/drill` checks every replica is
//! manageable at site-b, and after site-a is gone `option3/failover` adopts
//! the replicas (manage existing) and boots the servers on them; each adopted
//! volume equals the last content of its site-a volume byte for byte. Its
//! object data, a Swift container at site-a, is synced by real container
//! sync (prepare's `containers`); objects written and deleted after prepare
//! follow; the drill sees no lag; failover (site-a down) checks the replica,
//! and every object reads back at site-b byte for byte; no manifest holds
//! the sync key.
//!
//! Then option 1's VNF goes through the rest of the DR cycle (cycle.rs):
//! commit, site-a back and fenced, reprotect, failback by a planned
//! migration compared byte for byte, reprotect the original way.
//!
//! Option 2's recovery also redirects the VNF's name in real Designate: the
//! re-IP'd address is what BIND answers afterwards (dns.rs).
//!
//! It takes site-a down and brings it back: one run per stack (the other
//! tests use site-b only).

use crate::cli::Cli;
use crate::support::{network_identity, s, stack_or_skip};
use lifeboat_openstack::{Client, ErrorKind};
use lifeboat_tests::{re_ipd, REIP};
use serde_json::Value;
use std::collections::BTreeMap;

struct Vnf {
    name: &'static str,
    servers: usize,
    volumes: usize,
}

const OPTION1: Vnf = Vnf {
    name: "vims",
    servers: 3,
    volumes: 6,
};
const OPTION2: Vnf = Vnf {
    name: "vepc",
    servers: 2,
    volumes: 4,
};
const OPTION3: Vnf = Vnf {
    name: "vmme",
    servers: 2,
    volumes: 4,
};
/// Option 3's Swift container (object data).
const CONTAINER: &str = "vmme-cdr";
/// The driver mirrors every MIRROR_INTERVAL (5 s); wait a little over two.
const REPLICATION_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(12);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_1_2_3_through_the_cli_recover_byte_for_byte_with_site_a_down() {
    let Some(stack) = stack_or_skip().await else {
        return;
    };
    let cli = Cli::new(&stack.base);
    let t0 = std::time::Instant::now();
    let seed = stack.seed();
    let name_of: BTreeMap<String, String> =
        seed.iter().map(|(n, id)| (id.clone(), n.clone())).collect();
    let site_b = Client::new(
        "site-b",
        stack
            .loader()
            .load(Some("real-site-b"))
            .expect("cloud real-site-b"),
    )
    .unwrap();

    // ---- 1. the content at protect time ----
    let originals = stack.base.join("data").join("originals");
    std::fs::create_dir_all(&originals).unwrap();
    for (name, id) in &seed {
        let out = std::process::Command::new("cp")
            .arg("--sparse=always")
            .arg(stack.volume_file("site-a", &format!("volume-{id}")))
            .arg(originals.join(name))
            .output()
            .expect("cp runs");
        assert!(
            out.status.success(),
            "copy of {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // ---- 2. protect at site-a ----
    // On a fresh stack the first backups are full ones and move the data (a
    // second run of this test on the same stack makes incremental ones of
    // unchanged volumes, which move nothing).
    let site_a = Client::new(
        "site-a",
        stack
            .loader()
            .load(Some("real-site-a"))
            .expect("cloud real-site-a"),
    )
    .unwrap();
    let first_protect = site_a
        .cinder()
        .backups(&[])
        .await
        .expect("site-a backups")
        .is_empty();
    let p1 = cli.run("option1/protect", &[("vnf", OPTION1.name)]);
    p1.assert_succeeded();
    assert_eq!(
        p1.results_of("cinder.create_group_snapshot").len(),
        1,
        "one group snapshot"
    );
    assert_eq!(
        p1.results_of("cinder.export_backup").len(),
        OPTION1.volumes,
        "a backup record per volume"
    );
    let p2 = cli.run("option2/protect", &[("vnf", OPTION2.name)]);
    p2.assert_succeeded();
    assert_eq!(
        p2.results_of("nova.create_image").len(),
        OPTION2.servers,
        "an image per server"
    );
    assert_eq!(
        p2.results_of("cinder.export_backup").len(),
        OPTION2.volumes,
        "a backup record per volume"
    );
    for run in [&p1, &p2] {
        let backups = run.results_of("cinder.backup");
        assert!(
            backups.values().all(|b| s(b, "status") == "available"
                && (!first_protect || b["bytes_moved"].as_i64().unwrap_or(0) > 0)),
            "{backups:?}"
        );
    }
    // The servers run again after protect (option 1 paused them).
    let servers = p1.results_of("nova.find_servers");
    assert_eq!(
        servers
            .values()
            .next()
            .and_then(Value::as_array)
            .map(Vec::len),
        Some(OPTION1.servers),
        "{servers:?}"
    );

    // ---- 3. the guests write on ----
    for id in seed.values() {
        stack.write_after_snapshot("site-a", id);
    }

    // ---- 4. drills at site-b: restored, verified, booted, then removed ----
    let mut drills = Vec::new();
    for vnf in [&OPTION1, &OPTION2] {
        let rb = if vnf.name == OPTION1.name {
            "option1/drill"
        } else {
            "option2/drill"
        };
        let d = cli.run(rb, &[("vnf", vnf.name)]);
        d.assert_succeeded();
        let restored = d.results_of("cinder.restore_backup");
        assert_eq!(restored.len(), vnf.volumes, "{rb}: every volume restored");
        let checks = d.results_of("lifeboat.verify");
        assert!(
            !checks.is_empty() && checks.values().all(|c| c["ok"] == Value::Bool(true)),
            "{rb}: {checks:?}"
        );
        let booted = d.results_of("nova.boot_from_volume");
        assert_eq!(booted.len(), vnf.servers, "{rb}: every server booted");
        assert!(
            booted.values().all(|b| s(b, "name").contains("-drill-")),
            "{rb}: isolated names: {booted:?}"
        );
        for v in restored.values() {
            match site_b.cinder().volume(s(v, "id")).await {
                Err(e) if e.kind == ErrorKind::NotFound => {}
                other => panic!(
                    "{rb}: drill volume {} is still there: {other:?}",
                    s(v, "id")
                ),
            }
        }
        for b in booted.values() {
            match site_b.nova().server(s(b, "id")).await {
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Ok(srv) if srv.status == "DELETED" => {}
                other => panic!(
                    "{rb}: drill server {} is still there: {other:?}",
                    s(b, "id")
                ),
            }
        }
        drills.push(d);
    }

    // ---- option 3: replicate, the guests write on, check the replicas ----
    // Object data too: the VNF's Swift container, synced to site-b by real
    // container sync (realm LIFEBOAT, swift-container-sync every 2 s).
    let mut objects: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for i in 0..4u8 {
        let data: Vec<u8> = (0..(4096 + 777 * i as usize))
            .map(|k| (k as u8).wrapping_mul(i + 3) ^ 0x5A)
            .collect();
        let name = format!("cdr/{i}.bin");
        site_a
            .swift()
            .put_object(CONTAINER, &name, data.clone(), "application/octet-stream")
            .await
            .unwrap_or_else(|e| panic!("{CONTAINER}/{name} at site-a: {e}"));
        objects.insert(name, data);
    }
    let containers = format!("[\"{CONTAINER}\"]");
    let prep = cli.run(
        "option3/prepare",
        &[("vnf", OPTION3.name), ("containers", containers.as_str())],
    );
    prep.assert_succeeded();
    let synced = prep.results_of("swift.replicate_container");
    assert_eq!(synced.len(), 1, "{synced:?}");
    assert!(
        synced
            .values()
            .all(|r| s(r, "sync_to").starts_with("//LIFEBOAT/SITE-B/AUTH_")),
        "{synced:?}"
    );
    let sync_key = site_a
        .swift()
        .container(CONTAINER)
        .await
        .expect("container at site-a")
        .sync_key
        .expose()
        .to_string();
    assert!(!sync_key.is_empty());
    // Written and deleted after prepare: they follow.
    let late = b"written after prepare".to_vec();
    site_a
        .swift()
        .put_object(CONTAINER, "cdr/late.txt", late.clone(), "text/plain")
        .await
        .unwrap();
    objects.insert("cdr/late.txt".into(), late);
    site_a
        .swift()
        .delete_object(CONTAINER, "cdr/0.bin")
        .await
        .unwrap();
    objects.remove("cdr/0.bin");
    let replicas = prep.results_of("cinder.replica_of");
    assert_eq!(
        replicas.len(),
        OPTION3.volumes,
        "a replica per volume: {replicas:?}"
    );
    assert!(
        replicas
            .values()
            .all(|r| s(r, "site") == "site-b" && s(r, "ref").starts_with("volume-")),
        "{replicas:?}"
    );
    let vmme: Vec<&String> = seed
        .iter()
        .filter(|(n, _)| n.starts_with(OPTION3.name))
        .map(|(_, id)| id)
        .collect();
    assert_eq!(vmme.len(), OPTION3.volumes);
    for id in &vmme {
        stack.write_after_snapshot("site-a", id);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(stack.volume_file("site-a", &format!("volume-{id}")))
            .unwrap();
        use std::io::{Seek, SeekFrom, Write};
        f.seek(SeekFrom::Start(512 << 20)).unwrap();
        f.write_all(format!("written after replication started, volume {id}").as_bytes())
            .unwrap();
    }
    tokio::time::sleep(REPLICATION_CATCH_UP).await;
    async fn listing(c: &Client) -> lifeboat_openstack::Result<Vec<(String, String)>> {
        c.swift()
            .list(CONTAINER, "")
            .await
            .map(|l| l.into_iter().map(|o| (o.name, o.hash)).collect())
    }
    let sync_started = std::time::Instant::now();
    loop {
        let a = listing(&site_a).await.expect("listing at site-a");
        if listing(&site_b).await.ok().as_ref() == Some(&a) {
            break;
        }
        assert!(
            sync_started.elapsed() < std::time::Duration::from_secs(90),
            "container sync did not bring site-b to {a:?}"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let synced_after = sync_started.elapsed() + REPLICATION_CATCH_UP;
    let d3 = cli.run("option3/drill", &[("vnf", OPTION3.name)]);
    d3.assert_succeeded();
    assert_eq!(
        d3.results_of("cinder.check_replica").len(),
        OPTION3.volumes,
        "every replica checked"
    );
    let lag = d3.results_of("swift.check_replica");
    assert!(
        lag.len() == 1
            && lag
                .values()
                .all(|r| r["behind_objects"] == 0 && r["source_seen"] == true),
        "{lag:?}"
    );

    // ---- the network identity at site-a, as real Neutron and Nova report it ----
    let mut identity_a = BTreeMap::new();
    for vnf in [&OPTION1, &OPTION2, &OPTION3] {
        let id = network_identity(&site_a, vnf.name).await;
        assert_eq!(
            id.iter().filter(|l| l.starts_with("nic ")).count(),
            2 * vnf.servers,
            "{}: two NICs per server: {id:#?}",
            vnf.name
        );
        identity_a.insert(vnf.name, id);
    }
    assert!(
        identity_a[OPTION1.name]
            .iter()
            .any(|l| l.starts_with("vip "))
            && identity_a[OPTION1.name]
                .iter()
                .any(|l| l.starts_with("fip ")),
        "{:#?}",
        identity_a[OPTION1.name]
    );

    // ---- the VNF's name in real Designate (served by BIND): option 2's
    // VNF by the address of its first NIC, and an address not the VNF's ----
    let first_ip = identity_a[OPTION2.name]
        .iter()
        .find(|l| l.starts_with("nic "))
        .and_then(|l| l.split("ips=[\"").nth(1))
        .and_then(|r| r.split('"').next())
        .expect("option 2's first NIC has a fixed IP")
        .to_string();
    crate::dns::create_name(
        &stack,
        "vepc.example.",
        "sbc.vepc.example.",
        &[&first_ip, "192.0.2.99"],
    );
    let mut before = vec![first_ip.clone(), "192.0.2.99".to_string()];
    before.sort();
    assert_eq!(
        crate::dns::active_records(&site_b, "sbc.vepc.example.").await,
        before
    );
    assert_eq!(
        crate::dns::dig("sbc.vepc.example."),
        before,
        "BIND serves it"
    );

    // ---- 5. site-a is gone ----
    stack.site_down("site-a");

    // ---- 6. recover at site-b ----
    let mut recovers = Vec::new();
    for vnf in [&OPTION1, &OPTION2] {
        let rb = if vnf.name == OPTION1.name {
            "option1/recover"
        } else {
            "option2/recover"
        };
        // Option 2 recovers by a site mapping (per run) that re-IPs every
        // port onto site-b's own networks; option 1 keeps everything.
        let r = if vnf.name == OPTION2.name {
            let mapping = stack.base.join("reip.yaml");
            std::fs::write(&mapping, REIP).unwrap();
            cli.run(
                rb,
                &[
                    ("vnf", vnf.name),
                    ("mapping", mapping.to_str().unwrap()),
                    ("dns", "sbc.vepc.example."),
                ],
            )
        } else {
            cli.run(rb, &[("vnf", vnf.name)])
        };
        r.assert_succeeded();
        let restored = r.results_of("cinder.restore_backup");
        assert_eq!(restored.len(), vnf.volumes, "{rb}: every volume restored");
        for v in restored.values() {
            assert_eq!(s(v, "site"), "site-b");
            let name = name_of
                .get(s(v, "origin"))
                .unwrap_or_else(|| panic!("{rb}: restored volume {v} has no seeded origin"));
            assert!(
                name.starts_with(vnf.name),
                "{rb}: restored {name}, which is not {}'s",
                vnf.name
            );
            let restored_file = stack.volume_file("site-b", &format!("volume-{}", s(v, "id")));
            stack.assert_same_file_bytes(
                &originals.join(name),
                &restored_file,
                &format!("{rb}: {name}"),
            );
            assert!(
                !stack.same_first_page(
                    ("site-a", &format!("volume-{}", s(v, "origin"))),
                    ("site-b", &format!("volume-{}", s(v, "id")))
                ),
                "{rb}: {name} was restored from the live volume, not the recovery point"
            );
        }
        let booted = r.results_of("nova.boot_from_volume");
        assert_eq!(booted.len(), vnf.servers, "{rb}: every server booted");
        let attached = r.results_of("nova.attach_volume");
        assert_eq!(
            attached.len(),
            vnf.volumes - vnf.servers,
            "{rb}: every data volume attached"
        );
        for b in booted.values() {
            let now = site_b
                .nova()
                .server(s(b, "id"))
                .await
                .unwrap_or_else(|e| panic!("{rb}: server {}: {e}", s(b, "name")));
            assert_eq!(now.status, "ACTIVE", "{rb}: {}", s(b, "name"));
        }
        // Port by port as at site-a: fixed IPs, MACs, VIP pairs, rules,
        // groups — option 2's re-IP'd exactly by the mapping's rules.
        let want = if vnf.name == OPTION2.name {
            re_ipd(&identity_a[vnf.name])
        } else {
            identity_a[vnf.name].clone()
        };
        assert_eq!(
            network_identity(&site_b, vnf.name).await,
            want,
            "{rb}: the network identity at site-b"
        );
        let cmp = r.results_of("neutron.compare_identity");
        assert!(
            cmp.values().all(|c| c["ok"] == Value::Bool(true)) && cmp.len() == 1,
            "{rb}: {cmp:?}"
        );
        if vnf.name == OPTION2.name {
            // Its name leads to the re-IP'd address, in Designate and on
            // the DNS wire; the other address is kept.
            let moved = re_ipd(std::slice::from_ref(&first_ip));
            assert_ne!(moved[0], first_ip, "the mapping re-IPs {first_ip}");
            let mut want = vec![moved[0].clone(), "192.0.2.99".to_string()];
            want.sort();
            assert_eq!(
                crate::dns::active_records(&site_b, "sbc.vepc.example.").await,
                want,
                "{rb}: the name in Designate"
            );
            assert_eq!(
                crate::dns::dig("sbc.vepc.example."),
                want,
                "{rb}: BIND's answer"
            );
        }
        recovers.push(r);
    }

    // ---- option 3: fail over to the replicas ----
    let f3 = cli.run("option3/failover", &[("vnf", OPTION3.name)]);
    f3.assert_succeeded();
    let adopted = f3.results_of("cinder.manage_existing");
    assert_eq!(
        adopted.len(),
        OPTION3.volumes,
        "every replica adopted: {adopted:?}"
    );
    for v in adopted.values() {
        assert_eq!(s(v, "site"), "site-b");
        let name = name_of
            .get(s(v, "origin"))
            .unwrap_or_else(|| panic!("option3/failover: adopted volume {v} has no seeded origin"));
        // The replica holds the LAST content of the site-a volume (the writes
        // made after prepare included), not the content at prepare time.
        stack.assert_same_bytes(
            ("site-a", &format!("volume-{}", s(v, "origin"))),
            ("site-b", &format!("volume-{}", s(v, "id"))),
            &format!("option3/failover: {name}"),
        );
        let page = |p: std::path::PathBuf| {
            let mut buf = vec![0u8; 4096];
            std::io::Read::read_exact(
                &mut std::fs::File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
                &mut buf,
            )
            .unwrap();
            buf
        };
        assert_ne!(
            page(originals.join(name)),
            page(stack.volume_file("site-b", &format!("volume-{}", s(v, "id")))),
            "option3/failover: {name} lacks the writes made after prepare"
        );
    }
    let checked = f3.results_of("swift.check_replica");
    assert!(
        checked.len() == 1 && checked.values().all(|r| r["source_seen"] == false),
        "site-a is down: {checked:?}"
    );
    for (name, data) in &objects {
        let got = site_b
            .swift()
            .get_object(CONTAINER, name)
            .await
            .unwrap_or_else(|e| panic!("{CONTAINER}/{name} at site-b: {e}"));
        assert_eq!(&got, data, "{CONTAINER}/{name} byte for byte at site-b");
    }
    assert!(
        site_b
            .swift()
            .get_object(CONTAINER, "cdr/0.bin")
            .await
            .is_err(),
        "the delete followed"
    );
    for o in site_b
        .swift()
        .list("lifeboat-manifests", "")
        .await
        .expect("manifests at site-b")
    {
        let text = site_b
            .swift()
            .get_object("lifeboat-manifests", &o.name)
            .await
            .expect("manifest");
        assert!(
            !String::from_utf8_lossy(&text).contains(&sync_key),
            "the sync key is in manifest {}",
            o.name
        );
    }
    eprintln!(
        "container sync: {} objects at site-b {:.1} s after prepare",
        objects.len(),
        synced_after.as_secs_f64()
    );
    let booted = f3.results_of("nova.boot_from_volume");
    assert_eq!(
        booted.len(),
        OPTION3.servers,
        "option3/failover: every server booted"
    );
    assert_eq!(
        f3.results_of("nova.attach_volume").len(),
        OPTION3.volumes - OPTION3.servers,
        "option3/failover: every data volume attached"
    );
    for b in booted.values() {
        let now = site_b
            .nova()
            .server(s(b, "id"))
            .await
            .unwrap_or_else(|e| panic!("option3/failover: server {}: {e}", s(b, "name")));
        assert_eq!(now.status, "ACTIVE", "option3/failover: {}", s(b, "name"));
    }
    assert_eq!(
        network_identity(&site_b, OPTION3.name).await,
        identity_a[OPTION3.name],
        "option3/failover: the network identity at site-b"
    );
    // ---- the rest of the cycle for option 1: home again (cycle.rs) ----
    let home = crate::cycle::fail_back_home(
        &stack,
        &cli,
        &recovers[0],
        &identity_a[OPTION1.name],
        OPTION1.name,
        OPTION1.servers,
        OPTION1.volumes,
    )
    .await;
    recovers.push(prep);
    recovers.push(d3);
    recovers.push(f3);
    recovers.extend(home);

    let mut table = String::from("| run | seconds |\n|---|---|\n");
    for r in [&p1, &p2].into_iter().chain(&drills).chain(&recovers) {
        table.push_str(&format!("| {} | {:.1} |\n", r.what, r.secs));
    }
    table.push_str(&format!(
        "| whole test | {:.1} |\n",
        t0.elapsed().as_secs_f64()
    ));
    eprintln!("{table}");
    std::fs::write(stack.base.join("runbook-times.md"), table).unwrap();
}
