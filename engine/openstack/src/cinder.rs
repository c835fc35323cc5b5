//! Cinder calls (block storage v3), each pinned to the smallest microversion
//! that gives what Lifeboat relies on: `group_id` on volumes (3.13), generic
//! group snapshots and `group_snapshot_id` (3.14), groups with their volume
//! list (3.25), `failover` of a backend (3.26), group replication failover
//! (3.38), backup metadata (3.43). Real Cinder offers up to 3.71.

use crate::catalog::Service;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Client, Request};
use crate::nova::parse_items;
use crate::nova::to_value;
use crate::types::cinder::*;
use crate::types::requests::*;
use reqwest::Method;
use serde_json::{json, Map, Value};

pub const MV_VOLUMES: &str = "3.13";
pub const MV_MANAGEABLE: &str = "3.8";
pub const MV_GROUP_SNAPSHOTS: &str = "3.14";
pub const MV_GROUPS: &str = "3.25";
pub const MV_FAILOVER_HOST: &str = "3.26";
pub const MV_GROUP_REPLICATION: &str = "3.38";
pub const MV_BACKUPS: &str = "3.43";

pub struct Cinder<'a> {
    c: &'a Client,
}

impl Client {
    pub fn cinder(&self) -> Cinder<'_> {
        Cinder { c: self }
    }
}

impl<'a> Cinder<'a> {
    fn req(&self, mv: &'static str, method: Method, path: impl Into<String>) -> Request<'a> {
        self.c
            .request(Service::BlockStorage, method, path)
            .microversion(mv)
    }

    fn decode(&self, call: &str, resource: &str, detail: impl Into<String>) -> Error {
        Error::new(
            ErrorKind::Decode,
            format!("cinder {call}"),
            resource,
            self.c.site(),
            detail,
        )
    }

    // ---- volumes ----

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

    // ---- snapshots ----

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

    // ---- groups ----

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

    // ---- group snapshots ----

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

    // ---- backups ----

    pub async fn backup(&self, id: &str) -> Result<Backup> {
        let b: BackupBody = self
            .req(MV_BACKUPS, Method::GET, format!("backups/{id}"))
            .call("GET /backups/{id}")
            .resource(format!("backup {id}"))
            .send_json()
            .await?;
        Ok(b.backup)
    }

    pub async fn backups(&self, filters: &[(&str, String)]) -> Result<Vec<Backup>> {
        let mut r = self
            .req(MV_BACKUPS, Method::GET, "backups/detail")
            .call("GET /backups/detail")
            .resource("backups");
        for (k, v) in filters {
            r = r.query(k, v.clone());
        }
        parse_items(
            self.c,
            "GET /backups/detail",
            r.send_paged("backups").await?,
        )
    }

    /// Back up `volume_id` (or its snapshot `snapshot_id`); the backup's id.
    pub async fn create_backup(
        &self,
        volume_id: &str,
        snapshot_id: Option<&str>,
        name: &str,
        incremental: bool,
        container: &str,
        metadata: &Map<String, Value>,
    ) -> Result<String> {
        let body = CreateBackup {
            backup: BackupSpec {
                volume_id,
                snapshot_id,
                name,
                incremental,
                force: true,
                container: Some(container).filter(|c| !c.is_empty()),
                metadata,
            },
        };
        let v: Value = self
            .req(MV_BACKUPS, Method::POST, "backups")
            .json(to_value(&body))
            .call("POST /backups")
            .resource(format!("backup {name} of volume {volume_id}"))
            .send_json()
            .await?;
        v.pointer("/backup/id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| self.decode("POST /backups", name, "the answer has no backup.id"))
    }

    pub async fn delete_backup(&self, id: &str) -> Result<()> {
        self.req(MV_BACKUPS, Method::DELETE, format!("backups/{id}"))
            .call("DELETE /backups/{id}")
            .resource(format!("backup {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn set_backup_metadata(&self, id: &str, metadata: &Map<String, Value>) -> Result<()> {
        self.req(MV_BACKUPS, Method::PUT, format!("backups/{id}"))
            .json(json!({"backup": {"metadata": metadata}}))
            .call("PUT /backups/{id} metadata")
            .resource(format!("backup {id}"))
            .send()
            .await?;
        Ok(())
    }

    pub async fn export_backup(&self, id: &str) -> Result<BackupRecord> {
        let b: BackupRecordBody = self
            .req(
                MV_BACKUPS,
                Method::GET,
                format!("backups/{id}/export_record"),
            )
            .call("GET /backups/{id}/export_record")
            .resource(format!("backup {id}"))
            .send_json()
            .await?;
        Ok(b.backup_record)
    }

    /// Import an exported record; the backup's id at this site.
    pub async fn import_backup(&self, record: &BackupRecord) -> Result<String> {
        let b: ImportedBackupBody = self
            .req(MV_BACKUPS, Method::POST, "backups/import_record")
            .json(to_value(&ImportRecord {
                backup_record: record,
            }))
            .call("POST /backups/import_record")
            .resource(format!("backup record ({})", record.backup_service))
            .send_json()
            .await?;
        Ok(b.backup.id)
    }

    /// Restore into a new volume named `name` (or into `volume_id`).
    pub async fn restore_backup(
        &self,
        id: &str,
        name: Option<&str>,
        volume_id: Option<&str>,
    ) -> Result<Restore> {
        let body = RestoreBackup {
            restore: RestoreSpec { name, volume_id },
        };
        let b: RestoreBody = self
            .req(MV_BACKUPS, Method::POST, format!("backups/{id}/restore"))
            .json(to_value(&body))
            .call("POST /backups/{id}/restore")
            .resource(format!("backup {id}"))
            .send_json()
            .await?;
        Ok(b.restore)
    }

    // ---- services / replication ----

    pub async fn services(&self, binary: &str) -> Result<Vec<Service_>> {
        let v: Value = self
            .req(MV_FAILOVER_HOST, Method::GET, "os-services")
            .query("binary", binary)
            .call("GET /os-services")
            .resource(format!("{binary} services"))
            .send_json()
            .await?;
        let all: Vec<Service_> =
            serde_json::from_value(v.get("services").cloned().unwrap_or(Value::Array(vec![])))
                .map_err(|e| self.decode("GET /os-services", "services", e.to_string()))?;
        Ok(all.into_iter().filter(|s| s.binary == binary).collect())
    }

    /// Fail a backend host over (`os-services/failover`, 3.26+).
    pub async fn failover_host(&self, host: &str, backend_id: &str) -> Result<()> {
        let mut body = json!({"host": host});
        if !backend_id.is_empty() {
            body["backend_id"] = json!(backend_id);
        }
        self.req(MV_FAILOVER_HOST, Method::PUT, "os-services/failover")
            .json(body)
            .call("PUT /os-services/failover")
            .resource(format!("host {host}"))
            .send()
            .await?;
        Ok(())
    }
}

/// A cinder service (named so to avoid clashing with the catalogue's).
pub type Service_ = crate::types::cinder::Service;
