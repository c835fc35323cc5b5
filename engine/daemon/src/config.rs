//! `lifeboat.yaml`, the daemon's configuration:
//!
//! ```yaml
//! state_dir: /var/lib/lifeboat     # optional (else --state-dir, else XDG)
//! metrics: 127.0.0.1:9477          # the /metrics and /healthz listener (port 0: any)
//! jobs:
//!   - name: vims-option1           # optional: default runbook + params
//!     runbook: option1/protect     # a bundled name or a .dr file
//!     params: {vnf: vims}
//!     cloud: prod                  # a clouds.yaml cloud for every site, or
//!     site_clouds: {site-a: "prod:RegionOne", site-b: "dr:RegionTwo"}
//!     schedule: "0 */4 * * *"      # optional: overrides the runbook's
//!     tz: Europe/Paris             # optional, with schedule
//!     retain: {last: 6, daily: 7}  # optional: overrides the runbook's
//!     run_at_start: false          # run once at start when it never ran
//!     full_every: 7                # full protect after 7 incrementals (runbook param `full`)
//!     rpo_target: 4h               # optional: the recovery point objective (metrics, alerts)
//!     fence: true                  # fence the old site after a recovery of this VNF (default)
//!     approved: false              # its runs' `approve` steps are authorised here (a drill)
//! recovery_check: 30s              # how often to look after recoveries: fence old sites that
//!                                  # answer again, apply commit deadlines (0s: never)
//! twins_after: 10m                 # after a run whose creates were uncertain, look for late
//!                                  # twins again this long after its end (0s: never)
//! max_in_flight: 8                 # each run's requests in flight per site (default 8)
//! site_limits: {site-b: 4}         # the same for one site
//! freezes_at_once: 8               # at most 8 runs with servers frozen at once (default: no bound)
//! ```
//!
//! `max_in_flight` / `site_limits` are each run's, as `lifeboat run
//! --max-in-flight` / `--site-limit`: its steps in flight per site and the
//! ceiling of its clients' adaptive limit of requests per site.
//!
//! `freezes_at_once` is the daemon's, across all its runs: a run's quiesce
//! scope waits for a place before its first freeze (the wait is not part
//! of its window) and gives it back once its servers are thawed. Many VNFs
//! freezing at once on one cloud make every freeze slower, until the
//! watchdogs fire; queued, each window stays short.
//!
//! Unknown keys are errors (a typo must not silently change a schedule).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub state_dir: Option<PathBuf>,
    /// `HOST:PORT` of the metrics listener; none: no listener.
    pub metrics: Option<String>,
    /// How often the daemon looks after recoveries: fences a recovered
    /// VNF's old site that answers again, applies a commit deadline's
    /// default (`30s` by default; `0s`: never).
    pub recovery_check: Option<String>,
    /// How long after a run whose creates were uncertain (made again after
    /// a lost answer, retried) the daemon looks for their late twins again,
    /// as `lifeboat cleanup` does (`10m` by default; `0s`: never).
    pub twins_after: Option<String>,
    /// Several daemons (one per site, say) sharing the jobs through etcd;
    /// absent: this daemon runs every job.
    pub cluster: Option<crate::cluster::ClusterConfig>,
    /// Each run's requests (and steps) in flight at a site (default 8).
    pub max_in_flight: Option<usize>,
    /// `max_in_flight` of one site.
    #[serde(default)]
    pub site_limits: BTreeMap<String, usize>,
    /// How many runs may hold servers frozen at once (all jobs together);
    /// absent: no bound.
    pub freezes_at_once: Option<usize>,
    pub jobs: Vec<JobConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    pub name: Option<String>,
    pub runbook: String,
    #[serde(default)]
    pub params: BTreeMap<String, serde_yaml::Value>,
    pub cloud: Option<String>,
    #[serde(default)]
    pub site_clouds: BTreeMap<String, String>,
    pub schedule: Option<String>,
    pub tz: Option<String>,
    pub retain: Option<RetainConfig>,
    #[serde(default)]
    pub run_at_start: bool,
    /// A full protect (`full: true`) once the newest point's chain holds
    /// this many incrementals; the runbook must take a `full` parameter.
    pub full_every: Option<usize>,
    /// The recovery point objective (`4h`, `30m`): exported as
    /// `lifeboat_rpo_target_seconds` for the `LifeboatRPOBreached` alert.
    pub rpo_target: Option<String>,
    /// Fence the old site's copies after a recovery of this job's VNF
    /// (default true).
    pub fence: Option<bool>,
    /// The job's runs pass their `approve` steps: this configuration is
    /// the operator's approval (a scheduled recovery drill, say). Default
    /// false: a run of the daemon refuses them.
    #[serde(default)]
    pub approved: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct RetainConfig {
    pub last: Option<u32>,
    pub hourly: Option<u32>,
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
}

impl RetainConfig {
    pub fn to_plan(self) -> lifeboat_dsl::plan::Retention {
        lifeboat_dsl::plan::Retention {
            last: self.last,
            hourly: self.hourly,
            daily: self.daily,
            weekly: self.weekly,
            monthly: self.monthly,
        }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let c: Config = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        if c.jobs.is_empty() {
            return Err("no jobs: list at least one under `jobs:`".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for j in &c.jobs {
            if !names.insert(j.name()) {
                return Err(format!(
                    "two jobs are named `{}`: give each a distinct `name`",
                    j.name()
                ));
            }
            if j.tz.is_some() && j.schedule.is_none() {
                return Err(format!("job `{}`: `tz` without `schedule`", j.name()));
            }
            j.rpo_target_ms()?;
        }
        c.recovery_check()?;
        c.twins_after()?;
        c.freeze_gate()?;
        if c.max_in_flight == Some(0) {
            return Err(
                "max_in_flight must be at least 1 (a run's requests in flight per site)".into(),
            );
        }
        if let Some((site, _)) = c.site_limits.iter().find(|(_, n)| **n == 0) {
            return Err(format!(
                "site_limits: {site} must be at least 1 (requests in flight at that site)"
            ));
        }
        Ok(c)
    }

    /// Calls in flight per site: `max_in_flight`, `site_limits`.
    pub fn limits(&self) -> lifeboat_exec::Limits {
        let mut l = lifeboat_exec::Limits::default();
        if let Some(n) = self.max_in_flight {
            l.default_per_site = n;
        }
        for (site, n) in &self.site_limits {
            l = l.with_site(site.clone(), *n);
        }
        l
    }

    /// The gate shared by every run of the daemon (`freezes_at_once`).
    pub fn freeze_gate(&self) -> Result<Option<lifeboat_exec::FreezeGate>, String> {
        match self.freezes_at_once {
            None => Ok(None),
            Some(0) => Err("freezes_at_once: 0 would never let a run freeze its servers; give at least 1, or leave it out for no bound".into()),
            Some(n) => Ok(Some(lifeboat_exec::FreezeGate::new(n))),
        }
    }

    /// `twins_after`: `None` when the daemon never looks for late twins
    /// again (a run still looks for them at its end).
    pub fn twins_after(&self) -> Result<Option<std::time::Duration>, String> {
        every_or_never(
            "twins_after",
            self.twins_after.as_deref(),
            crate::daemon::TWINS_AFTER,
            "10m",
        )
    }

    /// `recovery_check`: `None` when the daemon never looks after recoveries.
    pub fn recovery_check(&self) -> Result<Option<std::time::Duration>, String> {
        every_or_never(
            "recovery_check",
            self.recovery_check.as_deref(),
            crate::fence::DEFAULT_CHECK,
            "30s",
        )
    }
}

/// A duration setting `key` where `0s` means never: `default` when absent,
/// an error naming the key and an `example` when it does not parse.
fn every_or_never(
    key: &str,
    text: Option<&str>,
    default: std::time::Duration,
    example: &str,
) -> Result<Option<std::time::Duration>, String> {
    let Some(t) = text else {
        return Ok(Some(default));
    };
    match lifeboat_dsl::duration::parse_ms(t) {
        Ok(0) => Ok(None),
        Ok(ms) => Ok(Some(std::time::Duration::from_millis(ms))),
        Err(e) => Err(format!(
            "{key} `{t}`: {e} (write e.g. {example}, or 0s for never)"
        )),
    }
}

impl JobConfig {
    /// `rpo_target` in milliseconds; an error naming the job when it is not
    /// a positive duration.
    pub fn rpo_target_ms(&self) -> Result<Option<u64>, String> {
        let Some(t) = &self.rpo_target else {
            return Ok(None);
        };
        match lifeboat_dsl::duration::parse_ms(t) {
            Ok(ms) if ms > 0 => Ok(Some(ms)),
            Ok(_) => Err(format!(
                "job `{}`: rpo_target must be longer than zero",
                self.name()
            )),
            Err(e) => Err(format!(
                "job `{}`: rpo_target `{t}`: {e} (write e.g. 4h or 30m)",
                self.name()
            )),
        }
    }

    /// The job's name: `name`, else the runbook and its parameters.
    pub fn name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let mut s = self.runbook.clone();
        for (k, v) in &self.params {
            s.push_str(&format!(" {k}={}", param_text(v)));
        }
        s
    }

    /// `name=value` pairs as `lifeboat run --param` takes them.
    pub fn param_args(&self) -> Vec<String> {
        self.params
            .iter()
            .map(|(k, v)| format!("{k}={}", param_text(v)))
            .collect()
    }
}

/// A YAML value as a `--param` value: scalars as written, lists as JSON.
pub fn param_text(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Null => String::new(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `twins_after`: 10 minutes unless said; `0s` never; a duration as written.
    #[test]
    fn twins_after_defaults_to_ten_minutes_and_0s_turns_it_off() {
        let jobs = "jobs:\n  - runbook: option1/protect\n    params: {vnf: vims}\n";
        let at = |head: &str| {
            Config::parse(&format!("{head}{jobs}"))
                .unwrap()
                .twins_after()
                .unwrap()
        };
        assert_eq!(at(""), Some(std::time::Duration::from_secs(600)));
        assert_eq!(at("twins_after: 0s\n"), None);
        assert_eq!(
            at("twins_after: 90s\n"),
            Some(std::time::Duration::from_secs(90))
        );
    }
}
