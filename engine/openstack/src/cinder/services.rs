//! Services and replication: the volume hosts, failover of a backend.

use super::*;
use crate::types::loose_string;
use serde::Deserialize;

/// A Cinder service (`cinder-volume@backend` on a host): named so that it
/// is not taken for the catalogue's `Service`.
#[derive(Debug, Clone, Deserialize)]
pub struct VolumeService {
    #[serde(default, deserialize_with = "loose_string")]
    pub binary: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub host: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub state: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub replication_status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub active_backend_id: String,
}

impl Cinder<'_> {
    pub async fn services(&self, binary: &str) -> Result<Vec<VolumeService>> {
        let v: Value = self
            .req(MV_FAILOVER_HOST, Method::GET, "os-services")
            .query("binary", binary)
            .call("GET /os-services")
            .resource(format!("{binary} services"))
            .send_json()
            .await?;
        let all: Vec<VolumeService> =
            serde_json::from_value(v.get("services").cloned().unwrap_or(Value::Array(vec![])))
                .map_err(|e| self.decode("GET /os-services", "services", e.to_string()))?;
        Ok(all.into_iter().filter(|s| s.binary == binary).collect())
    }

    /// Fail a backend host over (`os-services/failover`, 3.26+).
    pub async fn failover_host(&self, host: &str, backend_id: &str) -> Result<()> {
        let mut body = json!({"host": host});
        if !backend_id.is_empty() {
            body["backend_id"] = json!(backend_id);
        }
        self.req(MV_FAILOVER_HOST, Method::PUT, "os-services/failover")
            .json(body)
            .call("PUT /os-services/failover")
            .resource(format!("host {host}"))
            .send()
            .await?;
        Ok(())
    }
}
