//! `cargo bench -p lifeboat-tests --bench storm`: does Lifeboat get a VNF
//! through a stormy cloud, and at what cost?
//!
//! For each fault profile of the storm tests (`tests/e2e/storm.rs`: calm;
//! (a) 10 % 503 + 3 % resets + 2 % lost answers + a volume rate limit with
//! Retry-After at each site; (b) 20 % 503 from the volume service; (c)
//! latency 5–300 ms; (d) 20 % of the creating asynchronous operations end in
//! `error`), `LIFEBOAT_STORM_RUNS` seeded runs (default 100), each on a fresh
//! emulator (the demo VNF, 6 servers, 12 volumes): the bundled
//! `option1/protect`, then `option1/recover` with site-a down, both under the
//! profile. A run counts as a success when both succeed, no server is left
//! paused and nothing is left behind (the report lists no orphan; site-a
//! holds no temporary volume or snapshot; site-b no volume in error).
//!
//! One table, measured in one run: per profile the success rate, the
//! median and 95th-percentile time of protect + recover, the slowdown
//! against the calm profile (median ÷ calm median), and what the sites did
//! (requests retried and throttled per run, the lowest adaptive in-flight
//! limit seen).

#[path = "../tests/e2e/mod.rs"]
mod e2e;

use e2e::{storm, Env};
use lifeboat_emulator::Site;
use serde_json::json;
use std::time::Instant;

struct Outcome {
    ok: bool,
    /// Volume-service requests of protect and of recover, at the busier site.
    volume_requests: (u64, u64),
    secs: f64,
    retries: u64,
    throttled: u64,
    lowest: usize,
    why: String,
}

/// Requests the volume service of the busier site answered since the log
/// was last cleared; clears it.
async fn volume_requests(env: &Env) -> u64 {
    let log = env.admin_get("/_emulator/requests").await;
    let mut per_site = std::collections::BTreeMap::<String, u64>::new();
    for e in log["requests"].as_array().into_iter().flatten() {
        if e["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/volume/"))
        {
            *per_site
                .entry(e["site"].as_str().unwrap_or_default().to_string())
                .or_default() += 1;
        }
    }
    let _ = reqwest::Client::new()
        .delete(format!("{}/_emulator/requests", env.emu.admin_url()))
        .send()
        .await;
    per_site.into_values().max().unwrap_or(0)
}

async fn one(profile: &str, seed: u64) -> Outcome {
    let env = Env::start().await;
    let calm = env.counts().await;
    volume_requests(&env).await;
    let t0 = Instant::now();
    env.faults(&storm::profile(profile, seed));
    let p = env.run("option1/protect", json!({"vnf": "vims"})).await;
    env.emu.clear_faults();
    let mut why = String::new();
    let mut ok = p.ok();
    if !ok {
        why = format!("protect: {:?}", p.result.outcome);
    }
    let report_p = lifeboat_exec::Report::from_events(&p.events);
    let after = env.counts().await;
    let paused = env
        .server_statuses("site-a")
        .await
        .into_iter()
        .filter(|(_, s)| s != "ACTIVE")
        .count();
    if ok
        && (paused > 0
            || !report_p.orphans.is_empty()
            || after["site-a"]["volumes"] != calm["site-a"]["volumes"]
            || after["site-a"]["snapshots"] != calm["site-a"]["snapshots"])
    {
        ok = false;
        why = format!(
            "protect left something: {paused} paused, {} orphans, {after}",
            report_p.orphans.len()
        );
    }
    let mut secs = t0.elapsed().as_secs_f64();
    let vp = volume_requests(&env).await;
    let mut vr = 0;
    let mut report_r = lifeboat_exec::Report::default();
    if ok {
        env.emu.set_site_down(Site::A, true);
        let t1 = Instant::now();
        env.faults(&storm::profile(profile, seed + 1));
        let r = env.run("option1/recover", json!({"vnf": "vims"})).await;
        env.emu.clear_faults();
        secs += t1.elapsed().as_secs_f64();
        report_r = lifeboat_exec::Report::from_events(&r.events);
        vr = volume_requests(&env).await;
        if !r.ok() {
            ok = false;
            why = format!("recover: {:?}", r.result.outcome);
        } else if !report_r.orphans.is_empty()
            || env
                .volumes("site-b")
                .await
                .iter()
                .any(|(_, st, _)| st.contains("error"))
        {
            ok = false;
            why = "recover left something".into();
        }
    }
    let sites = report_p.sites.iter().chain(report_r.sites.iter());
    let (mut retries, mut throttled, mut lowest) = (0, 0, usize::MAX);
    for s in sites {
        retries += s.retries;
        throttled += s.throttled;
        lowest = lowest.min(s.lowest_limit);
    }
    env.emu.shutdown().await;
    Outcome {
        ok,
        volume_requests: (vp, vr),
        secs,
        retries,
        throttled,
        lowest,
        why,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() {
    let runs: u64 = std::env::var("LIFEBOAT_STORM_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut rows = Vec::new();
    let mut calm_median = f64::NAN;
    let mut calm_volume_requests = (0u64, 0u64);
    // LIFEBOAT_STORM_PROFILES=a,b runs those (and calm, the reference).
    let only: Option<Vec<String>> = std::env::var("LIFEBOAT_STORM_PROFILES")
        .ok()
        .map(|v| v.split(',').map(|p| p.trim().to_string()).collect());
    let chosen = storm::PROFILES
        .into_iter()
        .filter(|p| only.as_ref().is_none_or(|o| o.iter().any(|x| x == p)));
    for profile in std::iter::once("calm").chain(chosen) {
        let mut times = Vec::new();
        let (mut ok, mut retries, mut throttled, mut lowest) = (0u64, 0u64, 0u64, usize::MAX);
        let mut vol_requests = 0u64;
        let mut failures = Vec::new();
        for i in 0..runs {
            let seed = 10_000 + i * 10;
            let o = rt.block_on(one(profile, seed));
            eprintln!(
                "{profile} #{i} (seed {seed}): {} in {:.2}s {}",
                if o.ok { "ok" } else { "FAILED" },
                o.secs,
                o.why
            );
            if profile == "calm" {
                calm_volume_requests.0 = calm_volume_requests.0.max(o.volume_requests.0);
                calm_volume_requests.1 = calm_volume_requests.1.max(o.volume_requests.1);
            }
            vol_requests += o.volume_requests.0 + o.volume_requests.1;
            if o.ok {
                ok += 1;
                times.push(o.secs);
            } else {
                failures.push((seed, o.why.clone()));
            }
            retries += o.retries;
            throttled += o.throttled;
            lowest = lowest.min(o.lowest);
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        let median = percentile(&times, 0.5);
        if profile == "calm" {
            calm_median = median;
        }
        rows.push((
            profile,
            ok,
            median,
            percentile(&times, 0.95),
            retries as f64 / runs as f64,
            throttled as f64 / runs as f64,
            lowest,
            vol_requests as f64 / runs as f64,
            failures,
        ));
    }
    println!("\nstorm bench: option1 protect + recover (site-a down), {runs} seeded runs per profile, demo VNF (6 servers, 12 volumes)\n");
    println!("| profile | succeeded | median s | p95 s | slowdown (median ÷ calm) | retried/run | throttled/run | lowest limit | volume requests/run (busier site) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (profile, ok, median, p95, retries, throttled, lowest, vol, _) in &rows {
        let lowest = if *lowest == usize::MAX {
            "-".to_string()
        } else {
            lowest.to_string()
        };
        println!("| {profile} | {ok}/{runs} ({:.0} %) | {median:.2} | {p95:.2} | {:.2}× | {retries:.1} | {throttled:.1} | {lowest} | {vol:.0} |", 100.0 * *ok as f64 / runs as f64, median / calm_median);
    }
    // What profile (a)'s rate limit allows at best: the calm run's volume
    // requests, sent at exactly the admitted rate (protect, then recover).
    let (vp, vr) = calm_volume_requests;
    let floor = (vp + vr) as f64 / storm::RATE_LIMIT_PER_S as f64;
    println!(
        "\nfloor under (a)'s rate limit ({} volume requests/s per site): the calm run's {vp} + {vr} volume requests (protect + recover, busier site) take at least {floor:.2} s = {:.2}× the calm median, however they are paced",
        storm::RATE_LIMIT_PER_S,
        floor / calm_median
    );
    for (profile, _, _, _, _, _, _, _, failures) in &rows {
        for (seed, why) in failures {
            println!("FAILED {profile} seed {seed}: {why}");
        }
    }
}
