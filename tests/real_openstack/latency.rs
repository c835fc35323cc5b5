//! Per-call latency of Lifeboat's client against the real services (the
//! `openstack` CLI's figures for the same calls come from
//! tests/real-openstack/cli-latency.sh). Median of 5; "cold" = a new client
//! (token issue + catalogue + the call), "warm" = the call with a cached token.
//! Read-only, at site-b (site-a may be down already).

use crate::support::stack_or_skip;
use lifeboat_openstack::Client;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_latency_per_call() {
    let Some(stack) = stack_or_skip().await else {
        return;
    };
    let cloud = || {
        stack
            .loader()
            .load(Some("real-site-b"))
            .expect("cloud real-site-b")
    };
    let mut rows = Vec::new();
    for call in [
        "token issue",
        "volume list",
        "server list",
        "volume backup list",
    ] {
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let c = Client::new("site-b", cloud()).unwrap();
            let t = Instant::now();
            run(&c, call).await;
            cold.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            run(&c, call).await;
            warm.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        rows.push(format!(
            "| {call} | {:.0} ms | {:.0} ms |",
            median(cold),
            median(warm)
        ));
    }
    let table = format!(
        "| call | lifeboat-openstack, new client | same, token cached |\n|---|---|---|\n{}\n",
        rows.join("\n")
    );
    eprintln!("{table}");
    std::fs::write(stack.base.join("client-latency.md"), table).unwrap();
}

async fn run(c: &Client, call: &str) {
    match call {
        "token issue" => {
            c.project_id().await.expect("token");
        }
        "volume list" => {
            c.cinder().volumes(&[]).await.expect("volumes");
        }
        "server list" => {
            c.nova().servers_named(".*").await.expect("servers");
        }
        _ => {
            c.cinder().backups(&[]).await.expect("backups");
        }
    }
}
