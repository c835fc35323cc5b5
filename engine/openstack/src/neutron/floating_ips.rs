//! Floating IPs: allocate on an external network (a given address, or the
//! next free one), associate with a port, release.

use crate::error::Result;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct FloatingIp {
    pub id: String,
    pub floating_ip_address: String,
    pub floating_network_id: String,
    #[serde(default)]
    pub port_id: Option<String>,
    #[serde(default)]
    pub fixed_ip_address: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

impl super::Neutron<'_> {
    pub async fn floating_ips(&self, filters: &[(&str, &str)]) -> Result<Vec<FloatingIp>> {
        self.list("floatingips", "floatingips", filters).await
    }

    /// Allocate a floating IP on `network_id`, `address` if given, on
    /// `port_id` (and its `fixed_ip`) if given.
    pub async fn create_floating_ip(
        &self,
        network_id: &str,
        address: Option<&str>,
        port_id: Option<&str>,
        fixed_ip: Option<&str>,
        description: &str,
    ) -> Result<FloatingIp> {
        let mut b = Map::new();
        b.insert("floating_network_id".into(), json!(network_id));
        b.insert("description".into(), json!(description));
        if let Some(a) = address {
            b.insert("floating_ip_address".into(), json!(a));
        }
        if let Some(p) = port_id {
            b.insert("port_id".into(), json!(p));
        }
        if let Some(f) = fixed_ip {
            b.insert("fixed_ip_address".into(), json!(f));
        }
        let v: Value = self
            .req(Method::POST, "floatingips")
            .json(json!({ "floatingip": b }))
            .call("POST /v2.0/floatingips")
            .resource(format!(
                "floating ip {} on network {network_id}",
                address.unwrap_or("(any)")
            ))
            .send_json()
            .await?;
        self.one("POST /v2.0/floatingips", "floatingip", v)
    }

    /// Release a floating IP; one already gone counts as released.
    pub async fn delete_floating_ip(&self, id: &str) -> Result<()> {
        self.req(Method::DELETE, format!("floatingips/{id}"))
            .call("DELETE /v2.0/floatingips/{id}")
            .resource(format!("floating ip {id}"))
            .send_delete()
            .await
    }
}
