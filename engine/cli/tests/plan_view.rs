//! `lifeboat plan` estimates and the HTML view, run as a user would; the HTML
//! page is loaded in headless Chromium (skipped locally when chromium is not
//! installed, a failure under CI=1).

#[path = "support/chromium.rs"]
mod chromium;

use chromium::{artifacts, chromium, console_errors};

/// The window these pages were drawn at (the screenshots are test artifacts).
const WINDOW: (u32, u32) = (1600, 1000);
use std::path::PathBuf;
use std::process::{Command, Output};

fn lifeboat(args: &[&str]) -> Output {
    // An empty temporary state dir: no run history feeds the estimates.
    let state = tempfile::tempdir().expect("temp state dir");
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .env("XDG_STATE_HOME", state.path())
        .current_dir(repo())
        .output()
        .expect("run lifeboat")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json_plan(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", "option1/protect", "-p", "vnf=ims", "-f", "json"];
    args.extend_from_slice(extra);
    let o = lifeboat(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("json plan")
}

#[test]
fn json_plan_carries_estimates_beside_the_unchanged_plan() {
    let j = json_plan(&[]);
    assert_eq!(j["schema_version"], 1);
    let e = &j["estimates"];
    let path: Vec<&str> = e["critical_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // The backups dominate: the path runs through the loop to the manifest.
    assert_eq!(path.first(), Some(&"servers"));
    assert!(path.contains(&"b"), "{path:?}");
    assert_eq!(
        path.last().map(|s| s.starts_with("manifest")),
        Some(true),
        "{path:?}"
    );
    assert_eq!(e["steps"]["b"]["critical"], true);
    let q = &e["quiesce"][0];
    let groups: Vec<&str> = q["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["db", "app", "lb"]);
    // The first group frozen stays frozen longest.
    let w: Vec<u64> = q["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["window_ms"].as_u64().unwrap())
        .collect();
    assert!(w[0] > w[1] && w[1] > w[2], "{w:?}");
    assert_eq!(q["window_ms"].as_u64(), Some(w[0]));
}

#[test]
fn fan_out_and_latencies_change_the_estimate() {
    let six = json_plan(&[]);
    let twelve = json_plan(&["--assume-fanout", "12"]);
    // parallel 4: 6 items take 2 waves, 12 items take 3.
    let loop_name = loop_of(&six);
    let loop_ms = |j: &serde_json::Value| {
        let s = &j["estimates"]["steps"][&loop_name];
        s["end_ms"].as_u64().unwrap() - s["start_ms"].as_u64().unwrap()
    };
    assert_eq!(loop_ms(&twelve) * 2, loop_ms(&six) * 3);
    assert_eq!(twelve["estimates"]["steps"][&loop_name]["count"], 12);
    assert_eq!(
        twelve["estimates"]["steps"][&loop_name]["count_resolved"],
        false
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let f = dir.join("lat.yaml");
    std::fs::write(
        &f,
        "actions:\n  cinder.backup: 1000\n  cinder.create_group_snapshot: 60000\n",
    )
    .unwrap();
    let j = json_plan(&["--latencies", f.to_str().unwrap()]);
    let q = &j["estimates"]["quiesce"][0];
    assert_eq!(
        q["exceeds_within"], true,
        "a 60s snapshot cannot fit in 30s"
    );
    assert!(j["estimates"]["total_ms"].as_u64() < six["estimates"]["total_ms"].as_u64());

    std::fs::write(&f, "actions: {cinder.backup: soon}\n").unwrap();
    let o = lifeboat(&[
        "plan",
        "option1/protect",
        "-p",
        "vnf=ims",
        "--latencies",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("latencies file"));
    let o = lifeboat(&[
        "plan",
        "option1/protect",
        "-p",
        "vnf=ims",
        "--latencies",
        "/no/such/file.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

fn loop_of(j: &serde_json::Value) -> String {
    j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"]["type"] == "for_each")
        .expect("a loop")["name"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Two branches: servers → volumes → grp (slow) beside a lone read (fast).
const BRANCHES: &str = r#"runbook t "two branches" {
  param site: site = "site-a"
  servers = nova.find_servers(site: site, tag: "x")
  volumes = cinder.volumes_of(servers)
  grp = cinder.ensure_group(site: site, name: "g", volumes: volumes)
  other = nova.find_servers(site: site, tag: "y")
}
"#;

#[test]
fn text_dot_and_mermaid_mark_the_critical_path() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let f = dir.join("branches.dr");
    std::fs::write(&f, BRANCHES).unwrap();
    let f = f.to_str().unwrap();
    let o = lifeboat(&["plan", f]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let t = stdout(&o);
    let line = |name: &str| {
        t.lines()
            .find(|l| l.contains(&format!(". {name} ")))
            .unwrap_or_else(|| panic!("{name} in\n{t}"))
            .to_string()
    };
    assert!(line("grp").starts_with("* "), "{t}");
    assert!(!line("other").starts_with("* "), "{t}");
    assert!(
        t.contains("critical path: servers → volumes → grp\n"),
        "{t}"
    );
    let d = stdout(&lifeboat(&["plan", f, "-f", "dot"]));
    let node = |name: &str| {
        d.lines()
            .find(|l| l.contains(&format!("[label=\"{name}\\n")))
            .unwrap_or_else(|| panic!("{name} in\n{d}"))
            .to_string()
    };
    assert!(
        node("grp").contains("#d00000") && !node("other").contains("#d00000"),
        "{d}"
    );
    let m = stdout(&lifeboat(&["plan", f, "-f", "mermaid"]));
    let crit = m
        .lines()
        .find(|l| l.starts_with("  class ") && l.ends_with(" critical"))
        .expect("critical class");
    assert_eq!(
        crit, "  class n0,n1,n2 critical",
        "servers, volumes, grp; not other:\n{m}"
    );

    let t = stdout(&lifeboat(&["plan", "option1/protect", "-p", "vnf=ims"]));
    assert!(t.contains("critical path: servers → "), "{t}");
    assert!(t.contains("×6 (assumed)"), "{t}");
    assert!(
        t.contains("quiesce") && t.contains("per group: db ×2"),
        "{t}"
    );

    let d = stdout(&lifeboat(&[
        "plan",
        "option1/protect",
        "-p",
        "vnf=ims",
        "-f",
        "dot",
    ]));
    let b_line = d
        .lines()
        .find(|l| l.contains("[label=\"b ×6"))
        .expect("b in dot");
    assert!(b_line.contains("#d00000"), "{b_line}");
    assert!(d.contains("est. window"));
    assert!(
        d.contains("style=dashed, color=blue"),
        "cleanup edges dashed"
    );

    let m = stdout(&lifeboat(&[
        "plan",
        "option1/protect",
        "-p",
        "vnf=ims",
        "-f",
        "mermaid",
    ]));
    assert!(m.contains("classDef critical"));
    assert!(m
        .lines()
        .any(|l| l.starts_with("  class ") && l.ends_with(" critical")));
    assert!(m.contains("linkStyle "));
}

#[test]
fn html_plan_loads_in_chromium_with_every_step_drawn() {
    let Some(chrome) = chromium() else { return };
    let out = artifacts();
    for rb in [
        "option1/protect",
        "option1/recover",
        "option2/protect",
        "option3/failover",
    ] {
        let o = lifeboat(&["plan", rb, "-p", "vnf=ims", "-f", "html"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{rb}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let html = stdout(&o);
        for fetch in [
            "src=",
            "href=",
            "url(http",
            "<link",
            "@import",
            "fetch(",
            "XMLHttpRequest",
        ] {
            assert!(
                !html.contains(fetch),
                "{rb}: self-contained, yet has {fetch}"
            );
        }
        assert!(
            !html.contains("<script src") && !html.contains("<link "),
            "{rb}: self-contained"
        );
        let file = out.join(format!("{}.html", rb.replace('/', "-")));
        std::fs::write(&file, &html).unwrap();
        let (dom, err) = chromium::load_sized(&chrome, &file, None, WINDOW);
        assert!(
            dom.contains("data-ready=\"ok\""),
            "{rb}: page self-check failed: {}\n{err}",
            dom.lines().find(|l| l.contains("<body")).unwrap_or("")
        );
        assert!(
            console_errors(&err).is_empty(),
            "{rb}: console errors: {:?}",
            console_errors(&err)
        );
        let plan = json_of(rb);
        let names: Vec<String> = plan["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect();
        assert!(dom.contains(&format!("data-steps=\"{}\"", names.len())));
        for n in &names {
            assert!(
                dom.contains(&format!("data-step=\"{n}\"")),
                "{rb}: step {n} not drawn"
            );
        }
        assert!(
            dom.contains("class=\"step") && dom.contains(" critical"),
            "{rb}: critical path drawn"
        );
        assert!(
            dom.contains("region quiesce")
                || !plan["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|n| n["kind"]["type"] == "quiesce"),
            "{rb}: quiesce region"
        );
    }
    let shot = out.join("option1-protect.png");
    let _ = std::fs::remove_file(&shot);
    chromium::load_sized(
        &chrome,
        &out.join("option1-protect.html"),
        Some(&shot),
        WINDOW,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[1..4], b"PNG");
    assert!(
        png.len() > 20_000,
        "screenshot is not blank: {} bytes",
        png.len()
    );
}

fn json_of(rb: &str) -> serde_json::Value {
    let o = lifeboat(&["plan", rb, "-p", "vnf=ims", "-f", "json"]);
    serde_json::from_slice(&o.stdout).expect("json plan")
}

#[test]
fn run_timeline_page_loads_in_chromium_with_a_bar_per_step_instance() {
    use lifeboat_dsl::estimate::{estimate, Known, Latencies};
    use lifeboat_dsl::render::html::{render_run, StepTiming};
    use lifeboat_dsl::{bundled, compiler, graph::PlanGraph, loader::BundledLoader, params};
    let Some(chrome) = chromium() else { return };
    let c =
        compiler::compile(bundled::resolve("option1/protect").unwrap(), &BundledLoader).unwrap();
    let plan = c.plan(None).unwrap();
    let v = params::bind(plan, &["vnf=ims".to_string()]).unwrap();
    let bound = params::apply(plan, &v);
    let est = estimate(&bound, &Latencies::default(), &Known::default(), 2);
    let t = |step: &str, start_ms: u64, end_ms: u64, outcome: &str| StepTiming {
        step: step.into(),
        start_ms,
        end_ms,
        outcome: outcome.into(),
    };
    let timings = vec![
        t("servers", 0, 300, "ok"),
        t("volumes", 300, 700, "ok"),
        t("grp", 700, 4_000, "ok"),
        t("snap", 9_000, 21_000, "ok"),
        t("tmp[0]", 30_000, 52_000, "ok"),
        t("tmp[1]", 30_000, 61_000, "ok"),
        t("b[0]", 52_000, 290_000, "ok"),
        t("b[1]", 61_000, 300_000, "failed"),
    ];
    let file = artifacts().join("option1-protect-run.html");
    std::fs::write(
        &file,
        render_run(&PlanGraph::build(&bound), Some(&est), &timings),
    )
    .unwrap();
    let (dom, err) = chromium::load_sized(&chrome, &file, None, WINDOW);
    assert!(
        dom.contains("data-ready=\"ok\""),
        "self-check failed\n{err}"
    );
    assert!(
        console_errors(&err).is_empty(),
        "{:?}",
        console_errors(&err)
    );
    for tm in &timings {
        assert!(
            dom.contains(&format!("data-timing=\"{}\"", tm.step)),
            "no bar for {}",
            tm.step
        );
    }
    assert!(dom.contains("class=\"bar failed\""));
    assert_eq!(
        dom.matches("class=\"estbar\"").count(),
        timings.len(),
        "each instance has its estimate"
    );
    let shot = artifacts().join("option1-protect-run.png");
    let _ = std::fs::remove_file(&shot);
    chromium::load_sized(&chrome, &file, Some(&shot), WINDOW);
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 20_000)
            .unwrap_or(false),
        "run screenshot"
    );
}

/// Every step's kind, fan-out count and critical mark, every quiesce
/// scope's region (and whether its window exceeds `within`) and every loop's
/// region agree between the DOT and the Mermaid outputs.
#[test]
fn dot_and_mermaid_carry_the_same_information() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let f = dir.join("kinds.dr");
    std::fs::write(
        &f,
        r#"runbook kinds "every kind" {
  param site: site = "site-a"
  servers = nova.find_servers(site: site, tag: "x")
  approve "go?"
  quiesce servers by role in ["db"] via "pause" within 30s {
    vols = cinder.volumes_of(servers)
    grp = cinder.ensure_group(site: site, name: "g", volumes: vols)
  }
  for s in servers parallel 2 {
    gone = nova.delete_server(s)
  }
}
"#,
    )
    .unwrap();
    let kinds = f.to_str().unwrap().to_string();
    for (rb, extra) in [
        (kinds.as_str(), vec![]),
        ("option1/protect", vec!["-p", "vnf=ims"]),
        ("option2/protect", vec!["-p", "vnf=ims"]),
        ("option1/recover", vec!["-p", "vnf=ims"]),
    ] {
        let run = |fmt: &str| {
            let mut a = vec!["plan", rb, "-f", fmt];
            a.extend(extra.iter().copied());
            let o = lifeboat(&a);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{rb} {fmt}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            stdout(&o)
        };
        let (d, m, j) = (run("dot"), run("mermaid"), json_of_args(rb, &extra));
        let est = &j["estimates"];
        let mut seen = [0usize; 3];
        for n in j["nodes"].as_array().unwrap() {
            let id = format!("n{}", n["id"]);
            let name = n["name"].as_str().unwrap();
            let critical = est["steps"][name]["critical"] == true;
            match n["kind"]["type"].as_str().unwrap() {
                "action" => {
                    let effect = n["kind"]["call"]["effect"].as_str().unwrap().to_string();
                    let dl = d
                        .lines()
                        .find(|l| l.trim_start().starts_with(&format!("{id} [label=")))
                        .unwrap_or_else(|| panic!("{rb}: {name} in dot"));
                    let ml = m
                        .lines()
                        .find(|l| l.trim_start().starts_with(&format!("{id}[\"")))
                        .unwrap_or_else(|| panic!("{rb}: {name} in mermaid"));
                    let colour = match effect.as_str() {
                        "read" => "#e8f4ff",
                        "mutate" => "#fff4d6",
                        _ => "#ffd9d9",
                    };
                    assert!(dl.contains(colour), "{rb}: {name} is {effect} in dot: {dl}");
                    let class_line = m
                        .lines()
                        .find(|l| l.starts_with("  class ") && l.ends_with(&format!(" {effect}")))
                        .unwrap_or_else(|| panic!("{rb}: no {effect} class"));
                    assert!(
                        class_line[8..]
                            .split(' ')
                            .next()
                            .unwrap()
                            .split(',')
                            .any(|x| x == id),
                        "{rb}: {name} is {effect} in mermaid"
                    );
                    assert_eq!(
                        dl.contains("#d00000"),
                        critical,
                        "{rb}: {name} critical in dot"
                    );
                    let crit_line = m
                        .lines()
                        .find(|l| l.starts_with("  class ") && l.ends_with(" critical"))
                        .unwrap_or("");
                    assert_eq!(
                        crit_line
                            .split(' ')
                            .nth(3)
                            .unwrap_or("")
                            .split(',')
                            .any(|x| x == id),
                        critical,
                        "{rb}: {name} critical in mermaid"
                    );
                    // The same fan-out count on both.
                    let fan = |l: &str| {
                        l.split_once('×').map(|(_, r)| {
                            r.chars()
                                .take_while(|c| c.is_ascii_alphanumeric())
                                .collect::<String>()
                        })
                    };
                    assert_eq!(fan(dl), fan(ml), "{rb}: {name} fan-out\n{dl}\n{ml}");
                    seen[0] += 1;
                }
                "quiesce" => {
                    let q = est["quiesce"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|q| q["step"] == name)
                        .unwrap();
                    let exceeds = q["exceeds_within"] == true;
                    let dc = d
                        .split(&format!("subgraph cluster_{id} {{"))
                        .nth(1)
                        .unwrap_or_else(|| panic!("{rb}: dot cluster for {name}"));
                    let dc = &dc[..dc.find('}').unwrap()];
                    assert!(
                        dc.contains("style=filled") && dc.contains("est. window"),
                        "{rb}: {dc}"
                    );
                    assert_eq!(dc.contains("EXCEEDS"), exceeds);
                    let ms = m
                        .lines()
                        .find(|l| l.trim_start().starts_with(&format!("subgraph {id}[\"")))
                        .unwrap_or_else(|| panic!("{rb}: mermaid subgraph {name}"));
                    assert!(
                        ms.contains("est. window") && ms.contains("EXCEEDS") == exceeds,
                        "{ms}"
                    );
                    let style = m
                        .lines()
                        .find(|l| l.starts_with(&format!("  style {id} ")))
                        .unwrap_or_else(|| panic!("{rb}: mermaid style {name}"));
                    assert!(
                        style.contains(if exceeds {
                            "fill:#fbe1e1"
                        } else {
                            "fill:#eef7ee"
                        }),
                        "{style}"
                    );
                    seen[1] += 1;
                }
                "for_each" => {
                    let count = est["steps"][name]["count"].as_u64().unwrap();
                    let dc = d
                        .split(&format!("subgraph cluster_{id} {{"))
                        .nth(1)
                        .unwrap_or_else(|| panic!("{rb}: dot cluster for {name}"));
                    let dc = &dc[..dc.find('}').unwrap()];
                    assert!(
                        dc.contains("style=dashed") && dc.contains(&format!("×{count} (assumed)")),
                        "{rb}: {dc}"
                    );
                    let ms = m
                        .lines()
                        .find(|l| l.trim_start().starts_with(&format!("subgraph {id}[\"")))
                        .unwrap();
                    assert!(ms.contains(&format!("×{count} (assumed)")), "{ms}");
                    let style = m
                        .lines()
                        .find(|l| l.starts_with(&format!("  style {id} ")))
                        .unwrap();
                    assert!(
                        style.contains("stroke-dasharray") && style.contains("#d00000") == critical,
                        "{rb}: {style}"
                    );
                    seen[2] += 1;
                }
                _ => {}
            }
        }
        assert!(seen[0] > 0 && seen[2] > 0, "{rb}: {seen:?}");
        if rb == kinds {
            assert_eq!(seen, [4, 1, 1]);
            assert!(d.contains("shape=octagon") && m.contains("class n1 approve"));
        }
    }
}

fn json_of_args(rb: &str, extra: &[&str]) -> serde_json::Value {
    let mut a = vec!["plan", rb, "-f", "json"];
    a.extend_from_slice(extra);
    serde_json::from_slice(&lifeboat(&a).stdout).expect("json plan")
}
