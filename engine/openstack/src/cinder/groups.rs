//! Generic volume groups: show, list, their type, create, add and remove
//! volumes, manageable volumes, delete, replication failover.

use super::*;
use crate::types::loose_string;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct Group {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub group_type: String,
    /// With `list_volume=True` (3.25+).
    #[serde(default)]
    pub volumes: Vec<String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub replication_status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupBody {
    pub group: Group,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupType {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
}

/// `POST /groups`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateGroup<'a> {
    pub group: GroupSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupSpec<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub group_type: &'a str,
    pub volume_types: &'a [String],
}

/// `PUT /groups/{id}` (comma-separated volume ids).
#[derive(Debug, Clone, Serialize)]
pub struct UpdateGroup {
    pub group: GroupChange,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_volumes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remove_volumes: Option<String>,
}

impl Cinder<'_> {
    pub async fn group(&self, id: &str) -> Result<Group> {
        let b: GroupBody = self
            .req(MV_GROUPS, Method::GET, format!("groups/{id}"))
            .query("list_volume", "True")
            .call("GET /groups/{id}")
            .resource(format!("group {id}"))
            .send_json()
            .await?;
        Ok(b.group)
    }

    /// A group with its `replication_status` (3.38+).
    pub async fn group_replication(&self, id: &str) -> Result<Group> {
        let b: GroupBody = self
            .req(MV_GROUP_REPLICATION, Method::GET, format!("groups/{id}"))
            .query("list_volume", "True")
            .call("GET /groups/{id}")
            .resource(format!("group {id}"))
            .send_json()
            .await?;
        Ok(b.group)
    }

    pub async fn groups(&self) -> Result<Vec<Group>> {
        let items = self
            .req(MV_GROUPS, Method::GET, "groups/detail")
            .query("list_volume", "True")
            .call("GET /groups/detail")
            .resource("groups")
            .send_paged("groups")
            .await?;
        parse_items(self.c, "GET /groups/detail", items)
    }

    /// The default group type, else the first one, else none.
    pub async fn default_group_type(&self) -> Result<Option<GroupType>> {
        let d: Result<Value> = self
            .req(MV_GROUPS, Method::GET, "group_types/default")
            .call("GET /group_types/default")
            .resource("default group type")
            .send_json()
            .await;
        match d {
            Ok(v) => {
                if let Some(gt) = v
                    .get("group_type")
                    .cloned()
                    .and_then(|g| serde_json::from_value::<GroupType>(g).ok())
                {
                    return Ok(Some(gt));
                }
            }
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let list: Value = self
            .req(MV_GROUPS, Method::GET, "group_types")
            .call("GET /group_types")
            .resource("group types")
            .send_json()
            .await?;
        let types: Vec<GroupType> = serde_json::from_value(
            list.get("group_types")
                .cloned()
                .unwrap_or(Value::Array(vec![])),
        )
        .map_err(|e| self.decode("GET /group_types", "group types", e.to_string()))?;
        Ok(types.into_iter().next())
    }

    pub async fn create_group(
        &self,
        name: &str,
        group_type: &str,
        volume_types: &[String],
    ) -> Result<String> {
        let v: Value = self
            .req(MV_GROUPS, Method::POST, "groups")
            .json(to_value(&CreateGroup {
                group: GroupSpec {
                    name,
                    description: "lifeboat consistency group",
                    group_type,
                    volume_types,
                },
            }))
            .call("POST /groups")
            .resource(format!("group {name}"))
            .send_json()
            .await?;
        v.pointer("/group/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| self.decode("POST /groups", name, "the answer has no group.id"))
    }

    pub async fn add_to_group(&self, id: &str, volume_ids: &[String]) -> Result<()> {
        self.req(MV_GROUPS, Method::PUT, format!("groups/{id}"))
            .json(to_value(&UpdateGroup {
                group: GroupChange {
                    add_volumes: Some(volume_ids.join(",")),
                    remove_volumes: None,
                },
            }))
            .call("PUT /groups/{id} add_volumes")
            .resource(format!("group {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn remove_from_group(&self, id: &str, volume_ids: &[String]) -> Result<()> {
        self.req(MV_GROUPS, Method::PUT, format!("groups/{id}"))
            .json(to_value(&UpdateGroup {
                group: GroupChange {
                    add_volumes: None,
                    remove_volumes: Some(volume_ids.join(",")),
                },
            }))
            .call("PUT /groups/{id} remove_volumes")
            .resource(format!("group {id}"))
            .send()
            .await?;
        Ok(())
    }

    /// Backend volumes on `host` that Cinder does not manage (3.8+): each
    /// with `reference` (`{"source-name": …}`), `size`, `safe_to_manage`.
    pub async fn manageable_volumes(&self, host: &str) -> Result<Vec<Value>> {
        let v: Value = self
            .req(MV_MANAGEABLE, Method::GET, "manageable_volumes/detail")
            .query("host", host)
            .call("GET /manageable_volumes/detail")
            .resource(format!("backend {host}"))
            .send_json()
            .await?;
        Ok(v.get("manageable-volumes")
            .or_else(|| v.get("manageable_volumes"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    pub async fn delete_group(&self, id: &str) -> Result<()> {
        self.req(MV_GROUPS, Method::POST, format!("groups/{id}/action"))
            .idempotent()
            .json(json!({"delete": {"delete-volumes": false}}))
            .call("POST /groups/{id}/action delete")
            .resource(format!("group {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn failover_group(&self, id: &str, backend_id: &str) -> Result<()> {
        let mut body = json!({"allow_attached_volume": true});
        if !backend_id.is_empty() {
            body["secondary_backend_id"] = json!(backend_id);
        }
        self.req(
            MV_GROUP_REPLICATION,
            Method::POST,
            format!("groups/{id}/action"),
        )
        .json(json!({"failover_replication": body}))
        .call("POST /groups/{id}/action failover_replication")
        .resource(format!("group {id}"))
        .send()
        .await?;
        Ok(())
    }
}
