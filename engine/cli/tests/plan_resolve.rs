//! `lifeboat plan --resolve` against the emulator over HTTP, run as a user
//! would: read-only discovery (proved by a recording proxy that sees every
//! request), resolved fan-outs and quiesce groups, and each pre-run check
//! triggered by a topology or a fault, beside a clean case that is not.

#[path = "support/chromium.rs"]
mod chromium;
mod common;
#[path = "support/recording_proxy.rs"]
mod recording_proxy;

use common::*;
use lifeboat_emulator::topology::{ServerSpec, TypeSpec, VolumeSpec};
use lifeboat_emulator::{FaultProfile, Topology};
use recording_proxy::Proxy;
use serde_json::Value;
use std::process::Output;

/// `lifeboat plan RB --resolve -p vnf=vims -f json --cloud emulator ARGS…`,
/// through `proxy` when given.
fn resolve(env: &Env, rb: &str, extra: &[&str], proxy: Option<&Proxy>) -> (Output, Value) {
    let mut args = vec!["plan", rb, "--resolve", "-p", "vnf=vims", "-f", "json"];
    args.extend_from_slice(extra);
    let mut c = env.cmd(&args);
    c.arg("--cloud")
        .arg("emulator")
        .stdin(std::process::Stdio::null());
    for k in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        c.env_remove(k);
    }
    if let Some(p) = proxy {
        c.env("HTTP_PROXY", &p.url).env("http_proxy", &p.url);
    }
    let o = c.output().unwrap();
    let j = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o, j)
}

fn findings<'a>(j: &'a Value, check: &str) -> Vec<&'a Value> {
    j["resolved"]["findings"]
        .as_array()
        .map(|f| f.iter().filter(|x| x["check"] == check).collect())
        .unwrap_or_default()
}

fn protect(env: &Env) {
    let o = env.lifeboat(&["run", "option1/protect", "-p", "vnf=vims"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn resolving_option1_protect_expands_every_fan_out_and_orders_the_quiesce() {
    let env = start(Topology::demo(), None);
    let (o, j) = resolve(&env, "option1/protect", &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = &j["resolved"];
    let servers: Vec<&str> = r["steps"]["servers"]["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(servers.len(), 6, "{servers:?}");
    assert!(
        servers.iter().any(|s| s.starts_with("vims-db-1 (db")),
        "{servers:?}"
    );
    assert_eq!(r["steps"]["volumes"]["found"].as_array().unwrap().len(), 12);
    assert_eq!(r["steps"]["grp"]["states"]["planned"], 1);
    // One snapshot per volume found: the loop over the planned group snapshot has 12 items.
    let est = &j["estimates"]["steps"];
    let lp = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"]["type"] == "for_each")
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(est[&lp]["count"], 12, "{}", est[&lp]);
    assert_eq!(est[&lp]["count_resolved"], true);
    assert_eq!(r["steps"]["b"]["instances"], 12);
    let q = &r["quiesce"][0];
    let groups: Vec<(&str, usize)> = q["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap(),
                g["targets"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(groups, [("db", 2), ("app", 2), ("lb", 2)]);
    let eq = &j["estimates"]["quiesce"][0]["groups"];
    assert_eq!(eq[0]["targets"], 2);
    assert!(
        r["findings"].as_array().unwrap().is_empty(),
        "{}",
        r["findings"]
    );
    // The text plan says the same.
    let o = env.lifeboat(&["plan", "option1/protect", "--resolve", "-p", "vnf=vims"]);
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(t.contains("resolved against the cloud"), "{t}");
    assert!(t.contains("freeze db [vims-db-1, vims-db-2] → app [vims-app-1, vims-app-2] → lb [vims-lb-1, vims-lb-2]"), "{t}");
    assert!(t.contains("×12"), "{t}");
    assert!(t.contains("pre-run checks: no problem found"), "{t}");

    // The HTML page shows the same, and loads cleanly.
    let o = env.lifeboat(&[
        "plan",
        "option1/protect",
        "--resolve",
        "-p",
        "vnf=vims",
        "-f",
        "html",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let Some(chrome) = chromium::chromium() else {
        return;
    };
    let file = chromium::artifacts().join("option1-protect-resolved.html");
    std::fs::write(&file, &o.stdout).unwrap();
    let (dom, err) = chromium::load(&chrome, &file, None);
    assert!(
        dom.contains("data-ready=\"ok\""),
        "self-check failed\n{err}"
    );
    assert!(
        chromium::console_errors(&err).is_empty(),
        "{:?}",
        chromium::console_errors(&err)
    );
    assert!(
        dom.contains("resolved against the cloud")
            && dom.contains("freeze db [vims-db-1, vims-db-2]")
    );
    assert!(dom.contains("×12"), "the resolved count is drawn");
    let shot = chromium::artifacts().join("option1-protect-resolved.png");
    let _ = std::fs::remove_file(&shot);
    chromium::load(&chrome, &file, Some(&shot));
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 20_000)
            .unwrap_or(false),
        "resolved screenshot"
    );
}

/// Keystone's token POST is the only non-read request discovery may send.
fn is_read(method: &str, url: &str) -> bool {
    method == "GET"
        || method == "HEAD"
        || (method == "POST" && url.trim_end_matches('/').ends_with("/v3/auth/tokens"))
}

#[test]
fn resolving_every_bundled_runbook_sends_no_mutating_request() {
    let env = start(Topology::demo(), None);
    // Recovery points exist (option 1 protect, option 3 prepare), so the
    // recover/failover/drill runbooks resolve past their manifest.
    protect(&env);
    let o = env.lifeboat(&["run", "option3/prepare", "-p", "vnf=vims"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let proxy = Proxy::start();
    let mut total = 0;
    for rb in lifeboat_dsl::bundled::names() {
        proxy.clear();
        let (o, j) = resolve(&env, rb, &[], Some(&proxy));
        assert!(
            matches!(o.status.code(), Some(0) | Some(1)),
            "{rb}: {}",
            text(&o)
        );
        // Retention's steps only delete the ids it is given: nothing to read.
        let reads = lifeboat_dsl::bundled::plan(rb)
            .expect("bundled")
            .action_steps()
            .any(|(_, a)| a.call.effect == lifeboat_dsl::plan::Effect::Read);
        let seen = proxy.requests();
        let writes: Vec<&(String, String)> = seen.iter().filter(|(m, u)| !is_read(m, u)).collect();
        assert!(
            writes.is_empty(),
            "{rb}: mutating requests sent: {writes:?}"
        );
        if !reads {
            continue;
        }
        assert!(
            j["resolved"]["read_calls"].as_u64().unwrap_or(0) > 0,
            "{rb}: no read call: {}",
            text(&o)
        );
        assert!(
            !seen.is_empty(),
            "{rb}: the proxy saw nothing: is HTTP_PROXY honoured?"
        );
        assert!(
            seen.iter()
                .any(|(m, u)| m == "POST" && u.contains("/v3/auth/tokens")),
            "{rb}: {seen:?}"
        );
        total += seen.len();
        eprintln!(
            "{rb}: {} requests, {} read calls, findings: {}",
            seen.len(),
            j["resolved"]["read_calls"],
            j["resolved"]["findings"]
        );
    }
    assert!(total > 30, "{total} requests in all");
    // The proxy is not blind to writes: a run through it is seen writing.
    proxy.clear();
    let mut c = env.cmd(&[
        "run",
        "option1/protect",
        "-p",
        "vnf=vims",
        "--cloud",
        "emulator",
    ]);
    c.env("HTTP_PROXY", &proxy.url)
        .env("http_proxy", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let o = c.stdin(std::process::Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        proxy.requests().iter().any(|(m, u)| !is_read(m, u)),
        "a protect run writes"
    );
}

#[test]
fn a_server_of_the_vnf_without_the_tag_is_flagged() {
    let mut t = Topology::demo();
    let mut stray = t
        .servers
        .iter()
        .find(|s| s.name == "vims-db-1")
        .unwrap()
        .clone();
    stray.name = "vims-db-3".into();
    stray.tags.clear(); // metadata still says vnf=vims
    let mut named: ServerSpec = stray.clone();
    named.name = "vims-app-9".into();
    named.metadata.clear();
    t.servers.push(stray);
    t.servers.push(named);
    let env = start(t, None);
    let (o, j) = resolve(&env, "option1/protect", &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "untagged-server");
    let msgs: Vec<&str> = f.iter().map(|x| x["message"].as_str().unwrap()).collect();
    assert_eq!(f.len(), 2, "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("vims-db-3") && m.contains("metadata says vnf=vims")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("vims-app-9") && m.contains("name starts with `vims-`")),
        "{msgs:?}"
    );
    assert!(f
        .iter()
        .all(|x| x["severity"] == "error" && x["site"] == "site-a" && x["step"] == "servers"));
    // Text says it too.
    let o = env.lifeboat(&["plan", "option1/protect", "--resolve", "-p", "vnf=vims"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("error (untagged-server) [servers @ site-a]: server vims-db-3"),
        "{}",
        text(&o)
    );
}

#[test]
fn volumes_of_a_type_that_cannot_join_a_consistent_group_are_flagged() {
    let mut t = Topology::demo();
    t.volume_types.push(TypeSpec {
        name: "nocg".into(),
        specs: [(
            "consistent_group_snapshot_enabled".to_string(),
            "<is> False".to_string(),
        )]
        .into(),
    });
    let s = t
        .servers
        .iter_mut()
        .find(|s| s.name == "vims-lb-2")
        .unwrap();
    s.data_volumes = vec![VolumeSpec {
        size_gb: 5,
        volume_type: Some("nocg".into()),
    }];
    let env = start(t, None);
    let (o, j) = resolve(&env, "option1/protect", &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "group-capability");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0]["message"].as_str().unwrap().contains("1 volume(s) of type `nocg`, whose consistent_group_snapshot_enabled is `<is> False` cannot be snapshotted with the group: vims-lb-2-data"), "{f:?}");

    // A group type without the consistent-snapshot spec.
    let mut t = Topology::demo();
    for g in &mut t.group_types {
        g.specs.clear();
    }
    let env = start(t, None);
    let (_, j) = resolve(&env, "option1/protect", &[], None);
    let f = findings(&j, "group-capability");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("lacks consistent_group_snapshot_enabled"),
        "{f:?}"
    );

    // An existing group of the VNF whose volume types do not cover a volume
    // that is not in it yet (a new server of the VNF with a replicated volume).
    let mut t = Topology::demo();
    let mut newer = t
        .servers
        .iter()
        .find(|s| s.name == "vims-app-2")
        .unwrap()
        .clone();
    newer.name = "vims-app-3".into();
    newer.data_volumes = vec![VolumeSpec {
        size_gb: 8,
        volume_type: Some("replicated".into()),
    }];
    let env = start(t.clone(), None);
    // First the VNF without it: the group is made for `standard`.
    let o = env.lifeboat(&["run", "option1/protect", "-p", "vnf=vims"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (o, j) = resolve(&env, "option1/protect", &[], None);
    assert_eq!(
        o.status.code(),
        Some(0),
        "members already in the group are fine: {}",
        text(&o)
    );
    assert!(findings(&j, "group-capability").is_empty());
    // A volume retyped while in the group stays a member: no finding either.
    let c = env.client("site-a");
    env.rt.block_on(async {
        let v = c
            .cinder()
            .volumes(&[("name", "vims-app-1-data".to_string())])
            .await
            .unwrap();
        c.cinder()
            .retype(&v[0].id, "replicated", "never")
            .await
            .unwrap();
    });
    let (_, j) = resolve(&env, "option1/protect", &[], None);
    assert!(
        findings(&j, "group-capability").is_empty(),
        "{:?}",
        findings(&j, "group-capability")
    );
    drop(env);
    // Now a new server of the VNF (tagged `vims` only) whose data volume is
    // `replicated`, after the group was made for the six others (`vnf:vims`).
    newer.tags = vec!["vims".into()];
    t.servers.push(newer);
    let env = start(t, None);
    let mk = env.dir.path().join("mkgroup.dr");
    std::fs::write(&mk, "runbook mkgroup \"the group of the six\" {\n  param from: site = \"site-a\"\n  servers = nova.find_servers(site: from, tag: \"vnf:vims\")\n  volumes = cinder.volumes_of(servers)\n  grp = cinder.ensure_group(site: from, name: \"lb-vims\", volumes: volumes)\n}\n").unwrap();
    let o = env.lifeboat(&["run", mk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (o, j) = resolve(&env, "option1/protect", &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "group-capability");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0]["message"].as_str().unwrap().contains("group lb-vims exists at site-a for volume types [standard]; 1 volume(s) of type `replicated` cannot be added to it: vims-app-3-data"), "{f:?}");
    // And the run fails exactly there.
    let o = env.lifeboat(&["run", "option1/protect", "-p", "vnf=vims"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the check predicted a real failure: {}",
        text(&o)
    );
}

#[test]
fn quota_at_the_backup_site_too_small_for_the_restore_is_flagged() {
    let env = start(Topology::demo(), None);
    protect(&env);
    // Clean: the demo project's quotas have room for the restore.
    let (o, j) = resolve(&env, "option1/recover", &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        findings(&j, "quota").is_empty(),
        "{}",
        j["resolved"]["findings"]
    );
    // Site-b's real quota made too small: 10 volumes, 100 GB, two 1 GB volumes
    // already there. The 12 volumes (180 GB) of the restore do not fit.
    env.emu
        .set_quotas(
            lifeboat_emulator::Site::B,
            &[("volumes", 10), ("gigabytes", 100)],
        )
        .unwrap();
    let c = env.client("site-b");
    env.rt.block_on(async {
        for n in ["other-1", "other-2"] {
            c.cinder()
                .create_volume(serde_json::json!({"name": n, "size": 1}), n)
                .await
                .unwrap();
        }
    });
    // The recovery's own check (lifeboat.check_target) finds it: a
    // `target` finding, not a second `quota` one.
    let (o, j) = resolve(&env, "option1/recover", &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        findings(&j, "quota").is_empty(),
        "{}",
        j["resolved"]["findings"]
    );
    let f = findings(&j, "target");
    assert_eq!(f.len(), 1, "{f:?}");
    let m = f[0]["message"].as_str().unwrap();
    assert!(
        m.contains("quota at site-b: 12 more volumes needed, 2 used of 10")
            && m.contains("quota at site-b: 180 more gigabytes needed, 2 used of 100"),
        "{m}"
    );
    assert_eq!(f[0]["site"], "site-b");
    // For a protect, the later restore is a warning.
    let (o, j) = resolve(&env, "option1/protect", &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let f = findings(&j, "quota");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["severity"], "warning");
    let m = f[0]["message"].as_str().unwrap();
    assert!(
        m.contains("12 volumes, 8 left of 10") && m.contains("180 GB, 98 GB left of 100"),
        "{m}"
    );
    // And the run stops at the same check, before anything is made.
    let o = env.lifeboat(&["run", "option1/recover", "-p", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("12 more volumes needed"), "{}", text(&o));
    assert_eq!(env.count_volumes("site-b"), 2, "only the two already there");
    let ports = env.rt.block_on(c.neutron().ports(&[])).unwrap();
    assert!(ports.is_empty(), "{ports:?}");
}

#[test]
fn a_missing_manifest_is_flagged_for_every_recovery_runbook() {
    let env = start(Topology::demo(), None);
    for rb in [
        "option1/recover",
        "option1/drill",
        "option2/recover",
        "option3/failover",
        "option3/drill",
    ] {
        let (o, j) = resolve(&env, rb, &[], None);
        assert_eq!(o.status.code(), Some(1), "{rb}: {}", text(&o));
        let f = findings(&j, "manifest");
        assert_eq!(f.len(), 1, "{rb}: {f:?}");
        assert!(
            f[0]["message"]
                .as_str()
                .unwrap()
                .contains("no recovery manifest of VNF `vims` can be read at site-b"),
            "{rb}: {f:?}"
        );
        assert_eq!(f[0]["site"], "site-b");
    }
    protect(&env);
    let (o, j) = resolve(&env, "option1/recover", &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(findings(&j, "manifest").is_empty());
    // The manifest expands the recovery: 12 volumes restored, 3 boot groups.
    let r = &j["resolved"];
    assert_eq!(r["steps"]["restore.vol"]["instances"], 12, "{}", r["steps"]);
    let est = &j["estimates"]["steps"];
    let counts: Vec<u64> = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"]["type"] == "for_each")
        .filter_map(|n| est[n["name"].as_str().unwrap()]["count"].as_u64())
        .collect();
    assert!(counts.contains(&12) && counts.contains(&3), "{counts:?}");
}

#[test]
fn a_quiesce_method_the_cloud_does_not_offer_is_flagged() {
    let env = start(three_servers(), None);
    // Clean: the emulator lists the quiesce extension; pause needs nothing.
    for m in ["nova-quiesce", "pause"] {
        let (o, j) = resolve(
            &env,
            "option1/protect",
            &["-p", &format!("method={m}")],
            None,
        );
        assert_eq!(o.status.code(), Some(0), "{m}: {}", text(&o));
        assert!(findings(&j, "quiesce-method").is_empty(), "{m}");
    }
    // A compute API without the extension listing (as upstream Nova today).
    env.emu.set_faults(FaultProfile::from_yaml_str("rules:\n  - {service: compute, path_contains: /extensions, error_rate: 1.0, error_status: 404}\n").unwrap());
    let (o, j) = resolve(
        &env,
        "option1/protect",
        &["-p", "method=nova-quiesce"],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "quiesce-method");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0]["message"].as_str().unwrap().contains("does not offer"),
        "{f:?}"
    );
    env.emu.clear_faults();
    // `hook` with no hook configured.
    let (o, j) = resolve(&env, "option1/protect", &["-p", "method=hook"], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "quiesce-method");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0]["message"].as_str().unwrap().contains("has no hook"),
        "{f:?}"
    );
    // An unknown method.
    let (o, j) = resolve(
        &env,
        "option1/protect",
        &["-p", "method=freeze-harder"],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(findings(&j, "quiesce-method")[0]["message"]
        .as_str()
        .unwrap()
        .contains("unknown quiesce method"));
}

#[test]
fn no_cloud_for_resolve_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args([
            "plan",
            "option1/protect",
            "--resolve",
            "-p",
            "vnf=vims",
            "--state-dir",
        ])
        .arg(dir.path())
        .env("XDG_STATE_HOME", dir.path().join("xdg"))
        .env_remove("OS_CLOUD")
        .env_remove("OS_AUTH_URL")
        .env("OS_CLIENT_CONFIG_FILE", dir.path().join("none.yaml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no cloud configured"),
        "{}",
        text(&o)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn a_site_that_is_down_is_a_finding_not_a_crash() {
    let env = start(three_servers(), None);
    env.emu.set_site_down(lifeboat_emulator::Site::A, true);
    let (o, j) = resolve(&env, "option1/protect", &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "discovery");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["step"], "servers");
    assert_eq!(f[0]["site"], "site-a");
    // Nothing downstream of the failed read is guessed: the loop keeps its assumed count.
    let lp = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"]["type"] == "for_each")
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(j["estimates"]["steps"][&lp]["count_resolved"], false);
    // dot still prints, the findings go to stderr.
    let mut c = env.cmd(&[
        "plan",
        "option1/protect",
        "--resolve",
        "-p",
        "vnf=vims",
        "-f",
        "dot",
        "--cloud",
        "emulator",
    ]);
    let o = c.stdin(std::process::Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("digraph"));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("error (discovery) [servers @ site-a]"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_taken_address_or_a_short_network_quota_at_the_backup_site_stops_before_anything_is_made() {
    let env = start(Topology::demo(), None);
    protect(&env);
    let (o, j) = resolve(&env, "option1/recover", &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        findings(&j, "target").is_empty(),
        "{}",
        j["resolved"]["findings"]
    );
    // An operator's port at site-b holds vims-db-1's management address.
    let (a, b) = (env.client("site-a"), env.client("site-b"));
    let blocker = env.rt.block_on(async {
        let src = a
            .neutron()
            .ports(&[("name", "vims-db-1-mgmt")])
            .await
            .unwrap();
        let ip = src[0].fixed_ips[0].ip_address.clone();
        let net = b.neutron().networks(&[("name", "mgmt")]).await.unwrap()[0]
            .id
            .clone();
        let spec = lifeboat_openstack::neutron::PortSpec {
            network_id: net,
            name: "someone-else".into(),
            fixed_ips: vec![lifeboat_openstack::neutron::FixedIp {
                subnet_id: String::new(),
                ip_address: ip.clone(),
            }],
            port_security_enabled: true,
            vnic_type: "normal".into(),
            ..Default::default()
        };
        let p = b.neutron().create_port(&spec).await.unwrap();
        (p.id, ip)
    });
    let (o, j) = resolve(&env, "option1/recover", &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "target");
    assert_eq!(f.len(), 1, "{}", j["resolved"]["findings"]);
    let m = f[0]["message"].as_str().unwrap();
    assert!(
        m.contains(&format!(
            "address {} is taken at site-b by port {}",
            blocker.1, blocker.0
        )),
        "{m}"
    );
    assert_eq!(f[0]["site"], "site-b");
    // The run stops at the same check: nothing made at site-b.
    let o = env.lifeboat(&["run", "option1/recover", "-p", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("is taken at site-b"), "{}", text(&o));
    assert_eq!(env.count_volumes("site-b"), 0);
    let ports = env.rt.block_on(b.neutron().ports(&[])).unwrap();
    assert_eq!(ports.len(), 1, "only the blocker: {ports:?}");
    // Freed, but the port quota leaves room for 4 of the 13 ports.
    env.rt
        .block_on(b.neutron().delete_port(&blocker.0))
        .unwrap();
    env.emu
        .set_quotas(lifeboat_emulator::Site::B, &[("port", 4)])
        .unwrap();
    let (o, j) = resolve(&env, "option1/recover", &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "target");
    let m = f[0]["message"].as_str().unwrap();
    assert!(
        m.contains("quota at site-b: 13 more port(s) needed, 0 used of 4"),
        "{m}"
    );
}

#[test]
fn a_site_mapping_is_checked_stored_shown_and_a_recovery_it_cannot_take_stops_before_anything_is_made(
) {
    let env = start(Topology::demo(), None);
    protect(&env);
    let dir = env.dir.path();
    // `lifeboat check` shows each mistake where it stands.
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nsource: site-a\ntarget: site-b\nnetworks:\n  - {from: mgmt, to: mgmt-b, test: mgmt-b}\nreip:\n  - {from: 10.1.0.0/16, to: 172.16.0.0/24}\n",
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["check", "--short", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("bad.yaml:5:36: error[mapping]: network mgmt: the drill network is the production network mgmt-b"), "{t}");
    assert!(t.contains("bad.yaml:7:12: error[mapping]: re-IP rule 1: 10.1.0.0/16 and 172.16.0.0/24 differ in prefix length"), "{t}");
    // `mapping put` refuses it and stores nothing.
    let o = env.lifeboat(&["mapping", "put", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("nothing was stored"), "{}", text(&o));
    let o = env.lifeboat(&["mapping", "show", "site-a", "--at", "site-b"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("no site mapping from site-a is stored at site-b"),
        "{}",
        text(&o)
    );
    // A valid one that names a network site-b lacks is stored …
    let good = dir.join("good.yaml");
    let doc =
        "version: 1\nsource: site-a\ntarget: site-b\nnetworks:\n  - {from: mgmt, to: mgmt-dr}\n";
    std::fs::write(&good, doc).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["check", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = env.lifeboat(&["mapping", "put", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("stored at site-b: lifeboat-manifests/.mappings/site-a.yaml"),
        "{}",
        text(&o)
    );
    let o = env.lifeboat(&["mapping", "show", "site-a", "--at", "site-b"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), doc);
    // With its reverse for the failback, stored at the source: a reverse
    // that would be ambiguous stores nothing, not even the document.
    let two = dir.join("two.yaml");
    std::fs::write(
        &two,
        "version: 1\nsource: site-a\ntarget: site-b\nnetworks:\n  - {from: mgmt, to: mgmt-dr}\n  - {from: media, to: mgmt-dr}\n",
    )
    .unwrap();
    let o = env.lifeboat(&["mapping", "put", two.to_str().unwrap(), "--with-reverse"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("maps both mgmt and media to mgmt-dr")
            && text(&o).contains("nothing was stored"),
        "{}",
        text(&o)
    );
    let o = env.lifeboat(&["mapping", "show", "site-a", "--at", "site-b"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), doc);
    let o = env.lifeboat(&["mapping", "put", good.to_str().unwrap(), "--with-reverse"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("stored at site-a: lifeboat-manifests/.mappings/site-b.yaml"),
        "{}",
        text(&o)
    );
    let o = env.lifeboat(&["mapping", "show", "site-b", "--at", "site-a"]);
    let back = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        back.contains("source: site-b\ntarget: site-a\n")
            && back.contains("- from: mgmt-dr\n  to: mgmt\n"),
        "{back}"
    );
    // … and the recovery reads it: `plan --resolve` says what does not
    // resolve, and the run stops at the same check with nothing made.
    let (o, j) = resolve(&env, "option1/recover", &[], None);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "target");
    assert_eq!(f.len(), 1, "{}", j["resolved"]["findings"]);
    let m = f[0]["message"].as_str().unwrap();
    assert!(m.contains("no network named \"mgmt-dr\" at site-b"), "{m}");
    let o = env.lifeboat(&["run", "option1/recover", "-p", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("no network named \"mgmt-dr\""),
        "{}",
        text(&o)
    );
    assert_eq!(env.count_volumes("site-b"), 0);
    let b = env.client("site-b");
    assert!(env.rt.block_on(b.neutron().ports(&[])).unwrap().is_empty());
    // A per-run document with a mistake is a `mapping` finding.
    let (o, j) = resolve(
        &env,
        "option1/recover",
        &["-p", &format!("mapping={}", bad.display())],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let f = findings(&j, "mapping");
    assert_eq!(f.len(), 1, "{}", j["resolved"]["findings"]);
    assert!(
        f[0]["message"].as_str().unwrap().contains("bad.yaml:5:36"),
        "{}",
        f[0]
    );
}

/// Skipping follows the run's rule: a read whose `when` is false is not
/// called, and neither is a read of its result, nor anything in a loop over
/// it; nothing is guessed from the `null` a skipped step leaves.
#[test]
fn a_step_reading_a_skipped_step_is_skipped_as_in_the_run() {
    let env = start(Topology::demo(), None);
    let rb = env.dir.path().join("skipped.dr");
    std::fs::write(
        &rb,
        "runbook skipped \"reads after a skipped step\" {
  param vnf: string
  param from: site = \"site-a\"
  param look: bool = false
  servers = nova.find_servers(site: from, tag: vnf) when look
  volumes = cinder.volumes_of(servers)
  for s in servers {
    again = nova.find_servers(site: from, tag: s.name)
  }
}
",
    )
    .unwrap();
    let rb = rb.to_str().unwrap();
    let (o, j) = resolve(&env, rb, &[], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = &j["resolved"];
    assert_eq!(r["read_calls"], 0, "{r}");
    for step in ["servers", "volumes"] {
        assert_eq!(r["steps"][step]["states"]["skipped"], 1, "{step}: {r}");
    }
    assert!(r["findings"].as_array().unwrap().is_empty(), "{r}");
    // Looking: every read is made, the loop has a pass per server.
    let (o, j) = resolve(&env, rb, &["-p", "look=true"], None);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r = &j["resolved"];
    assert_eq!(r["steps"]["volumes"]["states"]["read"], 1, "{r}");
    assert_eq!(r["steps"]["again"]["instances"], 6, "{r}");
    assert_eq!(r["read_calls"], 8, "{r}");
}
