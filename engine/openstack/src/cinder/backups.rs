//! Backups: show, list, create, delete, metadata, export and import of
//! their records, restore.

use super::*;
use crate::types::{loose_bool, loose_string, string_map, Meta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// What the backup moved, where the service says so (not in Cinder's
    /// API reference: the emulator's `emulator:bytes_moved`, and
    /// `changed_blocks` of 4 KiB or `bytes_moved` where a driver adds them).
    #[serde(default, rename = "emulator:bytes_moved")]
    pub emulator_bytes_moved: Option<u64>,
    #[serde(default)]
    pub changed_blocks: Option<u64>,
    #[serde(default)]
    pub bytes_moved: Option<u64>,
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
        serde_json::from_slice(&Self::decoded(backup_url)?).ok()
    }

    /// A non-empty string field of the described backup (`id`,
    /// `parent_id`): the other fields are skipped, not built (a manifest
    /// reads the parent of every volume's backup).
    pub fn field(backup_url: &str, key: &str) -> Option<String> {
        use serde::de::DeserializeSeed;
        let bytes = Self::decoded(backup_url)?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let found = FieldOf(key).deserialize(&mut de).ok()?;
        de.end().ok()?;
        found.filter(|s| !s.is_empty())
    }

    /// The bytes of a `backup_url`.
    fn decoded(backup_url: &str) -> Option<Vec<u8>> {
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        use base64::Engine;
        // Padding and line breaks are optional (Python's encoders differ).
        let bare = backup_url.trim_end_matches('=');
        let cleaned: String;
        let url = if bare.bytes().all(|b| b.is_ascii_graphic() && b != b'=') {
            bare
        } else {
            cleaned = backup_url
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '=')
                .collect();
            &cleaned
        };
        STANDARD_NO_PAD
            .decode(url)
            .or_else(|_| URL_SAFE_NO_PAD.decode(url))
            .ok()
    }
}

/// Reads one field of a JSON object, skipping the others.
struct FieldOf<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for FieldOf<'_> {
    type Value = Option<String>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FieldOf<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
        let mut found = None;
        while let Some(k) = m.next_key::<String>()? {
            if k == self.0 {
                // The last of duplicate keys, as a whole parse would keep.
                found = m.next_value::<Value>()?.as_str().map(str::to_string);
            } else {
                m.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
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
    pub backup_record: &'a BackupRecord,
}

impl Cinder<'_> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for url in [
            std,
            safe,
            "eyJpZCI6ICJiLTEiLCAicGFyZW50X2lk\nIjogInA/In0=\n",
        ] {
            assert_eq!(BackupRecord::field(url, "parent_id").as_deref(), Some("p?"));
            assert_eq!(BackupRecord::field(url, "id").as_deref(), Some("b-1"));
        }
        assert_eq!(BackupRecord::field(std, "size"), None);
        // A field as a whole parse reads it: the last of duplicates, a
        // string only, nested objects skipped, an empty one absent.
        use base64::Engine;
        let enc = |d: &str| base64::engine::general_purpose::STANDARD.encode(d);
        let dup = enc(r#"{"parent_id": "a", "x": {"parent_id": "n"}, "parent_id": "b"}"#);
        assert_eq!(BackupRecord::field(&dup, "parent_id").as_deref(), Some("b"));
        assert_eq!(BackupRecord::field(&enc(r#"{"id": 7}"#), "id"), None);
        assert_eq!(BackupRecord::field(&enc(r#"{"id": ""}"#), "id"), None);
        assert_eq!(BackupRecord::field(&enc(r#"{"id": "a"} x"#), "id"), None);
        assert_eq!(BackupRecord::field(&enc(r#"["id"]"#), "id"), None);
        // Not base64, or not JSON inside: nothing, never a panic.
        assert_eq!(BackupRecord::document("a!b"), None);
        assert_eq!(BackupRecord::document("eyJzdGF0"), None);
    }
}
