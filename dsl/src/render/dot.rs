//! Graphviz: quiesce scopes and loops as clusters, steps as boxes coloured by
//! kind, compensation and cleanup calls as side notes, edges styled by kind.

use super::expr::call;
use crate::estimate::Estimates;
use crate::graph::{EdgeKind, GraphNode, PlanGraph};
use crate::plan::{Effect, NodeKind, StepId};
use std::fmt::Write;

pub fn render(g: &PlanGraph<'_>) -> String {
    render_with(g, None)
}

/// With estimates: critical steps and the edges between them in red, the
/// estimated window on each quiesce cluster, compensation edges dashed, the
/// total time in the graph label.
pub fn render_with(g: &PlanGraph<'_>, est: Option<&Estimates>) -> String {
    let p = g.plan;
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", esc(&p.runbook));
    let _ = writeln!(out, "  label=\"{}\";\n  labelloc=t;\n  rankdir=TB;\n  compound=true;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];", esc(&match est {
        None => format!("{} — {}", p.runbook, p.title),
        Some(e) => format!("{} — {} (est. {}, critical path in red)", p.runbook, p.title, crate::duration::format_ms(e.total_ms)),
    }));
    block(g, est, &p.body, "  ", &mut out);
    for e in g.graph.edge_indices() {
        let Some((a, b)) = g.graph.edge_endpoints(e) else {
            continue;
        };
        let crit = |n: GraphNode| match (n, est) {
            (GraphNode::Step(s), Some(e)) => e.is_critical(&p.node(s).name),
            _ => false,
        };
        let hot = crit(g.graph[a]) && crit(g.graph[b]);
        let style = match (g.graph[e], hot, est.is_some()) {
            (EdgeKind::Data, true, _) => " [color=\"#d00000\", penwidth=2.5]",
            (EdgeKind::Data, false, _) => "",
            (EdgeKind::After, true, _) => {
                " [style=dashed, label=\"after\", color=\"#d00000\", penwidth=2.5]"
            }
            (EdgeKind::After, false, _) => " [style=dashed, label=\"after\"]",
            (EdgeKind::Contains | EdgeKind::Frozen, _, _) => continue,
            (EdgeKind::Compensates, _, true) => " [style=dashed, color=red, arrowhead=none]",
            (EdgeKind::Compensates, _, false) => " [style=dotted, color=red, arrowhead=none]",
            (EdgeKind::CleansUp, _, true) => " [style=dashed, color=blue, arrowhead=none]",
            (EdgeKind::CleansUp, _, false) => " [style=dotted, color=blue, arrowhead=none]",
        };
        let (Some(x), Some(y)) = (id(g, g.graph[a]), id(g, g.graph[b])) else {
            continue;
        };
        let _ = writeln!(out, "  {x} -> {y}{style};");
    }
    out.push_str("}\n");
    out
}

/// The drawn node of a graph node (a block is drawn through an anchor).
fn id(g: &PlanGraph<'_>, n: GraphNode) -> Option<String> {
    Some(match n {
        GraphNode::Step(s) => match g.plan.node(s).kind {
            NodeKind::Quiesce(_) | NodeKind::ForEach(_) => format!("n{}_anchor", s.0),
            _ => format!("n{}", s.0),
        },
        GraphNode::Compensation(s) => format!("n{}_comp", s.0),
        GraphNode::Cleanup(s) => format!("n{}_clean", s.0),
    })
}

fn block(
    g: &PlanGraph<'_>,
    est: Option<&Estimates>,
    ids: &[StepId],
    indent: &str,
    out: &mut String,
) {
    let p = g.plan;
    for id in ids {
        let n = p.node(*id);
        let hot = if est.is_some_and(|e| e.is_critical(&n.name)) {
            ", color=\"#d00000\", penwidth=3"
        } else {
            ""
        };
        let fan_n = || super::fan_label(p, est, *id);
        match &n.kind {
            NodeKind::Action(a) => {
                let color = match a.call.effect {
                    Effect::Read => "#e8f4ff",
                    Effect::Mutate => "#fff4d6",
                    Effect::Destroy => "#ffd9d9",
                };
                let fan = if g.is_dynamic(*id) {
                    format!(" {}", fan_n())
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "{indent}n{} [label=\"{}{fan}\\n{} ({})\", fillcolor=\"{color}\"{hot}];",
                    id.0,
                    esc(&n.name),
                    esc(&a.call.action),
                    a.call.effect
                );
                if let Some(c) = &a.compensate {
                    let _ = writeln!(out, "{indent}n{}_comp [label=\"compensate\\n{}\", shape=note, style=filled, fillcolor=\"#fbe3e3\"];", id.0, esc(&call(p, c)));
                }
                if let Some(c) = &a.cleanup {
                    let _ = writeln!(out, "{indent}n{}_clean [label=\"cleanup\\n{}\", shape=note, style=filled, fillcolor=\"#e3ebfb\"];", id.0, esc(&call(p, c)));
                }
            }
            NodeKind::Approve(_) => {
                let _ = writeln!(
                    out,
                    "{indent}n{} [label=\"{}\\napprove\", shape=octagon, fillcolor=\"#ffe9b3\"{hot}];",
                    id.0,
                    esc(&n.name)
                );
            }
            NodeKind::Quiesce(q) => {
                let _ = writeln!(out, "{indent}subgraph cluster_n{} {{", id.0);
                let window = est
                    .and_then(|e| e.quiesce.iter().find(|w| w.step == n.name))
                    .map(|w| {
                        format!(
                            " — est. window {}{}",
                            crate::duration::format_ms(w.window_ms),
                            if w.exceeds_within { " EXCEEDS" } else { "" }
                        )
                    })
                    .unwrap_or_default();
                let _ = writeln!(out, "{indent}  label=\"{}: frozen by {} within {}{}{}\";\n{indent}  style=filled;\n{indent}  fillcolor=\"#eef7ee\";", esc(&n.name), esc(&super::expr::expr(p, &q.method)), crate::duration::format_ms(q.within_ms), super::scope_retry(q), esc(&window));
                let _ = writeln!(
                    out,
                    "{indent}  n{}_anchor [label=\"freeze {}\", shape=cds, fillcolor=\"#d3ecd3\"{hot}];",
                    id.0,
                    esc(&super::expr::expr(p, &q.targets))
                );
                block(g, est, &q.body, &format!("{indent}  "), out);
                let _ = writeln!(out, "{indent}}}");
            }
            NodeKind::ForEach(f) => {
                let _ = writeln!(out, "{indent}subgraph cluster_n{} {{", id.0);
                let count = match est.and_then(|e| e.steps.get(&n.name)) {
                    Some(s) => match (s.count, s.count_resolved) {
                        (Some(c), Some(true)) => format!("×{c}"),
                        (Some(c), _) => format!("×{c} (assumed)"),
                        _ => "×N (at run time)".into(),
                    },
                    None => "×N (at run time)".into(),
                };
                let _ = writeln!(out, "{indent}  label=\"{}: for {} in {} {count}, parallel {}\";\n{indent}  style=dashed;", esc(&n.name), esc(&f.var), esc(&super::expr::expr(p, &f.over)), f.parallel);
                let _ = writeln!(out, "{indent}  n{}_anchor [label=\"each {}\", shape=circle, fillcolor=\"#f0f0f0\"{hot}];", id.0, esc(&f.var));
                block(g, est, &f.body, &format!("{indent}  "), out);
                let _ = writeln!(out, "{indent}}}");
            }
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
