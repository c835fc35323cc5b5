//! Cinder calls (block storage v3), each pinned to the smallest microversion
//! that gives what Lifeboat relies on: `group_id` on volumes (3.13), generic
//! group snapshots and `group_snapshot_id` (3.14), groups with their volume
//! list (3.25), `failover` of a backend (3.26), group replication failover
//! (3.38), backup metadata (3.43). Real Cinder offers up to 3.71.
//!
//! One file per resource, its calls beside their request bodies and result
//! types (Cinder's objects: volumes, snapshots, groups, group snapshots,
//! backups, backup records, services): `volumes.rs`, `snapshots.rs`,
//! `groups.rs`, `group_snapshots.rs`, `backups.rs`, `services.rs` (hosts,
//! failover).

mod backups;
mod group_snapshots;
mod groups;
mod services;
mod snapshots;
mod volumes;

use crate::catalog::Service;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{Client, Request};
use crate::nova::parse_items;
use crate::nova::to_value;
use reqwest::Method;
use serde_json::{json, Map, Value};

pub use backups::{
    Backup, BackupBody, BackupRecord, BackupRecordBody, BackupSpec, CreateBackup, ImportRecord,
    ImportedBackup, ImportedBackupBody, Restore, RestoreBackup, RestoreBody, RestoreSpec,
};
pub use group_snapshots::{
    CreateGroupSnapshot, GroupSnapshot, GroupSnapshotBody, GroupSnapshotSpec,
};
pub use groups::{CreateGroup, Group, GroupBody, GroupChange, GroupSpec, GroupType, UpdateGroup};
pub use services::VolumeService;
pub use snapshots::{CreateSnapshot, Snapshot, SnapshotBody, SnapshotSpec};
pub use volumes::{
    CreateVolume, ManageSpec, ManageVolume, Retype, RetypeSpec, Volume, VolumeAttachmentInfo,
    VolumeBody, VolumeSpec,
};

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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::sample;

    pub(super) fn list<T: serde::de::DeserializeOwned>(file: &str, key: &str) -> Vec<T> {
        let v: Value = serde_json::from_str(&sample(file)).unwrap();
        serde_json::from_value(v[key].clone()).unwrap_or_else(|e| panic!("{file}: {e}"))
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
