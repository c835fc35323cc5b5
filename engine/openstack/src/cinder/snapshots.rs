//! Snapshots: show, list (newest first), create, metadata, delete.

use super::*;
use crate::types::{loose_string, string_map, Meta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct Snapshot {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub volume_id: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, deserialize_with = "loose_string")]
    pub created_at: String,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
    /// 3.14+.
    #[serde(default, deserialize_with = "loose_string")]
    pub group_snapshot_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SnapshotBody {
    pub snapshot: Snapshot,
}

/// `POST /snapshots`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateSnapshot<'a> {
    pub snapshot: SnapshotSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotSpec<'a> {
    pub volume_id: &'a str,
    pub name: &'a str,
    pub force: bool,
    pub metadata: &'a Meta,
}

impl Cinder<'_> {
    pub async fn snapshot(&self, id: &str) -> Result<Snapshot> {
        let b: SnapshotBody = self
            .req(MV_GROUP_SNAPSHOTS, Method::GET, format!("snapshots/{id}"))
            .call("GET /snapshots/{id}")
            .resource(format!("snapshot {id}"))
            .send_json()
            .await?;
        Ok(b.snapshot)
    }

    pub async fn snapshots(&self, filters: &[(&str, String)]) -> Result<Vec<Snapshot>> {
        let mut r = self
            .req(MV_GROUP_SNAPSHOTS, Method::GET, "snapshots/detail")
            .call("GET /snapshots/detail")
            .resource("snapshots");
        for (k, v) in filters {
            r = r.query(k, v.clone());
        }
        parse_items(
            self.c,
            "GET /snapshots/detail",
            r.send_paged("snapshots").await?,
        )
    }

    /// Snapshots newest first (`created_at` descending, Cinder's default
    /// order, asked for explicitly), `page` at a time, until `enough`, shown
    /// each page as it arrives, says the ones read so far suffice: finding
    /// what was just created without reading every snapshot of the project.
    pub async fn recent_snapshots(
        &self,
        page: u32,
        enough: impl FnMut(&[Value]) -> bool,
    ) -> Result<Vec<Snapshot>> {
        let items = self
            .req(MV_GROUP_SNAPSHOTS, Method::GET, "snapshots/detail")
            .call("GET /snapshots/detail")
            .resource("snapshots")
            .query("sort_key", "created_at".to_string())
            .query("sort_dir", "desc".to_string())
            .query("limit", page.to_string())
            .send_paged_until("snapshots", enough)
            .await?;
        parse_items(self.c, "GET /snapshots/detail", items)
    }

    pub async fn create_snapshot(
        &self,
        volume_id: &str,
        name: &str,
        force: bool,
        metadata: &Map<String, Value>,
    ) -> Result<Snapshot> {
        let b: SnapshotBody = self
            .req(MV_GROUP_SNAPSHOTS, Method::POST, "snapshots")
            .json(to_value(&CreateSnapshot {
                snapshot: SnapshotSpec {
                    volume_id,
                    name,
                    force,
                    metadata,
                },
            }))
            .call("POST /snapshots")
            .resource(format!("snapshot {name} of volume {volume_id}"))
            .send_json()
            .await?;
        Ok(b.snapshot)
    }

    pub async fn set_snapshot_metadata(
        &self,
        id: &str,
        metadata: &Map<String, Value>,
    ) -> Result<()> {
        self.req(
            MV_GROUP_SNAPSHOTS,
            Method::POST,
            format!("snapshots/{id}/metadata"),
        )
        .idempotent()
        .json(json!({"metadata": metadata}))
        .call("POST /snapshots/{id}/metadata")
        .resource(format!("snapshot {id}"))
        .send()
        .await?;
        Ok(())
    }

    pub async fn delete_snapshot(&self, id: &str) -> Result<()> {
        self.req(
            MV_GROUP_SNAPSHOTS,
            Method::DELETE,
            format!("snapshots/{id}"),
        )
        .call("DELETE /snapshots/{id}")
        .resource(format!("snapshot {id}"))
        .send()
        .await?;
        Ok(())
    }
}
