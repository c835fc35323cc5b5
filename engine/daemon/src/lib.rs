//! `lifeboat-daemon`: runbooks on a schedule.
//!
//! | module | holds |
//! |---|---|
//! | [`clock`] | the `Clock` trait: the wall clock, and a test clock moved by hand |
//! | [`cron`] | due times: 5-field cron in a time zone, DST, missed runs |
//! | [`config`] | `lifeboat.yaml`: jobs, params, clouds, metrics listener |
//! | [`job`] | a scheduled job (compiled runbook, params, due, retention) |
//! | [`owner`] | a process identity (pid + start time) and whether it lives |
//! | [`history`] | the sqlite run history: runs, recovery points, backups |
//! | [`lock`] | one run per runbook + params, surviving restarts |
//! | [`memory`] | how the process takes memory from the kernel (no transparent huge pages) |
//! | [`run_dir`] | a run's directory: what it keeps on disk, read and written in one place |
//! | [`run_store`] | where a run's state is kept (directory, history row, lock) behind one interface; a run's lease on its lock |
//! | [`points`] | what a protect run made, read from its journal |
//! | [`retention`] | the GFS policy (pure) and the retention run's parameters |
//! | [`deadline`] | recoveries awaiting commit past their deadline (the daemon applies the default) |
//! | [`fence`] | which recovered VNFs' old sites are owed a fence, and the fencing runbook |
//! | [`metrics`] | Prometheus text from the history |
//! | [`http`] | `/metrics` and `/healthz` (axum) |
//! | [`launcher`] | how runs are started/resumed (the CLI implements it) |
//! | [`cluster`] | daemons at several sites on etcd: members, leases, who owns which job |
//! | [`daemon`] | the loop |
//!
//! Knows nothing of OpenStack: runs are started through [`launcher::Launcher`].

pub mod clock;
pub mod cluster;
pub mod config;
pub mod cron;
pub mod daemon;
pub mod deadline;
pub mod fence;
pub mod history;
pub mod http;
pub mod job;
pub mod launcher;
pub mod lock;
pub mod memory;
pub mod metrics;
pub mod owner;
pub mod points;
pub mod retention;
pub mod run_dir;
pub mod run_store;

pub use clock::{Clock, SystemClock, TestClock};
pub use daemon::{Daemon, DaemonEvent};
pub use history::History;
pub use job::Job;
