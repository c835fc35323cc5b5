//! `lifeboat commit RUN` and `lifeboat rollback RUN` as real processes
//! against the emulator: a runbook with `commit within … default …` ends
//! awaiting commit (exit 0, the report says how to decide, `runs` lists it
//! as `awaiting_commit`); `rollback` undoes what it made (its snapshots
//! deleted, exit 0), a second `rollback` changes nothing, `commit` of a
//! rolled-back run is refused (exit 2) and an unknown run too; another run
//! is committed (exit 0, its snapshots kept) and can no longer be rolled
//! back.

mod common;
use common::*;
use serde_json::Value;

const TRIAL: &str = r#"
runbook trial "snapshots on trial" {
  param vnf: string = "vims"
  param from: site = "site-a"
  commit within 1h default rollback
  servers = nova.find_servers(site: from, tag: vnf)
  volumes = cinder.volumes_of(servers)
  for v in volumes parallel 4 {
    snap = cinder.create_snapshot(v, name: "trial-{v.name}-{run.id}")
  }
}
"#;

fn snapshots(env: &Env) -> usize {
    let c = env.client("site-a");
    env.rt
        .block_on(async { c.cinder().snapshots(&[]).await.unwrap().len() })
}

/// `lifeboat commit|rollback RUN` (the clouds are the run's own).
fn decide(env: &Env, what: &str, run: &str) -> std::process::Output {
    env.cmd(&[what, run])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// The outcome `lifeboat runs` lists for each run, by id.
fn runs(env: &Env) -> std::collections::BTreeMap<String, String> {
    let o = env.cmd(&["runs", "--json"]).output().unwrap();
    let rows: Value = serde_json::from_slice(&o.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_run_awaiting_commit_is_rolled_back_or_committed_from_the_command_line() {
    let env = start(three_servers(), None);
    let rb = env.dir.path().join("trial.dr");
    std::fs::write(&rb, TRIAL).unwrap();
    let rb = rb.display().to_string();

    let o = env.lifeboat(&["run", &rb]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("AWAITING COMMIT") && out.contains("lifeboat rollback"),
        "{out}"
    );
    let made = snapshots(&env);
    assert!(made > 0, "{}", text(&o));
    let (id, outcome) = runs(&env).into_iter().next().unwrap();
    assert_eq!(outcome, "awaiting_commit");

    let o = decide(&env, "rollback", &id);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ROLLED BACK"),
        "{}",
        text(&o)
    );
    assert_eq!(snapshots(&env), 0, "the rollback deleted the snapshots");
    assert_eq!(runs(&env)[&id], "rolled_back");
    let o = decide(&env, "rollback", &id);
    assert_eq!(o.status.code(), Some(0), "again: {}", text(&o));
    let o = decide(&env, "commit", &id);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("was rolled back"), "{}", text(&o));
    let o = decide(&env, "commit", "nosuchrun");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    let o = env.lifeboat(&["run", &rb]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let id2 = runs(&env).into_keys().find(|k| *k != id).unwrap();
    let o = decide(&env, "commit", &id2);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(runs(&env)[&id2], "succeeded");
    assert_eq!(snapshots(&env), made, "committed: the snapshots stay");
    let o = decide(&env, "rollback", &id2);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("was committed"), "{}", text(&o));
    assert_eq!(snapshots(&env), made);
}
