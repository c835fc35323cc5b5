//! `lifeboat daemon` shares one client per site among its runs, as a
//! surviving site needs on the day every VNF fails over to it: three jobs
//! started at once against the emulator (every answer 150 ms late) take
//! one token per site between them, not one per run, and with
//! `max_in_flight: 1` the site never has two of their requests at once
//! (freezes and thaws excepted; these runs make none).

mod common;
use common::daemon::{daemon, runs, wait_for};
use common::*;
use serde_json::Value;

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

const JOBS: usize = 3;

fn admin(env: &Env, path: &str) -> Value {
    let (status, body) =
        lifeboat_emulator::admin_request(&env.emu.admin_url(), "GET", path, None).unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn the_daemons_runs_share_each_sites_client_and_its_limit() {
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
    let tokens_before = admin(&env, "/_emulator/status")["tokens_issued"]
        .as_u64()
        .unwrap();
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

    // One token per site the runs used (site-a, and at most site-b), not
    // one per run.
    let tokens = admin(&env, "/_emulator/status")["tokens_issued"]
        .as_u64()
        .unwrap()
        - tokens_before;
    assert!((1..=2).contains(&tokens), "{tokens} tokens for {JOBS} runs");

    // The site answered one request at a time: each answer at least the
    // latency after the one before it.
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
    let closest = times.windows(2).map(|w| w[1] - w[0]).min().unwrap();
    assert!(
        closest >= 140,
        "two requests at site-a {closest} ms apart with max_in_flight 1: {times:?}"
    );

    // Each report counts the site's requests while it ran (the runs
    // overlap: theirs too, never those before it), under the daemon's
    // limit.
    for r in &rows {
        let dir = env
            .run_dirs()
            .into_iter()
            .find(|d| d.file_name().and_then(|n| n.to_str()) == r["id"].as_str())
            .unwrap_or_else(|| panic!("no run dir of {}", r["id"]));
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        let site_a = report["sites"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["site"] == "site-a")
            .unwrap_or_else(|| panic!("no pressure of site-a in {report}"));
        let n = site_a["requests"].as_u64().unwrap();
        assert!(
            n >= 3 && (n as usize) <= times.len(),
            "run {} reports {n} requests of {} at site-a",
            r["id"],
            times.len()
        );
        assert_eq!(site_a["ceiling"], 1, "{site_a}");
        let limits: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("limits.json")).unwrap())
                .unwrap();
        assert_eq!(limits["default_per_site"], 1, "{limits}");
    }
    drop(d);
}
