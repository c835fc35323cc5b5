//! Security groups and their rules.

use crate::error::{ErrorKind, Result};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    pub id: String,
    pub security_group_id: String,
    pub direction: String,
    #[serde(default)]
    pub ethertype: String,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub port_range_min: Option<u32>,
    #[serde(default)]
    pub port_range_max: Option<u32>,
    #[serde(default)]
    pub remote_ip_prefix: Option<String>,
    #[serde(default)]
    pub remote_group_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub security_group_rules: Vec<Rule>,
}

/// `POST /v2.0/security-group-rules`.
#[derive(Debug, Clone, Serialize)]
pub struct RuleSpec {
    pub security_group_id: String,
    pub direction: String,
    pub ethertype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_range_min: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_range_max: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_ip_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_group_id: Option<String>,
}

impl super::Neutron<'_> {
    pub async fn security_groups(&self, filters: &[(&str, &str)]) -> Result<Vec<SecurityGroup>> {
        self.list("security-groups", "security_groups", filters)
            .await
    }

    /// The security groups of these ids (those gone are not listed), a
    /// batch at a time (`id` repeated: Neutron matches any of them), never
    /// every group of the project with all its rules.
    pub async fn security_groups_by_id(&self, ids: &[&str]) -> Result<Vec<SecurityGroup>> {
        self.list_any_of("security-groups", "security_groups", "id", ids)
            .await
    }

    pub async fn create_security_group(
        &self,
        name: &str,
        description: &str,
    ) -> Result<SecurityGroup> {
        let v: Value = self
            .req(Method::POST, "security-groups")
            .json(json!({"security_group": {"name": name, "description": description}}))
            .call("POST /v2.0/security-groups")
            .resource(format!("security group {name}"))
            .send_json()
            .await?;
        self.one("POST /v2.0/security-groups", "security_group", v)
    }

    /// Add a rule; `Ok(None)` when an equal rule is there already
    /// (`SecurityGroupRuleExists`), which makes the call safe to repeat.
    pub async fn create_rule(&self, spec: &RuleSpec) -> Result<Option<Rule>> {
        let r = self
            .req(Method::POST, "security-group-rules")
            .idempotent()
            .json(json!({"security_group_rule": spec}))
            .call("POST /v2.0/security-group-rules")
            .resource(format!("rule of security group {}", spec.security_group_id))
            .send_json::<Value>()
            .await;
        match r {
            Ok(v) => Ok(Some(self.one(
                "POST /v2.0/security-group-rules",
                "security_group_rule",
                v,
            )?)),
            Err(e) if e.kind == ErrorKind::Conflict => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Delete a group; one already gone counts as deleted.
    pub async fn delete_security_group(&self, id: &str) -> Result<()> {
        self.req(Method::DELETE, format!("security-groups/{id}"))
            .call("DELETE /v2.0/security-groups/{id}")
            .resource(format!("security group {id}"))
            .send_delete()
            .await
    }
}
