//! The HTTP connections of a process's clients: one pool per TLS trust,
//! shared by every [`crate::Client`] made with the same [`Connections`].
//!
//! A client (one site of one run) keeps its own token, retry budget and
//! adaptive in-flight limit; what clients made with one `Connections` share
//! is the connection pool. A daemon protecting a hundred VNFs at once would
//! otherwise keep a pool per run and site: at 10,000 VMs against the
//! emulator, ~1,100 connections and 100 MiB more, and more CPU on both ends
//! of each request; against a real cloud, a TLS handshake per run and
//! endpoint as well.
//!
//! Shared within one tokio runtime: a pooled connection is served by a task
//! of the runtime that opened it, so a process that makes runtimes one
//! after the other makes a `Connections` in each.

use crate::config::CloudConfig;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connection pools by TLS trust. Cloning shares them.
#[derive(Clone, Default)]
pub struct Connections {
    pools: Arc<Mutex<HashMap<Trust, reqwest::Client>>>,
}

/// What a pool's connections trust: clouds that agree share it.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Trust {
    verify: bool,
    /// The extra CA bundle's PEM text.
    cacert: Option<Vec<u8>>,
}

impl Connections {
    /// No pool yet: each is made by the first client that needs it.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many pools there are (one per TLS trust in use).
    pub fn pools(&self) -> usize {
        self.pools.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The HTTP client (pool) of `cloud`'s TLS trust, made the first time.
    /// A `cacert` that cannot be read or is not PEM is the cloud's
    /// configuration error.
    pub(crate) fn for_cloud(&self, cloud: &CloudConfig) -> Result<reqwest::Client> {
        let cacert = match &cloud.cacert {
            None => None,
            Some(ca) => Some(std::fs::read(ca).map_err(|e| {
                Error::config(format!(
                    "cloud {}: cannot read cacert {}: {e}",
                    cloud.name,
                    ca.display()
                ))
            })?),
        };
        let trust = Trust {
            verify: cloud.verify,
            cacert,
        };
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(http) = pools.get(&trust) {
            return Ok(http.clone());
        }
        let http = build(cloud, &trust)?;
        pools.insert(trust, http.clone());
        Ok(http)
    }
}

fn build(cloud: &CloudConfig, trust: &Trust) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .user_agent(concat!("lifeboat/", env!("CARGO_PKG_VERSION")));
    if !trust.verify {
        b = b.danger_accept_invalid_certs(true);
    }
    if let (Some(pem), Some(ca)) = (&trust.cacert, &cloud.cacert) {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| {
            Error::config(format!(
                "cloud {}: cacert {} is not PEM: {e}",
                cloud.name,
                ca.display()
            ))
        })?;
        b = b.add_root_certificate(cert);
    }
    b.build()
        .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
}
