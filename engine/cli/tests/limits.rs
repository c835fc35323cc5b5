//! `--max-in-flight` / `--site-limit`: bad values exit 2 before anything
//! runs; good ones reach the run (kept in `limits.json` for `resume`). The
//! daemon's `max_in_flight` is each of its runs' (bad values:
//! `daemon_config.rs`); its `freezes_at_once` is all its runs'.

mod common;
use common::daemon::{daemon, runs, wait_for};
use common::*;
use serde_json::Value;

#[test]
fn bad_limits_exit_2_and_run_nothing() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    for bad in [
        vec!["--max-in-flight", "0"],
        vec!["--site-limit", "site-a"],
        vec!["--site-limit", "site-a=x"],
        vec!["--site-limit", "=3"],
        vec!["--site-limit", "site-a=0"],
    ] {
        let mut args = vec!["run", rb.as_str()];
        args.extend(bad.iter().copied());
        let o = env.lifeboat(&args);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", text(&o));
        assert!(
            text(&o).contains("nothing was run"),
            "{bad:?}: {}",
            text(&o)
        );
    }
    assert!(env.run_dirs().is_empty(), "no run may start");
}

#[test]
fn limits_reach_the_run_and_are_kept_for_resume() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    let o = env.lifeboat(&[
        "run",
        &rb,
        "--max-in-flight",
        "2",
        "--site-limit",
        "site-a=1",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let dir = &env.run_dirs()[0];
    let limits: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("limits.json")).unwrap()).unwrap();
    assert_eq!(limits["default_per_site"], 2, "{limits}");
    assert_eq!(limits["per_site"]["site-a"], 1, "{limits}");
}

/// Reads only; `n` makes each job's runbook + parameters (its lock) its own.
const LOOK: &str = r#"
runbook look "read the VNF's servers, volumes and network" {
  param vnf: string = "vims"
  param n: int = 0

  servers = nova.find_servers(site: "site-a", tag: vnf)
  volumes = cinder.volumes_of(servers)
  net = neutron.capture(servers)
}
"#;

fn admin(env: &Env, path: &str) -> Value {
    let (status, body) =
        lifeboat_emulator::admin_request(&env.emu.admin_url(), "GET", path, None).unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Three jobs of a daemon with `max_in_flight: 1` started at once against
/// the emulator, every answer 150 ms late: they go side by side, each with
/// one request in flight at the site, and each report counts its own.
#[test]
fn the_daemons_max_in_flight_is_each_runs() {
    const JOBS: usize = 3;
    let env = start(three_servers(), None);
    let rb = env.dir.path().join("look.dr");
    std::fs::write(&rb, LOOK).unwrap();
    let mut cfg_text = String::from("max_in_flight: 1\njobs:\n");
    for n in 0..JOBS {
        cfg_text.push_str(&format!(
            "  - name: look-{n}\n    runbook: {}\n    params: {{vnf: vims, n: {n}}}\n    cloud: emulator\n    schedule: \"0 0 1 1 *\"\n    run_at_start: true\n",
            rb.display()
        ));
    }
    let cfg = env.dir.path().join("lifeboat.yaml");
    std::fs::write(&cfg, cfg_text).unwrap();
    let log = env.dir.path().join("daemon.log");
    let since = admin(&env, "/_emulator/requests?since=18446744073709551615")["last_seq"]
        .as_u64()
        .unwrap();
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::fixed_latency(150));

    let mut d = daemon(&env, &cfg);
    let rows = wait_for(
        "every job's run to end",
        120,
        &mut d,
        || {
            let rows = runs(&env);
            (rows.len() == JOBS && rows.iter().all(|r| r["outcome"] != "running")).then_some(rows)
        },
        &log,
    );
    env.emu.clear_faults();
    assert!(
        rows.iter().all(|r| r["outcome"] == "succeeded"),
        "{rows:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // One request in flight per run: never more answers within the
    // latency than runs; and the runs went side by side.
    let log_a = admin(
        &env,
        &format!("/_emulator/requests?site=site-a&since={since}"),
    );
    let mut times: Vec<u64> = log_a["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["time_ms"].as_u64().unwrap())
        .collect();
    times.sort_unstable();
    assert!(
        times.len() >= 3 * JOBS,
        "{} requests at site-a",
        times.len()
    );
    let most_within = |ms: u64| {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + ms)
                    .count()
            })
            .max()
            .unwrap_or(0)
    };
    assert!(
        most_within(140) <= JOBS,
        "more than {JOBS} requests in flight at site-a: {times:?}"
    );
    assert!(
        most_within(140) >= 2,
        "the runs did not go side by side: {times:?}"
    );

    // Each run kept its limit, and its report counts its own requests:
    // together, every request the site answered.
    let mut counted = 0;
    for r in &rows {
        let dir = env
            .run_dirs()
            .into_iter()
            .find(|d| d.file_name().and_then(|n| n.to_str()) == r["id"].as_str())
            .unwrap_or_else(|| panic!("no run dir of {}", r["id"]));
        let limits: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("limits.json")).unwrap())
                .unwrap();
        assert_eq!(limits["default_per_site"], 1, "{limits}");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        let site_a = report["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["site"] == "site-a")
            .cloned()
            .unwrap_or_else(|| panic!("no pressure of site-a in {report}"));
        assert_eq!(site_a["ceiling"], 1, "{site_a}");
        counted += site_a["requests"].as_u64().unwrap();
    }
    assert_eq!(
        counted as usize,
        times.len(),
        "requests counted by the runs"
    );
    drop(d);
}

/// Three jobs protecting three VNFs (option1/protect), started at once by
/// a daemon with `freezes_at_once: 1`, every answer 100 ms late: they all
/// succeed, and no two VNFs had servers paused at the same time — from each
/// VNF's first `pause` to its last `unpause`, as the emulator answered them.
#[test]
fn the_daemons_freezes_at_once_keeps_one_vnf_frozen_at_a_time() {
    const JOBS: usize = 3;
    let env = start(lifeboat_emulator::Topology::generate(JOBS, 3), None);
    let mut cfg_text = String::from("freezes_at_once: 1\njobs:\n");
    for n in 1..=JOBS {
        cfg_text.push_str(&format!(
            "  - runbook: option1/protect\n    params: {{vnf: vnf{n:03}}}\n    cloud: emulator\n    schedule: \"0 0 1 1 *\"\n    run_at_start: true\n"
        ));
    }
    let cfg = env.dir.path().join("lifeboat.yaml");
    std::fs::write(&cfg, cfg_text).unwrap();
    let log = env.dir.path().join("daemon.log");
    let since = admin(&env, "/_emulator/requests?since=18446744073709551615")["last_seq"]
        .as_u64()
        .unwrap();
    env.emu
        .set_faults(lifeboat_emulator::FaultProfile::fixed_latency(100));
    let mut d = daemon(&env, &cfg);
    let rows = wait_for(
        "every job's protect to end",
        180,
        &mut d,
        || {
            let rows = runs(&env);
            (rows.len() == JOBS && rows.iter().all(|r| r["outcome"] != "running")).then_some(rows)
        },
        &log,
    );
    env.emu.clear_faults();
    assert!(
        rows.iter().all(|r| r["outcome"] == "succeeded"),
        "{rows:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // Server id → its VNF, then each VNF's span from its first pause to its
    // last unpause.
    let c = env.client("site-a");
    let vnf_of: std::collections::HashMap<String, String> = env.rt.block_on(async {
        let mut m = std::collections::HashMap::new();
        for n in 1..=JOBS {
            let vnf = format!("vnf{n:03}");
            for s in c.nova().servers_with_tag(&vnf).await.unwrap() {
                m.insert(s.id, vnf.clone());
            }
        }
        m
    });
    let reqs = admin(
        &env,
        &format!("/_emulator/requests?site=site-a&since={since}"),
    );
    let mut spans: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for r in reqs["requests"].as_array().unwrap() {
        let (Some(action), Some(path)) = (r["action"].as_str(), r["path"].as_str()) else {
            continue;
        };
        if action != "pause" && action != "unpause" {
            continue;
        }
        let Some(vnf) = path.split('/').find_map(|seg| vnf_of.get(seg)) else {
            continue;
        };
        let t = r["time_ms"].as_u64().unwrap();
        let e = spans.entry(vnf.clone()).or_insert((u64::MAX, 0));
        if action == "pause" {
            e.0 = e.0.min(t);
        } else {
            e.1 = e.1.max(t);
        }
    }
    assert_eq!(spans.len(), JOBS, "each VNF was paused: {spans:?}");
    let mut v: Vec<(u64, u64)> = spans.values().copied().collect();
    v.sort_unstable();
    for w in v.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "two VNFs had servers paused at once: {spans:?}"
        );
    }
}
