//! Commit deadlines: a recovery (recover, failover, migrate) ends awaiting
//! commit with a deadline and a default set in its runbook. When nobody
//! decided by then, the daemon resumes it — and a resume past the deadline
//! takes the default (commit: the run succeeds; rollback: its
//! compensations remove what it made). Runs of the jobs' VNFs only (a job
//! knows the clouds when the run's own are not at hand).

use crate::history::RunRow;
use crate::job::Job;
use chrono::{DateTime, Utc};
use lifeboat_exec::journal::Record;
use lifeboat_exec::Decision;
use serde_json::Value;

/// A run whose deadline passed, the job whose VNF it recovered, and the
/// default it will take.
#[derive(Debug, Clone)]
pub struct Overdue {
    pub job: usize,
    pub run: RunRow,
    pub default: Decision,
}

impl Overdue {
    /// The lock the daemon holds while deciding it.
    pub fn key(&self) -> String {
        decide_key(&self.run.id)
    }
}

/// The lock held while run `id`'s commit is decided.
pub fn decide_key(id: &str) -> String {
    format!("decide:{id}")
}

/// The runs of the history's `runs` awaiting commit past their deadline
/// at `now`.
pub fn overdue(runs: &[RunRow], jobs: &[Job], now: DateTime<Utc>) -> Vec<Overdue> {
    let mut out = Vec::new();
    for r in runs
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("awaiting_commit"))
    {
        let vnf = r.params.get("vnf").and_then(Value::as_str);
        let Some(job) = jobs
            .iter()
            .position(|j| j.vnf().is_some() && j.vnf() == vnf)
        else {
            continue;
        };
        let Ok(journal) = crate::run_dir::RunDir::at(&r.run_dir).journal() else {
            continue;
        };
        let due = journal.iter().rev().find_map(|rec| match rec {
            Record::RunFinished { outcome } => Some(outcome.due(now)),
            _ => None,
        });
        if let Some(Some(default)) = due {
            out.push(Overdue {
                job,
                run: r.clone(),
                default,
            });
        }
    }
    out
}
