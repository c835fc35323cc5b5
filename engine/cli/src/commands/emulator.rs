//! `lifeboat emulator serve|down|up|fault|expire-tokens`: the two-site
//! OpenStack emulator for trying runbooks without a cloud.
//!
//! `serve` runs both sites until Ctrl-C or SIGTERM, writes clouds.yaml (default
//! `<state>/emulator/clouds.yaml`) and `emulator.json` (its admin URL) next
//! to it, so `lifeboat run` finds it when no cloud is configured. The other
//! subcommands act on a running emulator through its admin endpoints.

use super::runtime;
use crate::cloud::EmulatorInfo;
use crate::error::{CmdResult, Exit};
use crate::state::{self, EMULATOR_INFO};
use lifeboat_emulator::{Emulator, EmulatorConfig, FaultProfile, Topology};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<PathBuf>,
}

#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Run both sites until Ctrl-C.
    Serve(ServeArgs),
    /// Take a site down (connections refused), e.g. `site-a`.
    Down(SiteArgs),
    /// Bring a site back.
    Up(SiteArgs),
    /// Set (`--profile FILE`), clear (`--clear`) or show the fault profile.
    Fault(FaultArgs),
    /// Expire every issued token now.
    ExpireTokens(AdminArgs),
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// A topology YAML (default: the demo VNF `vims` at site-a).
    #[arg(long, value_name = "FILE")]
    pub topology: Option<PathBuf>,
    /// A fault profile YAML (latency, error rates, rate limits).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Keystone/admin port; the sites take the next two (0: any free ports).
    #[arg(long, default_value_t = 5100)]
    pub port: u16,
    /// Where to write clouds.yaml (default <state>/emulator/clouds.yaml).
    #[arg(long, value_name = "PATH")]
    pub clouds_yaml: Option<PathBuf>,
    /// Test timing (20 ms transitions) instead of realistic timing.
    #[arg(long)]
    pub fast: bool,
}

#[derive(clap::Args, Debug)]
pub struct AdminArgs {
    /// The admin base URL (default: the one `serve` left in the state dir).
    #[arg(long, value_name = "URL")]
    pub admin: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct SiteArgs {
    /// `site-a` or `site-b`.
    pub site: String,
    #[command(flatten)]
    pub admin: AdminArgs,
}

#[derive(clap::Args, Debug)]
pub struct FaultArgs {
    #[arg(long, value_name = "FILE", conflicts_with = "clear")]
    pub profile: Option<PathBuf>,
    #[arg(long)]
    pub clear: bool,
    #[command(flatten)]
    pub admin: AdminArgs,
}

pub fn run(args: Args) -> CmdResult {
    let state = state::state_dir(args.state_dir.as_deref())?;
    match args.command {
        Sub::Serve(a) => serve(a, &state),
        Sub::Down(a) => site(&a, &state, "down"),
        Sub::Up(a) => site(&a, &state, "up"),
        Sub::Fault(a) => fault(a, &state),
        Sub::ExpireTokens(a) => admin(&a, &state, "POST", "/_emulator/tokens/expire", None),
    }?;
    Ok(Exit::Ok)
}

fn serve(a: ServeArgs, state: &std::path::Path) -> Result<(), String> {
    let mut config = if a.fast {
        EmulatorConfig::fast()
    } else {
        EmulatorConfig::default()
    };
    config.keystone_port = a.port;
    config.site_a_port = if a.port == 0 {
        0
    } else {
        a.port.checked_add(1).ok_or("--port too large")?
    };
    config.site_b_port = if a.port == 0 {
        0
    } else {
        a.port.checked_add(2).ok_or("--port too large")?
    };
    if let Some(t) = &a.topology {
        config.topology =
            Topology::from_yaml_file(t).map_err(|e| format!("topology {}: {e}", t.display()))?;
    }
    if let Some(p) = &a.profile {
        config.faults = FaultProfile::from_yaml_file(p)
            .map_err(|e| format!("fault profile {}: {e}", p.display()))?;
    }
    let dir = state::emulator_dir(state);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let clouds = a
        .clouds_yaml
        .clone()
        .unwrap_or_else(|| dir.join("clouds.yaml"));
    let info_path = dir.join(EMULATOR_INFO);
    let rt = runtime()?;
    rt.block_on(async move {
        let h = Emulator::start(config)
            .await
            .map_err(|e| format!("cannot start the emulator: {e}"))?;
        h.write_clouds_yaml(&clouds)
            .map_err(|e| format!("cannot write {}: {e}", clouds.display()))?;
        let clouds_abs = std::fs::canonicalize(&clouds).unwrap_or(clouds.clone());
        let info = EmulatorInfo {
            admin_url: h.admin_url(),
            clouds_yaml: clouds_abs.clone(),
            pid: std::process::id(),
        };
        state::write_json(&info_path, &info)?;
        println!(
            "lifeboat emulator: keystone {} · site-a {} · site-b {}",
            h.keystone_url(),
            h.site_url(lifeboat_emulator::Site::A),
            h.site_url(lifeboat_emulator::Site::B)
        );
        println!("admin: {}/_emulator/status", h.admin_url());
        println!("clouds.yaml: {}", clouds_abs.display());
        println!("`lifeboat run` uses it when no cloud is configured; for other tools:");
        println!("export OS_CLIENT_CONFIG_FILE={}", clouds_abs.display());
        println!("export OS_CLOUD=emulator   # region = site: --os-region-name site-a|site-b");
        println!("Ctrl-C to stop.");
        stopped().await;
        let _ = std::fs::remove_file(&info_path);
        h.shutdown().await;
        Ok(())
    })
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM: either stops `serve` cleanly
/// (emulator.json removed, listeners closed).
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn admin_base(a: &AdminArgs, state: &std::path::Path) -> Result<String, String> {
    if let Some(u) = &a.admin {
        return Ok(u.clone());
    }
    let p = state::emulator_dir(state).join(EMULATOR_INFO);
    state::read_json::<EmulatorInfo>(&p)
        .map(|i| i.admin_url)
        .map_err(|_| format!("no running emulator found ({} is missing): start one with `lifeboat emulator serve`, or pass --admin URL", p.display()))
}

fn admin(
    a: &AdminArgs,
    state: &std::path::Path,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(), String> {
    let base = admin_base(a, state)?;
    let (status, body) = lifeboat_emulator::admin_request(&base, method, path, body)
        .map_err(|e| format!("the emulator at {base} did not answer: {e} (is `lifeboat emulator serve` running?)"))?;
    if !(200..300).contains(&status) {
        return Err(format!("the emulator answered {status}: {}", body.trim()));
    }
    if !body.trim().is_empty() {
        println!("{}", body.trim());
    }
    Ok(())
}

fn site(a: &SiteArgs, state: &std::path::Path, what: &str) -> Result<(), String> {
    if a.site != "site-a" && a.site != "site-b" {
        return Err(format!(
            "unknown site `{}`: the emulator has site-a and site-b",
            a.site
        ));
    }
    admin(
        &a.admin,
        state,
        "POST",
        &format!("/_emulator/sites/{}/{what}", a.site),
        None,
    )
}

fn fault(a: FaultArgs, state: &std::path::Path) -> Result<(), String> {
    if a.clear {
        return admin(&a.admin, state, "DELETE", "/_emulator/faults", None);
    }
    match &a.profile {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            FaultProfile::from_yaml_str(&text)
                .map_err(|e| format!("fault profile {}: {e}", p.display()))?;
            admin(&a.admin, state, "PUT", "/_emulator/faults", Some(&text))
        }
        None => admin(&a.admin, state, "GET", "/_emulator/faults", None),
    }
}
