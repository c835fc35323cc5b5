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
    /// The project's server groups (2.64+: `policy`), every page: Nova
    /// answers at most its `max_limit` (1,000 by default) with no link to
    /// the rest, so the list is asked again from the next `offset` until a
    /// page brings nothing new (a service that ignores `offset` repeats its
    /// first page, which ends it too).
    pub async fn server_groups(&self) -> Result<Vec<ServerGroup>> {
        let mut all: Vec<ServerGroup> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut v: Value = self
                .req(Method::GET, "os-server-groups")
                .query("offset", all.len().to_string())
                .call("GET /os-server-groups")
                .resource("server groups")
                .send_json()
                .await?;
            let items = match v.get_mut("server_groups").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let page: Vec<ServerGroup> = parse_items(self.c, "GET /os-server-groups", items)?;
            let before = all.len();
            all.extend(page.into_iter().filter(|g| seen.insert(g.id.clone())));
            if all.len() == before {
                return Ok(all);
            }
        }
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
