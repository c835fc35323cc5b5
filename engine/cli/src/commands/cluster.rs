//! `lifeboat cluster status --config FILE`: the daemons' cluster as etcd
//! holds it (the `cluster` section of the daemon's configuration names the
//! endpoints) — its live members, which member owns which job, and the
//! runs going on. Reads only; joins nothing.

use super::runtime;
use crate::error::{CmdResult, Exit};
use lifeboat_daemon::cluster::ClusterConfig;
use lifeboat_daemon::config::Config;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// The live members, who owns which job, the runs going on; exit 1
    /// when no member is live.
    Status {
        /// The daemon's configuration (its `cluster` section).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// The `cluster` section of the daemon configuration `config` (what
/// `runs --cluster` and `show --cluster` read too).
pub fn section(config: &Path) -> Result<ClusterConfig, String> {
    let cfg = Config::load(config).map_err(|e| e.to_string())?;
    cfg.cluster.ok_or_else(|| {
        format!(
            "{} has no `cluster` section: its daemon runs alone (its runs are in its state dir)",
            config.display()
        )
    })
}

pub fn run(args: Args) -> CmdResult {
    let Sub::Status { config, json } = args.command;
    let cluster = section(&config)?;
    let rt = runtime()?;
    let st = rt
        .block_on(lifeboat_daemon::cluster::status(&cluster))
        .map_err(|e| e.to_string())?;
    let (members, owners) = (&st.members, &st.owners);
    if json {
        println!("{}", serde_json::to_string(&st).expect("status serializes"));
    } else {
        println!("members ({}):", members.len());
        for m in members {
            let n = owners.values().filter(|o| **o == m.name).count();
            println!(
                "  {:<16} {:<10} since {}  owns {n} job(s)",
                m.name, m.site, m.since
            );
        }
        println!("jobs owned ({}):", owners.len());
        for (job, member) in owners {
            println!("  {job:<32} {member}");
        }
        println!("runs going on ({}):", st.runs.len());
        for (run, job) in &st.runs {
            let member = owners.get(job).map(String::as_str).unwrap_or("nobody yet");
            println!("  {run:<12} job {job:<32} run by {member}");
        }
    }
    if members.is_empty() {
        // Said (`members (0):`), and the status is 1.
        Ok(Exit::Warnings)
    } else {
        Ok(Exit::Ok)
    }
}
