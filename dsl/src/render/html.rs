//! One self-contained HTML page (inline CSS, JS and SVG; nothing fetched)
//! that draws the plan: steps coloured by kind, quiesce windows as shaded
//! regions, loops as dashed regions that expand and collapse on click,
//! compensation and cleanup calls as dashed side notes, the critical path in
//! red, and a side panel with a step's inputs and attributes.
//!
//! The page lays the DAG out itself (longest-path layering, barycentric
//! ordering within layers) from the plan data embedded as JSON. When the
//! script has built the drawing it sets `data-ready="ok"` on `<body>` (or
//! `data-ready="error"` with the messages in `data-errors`), so a headless
//! browser can check it.
//!
//! [`render_run`] draws the same page plus a Gantt-like timeline of a run
//! from per-step timings.

use super::expr::{call, expr};
use crate::duration::format_ms;
use crate::estimate::Estimates;
use crate::graph::{EdgeKind, GraphNode, PlanGraph};
use crate::plan::{NodeKind, StepId};
use serde::Serialize;
use serde_json::{json, Value};

/// How one step instance of a run went (`b[2]` for the third iteration of
/// step `b`; the part before `[` names the plan step).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepTiming {
    pub step: String,
    /// From the start of the run.
    pub start_ms: u64,
    pub end_ms: u64,
    /// `ok`, `failed`, `skipped`, `compensated`, … (drawn by colour).
    pub outcome: String,
}

/// The plan page. `notes` are findings shown above the drawing (e.g. from
/// `lifeboat plan --resolve`).
pub fn render(g: &PlanGraph<'_>, est: Option<&Estimates>, notes: &[String]) -> String {
    page(data(g, est, notes, None))
}

/// The plan page with the timeline of a run (for `lifeboat show RUN --format html`).
pub fn render_run(g: &PlanGraph<'_>, est: Option<&Estimates>, timings: &[StepTiming]) -> String {
    render_run_with_notes(g, est, timings, &[])
}

/// [`render_run`] with lines shown above the drawing (the run's outcome,
/// duration, RTO, …). A timing whose outcome is `frozen` is a quiesce
/// target's window, from its freeze to its thaw.
pub fn render_run_with_notes(
    g: &PlanGraph<'_>,
    est: Option<&Estimates>,
    timings: &[StepTiming],
    notes: &[String],
) -> String {
    page(data(g, est, notes, Some(timings)))
}

fn data(
    g: &PlanGraph<'_>,
    est: Option<&Estimates>,
    notes: &[String],
    run: Option<&[StepTiming]>,
) -> Value {
    let p = g.plan;
    let nodes: Vec<Value> = p
        .nodes
        .iter()
        .map(|n| {
            let mut v = json!({
                "id": n.id.0,
                "name": n.name,
                "parent": n.parent.map(|x| x.0),
                "deps": n.deps.iter().map(|d| json!({"on": d.on.0, "reason": d.reason})).collect::<Vec<_>>(),
                "when": n.when.as_ref().map(|w| expr(p, w)),
                "dynamic": g.is_dynamic(n.id),
                "line": n.span.line,
                "est": est.and_then(|e| e.steps.get(&n.name)),
            });
            let o = v.as_object_mut().expect("object");
            match &n.kind {
                NodeKind::Action(a) => {
                    o.insert("kind".into(), json!("action"));
                    o.insert("effect".into(), json!(a.call.effect));
                    o.insert("action".into(), json!(a.call.action));
                    o.insert("call".into(), json!(call(p, &a.call)));
                    o.insert(
                        "args".into(),
                        json!(a.call.args.iter().map(|x| [x.name.clone(), expr(p, &x.value)]).collect::<Vec<_>>()),
                    );
                    o.insert("result".into(), json!(a.result.to_string()));
                    o.insert("retry".into(), json!(format!("{} (backoff {})", a.retry.retries, format_ms(a.retry.backoff_ms))));
                    o.insert("timeout".into(), json!(format_ms(a.timeout_ms)));
                    o.insert("compensate".into(), json!(a.compensate.as_ref().map(|c| call(p, c))));
                    o.insert("cleanup".into(), json!(a.cleanup.as_ref().map(|c| call(p, c))));
                }
                NodeKind::Approve(a) => {
                    o.insert("kind".into(), json!("approve"));
                    o.insert("prompt".into(), json!(expr(p, &a.prompt)));
                }
                NodeKind::Quiesce(q) => {
                    o.insert("kind".into(), json!("quiesce"));
                    o.insert("targets".into(), json!(expr(p, &q.targets)));
                    o.insert("by".into(), json!(q.by));
                    o.insert("order".into(), json!(expr(p, &q.order)));
                    o.insert("method".into(), json!(expr(p, &q.method)));
                    o.insert("within".into(), json!(format_ms(q.within_ms)));
                    if let Some(r) = q.retry {
                        o.insert("retry".into(), json!(r.retries));
                        o.insert("backoff".into(), json!(format_ms(r.backoff_ms)));
                    }
                }
                NodeKind::ForEach(f) => {
                    o.insert("kind".into(), json!("foreach"));
                    o.insert("var".into(), json!(f.var));
                    o.insert("over".into(), json!(expr(p, &f.over)));
                    o.insert("parallel".into(), json!(f.parallel));
                }
            }
            v
        })
        .collect();
    let edges: Vec<Value> = g
        .graph
        .edge_indices()
        .filter_map(|e| {
            let (a, b) = g.graph.edge_endpoints(e)?;
            let kind = g.graph[e];
            match (g.graph[a], g.graph[b], kind) {
                (GraphNode::Step(x), GraphNode::Step(y), EdgeKind::Data | EdgeKind::After) => {
                    Some(json!({"from": x.0, "to": y.0, "kind": kind}))
                }
                _ => None,
            }
        })
        .collect();
    let fmt = |ms: u64| format_ms(ms);
    json!({
        "runbook": p.runbook,
        "title": p.title,
        "source": p.source_path,
        "params": p.params.iter().map(|x| [x.name.clone(), x.default.as_ref().map(|d| d.to_string()).unwrap_or_else(|| "(required)".into())]).collect::<Vec<_>>(),
        "nodes": nodes,
        "body": p.body.iter().map(|s: &StepId| s.0).collect::<Vec<_>>(),
        "edges": edges,
        "estimates": est.map(|e| json!({
            "total": fmt(e.total_ms),
            "total_ms": e.total_ms,
            "assumed_fanout": e.assumed_fanout,
            "critical_path": e.critical_path,
            "quiesce": e.quiesce.iter().map(|q| json!({
                "step": q.step,
                "window": fmt(q.window_ms),
                "within": fmt(q.within_ms),
                "exceeds": q.exceeds_within,
                "groups": q.groups.iter().map(|w| json!({"group": w.group, "targets": w.targets, "window": fmt(w.window_ms)})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })),
        "notes": notes,
        "run": run,
    })
}

fn page(data: Value) -> String {
    // `</` cannot appear inside a <script> element.
    let blob = data.to_string().replace("</", "<\\/");
    let title = data["runbook"]
        .as_str()
        .unwrap_or("plan")
        .replace('<', "&lt;");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>lifeboat plan — {title}</title>\n<style>{CSS}</style></head>\n<body data-ready=\"pending\">\n<header id=\"head\"></header>\n<main><div id=\"canvas\"></div><aside id=\"panel\"><p class=\"hint\">Click a step to see its inputs and attributes. Click a loop (⟳) to expand or collapse its body.</p></aside></main>\n<section id=\"timeline\"></section>\n<script type=\"application/json\" id=\"plan-data\">{blob}</script>\n<script>{JS}</script>\n</body></html>\n"
    )
}

const CSS: &str = r#"
body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:8px 16px;border-bottom:1px solid #ddd;background:#fff}
header h1{font-size:18px;margin:4px 0}
header .sum{font-size:13px;margin:2px 0}
header .warn{color:#b00020}
header .note{white-space:pre-wrap;font-family:monospace;font-size:12px;margin:1px 0}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:14px;height:10px;margin-right:4px;border:1px solid #888;vertical-align:middle}
main{display:flex;align-items:flex-start}
#canvas{flex:1;overflow:auto;padding:8px}
#panel{width:340px;min-height:300px;border-left:1px solid #ddd;background:#fff;padding:8px 12px;font-size:13px;position:sticky;top:0}
#panel table{border-collapse:collapse;width:100%}
#panel td{border-bottom:1px solid #eee;padding:2px 4px;vertical-align:top;word-break:break-word}
#panel td:first-child{color:#666;white-space:nowrap}
.hint{color:#777}
svg text{font-size:12px;pointer-events:none}
.step rect{stroke:#777;stroke-width:1}
.step{cursor:pointer}
.step.critical rect{stroke:#d00;stroke-width:3}
.step.selected rect{stroke:#06c;stroke-width:3}
.edge{fill:none;stroke:#888;stroke-width:1.2}
.edge.after{stroke-dasharray:6 3}
.edge.critical{stroke:#d00;stroke-width:2.5}
.edge.side{stroke-dasharray:4 3;stroke:#c44}
.edge.side.cleanup{stroke:#46c}
.region.quiesce{fill:#e3f3e3;stroke:#7a7;stroke-width:1}
.region.quiesce.exceeds{fill:#fbe1e1;stroke:#c55}
.region.foreach{fill:none;stroke:#999;stroke-dasharray:6 4}
.rlabel{font-size:11px;fill:#355}
.gantt .bar.frozen{fill:#8fb8de}.gantt .bar.ok{fill:#7cc47c}.gantt .bar.failed{fill:#e06666}.gantt .bar.skipped{fill:#ccc}.gantt .bar.compensated{fill:#f0a040}.gantt .bar.other{fill:#9ab}
.gantt .estbar{fill:none;stroke:#555;stroke-dasharray:3 2}
#timeline{padding:8px 16px}
"#;

const JS: &str = include_str!("html.js");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::{estimate, Known, Latencies};
    use crate::{bundled, compiler, loader::BundledLoader, params};

    fn with_plan(f: impl FnOnce(&PlanGraph<'_>, &Estimates)) {
        let c = compiler::compile(bundled::resolve("option1/protect").unwrap(), &BundledLoader)
            .unwrap();
        let plan = c.plan(None).unwrap();
        let v = params::bind(plan, &["vnf=ims".to_string()]).unwrap();
        let bound = params::apply(plan, &v);
        let e = estimate(&bound, &Latencies::default(), &Known::default(), 3);
        f(&PlanGraph::build(&bound), &e);
    }

    fn embedded(page: &str) -> Value {
        let start = page.find("id=\"plan-data\">").unwrap() + "id=\"plan-data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        serde_json::from_str(&page[start..end].replace("<\\/", "</")).unwrap()
    }

    #[test]
    fn the_page_embeds_every_step_and_no_external_resource() {
        with_plan(|g, e| {
            let page = render(g, Some(e), &["a note".to_string()]);
            let d = embedded(&page);
            assert_eq!(d["nodes"].as_array().unwrap().len(), g.plan.nodes.len());
            assert_eq!(d["notes"][0], "a note");
            assert_eq!(
                d["estimates"]["critical_path"].as_array().unwrap().len(),
                e.critical_path.len()
            );
            assert!(d["run"].is_null());
            assert!(!page.contains("src=") && !page.contains("<link") && !page.contains("@import"));
        });
    }

    #[test]
    fn the_run_page_carries_the_timings() {
        with_plan(|g, e| {
            let timings = vec![
                StepTiming {
                    step: "servers".into(),
                    start_ms: 0,
                    end_ms: 420,
                    outcome: "ok".into(),
                },
                StepTiming {
                    step: "b[1]".into(),
                    start_ms: 900,
                    end_ms: 5_000,
                    outcome: "failed".into(),
                },
            ];
            let d = embedded(&render_run(g, Some(e), &timings));
            assert_eq!(d["run"].as_array().unwrap().len(), 2);
            assert_eq!(d["run"][1]["step"], "b[1]");
            assert_eq!(d["run"][1]["outcome"], "failed");
            assert_eq!(d["run"][1]["end_ms"], 5_000);
        });
    }

    #[test]
    fn a_closing_script_tag_in_the_data_cannot_end_the_script() {
        with_plan(|g, _| {
            let t = vec![StepTiming {
                step: "</script><b>".into(),
                start_ms: 0,
                end_ms: 1,
                outcome: "ok".into(),
            }];
            let page = render_run(g, None, &t);
            assert_eq!(
                page.matches("</script>").count(),
                2,
                "only the two real script ends"
            );
            assert_eq!(embedded(&page)["run"][0]["step"], "</script><b>");
        });
    }
}
