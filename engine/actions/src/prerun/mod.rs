//! The pre-run checks of `lifeboat plan --resolve`: what discovery found
//! (the executor's read-only walk) judged before a run, each judgement a
//! [`Finding`]. Every call they make is a GET ([`facts`]).
//!
//! A check that concerns one action is written beside the action and bound
//! in the registry (`Binding::checks`): it sees each instance discovery
//! read, planned or failed to read, and for a freeze action each quiesce
//! scope whose method freezes with it. What concerns no action in
//! particular is here: a read that failed with no check to explain it
//! (`discovery`), an expression that cannot be evaluated with the values
//! found (`expression`), an unknown quiesce method and a scope with nothing
//! to freeze.
//!
//! The checks, by name (`Finding::check`): `untagged-server`, `no-targets`
//! (`nova.find_servers`), `group-capability` (`cinder.ensure_group`),
//! `quota` and `manifest` (`lifeboat.read_manifest`,
//! `lifeboat.write_manifest`), `target` (`lifeboat.check_target`),
//! `mapping` (`lifeboat.read_mapping`, `lifeboat.apply_mapping`),
//! `quiesce-method` (the freeze actions `nova.quiesce`,
//! `lifeboat.hook_freeze`), `discovery`, `expression`.

pub mod facts;

pub use facts::{GroupFacts, ServerFacts, TypeFacts, VolumeLimits};

use crate::OpenStackActions;
use lifeboat_dsl::plan::Plan;
use lifeboat_exec::discover::{Discovery, State};
use serde::Serialize;
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// A problem found before the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// The check's name (the module doc lists them).
    pub check: String,
    pub step: Option<String>,
    pub site: Option<String>,
    pub message: String,
    pub hint: String,
}

impl Finding {
    pub fn new(
        severity: Severity,
        check: &str,
        step: Option<&str>,
        site: Option<&str>,
        message: String,
        hint: &str,
    ) -> Finding {
        Finding {
            severity,
            check: check.into(),
            step: step.map(str::to_string),
            site: site.filter(|s| !s.is_empty()).map(str::to_string),
            message,
            hint: hint.into(),
        }
    }

    pub fn line(&self) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let at = match (&self.step, &self.site) {
            (Some(s), Some(site)) => format!(" [{s} @ {site}]"),
            (Some(s), None) => format!(" [{s}]"),
            (None, Some(site)) => format!(" [@ {site}]"),
            (None, None) => String::new(),
        };
        format!(
            "{sev} ({}){at}: {} — {}",
            self.check, self.message, self.hint
        )
    }
}

/// What discovery learnt of one step instance (or, for a freeze action,
/// one quiesce scope), as a check sees it.
pub struct Seen<'a> {
    pub plan: &'a Plan,
    pub acts: &'a OpenStackActions,
    /// The step instance (or scope instance) name.
    pub instance: &'a str,
    pub site: Option<&'a str>,
    /// The call's arguments (a scope: its method's arguments).
    pub args: &'a Map<String, Value>,
    pub found: Found<'a>,
}

/// What became of the instance during discovery.
pub enum Found<'a> {
    /// A read step called: its result.
    Read(&'a Value),
    /// A step not called: its projected result, if it has one.
    Planned(Option<&'a Value>),
    /// A read step that failed: the error's text.
    Failed(&'a str),
    /// A quiesce scope whose method (named here) freezes with this action.
    Freeze { method: &'a str },
}

impl Seen<'_> {
    /// String argument `k`, or "".
    pub fn arg(&self, k: &str) -> &str {
        self.args.get(k).and_then(Value::as_str).unwrap_or("")
    }

    pub fn step(&self) -> Option<&str> {
        Some(self.instance)
    }
}

/// A check's future.
pub(crate) type CheckFut<'a> = Pin<Box<dyn Future<Output = Vec<Finding>> + Send + 'a>>;
/// A check bound to an action.
pub(crate) type Check = for<'a> fn(&'a Seen<'a>) -> CheckFut<'a>;

/// Every check on what discovery found, in the order: read failures,
/// expressions, each instance's action's checks, each scope's.
pub async fn run(plan: &Plan, d: &Discovery, acts: &OpenStackActions) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let empty = Map::new();
    let check_of = |action: &str| crate::registry::binding(action).and_then(|b| b.check);
    for f in &d.failures {
        let args = d
            .instances
            .iter()
            .find(|i| i.instance == f.instance)
            .map(|i| &i.args)
            .unwrap_or(&empty);
        let seen = Seen {
            plan,
            acts,
            instance: &f.instance,
            site: f.site.as_deref(),
            args,
            found: Found::Failed(&f.message),
        };
        let said = match check_of(&f.action) {
            Some(check) => check(&seen).await,
            None => Vec::new(),
        };
        if said.is_empty() {
            out.push(Finding::new(
                Severity::Error,
                "discovery",
                Some(&f.instance),
                f.site.as_deref(),
                f.message.clone(),
                "check that the site is reachable and the credentials are right",
            ));
        }
        out.extend(said);
    }
    for f in &d.invalid {
        out.push(Finding::new(
            Severity::Error,
            "expression",
            Some(&f.instance),
            None,
            format!("the run would fail here: {} cannot be evaluated with the values found: {}", f.what, f.message),
            "check the parameters, and that the records the cloud returns carry the fields the runbook reads",
        ));
    }
    for i in &d.instances {
        let Some(check) = check_of(&i.action) else {
            continue;
        };
        let found = match (i.state, i.value.as_ref()) {
            (State::Read, Some(value)) => Found::Read(value),
            (State::Planned, value) => Found::Planned(value),
            _ => continue,
        };
        let seen = Seen {
            plan,
            acts,
            instance: &i.instance,
            site: i.site.as_deref(),
            args: &i.args,
            found,
        };
        out.extend(check(&seen).await);
    }
    for s in &d.scopes {
        let step = Some(s.instance.as_str());
        let Some(name) = &s.method else { continue };
        let Some(m) = plan.quiesce_method(name) else {
            let known: Vec<&str> = plan
                .quiesce_methods
                .iter()
                .map(|m| m.name.as_str())
                .collect();
            out.push(Finding::new(
                Severity::Error,
                "quiesce-method",
                step,
                s.site.as_deref(),
                format!(
                    "unknown quiesce method `{name}` (known: {})",
                    known.join(", ")
                ),
                "pass one of the known methods",
            ));
            continue;
        };
        if let Some(check) = check_of(&m.freeze) {
            let seen = Seen {
                plan,
                acts,
                instance: &s.instance,
                site: s.site.as_deref(),
                args: &s.method_args,
                found: Found::Freeze { method: name },
            };
            out.extend(check(&seen).await);
        }
        if s.groups.as_ref().is_some_and(|g| g.is_empty()) {
            out.push(Finding::new(
                Severity::Warning,
                "no-targets",
                step,
                s.site.as_deref(),
                "the quiesce scope has no server to freeze".into(),
                "check the servers the runbook finds",
            ));
        }
    }
    // One finding per problem: instances of one step in a loop may find
    // the same one.
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert((f.check.clone(), f.site.clone(), f.message.clone())));
    out
}
