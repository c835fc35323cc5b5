//! Networking quotas with usage (`/v2.0/quotas/{project}/details`).

use crate::error::Result;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct QuotaDetail {
    pub limit: i64,
    #[serde(default)]
    pub used: i64,
    #[serde(default)]
    pub reserved: i64,
}

impl QuotaDetail {
    /// Room for `n` more (-1 is unlimited).
    pub fn room_for(&self, n: i64) -> bool {
        self.limit < 0 || self.used + self.reserved + n <= self.limit
    }
}

impl super::Neutron<'_> {
    /// Per resource (`port`, `security_group`, …): limit, used, reserved.
    pub async fn quota_details(&self, project_id: &str) -> Result<BTreeMap<String, QuotaDetail>> {
        let v: Value = self
            .req(Method::GET, format!("quotas/{project_id}/details"))
            .call("GET /v2.0/quotas/{project_id}/details")
            .resource(format!("quotas of project {project_id}"))
            .send_json()
            .await?;
        self.one("GET /v2.0/quotas/{project_id}/details", "quota", v)
    }
}
