//! `lifeboat plan FILE [--param k=v …] [--format text|dot|mermaid|json|html]
//! [--latencies F] [--assume-fanout N]`: compile a runbook and print its plan,
//! with estimates (critical path, quiesce windows, time to completion),
//! without touching anything. See docs/plan-view.md.
//!
//! FILE is a path or a bundled runbook name (`option1/protect`). Errors in
//! the runbook, a missing required parameter or a value of the wrong type
//! exit with status 2.

use super::{compile_input, print_diagnostics, EXIT_ERRORS, EXIT_OK};
use lifeboat_dsl::graph::PlanGraph;
use lifeboat_dsl::params;
use lifeboat_dsl::estimate::{self, Known, LatencyOverrides, Latencies};
use lifeboat_dsl::render::{self, html, Format};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default)]
pub enum FormatArg {
    #[default]
    Text,
    Dot,
    Mermaid,
    Json,
    /// One self-contained HTML page (inline SVG, no network fetches).
    Html,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A runbook file (`*.dr`) or a bundled runbook name (`option1/protect`).
    pub file: String,
    /// A runbook parameter, `name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Which runbook, when the file holds several.
    #[arg(long)]
    pub runbook: Option<String>,
    /// A YAML file of per-action latencies in ms (`default_ms`, `approve_ms`,
    /// `actions: {cinder.backup: 120000}`) laid over the built-in table.
    #[arg(long, value_name = "FILE")]
    pub latencies: Option<std::path::PathBuf>,
    /// Items assumed for each fan-out (and quiesce targets) when not resolved.
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..))]
    pub assume_fanout: u32,
}

/// The latency table: the built-in one, with the file's figures on top.
pub fn latencies(file: Option<&std::path::Path>) -> Result<Latencies, String> {
    let Some(f) = file else {
        return Ok(Latencies::default());
    };
    let text = std::fs::read_to_string(f)
        .map_err(|e| format!("cannot read latencies file `{}`: {e}", f.display()))?;
    let over: LatencyOverrides = serde_yaml::from_str(&text)
        .map_err(|e| format!("latencies file `{}`: {e}", f.display()))?;
    Ok(Latencies::default().overridden_by(over))
}

pub fn run(args: Args) -> u8 {
    let c = match compile_input(&args.file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    print_diagnostics(&c);
    if c.has_errors() {
        eprintln!("{} error(s): no plan", c.diagnostics.error_count());
        return EXIT_ERRORS;
    }
    let plan = match c.plan(args.runbook.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    let values = match params::bind(plan, &args.params) {
        Ok(v) => v,
        Err(errs) => {
            for e in errs {
                eprintln!("error: {e}");
            }
            return EXIT_ERRORS;
        }
    };
    let lat = match latencies(args.latencies.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    let bound = params::apply(plan, &values);
    let est = estimate::estimate(&bound, &lat, &Known::default(), args.assume_fanout);
    let graph = PlanGraph::build(&bound);
    let format = match args.format {
        FormatArg::Text => Format::Text,
        FormatArg::Dot => Format::Dot,
        FormatArg::Mermaid => Format::Mermaid,
        FormatArg::Json => Format::Json,
        FormatArg::Html => {
            print!("{}", html::render(&graph, Some(&est), &[]));
            return EXIT_OK;
        }
    };
    print!("{}", render::render_with(&graph, format, Some(&est)));
    EXIT_OK
}
