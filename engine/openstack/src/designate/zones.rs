//! Zones: found by name, shown (for their status and serial).

use crate::error::Result;
use reqwest::Method;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub ttl: Option<u64>,
    #[serde(default)]
    pub serial: u64,
    pub status: String,
    #[serde(default)]
    pub action: String,
}

impl super::Designate<'_> {
    /// The zones of the project, filtered (`name`, `status`, …).
    pub async fn zones(&self, filters: &[(&str, &str)]) -> Result<Vec<Zone>> {
        self.list("zones", "zones", filters).await
    }

    pub async fn zone(&self, id: &str) -> Result<Zone> {
        self.req(Method::GET, format!("zones/{id}"))
            .call("GET /v2/zones/{id}")
            .resource(format!("zone {id}"))
            .send_json()
            .await
    }
}
