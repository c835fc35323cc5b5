//! Graphviz: quiesce scopes and loops as clusters, steps as boxes coloured by
//! kind, compensation and cleanup calls as side notes, edges styled by kind.

use super::expr::call;
use crate::graph::{EdgeKind, GraphNode, PlanGraph};
use crate::plan::{Effect, NodeKind, StepId};
use std::fmt::Write;

pub fn render(g: &PlanGraph<'_>) -> String {
    let p = g.plan;
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", esc(&p.runbook));
    let _ = writeln!(out, "  label=\"{}\";\n  labelloc=t;\n  rankdir=TB;\n  compound=true;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];", esc(&format!("{} — {}", p.runbook, p.title)));
    block(g, &p.body, "  ", &mut out);
    for e in g.graph.edge_indices() {
        let Some((a, b)) = g.graph.edge_endpoints(e) else {
            continue;
        };
        let style = match g.graph[e] {
            EdgeKind::Data => "",
            EdgeKind::After => " [style=dashed, label=\"after\"]",
            EdgeKind::Contains | EdgeKind::Frozen => continue,
            EdgeKind::Compensates => " [style=dotted, color=red, arrowhead=none]",
            EdgeKind::CleansUp => " [style=dotted, color=blue, arrowhead=none]",
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

fn block(g: &PlanGraph<'_>, ids: &[StepId], indent: &str, out: &mut String) {
    let p = g.plan;
    for id in ids {
        let n = p.node(*id);
        match &n.kind {
            NodeKind::Action(a) => {
                let color = match a.call.effect {
                    Effect::Read => "#e8f4ff",
                    Effect::Mutate => "#fff4d6",
                    Effect::Destroy => "#ffd9d9",
                };
                let fan = if g.is_dynamic(*id) { " ×N" } else { "" };
                let _ = writeln!(
                    out,
                    "{indent}n{} [label=\"{}{fan}\\n{} ({})\", fillcolor=\"{color}\"];",
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
                    "{indent}n{} [label=\"{}\\napprove\", shape=octagon, fillcolor=\"#ffe9b3\"];",
                    id.0,
                    esc(&n.name)
                );
            }
            NodeKind::Quiesce(q) => {
                let _ = writeln!(out, "{indent}subgraph cluster_n{} {{", id.0);
                let _ = writeln!(out, "{indent}  label=\"{}: frozen by {} within {}\";\n{indent}  style=filled;\n{indent}  fillcolor=\"#eef7ee\";", esc(&n.name), esc(&super::expr::expr(p, &q.method)), crate::duration::format_ms(q.within_ms));
                let _ = writeln!(
                    out,
                    "{indent}  n{}_anchor [label=\"freeze {}\", shape=cds, fillcolor=\"#d3ecd3\"];",
                    id.0,
                    esc(&super::expr::expr(p, &q.targets))
                );
                block(g, &q.body, &format!("{indent}  "), out);
                let _ = writeln!(out, "{indent}}}");
            }
            NodeKind::ForEach(f) => {
                let _ = writeln!(out, "{indent}subgraph cluster_n{} {{", id.0);
                let _ = writeln!(out, "{indent}  label=\"{}: for {} in {} ×N (at run time), parallel {}\";\n{indent}  style=dashed;", esc(&n.name), esc(&f.var), esc(&super::expr::expr(p, &f.over)), f.parallel);
                let _ = writeln!(out, "{indent}  n{}_anchor [label=\"each {}\", shape=circle, fillcolor=\"#f0f0f0\"];", id.0, esc(&f.var));
                block(g, &f.body, &format!("{indent}  "), out);
                let _ = writeln!(out, "{indent}}}");
            }
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
