//! The `retention/expire` runbook (by its file) and its two actions against the
//! emulator over HTTP: the newest point's manifest is refused, a backup that
//! an incremental depends on is refused (nothing else goes), an expired
//! point's manifest goes, and running it again finds nothing left to do.

mod common;
use common::*;
use serde_json::Value;

fn backups_of(env: &Env, run: &str) -> Vec<String> {
    let j = journal(&env.state().join("runs").join(run));
    let intents: Vec<String> = j
        .iter()
        .filter(|r| r["record"] == "step_intent" && r["call"]["action"] == "cinder.backup")
        .map(|r| r["instance"].as_str().unwrap().to_string())
        .collect();
    j.iter()
        .filter(|r| {
            r["record"] == "step_outcome" && intents.iter().any(|i| r["instance"] == i.as_str())
        })
        .map(|r| r["value"]["id"].as_str().unwrap().to_string())
        .collect()
}

fn expire(env: &Env, manifests: &[&str], backups: &[String]) -> std::process::Output {
    let m = format!("manifests={}", serde_json::to_string(manifests).unwrap());
    let b = format!("backups={}", serde_json::to_string(backups).unwrap());
    env.lifeboat(&[
        "run",
        "workflows/retention/expire.dr",
        "--param",
        "vnf=vims",
        "--param",
        &m,
        "--param",
        &b,
        "--confirm",
    ])
}

fn manifests(env: &Env) -> Vec<String> {
    let c = env.client("site-b");
    env.rt
        .block_on(async { c.swift().list("lifeboat-manifests", "vims/").await.unwrap() })
        .into_iter()
        .map(|o| o.name)
        .collect()
}

#[test]
fn retention_runbook_refuses_the_newest_point_and_a_needed_parent_and_is_idempotent() {
    let env = start(three_servers(), None);
    let volumes = env.count_volumes("site-a");
    for _ in 0..2 {
        let o = env.lifeboat(&["run", "option1/protect", "--param", "vnf=vims"]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let runs: Value =
        serde_json::from_slice(&env.cmd(&["runs", "--json"]).output().unwrap().stdout).unwrap();
    let ids: Vec<String> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let (first, second) = (ids[0].clone(), ids[1].clone());
    let (b1, b2) = (backups_of(&env, &first), backups_of(&env, &second));
    assert_eq!((b1.len(), b2.len()), (volumes, volumes));
    let site_a = env.client("site-a");
    let count = || {
        env.rt
            .block_on(async { site_a.cinder().backups(&[]).await.unwrap().len() })
    };
    assert_eq!(count(), 2 * volumes);
    let before = manifests(&env);

    // The newest point: refused, nothing deleted.
    let o = expire(&env, &[&second], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let run = env.run_dirs().pop().unwrap();
    let report = std::fs::read_to_string(run.join("report.json")).unwrap();
    assert!(
        report.contains("is the newest recovery point of vims"),
        "{report}"
    );
    assert_eq!(manifests(&env), before);

    // The first point's backups are the parents of the second's incrementals: refused.
    let o = expire(&env, &[], &b1[..1]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(count(), 2 * volumes);
    let report =
        std::fs::read_to_string(env.run_dirs().pop().unwrap().join("report.json")).unwrap();
    assert!(report.contains("dependent"), "{report}");

    // The first point's manifest: deleted; again: nothing left to do, still a success.
    let o = expire(&env, &[&first], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let after = manifests(&env);
    assert!(
        !after.iter().any(|n| n.ends_with(&format!("-{first}.json"))),
        "{after:?}"
    );
    assert!(
        after
            .iter()
            .any(|n| n.ends_with(&format!("-{second}.json"))),
        "{after:?}"
    );
    let o = expire(&env, &[&first], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Children first, then their parents: all of them go, in one run.
    let mut order = b2.clone();
    order.extend(b1.iter().cloned());
    let o = env.lifeboat(&[
        "run",
        "workflows/retention/expire.dr",
        "--param",
        "vnf=vims",
        "--param",
        &format!("backups={}", serde_json::to_string(&order).unwrap()),
        "--confirm",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(count(), 0);
    // Without --confirm and no terminal, the destroy steps are refused: nothing runs.
    let o = env.lifeboat(&[
        "run",
        "workflows/retention/expire.dr",
        "--param",
        "vnf=vims",
        "--param",
        &format!("manifests=[\"{second}\"]"),
    ]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(manifests(&env)
        .iter()
        .any(|n| n.ends_with(&format!("-{second}.json"))));
}
