//! `lifeboat runs [--runbook R] [--json] [--state-dir DIR]`: the runs kept
//! in the state dir, oldest first: id, runbook, started, outcome, duration.
//! A run without a report (crashed, or still going) shows `incomplete`.

use super::{EXIT_ERRORS, EXIT_OK};
use crate::report::{fmt_ms, RunReport};
use crate::state::{self, REPORT_FILE};
use lifeboat_exec::journal::Record;
use lifeboat_exec::RunOutcome;
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only runs of this runbook (its name, e.g. `protect`).
    #[arg(long)]
    pub runbook: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct RunRow {
    pub id: String,
    pub runbook: String,
    pub started: String,
    pub outcome: String,
    pub duration_ms: Option<u64>,
}

pub fn outcome_word(o: &RunOutcome) -> &'static str {
    match o {
        RunOutcome::Succeeded => "succeeded",
        RunOutcome::Failed { .. } => "failed",
        RunOutcome::Interrupted { .. } => "interrupted",
    }
}

pub fn rows(state: &std::path::Path) -> Vec<RunRow> {
    let Ok(entries) = std::fs::read_dir(state::runs_dir(state)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let dir = e.path();
        let Ok(journal) = lifeboat_exec::read_journal(&dir) else { continue };
        let Some((id, runbook, started)) = journal.iter().find_map(|r| match r {
            Record::RunStarted { run_id, runbook, started, .. } => Some((run_id.clone(), runbook.clone(), started.clone())),
            _ => None,
        }) else {
            continue;
        };
        let report: Option<RunReport> = state::read_json(&dir.join(REPORT_FILE)).ok();
        let finished = journal.iter().rev().find_map(|r| match r {
            Record::RunFinished { outcome } => Some(outcome.clone()),
            _ => None,
        });
        let outcome = report
            .as_ref()
            .and_then(|r| r.run.outcome.clone())
            .or(finished)
            .map(|o| outcome_word(&o).to_string())
            .unwrap_or_else(|| "incomplete".into());
        out.push(RunRow { id, runbook, started, outcome, duration_ms: report.and_then(|r| r.run.duration_ms) });
    }
    out.sort_by(|a, b| a.started.cmp(&b.started).then(a.id.cmp(&b.id)));
    out
}

pub fn run(args: Args) -> u8 {
    let state = match state::state_dir(args.state_dir.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    let rows: Vec<RunRow> = rows(&state)
        .into_iter()
        .filter(|r| args.runbook.as_ref().is_none_or(|want| &r.runbook == want))
        .collect();
    if args.json {
        match serde_json::to_string_pretty(&rows) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERRORS;
            }
        }
        return EXIT_OK;
    }
    if rows.is_empty() {
        println!("no runs under {}", state::runs_dir(&state).display());
        return EXIT_OK;
    }
    println!("{:<10} {:<12} {:<33} {:<12} {:>9}", "ID", "RUNBOOK", "STARTED", "OUTCOME", "DURATION");
    for r in rows {
        let d = r.duration_ms.map(fmt_ms).unwrap_or_else(|| "-".into());
        println!("{:<10} {:<12} {:<33} {:<12} {:>9}", r.id, r.runbook, r.started, r.outcome, d);
    }
    EXIT_OK
}
