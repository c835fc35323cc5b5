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

/// `n` distinct free loopback ports. Each listener is held until all are
/// picked: a port let go at once may be handed out again by the next bind
/// (seen in CI: two members given one client port, the second unable to
/// bind it, the "healthy" cluster one member short of what it seemed).
fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free loopback port"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("a bound port").port())
        .collect()
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
            let mut e = LocalEtcd::launch(n, &dir.join(format!("try{attempt}")));
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
        let ports = free_ports(2 * n);
        let url = |p: &u16| format!("http://127.0.0.1:{p}");
        let clients: Vec<String> = ports[..n].iter().map(url).collect();
        let peers: Vec<String> = ports[n..].iter().map(url).collect();
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
    pub fn wait_healthy(&mut self, within: Duration) {
        assert!(self.healthy_within(within), "etcd did not become healthy");
    }

    /// Whether every member started answers healthy within `within`; a
    /// member whose process has exited (a port taken meanwhile) never is.
    fn healthy_within(&mut self, within: Duration) -> bool {
        let t = Instant::now();
        loop {
            if self
                .procs
                .iter_mut()
                .flatten()
                .any(|c| !matches!(c.try_wait(), Ok(None)))
            {
                return false;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ports_picked_for_one_cluster_are_all_different() {
        let ports = free_ports(256);
        let distinct: std::collections::BTreeSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
    }
}
