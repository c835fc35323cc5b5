//! `lifeboat runs [--runbook R] [--since WHEN] [--json] [--state-dir DIR]`:
//! the run history, oldest first: id, runbook, started, outcome, duration.
//!
//! Rows come from the history database (`<state>/history.sqlite`, written by
//! `lifeboat run` and `lifeboat daemon`; see lifeboat-daemon's `history`),
//! completed with the run directories it does not know (older runs, the
//! demo). A run with no end and no live owner shows as
//! `interrupted — lifeboat resume RUN`; one whose journal ended after the
//! history lost track (resumed by `lifeboat resume`) shows the journal's end.
//!
//! With `--cluster FILE` (a daemon configuration with a `cluster` section)
//! the rows are the cluster's instead, read from etcd: every member's runs,
//! each naming the member that ran (or runs) it.
//!
//! This file also says what the history keeps of a run's end ([`end_of`])
//! and of its clouds ([`cloud_text`]).

use crate::error::{CmdResult, Exit};
use crate::report::{fmt_ms, RunReport};
use crate::state;
use chrono::{DateTime, Utc};
use lifeboat_daemon::history::{Query, RunEnd};
use lifeboat_daemon::run_dir::{RunDir, RunFile};
use lifeboat_daemon::run_store::RunStore;
use lifeboat_exec::journal::Record;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only runs of this runbook (its name, e.g. `protect`, or a daemon job's name).
    #[arg(long)]
    pub runbook: Option<String>,
    /// Only runs started since: RFC 3339 (`2026-11-25T01:00:00Z`), a date
    /// (`2026-11-25`, UTC) or a time ago (`24h`, `7days`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The runs of every member of the cluster this daemon configuration
    /// names (its `cluster` section), from etcd, instead of this machine's.
    #[arg(long, value_name = "FILE", conflicts_with = "state_dir")]
    pub cluster: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct RunRow {
    pub id: String,
    pub runbook: String,
    pub started: String,
    /// `succeeded`, `failed`, `interrupted`, `running`.
    pub outcome: String,
    pub duration_ms: Option<u64>,
    /// The daemon job, for its runs.
    pub job: Option<String>,
    /// `manual`, `scheduled`, `retention`, `fence`.
    pub kind: Option<String>,
    pub ended: Option<String>,
    pub params_hash: Option<String>,
    pub cloud: Option<String>,
    /// The snapshot time of the recovery point written or read.
    pub rpo_point: Option<String>,
    pub quiesce_ms: Option<u64>,
    pub bytes: Option<u64>,
    /// What to do about it (`lifeboat resume ID` for an interrupted run).
    pub action: Option<String>,
    /// The cluster member that ran it, or runs it (`--cluster` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

fn from_history(h: &lifeboat_daemon::history::RunRow) -> RunRow {
    let dir = RunDir::at(&h.run_dir);
    let report: Option<RunReport> = dir.read(RunFile::Report).ok();
    // The journal's end, read once and only for a run the history has no end for.
    let end = std::cell::OnceCell::new();
    let ending = || end.get_or_init(|| dir.ending()).clone();
    let (outcome, duration_ms, ended) = match (&h.outcome, h.status().as_str()) {
        (Some(o), _) => (o.clone(), h.duration_ms, h.ended.clone()),
        (None, "running") => ("running".to_string(), None, None),
        _ => match ending() {
            // Resumed and ended by `lifeboat resume` after the owner died.
            Some(o) => (
                o.word().to_string(),
                report.as_ref().and_then(|r| r.run.duration_ms),
                report.as_ref().map(|r| r.finished_at.clone()),
            ),
            None => ("interrupted".to_string(), None, None),
        },
    };
    let action = (outcome == "interrupted" && ending().is_none())
        .then(|| format!("lifeboat resume {}", h.id));
    RunRow {
        id: h.id.clone(),
        runbook: h.runbook.clone(),
        started: h.started.clone(),
        outcome,
        duration_ms,
        job: h.job.clone(),
        kind: Some(h.kind.as_str().to_string()),
        ended,
        params_hash: Some(h.params_hash.clone()),
        cloud: Some(h.cloud.clone()),
        rpo_point: h.rpo_point.clone().or_else(|| {
            report
                .as_ref()
                .and_then(|r| r.recovery.as_ref().map(|x| x.snapshot_time.clone()))
        }),
        quiesce_ms: h.quiesce_ms,
        bytes: h.bytes,
        action,
        member: None,
    }
}

/// The cluster's runs, from etcd: a run not ended is `running` while its
/// job has an owner (who runs it, or resumes it at its next sweep), else
/// `interrupted` until a member owns the job again.
fn cluster_rows(config: &Path) -> Result<Vec<RunRow>, String> {
    let cluster = super::cluster::section(config)?;
    let rt = super::runtime()?;
    let (history, status) = rt
        .block_on(async {
            let store = lifeboat_daemon::cluster::runs::SharedRuns::connect(&cluster);
            Ok::<_, lifeboat_daemon::cluster::ClusterError>((
                store.history().await?,
                lifeboat_daemon::cluster::status(&cluster).await?,
            ))
        })
        .map_err(|e| e.to_string())?;
    Ok(history
        .into_iter()
        .map(|h| {
            let owner = h.job.as_ref().and_then(|j| status.owners.get(j));
            let (outcome, action) = match (&h.outcome, owner) {
                (Some(o), _) => (o.clone(), None),
                (None, Some(_)) => ("running".to_string(), None),
                (None, None) => (
                    "interrupted".to_string(),
                    Some("resumed by the member that next owns its job".to_string()),
                ),
            };
            let member = match (&h.outcome, owner) {
                (None, Some(m)) => m.clone(),
                _ => h.owner.clone(),
            };
            RunRow {
                id: h.id.clone(),
                runbook: h.runbook.clone(),
                started: h.started.clone(),
                outcome,
                duration_ms: h.duration_ms,
                job: h.job.clone(),
                kind: Some(h.kind.as_str().to_string()),
                ended: h.ended.clone(),
                params_hash: Some(h.params_hash.clone()),
                cloud: Some(h.cloud.clone()),
                rpo_point: h.rpo_point.clone(),
                quiesce_ms: h.quiesce_ms,
                bytes: h.bytes,
                action,
                member: Some(member),
            }
        })
        .collect())
}

/// Run directories the history does not know: read from their journals.
fn from_dirs(store: &dyn RunStore, known: &BTreeSet<String>) -> Vec<RunRow> {
    let mut out = Vec::new();
    for dir in store.dirs() {
        let Ok(journal) = dir.journal() else {
            continue;
        };
        let Some((id, runbook, started)) = journal.iter().find_map(|r| match r {
            Record::RunStarted {
                run_id,
                runbook,
                started,
                ..
            } => Some((run_id.clone(), runbook.clone(), started.clone())),
            _ => None,
        }) else {
            continue;
        };
        if known.contains(&id) {
            continue;
        }
        let report: Option<RunReport> = dir.read(RunFile::Report).ok();
        let finished = lifeboat_daemon::run_dir::ending(&journal);
        let outcome = report
            .as_ref()
            .and_then(|r| r.run.outcome.clone())
            .or(finished.clone())
            .map(|o| o.word().to_string())
            .unwrap_or_else(|| "interrupted".into());
        let action = (finished.is_none()).then(|| format!("lifeboat resume {id}"));
        out.push(RunRow {
            id,
            runbook,
            started,
            outcome,
            duration_ms: report.as_ref().and_then(|r| r.run.duration_ms),
            job: None,
            kind: None,
            ended: report.as_ref().map(|r| r.finished_at.clone()),
            params_hash: None,
            cloud: None,
            rpo_point: report
                .as_ref()
                .and_then(|r| r.recovery.as_ref().map(|x| x.snapshot_time.clone())),
            quiesce_ms: report.as_ref().and_then(longest_window),
            bytes: report.as_ref().map(|r| r.run.bytes_moved),
            action,
            member: None,
        });
    }
    out
}

/// Every run: the history's, then the run dirs it does not know.
pub fn rows(state: &Path) -> Result<Vec<RunRow>, String> {
    let mut out = Vec::new();
    let mut known = BTreeSet::new();
    let store = state::store(state).map_err(|e| e.to_string())?;
    // Listing runs creates no history where there is none.
    if state.join(lifeboat_daemon::history::HISTORY_FILE).is_file() {
        for r in store.runs(&Query::default()).map_err(|e| e.to_string())? {
            known.insert(r.id.clone());
            out.push(from_history(&r));
        }
    }
    out.extend(from_dirs(&*store, &known));
    out.sort_by(|a, b| {
        started_key(&a.started)
            .cmp(&started_key(&b.started))
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}

fn started_key(s: &str) -> Option<DateTime<Utc>> {
    lifeboat_daemon::history::parse_ts(s)
}

/// `--since`: RFC 3339, a date, or a time ago.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Some(t) = lifeboat_daemon::history::parse_ts(s) {
        return Ok(t);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now));
    }
    match humantime::parse_duration(s) {
        Ok(d) => chrono::Duration::from_std(d).map(|d| now - d).map_err(|e| format!("--since {s}: {e}")),
        Err(_) => Err(format!("--since {s}: give an RFC 3339 time (2026-11-25T01:00:00Z), a date (2026-11-25) or a time ago (24h, 7days)")),
    }
}

pub fn run(args: Args) -> CmdResult {
    let state = state::state_dir(args.state_dir.as_deref())?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, Utc::now()))
        .transpose()?;
    let all = match &args.cluster {
        Some(cfg) => cluster_rows(cfg),
        None => rows(&state),
    }?;
    let rows: Vec<RunRow> = all
        .into_iter()
        .filter(|r| {
            args.runbook
                .as_ref()
                .is_none_or(|want| &r.runbook == want || r.job.as_ref() == Some(want))
        })
        .filter(|r| since.is_none_or(|s| started_key(&r.started).is_some_and(|t| t >= s)))
        .collect();
    if args.json {
        let s = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
        println!("{s}");
        return Ok(Exit::Ok);
    }
    if rows.is_empty() {
        match &args.cluster {
            Some(c) => println!("no runs in the cluster of {}", c.display()),
            None => println!(
                "no runs under {}",
                lifeboat_daemon::run_dir::runs_dir(&state).display()
            ),
        }
        return Ok(Exit::Ok);
    }
    let member = |m: &str| {
        if args.cluster.is_some() {
            format!(" {m:<16}")
        } else {
            String::new()
        }
    };
    println!(
        "{:<10} {:<12} {:<30}{} {:<12} {:>9}",
        "ID",
        "RUNBOOK",
        "STARTED",
        member("MEMBER"),
        "OUTCOME",
        "DURATION"
    );
    for r in rows {
        let d = r.duration_ms.map(fmt_ms).unwrap_or_else(|| "-".into());
        let outcome = match &r.action {
            Some(a) => format!("{} — {a}", r.outcome),
            None => r.outcome.clone(),
        };
        println!(
            "{:<10} {:<12} {:<30}{} {:<12} {:>9}",
            r.id,
            r.runbook,
            r.started,
            member(r.member.as_deref().unwrap_or("-")),
            outcome,
            d
        );
    }
    Ok(Exit::Ok)
}

/// The longest quiesce window of a run.
pub fn longest_window(r: &RunReport) -> Option<u64> {
    r.run.scopes.iter().filter_map(|s| s.window_ms).max()
}

/// What the history keeps of a finished run, from its report.
pub fn end_of(r: &RunReport) -> RunEnd {
    RunEnd {
        ended: lifeboat_daemon::history::parse_ts(&r.finished_at).unwrap_or_else(Utc::now),
        outcome: r
            .run
            .outcome
            .as_ref()
            .map(|o| o.word().to_string())
            .unwrap_or_else(|| "failed".into()),
        duration_ms: r.run.duration_ms,
        rpo_point: r
            .recovery
            .as_ref()
            .map(|x| x.snapshot_time.clone())
            .filter(|s| !s.is_empty()),
        quiesce_ms: longest_window(r),
        bytes: r.run.bytes_moved,
    }
}

/// `site=cloud[:region], …` of a run's clouds (names only, never secrets).
pub fn cloud_text(cfg: &crate::cloud::SitesConfig) -> String {
    cfg.sites
        .iter()
        .map(|s| match &s.region {
            Some(r) => format!("{}={}:{r}", s.site, s.cloud),
            None => format!("{}={}", s.site, s.cloud),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
