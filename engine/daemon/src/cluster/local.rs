//! An etcd cluster of N members on loopback, each in its own data dir
//! (Debian's `etcd`, from the PATH): for the tests of the cluster and for
//! trying a cluster of daemons on one machine. Killed when dropped.

use super::ClusterConfig;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether an `etcd` binary is on the PATH.
pub fn installed() -> bool {
    Command::new("etcd")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

pub struct LocalEtcd {
    dir: PathBuf,
    names: Vec<String>,
    /// The members' client URLs.
    pub clients: Vec<String>,
    peers: Vec<String>,
    procs: Vec<Option<Child>>,
}

impl LocalEtcd {
    /// Start `n` members with their data and logs under `dir`; waits until
    /// every one is healthy. Ports are picked free, then bound by etcd a
    /// moment later, so another process may take one in between (tests
    /// start many clusters at once): a cluster not healthy in time is
    /// started again on other ports, three times at most.
    pub fn start(n: usize, dir: &std::path::Path) -> LocalEtcd {
        let mut attempt = 0;
        loop {
            let e = LocalEtcd::launch(n, &dir.join(format!("try{attempt}")));
            if e.healthy_within(Duration::from_secs(20)) {
                return e;
            }
            attempt += 1;
            assert!(
                attempt < 3,
                "etcd did not become healthy (3 tries; logs under {})",
                dir.display()
            );
            drop(e);
        }
    }

    fn launch(n: usize, dir: &std::path::Path) -> LocalEtcd {
        let dir = dir.to_path_buf();
        std::fs::create_dir_all(&dir).expect("the etcd test dir can be made");
        let names: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
        let clients: Vec<String> = (0..n)
            .map(|_| format!("http://127.0.0.1:{}", free_port()))
            .collect();
        let peers: Vec<String> = (0..n)
            .map(|_| format!("http://127.0.0.1:{}", free_port()))
            .collect();
        let mut e = LocalEtcd {
            dir,
            names,
            clients,
            peers,
            procs: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            e.up(i);
        }
        e
    }

    /// Start member `i` (again, on its data dir, after `down`).
    pub fn up(&mut self, i: usize) {
        let cluster: Vec<String> = self
            .names
            .iter()
            .zip(&self.peers)
            .map(|(n, p)| format!("{n}={p}"))
            .collect();
        let log = std::fs::File::create(self.dir.join(format!("{}.log", self.names[i])))
            .expect("etcd's log file can be made");
        let child = Command::new("etcd")
            .args(["--name", &self.names[i]])
            .arg("--data-dir")
            .arg(self.dir.join(&self.names[i]))
            .args(["--listen-client-urls", &self.clients[i]])
            .args(["--advertise-client-urls", &self.clients[i]])
            .args(["--listen-peer-urls", &self.peers[i]])
            .args(["--initial-advertise-peer-urls", &self.peers[i]])
            .args(["--initial-cluster", &cluster.join(",")])
            .args(["--initial-cluster-token", "lifeboat-test"])
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            // As deployed (docs/cluster.md): old revisions of finished
            // runs' journals are compacted away.
            .args([
                "--auto-compaction-mode",
                "periodic",
                "--auto-compaction-retention",
                "1h",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.procs[i] = Some(child);
    }

    /// Kill member `i` (SIGKILL).
    pub fn down(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Wait until every member that runs answers healthy; panics after
    /// `within`.
    pub fn wait_healthy(&self, within: Duration) {
        assert!(self.healthy_within(within), "etcd did not become healthy");
    }

    /// Whether every member that runs answers healthy within `within`.
    fn healthy_within(&self, within: Duration) -> bool {
        let t = Instant::now();
        loop {
            let ok = self.clients.iter().enumerate().all(|(i, c)| {
                self.procs[i].is_none()
                    || Command::new("curl")
                        .args(["-sf", "-m", "1", &format!("{c}/health")])
                        .output()
                        .map(|o| String::from_utf8_lossy(&o.stdout).contains("true"))
                        .unwrap_or(false)
            });
            if ok {
                return true;
            }
            if t.elapsed() >= within {
                return false;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A member's configuration for this cluster.
    pub fn config(&self, name: &str, site: &str, ttl: u64) -> ClusterConfig {
        ClusterConfig {
            etcd: self.clients.clone(),
            name: name.into(),
            site: site.into(),
            lease_ttl: Some(ttl),
        }
    }
}

impl Drop for LocalEtcd {
    fn drop(&mut self) {
        for i in 0..self.procs.len() {
            self.down(i);
        }
    }
}
