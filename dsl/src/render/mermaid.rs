//! Mermaid flowchart: quiesce scopes and loops as subgraphs, steps as boxes
//! (approvals as diamonds), edges by kind (data solid, after dashed,
//! compensation and cleanup dotted to side nodes). With estimates it carries
//! what the DOT output does: kind colours (classes), quiesce subgraphs
//! shaded green (red when the window exceeds `within`), loop subgraphs
//! dashed with their item count, the critical path in red (steps, the
//! blocks on it, and the links between critical steps).

use super::expr::{call, expr};
use crate::estimate::Estimates;
use crate::graph::{EdgeKind, GraphNode, PlanGraph};
use crate::plan::{NodeKind, StepId};
use std::fmt::Write;

pub fn render(g: &PlanGraph<'_>) -> String {
    render_with(g, None)
}

/// With estimates: classes for the kinds (read/mutate/destroy colours), the
/// critical steps and the links between them in red, the estimated window in
/// each quiesce subgraph's title.
pub fn render_with(g: &PlanGraph<'_>, est: Option<&Estimates>) -> String {
    let p = g.plan;
    let mut out = String::from("flowchart TD\n");
    block(g, est, &p.body, "  ", &mut out);
    let mut link = 0usize;
    let mut hot_links = Vec::new();
    for e in g.graph.edge_indices() {
        let Some((a, b)) = g.graph.edge_endpoints(e) else {
            continue;
        };
        let arrow = match g.graph[e] {
            EdgeKind::Data => "-->",
            EdgeKind::After => "-. after .->",
            EdgeKind::Contains | EdgeKind::Frozen => continue,
            EdgeKind::Compensates => "-. compensate .-",
            EdgeKind::CleansUp => "-. cleanup .-",
        };
        let crit = |n: GraphNode| match (n, est) {
            (GraphNode::Step(s), Some(x)) => x.is_critical(&p.node(s).name),
            _ => false,
        };
        if crit(g.graph[a]) && crit(g.graph[b]) {
            hot_links.push(link.to_string());
        }
        link += 1;
        let _ = writeln!(out, "  {} {arrow} {}", id(g.graph[a]), id(g.graph[b]));
    }
    if let Some(e) = est {
        out.push_str("  classDef read fill:#e8f4ff,stroke:#777\n  classDef mutate fill:#fff4d6,stroke:#777\n  classDef destroy fill:#ffd9d9,stroke:#777\n  classDef critical stroke:#d00000,stroke-width:3px\n");
        for kind in ["read", "mutate", "destroy"] {
            let ids: Vec<String> = p
                .action_steps()
                .filter(|(_, a)| a.call.effect.to_string() == kind)
                .map(|(n, _)| format!("n{}", n.id.0))
                .collect();
            if !ids.is_empty() {
                let _ = writeln!(out, "  class {} {kind}", ids.join(","));
            }
        }
        let crit: Vec<String> = p
            .nodes
            .iter()
            .filter(|n| {
                e.is_critical(&n.name)
                    && matches!(n.kind, NodeKind::Action(_) | NodeKind::Approve(_))
            })
            .map(|n| format!("n{}", n.id.0))
            .collect();
        if !crit.is_empty() {
            let _ = writeln!(out, "  class {} critical", crit.join(","));
        }
        let approvals: Vec<String> = p
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Approve(_)))
            .map(|n| format!("n{}", n.id.0))
            .collect();
        if !approvals.is_empty() {
            let _ = writeln!(
                out,
                "  classDef approve fill:#ffe9b3,stroke:#777\n  class {} approve",
                approvals.join(",")
            );
        }
        for n in &p.nodes {
            let red = if e.is_critical(&n.name) {
                ",stroke:#d00000,stroke-width:3px"
            } else {
                ""
            };
            match &n.kind {
                NodeKind::Quiesce(_) => {
                    let exceeds = e
                        .quiesce
                        .iter()
                        .any(|q| q.step == n.name && q.exceeds_within);
                    let fill = if exceeds {
                        "fill:#fbe1e1"
                    } else {
                        "fill:#eef7ee"
                    };
                    let _ = writeln!(
                        out,
                        "  style n{} {fill}{}",
                        n.id.0,
                        if red.is_empty() { ",stroke:#7a7" } else { red }
                    );
                }
                NodeKind::ForEach(_) => {
                    let _ = writeln!(
                        out,
                        "  style n{} fill:none,stroke-dasharray:6 4{}",
                        n.id.0,
                        if red.is_empty() { ",stroke:#999" } else { red }
                    );
                }
                _ => {}
            }
        }
        if !hot_links.is_empty() {
            let _ = writeln!(
                out,
                "  linkStyle {} stroke:#d00000,stroke-width:3px",
                hot_links.join(",")
            );
        }
    }
    out
}

fn id(n: GraphNode) -> String {
    match n {
        GraphNode::Step(s) => format!("n{}", s.0),
        GraphNode::Compensation(s) => format!("n{}_comp", s.0),
        GraphNode::Cleanup(s) => format!("n{}_clean", s.0),
    }
}

fn block(
    g: &PlanGraph<'_>,
    est: Option<&Estimates>,
    ids: &[StepId],
    indent: &str,
    out: &mut String,
) {
    let p = g.plan;
    for sid in ids {
        let n = p.node(*sid);
        match &n.kind {
            NodeKind::Action(a) => {
                let fan = if g.is_dynamic(*sid) {
                    format!(" {}", super::fan_label(p, est, *sid))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{indent}n{}[\"{}{fan}<br/>{} ({})\"]",
                    sid.0,
                    esc(&n.name),
                    esc(&a.call.action),
                    a.call.effect
                );
                if let Some(c) = &a.compensate {
                    let _ = writeln!(
                        out,
                        "{indent}n{}_comp>\"compensate: {}\"]",
                        sid.0,
                        esc(&call(p, c))
                    );
                }
                if let Some(c) = &a.cleanup {
                    let _ = writeln!(
                        out,
                        "{indent}n{}_clean>\"cleanup: {}\"]",
                        sid.0,
                        esc(&call(p, c))
                    );
                }
            }
            NodeKind::Approve(a) => {
                let _ = writeln!(
                    out,
                    "{indent}n{}{{\"approve: {}\"}}",
                    sid.0,
                    esc(&expr(p, &a.prompt))
                );
            }
            NodeKind::Quiesce(q) => {
                let _ = writeln!(
                    out,
                    "{indent}subgraph n{}[\"{}: frozen via {} within {}{}{}\"]",
                    sid.0,
                    esc(&n.name),
                    esc(&expr(p, &q.method)),
                    crate::duration::format_ms(q.within_ms),
                    super::scope_retry(q),
                    est.and_then(|e| e.quiesce.iter().find(|w| w.step == n.name))
                        .map(|w| format!(
                            " — est. window {}{}",
                            crate::duration::format_ms(w.window_ms),
                            if w.exceeds_within { " EXCEEDS" } else { "" }
                        ))
                        .unwrap_or_default()
                );
                block(g, est, &q.body, &format!("{indent}  "), out);
                let _ = writeln!(out, "{indent}end");
            }
            NodeKind::ForEach(f) => {
                let _ = writeln!(
                    out,
                    "{indent}subgraph n{}[\"{}: for {} in {} {}, parallel {}\"]",
                    sid.0,
                    esc(&n.name),
                    esc(&f.var),
                    esc(&expr(p, &f.over)),
                    match est
                        .and_then(|e| e.steps.get(&n.name))
                        .and_then(|s| s.count.map(|c| (c, s.count_resolved == Some(true))))
                    {
                        Some((c, true)) => format!("×{c}"),
                        Some((c, false)) => format!("×{c} (assumed)"),
                        None => "×N (at run time)".into(),
                    },
                    f.parallel
                );
                block(g, est, &f.body, &format!("{indent}  "), out);
                let _ = writeln!(out, "{indent}end");
            }
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}
