//! The JSON plan: the [`Plan`] itself (with `schema_version`) plus the graph's
//! edges by node name. The schema is documented in docs/language.md.

use crate::estimate::Estimates;
use crate::graph::{NamedEdge, PlanGraph};
use crate::plan::Plan;
use serde::Serialize;

#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    edges: Vec<NamedEdge>,
    #[serde(skip_serializing_if = "Option::is_none")]
    estimates: Option<&'a Estimates>,
}

pub fn render(g: &PlanGraph<'_>) -> String {
    render_with(g, None)
}

/// With `estimates` as a separate top-level object (see docs/plan-view.md).
pub fn render_with(g: &PlanGraph<'_>, estimates: Option<&Estimates>) -> String {
    let doc = Document {
        plan: g.plan,
        edges: g.edges(),
        estimates,
    };
    match serde_json::to_string_pretty(&doc) {
        Ok(s) => s + "\n",
        Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
    }
}
