//! Tests against REAL OpenStack: two regions (site-a, site-b) of Keystone,
//! Nova, Cinder, Glance, Placement and Swift brought up on loopback by
//! `tests/real-openstack/up.sh` (see tests/real-openstack/README.md).
//!
//! They need `LIFEBOAT_REALOS_BASE` (the stack's directory; `source
//! BASE/env`). Without it they are skipped locally and fail under CI.
//!
//! - `runbooks`: the bundled option 1 and 2 runbooks (protect, drill, recover)
//!   and option 3's (prepare, drill, failover) through the `lifeboat` binary
//!   and the harness's clouds.yaml; recover/failover with site-a down,
//!   restored and adopted volumes compared byte for byte; then option 1's
//!   VNF through the rest of the DR cycle (`cycle`: commit, site-a back and
//!   fenced, reprotect, failback, reprotect). It stops and restarts site-a:
//!   one run per stack.
//! - `differential`: the same requests against the real site-b and the
//!   emulator's site-b, answers compared (status, headers, field names and
//!   JSON types) modulo `tests/real-openstack/differential-allowlist.md`.

mod cli;
mod cycle;
mod differential;
mod dns;
mod latency;
mod runbooks;
mod support;
