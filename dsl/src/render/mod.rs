//! Renderers: tiny functions from a [`PlanGraph`] to text. They know nothing
//! of the compiler; [`expr`] holds the one thing they share, printing plan
//! expressions and calls back in the language's syntax.

pub mod dot;
pub mod expr;
pub mod html;
pub mod json;
pub mod mermaid;
pub mod text;

use crate::estimate::Estimates;
use crate::graph::PlanGraph;

/// The output formats of `lifeboat plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Dot,
    Mermaid,
    Json,
}

impl Format {
    pub const ALL: [(&'static str, Format); 4] = [
        ("text", Format::Text),
        ("dot", Format::Dot),
        ("mermaid", Format::Mermaid),
        ("json", Format::Json),
    ];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Dot => "dot",
            Format::Mermaid => "mmd",
            Format::Json => "json",
        }
    }
}

/// Render the graph in a format.
pub fn render(g: &PlanGraph<'_>, format: Format) -> String {
    render_with(g, format, None)
}

/// Render the graph with estimates: the critical path marked (text: a `*`
/// column; dot/mermaid: red), quiesce windows and the total time shown, and
/// for JSON a top-level `estimates` object.
pub fn render_with(g: &PlanGraph<'_>, format: Format, est: Option<&Estimates>) -> String {
    match format {
        Format::Text => text::render_with(g, est),
        Format::Dot => dot::render_with(g, est),
        Format::Mermaid => mermaid::render_with(g, est),
        Format::Json => json::render_with(g, est),
    }
}

/// ` retry N backoff D` for a quiesce scope tried again (else nothing),
/// after its `within`. Shared by every renderer.
pub(crate) fn scope_retry(q: &crate::plan::QuiesceScope) -> String {
    match q.retry {
        Some(r) => format!(
            " retry {} backoff {}",
            r.retries,
            crate::duration::format_ms(r.backoff_ms)
        ),
        None => String::new(),
    }
}

/// `×N` for a step inside a loop: the innermost enclosing loop's estimated
/// item count when there is one (`×12`), else `×N`. Shared by DOT and Mermaid.
pub fn fan_label(
    p: &crate::plan::Plan,
    est: Option<&Estimates>,
    id: crate::plan::StepId,
) -> String {
    let Some(e) = est else { return "×N".into() };
    // The innermost loop whose count is known.
    p.loops_around(id)
        .find_map(|x| e.steps.get(&p.node(x).name).and_then(|s| s.count))
        .map_or_else(|| "×N".into(), |c| format!("×{c}"))
}
