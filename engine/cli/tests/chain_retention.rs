//! Bounded chains free backup data: protect, protect (incremental), protect
//! with `full=true` (a new chain), protect (incremental on it); the
//! `retention/expire` runbook then deletes the whole first chain — its
//! manifests and its backups, children first — and the emulator's backup
//! count drops by that chain's backups while every backup of the second
//! chain stays. Without the full protect the first
//! chain's backups are parents of every later one and are refused
//! (`daemon_retention.rs`).

mod common;
use common::*;
use serde_json::Value;

fn backups_of(env: &Env, run: &str) -> Vec<(String, bool)> {
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
        .map(|r| {
            (
                r["value"]["id"].as_str().unwrap().to_string(),
                r["value"]["incremental"] == Value::Bool(true),
            )
        })
        .collect()
}

#[test]
fn after_a_full_protect_retention_deletes_the_old_chains_backup_data() {
    let env = start(three_servers(), None);
    let volumes = env.count_volumes("site-a");
    for full in [false, false, true, false] {
        let mut args = vec!["run", "option1/protect", "--param", "vnf=vims"];
        if full {
            args.extend(["--param", "full=true"]);
        }
        let o = env.lifeboat(&args);
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
    assert_eq!(ids.len(), 4);
    let b: Vec<Vec<(String, bool)>> = ids.iter().map(|id| backups_of(&env, id)).collect();
    let incremental: Vec<bool> = b.iter().map(|bs| bs.iter().all(|(_, i)| *i)).collect();
    assert_eq!(incremental, vec![false, true, false, true], "{b:?}");
    let site_a = env.client("site-a");
    let count = || {
        env.rt
            .block_on(async { site_a.cinder().backups(&[]).await.unwrap().len() })
    };
    assert_eq!(count(), 4 * volumes);

    // The first chain (points 1 and 2): manifests, then backups children first.
    let mut order: Vec<String> = b[1].iter().map(|(id, _)| id.clone()).collect();
    order.extend(b[0].iter().map(|(id, _)| id.clone()));
    let m = format!(
        "manifests={}",
        serde_json::to_string(&[&ids[0], &ids[1]]).unwrap()
    );
    let bk = format!("backups={}", serde_json::to_string(&order).unwrap());
    let o = env.lifeboat(&[
        "run",
        "workflows/retention/expire.dr",
        "--param",
        "vnf=vims",
        "--param",
        &m,
        "--param",
        &bk,
        "--confirm",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let left: Vec<String> = env
        .rt
        .block_on(async { site_a.cinder().backups(&[]).await.unwrap() })
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(
        left.len(),
        2 * volumes,
        "the first chain's data was not freed"
    );
    assert!(
        b[2].iter()
            .chain(b[3].iter())
            .all(|(id, _)| left.contains(id)),
        "a backup of the second chain went"
    );
}
