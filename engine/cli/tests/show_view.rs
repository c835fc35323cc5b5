//! A finished run drawn again: `lifeboat show RUN --format html` (the graph
//! and a timeline with real timings, loaded in headless Chromium) and
//! `--format json`; and the run history feeding `lifeboat plan`'s
//! estimates (medians per action and site, with their sample counts).

#[path = "support/chromium.rs"]
mod chromium;
mod common;

use common::*;
use serde_json::Value;

fn only_run(env: &Env) -> (String, std::path::PathBuf) {
    let dirs = env.run_dirs();
    let d = dirs.last().unwrap().clone();
    (d.file_name().unwrap().to_string_lossy().into_owned(), d)
}

#[test]
fn a_finished_run_is_drawn_with_its_real_timings() {
    let env = start(three_servers(), None);
    let o = env.lifeboat(&["run", "option1/protect", "-p", "vnf=vims"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let (id, dir) = only_run(&env);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();

    // JSON: the report, as --json gives it.
    let j = env
        .cmd(&["show", &id, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(j.status.code(), Some(0), "{}", text(&j));
    let shown: Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(shown, report);

    let h = env.cmd(&["show", &id, "-f", "html"]).output().unwrap();
    assert_eq!(h.status.code(), Some(0), "{}", text(&h));
    let page = String::from_utf8_lossy(&h.stdout).into_owned();
    for fetch in [
        "src=",
        "href=",
        "<link",
        "@import",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!page.contains(fetch), "self-contained, yet has {fetch}");
    }
    let steps = report["steps"].as_array().unwrap();
    assert!(steps.len() >= 10, "{}", steps.len());
    let Some(chrome) = chromium::chromium() else {
        return;
    };
    let file = chromium::artifacts().join("option1-protect-finished-run.html");
    std::fs::write(&file, &page).unwrap();
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
    // Every plan step is drawn, every step instance of the run has its bar.
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("plan.json")).unwrap()).unwrap();
    for n in plan["nodes"].as_array().unwrap() {
        assert!(
            dom.contains(&format!("data-step=\"{}\"", n["name"].as_str().unwrap())),
            "step {} not drawn",
            n["name"]
        );
    }
    for s in steps {
        assert!(
            dom.contains(&format!(
                "data-timing=\"{}\"",
                s["instance"].as_str().unwrap()
            )),
            "no bar for {}",
            s["instance"]
        );
    }
    // The three servers' frozen windows, and the real duration in the header.
    assert_eq!(
        dom.matches("class=\"bar frozen\"").count(),
        3,
        "one frozen window per server"
    );
    assert!(
        dom.contains(&format!("run {id} of protect: succeeded")),
        "header names the run"
    );
    let shot = chromium::artifacts().join("option1-protect-finished-run.png");
    let _ = std::fs::remove_file(&shot);
    chromium::load_sized(&chrome, &file, Some(&shot), (1600, 2400));
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 20_000,
        "screenshot is not blank: {} bytes",
        png.len()
    );
}

#[test]
fn an_unknown_or_unfinished_run_cannot_be_drawn() {
    let env = start(three_servers(), None);
    let o = env.cmd(&["show", "nope", "-f", "html"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no run `nope`"),
        "{}",
        text(&o)
    );
}

#[test]
fn estimates_use_the_medians_of_past_runs_and_say_so() {
    let env = start(three_servers(), None);
    for _ in 0..2 {
        let o = env.lifeboat(&["run", "option1/protect", "-p", "vnf=vims"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    // The samples: every first-attempt success of each action at its site.
    let mut samples: std::collections::BTreeMap<(String, String), Vec<u64>> = Default::default();
    for d in env.run_dirs() {
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
        let sites: std::collections::HashMap<String, String> = journal(&d)
            .iter()
            .filter(|r| r["record"] == "step_intent")
            .filter_map(|r| {
                Some((
                    r["instance"].as_str()?.to_string(),
                    r["call"]["site"].as_str()?.to_string(),
                ))
            })
            .collect();
        for s in report["steps"].as_array().unwrap() {
            if s["outcome"] == "succeeded" && s["attempts"] == 1 && s["reused"] == false {
                if let Some(site) = sites.get(s["instance"].as_str().unwrap()) {
                    samples
                        .entry((s["action"].as_str().unwrap().to_string(), site.clone()))
                        .or_default()
                        .push(s["duration_ms"].as_u64().unwrap());
                }
            }
        }
    }
    let backups = &samples[&("cinder.backup".to_string(), "site-a".to_string())];
    assert_eq!(backups.len(), 12, "six volumes' backups per run, two runs");
    let mut sorted = backups.clone();
    sorted.sort_unstable();
    let median = (sorted[5] + sorted[6]) / 2;

    let o = env
        .cmd(&["plan", "option1/protect", "-p", "vnf=vims", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = &j["estimates"]["latencies"]["measured"]["cinder.backup"]["site-a"];
    assert_eq!(m["samples"], 12);
    assert_eq!(m["median_ms"], median);
    let b = &j["estimates"]["steps"]["b"];
    assert_eq!(
        b["end_ms"].as_u64().unwrap() - b["start_ms"].as_u64().unwrap(),
        median
    );
    assert_eq!(b["measured"]["samples"], 12);
    assert_eq!(b["measured"]["site"], "site-a");
    // The emulator is far quicker than the table's 5 min backup.
    let table = env
        .cmd(&[
            "plan",
            "option1/protect",
            "-p",
            "vnf=vims",
            "-f",
            "json",
            "--no-history",
        ])
        .output()
        .unwrap();
    let t: Value = serde_json::from_slice(&table.stdout).unwrap();
    assert!(t["estimates"]["latencies"]["measured"].is_null());
    assert!(t["estimates"]["steps"]["b"]["measured"].is_null());
    assert!(j["estimates"]["total_ms"].as_u64() < t["estimates"]["total_ms"].as_u64());
    // Freezes and thaws: three targets give two gaps per run.
    for a in ["nova.pause", "nova.unpause"] {
        assert_eq!(
            j["estimates"]["latencies"]["measured"][a]["site-a"]["samples"], 4,
            "{a}"
        );
    }
    let (qm, qt) = (&j["estimates"]["quiesce"][0], &t["estimates"]["quiesce"][0]);
    let reports: Vec<Value> = env
        .run_dirs()
        .iter()
        .map(|d| {
            serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap()
        })
        .collect();
    let durations: Vec<&Value> = reports.iter().map(|r| &r["duration_ms"]).collect();
    let windows: Vec<&Value> = reports
        .iter()
        .map(|r| &r["scopes"][0]["window_ms"])
        .collect();
    eprintln!(
        "runs took {durations:?} ms (quiesce windows {windows:?} ms); estimate from history {} ms (quiesce window {} ms), from the table {} ms (window {} ms); backup median {median} ms of 12",
        j["estimates"]["total_ms"], qm["window_ms"], t["estimates"]["total_ms"], qt["window_ms"]
    );
    assert!(
        qm["window_ms"].as_u64() < qt["window_ms"].as_u64(),
        "measured freezes shorten the window: {qm} vs {qt}"
    );
    let txt = env
        .cmd(&["plan", "option1/protect", "-p", "vnf=vims"])
        .output()
        .unwrap();
    let txt = String::from_utf8_lossy(&txt.stdout);
    assert!(
        txt.contains("latencies measured from the run history: ")
            && txt.contains("b (")
            && txt.contains("median of 12 past call(s)"),
        "{txt}"
    );
}
