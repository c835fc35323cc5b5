//! Mermaid flowchart: quiesce scopes and loops as subgraphs, steps as boxes
//! (approvals as diamonds), edges by kind (data solid, after dashed,
//! compensation and cleanup dotted to side nodes).

use super::expr::{call, expr};
use crate::graph::{EdgeKind, GraphNode, PlanGraph};
use crate::plan::{NodeKind, StepId};
use std::fmt::Write;

pub fn render(g: &PlanGraph<'_>) -> String {
    let p = g.plan;
    let mut out = String::from("flowchart TD\n");
    block(g, &p.body, "  ", &mut out);
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
        let _ = writeln!(out, "  {} {arrow} {}", id(g.graph[a]), id(g.graph[b]));
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

fn block(g: &PlanGraph<'_>, ids: &[StepId], indent: &str, out: &mut String) {
    let p = g.plan;
    for sid in ids {
        let n = p.node(*sid);
        match &n.kind {
            NodeKind::Action(a) => {
                let fan = if g.is_dynamic(*sid) { " ×N" } else { "" };
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
                    "{indent}subgraph n{}[\"{}: frozen via {} within {}\"]",
                    sid.0,
                    esc(&n.name),
                    esc(&expr(p, &q.method)),
                    crate::duration::format_ms(q.within_ms)
                );
                block(g, &q.body, &format!("{indent}  "), out);
                let _ = writeln!(out, "{indent}end");
            }
            NodeKind::ForEach(f) => {
                let _ = writeln!(
                    out,
                    "{indent}subgraph n{}[\"{}: for {} in {} ×N (at run time), parallel {}\"]",
                    sid.0,
                    esc(&n.name),
                    esc(&f.var),
                    esc(&expr(p, &f.over)),
                    f.parallel
                );
                block(g, &f.body, &format!("{indent}  "), out);
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
