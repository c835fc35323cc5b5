//! The report of a run, built from its events alone.
//!
//! [`Report::apply`] folds one [`Event`] at a time (a dispatcher can keep a
//! live report); [`Report::from_events`] folds a whole list. The report
//! holds: each step instance's timing, attempts and outcome; per quiesce
//! scope the window from the first freeze to the last thaw, and per target
//! from its freeze to its thaw; bytes moved; what was compensated or cleaned
//! up and what failed to be; thaws that failed; the **orphans** (what the
//! run created and could not remove: site, kind, id, name, why); per site
//! what its API did (retried requests, throttled answers, the lowest
//! adaptive in-flight limit); the run's duration and outcome. It serialises to JSON; [`Report::render_text`] gives the plain
//! text the CLI prints (it adds RPO/RTO from the manifest itself).

use crate::event::{Event, EventKind, RunOutcome};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub instance: String,
    pub action: String,
    pub outcome: StepOutcome,
    pub started_ms: Option<u64>,
    pub duration_ms: Option<u64>,
    pub attempts: u32,
    pub bytes_moved: u64,
    /// Taken from the journal of an earlier attempt of the run, or found by
    /// `find_created`, rather than called.
    pub reused: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetWindow {
    pub target: String,
    /// Its freeze group (the `by` value).
    #[serde(default)]
    pub group: String,
    pub freeze_started_ms: u64,
    #[serde(default)]
    pub frozen_ms: Option<u64>,
    #[serde(default)]
    pub thaw_started_ms: Option<u64>,
    pub thawed_ms: Option<u64>,
    pub window_ms: Option<u64>,
    pub thaw_failed: bool,
}

/// One freeze group of a scope: how long freezing it took (first freeze
/// call to last target frozen), how long thawing it took (first thaw call
/// to last target thawed), and its window (first freeze to last thaw).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupWindow {
    pub group: String,
    pub targets: usize,
    pub freeze_ms: Option<u64>,
    pub thaw_ms: Option<u64>,
    pub window_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeReport {
    pub scope: String,
    pub first_freeze_ms: u64,
    pub last_thaw_ms: Option<u64>,
    pub window_ms: Option<u64>,
    pub watchdog_expired: bool,
    pub targets: Vec<TargetWindow>,
    /// The freeze groups, in freeze order.
    #[serde(default)]
    pub groups: Vec<GroupWindow>,
    /// This attempt was cut short and the scope tried again (`retry`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tried_again: Option<TriedAgain>,
}

/// How a target's thaw ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThawEnd {
    Thawed,
    /// It may still be frozen.
    Failed,
}

/// An attempt of a scope cut short, and the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriedAgain {
    /// Why (its watchdog, a freeze).
    pub error: String,
    /// The next attempt, of at most `of`, after `backoff_ms`.
    pub attempt: u32,
    pub of: u32,
    pub backoff_ms: u64,
}

impl TriedAgain {
    /// What a `ScopeRetrying` event says.
    pub fn of(kind: &EventKind) -> Option<TriedAgain> {
        match kind {
            EventKind::ScopeRetrying {
                attempt,
                of,
                error,
                backoff_ms,
                ..
            } => Some(TriedAgain {
                error: error.clone(),
                attempt: *attempt,
                of: *of,
                backoff_ms: *backoff_ms,
            }),
            _ => None,
        }
    }

    /// One line, for the report and the live view.
    pub fn text(&self) -> String {
        format!(
            "cut short, thawed, everything it did undone; attempt {} of {} after {}: {}",
            self.attempt,
            self.of,
            fmt_ms(self.backoff_ms),
            self.error
        )
    }
}

impl ScopeReport {
    /// Recomputes the groups from the targets (consecutive targets of one
    /// group label form a group).
    fn regroup(&mut self) {
        let mut groups: Vec<(String, Vec<&TargetWindow>)> = Vec::new();
        for t in &self.targets {
            match groups.last_mut() {
                Some((g, members)) if *g == t.group => members.push(t),
                _ => groups.push((t.group.clone(), vec![t])),
            }
        }
        self.groups = groups
            .into_iter()
            .map(|(group, m)| {
                let start = m.iter().map(|t| t.freeze_started_ms).min();
                let all = |f: fn(&TargetWindow) -> Option<u64>| -> Option<Vec<u64>> {
                    m.iter().map(|t| f(t)).collect()
                };
                let frozen = all(|t| t.frozen_ms).and_then(|v| v.into_iter().max());
                let thaw_start = m.iter().filter_map(|t| t.thaw_started_ms).min();
                let thawed = all(|t| t.thawed_ms).and_then(|v| v.into_iter().max());
                GroupWindow {
                    group,
                    targets: m.len(),
                    freeze_ms: frozen.zip(start).map(|(e, s)| e.saturating_sub(s)),
                    thaw_ms: thawed.zip(thaw_start).map(|(e, s)| e.saturating_sub(s)),
                    window_ms: thawed.zip(start).map(|(e, s)| e.saturating_sub(s)),
                }
            })
            .collect();
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SagaFailure {
    pub instance: String,
    pub error: String,
}

pub use crate::event::OrphanResource;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Orphan {
    pub instance: String,
    pub action: String,
    #[serde(flatten)]
    pub resource: OrphanResource,
    pub why: String,
}

/// A twin of a step's result (a create whose lost answer landed after it
/// was made again), found at the run's end and disposed of by `instance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Twin {
    pub of: String,
    pub instance: String,
    #[serde(flatten)]
    pub resource: OrphanResource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThawFailure {
    pub scope: String,
    pub target: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Report {
    pub run_id: String,
    pub runbook: String,
    pub started: String,
    pub resumed: bool,
    /// `None` while the run is still going.
    pub outcome: Option<RunOutcome>,
    pub duration_ms: Option<u64>,
    pub steps: Vec<StepReport>,
    pub scopes: Vec<ScopeReport>,
    pub bytes_moved: u64,
    pub compensated: Vec<String>,
    pub compensation_failures: Vec<SagaFailure>,
    pub cleaned_up: Vec<String>,
    pub cleanup_failures: Vec<SagaFailure>,
    pub thaw_failures: Vec<ThawFailure>,
    /// What the run created and could not remove.
    #[serde(default)]
    pub orphans: Vec<Orphan>,
    /// Twins of its results that landed late (each also a cleanup, or an
    /// orphan when it could not be removed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub twins: Vec<Twin>,
    /// Steps whose outcome was uncertain, whose twins were looked for (a
    /// twin that lands later is found by `lifeboat cleanup`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncertain: Vec<String>,
    /// What each site's API did while the run went on: its requests,
    /// retries and throttled answers, and its adaptive limit (counted from
    /// the run's start: actions shared with other runs count theirs too).
    #[serde(default)]
    pub sites: Vec<crate::action::SitePressure>,
    #[serde(skip)]
    step_index: HashMap<String, usize>,
}

impl Report {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Report {
        let mut r = Report::default();
        for e in events {
            r.apply(e);
        }
        r
    }

    /// This (a run's) report after `cleanup` (a `cleanup` of the run): what
    /// is left is what the cleanup still found (orphans, failures, servers
    /// not thawed); what it removed joins what the run removed; the run's
    /// steps, windows, figures and outcome stand.
    pub fn after_cleanup(mut self, cleanup: Report) -> Report {
        self.orphans = cleanup.orphans;
        self.thaw_failures = cleanup.thaw_failures;
        self.compensation_failures = cleanup.compensation_failures;
        self.cleanup_failures = cleanup.cleanup_failures;
        for c in cleanup.compensated {
            if !self.compensated.contains(&c) {
                self.compensated.push(c);
            }
        }
        for c in cleanup.cleaned_up {
            if !self.cleaned_up.contains(&c) {
                self.cleaned_up.push(c);
            }
        }
        for t in cleanup.twins {
            self.twins.retain(|x| x.instance != t.instance);
            self.twins.push(t);
        }
        for u in cleanup.uncertain {
            if !self.uncertain.contains(&u) {
                self.uncertain.push(u);
            }
        }
        self
    }

    pub fn step(&self, instance: &str) -> Option<&StepReport> {
        self.step_index.get(instance).map(|&i| &self.steps[i])
    }

    fn step_mut(&mut self, instance: &str, action: Option<&str>) -> &mut StepReport {
        let i = match self.step_index.get(instance) {
            Some(&i) => i,
            None => {
                self.steps.push(StepReport {
                    instance: instance.to_string(),
                    action: String::new(),
                    outcome: StepOutcome::Running,
                    started_ms: None,
                    duration_ms: None,
                    attempts: 0,
                    bytes_moved: 0,
                    reused: false,
                    error: None,
                });
                self.step_index
                    .insert(instance.to_string(), self.steps.len() - 1);
                self.steps.len() - 1
            }
        };
        let s = &mut self.steps[i];
        if let Some(a) = action {
            if s.action.is_empty() {
                s.action = a.to_string();
            }
        }
        s
    }

    fn scope_mut(&mut self, scope: &str, at: u64) -> &mut ScopeReport {
        let i = match self.scopes.iter().rposition(|s| s.scope == scope) {
            Some(i) => i,
            None => {
                self.scopes.push(ScopeReport {
                    scope: scope.to_string(),
                    first_freeze_ms: at,
                    last_thaw_ms: None,
                    window_ms: None,
                    watchdog_expired: false,
                    targets: Vec::new(),
                    groups: Vec::new(),
                    tried_again: None,
                });
                self.scopes.len() - 1
            }
        };
        &mut self.scopes[i]
    }

    fn thaw_end(&mut self, scope: &str, target: &str, at: u64, end: ThawEnd) {
        let s = self.scope_mut(scope, at);
        if let Some(t) = s.targets.iter_mut().rev().find(|t| t.target == target) {
            t.thawed_ms = Some(at);
            t.window_ms = Some(at.saturating_sub(t.freeze_started_ms));
            t.thaw_failed = end == ThawEnd::Failed;
        }
        s.last_thaw_ms = Some(at);
        s.window_ms = Some(at.saturating_sub(s.first_freeze_ms));
        s.regroup();
    }

    /// Folds one event in.
    pub fn apply(&mut self, e: &Event) {
        let at = e.at_ms;
        match &e.kind {
            EventKind::RunStarted {
                run_id,
                runbook,
                started,
                resumed,
            } => {
                self.run_id = run_id.clone();
                self.runbook = runbook.clone();
                self.started = started.clone();
                self.resumed = *resumed;
            }
            EventKind::PhaseChanged { .. }
            | EventKind::ApprovalRequested { .. }
            | EventKind::ApprovalGranted { .. } => {}
            EventKind::StepStarted {
                instance,
                action,
                attempt,
            } => {
                let s = self.step_mut(instance, Some(action));
                s.started_ms.get_or_insert(at);
                s.attempts = s.attempts.max(*attempt);
                s.outcome = StepOutcome::Running;
            }
            EventKind::StepRetrying {
                instance, error, ..
            } => {
                self.step_mut(instance, None).error = Some(error.clone());
            }
            EventKind::StepSucceeded {
                instance,
                action,
                duration_ms,
                bytes_moved,
                reused,
            } => {
                self.bytes_moved += bytes_moved;
                let s = self.step_mut(instance, Some(action));
                s.outcome = StepOutcome::Succeeded;
                s.duration_ms = Some(*duration_ms);
                s.started_ms.get_or_insert(at.saturating_sub(*duration_ms));
                s.bytes_moved = *bytes_moved;
                s.reused = *reused;
                s.error = None;
            }
            EventKind::StepFailed { instance, error } => {
                let s = self.step_mut(instance, None);
                s.outcome = StepOutcome::Failed;
                s.duration_ms = s.started_ms.map(|t| at.saturating_sub(t));
                s.error = Some(error.clone());
            }
            EventKind::StepSkipped { instance, reason } => {
                let s = self.step_mut(instance, None);
                s.outcome = StepOutcome::Skipped;
                s.error = Some(reason.clone());
            }
            EventKind::StepCancelled { instance } => {
                let s = self.step_mut(instance, None);
                s.outcome = StepOutcome::Cancelled;
                s.duration_ms = s.started_ms.map(|t| at.saturating_sub(t));
            }
            EventKind::FreezeStarted {
                scope,
                target,
                group,
            } => {
                let s = self.scope_mut(scope, at);
                s.targets.push(TargetWindow {
                    target: target.clone(),
                    group: group.clone(),
                    frozen_ms: None,
                    thaw_started_ms: None,
                    freeze_started_ms: at,
                    thawed_ms: None,
                    window_ms: None,
                    thaw_failed: false,
                });
            }
            EventKind::Frozen { scope, target } => {
                let s = self.scope_mut(scope, at);
                if let Some(t) = s.targets.iter_mut().rev().find(|t| t.target == *target) {
                    t.frozen_ms = Some(at);
                }
                s.regroup();
            }
            EventKind::ThawStarted { scope, target } => {
                let s = self.scope_mut(scope, at);
                if let Some(t) = s
                    .targets
                    .iter_mut()
                    .rev()
                    .find(|t| t.target == *target && t.thawed_ms.is_none())
                {
                    t.thaw_started_ms = Some(at);
                }
            }
            EventKind::FreezeFailed { scope, target, .. } => {
                let s = self.scope_mut(scope, at);
                s.targets
                    .retain(|t| !(t.target == *target && t.thawed_ms.is_none()));
            }
            EventKind::Thawed { scope, target } => {
                self.thaw_end(scope, target, at, ThawEnd::Thawed)
            }
            EventKind::ThawFailed {
                scope,
                target,
                error,
            } => {
                self.thaw_end(scope, target, at, ThawEnd::Failed);
                self.thaw_failures.push(ThawFailure {
                    scope: scope.clone(),
                    target: target.clone(),
                    error: error.clone(),
                });
            }
            EventKind::WatchdogExpired { scope, .. } => {
                self.scope_mut(scope, at).watchdog_expired = true
            }
            EventKind::ScopeRetrying { scope, .. } => {
                self.scope_mut(scope, at).tried_again = TriedAgain::of(&e.kind)
            }
            EventKind::CompensationStarted { .. } | EventKind::CleanupStarted { .. } => {}
            EventKind::Compensated { instance } => self.compensated.push(instance.clone()),
            EventKind::CompensationFailed { instance, error } => {
                self.compensation_failures.push(SagaFailure {
                    instance: instance.clone(),
                    error: error.clone(),
                })
            }
            EventKind::CleanedUp { instance } => self.cleaned_up.push(instance.clone()),
            EventKind::CleanupFailed { instance, error } => {
                self.cleanup_failures.push(SagaFailure {
                    instance: instance.clone(),
                    error: error.clone(),
                })
            }
            EventKind::TwinsSought { instance, .. } => {
                if !self.uncertain.contains(instance) {
                    self.uncertain.push(instance.clone());
                }
            }
            EventKind::TwinFound {
                of,
                instance,
                resource,
            } => {
                self.twins.retain(|t| t.instance != *instance);
                self.twins.push(Twin {
                    of: of.clone(),
                    instance: instance.clone(),
                    resource: resource.clone(),
                });
            }
            EventKind::Orphaned {
                instance,
                action,
                resource,
                why,
            } => {
                self.orphans.retain(|o| o.instance != *instance);
                self.orphans.push(Orphan {
                    instance: instance.clone(),
                    action: action.clone(),
                    resource: resource.clone(),
                    why: why.clone(),
                });
            }
            EventKind::SitePressure { pressure } => {
                match self.sites.iter_mut().find(|p| p.site == pressure.site) {
                    Some(p) => *p = pressure.clone(),
                    None => self.sites.push(pressure.clone()),
                }
            }
            EventKind::RunFinished {
                outcome,
                duration_ms,
            } => {
                self.outcome = Some(outcome.clone());
                self.duration_ms = Some(*duration_ms);
            }
        }
    }

    /// Plain text, for a terminal or a mail.
    pub fn render_text(&self) -> String {
        let mut o = String::new();
        let outcome = match &self.outcome {
            None => "still running".to_string(),
            Some(RunOutcome::Succeeded) => "succeeded".to_string(),
            Some(RunOutcome::Failed { reason }) => format!("FAILED: {reason}"),
            Some(RunOutcome::Interrupted { reason }) => format!("INTERRUPTED: {reason}"),
            Some(RunOutcome::AwaitingCommit { deadline, default }) => format!(
                "succeeded, AWAITING COMMIT until {deadline} (then {}): `lifeboat commit {id}` keeps it, `lifeboat rollback {id}` undoes it",
                default.as_str(),
                id = self.run_id
            ),
            Some(RunOutcome::RolledBack { reason }) => format!("ROLLED BACK: {reason}"),
        };
        let _ = writeln!(
            o,
            "run {} ({}){}: {outcome}",
            self.run_id,
            self.runbook,
            if self.resumed { ", resumed" } else { "" }
        );
        if let Some(d) = self.duration_ms {
            let _ = writeln!(o, "duration: {}", fmt_ms(d));
        }
        let _ = writeln!(o, "bytes moved: {}", fmt_bytes(self.bytes_moved));
        for f in &self.thaw_failures {
            let _ = writeln!(
                o,
                "!! THAW FAILED: {} in {}: {} — it may still be frozen",
                f.target, f.scope, f.error
            );
        }
        for s in &self.scopes {
            let window = s
                .window_ms
                .map(fmt_ms)
                .unwrap_or_else(|| "not thawed".into());
            let _ = writeln!(
                o,
                "quiesce {}: window {window}{}",
                s.scope,
                if s.watchdog_expired {
                    " (watchdog expired)"
                } else {
                    ""
                }
            );
            if let Some(t) = &s.tried_again {
                let _ = writeln!(o, "  {}", t.text());
            }
            for g in s.groups.iter().filter(|g| !g.group.is_empty()) {
                let ms = |v: Option<u64>| v.map(fmt_ms).unwrap_or_else(|| "-".into());
                let _ = writeln!(
                    o,
                    "  group {:<18} {} target(s): froze in {}, thawed in {}, window {}",
                    g.group,
                    g.targets,
                    ms(g.freeze_ms),
                    ms(g.thaw_ms),
                    ms(g.window_ms)
                );
            }
            for t in &s.targets {
                let w = t
                    .window_ms
                    .map(fmt_ms)
                    .unwrap_or_else(|| "not thawed".into());
                let _ = writeln!(
                    o,
                    "  {:<24} {w}{}",
                    t.target,
                    if t.thaw_failed { "  THAW FAILED" } else { "" }
                );
            }
        }
        let _ = writeln!(o, "steps:");
        for s in &self.steps {
            let state = match s.outcome {
                StepOutcome::Running => "running",
                StepOutcome::Succeeded if s.reused => "reused",
                StepOutcome::Succeeded => "ok",
                StepOutcome::Failed => "FAILED",
                StepOutcome::Skipped => "skipped",
                StepOutcome::Cancelled => "cancelled",
            };
            let dur = s.duration_ms.map(fmt_ms).unwrap_or_default();
            let _ = write!(
                o,
                "  {:<28} {:<28} {:<9} {:>9}",
                s.instance, s.action, state, dur
            );
            if s.attempts > 1 {
                let _ = write!(o, "  ({} attempts)", s.attempts);
            }
            if s.bytes_moved > 0 {
                let _ = write!(o, "  {}", fmt_bytes(s.bytes_moved));
            }
            if let (Some(e), StepOutcome::Failed | StepOutcome::Skipped) = (&s.error, s.outcome) {
                let _ = write!(o, "  {e}");
            }
            o.push('\n');
        }
        if !self.compensated.is_empty() || !self.compensation_failures.is_empty() {
            let _ = writeln!(o, "compensated: {}", list_or_none(&self.compensated));
            for f in &self.compensation_failures {
                let _ = writeln!(o, "!! compensation FAILED for {}: {}", f.instance, f.error);
            }
        }
        if !self.uncertain.is_empty() {
            let _ = writeln!(
                o,
                "uncertain creates ({}, made again after a lost answer or retried): late twins looked for, {} found; one landing later is found by `lifeboat cleanup {}`",
                self.uncertain.len(),
                self.twins.len(),
                self.run_id
            );
        }
        for t in &self.twins {
            let x = &t.resource;
            let _ = writeln!(
                o,
                "late twin of {}: {} {} at site {} (a create whose lost answer landed after it was made again), disposed of by {}",
                t.of,
                x.kind,
                x.id.as_deref().unwrap_or("?"),
                x.site.as_deref().unwrap_or("?"),
                t.instance
            );
        }
        if !self.cleaned_up.is_empty() || !self.cleanup_failures.is_empty() {
            let _ = writeln!(o, "cleaned up: {}", list_or_none(&self.cleaned_up));
            for f in &self.cleanup_failures {
                let _ = writeln!(o, "!! cleanup FAILED for {}: {}", f.instance, f.error);
            }
        }
        if !self.orphans.is_empty() {
            let _ = writeln!(
                o,
                "!! LEFT BEHIND ({}): remove with `lifeboat cleanup {}`",
                self.orphans.len(),
                self.run_id
            );
            for r in &self.orphans {
                let x = &r.resource;
                let _ = writeln!(
                    o,
                    "  {} {} {} at site {} ({}, from {}): {}",
                    x.kind,
                    x.id.as_deref().unwrap_or("?"),
                    x.name
                        .as_deref()
                        .map(|n| format!("{n:?}"))
                        .unwrap_or_default(),
                    x.site.as_deref().unwrap_or("?"),
                    r.action,
                    r.instance,
                    r.why
                );
            }
        }
        for p in self
            .sites
            .iter()
            .filter(|p| p.retries > 0 || p.throttled > 0)
        {
            let _ = writeln!(
                o,
                "site {}: {} requests during the run, {} retried, {} throttled; in-flight limit {} (lowest {}, ceiling {}){}",
                p.site,
                p.requests,
                p.retries,
                p.throttled,
                p.limit,
                p.lowest_limit,
                p.ceiling,
                match p.holds {
                    0 => String::new(),
                    n => format!("; held {n} time(s) for the Retry-After the site asked"),
                }
            );
        }
        o
    }
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::SitePressure;

    fn ev(at_ms: u64, kind: EventKind) -> Event {
        Event { at_ms, kind }
    }

    /// Orphans and the sites' pressure, from their events to the text an
    /// operator reads: the last pressure of a site wins, an orphan settled
    /// again is listed once, and a site that needed no retry says nothing.
    #[test]
    fn orphans_and_site_pressure_reach_the_report() {
        let pressure = |site: &str, throttled: u64, lowest: usize| SitePressure {
            site: site.into(),
            requests: 40,
            retries: if throttled > 0 { throttled + 1 } else { 0 },
            throttled,
            limit: 4,
            lowest_limit: lowest,
            ceiling: 8,
            holds: throttled / 3,
        };
        let orphan = |why: &str| EventKind::Orphaned {
            instance: "tmp[2]".into(),
            action: "cinder.delete_volume".into(),
            resource: OrphanResource {
                site: Some("site-a".into()),
                kind: "volume".into(),
                id: Some("v-1".into()),
                name: Some("lb-r1-tmp-2".into()),
            },
            why: why.into(),
        };
        let r = Report::from_events(&[
            ev(
                0,
                EventKind::RunStarted {
                    run_id: "r1".into(),
                    runbook: "protect".into(),
                    started: "now".into(),
                    resumed: false,
                },
            ),
            ev(
                10,
                EventKind::SitePressure {
                    pressure: pressure("site-a", 3, 2),
                },
            ),
            ev(
                20,
                EventKind::SitePressure {
                    pressure: pressure("site-a", 9, 1),
                },
            ),
            ev(
                20,
                EventKind::SitePressure {
                    pressure: pressure("site-b", 0, 8),
                },
            ),
            ev(30, orphan("HTTP 500")),
            ev(40, orphan("HTTP 400")),
        ]);
        assert_eq!(r.sites.len(), 2);
        assert_eq!((r.sites[0].throttled, r.sites[0].lowest_limit), (9, 1));
        assert_eq!(r.orphans.len(), 1);
        assert_eq!(r.orphans[0].why, "HTTP 400");
        let text = r.render_text();
        assert!(
            text.contains("LEFT BEHIND (1): remove with `lifeboat cleanup r1`"),
            "{text}"
        );
        assert!(text.contains("volume v-1 \"lb-r1-tmp-2\" at site site-a (cinder.delete_volume, from tmp[2]): HTTP 400"), "{text}");
        assert!(text.contains("site site-a: 40 requests during the run, 10 retried, 9 throttled; in-flight limit 4 (lowest 1, ceiling 8); held 3 time(s) for the Retry-After the site asked"), "{text}");
        assert!(!text.contains("site site-b:"), "{text}");
        // JSON keeps them (the CLI's report.json).
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["orphans"][0]["kind"], "volume");
        assert_eq!(json["sites"][0]["lowest_limit"], 1);
    }

    /// Late twins reach the text and the JSON: which step's, what, where,
    /// and how they went; the steps whose twins were looked for are
    /// counted, each once.
    #[test]
    fn late_twins_reach_the_report() {
        let sought = |instance: &str, found: usize| EventKind::TwinsSought {
            instance: instance.into(),
            found,
        };
        let r = Report::from_events(&[
            ev(
                0,
                EventKind::RunStarted {
                    run_id: "r1".into(),
                    runbook: "protect".into(),
                    started: "now".into(),
                    resumed: false,
                },
            ),
            ev(10, sought("tmp[1]", 0)),
            ev(11, sought("tmp[3]", 1)),
            ev(11, sought("tmp[3]", 1)),
            ev(
                12,
                EventKind::TwinFound {
                    of: "tmp[3]".into(),
                    instance: "tmp[3]+twin-v-9".into(),
                    resource: OrphanResource {
                        site: Some("site-a".into()),
                        kind: "volume".into(),
                        id: Some("v-9".into()),
                        name: Some("lb-r1-tmp-3".into()),
                    },
                },
            ),
            ev(
                20,
                EventKind::CleanedUp {
                    instance: "tmp[3]+twin-v-9".into(),
                },
            ),
        ]);
        assert_eq!(r.uncertain, ["tmp[1]", "tmp[3]"]);
        assert_eq!(r.twins.len(), 1);
        let text = r.render_text();
        assert!(text.contains("uncertain creates (2, made again after a lost answer or retried): late twins looked for, 1 found; one landing later is found by `lifeboat cleanup r1`"), "{text}");
        assert!(text.contains("late twin of tmp[3]: volume v-9 at site site-a (a create whose lost answer landed after it was made again), disposed of by tmp[3]+twin-v-9"), "{text}");
        assert!(text.contains("cleaned up: tmp[3]+twin-v-9"), "{text}");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["twins"][0]["of"], "tmp[3]");
        assert_eq!(json["twins"][0]["id"], "v-9");
    }
}
