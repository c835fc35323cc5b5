//! `lifeboat run` end to end against the emulator over HTTP: ordered quiesce
//! and its window in the journal and the report; reverse thaw after a failure
//! inside the scope; retries on 429; re-auth after token expiry; bad input
//! (an unknown VNF among it) and a refused approval change nothing.

mod common;
use common::*;
use serde_json::Value;

fn freeze_order(j: &[Value], rec: &str) -> Vec<String> {
    j.iter()
        .filter(|r| r["record"] == rec)
        .map(|r| {
            r["target"]
                .as_str()
                .or_else(|| r["key"].as_str())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn run_quiesces_in_order_snapshots_and_backs_up_with_its_window_reported() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    let o = env.lifeboat(&["run", &rb]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("succeeded"), "{out}");
    assert!(out.contains("quiesce") && out.contains("window"), "{out}");
    let dirs = env.run_dirs();
    assert_eq!(dirs.len(), 1);
    let j = journal(&dirs[0]);
    assert_eq!(
        freeze_order(&j, "freeze_intent"),
        vec!["vims-db-1", "vims-app-1", "vims-lb-1"]
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dirs[0].join("report.json")).unwrap())
            .unwrap();
    let scope = &report["scopes"][0];
    assert!(scope["window_ms"].as_u64().is_some(), "{report}");
    let targets: Vec<&str> = scope["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, vec!["vims-db-1", "vims-app-1", "vims-lb-1"]);
    assert!(report["bytes_moved"].as_u64().unwrap() > 0);
    assert!(dirs[0].join("plan.json").is_file() && dirs[0].join("params.json").is_file());
    assert!(env
        .server_statuses("site-a")
        .iter()
        .all(|(_, s)| s == "ACTIVE"));
    // runs / show read it back
    let runs = env.cmd(&["runs", "--json"]).output().unwrap();
    let rows: Value = serde_json::from_slice(&runs.stdout).unwrap();
    assert_eq!(rows[0]["outcome"], "succeeded");
    let id = rows[0]["id"].as_str().unwrap();
    let show = env.cmd(&["show", id]).output().unwrap();
    assert_eq!(show.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&show.stdout).contains(id));
}

#[test]
fn a_failure_inside_the_scope_thaws_in_reverse_order_and_exits_1() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    env.emu.set_faults(
        lifeboat_emulator::FaultProfile::from_yaml_str(
            "rules:\n  - {operation: group_snapshot.create, fail_rate: 1.0}\n",
        )
        .unwrap(),
    );
    let o = env.lifeboat(&["run", &rb]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let j = journal(&env.run_dirs()[0]);
    let frozen: Vec<(String, String)> = j
        .iter()
        .filter(|r| r["record"] == "freeze_intent")
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let thawed: Vec<String> = j
        .iter()
        .filter(|r| r["record"] == "thaw_intent")
        .filter_map(|r| {
            frozen
                .iter()
                .find(|(k, _)| r["key"] == k.as_str())
                .map(|(_, t)| t.clone())
        })
        .collect();
    assert_eq!(
        thawed,
        vec!["vims-lb-1", "vims-app-1", "vims-db-1"],
        "{}",
        text(&o)
    );
    assert!(
        env.server_statuses("site-a")
            .iter()
            .all(|(_, s)| s == "ACTIVE"),
        "a server stayed paused"
    );
}

#[test]
fn rate_limits_are_retried_and_an_expired_token_is_renewed() {
    let env = start(three_servers(), None);
    let rb = write_snap3(&env);
    env.emu.set_faults(
        lifeboat_emulator::FaultProfile::from_yaml_str(
            "rules:\n  - {service: volume, method: POST, path_contains: /backups, rate_limit: {max_requests: 4, per_seconds: 1, status: 429, retry_after_s: 1}}\n",
        )
        .unwrap(),
    );
    // every token expires while the run goes on
    let emu_expire = {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = stop.clone();
        let admin = env.emu.admin_url();
        let t = std::thread::spawn(move || {
            let mut n = 0;
            // The first expiry at once, while the run starts (a loaded
            // machine once finished the run before a first 300 ms sleep).
            while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                if lifeboat_emulator::admin_request(
                    &admin,
                    "POST",
                    "/_emulator/tokens/expire",
                    None,
                )
                .is_ok()
                {
                    n += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            n
        });
        (stop, t)
    };
    let o = env
        .cmd(&["run", &rb, "--cloud", "emulator", "--json"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    emu_expire
        .0
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let expiries = emu_expire.1.join().unwrap();
    assert!(expiries > 0, "tokens were never expired during the run");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let events: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(events.iter().any(|e| e["event"] == "run_started"));
    // The 429s were retried request by request (no step had to be retried
    // for them), and the events say what the site did: throttled answers and
    // the adaptive in-flight limit it brought down.
    let throttled: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "site_pressure" && e["throttled"].as_u64().is_some_and(|n| n > 0))
        .collect();
    assert!(
        !throttled.is_empty(),
        "the rate limit was never hit: {}",
        text(&o)
    );
    let last = throttled.last().unwrap();
    assert!(
        last["lowest_limit"].as_u64().unwrap() < last["ceiling"].as_u64().unwrap(),
        "the limit came down: {last}"
    );
    assert!(
        last["retries"].as_u64().unwrap() >= last["throttled"].as_u64().unwrap(),
        "every throttled request was sent again: {last}"
    );
    assert_eq!(events.last().unwrap()["event"], "report");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(env.run_dirs()[0].join("report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["outcome"]["outcome"], "succeeded");
    let sites = report["sites"]
        .as_array()
        .expect("the report lists the sites' pressure");
    assert!(
        sites
            .iter()
            .any(|p| p["throttled"].as_u64().is_some_and(|n| n > 0)),
        "{report}"
    );
}

#[test]
fn recover_without_confirm_and_without_a_tty_refuses_and_changes_nothing() {
    let env = start(three_servers(), None);
    let before = env.count_volumes("site-b");
    let o = env.lifeboat(&["run", "option1/recover", "--param", "vnf=vims"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("--confirm"), "{}", text(&o));
    assert_eq!(env.count_volumes("site-b"), before);
    let j = journal(&env.run_dirs()[0]);
    assert!(
        !j.iter().any(|r| r["record"] == "step_intent"),
        "nothing may be called"
    );
}

#[test]
fn bad_input_exits_2_and_runs_nothing() {
    let env = start(three_servers(), None);
    let missing = env.lifeboat(&["run", "option1/protect"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("vnf"), "{}", text(&missing));
    let wrong = env
        .cmd(&[
            "run",
            "option1/protect",
            "--param",
            "vnf=vims",
            "--cloud",
            "nope",
        ])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong).contains("nope"), "{}", text(&wrong));
    let none = env
        .cmd(&["run", "option1/protect", "--param", "vnf=vims"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none).contains("lifeboat emulator serve"),
        "{}",
        text(&none)
    );
    assert!(env.run_dirs().is_empty(), "no run may start");
}

/// A protect of a VNF no server carries the tag of (a misspelt name) fails
/// at once, saying so, and calls nothing that changes the cloud — it did
/// fail before, but on Cinder refusing an empty group, which named neither
/// the VNF nor the cause.
#[test]
fn a_protect_of_an_unknown_vnf_says_so_and_changes_nothing() {
    let env = start(three_servers(), None);
    let before = (env.count_volumes("site-a"), env.count_volumes("site-b"));
    for (i, rb) in ["option1/protect", "option2/protect", "option3/prepare"]
        .into_iter()
        .enumerate()
    {
        let o = env.lifeboat(&["run", rb, "-p", "vnf=vmis"]);
        assert_eq!(o.status.code(), Some(1), "{rb}: {}", text(&o));
        assert!(
            text(&o).contains("no server at site site-a carries the tag `vmis`"),
            "{rb}: {}",
            text(&o)
        );
        assert!(
            text(&o).contains("openstack server set --tag vmis"),
            "{rb}: {}",
            text(&o)
        );
        let dirs = env.run_dirs();
        assert_eq!(dirs.len(), i + 1);
        let called: Vec<String> = journal(&dirs[i])
            .iter()
            .filter(|r| r["record"] == "step_intent")
            .map(|r| r["call"]["action"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(called, ["nova.find_servers"], "{rb}");
    }
    assert_eq!(
        (env.count_volumes("site-a"), env.count_volumes("site-b")),
        before
    );
}

#[test]
fn a_recovery_into_a_site_with_too_small_a_quota_fails_cleanly_and_leaves_nothing() {
    let env = start(three_servers(), None);
    let o = env.lifeboat(&["run", "option1/protect", "-p", "vnf=vims"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Site-b's project may hold 4 volumes: the 6 of the restore do not fit,
    // and the recovery's check says so before it makes anything.
    env.emu
        .set_quotas(lifeboat_emulator::Site::B, &[("volumes", 4)])
        .unwrap();
    let o = env.lifeboat(&["run", "option1/recover", "-p", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("FAILED: restore.target: lifeboat.check_target: site site-b cannot take vims as recorded (1 problem): quota at site-b: 6 more volumes needed, 0 used of 4"), "{t}");
    assert!(t.contains("nothing was created"), "{t}");
    let j = journal(env.run_dirs().last().unwrap());
    assert!(
        !j.iter().any(|r| r["record"] == "compensate_intent"),
        "nothing to take back"
    );
    assert_eq!(env.count_volumes("site-b"), 0);
    // A limit the check cannot see coming (Cinder's per-volume size limit,
    // 15 GB; the boot volumes are 20 GB): Cinder refuses mid-run, the
    // refusal is permanent (not retried) and everything made is taken back.
    env.emu
        .set_quotas(
            lifeboat_emulator::Site::B,
            &[("volumes", 100), ("per_volume_gigabytes", 15)],
        )
        .unwrap();
    let before = env.emu.quotas(lifeboat_emulator::Site::B);
    let o = env.lifeboat(&["run", "option1/recover", "-p", "vnf=vims", "--confirm"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // One clear error: the step, the call, the resource, the site, Cinder's words and what to do.
    let t = text(&o);
    assert!(t.contains("FAILED: restore.vol["), "{t}");
    assert!(
        t.contains("cinder.restore_backup: cinder POST /volumes of volume "),
        "{t}"
    );
    assert!(
        t.contains("at site site-b failed (HTTP 413): overLimit: VolumeSizeExceedsLimit"),
        "{t}"
    );
    let j = journal(env.run_dirs().last().unwrap());
    // A quota answer is permanent: the failing restore was not retried.
    let failed: Vec<&Value> = j
        .iter()
        .filter(|r| {
            r["record"] == "step_outcome"
                && r["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("VolumeSizeExceedsLimit"))
        })
        .collect();
    assert!(!failed.is_empty());
    for f in &failed {
        let inst = f["instance"].as_str().unwrap();
        assert_eq!(
            j.iter()
                .filter(|r| r["record"] == "step_intent" && r["instance"] == inst)
                .count(),
            1,
            "{inst} retried"
        );
    }
    // Every restored volume was compensated, without error.
    let intents: Vec<&str> = j
        .iter()
        .filter(|r| r["record"] == "compensate_intent")
        .filter_map(|r| r["instance"].as_str())
        .collect();
    // The restored volumes (the 10 GB data volumes, those that finished
    // before the refusal stopped the loop: how many depends on timing; one
    // still in flight is cancelled, found by its tag and removed), and the
    // network identity made before them.
    assert!(
        intents.iter().all(|i| i.starts_with("restore.vol[")
            || i.starts_with("restore.port[")
            || ["restore.sgs", "restore.sgroups", "restore.keys"].contains(i)),
        "{intents:?}"
    );
    let outcomes: Vec<&Value> = j
        .iter()
        .filter(|r| r["record"] == "compensate_outcome")
        .collect();
    assert_eq!(outcomes.len(), intents.len());
    assert!(
        outcomes.iter().all(|r| r["error"].is_null()),
        "{outcomes:?}"
    );
    assert_eq!(j.last().unwrap()["outcome"]["outcome"], "failed");
    assert_eq!(
        env.count_volumes("site-b"),
        0,
        "compensation deleted every restored volume"
    );
    assert_eq!(
        env.server_statuses("site-b"),
        vec![],
        "no server was booted"
    );
    let after = env.emu.quotas(lifeboat_emulator::Site::B);
    assert_eq!(
        after["quotas"]["volumes"]["in_use"],
        before["quotas"]["volumes"]["in_use"]
    );
    assert_eq!(after["quotas"]["gigabytes"]["in_use"], 0);
}
