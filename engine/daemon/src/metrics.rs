//! The daemon's Prometheus metrics, computed from the run history at each
//! scrape (so they survive restarts and count `lifeboat run` runs too).
//!
//! Per job (labels `job`, `runbook` as configured, and `kind`: `protect`
//! for protect and prepare runbooks, `drill`, `recover` for recover,
//! failover and migrate, else the runbook's name):
//!
//! | metric | meaning |
//! |---|---|
//! | `lifeboat_last_success_timestamp_seconds` | end of the last successful run |
//! | `lifeboat_last_duration_seconds` | duration of the last finished run |
//! | `lifeboat_last_run_succeeded` | 1 when the last finished run succeeded, else 0 |
//! | `lifeboat_rpo_age_seconds` | now − the newest good recovery point's snapshot time (for a drill: the newest it verified) |
//! | `lifeboat_rpo_target_seconds` | the job's `rpo_target` |
//! | `lifeboat_verified_point_age_seconds` | drills: now − the snapshot time of the newest point a drill verified |
//! | `lifeboat_failures_total` | runs that ended failed, interrupted or rolled back |
//! | `lifeboat_consecutive_failures` | finished runs that failed since the last success |
//! | `lifeboat_runs_total` | runs started |
//! | `lifeboat_last_quiesce_window_seconds` | longest quiesce window of the last run that had one |
//! | `lifeboat_running` | 1 while a run of the job goes on |
//!
//! A metric with no value yet (no success so far) is left out. The alert
//! rules shipped with them are in `deploy/prometheus/lifeboat.rules.yml`.

use crate::history::{parse_ts, Query};
use crate::run_store::{RunStore, StoreError};
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// A job as the metrics name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLabel {
    pub job: String,
    pub runbook: String,
    /// `protect`, `drill`, `recover`, or the runbook's name ([`kind_of`]).
    pub kind: String,
    /// The job's `rpo_target`.
    pub rpo_target_ms: Option<u64>,
}

/// The kind of a runbook, from its name (`runbook protect "…"`).
pub fn kind_of(runbook_name: &str) -> String {
    match runbook_name {
        "protect" | "prepare" => "protect",
        "drill" => "drill",
        "recover" | "failover" | "migrate" => "recover",
        other => other,
    }
    .to_string()
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobMetrics {
    pub job: String,
    pub runbook: String,
    pub kind: String,
    pub rpo_target_ms: Option<u64>,
    /// Finished runs that failed since the last success.
    pub consecutive_failures: u64,
    pub last_run_succeeded: Option<bool>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_duration_ms: Option<u64>,
    pub newest_point: Option<DateTime<Utc>>,
    pub failures: u64,
    pub runs: u64,
    pub last_quiesce_ms: Option<u64>,
    pub running: bool,
}

/// Each job's figures: its runs and its newest recovery point, from the run
/// store `runs`.
pub fn collect(runs: &dyn RunStore, jobs: &[JobLabel]) -> Result<Vec<JobMetrics>, StoreError> {
    let mut out = Vec::new();
    for j in jobs {
        let rows = runs.runs(&Query {
            job: Some(j.job.clone()),
            ..Query::default()
        })?;
        let mut rows: Vec<_> = rows
            .into_iter()
            .filter(|r| r.kind != crate::history::RunKind::Retention)
            .collect();
        // Oldest first, so that the last finished run is the last seen.
        rows.sort_by(|a, b| a.started.cmp(&b.started));
        let mut m = JobMetrics {
            job: j.job.clone(),
            runbook: j.runbook.clone(),
            kind: j.kind.clone(),
            rpo_target_ms: j.rpo_target_ms,
            runs: rows.len() as u64,
            ..Default::default()
        };
        for r in &rows {
            match r.outcome.as_deref() {
                Some(o) if succeeded(o) => {
                    m.consecutive_failures = 0;
                    m.last_run_succeeded = Some(true);
                    m.last_success = r.ended.as_deref().and_then(parse_ts).max(m.last_success);
                    if let Some(p) = r.rpo_point.as_deref().and_then(parse_ts) {
                        m.newest_point = Some(p).max(m.newest_point);
                    }
                }
                Some(_) => {
                    m.failures += 1;
                    m.consecutive_failures += 1;
                    m.last_run_succeeded = Some(false);
                }
                None if r.status() == "interrupted" => {
                    m.failures += 1;
                    m.consecutive_failures += 1;
                    m.last_run_succeeded = Some(false);
                }
                None => m.running = true,
            }
            if r.outcome.is_some() {
                m.last_duration_ms = r.duration_ms.or(m.last_duration_ms);
                if r.quiesce_ms.is_some() {
                    m.last_quiesce_ms = r.quiesce_ms;
                }
            }
        }
        if let Some(p) = runs.newest_point(&j.job)? {
            m.newest_point = Some(p).max(m.newest_point);
        }
        out.push(m);
    }
    Ok(out)
}

/// Every step succeeded (committed, or a recovery awaiting commit).
fn succeeded(outcome: &str) -> bool {
    matches!(outcome, "succeeded" | "awaiting_commit")
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A metric family: name, type, help, the value of a job (none: left out).
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&JobMetrics, DateTime<Utc>) -> Option<f64>,
);

/// Prometheus text exposition format (0.0.4).
pub fn render(ms: &[JobMetrics], now: DateTime<Utc>) -> String {
    let mut o = String::new();
    let fams: [Family; 11] = [
        (
            "lifeboat_last_success_timestamp_seconds",
            "gauge",
            "End of the last successful run (Unix time).",
            |m, _| m.last_success.map(|t| t.timestamp_millis() as f64 / 1000.0),
        ),
        (
            "lifeboat_last_duration_seconds",
            "gauge",
            "Duration of the last finished run.",
            |m, _| m.last_duration_ms.map(|d| d as f64 / 1000.0),
        ),
        (
            "lifeboat_rpo_age_seconds",
            "gauge",
            "Age of the newest good recovery point (now - its snapshot time).",
            |m, now| {
                m.newest_point
                    .map(|p| ((now - p).num_milliseconds().max(0)) as f64 / 1000.0)
            },
        ),
        (
            "lifeboat_last_run_succeeded",
            "gauge",
            "1 when the last finished run succeeded, else 0.",
            |m, _| m.last_run_succeeded.map(|ok| if ok { 1.0 } else { 0.0 }),
        ),
        (
            "lifeboat_rpo_target_seconds",
            "gauge",
            "The job's rpo_target.",
            |m, _| m.rpo_target_ms.map(|t| t as f64 / 1000.0),
        ),
        (
            "lifeboat_verified_point_age_seconds",
            "gauge",
            "Drills: age of the newest recovery point a drill verified.",
            |m, now| {
                if m.kind != "drill" {
                    return None;
                }
                m.newest_point
                    .map(|p| ((now - p).num_milliseconds().max(0)) as f64 / 1000.0)
            },
        ),
        (
            "lifeboat_failures_total",
            "counter",
            "Runs that ended failed, interrupted or rolled back.",
            |m, _| Some(m.failures as f64),
        ),
        (
            "lifeboat_consecutive_failures",
            "gauge",
            "Finished runs that failed since the last success.",
            |m, _| Some(m.consecutive_failures as f64),
        ),
        ("lifeboat_runs_total", "counter", "Runs started.", |m, _| {
            Some(m.runs as f64)
        }),
        (
            "lifeboat_last_quiesce_window_seconds",
            "gauge",
            "Longest quiesce window of the last run that quiesced.",
            |m, _| m.last_quiesce_ms.map(|d| d as f64 / 1000.0),
        ),
        (
            "lifeboat_running",
            "gauge",
            "1 while a run of the job goes on.",
            |m, _| Some(if m.running { 1.0 } else { 0.0 }),
        ),
    ];
    for (name, kind, help, value) in fams {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} {kind}");
        for m in ms {
            if let Some(v) = value(m, now) {
                let _ = writeln!(
                    o,
                    "{name}{{job=\"{}\",runbook=\"{}\",kind=\"{}\"}} {v}",
                    esc(&m.job),
                    esc(&m.runbook),
                    esc(&m.kind)
                );
            }
        }
    }
    let _ = writeln!(
        o,
        "# HELP lifeboat_up 1 while the daemon answers.\n# TYPE lifeboat_up gauge\nlifeboat_up 1"
    );
    o
}

/// The cluster member's gauges (none for a daemon alone).
pub fn render_cluster(v: Option<&crate::cluster::View>) -> String {
    let Some(v) = v else {
        return String::new();
    };
    let l = format!("member=\"{}\",site=\"{}\"", esc(&v.member), esc(&v.site));
    let mut o = String::new();
    for (name, kind, help, value) in [
        (
            "lifeboat_cluster_member_live",
            "gauge",
            "1 while this member's etcd lease lives.",
            if v.live { 1.0 } else { 0.0 },
        ),
        (
            "lifeboat_cluster_members",
            "gauge",
            "Live members this member sees.",
            v.members as f64,
        ),
        (
            "lifeboat_cluster_jobs_owned",
            "gauge",
            "Jobs this member owns.",
            v.owned as f64,
        ),
        (
            "lifeboat_cluster_lease_ttl_seconds",
            "gauge",
            "The member's lease TTL.",
            v.lease_ttl_seconds as f64,
        ),
        (
            "lifeboat_cluster_lease_age_seconds",
            "gauge",
            "Seconds since the lease was last renewed.",
            v.lease_age_seconds,
        ),
        (
            "lifeboat_cluster_takeovers_total",
            "counter",
            "Jobs this member took over from another member.",
            v.takeovers as f64,
        ),
        (
            "lifeboat_cluster_handoffs_total",
            "counter",
            "Jobs this member handed to the member placement names, between runs.",
            v.handoffs as f64,
        ),
        (
            "lifeboat_cluster_runs_taken_over_total",
            "counter",
            "Runs another member left unfinished that this member resumed.",
            v.runs_taken_over as f64,
        ),
    ] {
        o.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name}{{{l}}} {value}\n"
        ));
    }
    o
}
