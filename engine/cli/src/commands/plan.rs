//! `lifeboat plan FILE [--param k=v …] [--format text|dot|mermaid|json|html]
//! [--latencies F] [--assume-fanout N] [--resolve [--cloud C] [--site-cloud S=C[:R]]…]
//! [--state-dir DIR] [--no-history]`: compile a runbook and print its plan,
//! with estimates (critical path, quiesce windows, time to completion),
//! without changing anything. See docs/plan-view.md.
//!
//! Latencies: the built-in table, then the medians measured from the runs in
//! the state dir (per action and site; `--no-history` leaves them out), then
//! the `--latencies` file. `--resolve` reads the cloud (read actions only,
//! see `crate::resolve`): real fan-out counts and quiesce groups, and the
//! pre-run findings.
//!
//! FILE is a path or a bundled runbook name (`option1/protect`). Errors in
//! the runbook, a missing required parameter, a value of the wrong type or
//! no cloud for `--resolve` exit with status 2; error findings of
//! `--resolve` exit 1 (the plan is printed all the same).

use super::{load_plan, runtime};
use crate::cloud::{self, CloudArgs};
use crate::error::{CliError, CmdResult, Exit};
use crate::resolve::{self, Resolution};
use crate::state;
use lifeboat_dsl::estimate::{self, Latencies, LatencyOverrides};
use lifeboat_dsl::graph::PlanGraph;
use lifeboat_dsl::params;
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
    /// Read the cloud (read actions only): expand fan-outs over what exists
    /// and check for problems before the run.
    #[arg(long)]
    pub resolve: bool,
    #[command(flatten)]
    pub clouds: super::run::CloudOpts,
    /// Where runs are kept (default $XDG_STATE_HOME/lifeboat): their
    /// measured latencies feed the estimates.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<std::path::PathBuf>,
    /// Use only the latency table (and --latencies), not the run history.
    #[arg(long)]
    pub no_history: bool,
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

pub fn run(args: Args) -> CmdResult {
    let (plan, values) = load_plan(&args.file, args.runbook.as_deref(), &args.params)
        .map_err(|e| e.not_done("no plan"))?;
    let plan = &plan;
    let lat = latencies(args.latencies.as_deref())?;
    let bound = params::apply(plan, &values);
    let state = state::state_dir(args.state_dir.as_deref()).ok();
    let lat = match (&state, args.no_history) {
        (Some(st), false) => {
            lat.with_measured(crate::history::measure(&*state::store(st)?).measured)
        }
        _ => lat,
    };
    let resolution = if args.resolve {
        let Some(st) = &state else {
            return Err("no state directory (needed to find the emulator's clouds): set XDG_STATE_HOME or HOME, or pass --state-dir DIR".into());
        };
        let r = resolve_against_cloud(&bound, &values, &args, st)
            .map_err(|e| CliError::from(e).not_done("nothing was read or changed"))?;
        Some(r)
    } else {
        None
    };
    let known = resolution
        .as_ref()
        .map(Resolution::known)
        .unwrap_or_default();
    let est = estimate::estimate(&bound, &lat, &known, args.assume_fanout);
    let graph = PlanGraph::build(&bound);
    let notes: Vec<String> = resolution
        .as_ref()
        .map(|r| r.lines(&bound))
        .unwrap_or_default();
    match args.format {
        FormatArg::Html => print!("{}", html::render(&graph, Some(&est), &notes)),
        FormatArg::Json => {
            let mut doc: serde_json::Value =
                serde_json::from_str(&render::render_with(&graph, Format::Json, Some(&est)))
                    .map_err(|e| format!("cannot encode the plan: {e}"))?;
            if let Some(r) = &resolution {
                doc["resolved"] = r.to_json(&bound);
            }
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        f => {
            let format = match f {
                FormatArg::Dot => Format::Dot,
                FormatArg::Mermaid => Format::Mermaid,
                _ => Format::Text,
            };
            print!("{}", render::render_with(&graph, format, Some(&est)));
            if matches!(f, FormatArg::Text) && !notes.is_empty() {
                println!();
                for l in &notes {
                    println!("{l}");
                }
            } else if let Some(r) = &resolution {
                // dot and mermaid carry the resolved counts; the findings go to stderr.
                for fd in &r.findings {
                    eprintln!("{}", fd.line());
                }
            }
        }
    }
    match &resolution {
        Some(r) if r.has_errors() => {
            eprintln!(
                "the pre-run checks found {} error(s)",
                r.findings
                    .iter()
                    .filter(|f| f.severity == resolve::Severity::Error)
                    .count()
            );
            Ok(Exit::Warnings)
        }
        _ => Ok(Exit::Ok),
    }
}

/// Choose the clouds as `lifeboat run` does and resolve the plan against them.
fn resolve_against_cloud(
    bound: &lifeboat_dsl::plan::Plan,
    values: &serde_json::Map<String, serde_json::Value>,
    args: &Args,
    state: &std::path::Path,
) -> Result<Resolution, String> {
    let sites = bound.sites(values);
    let cargs = CloudArgs {
        cloud: args.clouds.cloud.as_deref(),
        site_clouds: &args.clouds.site_clouds,
    };
    let cfg = cloud::choose(&sites, &cargs, state)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let acts = cloud::build_actions(&cfg)?;
        Ok(resolve::resolve(bound, values, &acts).await)
    })
}
