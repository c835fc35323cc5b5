//! A scheduled job: a compiled runbook, its bound parameters, when it is due
//! and what it keeps. Built by the CLI from `lifeboat.yaml` (it compiles and
//! binds; the clouds stay on its side of the [`crate::launcher::Launcher`]).

use crate::cron::Due;
use crate::metrics::JobLabel;
use crate::retention::policy::Policy;
use lifeboat_dsl::plan::Plan;
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    /// The runbook as configured (`option1/protect`, or a file).
    pub runbook: String,
    pub plan: Plan,
    pub params: Map<String, Value>,
    pub due: Due,
    /// `None`: nothing expires.
    pub policy: Option<Policy>,
    pub run_at_start: bool,
    /// Pass `full: true` once the chain holds this many incrementals.
    pub full_every: Option<usize>,
    /// Which cloud serves which site, for the history (names only).
    pub cloud: String,
    /// The recovery point objective (`rpo_target`), for the metrics and
    /// the alert rules.
    pub rpo_target_ms: Option<u64>,
    /// Whether the daemon fences the old site of this VNF after a recovery
    /// (`fence`, default true).
    pub fence: bool,
    /// Its runs' `approve` steps are approved by the configuration.
    pub approved: bool,
}

impl Job {
    /// The lock key: runbook + parameters.
    pub fn key(&self) -> String {
        crate::lock::job_key(&self.runbook, &self.params)
    }

    /// The site a recovery job brings the VNF up at (its `at`, else `to`
    /// parameter, given or by default), which a cluster prefers to run it
    /// from; `None` for a protect, whose source may be the site lost.
    pub fn target_site(&self) -> Option<String> {
        let recovers = ["recover", "failover", "migrate", "reprotect"]
            .iter()
            .any(|k| self.runbook.contains(k));
        if !recovers {
            return None;
        }
        ["at", "to"].iter().find_map(|p| {
            self.params
                .get(*p)
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    self.plan
                        .params
                        .iter()
                        .find(|x| x.name == *p)
                        .and_then(|x| x.default.as_ref())
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
        })
    }

    /// The lock key of the job's retention runs.
    pub fn retention_key(&self) -> String {
        format!("retention:{}", self.key())
    }

    /// The lock key a run of this job of `kind` holds.
    pub fn lock_key(&self, kind: crate::history::RunKind) -> String {
        use crate::history::RunKind;
        match kind {
            RunKind::Retention => self.retention_key(),
            RunKind::Fence => crate::fence::fence_key(self.vnf().unwrap_or_default()),
            RunKind::Manual | RunKind::Scheduled => self.key(),
        }
    }

    pub fn label(&self) -> JobLabel {
        JobLabel {
            job: self.name.clone(),
            runbook: self.runbook.clone(),
            kind: crate::metrics::kind_of(&self.plan.runbook),
            rpo_target_ms: self.rpo_target_ms,
        }
    }

    /// The `vnf` parameter, when the runbook has one.
    pub fn vnf(&self) -> Option<&str> {
        self.params.get("vnf").and_then(Value::as_str)
    }
}
