//! Recordsets: found by name and type across the project's zones, shown,
//! updated (records, TTL; a PUT, so repeatable after a lost answer).

use crate::error::Result;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct RecordSet {
    pub id: String,
    pub zone_id: String,
    #[serde(default)]
    pub zone_name: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// None: the zone's TTL.
    #[serde(default)]
    pub ttl: Option<u64>,
    #[serde(default)]
    pub records: Vec<String>,
    pub status: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub version: u64,
}

impl super::Designate<'_> {
    /// Recordsets of every zone of the project, filtered (`name`, `type`, …).
    pub async fn recordsets(&self, filters: &[(&str, &str)]) -> Result<Vec<RecordSet>> {
        self.list("recordsets", "recordsets", filters).await
    }

    pub async fn recordset(&self, zone: &str, id: &str) -> Result<RecordSet> {
        self.req(Method::GET, format!("zones/{zone}/recordsets/{id}"))
            .call("GET /v2/zones/{zone}/recordsets/{id}")
            .resource(format!("recordset {id} of zone {zone}"))
            .send_json()
            .await
    }

    /// Set a recordset's records and/or TTL (`Some(None)`: the zone's).
    pub async fn update_recordset(
        &self,
        zone: &str,
        id: &str,
        records: Option<&[String]>,
        ttl: Option<Option<u64>>,
    ) -> Result<RecordSet> {
        let mut b = Map::new();
        if let Some(r) = records {
            b.insert("records".into(), Value::from(r.to_vec()));
        }
        if let Some(t) = ttl {
            b.insert("ttl".into(), t.map(Value::from).unwrap_or(Value::Null));
        }
        self.req(Method::PUT, format!("zones/{zone}/recordsets/{id}"))
            .json(Value::Object(b))
            .call("PUT /v2/zones/{zone}/recordsets/{id}")
            .resource(format!("recordset {id} of zone {zone}"))
            .send_json()
            .await
    }
}
