//! Typed request bodies of the calls that create or change something. Each
//! serializes to the shape of the official request sample (tests below).

use serde::Serialize;
use serde_json::{Map, Value};

type Meta = Map<String, Value>;

/// `POST /servers` booting from an existing volume.
#[derive(Debug, Clone, Serialize)]
pub struct CreateServer<'a> {
    pub server: ServerSpec<'a>,
    #[serde(rename = "os:scheduler_hints", skip_serializing_if = "Option::is_none")]
    pub scheduler_hints: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerSpec<'a> {
    pub name: &'a str,
    #[serde(rename = "flavorRef")]
    pub flavor_ref: &'a str,
    /// A list of `{"uuid": …}` or `{"port": …}`, or `"none"` (2.37+).
    pub networks: Value,
    pub metadata: &'a Meta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<&'a str>,
    /// Server tags at create (2.52+).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub tags: &'a [String],
    pub block_device_mapping_v2: Vec<BlockDeviceMapping<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockDeviceMapping<'a> {
    pub boot_index: i32,
    pub uuid: &'a str,
    pub source_type: &'a str,
    pub destination_type: &'a str,
    pub delete_on_termination: bool,
}

/// `POST /servers/{id}/os-volume_attachments`.
#[derive(Debug, Clone, Serialize)]
pub struct AttachVolume<'a> {
    #[serde(rename = "volumeAttachment")]
    pub volume_attachment: VolumeRef<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeRef<'a> {
    #[serde(rename = "volumeId")]
    pub volume_id: &'a str,
}

/// `POST /servers/{id}/action` createImage.
#[derive(Debug, Clone, Serialize)]
pub struct CreateImage<'a> {
    #[serde(rename = "createImage")]
    pub create_image: NameMeta<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NameMeta<'a> {
    pub name: &'a str,
    pub metadata: &'a Meta,
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

/// `POST /backups` (metadata needs 3.43).
#[derive(Debug, Clone, Serialize)]
pub struct CreateBackup<'a> {
    pub backup: BackupSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupSpec<'a> {
    pub volume_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<&'a str>,
    pub name: &'a str,
    pub incremental: bool,
    pub force: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<&'a str>,
    pub metadata: &'a Meta,
}

/// `POST /backups/{id}/restore`.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreBackup<'a> {
    pub restore: RestoreSpec<'a>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreSpec<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_id: Option<&'a str>,
}

/// `POST /backups/import_record`.
#[derive(Debug, Clone, Serialize)]
pub struct ImportRecord<'a> {
    #[serde(rename = "backup-record")]
    pub backup_record: &'a super::cinder::BackupRecord,
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

#[cfg(test)]
mod tests {
    use super::super::sample;
    use super::*;
    use serde_json::json;

    /// Every key of `ours` (recursively into objects) is a key the sample
    /// uses, apart from `extra` (documented for later microversions).
    fn conforms(ours: &Value, sample_file: &str, extra: &[&str]) {
        let want: Value = serde_json::from_str(&sample(sample_file)).unwrap();
        fn walk(o: &Value, w: &Value, extra: &[&str], path: &str, file: &str) {
            if let (Some(o), Some(w)) = (o.as_object(), w.as_object()) {
                for (k, v) in o {
                    if extra.contains(&k.as_str()) {
                        continue;
                    }
                    let wv = w.get(k).unwrap_or_else(|| {
                        panic!(
                            "{file}: {path}.{k} is not in the sample (keys: {:?})",
                            w.keys().collect::<Vec<_>>()
                        )
                    });
                    if wv.is_object() && k != "metadata" && k != "ref" {
                        walk(v, wv, extra, &format!("{path}.{k}"), file);
                    }
                }
            }
        }
        walk(ours, &want, extra, "", sample_file);
    }

    #[test]
    fn bodies_match_the_official_samples() {
        if crate::types::fixtures_or_skip().is_none() {
            return;
        }
        let meta = Map::new();
        let to = |v: &dyn erased::Ser| v.value();
        conforms(
            &to(&CreateSnapshot {
                snapshot: SnapshotSpec {
                    volume_id: "v",
                    name: "n",
                    force: true,
                    metadata: &meta,
                },
            }),
            "cinder/snapshots/snapshot-create-request.json",
            &[],
        );
        conforms(
            &to(&CreateVolume {
                volume: VolumeSpec {
                    size: 1,
                    name: "n",
                    description: "d",
                    snapshot_id: Some("s"),
                    metadata: &meta,
                },
            }),
            "cinder/volumes/volume-create-request.json",
            &[],
        );
        conforms(
            &to(&CreateBackup {
                backup: BackupSpec {
                    volume_id: "v",
                    snapshot_id: Some("s"),
                    name: "n",
                    incremental: true,
                    force: true,
                    container: Some("c"),
                    metadata: &meta,
                },
            }),
            "cinder/backups/backup-create-request.json",
            &["metadata"],
        );
        conforms(
            &to(&RestoreBackup {
                restore: RestoreSpec {
                    name: Some("n"),
                    volume_id: None,
                },
            }),
            "cinder/backup-restore-request.json",
            &[],
        );
        let rec = super::super::cinder::BackupRecord {
            backup_service: "s".into(),
            backup_url: "u".into(),
        };
        conforms(
            &to(&ImportRecord {
                backup_record: &rec,
            }),
            "cinder/backup-record-import-request.json",
            &[],
        );
        conforms(
            &to(&CreateGroup {
                group: GroupSpec {
                    name: "g",
                    description: "d",
                    group_type: "t",
                    volume_types: &["x".to_string()],
                },
            }),
            "cinder/group-create-request.json",
            &[],
        );
        conforms(
            &to(&UpdateGroup {
                group: GroupChange {
                    add_volumes: Some("a,b".into()),
                    remove_volumes: None,
                },
            }),
            "cinder/group-update-request.json",
            &[],
        );
        conforms(
            &to(&CreateGroupSnapshot {
                group_snapshot: GroupSnapshotSpec {
                    group_id: "g",
                    name: "n",
                    description: "d",
                },
            }),
            "cinder/group-snapshots-create-request.json",
            &[],
        );
        let mut r = Map::new();
        r.insert("source-name".into(), json!("volume-1"));
        conforms(
            &to(&ManageVolume {
                volume: ManageSpec {
                    host: "h",
                    reference: r,
                    name: "n",
                    volume_type: Some("t"),
                    bootable: true,
                    metadata: &meta,
                },
            }),
            "cinder/volume_manage_extensions/volume-manage-request.json",
            &[],
        );
        conforms(
            &to(&Retype {
                retype: RetypeSpec {
                    new_type: "t",
                    migration_policy: "never",
                },
            }),
            "cinder/volume-os-retype-request.json",
            &[],
        );
        conforms(
            &to(&AttachVolume {
                volume_attachment: VolumeRef { volume_id: "v" },
            }),
            "nova/os-volume_attachments/attach-volume-to-server-req.json",
            &[],
        );
        conforms(
            &to(&CreateImage {
                create_image: NameMeta {
                    name: "i",
                    metadata: &meta,
                },
            }),
            "nova/servers/v2.45/server-action-create-image.json",
            &[],
        );
        let srv = CreateServer {
            server: ServerSpec {
                name: "s",
                flavor_ref: "f",
                networks: json!("none"),
                metadata: &meta,
                key_name: Some("k"),
                availability_zone: Some("nova"),
                tags: &[],
                block_device_mapping_v2: vec![BlockDeviceMapping {
                    boot_index: 0,
                    uuid: "v",
                    source_type: "volume",
                    destination_type: "volume",
                    delete_on_termination: false,
                }],
            },
            scheduler_hints: Some(json!({"group": "g"})),
        };
        // No published sample boots from a volume; check the server keys
        // against the 2.37 create sample and the mapping's by hand.
        conforms(
            &to(&srv),
            "nova/servers/server-create-req-v237.json",
            &[
                "block_device_mapping_v2",
                "metadata",
                "key_name",
                "availability_zone",
                "os:scheduler_hints",
            ],
        );
        let v = to(&srv);
        assert_eq!(
            v["server"]["block_device_mapping_v2"][0]["boot_index"],
            json!(0)
        );
    }

    mod erased {
        pub trait Ser {
            fn value(&self) -> serde_json::Value;
        }
        impl<T: serde::Serialize> Ser for T {
            fn value(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap()
            }
        }
    }
}
