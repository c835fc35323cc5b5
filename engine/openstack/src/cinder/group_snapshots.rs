//! Group snapshots: one crash-consistent snapshot of a group.

use super::*;
use crate::types::loose_string;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct GroupSnapshot {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub group_id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupSnapshotBody {
    pub group_snapshot: GroupSnapshot,
}

/// `POST /group_snapshots`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateGroupSnapshot<'a> {
    pub group_snapshot: GroupSnapshotSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupSnapshotSpec<'a> {
    pub group_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
}

impl Cinder<'_> {
    pub async fn group_snapshot(&self, id: &str) -> Result<GroupSnapshot> {
        let b: GroupSnapshotBody = self
            .req(
                MV_GROUP_SNAPSHOTS,
                Method::GET,
                format!("group_snapshots/{id}"),
            )
            .call("GET /group_snapshots/{id}")
            .resource(format!("group snapshot {id}"))
            .send_json()
            .await?;
        Ok(b.group_snapshot)
    }

    pub async fn group_snapshots(&self) -> Result<Vec<GroupSnapshot>> {
        let items = self
            .req(MV_GROUP_SNAPSHOTS, Method::GET, "group_snapshots/detail")
            .call("GET /group_snapshots/detail")
            .resource("group snapshots")
            .send_paged("group_snapshots")
            .await?;
        parse_items(self.c, "GET /group_snapshots/detail", items)
    }

    pub async fn create_group_snapshot(&self, group_id: &str, name: &str) -> Result<GroupSnapshot> {
        let b: GroupSnapshotBody = self
            .req(MV_GROUP_SNAPSHOTS, Method::POST, "group_snapshots")
            .json(to_value(&CreateGroupSnapshot {
                group_snapshot: GroupSnapshotSpec {
                    group_id,
                    name,
                    description: "lifeboat",
                },
            }))
            .call("POST /group_snapshots")
            .resource(format!("group snapshot {name} of group {group_id}"))
            .send_json()
            .await?;
        Ok(b.group_snapshot)
    }

    pub async fn delete_group_snapshot(&self, id: &str) -> Result<()> {
        self.req(
            MV_GROUP_SNAPSHOTS,
            Method::DELETE,
            format!("group_snapshots/{id}"),
        )
        .call("DELETE /group_snapshots/{id}")
        .resource(format!("group snapshot {id}"))
        .send()
        .await?;
        Ok(())
    }
}
