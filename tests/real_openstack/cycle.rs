//! The rest of the DR cycle against REAL OpenStack, after `runbooks` has
//! recovered option 1's VNF at site-b with site-a down (issue 14): commit;
//! site-a back (its hypervisors kept the old copies running); fence them;
//! reprotect b → a (stale copies retired); the guests at site-b write on;
//! failback — `option1/migrate` b → a, every volume at site-a compared byte
//! for byte with the stopped one at site-b (RPO 0), home with its original
//! network identity — commit; fence site-b; reprotect a → b. After it the
//! VNF runs at site-a only, and neither site holds anything of it that is
//! not the VNF itself or a recovery point.

use crate::cli::{Cli, CliRun};
use crate::support::{network_identity, s, Stack};
use lifeboat_openstack::Client;
use serde_json::Value;

/// The VNF's servers at a site: (name, status, locked, metadata).
async fn servers(c: &Client, vnf: &str) -> Vec<(String, String, bool, Value)> {
    let mut out: Vec<_> = c
        .nova()
        .servers_with_tag(vnf)
        .await
        .expect("servers")
        .into_iter()
        .map(|s| {
            (
                s.name,
                s.status,
                s.locked,
                serde_json::to_value(&s.metadata).unwrap(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Nothing of `vnf` at `site` but what `keep` says is the VNF itself:
/// no server, port, volume or snapshot, no temporary volume of a run.
async fn nothing_of(c: &Client, site: &str, vnf: &str) {
    assert!(
        servers(c, vnf).await.is_empty(),
        "{site}: servers of {vnf} left"
    );
    let ports: Vec<String> = c
        .neutron()
        .ports(&[])
        .await
        .expect("ports")
        .into_iter()
        .map(|p| p.name)
        .filter(|n| n.contains(vnf))
        .collect();
    assert!(ports.is_empty(), "{site}: ports of {vnf} left: {ports:?}");
    let volumes = vnf_volumes(c, vnf).await;
    assert!(
        volumes.is_empty(),
        "{site}: volumes of {vnf} left: {volumes:?}"
    );
    snapshots_clear(c, site, vnf).await;
}

/// (name, status) of every volume at a site whose name mentions `vnf`.
async fn vnf_volumes(c: &Client, vnf: &str) -> Vec<(String, String)> {
    c.cinder()
        .volumes(&[])
        .await
        .expect("volumes")
        .into_iter()
        .filter(|v| v.name.contains(vnf))
        .map(|v| (v.name, v.status))
        .collect()
}

/// No snapshot of a run left at `site` (group snapshots and their members
/// are cleaned up after each point).
async fn snapshots_clear(c: &Client, site: &str, vnf: &str) {
    let snaps: Vec<String> = c
        .cinder()
        .snapshots(&[])
        .await
        .expect("snapshots")
        .into_iter()
        .map(|x| x.name)
        .filter(|n| n.contains(vnf))
        .collect();
    assert!(
        snaps.is_empty(),
        "{site}: snapshots of {vnf} left: {snaps:?}"
    );
}

fn decided(cli: &Cli, run: &CliRun, verb: &str) -> CliRun {
    let d = cli.decide(run, verb);
    assert_eq!(d.code, Some(0), "{} failed:\n{}", d.what, d.output);
    let report: Value = serde_json::from_slice(
        &std::fs::read(run.run_dir.join("report.json")).expect("report.json"),
    )
    .expect("report.json parses");
    assert_eq!(
        report["outcome"]["outcome"], "succeeded",
        "{}: {report}",
        d.what
    );
    d
}

/// Fence `vnf` at `site`: every server of it there stopped, locked and
/// marked with the fence run.
async fn fenced(cli: &Cli, c: &Client, site: &str, vnf: &str, count: usize) -> CliRun {
    let f = cli.run("fencing/fence", &[("vnf", vnf), ("at", site)]);
    f.assert_succeeded();
    let run_id = f
        .run_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let at = servers(c, vnf).await;
    assert_eq!(at.len(), count, "{site}: {at:?}");
    for (name, status, locked, meta) in &at {
        assert_eq!(status, "SHUTOFF", "{site}: {name} fenced");
        assert!(*locked, "{site}: {name} locked");
        assert!(
            run_id.contains(s(meta, "lifeboat_fenced")) && !s(meta, "lifeboat_fenced").is_empty(),
            "{site}: {name} marked by {run_id}: {meta}"
        );
    }
    f
}

/// From a recover of `vnf` at site-b that awaits commit to home and
/// protected again; returns every run it made, in order.
pub async fn fail_back_home(
    stack: &Stack,
    cli: &Cli,
    recover: &CliRun,
    identity_a: &[String],
    vnf: &str,
    servers_n: usize,
    volumes_n: usize,
) -> Vec<CliRun> {
    let client = |site: &str| {
        Client::new(
            site,
            stack
                .loader()
                .load(Some(&format!("real-{site}")))
                .expect("cloud"),
        )
        .unwrap()
    };
    let mut runs = Vec::new();

    // ---- commit the recovery ----
    runs.push(decided(cli, recover, "commit"));

    // ---- site-a is back, its copies of the VNF running again ----
    stack.site_up("site-a");
    let site_a = client("site-a");
    let site_b = client("site-b");
    let stale = servers(&site_a, vnf).await;
    assert_eq!(stale.len(), servers_n, "{stale:?}");
    assert!(
        stale
            .iter()
            .all(|(_, st, locked, _)| st == "ACTIVE" && !locked),
        "the old copies run again: {stale:?}"
    );
    runs.push(fenced(cli, &site_a, "site-a", vnf, servers_n).await);

    // ---- reprotect b → a: a full chain, then the stale copies retired ----
    let rp = cli.run("option1/reprotect", &[("vnf", vnf)]);
    rp.assert_succeeded();
    let backups = rp.results_of("cinder.backup");
    assert_eq!(backups.len(), volumes_n, "{backups:?}");
    assert!(
        backups
            .values()
            .all(|b| s(b, "status") == "available" && s(b, "site") == "site-b"),
        "{backups:?}"
    );
    let point = rp.results_of("lifeboat.write_manifest");
    assert!(
        point.values().all(|m| s(m, "source_site") == "site-b"),
        "{point:?}"
    );
    nothing_of(&site_a, "site-a", vnf).await;
    runs.push(rp);

    // ---- the VNF at site-b writes on ----
    let live: Vec<String> = recover
        .results_of("cinder.restore_backup")
        .values()
        .map(|v| s(v, "id").to_string())
        .collect();
    assert_eq!(live.len(), volumes_n);
    for id in &live {
        stack.write_after_snapshot("site-b", id);
    }

    // ---- failback: migrate b → a, RPO 0 ----
    let m = cli.run(
        "option1/migrate",
        &[("vnf", vnf), ("from", "site-b"), ("to", "site-a")],
    );
    m.assert_succeeded();
    let restored = m.results_of("cinder.restore_backup");
    assert_eq!(restored.len(), volumes_n, "{restored:?}");
    // A volume's `origin` is the VNF's first volume (seeded at site-a); the
    // volume at site-b it was taken from is its snapshot's.
    let snap = m.results_of("cinder.create_group_snapshot");
    let at_b_of: std::collections::BTreeMap<String, String> = snap
        .values()
        .flat_map(|g| g["snapshots"].as_array().cloned().unwrap_or_default())
        .map(|x| (s(&x, "origin").to_string(), s(&x, "volume_id").to_string()))
        .collect();
    for v in restored.values() {
        assert_eq!(s(v, "site"), "site-a");
        let stopped = at_b_of
            .get(s(v, "origin"))
            .unwrap_or_else(|| panic!("no snapshot at site-b of {v}: {at_b_of:?}"));
        assert!(
            live.contains(stopped),
            "restored from a volume of the VNF at site-b: {v}"
        );
        // The volume as its server stopped at site-b, written after the
        // reprotect: what the final incremental backup carried.
        stack.assert_same_bytes(
            ("site-b", &format!("volume-{stopped}")),
            ("site-a", &format!("volume-{}", s(v, "id"))),
            &format!("option1/migrate b → a: volume {stopped}"),
        );
    }
    let at_b = servers(&site_b, vnf).await;
    assert!(
        at_b.len() == servers_n && at_b.iter().all(|(_, st, _, _)| st == "SHUTOFF"),
        "stopped, kept at site-b: {at_b:?}"
    );
    let at_a = servers(&site_a, vnf).await;
    assert!(
        at_a.len() == servers_n && at_a.iter().all(|(_, st, _, _)| st == "ACTIVE"),
        "running at site-a: {at_a:?}"
    );
    assert_eq!(
        network_identity(&site_a, vnf).await,
        identity_a,
        "home with its original network identity"
    );
    let committed = decided(cli, &m, "commit");
    runs.push(m);
    runs.push(committed);

    // ---- protected as at the start: site-b fenced, reprotect a → b ----
    runs.push(fenced(cli, &site_b, "site-b", vnf, servers_n).await);
    let rp = cli.run(
        "option1/reprotect",
        &[("vnf", vnf), ("from", "site-a"), ("to", "site-b")],
    );
    rp.assert_succeeded();
    assert_eq!(rp.results_of("cinder.backup").len(), volumes_n);
    nothing_of(&site_b, "site-b", vnf).await;
    runs.push(rp);

    // ---- home: the VNF runs at site-a only, nothing else of it anywhere ----
    let home = servers(&site_a, vnf).await;
    assert!(
        home.len() == servers_n
            && home.iter().all(|(_, st, locked, m)| st == "ACTIVE"
                && !locked
                && s(m, "lifeboat_fenced").is_empty()),
        "{home:?}"
    );
    snapshots_clear(&site_a, "site-a", vnf).await;
    let attached = vnf_volumes(&site_a, vnf).await;
    assert!(
        attached.len() == volumes_n && attached.iter().all(|(_, st)| st == "in-use"),
        "site-a holds the VNF's volumes, each attached, and nothing else of it: {attached:?}"
    );
    assert_eq!(network_identity(&site_a, vnf).await, identity_a);
    // Every stage's report, and not one orphan in any.
    recover.print_report();
    for r in &runs {
        r.print_report();
    }
    runs
}
