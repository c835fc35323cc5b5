//! The JSON plan: the [`Plan`] itself (with `schema_version`) plus the graph's
//! edges by node name. The schema is documented in docs/language.md.

use crate::graph::{NamedEdge, PlanGraph};
use crate::plan::Plan;
use serde::Serialize;

#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    edges: Vec<NamedEdge>,
}

pub fn render(g: &PlanGraph<'_>) -> String {
    let doc = Document {
        plan: g.plan,
        edges: g.edges(),
    };
    match serde_json::to_string_pretty(&doc) {
        Ok(s) => s + "\n",
        Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
    }
}
