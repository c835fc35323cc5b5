//! `lifeboat plan --resolve`: the plan resolved against the cloud before a
//! run, touching nothing.
//!
//! - discovery is the executor's own walk in its read-only mode
//!   ([`lifeboat_exec::discover`]): only steps whose catalogue kind is
//!   `read` are called, and only when nothing they wait for changes the
//!   cloud first; every fan-out over what was found is expanded;
//! - the shape of what mutating steps would make, so fan-outs over it (one
//!   snapshot per volume found) get their real count: each action's
//!   projection, bound beside it in the action registry
//!   ([`lifeboat_actions::projection`]), given to discovery;
//! - [`labels`]: short labels of what was found.
//! - the pre-run checks (untagged servers, group capability, quota at the
//!   backup site, missing manifest, quiesce method) as findings: each
//!   action's check, bound beside it in the action registry
//!   ([`lifeboat_actions::prerun`]).
//! - this file: the result ([`Resolution`]), what it tells the estimator
//!   ([`Resolution::known`]) and how it is printed (text and JSON).
//!
//! The flow stays one-way: the walk talks to the cloud through the
//! executor's `Actions` trait (the same implementation a run uses), the
//! checks are `lifeboat_actions::prerun`'s (GETs only); nothing here is
//! seen by the dsl or the executor.

pub mod labels;

use labels::{label, label_with};
pub use lifeboat_actions::prerun::{Finding, Severity};
use lifeboat_actions::OpenStackActions;
use lifeboat_dsl::estimate::Known;
use lifeboat_dsl::plan::{NodeKind, Plan};
pub use lifeboat_exec::discover::{Discovery, LoopInstance, State};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

pub struct Resolution {
    pub discovery: Discovery,
    pub findings: Vec<Finding>,
}

/// Discover, then check.
pub async fn resolve(
    plan: &Plan,
    params: &Map<String, Value>,
    acts: &OpenStackActions,
) -> Resolution {
    let projection = lifeboat_exec::discover::Projection {
        project: lifeboat_actions::projection::project,
        is_projection: lifeboat_actions::projection::is_planned,
    };
    let discovery = lifeboat_exec::discover::discover(plan, params, acts, projection).await;
    let findings = lifeboat_actions::prerun::run(plan, &discovery, acts).await;
    Resolution {
        discovery,
        findings,
    }
}

impl Resolution {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Fan-out counts (the largest instance of each loop) and quiesce
    /// groups (the first scope instance with known targets) for the estimate.
    pub fn known(&self) -> Known {
        let mut k = Known::default();
        for (id, instances) in &self.discovery.loops {
            if let Some(n) = instances.iter().filter_map(|l| l.count).max() {
                k.counts.insert(*id, n);
            }
        }
        for s in &self.discovery.scopes {
            if let Some(g) = &s.groups {
                k.groups.entry(s.node).or_insert_with(|| {
                    g.iter().map(|(n, t)| (n.clone(), t.len() as u32)).collect()
                });
            }
        }
        k
    }

    /// Per step: how many instances, in which states, with short labels of
    /// what reads found.
    fn steps(&self, plan: &Plan) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = Vec::new();
        for i in &self.discovery.instances {
            let name = &plan.node(i.node).name;
            let k = match out.iter().position(|(n, _)| n == name) {
                Some(k) => k,
                None => {
                    out.push((
                        name.clone(),
                        json!({"action": i.action, "instances": 0, "states": {}, "found": []}),
                    ));
                    out.len() - 1
                }
            };
            let e = &mut out[k].1;
            e["instances"] = json!(e["instances"].as_u64().unwrap_or(0) + 1);
            let st = serde_json::to_value(i.state).unwrap_or(Value::Null);
            let key = st.as_str().unwrap_or("unknown").to_string();
            e["states"][&key] = json!(e["states"][&key].as_u64().unwrap_or(0) + 1);
            if i.state == State::Read {
                if let (Some(v), Some(found)) = (&i.value, e["found"].as_array_mut()) {
                    match v {
                        Value::Array(items) => {
                            found.extend(items.iter().map(|x| json!(describe(x))))
                        }
                        other => found.push(json!(describe(other))),
                    }
                }
            }
        }
        out
    }

    /// The `resolved` object of the JSON plan.
    pub fn to_json(&self, plan: &Plan) -> Value {
        let names = labels::names(&self.discovery);
        let loops: BTreeMap<String, Value> = self
            .discovery
            .loops
            .iter()
            .map(|(id, inst)| {
                (
                    plan.node(*id).name.clone(),
                    json!({
                        "counts": inst.iter().map(|l| json!(l.count)).collect::<Vec<_>>(),
                        "items": inst.iter().flat_map(|l| &l.items).map(|i| label_with(i, &names)).collect::<Vec<_>>(),
                    }),
                )
            })
            .collect();
        json!({
            "read_calls": self.discovery.calls,
            "steps": self.steps(plan).into_iter().collect::<Map<String, Value>>(),
            "loops": loops,
            "quiesce": self.discovery.scopes.iter().map(|s| json!({
                "step": s.instance,
                "method": s.method,
                "site": s.site,
                "groups": s.groups.as_ref().map(|g| g.iter().map(|(n, t)| json!({"group": n, "targets": t.iter().map(label).collect::<Vec<_>>()})).collect::<Vec<_>>()),
            })).collect::<Vec<_>>(),
            "findings": self.findings,
        })
    }

    /// Lines for the text plan and the HTML page's notes.
    pub fn lines(&self, plan: &Plan) -> Vec<String> {
        let mut out = Vec::new();
        out.push(format!(
            "resolved against the cloud ({} read call(s); nothing was changed):",
            self.discovery.calls
        ));
        for (name, s) in self.steps(plan) {
            let states: Vec<String> = s["states"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{v} {k}")).collect())
                .unwrap_or_default();
            let mut l = format!(
                "  {name} ({}): {}",
                s["action"].as_str().unwrap_or(""),
                states.join(", ")
            );
            if let Some(found) = s["found"].as_array().filter(|f| !f.is_empty()) {
                let shown: Vec<&str> = found.iter().take(12).filter_map(Value::as_str).collect();
                let _ = write!(
                    l,
                    " — found {}: {}{}",
                    found.len(),
                    shown.join(", "),
                    if found.len() > 12 { ", …" } else { "" }
                );
            }
            out.push(l);
        }
        let names = labels::names(&self.discovery);
        let mut loops: Vec<(&lifeboat_dsl::plan::StepId, &Vec<LoopInstance>)> =
            self.discovery.loops.iter().collect();
        loops.sort_by_key(|(id, _)| id.0);
        for (id, inst) in loops {
            let node = plan.node(*id);
            let over = match &node.kind {
                NodeKind::ForEach(f) => lifeboat_dsl::render::expr::expr(plan, &f.over),
                _ => String::new(),
            };
            let counts: Vec<String> = inst
                .iter()
                .map(|l| l.count.map(|n| n.to_string()).unwrap_or_else(|| "?".into()))
                .collect();
            let items: Vec<String> = inst
                .iter()
                .flat_map(|l| &l.items)
                .map(|i| label_with(i, &names))
                .collect();
            let shown: Vec<&str> = items.iter().take(12).map(String::as_str).collect();
            out.push(format!(
                "  fan-out {} over {over}: ×{}{}",
                node.name,
                counts.join(" + "),
                if shown.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({}{})",
                        shown.join(", "),
                        if items.len() > 12 { ", …" } else { "" }
                    )
                }
            ));
        }
        for s in &self.discovery.scopes {
            match &s.groups {
                Some(g) => out.push(format!(
                    "  quiesce {} via {}: freeze {}; thaw in reverse",
                    s.instance,
                    s.method.as_deref().unwrap_or("?"),
                    g.iter()
                        .map(|(n, t)| format!(
                            "{n} [{}]",
                            t.iter().map(label).collect::<Vec<_>>().join(", ")
                        ))
                        .collect::<Vec<_>>()
                        .join(" → ")
                )),
                None => out.push(format!(
                    "  quiesce {}: targets unknown before the run",
                    s.instance
                )),
            }
        }
        if self.findings.is_empty() {
            out.push("  pre-run checks: no problem found".into());
        } else {
            out.push(format!(
                "  pre-run checks: {} problem(s):",
                self.findings.len()
            ));
            for f in &self.findings {
                out.push(format!("    {}", f.line()));
            }
        }
        out
    }
}

/// A record in a few words: its label, plus role / size / type when it has them.
fn describe(v: &Value) -> String {
    let mut s = label(v);
    let extra: Vec<String> = [("role", ""), ("size_gb", " GB"), ("volume_type", "")]
        .iter()
        .filter_map(|(k, unit)| match v.get(*k) {
            Some(Value::String(x)) if !x.is_empty() => Some(format!("{x}{unit}")),
            Some(Value::Number(n)) => Some(format!("{n}{unit}")),
            _ => None,
        })
        .collect();
    if !extra.is_empty() {
        let _ = write!(s, " ({})", extra.join(", "));
    }
    s
}
