//! `lifeboat show RUN [--format text|json|html] [--json] [--state-dir DIR]`:
//! print a run's report again from `report.json`. A run that never finished
//! has none: the message says to resume it.
//!
//! `--format html` draws the finished run: the plan's graph (as `lifeboat
//! plan -f html`, from the run's own `plan.json` and `params.json`) plus a
//! Gantt-like timeline with the real start and duration of every step
//! instance (from the report, which the executor folds from the run's
//! events) and each quiesce target's frozen window, beside the plan's
//! estimate for the step. `--format json` (or `--json`) prints the report.

use crate::error::{CliError, CmdResult, Exit};
use crate::report::RunReport;
use crate::state;
use lifeboat_daemon::run_dir::{RunDir, RunFile};
use lifeboat_daemon::run_store::RunStore;
use lifeboat_dsl::estimate::{self, Known, Latencies};
use lifeboat_dsl::graph::PlanGraph;
use lifeboat_dsl::plan::{NodeKind, Plan};
use lifeboat_dsl::render::html::{self, StepTiming};
use lifeboat_exec::report::StepOutcome;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq)]
pub enum ShowFormat {
    #[default]
    Text,
    Json,
    /// One self-contained HTML page: the graph and the run's timeline.
    Html,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run id (see `lifeboat runs`) or a run directory.
    pub run: String,
    /// Same as `--format json`.
    #[arg(long)]
    pub json: bool,
    #[arg(long, short = 'f', value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The cluster's record of the run, from etcd (the daemon
    /// configuration naming it), instead of this machine's run directory.
    #[arg(long, value_name = "FILE", conflicts_with = "state_dir")]
    pub cluster: Option<PathBuf>,
}

pub fn run(args: Args) -> CmdResult {
    if let Some(cfg) = &args.cluster {
        show_cluster(cfg, &args.run, args.json || args.format == ShowFormat::Json)?;
        return Ok(Exit::Ok);
    }
    let store = state::store(&state::state_dir(args.state_dir.as_deref())?)?;
    let dir = store.find(&args.run)?;
    let report: RunReport = match dir.read(RunFile::Report) {
        Ok(r) => r,
        Err(_) => {
            // Not an `error:`: the run may be going on, or waits for `resume`.
            eprintln!(
                "run {} has no report: it did not finish (crashed or still running). `lifeboat resume {}` finishes it.",
                args.run, args.run
            );
            return Err(CliError::Reported);
        }
    };
    let format = if args.json {
        ShowFormat::Json
    } else {
        args.format
    };
    match format {
        ShowFormat::Json => {
            let s = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
            println!("{s}");
        }
        ShowFormat::Text => print!("{}", report.render_text()),
        ShowFormat::Html => {
            let page =
                run_page(&dir, &*store, &report).map_err(|e| format!("run {}: {e}", args.run))?;
            print!("{page}");
        }
    }
    Ok(Exit::Ok)
}

/// `--cluster`: what etcd holds of run `id` — its record (member, outcome,
/// figures) and, while it goes on or awaits commit, how far its journal
/// there goes. The full report is in the run directory of the member that
/// ran it.
fn show_cluster(config: &Path, id: &str, json: bool) -> Result<(), String> {
    let cluster = super::cluster::section(config)?;
    let rt = super::runtime()?;
    let store = lifeboat_daemon::cluster::runs::SharedRuns::connect(&cluster);
    let fetched = rt
        .block_on(store.fetch(id))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "run {id} is not in the cluster's history (`lifeboat runs --cluster {}` lists it)",
                config.display()
            )
        })?;
    let records = lifeboat_exec::journal::parse_journal(&fetched.journal, "etcd")
        .map_err(|e| e.to_string())?;
    let r = &fetched.row;
    if json {
        let v = serde_json::json!({"record": r, "journal_records": records.len()});
        println!("{v:#}");
        return Ok(());
    }
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!(
        "run {} — {} (job {}, {})",
        r.id,
        r.runbook,
        opt(&r.job),
        r.kind.as_str()
    );
    println!("member:     {}", r.owner);
    println!(
        "outcome:    {}",
        r.outcome.clone().unwrap_or_else(|| "going on".into())
    );
    println!("started:    {}", r.started);
    println!("ended:      {}", opt(&r.ended));
    if let Some(d) = r.duration_ms {
        println!("duration:   {}", lifeboat_dsl::duration::format_ms(d));
    }
    if let Some(p) = &r.rpo_point {
        println!("point:      {p}");
    }
    if let Some(q) = r.quiesce_ms {
        println!("quiesce:    {}", lifeboat_dsl::duration::format_ms(q));
    }
    match records.len() {
        0 => println!(
            "journal:    not in etcd (it ended); the report is in member {}'s run directory {}",
            r.owner, r.run_dir
        ),
        n => println!("journal:    {n} records in etcd (it goes on, or awaits commit)"),
    }
    Ok(())
}

/// The HTML page of a finished run.
fn run_page(dir: &RunDir, store: &dyn RunStore, report: &RunReport) -> Result<String, String> {
    let plan = dir
        .plan()
        .map_err(|e| format!("cannot read its plan: {e}"))?;
    let params: serde_json::Map<String, serde_json::Value> = dir.read(RunFile::Params)?;
    let bound = lifeboat_dsl::params::apply(&plan, &params);
    let mut lat = Latencies::default();
    lat = lat.with_measured(crate::history::measure(store).measured);
    let known = run_counts(&bound, report);
    let est = estimate::estimate(&bound, &lat, &known, 1);
    let timings = timings(report);
    let r = &report.run;
    let mut notes = vec![format!(
        "run {} of {}: {} in {}, started {}",
        r.run_id,
        r.runbook,
        r.outcome
            .as_ref()
            .map(|o| format!("{o:?}").to_lowercase())
            .unwrap_or_else(|| "unfinished".into()),
        lifeboat_dsl::duration::format_ms(r.duration_ms.unwrap_or(0)),
        r.started
    )];
    for s in &r.scopes {
        notes.push(format!(
            "quiesce {}: window {}{}",
            s.scope,
            s.window_ms
                .map(lifeboat_dsl::duration::format_ms)
                .unwrap_or_else(|| "not closed".into()),
            if s.watchdog_expired {
                " (watchdog expired)"
            } else {
                ""
            }
        ));
    }
    if let Some(rec) = &report.recovery {
        if let Some(ms) = rec.rto_ms {
            notes.push(format!(
                "RTO (time to recover): {}",
                lifeboat_dsl::duration::format_ms(ms)
            ));
        }
    }
    Ok(html::render_run_with_notes(
        &PlanGraph::build(&bound),
        Some(&est),
        &timings,
        &notes,
    ))
}

/// Every step instance with its real start and end, and each quiesce
/// target's frozen window.
fn timings(report: &RunReport) -> Vec<StepTiming> {
    let r = &report.run;
    let mut out: Vec<StepTiming> = r
        .steps
        .iter()
        .map(|s| {
            let outcome = if r.compensated.contains(&s.instance) {
                "compensated"
            } else {
                match s.outcome {
                    StepOutcome::Succeeded => "ok",
                    StepOutcome::Failed => "failed",
                    StepOutcome::Skipped => "skipped",
                    StepOutcome::Cancelled => "cancelled",
                    StepOutcome::Running => "unfinished",
                }
            };
            let start = s.started_ms.unwrap_or(0);
            StepTiming {
                step: s.instance.clone(),
                start_ms: start,
                end_ms: start + s.duration_ms.unwrap_or(0),
                outcome: outcome.into(),
            }
        })
        .collect();
    for sc in &r.scopes {
        for t in &sc.targets {
            out.push(StepTiming {
                step: format!("{} frozen: {}", sc.scope, t.target),
                start_ms: t.freeze_started_ms,
                end_ms: t.thawed_ms.unwrap_or(t.freeze_started_ms),
                outcome: if t.thaw_failed {
                    "failed".into()
                } else {
                    "frozen".into()
                },
            });
        }
    }
    out
}

/// The fan-out counts the run actually had: for each loop, one more than
/// the largest index of its iterations among the step instances; for each
/// quiesce scope, the targets it froze.
fn run_counts(plan: &Plan, report: &RunReport) -> Known {
    let mut k = Known::default();
    for n in &plan.nodes {
        let NodeKind::ForEach(_) = n.kind else {
            continue;
        };
        // The loop's depth among the loops enclosing it.
        let depth = plan.enclosing_loops(n.id).len();
        let inside = |id| plan.ancestors(id).any(|p| p == n.id);
        let mut max: Option<u32> = None;
        for s in &report.run.steps {
            let name = s.instance.split('[').next().unwrap_or("");
            let Some(node) = plan.nodes.iter().find(|x| x.name == name) else {
                continue;
            };
            if !inside(node.id) {
                continue;
            }
            let idx: Vec<u32> = s
                .instance
                .split('[')
                .skip(1)
                .filter_map(|p| p.trim_end_matches(']').parse().ok())
                .collect();
            if let Some(i) = idx.get(depth) {
                max = Some(max.map_or(*i, |m: u32| m.max(*i)));
            }
        }
        if let Some(m) = max {
            k.counts.insert(n.id, m + 1);
        }
    }
    // A quiesce scope froze as many targets as its report lists.
    for sc in &report.run.scopes {
        let name = sc.scope.split('[').next().unwrap_or("");
        if let Some(n) = plan
            .nodes
            .iter()
            .find(|x| x.name == name && matches!(x.kind, NodeKind::Quiesce(_)))
        {
            k.counts.entry(n.id).or_insert(sc.targets.len() as u32);
        }
    }
    k
}
