//! Cinder (block storage v3) objects: volumes, snapshots, groups, group
//! snapshots, backups, backup records, services.

use super::{loose_bool, loose_string, string_map};
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

#[derive(Debug, Clone, Deserialize)]
pub struct Backup {
    pub id: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub name: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub volume_id: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, deserialize_with = "loose_bool")]
    pub is_incremental: bool,
    #[serde(default, deserialize_with = "loose_string")]
    pub container: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub created_at: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub fail_reason: String,
    /// 3.43+.
    #[serde(default, deserialize_with = "string_map")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub object_count: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BackupBody {
    pub backup: Backup,
}

/// `{"backup-record": {...}}` of export_record / import_record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRecord {
    pub backup_service: String,
    pub backup_url: String,
}

impl BackupRecord {
    /// The backup described by a record's `backup_url` (base64, standard or
    /// URL-safe, of a JSON object: `id`, `parent_id`, `size`, …), when it
    /// can be read: the one reader of Cinder's record format.
    pub fn document(backup_url: &str) -> Option<serde_json::Value> {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        use base64::Engine;
        // Padding and line breaks are optional (Python's encoders differ).
        let url: String = backup_url
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .collect();
        let bytes = STANDARD_NO_PAD
            .decode(&url)
            .or_else(|_| URL_SAFE_NO_PAD.decode(&url))
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// A non-empty string field of the described backup (`id`, `parent_id`).
    pub fn field(backup_url: &str, key: &str) -> Option<String> {
        Self::document(backup_url)?
            .get(key)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct BackupRecordBody {
    #[serde(rename = "backup-record")]
    pub backup_record: BackupRecord,
}

/// The answer of import_record: the backup's id (and links).
#[derive(Debug, Clone, Deserialize)]
pub struct ImportedBackup {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ImportedBackupBody {
    pub backup: ImportedBackup,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Restore {
    pub backup_id: String,
    pub volume_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RestoreBody {
    pub restore: Restore,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    #[serde(default, deserialize_with = "loose_string")]
    pub binary: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub host: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub state: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub replication_status: String,
    #[serde(default, deserialize_with = "loose_string")]
    pub active_backend_id: String,
}

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;
    use serde_json::Value;

    fn list<T: serde::de::DeserializeOwned>(file: &str, key: &str) -> Vec<T> {
        let v: Value = serde_json::from_str(&sample(file)).unwrap();
        serde_json::from_value(v[key].clone()).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    #[test]
    fn backup_record_documents_read_padded_unpadded_and_url_safe() {
        // {"id": "b-1", "parent_id": "p?"}: standard and URL-safe alphabets
        // differ in its last group; with and without padding, line breaks.
        let doc = r#"{"id": "b-1", "parent_id": "p?"}"#;
        let std = "eyJpZCI6ICJiLTEiLCAicGFyZW50X2lkIjogInA/In0=";
        let safe = "eyJpZCI6ICJiLTEiLCAicGFyZW50X2lkIjogInA_In0";
        for url in [
            std,
            safe,
            "eyJpZCI6ICJiLTEiLCAicGFyZW50X2lk\nIjogInA/In0=\n",
        ] {
            let got = BackupRecord::document(url).unwrap_or_else(|| panic!("{url}"));
            assert_eq!(got, serde_json::from_str::<Value>(doc).unwrap(), "{url}");
        }
        assert_eq!(BackupRecord::field(std, "parent_id").as_deref(), Some("p?"));
        assert_eq!(BackupRecord::field(std, "size"), None);
        // Not base64, or not JSON inside: nothing, never a panic.
        assert_eq!(BackupRecord::document("a!b"), None);
        assert_eq!(BackupRecord::document("eyJzdGF0"), None);
    }

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

    #[test]
    fn snapshot_group_backup_samples_parse() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let s: SnapshotBody = serde_json::from_str(&sample(
            "cinder/snapshots/v3.14/snapshot-show-response.json",
        ))
        .unwrap();
        assert_eq!(s.snapshot.size, 10);
        let _: Vec<Snapshot> = list(
            "cinder/snapshots/v3.14/snapshots-list-detailed-response.json",
            "snapshots",
        );
        let g: GroupBody =
            serde_json::from_str(&sample("cinder/group-show-response.json")).unwrap();
        assert_eq!(g.group.volumes.len(), 1);
        let _: Vec<GroupType> = list("cinder/group-types-list-response.json", "group_types");
        let gs: GroupSnapshotBody =
            serde_json::from_str(&sample("cinder/group-snapshots-show-response.json")).unwrap();
        assert_eq!(gs.group_snapshot.status, "available");
        let _: GroupSnapshotBody =
            serde_json::from_str(&sample("cinder/group-snapshots-create-response.json")).unwrap();
        let b: BackupBody =
            serde_json::from_str(&sample("cinder/backups/v3.43/backup-show-response.json"))
                .unwrap();
        assert!(!b.backup.is_incremental);
        let _: Vec<Backup> = list(
            "cinder/backups/v3.43/backups-list-detailed-response.json",
            "backups",
        );
        let _: BackupBody =
            serde_json::from_str(&sample("cinder/backups/backup-create-response.json")).unwrap();
        let r: BackupRecordBody =
            serde_json::from_str(&sample("cinder/backup-record-export-response.json")).unwrap();
        assert_eq!(
            r.backup_record.backup_service,
            "cinder.backup.drivers.swift"
        );
        let i: ImportedBackupBody =
            serde_json::from_str(&sample("cinder/backup-record-import-response.json")).unwrap();
        assert!(!i.backup.id.is_empty());
        let req: Value =
            serde_json::from_str(&sample("cinder/backup-record-import-request.json")).unwrap();
        let _: BackupRecord = serde_json::from_value(req["backup-record"].clone()).unwrap();
        let rs: RestoreBody =
            serde_json::from_str(&sample("cinder/backup-restore-response.json")).unwrap();
        assert!(!rs.restore.volume_id.is_empty());
    }
}
