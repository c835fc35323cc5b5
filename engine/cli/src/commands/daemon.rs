//! `lifeboat daemon --config lifeboat.yaml [--state-dir DIR] [--check]`:
//! runs the configured runbooks on their schedules (lifeboat-daemon does the
//! scheduling, locking, history, retention and metrics; this file builds the
//! jobs from the config and starts runs with the executor and the
//! OpenStack actions). SIGTERM or Ctrl-C: no new run; live runs are
//! interrupted once — they thaw, compensate and clean up — then it exits.
//! `--check` validates the config and prints each job's next due time.
//!
//! While it runs, `<state>/daemon.json` says its pid and metrics address.

use super::{compile_plan, runtime, LoadError};
use crate::cloud::{self, CloudArgs, SitesConfig};
use crate::error::{CliError, CmdResult, Exit};
use crate::report::RunReport;
use crate::state;
use lifeboat_daemon::config::{Config, JobConfig};
use lifeboat_daemon::cron::Due;
use lifeboat_daemon::fence::{fence_key, FenceWatch, FENCE_RUNBOOK};
use lifeboat_daemon::http::MetricsState;
use lifeboat_daemon::launcher::{Finished, Launched, Launcher, Probe};
use lifeboat_daemon::retention::policy::Policy;
use lifeboat_daemon::run_dir::{RunDir, RunFile};
use lifeboat_daemon::{Clock, Daemon, Job, SystemClock};
use lifeboat_dsl::plan::Plan;
use lifeboat_exec::journal::Replica;
use lifeboat_exec::{AutoApprove, Executor, Refuse, Report, RunHandle};
use lifeboat_openstack::Connections;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The daemon's configuration (YAML: jobs, params, clouds, metrics listener).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Where runs and the history are kept (else the config's, else XDG).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Check the configuration, print each job's next due time, and exit.
    #[arg(long)]
    pub check: bool,
}

pub const DAEMON_INFO: &str = "daemon.json";

pub fn run(args: Args) -> CmdResult {
    let cfg = Config::load(&args.config)?;
    let state = state::state_dir(args.state_dir.as_deref().or(cfg.state_dir.as_deref()))?;
    let mut jobs = Vec::new();
    let mut sites = HashMap::new();
    // Each runbook compiled once, however many jobs (VNFs) run it.
    let mut compiled = HashMap::new();
    for jc in &cfg.jobs {
        let (job, s) = build_job(jc, &state, &mut compiled).map_err(|e| {
            CliError::from(format!("job `{}`: {e}", jc.name())).not_done("nothing was started")
        })?;
        sites.insert(job.name.clone(), s);
        jobs.push(job);
    }
    let freeze_gate = cfg
        .freeze_gate()
        .map_err(|e| CliError::from(e).not_done("nothing was started"))?;
    let retention = lifeboat_daemon::daemon::retention_plan()?;
    let fence = match cfg.recovery_check()? {
        None => None,
        Some(every) => Some(FenceWatch::new(every)?),
    };
    let now = chrono::Utc::now();
    for j in &jobs {
        let next = j
            .due
            .next_after(now)
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "never".into());
        let keep = j
            .policy
            .map(|p| format!("{p:?}"))
            .unwrap_or_else(|| "everything".into());
        eprintln!(
            "job {}: {} `{}` ({}), next {next}; keeps {keep}",
            j.name,
            j.runbook,
            j.due.text(),
            j.due.tz()
        );
    }
    let cluster_cfg = cfg.cluster.clone();
    if let Some(c) = &cluster_cfg {
        if c.etcd.is_empty() || c.name.trim().is_empty() || c.site.trim().is_empty() {
            return Err(
                "`cluster` needs `etcd` (the members' client URLs), `name` and `site`".into(),
            );
        }
        eprintln!(
            "cluster: member {} at {}, etcd {}; jobs run on the member that owns them",
            c.name,
            c.site,
            c.etcd.join(", ")
        );
    }
    if args.check {
        return Ok(Exit::Ok);
    }
    let rt = runtime()?;
    rt.block_on(async move {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let runs = lifeboat_daemon::run_store::LocalStore::shared(&state)
            .map_err(|e| format!("cannot open the run history: {e}"))?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut metrics_addr = None;
        // In a cluster: what the listener shows of this member, refreshed
        // by the daemon after each sweep.
        let cluster_view = cluster_cfg.as_ref().map(|_| {
            Arc::new(std::sync::Mutex::new(
                lifeboat_daemon::cluster::View::default(),
            ))
        });
        if let Some(addr) = &cfg.metrics {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?;
            let local = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| addr.clone());
            eprintln!("metrics on http://{local}/metrics");
            metrics_addr = Some(local);
            let ms = MetricsState {
                runs: runs.clone(),
                jobs: jobs.iter().map(Job::label).collect(),
                clock: clock.clone(),
                cluster: cluster_view.clone(),
            };
            let mut rx = stop_rx.clone();
            tokio::spawn(async move {
                let stop = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                if let Err(e) = lifeboat_daemon::http::serve(listener, ms, stop).await {
                    tracing::error!("metrics listener: {e}");
                }
            });
        }
        let info = serde_json::json!({"pid": std::process::id(), "metrics": metrics_addr});
        let _ = std::fs::create_dir_all(&state);
        let _ = state::write_json(&state.join(DAEMON_INFO), &info);
        // A member of a cluster: joined before any job can run here.
        let cluster = match &cluster_cfg {
            None => None,
            Some(c) => match lifeboat_daemon::cluster::Member::join(c).await {
                Ok(m) => {
                    eprintln!(
                        "cluster member {} at {} (etcd {}, lease {} s)",
                        m.info.name,
                        m.info.site,
                        c.etcd.join(", "),
                        m.ttl()
                    );
                    Some(tokio::sync::Mutex::new(m))
                }
                Err(e) => return Err(format!("cannot join the cluster: {e}").into()),
            },
        };
        let daemon = Daemon {
            clock,
            launcher: Arc::new(CliLauncher {
                sites,
                limits: cfg.limits(),
                freeze_gate,
                connections: Connections::new(),
            }),
            jobs,
            runs,
            retention,
            fence,
            events: None,
            cluster,
            cluster_view,
            twins_after: cfg.twins_after()?,
        };
        let r = daemon.run(shutdown_signal()).await;
        let _ = stop_tx.send(true);
        let _ = std::fs::remove_file(state.join(DAEMON_INFO));
        r?;
        eprintln!("daemon stopped");
        Ok(Exit::Ok)
    })
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    eprintln!("stopping: no new runs; live runs thaw, compensate and clean up first");
}

/// A job from its config: compiled (once per runbook, in `compiled`),
/// parameters bound, schedule, retention, clouds.
fn build_job(
    jc: &JobConfig,
    state: &Path,
    compiled: &mut HashMap<String, Plan>,
) -> Result<(Job, SitesConfig), String> {
    let why = |e: LoadError| match e {
        LoadError::Errors(n) => format!("{n} error(s) in {}", jc.runbook),
        LoadError::Params(errs) => format!(
            "{} (the job's parameters go under `params:`)",
            errs.join("; ")
        ),
        other => other.to_string(),
    };
    let plan = match compiled.get(&jc.runbook) {
        Some(plan) => plan.clone(),
        None => {
            let plan = compile_plan(&jc.runbook, None).map_err(why)?;
            compiled.insert(jc.runbook.clone(), plan.clone());
            plan
        }
    };
    let values = lifeboat_dsl::params::bind(&plan, &jc.param_args())
        .map_err(|e| why(LoadError::Params(e)))?;
    if let Some(n) = jc.full_every {
        if n == 0 {
            return Err(format!(
                "job {}: full_every must be at least 1 (incrementals per chain)",
                jc.name()
            ));
        }
        if !plan.params.iter().any(|p| p.name == "full") {
            return Err(format!(
                "job {}: full_every needs a runbook with a `full: bool` parameter; {} has none",
                jc.name(),
                jc.runbook
            ));
        }
    }
    let (cron, tz) = match (&jc.schedule, &plan.schedule) {
        (Some(s), _) => (s.clone(), jc.tz.clone()),
        (None, Some(s)) => (s.cron.clone(), s.tz.clone()),
        (None, None) => {
            return Err(format!(
                "runbook {} has no `schedule` and the job gives none",
                jc.runbook
            ))
        }
    };
    let due = Due::parse(&cron, tz.as_deref())?;
    let policy = jc
        .retain
        .map(|r| r.to_plan())
        .or(plan.retain.clone())
        .map(|r| Policy::from_plan(&r))
        .filter(|p| !p.is_empty());
    let site_names = plan.sites(&values);
    let site_clouds: Vec<String> = jc
        .site_clouds
        .iter()
        .map(|(s, c)| format!("{s}={c}"))
        .collect();
    let sites = cloud::choose(
        &site_names,
        &CloudArgs {
            cloud: jc.cloud.as_deref(),
            site_clouds: &site_clouds,
        },
        state,
    )?;
    let cloud = super::runs::cloud_text(&sites);
    let job = Job {
        name: jc.name(),
        runbook: jc.runbook.clone(),
        plan,
        params: values,
        due,
        policy,
        run_at_start: jc.run_at_start,
        full_every: jc.full_every,
        cloud,
        rpo_target_ms: jc.rpo_target_ms()?,
        fence: jc.fence.unwrap_or(true),
        approved: jc.approved,
    };
    Ok((job, sites))
}

/// Starts and resumes the daemon's runs with the executor and the actions
/// of each job's clouds; the run dir gets what `lifeboat run` leaves there
/// (params, sites, limits, journal, report) so `show` and `resume` work on
/// it. Each run has its own clients, with its own token and adaptive limit
/// per site under `limits` (see `docs/schedule.md` for why they are not
/// shared); their connections are pooled across the runs.
struct CliLauncher {
    sites: HashMap<String, SitesConfig>,
    limits: lifeboat_exec::Limits,
    /// `freezes_at_once`: one gate for every run the daemon starts or resumes.
    freeze_gate: Option<lifeboat_exec::FreezeGate>,
    /// The connection pools of every run's clients (and the probes').
    connections: Connections,
}

impl CliLauncher {
    fn job_sites(&self, job: &Job) -> Result<&SitesConfig, String> {
        self.sites
            .get(&job.name)
            .ok_or_else(|| format!("no clouds for job {}", job.name))
    }

    fn executor(&self, sites: &SitesConfig, approved: bool) -> Result<Executor, String> {
        let exec = super::run::executor(
            cloud::build_actions_sharing(sites, &self.connections)?,
            self.limits.clone(),
            approver(approved),
        );
        let config = lifeboat_exec::ExecConfig {
            freeze_gate: self.freeze_gate.clone(),
            ..exec.config_ref().clone()
        };
        Ok(exec.with_config(config))
    }
}

impl Launcher for CliLauncher {
    fn start(
        &self,
        job: &Job,
        plan: &Plan,
        params: &Map<String, Value>,
        run_id: &str,
        run_dir: &Path,
        approved: bool,
        replica: Option<Arc<dyn Replica>>,
    ) -> Result<Launched, String> {
        let sites = self.job_sites(job)?;
        let exec = with_replica(self.executor(sites, approved)?, replica);
        let dir = RunDir::at(run_dir);
        dir.create()?;
        dir.write(RunFile::Params, params)?;
        dir.write(RunFile::Sites, sites)?;
        dir.write(RunFile::Limits, &self.limits)?;
        // The key of the lock the daemon holds for it, for `lifeboat resume`.
        let key = if plan.runbook == FENCE_RUNBOOK {
            fence_key(job.vnf().unwrap_or_default())
        } else if approved {
            job.retention_key()
        } else {
            job.key()
        };
        dir.write_lock_key(&key)?;
        let h = exec.spawn(
            plan.clone(),
            params.clone(),
            run_dir.to_path_buf(),
            Some(run_id.to_string()),
        );
        Ok(launched(h, RunReport::write_for))
    }

    fn resume(
        &self,
        job: &Job,
        run_dir: &Path,
        replica: Option<Arc<dyn Replica>>,
    ) -> Result<Launched, String> {
        // The run's own clouds (as `lifeboat resume` does), else the job's.
        let approved = pre_approved(run_dir) || job.approved;
        let exec = match RunDir::at(run_dir).read::<SitesConfig>(RunFile::Sites) {
            Ok(s) => self.executor(&s, approved)?,
            Err(_) => self.executor(self.job_sites(job)?, approved)?,
        };
        let exec = with_replica(exec, replica);
        Ok(launched(
            exec.spawn_resume(run_dir.to_path_buf()),
            RunReport::write_for,
        ))
    }

    fn cleanup(&self, job: &Job, run_dir: &Path) -> Result<Launched, String> {
        let approved = pre_approved(run_dir) || job.approved;
        let exec = match RunDir::at(run_dir).read::<SitesConfig>(RunFile::Sites) {
            Ok(s) => self.executor(&s, approved)?,
            Err(_) => self.executor(self.job_sites(job)?, approved)?,
        };
        Ok(launched(
            exec.spawn_cleanup(run_dir.to_path_buf()),
            RunReport::write_cleanup_for,
        ))
    }

    fn probe(&self, job: &Job, site: &str) -> Probe {
        let actions = self
            .job_sites(job)
            .and_then(|s| cloud::build_actions_sharing(s, &self.connections));
        let site = site.to_string();
        Box::pin(async move {
            let Ok(actions) = actions else { return false };
            let Ok(c) = actions.client(&site) else {
                return false;
            };
            // The site's compute API itself (Keystone may be elsewhere).
            c.microversion_range(lifeboat_openstack::Service::Compute)
                .await
                .is_ok()
        })
    }
}

/// `exec` keeping each run's journal in `replica` too (a cluster's store).
fn with_replica(exec: Executor, replica: Option<Arc<dyn Replica>>) -> Executor {
    match replica {
        None => exec,
        Some(r) => {
            let config = lifeboat_exec::ExecConfig {
                replica: Some(r),
                ..exec.config_ref().clone()
            };
            exec.with_config(config)
        }
    }
}

/// Runs the daemon's configuration authorised in advance: retention (the
/// job's policy) and fencing (the job's `fence`).
fn pre_approved(run_dir: &Path) -> bool {
    RunDir::at(run_dir)
        .plan()
        .map(|p| {
            p.runbook == lifeboat_daemon::retention::plan::RETENTION_RUNBOOK
                || p.runbook == FENCE_RUNBOOK
        })
        .unwrap_or(false)
}

fn approver(approved: bool) -> Arc<dyn lifeboat_exec::Approver> {
    if approved {
        Arc::new(AutoApprove)
    } else {
        Arc::new(Refuse)
    }
}

/// Follow a run quietly to its end; write its report; what the history keeps.
fn launched(mut h: RunHandle, write: crate::dispatch::Write) -> Launched {
    let cancel = h.cancel.clone();
    let done = Box::pin(async move {
        let mut report = Report::default();
        while let Some(ev) = h.events.recv().await {
            report.apply(&ev);
        }
        let result = h
            .result
            .await
            .map_err(|e| format!("the run task failed: {e}"))?
            .map_err(|e| e.to_string())?;
        let rr = write(report, &RunDir::at(&result.run_dir))?;
        let end = super::runs::end_of(&rr);
        Ok(Finished {
            outcome: end.outcome,
            duration_ms: end.duration_ms,
            bytes: end.bytes,
            quiesce_ms: end.quiesce_ms,
            rpo_point: end.rpo_point,
            resumable: !result.finished,
            left_behind: !rr.run.orphans.is_empty() || !rr.run.thaw_failures.is_empty(),
        })
    });
    Launched { cancel, done }
}
