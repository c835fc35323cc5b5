//! Availability zones: the ones that take servers now.

use super::*;

impl Nova<'_> {
    /// The availability zones that take servers now (`zoneState.available`).
    pub async fn availability_zones(&self) -> Result<Vec<String>> {
        let v: Value = self
            .req(Method::GET, "os-availability-zone")
            .call("GET /os-availability-zone")
            .resource("availability zones")
            .send_json()
            .await?;
        Ok(v.get("availabilityZoneInfo")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|z| z.pointer("/zoneState/available").and_then(Value::as_bool) == Some(true))
            .filter_map(|z| {
                z.get("zoneName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect())
    }
}
