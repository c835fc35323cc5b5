//! Startup and the listeners: Keystone (+ `/_emulator` admin) on one port,
//! each site on its own. A site listener that is "down" closes its socket
//! (new connections are refused) and resets the connections already open, so
//! clients see a connection error, never an HTTP answer.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::errors::EmulatorError;
use crate::faults::{FaultProfile, FaultState, Outcome};
use crate::keystone::Tokens;
use crate::topology::Topology;
use crate::world::{Site, World};

/// Timings of the simulated cloud.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// Lifetime of a Keystone token.
    pub token_ttl: Duration,
    /// Time an asynchronous transition takes (creating → available, BUILD → ACTIVE, ...).
    pub transition: Duration,
    /// Time between two workload writes (one volume of one VNF per write).
    pub write_interval: Duration,
    /// Lag of asynchronous replication to the other site.
    pub replication_lag: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            token_ttl: Duration::from_secs(3600),
            transition: Duration::from_millis(300),
            write_interval: Duration::from_millis(5),
            replication_lag: Duration::from_secs(2),
        }
    }
}

/// How to start the emulator.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub host: IpAddr,
    /// 0 = any free port.
    pub keystone_port: u16,
    pub site_a_port: u16,
    pub site_b_port: u16,
    pub topology: Topology,
    pub timing: Timing,
    pub faults: FaultProfile,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            keystone_port: 0,
            site_a_port: 0,
            site_b_port: 0,
            topology: Topology::demo(),
            timing: Timing::default(),
            faults: FaultProfile::none(),
        }
    }
}

impl EmulatorConfig {
    /// Short transitions (20 ms), short replication lag (200 ms): for tests.
    pub fn fast() -> Self {
        EmulatorConfig {
            timing: Timing {
                token_ttl: Duration::from_secs(3600),
                transition: Duration::from_millis(20),
                write_interval: Duration::from_millis(2),
                replication_lag: Duration::from_millis(200),
            },
            ..Default::default()
        }
    }
    /// The fixed ports `serve` uses by default: Keystone 5100, site-a 5101, site-b 5102.
    pub fn fixed_ports(mut self) -> Self {
        self.keystone_port = 5100;
        self.site_a_port = 5101;
        self.site_b_port = 5102;
        self
    }
}

/// A site's up/down switch.
pub struct SiteSwitch {
    pub down: AtomicBool,
    tx: watch::Sender<bool>,
    /// Whether the site's listener holds its port right now (its answer to `tx`).
    bound: Arc<watch::Sender<bool>>,
    /// Connections the site's listener has accepted (how well clients
    /// reuse theirs).
    accepted: Arc<AtomicU64>,
}

impl SiteSwitch {
    fn new() -> Self {
        let (tx, _rx) = watch::channel(false);
        let (bound, _rx) = watch::channel(true);
        SiteSwitch {
            down: AtomicBool::new(false),
            tx,
            bound: Arc::new(bound),
            accepted: Arc::default(),
        }
    }
    /// How many connections the site has accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
    /// Flip the switch. The listener unbinds or binds its port soon after;
    /// [`SiteSwitch::settled`] waits for that.
    pub fn set(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        self.tx.send_replace(down);
    }
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::SeqCst)
    }
    /// Wait (at most `limit`) until the listener has acted on the switch: its
    /// port closed when down, open again when up. `false` if it did not in time
    /// (e.g. the port was taken by another process while the site was down).
    pub async fn settled(&self, limit: Duration) -> bool {
        let want_bound = !self.is_down();
        let mut rx = self.bound.subscribe();
        tokio::time::timeout(limit, rx.wait_for(|b| *b == want_bound))
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false)
    }
}

/// Everything the handlers share.
pub struct Shared {
    pub world: Mutex<World>,
    pub timing: RwLock<Timing>,
    pub faults: Mutex<FaultState>,
    pub tokens: Mutex<Tokens>,
    pub requests: Mutex<crate::request_log::RequestLog>,
    pub topology: Topology,
    pub switches: [SiteSwitch; 2],
    pub keystone_base: String,
    pub site_bases: [String; 2],
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        match self.world.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
    pub fn timing(&self) -> Timing {
        match self.timing.read() {
            Ok(t) => t.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
    pub fn fault_state(&self) -> std::sync::MutexGuard<'_, FaultState> {
        match self.faults.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
    pub fn request_log(&self) -> std::sync::MutexGuard<'_, crate::request_log::RequestLog> {
        match self.requests.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
    pub fn site_base(&self, site: Site) -> &str {
        &self.site_bases[site.index()]
    }

    /// Run an asynchronous transition: after `factor` × the transition time,
    /// apply `ok` (or `err` if the fault profile says so; nothing if stuck).
    pub fn later<F, G>(self: &Arc<Self>, site: Site, op: &'static str, factor: u32, ok: F, err: G)
    where
        F: FnOnce(&mut World) + Send + 'static,
        G: FnOnce(&mut World) + Send + 'static,
    {
        let me = self.clone();
        let delay = self.timing().transition * factor.max(1);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let outcome = me.fault_state().outcome(site, op);
            let mut w = me.lock();
            match outcome {
                Outcome::Ok => ok(&mut w),
                Outcome::Error => err(&mut w),
                Outcome::Stuck => {}
            }
        });
    }
}

/// Metadata of one accepted connection: a switch to reset it.
#[derive(Clone, Debug)]
pub struct ConnMeta {
    pub peer: SocketAddr,
    pub kill: Arc<AtomicBool>,
}

impl Connected<IncomingStream<'_, SiteListener>> for ConnMeta {
    fn connect_info(stream: IncomingStream<'_, SiteListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A stream that errors (and so is dropped by the server) once its site goes
/// down or its connection is marked to be reset.
pub struct SiteStream {
    inner: TcpStream,
    site_down: watch::Receiver<bool>,
    kill: Arc<AtomicBool>,
}

impl SiteStream {
    fn dead(&self) -> bool {
        *self.site_down.borrow() || self.kill.load(Ordering::SeqCst)
    }
}

fn reset_err() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "emulated connection reset",
    )
}

impl AsyncRead for SiteStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.dead() {
            return Poll::Ready(Err(reset_err()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for SiteStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.dead() {
            return Poll::Ready(Err(reset_err()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A listener that unbinds while its site is down and binds again when up.
pub struct SiteListener {
    addr: SocketAddr,
    inner: Option<TcpListener>,
    down: watch::Receiver<bool>,
    bound: Arc<watch::Sender<bool>>,
    accepted: Arc<AtomicU64>,
}

impl Listener for SiteListener {
    type Io = SiteStream;
    type Addr = ConnMeta;

    async fn accept(&mut self) -> (SiteStream, ConnMeta) {
        loop {
            if *self.down.borrow_and_update() {
                self.inner = None;
                self.bound.send_replace(false);
                if self.down.changed().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                continue;
            }
            if self.inner.is_none() {
                match bind_reuse(self.addr) {
                    Ok(l) => {
                        self.inner = Some(l);
                        self.bound.send_replace(true);
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                }
            }
            let Some(listener) = self.inner.as_ref() else {
                continue;
            };
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((stream, peer)) => {
                        if *self.down.borrow() {
                            drop(stream);
                            continue;
                        }
                        let _ = stream.set_nodelay(true);
                        self.accepted.fetch_add(1, Ordering::Relaxed);
                        let kill = Arc::new(AtomicBool::new(false));
                        let io = SiteStream { inner: stream, site_down: self.down.clone(), kill: kill.clone() };
                        return (io, ConnMeta { peer, kill });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                changed = self.down.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<ConnMeta> {
        Ok(ConnMeta {
            peer: self.addr,
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

fn bind_reuse(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(1024)
}

/// Bind a port (0 = any) and report the address.
pub(crate) fn bind(
    host: IpAddr,
    port: u16,
    what: &str,
) -> Result<(TcpListener, SocketAddr), EmulatorError> {
    let addr = SocketAddr::new(host, port);
    let l = bind_reuse(addr).map_err(|source| EmulatorError::Bind {
        what: what.into(),
        addr: addr.to_string(),
        source,
    })?;
    let local = l.local_addr()?;
    Ok((l, local))
}

pub(crate) fn site_listener(l: TcpListener, addr: SocketAddr, switch: &SiteSwitch) -> SiteListener {
    SiteListener {
        addr,
        inner: Some(l),
        down: switch.tx.subscribe(),
        bound: switch.bound.clone(),
        accepted: switch.accepted.clone(),
    }
}

pub(crate) fn new_switches() -> [SiteSwitch; 2] {
    [SiteSwitch::new(), SiteSwitch::new()]
}
