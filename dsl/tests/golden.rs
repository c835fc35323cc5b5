//! Golden plans: every bundled runbook, compiled with `vnf=ims`, rendered in
//! every format, compared with tests/golden/<option>_<runbook>.<ext>.
//! `UPDATE_GOLDEN=1 cargo test -p lifeboat-dsl --test golden` rewrites them.

use lifeboat_dsl::bundled;
use lifeboat_dsl::compiler;
use lifeboat_dsl::graph::PlanGraph;
use lifeboat_dsl::loader::BundledLoader;
use lifeboat_dsl::params;
use lifeboat_dsl::render::{self, Format};
use std::path::PathBuf;

#[test]
fn bundled_plans_match_golden_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    let names = bundled::names();
    assert_eq!(
        names.len(),
        17,
        "three options × three runbooks, migrate for options 1 and 2, reprotect for all three, fence and unfence, retention"
    );
    for name in names {
        let path = bundled::resolve(name).expect("bundled name resolves");
        let c = compiler::compile(path, &BundledLoader).expect("bundled file loads");
        let msgs: Vec<String> = c
            .diagnostics
            .list
            .iter()
            .map(|d| d.one_line(&c.sources))
            .collect();
        assert!(
            c.diagnostics.list.is_empty(),
            "{name} must check clean:\n{}",
            msgs.join("\n")
        );
        let plan = c.plan(None).expect("one runbook per bundled file");
        let values = params::bind(plan, &["vnf=ims".to_string()]).expect("params bind");
        let bound = params::apply(plan, &values);
        let g = PlanGraph::build(&bound);
        for (_, format) in Format::ALL {
            let out = render::render(&g, format);
            let file = dir.join(format!("{}.{}", name.replace('/', "_"), format.extension()));
            if update {
                std::fs::write(&file, &out).expect("write golden");
                continue;
            }
            match std::fs::read_to_string(&file) {
                Ok(want) if want == out => {}
                Ok(_) => mismatches.push(format!(
                    "{} differs (UPDATE_GOLDEN=1 to accept)",
                    file.display()
                )),
                Err(_) => mismatches.push(format!(
                    "{} is missing (UPDATE_GOLDEN=1 to create)",
                    file.display()
                )),
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn json_plan_round_trips_and_carries_the_schema_version() {
    let c = compiler::compile("workflows/option1/protect.dr", &BundledLoader).expect("loads");
    let plan = c.plan(None).expect("plan");
    let g = PlanGraph::build(plan);
    let text = render::render(&g, Format::Json);
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(v["schema_version"], lifeboat_dsl::plan::PLAN_SCHEMA_VERSION);
    assert!(v["edges"].as_array().is_some_and(|e| !e.is_empty()));
    let back: lifeboat_dsl::plan::Plan =
        serde_json::from_value(v).expect("the JSON document reads back as a Plan");
    assert_eq!(&back, plan);
}
