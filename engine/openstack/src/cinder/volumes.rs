//! Volumes: show, list, create (from a snapshot, managed), retype, rename,
//! delete, actions, metadata; limits and volume types.

use super::*;
use crate::types::{loose_bool, loose_string, string_map, Meta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct Volume {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, deserialize_with = "loose_string")]
    pub volume_type: String,
    #[serde(default, deserialize_with = "loose_bool")]
    pub bootable: bool,
    #[serde(default)]
    pub attachments: Vec<VolumeAttachmentInfo>,
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "loose_string")]
    pub snapshot_id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub replication_status: String,
    #[serde(
        rename = "os-vol-host-attr:host",
        default,
        deserialize_with = "loose_string"
    )]
    pub host: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub group_id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VolumeAttachmentInfo {
    #[serde(default, deserialize_with = "loose_string")]
    pub server_id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub device: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub attachment_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct VolumeBody {
    pub volume: Volume,
}

/// `POST /volumes` from a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct CreateVolume<'a> {
    pub volume: VolumeSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeSpec<'a> {
    pub size: u64,
    pub name: &'a str,
    pub description: &'a str,
    pub snapshot_id: Option<&'a str>,
    pub metadata: &'a Meta,
}

/// `POST /os-volume-manage`.
#[derive(Debug, Clone, Serialize)]
pub struct ManageVolume<'a> {
    pub volume: ManageSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManageSpec<'a> {
    pub host: &'a str,
    #[serde(rename = "ref")]
    pub reference: Map<String, Value>,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<&'a str>,
    pub bootable: bool,
    pub metadata: &'a Meta,
}

/// `POST /volumes/{id}/action` os-retype.
#[derive(Debug, Clone, Serialize)]
pub struct Retype<'a> {
    #[serde(rename = "os-retype")]
    pub retype: RetypeSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetypeSpec<'a> {
    pub new_type: &'a str,
    pub migration_policy: &'a str,
}

impl Cinder<'_> {
    pub async fn volume(&self, id: &str) -> Result<Volume> {
        let b: VolumeBody = self
            .req(MV_VOLUMES, Method::GET, format!("volumes/{id}"))
            .call("GET /volumes/{id}")
            .resource(format!("volume {id}"))
            .send_json()
            .await?;
        Ok(b.volume)
    }

    /// Volumes, every page, with optional server-side filters (`name`,
    /// `metadata`).
    pub async fn volumes(&self, filters: &[(&str, String)]) -> Result<Vec<Volume>> {
        let mut r = self
            .req(MV_VOLUMES, Method::GET, "volumes/detail")
            .call("GET /volumes/detail")
            .resource("volumes");
        for (k, v) in filters {
            r = r.query(k, v.clone());
        }
        parse_items(
            self.c,
            "GET /volumes/detail",
            r.send_paged("volumes").await?,
        )
    }

    /// A new volume from a snapshot (its size, unless `size` is larger).
    pub async fn create_volume_from_snapshot(
        &self,
        snapshot_id: &str,
        size: u64,
        name: &str,
        description: &str,
        metadata: &Map<String, Value>,
    ) -> Result<Volume> {
        let body = CreateVolume {
            volume: VolumeSpec {
                size,
                name,
                description,
                snapshot_id: Some(snapshot_id),
                metadata,
            },
        };
        let b: VolumeBody = self
            .req(MV_VOLUMES, Method::POST, "volumes")
            .json(to_value(&body))
            .call("POST /volumes")
            .resource(format!("volume {name} from snapshot {snapshot_id}"))
            .send_json()
            .await?;
        Ok(b.volume)
    }

    /// Adopt the backend volume `source_name` on `host` (`os-volume-manage`).
    pub async fn manage_volume(
        &self,
        host: &str,
        source_name: &str,
        name: &str,
        volume_type: Option<&str>,
        bootable: bool,
        metadata: &Map<String, Value>,
    ) -> Result<Volume> {
        let mut reference = Map::new();
        reference.insert("source-name".into(), json!(source_name));
        let body = ManageVolume {
            volume: ManageSpec {
                host,
                reference,
                name,
                volume_type,
                bootable,
                metadata,
            },
        };
        let b: VolumeBody = self
            .req(MV_VOLUMES, Method::POST, "os-volume-manage")
            .json(to_value(&body))
            .call("POST /os-volume-manage")
            .resource(format!("backend volume {source_name} on {host}"))
            .send_json()
            .await?;
        Ok(b.volume)
    }

    /// The project's absolute limits and usage (`maxTotalVolumes`,
    /// `totalVolumesUsed`, `maxTotalVolumeGigabytes`, `totalGigabytesUsed`,
    /// …; -1 is unlimited).
    pub async fn limits(&self) -> Result<Map<String, Value>> {
        let v: Value = self
            .req(MV_VOLUMES, Method::GET, "limits")
            .call("GET /limits")
            .resource("limits")
            .send_json()
            .await?;
        Ok(v.pointer("/limits/absolute")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default())
    }

    /// The names of the volume types the project may use.
    pub async fn volume_type_names(&self) -> Result<Vec<String>> {
        let v: Value = self
            .req(MV_VOLUMES, Method::GET, "types")
            .call("GET /types")
            .resource("volume types")
            .send_json()
            .await?;
        Ok(v.get("volume_types")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
            .collect())
    }

    pub async fn retype(&self, id: &str, new_type: &str, migration_policy: &str) -> Result<()> {
        let body = Retype {
            retype: RetypeSpec {
                new_type,
                migration_policy,
            },
        };
        // Safe to send again: a repeat once the first is taken is refused
        // (400), which the caller reads as done once the volume says so.
        self.req(MV_VOLUMES, Method::POST, format!("volumes/{id}/action"))
            .idempotent()
            .json(to_value(&body))
            .call("POST /volumes/{id}/action os-retype")
            .resource(format!("volume {id}"))
            .send()
            .await?;
        Ok(())
    }

    /// A new volume from a raw body (`{"volume": body}`).
    pub async fn create_volume(&self, body: Value, what: &str) -> Result<Volume> {
        let b: VolumeBody = self
            .req(MV_VOLUMES, Method::POST, "volumes")
            .json(json!({ "volume": body }))
            .call("POST /volumes")
            .resource(what.to_string())
            .send_json()
            .await?;
        Ok(b.volume)
    }

    /// Rename a volume (`PUT /volumes/{id}`); safe to send again.
    pub async fn rename_volume(&self, id: &str, name: &str) -> Result<Volume> {
        let b: VolumeBody = self
            .req(MV_VOLUMES, Method::PUT, format!("volumes/{id}"))
            .idempotent()
            .json(json!({ "volume": { "name": name } }))
            .call("PUT /volumes/{id}")
            .resource(format!("volume {id}"))
            .send_json()
            .await?;
        Ok(b.volume)
    }

    pub async fn delete_volume(&self, id: &str) -> Result<()> {
        self.req(MV_VOLUMES, Method::DELETE, format!("volumes/{id}"))
            .call("DELETE /volumes/{id}")
            .resource(format!("volume {id}"))
            .send()
            .await?;
        Ok(())
    }

    /// `POST /volumes/{id}/action` with `{name: body}`.
    pub async fn volume_action(&self, id: &str, name: &str, body: Value) -> Result<()> {
        self.req(MV_VOLUMES, Method::POST, format!("volumes/{id}/action"))
            .json(json!({ name: body }))
            .call(format!("POST /volumes/{{id}}/action {name}"))
            .resource(format!("volume {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn set_volume_metadata(&self, id: &str, metadata: &Map<String, Value>) -> Result<()> {
        self.req(MV_VOLUMES, Method::POST, format!("volumes/{id}/metadata"))
            .idempotent()
            .json(json!({"metadata": metadata}))
            .call("POST /volumes/{id}/metadata")
            .resource(format!("volume {id}"))
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::list;
    use super::*;
    use crate::types::sample;

    #[test]
    fn volume_samples_parse() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let v: VolumeBody =
            serde_json::from_str(&sample("cinder/volumes/volume-show-response.json")).unwrap();
        assert_eq!(v.volume.size, 10);
        assert!(!v.volume.bootable);
        for f in [
            "cinder/volumes/v3.63/volume-show-response.json",
            "cinder/volumes/v3.48/volume-show-response.json",
            "cinder/volume_manage_extensions/volume-manage-response.json",
        ] {
            let _: VolumeBody =
                serde_json::from_str(&sample(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        let m: VolumeBody = serde_json::from_str(&sample(
            "cinder/volume_manage_extensions/volume-manage-response.json",
        ))
        .unwrap();
        assert_eq!(m.volume.snapshot_id, "");
        let vs: Vec<Volume> = list(
            "cinder/volumes/volumes-list-detailed-response.json",
            "volumes",
        );
        assert!(!vs.is_empty());
    }
}
