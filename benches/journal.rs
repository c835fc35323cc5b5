//! What a journal write costs when a cluster keeps the journal in etcd
//! (issue 17), against the local fsync alone, in one run:
//!
//! - **one at a time**: a step's intent is written and waited for before
//!   its call, so a run's critical path pays one write per step — the
//!   latency of an awaited append (median, p99);
//! - **fan-out**: 100 steps at once (a `parallel` loop over many volumes),
//!   each waiting for its intents — records per second, group commit
//!   folding what arrives during a write into the next one.
//!
//! Each row is the same workload on a fresh run directory: the local file
//! fsynced alone, then with its replica on a 1-member and on a 3-member
//! etcd on loopback (each member fsyncs its own WAL, on the same disk).
//! Needs `etcd` on the PATH (Debian's `etcd-server`); without it only the
//! local row is printed.

use lifeboat_daemon::cluster::local::{self, LocalEtcd};
use lifeboat_daemon::cluster::Member;
use lifeboat_daemon::history::{NewRun, RunKind};
use lifeboat_daemon::owner::Owner;
use lifeboat_exec::journal::{Durability, Journal, Record};
use lifeboat_exec::CancelHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEQUENTIAL: usize = 300;
const FAN_OUT: usize = 100;
const PER_TASK: usize = 20;

fn record(i: usize) -> Record {
    let call = lifeboat_exec::journal::CallRec {
        action: "cinder.backup".into(),
        tag: format!("lb-bench-b-{i}"),
        site: Some("site-a".into()),
        args: serde_json::json!({
            "volume": {"id": format!("4f1c2a7e-0000-4000-8000-{i:012}"), "name": format!("lb-vims-tmp-{i}"), "site": "site-a", "size": 10},
            "name": format!("lb-vims-{i}"),
            "incremental": false,
        })
        .as_object()
        .unwrap()
        .clone(),
    };
    Record::StepIntent {
        instance: format!("b[{i}]"),
        node: lifeboat_dsl::plan::StepId(7),
        frame: Default::default(),
        call,
    }
}

struct Row {
    store: String,
    median_ms: f64,
    p99_ms: f64,
    per_s: f64,
}

async fn measure(store: &str, journal: Journal) -> Row {
    let mut lat = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL {
        let t = Instant::now();
        journal.append(&record(i)).await.expect("append");
        lat.push(t.elapsed());
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let journal = Arc::new(journal);
    let t = Instant::now();
    let tasks: Vec<_> = (0..FAN_OUT)
        .map(|k| {
            let j = journal.clone();
            tokio::spawn(async move {
                for i in 0..PER_TASK {
                    j.append(&record(k * PER_TASK + i)).await.expect("append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let per_s = (FAN_OUT * PER_TASK) as f64 / t.elapsed().as_secs_f64();
    Row {
        store: store.to_string(),
        median_ms: ms(lat[lat.len() / 2]),
        p99_ms: ms(lat[lat.len() * 99 / 100]),
        per_s,
    }
}

/// A journal in a fresh run dir under `dir`, replicated to the etcd at
/// `etcd` (if any) as the owner of a job claimed for it.
async fn journal(
    dir: &std::path::Path,
    etcd: Option<&LocalEtcd>,
    name: &str,
) -> (Journal, Option<Member>) {
    let run_dir = dir.join(name);
    let j = Journal::open_with(&run_dir, Durability::Fsync).expect("journal");
    let Some(etcd) = etcd else {
        return (j, None);
    };
    let m = Member::join(&etcd.config(name, "site-a", 10))
        .await
        .expect("join");
    let token = m
        .claim(name, None)
        .await
        .expect("claim")
        .token()
        .expect("the only member owns the job");
    let row = NewRun {
        id: name.into(),
        runbook: "protect".into(),
        job: Some(name.into()),
        kind: RunKind::Scheduled,
        params: Default::default(),
        cloud: "site-a=bench".into(),
        run_dir: run_dir.clone(),
        started: chrono::Utc::now(),
        owner: Owner::me(),
    }
    .row();
    let begin = lifeboat_daemon::cluster::runs::Begin::New {
        row: &row,
        plan: b"{}",
    };
    let replica = m.runs().replica(m.hold(), name, token, begin);
    j.replicate_to(Arc::new(replica), CancelHandle::new());
    (j, Some(m))
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    rt.block_on(async {
        let (j, _) = journal(dir.path(), None, "local").await;
        rows.push(measure("local file, fsync", j).await);
    });
    if local::installed() {
        for members in [1, 3] {
            let etcd = LocalEtcd::start(members, &dir.path().join(format!("etcd{members}")));
            rt.block_on(async {
                let name = format!("etcd{members}-run");
                let (j, m) = journal(dir.path(), Some(&etcd), &name).await;
                rows.push(measure(&format!("+ etcd, {members} member(s)"), j).await);
                if let Some(m) = m {
                    let _ = m.leave().await;
                }
            });
        }
    } else {
        eprintln!("etcd is not installed (apt install etcd-server): only the local row");
    }
    let base = &rows[0];
    println!(
        "\nJournal writes: {SEQUENTIAL} awaited one at a time, then {FAN_OUT} writers × {PER_TASK} at once\n"
    );
    println!("| store | median ms | p99 ms | × local | fan-out records/s | × local |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.2} | {:.2} | {:.1} | {:.0} | {:.2} |",
            r.store,
            r.median_ms,
            r.p99_ms,
            r.median_ms / base.median_ms,
            r.per_s,
            r.per_s / base.per_s
        );
    }
}
