//! The plan for a terminal: header, parameters, then each block's steps in a
//! runnable order with their kind, quiesce windows bracketed, loops shown as
//! fan-outs (`×N (at run time)`), and the compensations and cleanups listed.

use super::expr::{call, expr, quote, write_call, write_expr};
use crate::duration::{format_ms, Ms};
use crate::estimate::Estimates;
use crate::graph::PlanGraph;
use crate::plan::{DepReason, NodeKind, Plan, StepId};
use std::fmt::Write;

pub fn render(g: &PlanGraph<'_>) -> String {
    render_with(g, None)
}

/// With estimates: a marker column (`*` on the critical path), each step's
/// estimated start and end, fan-out counts, and a summary at the end.
pub fn render_with(g: &PlanGraph<'_>, est: Option<&Estimates>) -> String {
    let split = g.plan.nodes.len() >= MIN_SPLIT && crate::parser::cores() > 1;
    render_split(g, est, split)
}

/// [`render_with`], its top level cut in two halves rendered at once when
/// `split`.
fn render_split(g: &PlanGraph<'_>, est: Option<&Estimates>, split: bool) -> String {
    let p = g.plan;
    // A step takes about two hundred bytes: grown once, not by doubling.
    let mut out = String::with_capacity(256 * p.nodes.len() + 1024);
    let _ = writeln!(out, "runbook {} — {}", p.runbook, p.title);
    let _ = writeln!(out, "source: {}", p.source_path);
    if !p.params.is_empty() {
        let _ = writeln!(out, "params:");
        for prm in &p.params {
            match &prm.default {
                Some(v) => {
                    let _ = writeln!(out, "  {}: {} = {}", prm.name, prm.ty, v);
                }
                None => {
                    let _ = writeln!(out, "  {}: {} (required)", prm.name, prm.ty);
                }
            }
        }
    }
    if let Some(s) = &p.schedule {
        let _ = writeln!(
            out,
            "schedule: {}{}",
            quote(&s.cron),
            s.tz.as_ref()
                .map(|t| format!(" tz {}", quote(t)))
                .unwrap_or_default()
        );
    }
    if let Some(r) = &p.retain {
        let parts: Vec<String> = [
            ("last", r.last),
            ("hourly", r.hourly),
            ("daily", r.daily),
            ("weekly", r.weekly),
            ("monthly", r.monthly),
        ]
        .iter()
        .filter_map(|(k, v)| v.map(|n| format!("{k} {n}")))
        .collect();
        let _ = writeln!(out, "retain: {}", parts.join(", "));
    }
    if let Some(c) = &p.commit {
        let _ = writeln!(
            out,
            "awaits commit: within {}, then {} (`lifeboat commit RUN` / `lifeboat rollback RUN`)",
            crate::duration::format_ms(c.within_ms),
            c.default.as_str()
        );
    }
    let _ = writeln!(out, "\nsteps:");
    let mut counter = 0;
    let width = p
        .nodes
        .iter()
        .map(|n| n.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(8, 28);
    let order = g.block_order(&p.body);
    match if split { halves(p, &order) } else { None } {
        Some((first, second, mut later)) => {
            let tail = std::thread::scope(|s| {
                let other = std::thread::Builder::new()
                    .stack_size(STACK)
                    .spawn_scoped(s, || {
                        let mut t = String::with_capacity(256 * p.nodes.len() / 2);
                        steps(g, est, second, "", width, &mut later, &mut t);
                        undo_lists(p, width, &mut t);
                        t
                    });
                steps(g, est, first, "", width, &mut counter, &mut out);
                other.map(|h| h.join())
            });
            match tail {
                Ok(Ok(t)) => out.push_str(&t),
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                // No thread to be had: the second half here, after the first.
                Err(_) => {
                    steps(g, est, second, "", width, &mut counter, &mut out);
                    undo_lists(p, width, &mut out);
                }
            }
        }
        None => {
            steps(g, est, &order, "", width, &mut counter, &mut out);
            undo_lists(p, width, &mut out);
        }
    }

    if let Some(e) = est {
        let _ = writeln!(
            out,
            "\nestimates (latency model, fan-outs ×{} unless resolved; * = critical path):",
            e.assumed_fanout
        );
        let _ = writeln!(
            out,
            "  time to completion (RTO for a recover runbook): {}",
            format_ms(e.total_ms)
        );
        let _ = writeln!(out, "  critical path: {}", e.critical_path.join(" → "));
        let measured: Vec<String> = e
            .steps
            .iter()
            .filter_map(|(name, s)| s.measured.as_ref().map(|m| (name, m)))
            .map(|(name, m)| {
                format!(
                    "{name} ({} at {}, median of {} past call(s))",
                    format_ms(e.steps[name].end_ms - e.steps[name].start_ms),
                    m.site,
                    m.samples
                )
            })
            .collect();
        if measured.is_empty() {
            let _ = writeln!(
                out,
                "  latencies: the built-in table{}",
                if e.latencies.measured.is_empty() {
                    ""
                } else {
                    " (the run history has no figure for these steps' actions and sites)"
                }
            );
        } else {
            let _ = writeln!(out, "  latencies measured from the run history: {}; the other steps use the built-in table", measured.join(", "));
        }
        for q in &e.quiesce {
            let groups: Vec<String> = q
                .groups
                .iter()
                .map(|g| format!("{} ×{} {}", g.group, g.targets, format_ms(g.window_ms)))
                .collect();
            let _ = writeln!(
                out,
                "  quiesce {}: window {} (within {}){}; per group: {}",
                q.step,
                format_ms(q.window_ms),
                format_ms(q.within_ms),
                if q.exceeds_within {
                    " — EXCEEDS the bound"
                } else {
                    ""
                },
                groups.join(", ")
            );
        }
    }
    out
}

/// The compensations and the cleanups, each in the reverse order they
/// would run in.
fn undo_lists(p: &Plan, width: usize, out: &mut String) {
    let mut comp = Vec::new();
    let mut clean = Vec::new();
    for n in &p.nodes {
        if let NodeKind::Action(a) = &n.kind {
            let line = |c| format!("  {:<width$} ← {}", n.name, call(p, c));
            comp.extend(a.compensate.as_ref().map(line));
            clean.extend(a.cleanup.as_ref().map(line));
        }
    }
    if !comp.is_empty() {
        let _ = writeln!(out, "\ncompensations (if the run fails, in reverse order):");
        for l in comp.iter().rev() {
            let _ = writeln!(out, "{l}");
        }
    }
    if !clean.is_empty() {
        let _ = writeln!(
            out,
            "\ncleanups (at the end of every run, in reverse order):"
        );
        for l in clean.iter().rev() {
            let _ = writeln!(out, "{l}");
        }
    }
}

/// The `[needs …]`, `[after …]` and `[when …]` notes of a step, appended to `out`.
fn write_waits(out: &mut String, p: &Plan, id: StepId) {
    let n = p.node(id);
    for (reason, label) in [(DepReason::Data, "needs"), (DepReason::After, "after")] {
        let mut first = true;
        for d in n.deps.iter().filter(|d| d.reason == reason) {
            out.push_str(if first { "  [" } else { ", " });
            if first {
                out.push_str(label);
                out.push(' ');
                first = false;
            }
            out.push_str(&p.node(d.on).name);
        }
        if !first {
            out.push(']');
        }
    }
    if let Some(w) = &n.when {
        out.push_str("  [when ");
        write_expr(out, p, w);
        out.push(']');
    }
}

fn waits(p: &Plan, id: StepId) -> String {
    let mut s = String::new();
    write_waits(&mut s, p, id);
    s
}

/// `s` left-aligned in `width` characters (as `{:<width$}` would).
fn pad(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    let n = s.chars().count();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
}

fn mark(est: Option<&Estimates>, name: &str) -> &'static str {
    match est {
        None => "",
        Some(e) if e.is_critical(name) => "* ",
        Some(_) => "  ",
    }
}

fn fan(g: &PlanGraph<'_>, est: Option<&Estimates>, id: StepId) -> String {
    let Some(e) = est else {
        return "×N".into();
    };
    match e.steps.get(&g.plan.node(id).name) {
        Some(s) => match (s.count, s.count_resolved) {
            (Some(c), Some(true)) => format!("×{c}"),
            (Some(c), _) => format!("×{c} (assumed)"),
            _ => "×N".into(),
        },
        None => "×N".into(),
    }
}

fn times(est: Option<&Estimates>, name: &str) -> String {
    est.and_then(|e| e.steps.get(name))
        .map(|s| format!("  ~{}→{}", format_ms(s.start_ms), format_ms(s.end_ms)))
        .unwrap_or_default()
}

/// A plan of this many steps renders its top level in two halves at once,
/// where the machine has more than one core: each half is a few megabytes
/// of text.
const MIN_SPLIT: usize = 4096;

/// A thread's stack, as deep as the main thread's: the render descends
/// once per level of nesting.
const STACK: usize = 8 << 20;

/// The top level in run order cut where about half the numbered steps come
/// before the cut, and how many do.
fn halves<'o>(p: &Plan, order: &'o [StepId]) -> Option<(&'o [StepId], &'o [StepId], usize)> {
    let all = numbered(p, order);
    let mut seen = 0;
    let cut = order.iter().position(|&id| {
        seen += numbered(p, std::slice::from_ref(&id));
        seen * 2 >= all
    })?;
    let (first, second) = order.split_at(cut + 1);
    Some((first, second, seen))
}

/// How many numbered lines (actions and approvals) `ids` and the blocks
/// in them render.
fn numbered(p: &Plan, ids: &[StepId]) -> usize {
    ids.iter()
        .map(|&id| match &p.node(id).kind {
            NodeKind::Action(_) | NodeKind::Approve(_) => 1,
            NodeKind::Quiesce(q) => numbered(p, &q.body),
            NodeKind::ForEach(f) => numbered(p, &f.body),
        })
        .sum()
}

/// The lines of `order`, steps already in run order, numbered after
/// `counter`.
fn steps(
    g: &PlanGraph<'_>,
    est: Option<&Estimates>,
    order: &[StepId],
    indent: &str,
    w: usize,
    counter: &mut usize,
    out: &mut String,
) {
    let p = g.plan;
    for &id in order {
        let n = p.node(id);
        match &n.kind {
            NodeKind::Action(a) => {
                *counter += 1;
                // Its innermost loop's fan-out, if it runs in one.
                let fan = match p.innermost_loop(id) {
                    Some(l) => format!(" {}", fan(g, est, l)),
                    None => String::new(),
                };
                out.push_str(mark(est, &n.name));
                out.push_str(indent);
                let _ = write!(out, "{counter:>3}. ");
                pad(out, &n.name, w);
                out.push(' ');
                pad(out, a.call.effect.as_str(), 8);
                out.push(' ');
                write_call(out, p, &a.call);
                out.push_str(&fan);
                write_waits(out, p, id);
                out.push_str(&times(est, &n.name));
                out.push('\n');
                let blank = |out: &mut String| {
                    out.push_str(if est.is_some() { "  " } else { "" });
                    out.push_str(indent);
                    out.push_str("     ");
                    pad(out, "", w);
                    out.push(' ');
                };
                blank(out);
                if a.retry.retries > 0 {
                    let _ = write!(
                        out,
                        "retry {} backoff {}, ",
                        a.retry.retries,
                        Ms(a.retry.backoff_ms)
                    );
                }
                let _ = writeln!(out, "timeout {}", Ms(a.timeout_ms));
                if let Some(c) = &a.cleanup {
                    blank(out);
                    out.push_str("cleanup ");
                    write_call(out, p, c);
                    out.push('\n');
                }
            }
            NodeKind::Approve(a) => {
                *counter += 1;
                let _ = writeln!(
                    out,
                    "{}{indent}{:>3}. {:<w$} {:<8} {}{}{}",
                    mark(est, &n.name),
                    counter,
                    n.name,
                    "approve",
                    expr(p, &a.prompt),
                    waits(p, id),
                    times(est, &n.name)
                );
            }
            NodeKind::Quiesce(q) => {
                let args = if q.method_args.is_empty() {
                    String::new()
                } else {
                    format!(
                        "({})",
                        q.method_args
                            .iter()
                            .map(|a| format!("{}: {}", a.name, expr(p, &a.value)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let _ = writeln!(
                    out,
                    "{}{indent}┌─ {}: quiesce {} by {} in {}{} via {}{args} within {}{} — frozen while these run:{}{}",
                    mark(est, &n.name),
                    n.name,
                    expr(p, &q.targets),
                    q.by,
                    expr(p, &q.order),
                    if q.one_at_a_time { " one at a time" } else { "" },
                    expr(p, &q.method),
                    format_ms(q.within_ms),
                    super::scope_retry(q),
                    waits(p, id),
                    times(est, &n.name)
                );
                let pad = if est.is_some() { "  " } else { "" };
                steps(
                    g,
                    est,
                    &g.block_order(&q.body),
                    &format!("{indent}│  "),
                    w,
                    counter,
                    out,
                );
                let _ = writeln!(
                    out,
                    "{pad}{indent}└─ thaw {} in reverse order",
                    expr(p, &q.targets)
                );
            }
            NodeKind::ForEach(f) => {
                let count = match est {
                    None => "×N (at run time)".to_string(),
                    Some(_) => match fan(g, est, id) {
                        f if f.ends_with("(assumed)") => {
                            format!(
                                "×N (at run time) — assumed {}",
                                f.trim_end_matches(" (assumed)")
                            )
                        }
                        f => format!("{f} (resolved)"),
                    },
                };
                let _ = writeln!(
                    out,
                    "{}{indent}┌─ {}: for {} in {} {count}, {} at a time{}{}",
                    mark(est, &n.name),
                    n.name,
                    f.var,
                    expr(p, &f.over),
                    f.parallel,
                    waits(p, id),
                    times(est, &n.name)
                );
                let pad = if est.is_some() { "  " } else { "" };
                steps(
                    g,
                    est,
                    &g.block_order(&f.body),
                    &format!("{indent}│  "),
                    w,
                    counter,
                    out,
                );
                let _ = writeln!(out, "{pad}{indent}└─");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compiler::compile_text;
    use crate::loader::{BundledLoader, FsLoader};
    use std::fmt::Write;

    /// A runbook of `groups` runs of top-level steps, approvals, quiesce
    /// windows and loops (with waits, retries and cleanups).
    fn varied(groups: usize) -> String {
        let mut s = String::from("runbook r \"t\" {\n  param vnf: string\n  approve \"go\"\n");
        for i in 0..groups {
            let _ = writeln!(s, "  s{i} = nova.find_servers(site: \"site-a\", tag: \"{{vnf}}-{i}\") retry 2 timeout 1m");
            let _ = writeln!(s, "  v{i} = cinder.volumes_of(s{i})");
            if i % 3 == 0 {
                let _ = writeln!(s, "  approve \"step {i}\" after v{i}");
            }
            let _ = writeln!(
                s,
                "  quiesce s{i} by role in [\"db\", \"app\"] via pause within 30s {{"
            );
            let _ = writeln!(
                s,
                "    g{i} = cinder.ensure_group(site: \"site-a\", name: \"lb-{i}\", volumes: v{i})"
            );
            let _ = writeln!(s, "  }}\n  for x{i} in s{i} parallel 4 {{");
            let _ = writeln!(s, "    img{i} = nova.create_image(x{i}, name: \"i-{i}\") cleanup glance.delete_image(img{i})");
            let _ = writeln!(s, "    gone{i} = nova.delete_server(x{i}) after img{i}");
            let _ = writeln!(s, "  }}");
        }
        s.push_str("}\n");
        s
    }

    #[test]
    fn two_halves_render_what_one_pass_renders() {
        for groups in [0, 1, 2, 3, 7, 40] {
            let c = compile_text("r.dr", &varied(groups), &FsLoader);
            assert!(!c.has_errors(), "{:?}", c.diagnostics.list.first());
            let g = PlanGraph::build(&c.plans[0]);
            let whole = render_split(&g, None, false);
            assert_eq!(render_split(&g, None, true), whole, "{groups} groups");
            assert!(whole.contains(&format!("{:>3}. ", numbered(g.plan, &g.plan.body))));
        }
        let c = crate::compiler::compile("workflows/option1/protect.dr", &BundledLoader)
            .expect("loads");
        let g = PlanGraph::build(&c.plans[0]);
        let est = crate::estimate::estimate(g.plan, &Default::default(), &Default::default(), 3);
        assert_eq!(
            render_split(&g, Some(&est), true),
            render_split(&g, Some(&est), false)
        );
    }
}
