//! `lifeboat run RUNBOOK [--param k=v]… [--cloud C] [--site-cloud S=C[:R]]…
//! [--max-in-flight N] [--site-limit SITE=N]… [--confirm] [--json] [--state-dir DIR]`: compile, bind the parameters,
//! choose the clouds, then run under `<state>/runs/<id>/` and print the
//! report. Nothing is touched before every input is known good.
//!
//! A run takes the runbook + parameters lock of the history (as the daemon
//! does): a second run of the same runbook and parameters while one is
//! live is refused (exit 2), naming the holder.
//!
//! Exit: 0 success, 1 run failed (compensated), 2 bad input, 3 interrupted.

use super::{load_plan, runtime};
use crate::cloud::{self, CloudArgs};
use crate::dispatch::{self, Output};
use crate::error::{CliError, CmdResult};
use crate::report::RunReport;
use crate::state;
use lifeboat_daemon::run_dir::RunFile;
use lifeboat_exec::{new_run_id, ExecConfig, Executor, Limits};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct CloudOpts {
    /// The clouds.yaml cloud serving every site (region = site name).
    #[arg(long, value_name = "NAME")]
    pub cloud: Option<String>,
    /// Per-site cloud and region, `SITE=CLOUD[:REGION]` (repeatable).
    #[arg(long = "site-cloud", value_name = "SITE=CLOUD[:REGION]")]
    pub site_clouds: Vec<String>,
}

/// API politeness: how many calls may be in flight per site.
#[derive(clap::Args, Debug, Default)]
pub struct LimitOpts {
    /// Calls in flight per site at most (default 8).
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// The limit of one site, `SITE=N` (repeatable).
    #[arg(long = "site-limit", value_name = "SITE=N")]
    pub site_limits: Vec<String>,
}

impl LimitOpts {
    /// The limits asked for, on top of `base`; a bad value is an error.
    pub fn apply(&self, mut base: Limits) -> Result<Limits, String> {
        if let Some(n) = self.max_in_flight {
            if n == 0 {
                return Err("--max-in-flight must be at least 1".into());
            }
            base.default_per_site = n;
        }
        for s in &self.site_limits {
            let (site, n) = s
                .split_once('=')
                .ok_or_else(|| format!("--site-limit {s:?}: expected SITE=N"))?;
            let n: usize = n.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                format!("--site-limit {s:?}: N must be a whole number of at least 1")
            })?;
            if site.trim().is_empty() {
                return Err(format!("--site-limit {s:?}: the site is missing"));
            }
            base = base.with_site(site.trim(), n);
        }
        Ok(base)
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A runbook file (`*.dr`) or a bundled runbook name (`option1/protect`).
    pub runbook_file: String,
    /// Which runbook, when the file holds several.
    #[arg(long)]
    pub runbook: Option<String>,
    /// A runbook parameter, `name=value` (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    #[command(flatten)]
    pub clouds: CloudOpts,
    #[command(flatten)]
    pub limits: LimitOpts,
    /// Approve every `approve` step in advance (needed without a terminal).
    #[arg(long)]
    pub confirm: bool,
    /// Print one JSON event per line on stdout, then the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Where runs are kept (default $XDG_STATE_HOME/lifeboat).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> CmdResult {
    let (plan, values) = load_plan(&args.runbook_file, args.runbook.as_deref(), &args.params)
        .map_err(|e| e.not_done("nothing was run"))?;
    let limits = args
        .limits
        .apply(Limits::default())
        .map_err(|e| CliError::from(e).not_done("nothing was run"))?;
    let state = state::state_dir(args.state_dir.as_deref())?;
    let sites = plan.sites(&values);
    let cargs = CloudArgs {
        cloud: args.clouds.cloud.as_deref(),
        site_clouds: &args.clouds.site_clouds,
    };
    let sites_cfg = cloud::choose(&sites, &cargs, &state)
        .map_err(|e| CliError::from(e).not_done("nothing was run"))?;
    let output = if args.json {
        Output::Json
    } else {
        Output::Human
    };
    let rt = runtime()?;
    rt.block_on(async move {
        // The HTTP clients need a runtime to be built in.
        let actions = cloud::build_actions(&sites_cfg)
            .map_err(|e| CliError::from(e).not_done("nothing was run"))?;
        let id = new_run_id();
        // Never two runs of the same runbook + parameters at once (the
        // daemon's lock): taken before anything is written.
        let key = lifeboat_daemon::lock::job_key(&args.runbook_file, &values);
        let store = state::store(&state)?;
        let lease = state::lease(&store, &key, &id)?;
        let dir = store.dir(&id);
        dir.create()?;
        dir.write(RunFile::Params, &values)?;
        dir.write(RunFile::Sites, &sites_cfg)?;
        dir.write(RunFile::Limits, &limits)?;
        dir.write_lock_key(&key)?;
        let bar = dispatch::progress_bar(output);
        let approver = crate::approver::choose(args.confirm, bar.clone());
        let exec = executor(actions, limits, approver);
        tracing::info!(run = %id, runbook = %plan.runbook, dir = %dir.path().display(), "run starting");
        let row = state::manual_run(&id, &plan.runbook, &values, &sites_cfg, dir.path());
        state::record_start(&lease, &row);
        let handle = exec.spawn(plan, values, dir.into_path(), Some(id.clone()));
        let result = dispatch::follow(handle, output, bar, RunReport::write_for).await;
        state::record_end(&*store, Some(lease), &id, &result);
        finish(result, output)
    })
}

/// The executor `run`, `resume` and the daemon drive: the cloud's actions,
/// the run's limits (calls in flight per site for the executor, and the
/// ceiling of each site's adaptive request limit in the client), and the
/// approver.
pub(super) fn executor(
    actions: lifeboat_actions::OpenStackActions,
    limits: Limits,
    approver: Arc<dyn lifeboat_exec::Approver>,
) -> Executor {
    let actions = actions.with_resilience(lifeboat_openstack::RetryPolicy::default(), |site| {
        limits.limit_for(site)
    });
    Executor::new(Arc::new(actions))
        .with_config(ExecConfig {
            limits,
            ..ExecConfig::default()
        })
        .with_approver(approver)
}

/// Print the report (text, or JSON with --json) and say how the run ended.
pub fn finish(r: Result<crate::report::RunReport, String>, output: Output) -> CmdResult {
    let report = r?;
    match output {
        Output::Json => {
            match serde_json::to_string(&serde_json::json!({"event": "report", "report": report})) {
                Ok(s) => println!("{s}"),
                // The run is over all the same: its status stands.
                Err(e) => CliError::from(format!("cannot encode the report: {e}")).print(),
            }
        }
        _ => print!("{}", report.render_text()),
    }
    Ok(report.exit_code())
}
