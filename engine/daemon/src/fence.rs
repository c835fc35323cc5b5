//! Fencing on its own: after a disaster recovery the old primary's copies
//! of the VNF must never run beside the recovered ones. For each job's VNF
//! the daemon looks, every `recovery_check`, for its newest recovery that
//! succeeded or awaits commit (a recover or failover run, by hand or not,
//! in the same history) and the site that recovery came from (the manifest
//! it read). While no fence of that site succeeded since the recovery
//! started, and once the site answers again (its compute API), the daemon
//! runs the bundled `fencing/fence` there, approved in advance by the job
//! (`fence: false` opts a job out): stop, mark, lock. Once per recovery;
//! the fence run's report says what was fenced.

use crate::history::{RunKind, RunRow};
use crate::job::Job;
use crate::points;
use lifeboat_dsl::plan::Plan;
use serde_json::{Map, Value};
use std::time::Duration;

/// The fencing runbook's bundled name.
pub const FENCE_RUNBOOK_NAME: &str = "fencing/fence";
/// Its runbook name, as the history records it.
pub const FENCE_RUNBOOK: &str = "fence";

/// How often the daemon looks, by default.
pub const DEFAULT_CHECK: Duration = Duration::from_secs(30);

/// The daemon's fencing: the compiled runbook and how often to look.
#[derive(Debug, Clone)]
pub struct FenceWatch {
    pub plan: Plan,
    pub every: Duration,
}

impl FenceWatch {
    /// The bundled `fencing/fence`, compiled.
    pub fn new(every: Duration) -> Result<FenceWatch, String> {
        Ok(FenceWatch {
            plan: lifeboat_dsl::bundled::plan(FENCE_RUNBOOK_NAME)?,
            every,
        })
    }
}

/// A fence to run: job `job`'s VNF was recovered by run `recovery` away
/// from `site`, and nothing fenced that site since.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub job: usize,
    pub recovery: String,
    pub vnf: String,
    pub site: String,
}

impl Pending {
    /// The fence run's parameters.
    pub fn params(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("vnf".into(), Value::String(self.vnf.clone()));
        m.insert("at".into(), Value::String(self.site.clone()));
        m
    }

    /// The lock a fence of this VNF holds (one at a time per VNF).
    pub fn key(&self) -> String {
        fence_key(&self.vnf)
    }
}

pub fn fence_key(vnf: &str) -> String {
    format!("fence:{vnf}")
}

fn vnf_of(r: &RunRow) -> Option<&str> {
    r.params.get("vnf").and_then(Value::as_str)
}

/// Whether the run brought a VNF up at another site and stands (not
/// failed, not rolled back).
fn is_standing_recovery(r: &RunRow) -> bool {
    crate::metrics::kind_of(&r.runbook) == "recover"
        && matches!(r.outcome.as_deref(), Some("succeeded" | "awaiting_commit"))
}

/// The fences the jobs' VNFs are owed now (at most one per VNF), from
/// the history's `runs`.
pub fn pending(runs: &[RunRow], jobs: &[Job]) -> Vec<Pending> {
    let mut out: Vec<Pending> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let Some(vnf) = job.vnf() else { continue };
        if !job.fence || out.iter().any(|p| p.vnf == vnf) {
            continue;
        }
        let Some(rec) = runs
            .iter()
            .filter(|r| is_standing_recovery(r) && vnf_of(r) == Some(vnf))
            .max_by(|a, b| a.started.cmp(&b.started))
        else {
            continue;
        };
        let Ok(journal) = crate::run_dir::RunDir::at(&rec.run_dir).journal() else {
            continue;
        };
        let Some(from) = points::recovered(&journal) else {
            continue;
        };
        let fenced = runs.iter().any(|r| {
            r.kind == RunKind::Fence
                && r.outcome.as_deref() == Some("succeeded")
                && vnf_of(r) == Some(vnf)
                && r.params.get("at").and_then(Value::as_str) == Some(from.from.as_str())
                && r.started >= rec.started
        });
        if !fenced {
            out.push(Pending {
                job: i,
                recovery: rec.id.clone(),
                vnf: vnf.to_string(),
                site: from.from,
            });
        }
    }
    out
}
