//! `lifeboat cluster status --config FILE`: the daemons' cluster as etcd
//! holds it (the `cluster` section of the daemon's configuration names the
//! endpoints) — its live members, and which member owns which job. Reads
//! only; joins nothing.

use super::{runtime, EXIT_ERRORS, EXIT_OK};
use lifeboat_daemon::config::Config;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// The live members and who owns which job; exit 1 when no member is live.
    Status {
        /// The daemon's configuration (its `cluster` section).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: Args) -> u8 {
    let Sub::Status { config, json } = args.command;
    let cfg = match Config::load(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    let Some(cluster) = cfg.cluster else {
        eprintln!(
            "error: {} has no `cluster` section: its daemon runs alone",
            config.display()
        );
        return EXIT_ERRORS;
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let (members, owners) = match rt.block_on(lifeboat_daemon::cluster::status(&cluster)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERRORS;
        }
    };
    if json {
        println!(
            "{}",
            serde_json::json!({"members": members, "owners": owners})
        );
    } else {
        println!("members ({}):", members.len());
        for m in &members {
            let n = owners.values().filter(|o| **o == m.name).count();
            println!(
                "  {:<16} {:<10} since {}  owns {n} job(s)",
                m.name, m.site, m.since
            );
        }
        println!("jobs owned ({}):", owners.len());
        for (job, member) in &owners {
            println!("  {job:<32} {member}");
        }
    }
    if members.is_empty() {
        1
    } else {
        EXIT_OK
    }
}
