//! Server groups: list, create (with a policy), delete.

use super::*;
use serde::Deserialize;

/// A server group (2.64+ shape: one `policy`).
#[derive(Debug, Clone, Deserialize)]
pub struct ServerGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub policy: String,
    #[serde(default)]
    pub members: Vec<String>,
}

impl Nova<'_> {
    /// The project's server groups (2.64+: `policy`).
    pub async fn server_groups(&self) -> Result<Vec<ServerGroup>> {
        let v: Value = self
            .req(Method::GET, "os-server-groups")
            .call("GET /os-server-groups")
            .resource("server groups")
            .send_json()
            .await?;
        let items = v
            .get("server_groups")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        parse_items(self.c, "GET /os-server-groups", items)
    }

    pub async fn create_server_group(&self, name: &str, policy: &str) -> Result<ServerGroup> {
        let v: Value = self
            .req(Method::POST, "os-server-groups")
            .json(json!({"server_group": {"name": name, "policy": policy}}))
            .call("POST /os-server-groups")
            .resource(format!("server group {name}"))
            .send_json()
            .await?;
        serde_json::from_value(v.get("server_group").cloned().unwrap_or_default()).map_err(|e| {
            crate::error::Error::new(
                ErrorKind::Decode,
                "nova POST /os-server-groups",
                name,
                self.c.site(),
                format!("unexpected answer: {e}"),
            )
        })
    }

    /// Delete a server group; one already gone counts as deleted.
    pub async fn delete_server_group(&self, id: &str) -> Result<()> {
        self.req(Method::DELETE, format!("os-server-groups/{id}"))
            .call("DELETE /os-server-groups/{id}")
            .resource(format!("server group {id}"))
            .send_delete()
            .await
    }
}
