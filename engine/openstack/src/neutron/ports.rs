//! Ports: list (by network, device, fixed IP, description…), show,
//! create with fixed IPs / MAC / allowed-address pairs / security groups,
//! update, delete.

use crate::error::Result;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedIp {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subnet_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPair {
    pub ip_address: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac_address: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Port {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub network_id: String,
    #[serde(default)]
    pub mac_address: String,
    #[serde(default)]
    pub fixed_ips: Vec<FixedIp>,
    #[serde(default)]
    pub allowed_address_pairs: Vec<AddressPair>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub port_security_enabled: Option<bool>,
    #[serde(default)]
    pub device_id: String,
    #[serde(default)]
    pub device_owner: String,
    #[serde(rename = "binding:vnic_type", default)]
    pub vnic_type: Option<String>,
    #[serde(default)]
    pub dns_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub status: String,
}

/// `POST /v2.0/ports`: what a new port asks for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PortSpec {
    pub network_id: String,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixed_ips: Vec<FixedIp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_address_pairs: Vec<AddressPair>,
    pub security_groups: Vec<String>,
    pub port_security_enabled: bool,
    #[serde(rename = "binding:vnic_type")]
    pub vnic_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dns_name: String,
}

impl super::Neutron<'_> {
    pub async fn ports(&self, filters: &[(&str, &str)]) -> Result<Vec<Port>> {
        self.list("ports", "ports", filters).await
    }

    /// The ports bound to any of `devices` (servers, routers), asked for a
    /// batch of devices at a time (`device_id` repeated: Neutron matches
    /// any of them), never every port of the project: at a site of 10,000
    /// servers that list is ten megabytes.
    pub async fn ports_of_devices(&self, devices: &[&str]) -> Result<Vec<Port>> {
        self.list_any_of("ports", "ports", "device_id", devices)
            .await
    }

    pub async fn port(&self, id: &str) -> Result<Port> {
        let v: Value = self
            .req(Method::GET, format!("ports/{id}"))
            .call("GET /v2.0/ports/{id}")
            .resource(format!("port {id}"))
            .send_json()
            .await?;
        self.one("GET /v2.0/ports/{id}", "port", v)
    }

    /// Create a port. Not sent twice by the client: a lost answer comes back
    /// as a transient error, and the caller looks for the port by its
    /// description before making it again.
    pub async fn create_port(&self, spec: &PortSpec) -> Result<Port> {
        let mut body = serde_json::to_value(spec).unwrap_or_default();
        if !spec.port_security_enabled {
            // Neutron refuses security groups with port security off.
            body["security_groups"] = json!([]);
        }
        let v: Value = self
            .req(Method::POST, "ports")
            .json(json!({ "port": body }))
            .call("POST /v2.0/ports")
            .resource(format!("port {} on network {}", spec.name, spec.network_id))
            .send_json()
            .await?;
        self.one("POST /v2.0/ports", "port", v)
    }

    pub async fn update_port(&self, id: &str, changes: Value) -> Result<Port> {
        let v: Value = self
            .req(Method::PUT, format!("ports/{id}"))
            .idempotent()
            .json(json!({ "port": changes }))
            .call("PUT /v2.0/ports/{id}")
            .resource(format!("port {id}"))
            .send_json()
            .await?;
        self.one("PUT /v2.0/ports/{id}", "port", v)
    }

    /// Delete a port; one already gone counts as deleted.
    pub async fn delete_port(&self, id: &str) -> Result<()> {
        self.req(Method::DELETE, format!("ports/{id}"))
            .call("DELETE /v2.0/ports/{id}")
            .resource(format!("port {id}"))
            .send_delete()
            .await
    }
}
