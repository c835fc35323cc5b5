//! The daemon's Prometheus metrics, computed from the run history at each
//! scrape (so they survive restarts and count `lifeboat run` runs too).
//!
//! Per job (labels `job`, `runbook`):
//!
//! | metric | meaning |
//! |---|---|
//! | `lifeboat_last_success_timestamp_seconds` | end of the last successful run |
//! | `lifeboat_last_duration_seconds` | duration of the last finished run |
//! | `lifeboat_rpo_age_seconds` | now − the newest good recovery point's snapshot time |
//! | `lifeboat_failures_total` | runs that ended failed or interrupted |
//! | `lifeboat_runs_total` | runs started |
//! | `lifeboat_last_quiesce_window_seconds` | longest quiesce window of the last run that had one |
//! | `lifeboat_running` | 1 while a run of the job goes on |
//!
//! A metric with no value yet (no success so far) is left out.

use crate::history::{parse_ts, History, HistoryError, Query};
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// A job as the metrics name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLabel {
    pub job: String,
    pub runbook: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobMetrics {
    pub job: String,
    pub runbook: String,
    pub last_success: Option<DateTime<Utc>>,
    pub last_duration_ms: Option<u64>,
    pub newest_point: Option<DateTime<Utc>>,
    pub failures: u64,
    pub runs: u64,
    pub last_quiesce_ms: Option<u64>,
    pub running: bool,
}

pub fn collect(h: &History, jobs: &[JobLabel]) -> Result<Vec<JobMetrics>, HistoryError> {
    let mut out = Vec::new();
    for j in jobs {
        let rows = h.runs(&Query {
            job: Some(j.job.clone()),
            ..Query::default()
        })?;
        let rows: Vec<_> = rows
            .into_iter()
            .filter(|r| r.kind != crate::history::RunKind::Retention)
            .collect();
        let mut m = JobMetrics {
            job: j.job.clone(),
            runbook: j.runbook.clone(),
            runs: rows.len() as u64,
            ..Default::default()
        };
        for r in &rows {
            match r.outcome.as_deref() {
                Some("succeeded" | "awaiting_commit") => {
                    m.last_success = r.ended.as_deref().and_then(parse_ts).max(m.last_success);
                    if let Some(p) = r.rpo_point.as_deref().and_then(parse_ts) {
                        m.newest_point = Some(p).max(m.newest_point);
                    }
                }
                Some(_) => m.failures += 1,
                None if r.status() == "interrupted" => m.failures += 1,
                None => m.running = true,
            }
            if r.outcome.is_some() {
                m.last_duration_ms = r.duration_ms.or(m.last_duration_ms);
                if r.quiesce_ms.is_some() {
                    m.last_quiesce_ms = r.quiesce_ms;
                }
            }
        }
        if let Some(p) = h.newest_point(&j.job)? {
            m.newest_point = Some(p).max(m.newest_point);
        }
        out.push(m);
    }
    Ok(out)
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
    let fams: [Family; 7] = [
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
            "lifeboat_failures_total",
            "counter",
            "Runs that ended failed or interrupted.",
            |m, _| Some(m.failures as f64),
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
                    "{name}{{job=\"{}\",runbook=\"{}\"}} {v}",
                    esc(&m.job),
                    esc(&m.runbook)
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
