//! Limits: the project's absolute limits and usage.

use super::*;

impl Nova<'_> {
    /// The absolute limits and usage of the project (`maxTotalInstances`,
    /// `totalInstancesUsed`, `maxTotalCores`, …, `maxServerGroups`).
    pub async fn limits(&self) -> Result<serde_json::Map<String, Value>> {
        let v: Value = self
            .req(Method::GET, "limits")
            .call("GET /limits")
            .resource("compute limits")
            .send_json()
            .await?;
        Ok(v.pointer("/limits/absolute")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }
}
