//! lifeboat-emulator: a two-site OpenStack (Keystone v3, Nova v2.1, Cinder v3,
//! Glance v2, Swift) on loopback, speaking the real REST APIs, with volumes
//! that hold content, a live workload, asynchronous replication, backups held
//! at the other site, fault injection and site outages. See README.md.

// Handlers answer `Result<Response, Response>`: both arms are complete HTTP
// answers, so the large error variant is the point, not an accident.
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod body;
pub mod cinder;
pub mod clouds;
pub mod content;
pub mod designate;
pub mod errors;
pub mod faults;
pub mod glance;
pub mod keystone;
pub mod microversion;
pub mod neutron;
pub mod nova;
pub mod quota;
pub mod request_log;
pub mod routing;
pub mod server;
pub mod swift;
pub mod swift_sync;
pub mod table;
pub mod topology;
pub mod workload;
pub mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::errors::EmulatorError;
pub use crate::faults::{FaultProfile, FaultRule, Latency, RateLimit};
pub use crate::server::{EmulatorConfig, Timing};
pub use crate::topology::Topology;
pub use crate::world::Site;

use crate::faults::FaultState;
use crate::keystone::Tokens;
use crate::routing::SiteState;
use crate::server::Shared;

/// Entry point.
pub struct Emulator;

/// A running emulator. Dropping it does not stop it; call `shutdown`.
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    keystone_addr: SocketAddr,
    site_addrs: [SocketAddr; 2],
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Emulator {
    /// Bind the listeners and start serving on the current tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        config.topology.validate()?;
        let (ks_listener, ks_addr) = server::bind(config.host, config.keystone_port, "keystone")?;
        let (a_listener, a_addr) = server::bind(config.host, config.site_a_port, "site-a")?;
        let (b_listener, b_addr) = server::bind(config.host, config.site_b_port, "site-b")?;
        let mut faults = FaultState::default();
        faults.set(config.faults.clone());
        let shared = Arc::new(Shared {
            world: Mutex::new(config.topology.seed()),
            timing: RwLock::new(config.timing.clone()),
            faults: Mutex::new(faults),
            tokens: Mutex::new(Tokens::default()),
            requests: Mutex::new(request_log::RequestLog::default()),
            topology: config.topology.clone(),
            switches: server::new_switches(),
            keystone_base: format!("http://{ks_addr}"),
            site_bases: [format!("http://{a_addr}"), format!("http://{b_addr}")],
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();

        let ks_router = keystone_router(shared.clone());
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(ks_listener, ks_router)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
        }));
        for (site, listener, addr) in [(Site::A, a_listener, a_addr), (Site::B, b_listener, b_addr)]
        {
            let router = Router::new()
                .fallback(routing::entry)
                .with_state(SiteState {
                    shared: shared.clone(),
                    site,
                });
            let listener = server::site_listener(listener, addr, &shared.switches[site.index()]);
            let mut rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<server::ConnMeta>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await;
            }));
        }
        tasks.push(tokio::spawn(workload::run(shared.clone(), stop_rx)));
        Ok(EmulatorHandle {
            shared,
            keystone_addr: ks_addr,
            site_addrs: [a_addr, b_addr],
            stop: stop_tx,
            tasks,
        })
    }
}

fn keystone_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(keystone::versions))
        .route("/v3", get(keystone::version))
        .route("/v3/", get(keystone::version))
        .route(
            "/v3/auth/tokens",
            post(keystone::issue)
                .get(keystone::validate)
                .head(keystone::validate)
                .delete(keystone::revoke),
        )
        .route("/v3/auth/catalog", get(keystone::get_catalog))
        .route("/v3/auth/projects", get(keystone::projects))
        .route("/v3/users/{id}/projects", get(keystone::projects))
        .route("/v3/regions", get(keystone::regions))
        .route("/_emulator/status", get(admin::status))
        .route("/_emulator/sites/{site}/down", post(admin::site_down))
        .route("/_emulator/sites/{site}/up", post(admin::site_up))
        .route("/_emulator/sites/{site}/replicas", get(admin::replicas))
        .route(
            "/_emulator/sites/{site}/quotas",
            get(admin::get_quotas).put(admin::put_quotas),
        )
        .route(
            "/_emulator/sites/{site}/{kind}/{id}/checksum",
            get(admin::checksum),
        )
        .route(
            "/_emulator/faults",
            get(admin::get_faults)
                .put(admin::put_faults)
                .delete(admin::delete_faults),
        )
        .route("/_emulator/invariant", post(admin::invariant))
        .route(
            "/_emulator/timing",
            get(admin::get_timing).put(admin::put_timing),
        )
        .route("/_emulator/tokens/expire", post(admin::expire_tokens))
        .route("/_emulator/clouds.yaml", get(admin::clouds))
        .route("/_emulator/vnfm/hook", post(admin::vnfm_hook))
        .route(
            "/_emulator/requests",
            get(admin::get_requests).delete(admin::delete_requests),
        )
        .fallback(keystone::not_found)
        .with_state(shared)
}

impl EmulatorHandle {
    /// `http://127.0.0.1:PORT/v3`
    pub fn keystone_url(&self) -> String {
        format!("http://{}/v3", self.keystone_addr)
    }
    /// `http://127.0.0.1:PORT` (root of the Keystone listener, where `/_emulator` lives).
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.keystone_addr)
    }
    /// `http://127.0.0.1:PORT`: root of the site's services.
    pub fn site_url(&self, site: Site) -> String {
        format!("http://{}", self.site_addrs[site.index()])
    }
    pub fn keystone_addr(&self) -> SocketAddr {
        self.keystone_addr
    }
    pub fn site_addr(&self, site: Site) -> SocketAddr {
        self.site_addrs[site.index()]
    }
    pub fn clouds_yaml(&self) -> String {
        clouds::clouds_yaml(&self.shared.keystone_base, &self.shared.topology)
    }
    pub fn write_clouds_yaml(&self, path: &std::path::Path) -> Result<(), EmulatorError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        std::fs::write(path, self.clouds_yaml())?;
        Ok(())
    }
    pub fn set_site_down(&self, site: Site, down: bool) {
        self.shared.switches[site.index()].set(down);
    }
    pub fn is_site_down(&self, site: Site) -> bool {
        self.shared.switches[site.index()].is_down()
    }
    fn checksum(&self, site: Site, kind: &str, id: &str) -> Option<String> {
        let w = self.shared.lock();
        admin::content_of(&w, site, kind, id).map(|c| c.checksum())
    }
    pub fn volume_checksum(&self, site: Site, id: &str) -> Option<String> {
        self.checksum(site, "volumes", id)
    }
    pub fn snapshot_checksum(&self, site: Site, id: &str) -> Option<String> {
        self.checksum(site, "snapshots", id)
    }
    pub fn backup_checksum(&self, site: Site, id: &str) -> Option<String> {
        self.checksum(site, "backups", id)
    }
    /// Checksum of the backend replica `reference` (`volume-<source id>`) a site holds.
    pub fn replica_checksum(&self, site: Site, reference: &str) -> Option<String> {
        self.checksum(site, "replicas", reference)
    }
    pub fn set_faults(&self, profile: FaultProfile) {
        self.shared.fault_state().set(profile);
    }
    pub fn clear_faults(&self) {
        self.shared.fault_state().set(FaultProfile::none());
    }
    pub fn timing(&self) -> Timing {
        self.shared.timing()
    }
    pub fn set_timing(&self, t: Timing) {
        match self.shared.timing.write() {
            Ok(mut g) => *g = t,
            Err(p) => *p.into_inner() = t,
        }
    }
    /// Set quota limits of the topology's project at `site` (`("volumes", 5)`,
    /// any Cinder or Nova quota name, -1 = unlimited). A bad pair changes nothing.
    pub fn set_quotas(&self, site: Site, limits: &[(&str, i64)]) -> Result<(), EmulatorError> {
        let changes: serde_json::Map<String, serde_json::Value> = limits
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        let project = self.shared.topology.project_id();
        let mut w = self.shared.lock();
        let s = w.site_mut(site);
        let mut q = quota::quotas_of(s, &project);
        q.apply(&changes, &quota::all_keys())
            .map_err(EmulatorError::Admin)?;
        s.quotas.insert(project, q);
        Ok(())
    }
    /// Limits and usage of the topology's project at `site` (as the admin API answers).
    pub fn quotas(&self, site: Site) -> serde_json::Value {
        let w = self.shared.lock();
        quota::admin_view(w.site(site), &self.shared.topology.project_id())
    }
    /// Make every issued token expire now.
    pub fn expire_tokens(&self) {
        keystone::sh_tokens(&self.shared).expire_all();
    }
    /// Check the workload invariant over volumes of a site: (ok, detail).
    pub fn check_invariant(&self, site: Site, volume_ids: &[&str]) -> (bool, String) {
        let w = self.shared.lock();
        let items: Vec<_> = volume_ids
            .iter()
            .filter_map(|id| {
                admin::content_of(&w, site, "volumes", id).map(|c| (id.to_string(), c))
            })
            .collect();
        if items.len() != volume_ids.len() {
            return (false, "some volumes do not exist".into());
        }
        let (ok, detail, _) = workload::check_invariant(&items);
        (ok, detail)
    }
    /// Stop serving and wait for the listeners to close.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for s in &self.shared.switches {
            s.set(true);
        }
        for t in self.tasks {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), t).await;
        }
    }
}

/// Options of the blocking `serve` entry point.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub config: EmulatorConfig,
    /// Where to write clouds.yaml (default `./clouds.yaml`).
    pub clouds_yaml_path: PathBuf,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            config: EmulatorConfig::default().fixed_ports(),
            clouds_yaml_path: PathBuf::from("clouds.yaml"),
        }
    }
}

/// Run the emulator until Ctrl-C (blocking; builds its own runtime).
/// Writes clouds.yaml and prints how to use it.
pub fn serve(opts: ServeOptions) -> Result<(), EmulatorError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let h = Emulator::start(opts.config).await?;
        h.write_clouds_yaml(&opts.clouds_yaml_path)?;
        let path =
            std::fs::canonicalize(&opts.clouds_yaml_path).unwrap_or(opts.clouds_yaml_path.clone());
        println!(
            "lifeboat emulator: keystone {} · site-a {} · site-b {}",
            h.keystone_url(),
            h.site_url(Site::A),
            h.site_url(Site::B)
        );
        println!("admin: {}/_emulator/status", h.admin_url());
        println!("export OS_CLIENT_CONFIG_FILE={}", path.display());
        println!("export OS_CLOUD=emulator-site-a   # or emulator-site-b, emulator");
        println!("Ctrl-C to stop.");
        let _ = tokio::signal::ctrl_c().await;
        h.shutdown().await;
        Ok(())
    })
}

/// A minimal HTTP/1.1 call to the admin endpoints (for `lifeboat emulator down|up`):
/// returns (status, body).
pub fn admin_request(
    admin_base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), EmulatorError> {
    use std::io::{Read, Write};
    let u = url::Url::parse(admin_base).map_err(|e| EmulatorError::Admin(e.to_string()))?;
    let host = u.host_str().unwrap_or("127.0.0.1").to_string();
    let port = u.port_or_known_default().unwrap_or(80);
    let mut s = std::net::TcpStream::connect((host.as_str(), port))
        .map_err(|e| EmulatorError::Admin(format!("{admin_base}: {e}")))?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| EmulatorError::Admin("malformed answer".into()))?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
